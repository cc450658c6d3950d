"""HTTP for the crawler: one identifying User-Agent, timeouts, retries with backoff,
a streamed and enforced size limit, wanted content types only, conditional requests.

Redirects are *not* followed here: the crawler records each hop (robots, allowed
prefixes and loop detection apply to every one).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from retrieval.crawler.urls import normalize_url

HTML_TYPES = ("text/html", "application/xhtml+xml")
PDF_TYPES = ("application/pdf",)
PAGE_TYPES = HTML_TYPES + PDF_TYPES
SITEMAP_TYPES = ("application/xml", "text/xml", "application/gzip", "application/x-gzip",
                 "application/octet-stream", "text/plain")
REDIRECTS = (301, 302, 303, 307, 308)
RETRY_STATUSES = (429, 500, 502, 503, 504)
CHUNK = 64 * 1024
MAX_RETRY_AFTER = 60.0  # seconds; a server asking for longer gets the request marked as failed sooner

# outcomes of one request
OK, NOT_MODIFIED, REDIRECT, HTTP_ERROR = "ok", "not_modified", "redirect", "http_error"
SKIPPED_TYPE, TOO_LARGE, ERROR = "skipped_type", "too_large", "error"


@dataclass
class FetchResult:
    url: str
    status: int = 0
    outcome: str = ERROR
    content_type: str = ""  # media type, lower case, without parameters
    content_type_header: str = ""
    body: bytes = b""
    etag: str | None = None
    last_modified: str | None = None
    location: str | None = None
    error: str = ""
    started: float = 0.0
    seconds: float = 0.0

    @property
    def is_pdf(self) -> bool:
        return self.content_type in PDF_TYPES


class _Retry(Retry):
    """urllib3 Retry that honours ``Retry-After`` but never sleeps longer than a minute."""

    def get_retry_after(self, response):
        seconds = super().get_retry_after(response)
        return None if seconds is None else min(seconds, MAX_RETRY_AFTER)


def media_type(header: str | None) -> str:
    return (header or "").split(";", 1)[0].strip().lower()


class Fetcher:
    """Thread-safe GET with one ``requests.Session`` per thread."""

    def __init__(self, user_agent: str, timeout: float = 15.0, retries: int = 2, backoff: float = 0.5,
                 max_bytes: int = 10 * 1024 * 1024):
        self.user_agent = user_agent
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.max_bytes = max_bytes
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._lock = threading.Lock()

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            retry = _Retry(total=self.retries, connect=self.retries, read=self.retries, status=self.retries,
                           other=0, backoff_factor=self.backoff, backoff_max=30,
                           status_forcelist=RETRY_STATUSES, allowed_methods=frozenset({"GET"}),
                           raise_on_status=False, respect_retry_after_header=True)
            adapter = HTTPAdapter(max_retries=retry, pool_connections=4, pool_maxsize=4)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            session.headers.update({
                "User-Agent": self.user_agent,
                "Accept": "text/html,application/xhtml+xml,application/pdf;q=0.9,*/*;q=0.1",
                "Accept-Language": "ja,en;q=0.5",
            })
            session.trust_env = False  # no proxies/netrc from the environment: we talk to the site only
            self._local.session = session
            with self._lock:
                self._sessions.append(session)
        return session

    def get(self, url: str, accept: tuple[str, ...] | None = PAGE_TYPES, etag: str | None = None,
            last_modified: str | None = None) -> FetchResult:
        """One GET of ``url``; never raises for network or HTTP problems (see ``outcome``).

        ``accept``: the media types whose body is read (None: any); others end as
        ``skipped_type`` without reading the body.
        """
        result = FetchResult(url=url, started=time.monotonic())
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        try:
            response = self._session().get(url, headers=headers, timeout=(min(5.0, self.timeout), self.timeout),
                                           allow_redirects=False, stream=True)
        except requests.RequestException as exc:
            result.error = _describe(exc)
            result.seconds = time.monotonic() - result.started
            return result
        with response:
            self._read(response, result, accept)
        result.seconds = time.monotonic() - result.started
        return result

    def _read(self, response: requests.Response, result: FetchResult, accept: tuple[str, ...] | None) -> None:
        result.status = response.status_code
        result.content_type_header = response.headers.get("Content-Type", "")
        result.content_type = media_type(result.content_type_header)
        result.etag = response.headers.get("ETag")
        result.last_modified = response.headers.get("Last-Modified")
        if response.status_code == 304:
            result.outcome = NOT_MODIFIED
            return
        if response.status_code in REDIRECTS:
            result.location = normalize_url(response.headers.get("Location", ""), base=result.url)
            result.outcome = REDIRECT if result.location else HTTP_ERROR
            result.error = "" if result.location else "redirect without a usable Location"
            return
        if response.status_code != 200:
            result.outcome = HTTP_ERROR
            result.error = f"HTTP {response.status_code}"
            return
        if accept is not None and result.content_type not in accept:
            result.outcome = SKIPPED_TYPE
            result.error = f"content type {result.content_type or '(none)'} not wanted"
            return
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            result.outcome = TOO_LARGE
            result.error = f"Content-Length {declared} > limit {self.max_bytes}"
            return
        deadline = result.started + 4 * self.timeout
        chunks, size = [], 0
        try:
            for chunk in response.iter_content(CHUNK):
                size += len(chunk)
                if size > self.max_bytes:
                    result.outcome = TOO_LARGE
                    result.error = f"body larger than the limit of {self.max_bytes} bytes"
                    return
                if time.monotonic() > deadline:
                    result.error = f"body not received within {4 * self.timeout:.0f} s"
                    return
                chunks.append(chunk)
        except requests.RequestException as exc:
            result.error = _describe(exc)
            return
        result.body = b"".join(chunks)
        result.outcome = OK

    def close(self) -> None:
        with self._lock:
            for session in self._sessions:
                session.close()
            self._sessions.clear()


def _describe(exc: Exception) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text[:200]}" if text else type(exc).__name__
