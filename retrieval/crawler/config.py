"""What one crawl does: :class:`CrawlConfig` (start URL, allowed prefixes, politeness, limits)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

from retrieval.crawler.urls import directory_prefix, normalize_url

USER_AGENT = "citybot-crawler/0.1 (+https://www.city.example.jp/citybot)"
AUDIENCES = ("resident", "staff")


class CrawlConfigError(ValueError):
    """A crawl configuration that cannot be run (message says what to change)."""


class CrawlError(RuntimeError):
    """A crawl that cannot start (robots.txt unreachable or forbidding the start URL)."""


def is_loopback(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass
class CrawlConfig:
    """Settings of one crawl. Only ``start_url`` is required.

    ``allow``: URL prefixes the crawler may fetch (absolute, or paths like ``/kurashi/``
    resolved against the start URL); default = the start URL's directory. The start URL
    itself is always fetched, so a top page can lead into an allowed section.
    ``delay``: seconds between two requests to one host (the request's end to the next
    one's start); a larger robots.txt ``Crawl-delay`` wins. ``respect_crawl_delay=False``
    is accepted only for a loopback start URL (the local sample site).
    ``public_origin``: record pages under this origin although they are fetched from the
    start URL's origin (a local copy of the site served under its public address).
    """

    start_url: str
    allow: tuple[str, ...] = ()
    max_pages: int = 500
    delay: float = 1.0
    concurrency: int = 2
    audience: str = "resident"
    timeout: float = 15.0
    retries: int = 2
    backoff: float = 0.5
    max_bytes: int = 10 * 1024 * 1024
    max_redirects: int = 5
    respect_crawl_delay: bool = True
    use_sitemaps: bool = True
    resume: bool = True
    public_origin: str | None = None

    def __post_init__(self) -> None:
        start = normalize_url(self.start_url)
        if start is None:
            raise CrawlConfigError(f"start URL must be an absolute http(s) URL: {self.start_url!r}")
        self.start_url = start
        if self.public_origin is not None:
            origin = normalize_url(self.public_origin.rstrip("/") + "/")
            if origin is None or urlsplit(origin).path != "/":
                raise CrawlConfigError(f"public origin must look like https://host: {self.public_origin!r}")
            self.public_origin = origin[:-1]
        prefixes = []
        for prefix in self.allow or (directory_prefix(start),):
            absolute = normalize_url(prefix, base=start, keep_query=True)
            if absolute is None:
                raise CrawlConfigError(f"allowed prefix is not an http(s) URL or path: {prefix!r}")
            prefixes.append(absolute)
        self.allow = tuple(dict.fromkeys(prefixes))
        if self.delay < 0 or self.timeout <= 0:
            raise CrawlConfigError("delay must be ≥ 0 and timeout > 0 seconds")
        if self.max_pages < 1 or self.concurrency < 1 or self.concurrency > 16:
            raise CrawlConfigError("max_pages must be ≥ 1 and concurrency between 1 and 16")
        if self.max_bytes < 1024 or self.max_redirects < 0 or self.retries < 0:
            raise CrawlConfigError("max_bytes must be ≥ 1024, max_redirects and retries ≥ 0")
        if self.audience not in AUDIENCES:
            raise CrawlConfigError(f"audience must be one of {AUDIENCES}, not {self.audience!r}")
        if not self.respect_crawl_delay and not is_loopback(start):
            raise CrawlConfigError("robots.txt Crawl-delay may be ignored only for a loopback (local sample) site")

    def allowed(self, url: str) -> bool:
        """Is ``url`` (in fetch form) the start URL or under one of the allowed prefixes?"""
        return url == self.start_url or any(url.startswith(p) for p in self.allow)

    @property
    def fetch_origin(self) -> str:
        parts = urlsplit(self.start_url)
        return f"{parts.scheme}://{parts.netloc}"

    def to_public(self, url: str) -> str:
        """The URL under which a fetched page is recorded."""
        if self.public_origin and url.startswith(self.fetch_origin + "/"):
            return self.public_origin + url[len(self.fetch_origin):]
        return url

    def to_fetch(self, url: str) -> str:
        """The URL to request for a recorded page."""
        if self.public_origin and url.startswith(self.public_origin + "/"):
            return self.fetch_origin + url[len(self.public_origin):]
        return url

    def fingerprint(self) -> str:
        """What must match for an interrupted crawl to be resumed."""
        return "|".join((self.start_url, *self.allow, self.public_origin or "", self.audience))
