"""citybot's web crawler: the city homepage → passages for the page index.

Public API::

    from retrieval.crawler import CrawlConfig, PageStore, crawl
    store = PageStore("var/pages/resident.sqlite")
    report = crawl(CrawlConfig("https://www.city.example.jp/"), store, progress=callback)
    store.passages()    # list[PagePassage]
    store.dead_links()  # list[DeadLink]

Modules, one concern each: ``config`` (CrawlConfig), ``urls``, ``robots`` (robots.txt,
Crawl-delay, sitemaps), ``fetch`` (HTTP), ``politeness`` (per-host delay), ``decode``
(charsets), ``dates`` (更新日 and 和暦), ``extract`` (HTML/PDF → passages), ``store``
(SQLite), ``report`` and ``crawler`` (the loop). Part of the pure core: no web framework,
no printing — progress goes through the callback. ``crawl`` imports trafilatura and
pypdf only when called, so reading a store stays light.
"""

from __future__ import annotations

from retrieval.crawler.config import USER_AGENT, CrawlConfig, CrawlConfigError, CrawlError
from retrieval.crawler.report import CrawlProgress, CrawlReport, ProgressCallback
from retrieval.crawler.store import DEAD_KINDS, DeadLink, PagePassage, PageRecord, PageStore

__all__ = [
    "DEAD_KINDS", "USER_AGENT", "CrawlConfig", "CrawlConfigError", "CrawlError", "CrawlProgress", "CrawlReport",
    "DeadLink", "PagePassage", "PageRecord", "PageStore", "ProgressCallback", "crawl",
]


def crawl(config: CrawlConfig, store: PageStore, progress: ProgressCallback | None = None) -> CrawlReport:
    """Crawl ``config.start_url`` into ``store`` and report what changed (see :mod:`.crawler`)."""
    from retrieval.crawler.crawler import crawl as run

    return run(config, store, progress)

