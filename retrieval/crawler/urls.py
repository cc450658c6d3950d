"""URL hygiene: absolute http(s) URLs without fragments, default ports or dot segments."""

from __future__ import annotations

import posixpath
from urllib.parse import quote, urljoin, urlsplit, urlunsplit

DEFAULT_PORTS = {"http": 80, "https": 443}
# Links with these endings are never pages we index: not even requested.
SKIP_EXTENSIONS = frozenset((
    ".jpg", ".jpeg", ".png", ".gif", ".webp", ".svg", ".ico", ".bmp", ".tif", ".tiff",
    ".css", ".js", ".mjs", ".json", ".xml", ".rss", ".atom", ".txt", ".csv", ".tsv",
    ".zip", ".lzh", ".gz", ".tgz", ".7z", ".rar", ".exe", ".dmg", ".msi",
    ".doc", ".docx", ".xls", ".xlsx", ".ppt", ".pptx", ".odt", ".ods", ".odp", ".jtd", ".rtf",
    ".mp3", ".mp4", ".m4a", ".wav", ".avi", ".mov", ".wmv", ".webm", ".ogg",
    ".woff", ".woff2", ".ttf", ".otf", ".eot", ".ics", ".kml", ".kmz", ".dxf", ".dwg",
))
_SAFE_PATH = "/%:@!$&'()*+,;=-._~"
_SAFE_QUERY = _SAFE_PATH + "?"


def normalize_url(url: str, base: str | None = None, keep_query: bool = True) -> str | None:
    """Absolute, canonical form of ``url`` (joined to ``base``), or None if not http(s)."""
    url = (url or "").strip()
    if not url:
        return None
    try:
        joined = urljoin(base, url) if base else url
        parts = urlsplit(joined)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port in (None, DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    path = parts.path or "/"
    if "/." in path:
        trailing = path.endswith(("/", "/.", "/.."))
        path = posixpath.normpath(path)
        path = "/" if path in (".", "//") else path
        if trailing and not path.endswith("/"):
            path += "/"
        if path.startswith("//"):
            path = "/" + path.lstrip("/")
    path = quote(path, safe=_SAFE_PATH)
    query = quote(parts.query, safe=_SAFE_QUERY) if keep_query else ""
    return urlunsplit((scheme, netloc, path, query, ""))


def directory_prefix(url: str) -> str:
    """``https://h/a/b.html`` → ``https://h/a/`` (the default allowed prefix of a start URL)."""
    parts = urlsplit(url)
    path = parts.path[: parts.path.rfind("/") + 1] or "/"
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def host_key(url: str) -> str:
    """``scheme://host:port`` — the unit of politeness and of robots.txt."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def has_skipped_extension(url: str) -> bool:
    path = urlsplit(url).path.lower()
    dot = path.rfind(".")
    return dot > path.rfind("/") and path[dot:] in SKIP_EXTENSIONS
