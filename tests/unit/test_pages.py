"""Crawled passages become entries titled by heading path; snippets cut at sentence ends."""

from __future__ import annotations

from retrieval.crawler import PagePassage
from retrieval.pages import PAGE_PREFIX, passage_entries, snippet


def passage(**kw):
    base = dict(passage_id="x1", url="https://www.city.example.jp/a.html", page_title="市営住宅", heading="募集",
                text="本文です。", category="くらし", updated_at="2026-04-01")
    return PagePassage(**(base | kw))


def test_passages_become_entries():
    (entry,) = passage_entries([passage(), passage(passage_id="empty", text="  ")])
    assert entry.faq_id == PAGE_PREFIX + "x1"
    assert entry.question == "市営住宅 > 募集" and entry.answer == "本文です。"
    assert entry.url.endswith("a.html") and entry.category1 == "くらし"
    (lead,) = passage_entries([passage(heading="")])
    assert lead.question == "市営住宅"


def test_snippet_cuts_at_a_sentence_end_near_the_limit():
    text = "一文目はここまでです。" * 3 + "二文目" * 40
    cut = snippet(text, limit=40)
    assert cut.endswith("。") and len(cut) <= 40
    assert snippet("短い文。") == "短い文。"
    assert snippet("あ" * 200, limit=50) == "あ" * 50 + "…"


def test_first_hit_per_page_keeps_rank_order():
    from retrieval.pages import first_hit_per_page

    hits = [SimpleHit("a.html", 0.9), SimpleHit("a.html", 0.89), SimpleHit("b.html", 0.8), SimpleHit("a.html", 0.7)]
    assert [(h.url, h.score) for h in first_hit_per_page(hits)] == [("a.html", 0.9), ("b.html", 0.8)]


class SimpleHit:
    def __init__(self, url, score):
        self.url, self.score = url, score
