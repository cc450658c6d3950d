"""Glue between ``citybot crawl`` and the crawler: where each audience's pages live
(``PAGES_DIR/<audience>.sqlite``), the dead-link report CSV next to it, and the sample
mode that serves ``sample_site/`` with the gateway app on loopback and crawls it.
"""

from __future__ import annotations

import csv
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from werkzeug.serving import WSGIRequestHandler, make_server

from bot.settings import resolve
from retrieval.crawler import CrawlConfig, CrawlReport, DeadLink, PageStore, ProgressCallback, crawl

log = logging.getLogger(__name__)

DEAD_LINK_COLUMNS = ("source_url", "target_url", "kind", "http_status", "detail", "link_text", "説明")
KIND_EXPLAINED = {
    "not_found": "リンク先のページがありません（404）",
    "gone": "リンク先のページは削除されています（410）",
    "http_error": "リンク先がエラーを返しました",
    "redirect_loop": "転送（リダイレクト）がループしています",
    "too_many_redirects": "転送（リダイレクト）が多すぎます",
    "offsite_redirect": "クロール対象外のサイトへ転送されます",
    "error": "リンク先に接続できませんでした（タイムアウト・サーバーエラーなど）",
}


@dataclass
class CrawlOutcome:
    report: CrawlReport
    store_path: Path
    dead_links_path: Path


def store_path(settings: dict, audience: str) -> Path:
    return resolve(settings["PAGES_DIR"]) / f"{audience}.sqlite"


def dead_links_path(settings: dict, audience: str) -> Path:
    return resolve(settings["PAGES_DIR"]) / f"{audience}-dead-links.csv"


def run_crawl(settings: dict, config: CrawlConfig, progress: ProgressCallback | None = None) -> CrawlOutcome:
    """Crawl into the audience's store and rewrite its dead-link report."""
    path = store_path(settings, config.audience)
    store = PageStore(path)
    try:
        report = crawl(config, store, progress)
        csv_path = write_dead_links(store.dead_links(), dead_links_path(settings, config.audience))
    finally:
        store.close()
    return CrawlOutcome(report, path, csv_path)


def write_dead_links(dead_links: list[DeadLink], path: Path) -> Path:
    """The dead-link report as CSV (UTF-8 with BOM, so Excel opens it correctly)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".csv.partial")
    with partial.open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(DEAD_LINK_COLUMNS)
        for d in dead_links:
            writer.writerow((d.source_url, d.target_url, d.kind, d.http_status or "", d.detail, d.link_text,
                             KIND_EXPLAINED.get(d.kind, "")))
    os.replace(partial, path)
    return path


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code="-", size="-") -> None:  # no per-request lines under the progress bar
        pass


@contextmanager
def serve_sample_site(settings: dict) -> Iterator[str]:
    """Serve the sample homepage with the gateway app on 127.0.0.1 (a free port); yields its origin."""
    from bot.app import create_app

    root = settings["SAMPLE_SITE_DIR"]
    if not root or not resolve(root).is_dir():
        raise FileNotFoundError(f"no sample site at {root!r} (setting SAMPLE_SITE_DIR)")
    app = create_app({"SAMPLE_SITE_DIR": root})
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                              name="citybot-sample-site", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()


def sample_config(settings: dict, origin: str, **options) -> CrawlConfig:
    """The sample site, fetched from loopback with no delay and recorded under SITE_ORIGIN.

    The robots.txt Crawl-delay (1 s) is overridden only here: the server is our own
    fixture on 127.0.0.1 (CrawlConfig refuses the override for any other host).
    """
    values = {"delay": 0.0} | options
    return CrawlConfig(start_url=origin + "/", respect_crawl_delay=False,
                       public_origin=settings["SITE_ORIGIN"] or None, **values)


def crawled_entries(settings: dict, audience: str) -> list:
    """The audience's crawled passages as index entries (see :mod:`retrieval.pages`)."""
    from retrieval.pages import passage_entries

    path = store_path(settings, audience)
    if not path.exists():
        raise FileNotFoundError(f"no crawled pages for {audience} at {path} (run: citybot crawl)")
    store = PageStore(path)
    try:
        return passage_entries(store.passages())
    finally:
        store.close()


def ensure_sample_crawl(settings: dict) -> CrawlOutcome | None:
    """For the demo: crawl the sample homepage once if the sample site is on and nothing was crawled."""
    if not settings["SAMPLE_SITE_DIR"] or store_path(settings, "resident").exists():
        return None
    with serve_sample_site(settings) as origin:
        return run_crawl(settings, sample_config(settings, origin))
