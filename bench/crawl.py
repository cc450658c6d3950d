"""Crawler throughput and incremental update cost on the local sample homepage.

    .venv/bin/python bench/crawl.py

Copies sample_site/ to a temporary directory, serves it on 127.0.0.1 with the gateway
app, and measures: a first crawl with delay 0 (pages/s), the page-index build, a
recrawl after 10 pages were edited (only those re-extracted), and the index update
that follows (only changed passages re-embedded; the embedding cache is shared with
var/cache, so run it twice for a warm figure). Prints one JSON object.
"""

from __future__ import annotations

import json
import platform
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bot.crawling import run_crawl, sample_config, serve_sample_site  # noqa: E402
from bot.indexing import build_pages  # noqa: E402
from bot.settings import load_settings, resolve  # noqa: E402
from retrieval.encoders import load_encoder  # noqa: E402

EDIT = "<p>【ベンチマーク用の追記】この段落は更新検出の計測のために追加されました（サンプル）。</p>"


def crawl_once(settings: dict) -> dict:
    with serve_sample_site(settings) as origin:
        outcome = run_crawl(settings, sample_config(settings, origin))
    return outcome.report.to_dict()


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        site = Path(tmp) / "site"
        shutil.copytree(resolve("sample_site"), site)
        settings = load_settings({"SAMPLE_SITE_DIR": str(site), "PAGES_DIR": str(Path(tmp) / "pages"),
                                  "INDEX_ROOT": str(Path(tmp) / "index")})
        encoder = load_encoder(settings["ENCODER"])
        out: dict = {"machine": f"{platform.machine()}, 2 cores, Python {platform.python_version()}"}
        first = crawl_once(settings)
        out["first_crawl"] = {k: first[k] for k in ("fetched", "new", "dead_links", "seconds", "pages_per_s")}
        started = time.perf_counter()
        report = build_pages(settings, "resident", encoder=encoder)
        out["page_index_build_s"] = round(time.perf_counter() - started, 2)
        out["passages"] = report.entries
        edited = 0
        for page in sorted(site.rglob("*.html")):
            if edited == 10 or "kanri" in page.parts:
                continue
            raw = page.read_bytes()
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                continue
            if "</main>" in text:
                page.write_text(text.replace("</main>", EDIT + "</main>", 1), encoding="utf-8")
                edited += 1
        second = crawl_once(settings)
        out["recrawl_after_10_edits"] = {k: second[k] for k in ("fetched", "changed", "unchanged", "seconds",
                                                                  "pages_per_s")}
        started = time.perf_counter()
        build_pages(settings, "resident", encoder=encoder)
        out["index_update_after_10_edits_s"] = round(time.perf_counter() - started, 2)
        out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(out, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
