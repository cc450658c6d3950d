"""Serves the chat widget (``/widget/…``) and, for the demo, the sample city homepage (``/``).

The sample site doubles as a crawler fixture, so it behaves like a small real web server:

* ``/robots.txt`` and ``/sitemap.xml`` are served with ``__ORIGIN__`` replaced by the
  request's origin;
* rules in the site's ``_redirects`` file (``FROM TO STATUS`` per line, Netlify style,
  exact path match) are applied before static files;
* nothing whose path has a segment starting with ``_`` or ``.`` is ever served (404);
* HTML that is not valid UTF-8 (the Shift_JIS sample pages) is sent as plain
  ``text/html`` without a charset, so clients must honour the page's ``<meta charset>``;
* static files carry ``Last-Modified``/``ETag`` and answer conditional requests with 304.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from flask import Blueprint, Response, abort, current_app, redirect, request, send_from_directory

from bot.settings import resolve

bp = Blueprint("site", __name__)

REDIRECTS_FILE = "_redirects"
ORIGIN_PLACEHOLDER = "__ORIGIN__"
TEMPLATED_FILES = {
    "robots.txt": "text/plain; charset=utf-8",
    "sitemap.xml": "application/xml",
}
REDIRECT_STATUSES = {301, 302, 303, 307, 308}


@bp.get("/widget/<path:filename>")
def widget(filename: str):
    response = send_from_directory(resolve(current_app.config["WIDGET_DIR"]), filename, max_age=300)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _load_redirects(root: Path) -> dict[str, tuple[str, int]]:
    """``FROM -> (TO, STATUS)`` from the site's ``_redirects`` file (missing file: no rules)."""
    try:
        text = (root / REDIRECTS_FILE).read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    rules: dict[str, tuple[str, int]] = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        status = int(parts[2]) if len(parts) == 3 and parts[2].isdigit() else (301 if len(parts) == 2 else 0)
        if not 2 <= len(parts) <= 3 or not parts[0].startswith("/") or status not in REDIRECT_STATUSES:
            current_app.logger.warning("%s:%d: bad redirect rule ignored: %r", root / REDIRECTS_FILE, number, line)
            continue
        rules.setdefault(parts[0], (parts[1], status))
    return rules


def _is_hidden(path: str) -> bool:
    return any(part.startswith(("_", ".")) for part in path.split("/") if part)


def _is_utf8(file: Path) -> bool:
    try:
        file.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _templated(root: Path, name: str) -> Response:
    """robots.txt / sitemap.xml with the request's origin filled in (conditional, with ETag)."""
    file = root / name
    if not file.is_file():
        abort(404)
    origin = request.host_url.rstrip("/")
    body = file.read_text(encoding="utf-8").replace(ORIGIN_PLACEHOLDER, origin)
    response = Response(body, headers={"Content-Type": TEMPLATED_FILES[name]})
    response.last_modified = int(os.stat(file).st_mtime)
    response.set_etag(hashlib.sha256(body.encode("utf-8")).hexdigest()[:32])
    return response.make_conditional(request)


@bp.get("/", defaults={"path": ""})
@bp.get("/<path:path>")
def sample_site(path: str):
    root_setting = current_app.config["SAMPLE_SITE_DIR"]
    if not root_setting:
        abort(404)
    root = resolve(root_setting)
    if _is_hidden(path) or "\\" in path:
        abort(404)

    rule = _load_redirects(root).get("/" + path)
    if rule is not None:
        target, status = rule
        return redirect(target, code=status)

    if path in TEMPLATED_FILES:
        return _templated(root, path)

    if path == "" or path.endswith("/"):
        path += "index.html"
    elif (root / path).is_dir() and (root / path).resolve().is_relative_to(root.resolve()):
        return redirect(request.path + "/", code=301)

    # send_from_directory refuses paths outside root (404) and honours
    # If-None-Match / If-Modified-Since (304) with ETag and Last-Modified.
    response = send_from_directory(root, path, conditional=True, etag=True)
    if path.lower().endswith((".html", ".htm")):
        file = root / path
        if not _is_utf8(file):
            response.headers["Content-Type"] = "text/html"  # charset only in <meta>
    elif path.lower().endswith(".pdf"):
        response.headers["Content-Type"] = "application/pdf"
    return response
