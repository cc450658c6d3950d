"""What a crawl tells its caller: :class:`CrawlProgress` after each URL, :class:`CrawlReport` at the end."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class CrawlProgress:
    """Sent to the ``progress`` callback after each URL (on the crawl's own thread).

    Raising from the callback stops the crawl; requests already under way are finished
    and saved, so running the same crawl again resumes it.
    """

    url: str
    outcome: str  # new | changed | unchanged | redirect | http_error | skipped_type | too_large | error
    fetched: int  # URLs requested by this run so far
    done: int  # URLs finished in this crawl, counting a resumed crawl's earlier part
    known: int  # URLs found so far (done + waiting), never above max_pages
    max_pages: int
    elapsed: float
    pages_per_s: float


ProgressCallback = Callable[[CrawlProgress], None]


@dataclass
class CrawlReport:
    fetched: int = 0  # URLs requested (pages, PDFs, redirects, errors), not robots.txt or sitemaps
    new: int = 0
    changed: int = 0
    unchanged: int = 0  # 304 Not Modified or the same content: not extracted again
    removed: int = 0
    skipped_robots: int = 0  # distinct URLs not requested because robots.txt disallows them
    skipped: int = 0  # responses that are neither HTML nor PDF
    errors: int = 0  # network errors, 5xx after retries, bodies over the size limit, unreadable pages
    dead_links: int = 0
    seconds: float = 0.0
    pages_per_s: float = 0.0
    complete: bool = False  # the frontier was exhausted (not stopped by max_pages)
    resumed: bool = False  # this run continued an interrupted crawl
    passages: int = 0

    def summary(self) -> str:
        """One line: fetched / new / changed / unchanged / removed / dead links / seconds."""
        return (f"fetched {self.fetched} / new {self.new} / changed {self.changed} / unchanged {self.unchanged}"
                f" / removed {self.removed} / dead links {self.dead_links} / {self.seconds:.1f} s"
                f" ({self.pages_per_s:.1f} pages/s)")

    def to_dict(self) -> dict:
        return asdict(self)
