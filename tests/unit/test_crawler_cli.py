"""``citybot crawl``: argument checks and the dead-link CSV (no network)."""

from __future__ import annotations

import csv

from click.testing import CliRunner

from bot.cli import main
from bot.crawling import write_dead_links
from retrieval.crawler import DeadLink


def test_start_url_or_sample_but_not_both():
    runner = CliRunner()
    assert runner.invoke(main, ["crawl"]).exit_code == 2
    assert runner.invoke(main, ["crawl", "--sample", "https://www.city.example.jp/"]).exit_code == 2


def test_configuration_errors_are_clean_messages(tmp_path, monkeypatch):
    monkeypatch.setenv("CITYBOT_PAGES_DIR", str(tmp_path))
    result = CliRunner().invoke(main, ["crawl", "not-a-url"])
    assert result.exit_code == 1 and "absolute http(s) URL" in result.output and "Traceback" not in result.output


def test_help_documents_the_sample_mode_override():
    text = " ".join(CliRunner().invoke(main, ["crawl", "--help"]).output.split())
    assert "Crawl- delay deliberately overridden" in text or "Crawl-delay deliberately overridden" in text
    assert "loopback" in text


def test_dead_link_csv_opens_in_excel(tmp_path):
    path = write_dead_links([DeadLink("https://x.example/a.html", "https://x.example/b.html", "not_found", 404,
                                      "HTTP 404", "旧ページ")], tmp_path / "resident-dead-links.csv")
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads UTF-8
    rows = list(csv.DictReader(raw.decode("utf-8-sig").splitlines()))
    assert rows == [{"source_url": "https://x.example/a.html", "target_url": "https://x.example/b.html",
                     "kind": "not_found", "http_status": "404", "detail": "HTTP 404", "link_text": "旧ページ",
                     "説明": "リンク先のページがありません（404）"}]
