"""The page store: passages, duplicate pages, the resumable frontier, removal and link statuses."""

from __future__ import annotations

import sqlite3

import pytest

from retrieval.crawler.store import PagePassage, PageStore, now_iso

U = "https://www.city.example.jp/"


def page(url: str, content_hash: str = "h", title: str = "ページ") -> dict:
    return {"url": url, "final_url": url, "status": 200, "kind": "html", "content_type": "text/html",
            "encoding": "utf-8", "etag": '"e"', "last_modified": None, "content_hash": content_hash, "title": title,
            "category": "くらし", "updated_at": "2026-04-01", "fetched_at": now_iso(), "audience": "resident",
            "extractor_version": "1"}


def passage(url: str, heading: str, text: str, seq: int = 0) -> dict:
    return {"passage_id": f"{url}#{heading}", "url": url, "seq": seq, "page_title": "ページ", "heading": heading,
            "text": text, "category": "くらし", "updated_at": "2026-04-01"}


def crawled(store: PageStore, url: str, content_hash: str = "h", links=(), texts=("本文",)) -> None:
    store.enqueue(url, "link")
    store.claim(1)
    store.save_page(page(url, content_hash), [passage(url, f"見出し{i}", t, i) for i, t in enumerate(texts)],
                    list(links), "new")


def test_passages_and_their_titles(tmp_path):
    store = PageStore(tmp_path / "p.sqlite")
    store.begin_crawl("f", resume=True)
    crawled(store, U + "a.html", texts=("一つ目", "二つ目"))
    assert store.passages() == [
        PagePassage(U + "a.html#見出し0", U + "a.html", "ページ", "見出し0", "一つ目", "くらし", "2026-04-01"),
        PagePassage(U + "a.html#見出し1", U + "a.html", "ページ", "見出し1", "二つ目", "くらし", "2026-04-01"),
    ]
    assert store.passages()[0].title == "ページ > 見出し0"


def test_the_same_page_under_two_urls_counts_once(tmp_path):
    store = PageStore(tmp_path / "p.sqlite")
    store.begin_crawl("f", resume=True)
    crawled(store, U + "index.html", content_hash="same")
    crawled(store, U, content_hash="same")
    assert {p.url for p in store.passages()} == {U}


def test_resume_only_an_unfinished_crawl_with_the_same_configuration(tmp_path):
    store = PageStore(tmp_path / "p.sqlite")
    assert store.begin_crawl("f", resume=True) is False
    store.enqueue(U + "a.html", "seed")
    store.enqueue(U + "b.html", "link")
    assert [r.url for r in store.claim(1)] == [U + "a.html"]  # in progress when "killed"
    assert store.begin_crawl("f", resume=True) is True
    assert store.counts() == {"queued": 2}  # the interrupted URL is queued again
    assert store.begin_crawl("other", resume=True) is False
    assert store.counts() == {}


def test_finish_removes_gone_pages_and_resolves_links(tmp_path):
    store = PageStore(tmp_path / "p.sqlite")
    store.begin_crawl("f", resume=True)
    for name in ("keep", "gone", "unreached", "flaky"):
        crawled(store, U + f"{name}.html", content_hash=name)
    store.begin_crawl("f2", resume=True)  # the next crawl
    crawled(store, U + "keep.html", content_hash="keep",
            links=[(U + "gone.html", "削除"), (U + "flaky.html", ""), (U + "moved.html", "移転")])
    for url, outcome, status in ((U + "gone.html", "http_error", 404), (U + "flaky.html", "error", None)):
        store.enqueue(url, "link")
        store.claim(1)
        store.finish_url(url, outcome, status, error="boom" if outcome == "error" else "HTTP 404")
    statuses = {U + "gone.html": ("not_found", 404, "HTTP 404"), U + "flaky.html": ("error", None, "boom"),
                U + "moved.html": ("ok", 200, "")}
    removed = store.finish_crawl(complete=False, resolve=lambda url: statuses[url])
    assert removed == 1 and {p.url for p in store.pages()} == {U + "keep.html", U + "unreached.html", U + "flaky.html"}
    assert {(d.target_url, d.kind, d.link_text) for d in store.dead_links()} == {
        (U + "gone.html", "not_found", "削除"), (U + "flaky.html", "error", "")}
    assert store.meta("crawl_state") == "truncated"
    # a complete crawl also removes what it never reached, but keeps what failed transiently
    removed = store.finish_crawl(complete=True, resolve=lambda url: statuses[url])
    assert removed == 1 and {p.url for p in store.pages()} == {U + "keep.html", U + "flaky.html"}
    assert not [p for p in store.passages() if "unreached" in p.url]


def test_a_store_of_another_schema_is_refused(tmp_path):
    path = tmp_path / "p.sqlite"
    PageStore(path).close()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE meta SET value = '0' WHERE key = 'schema_version'")
    with pytest.raises(ValueError, match="schema"):
        PageStore(path)
