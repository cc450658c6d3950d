"""Custom actions with Tracker.from_dict and CollectingDispatcher over tiny real indexes."""

from __future__ import annotations

import asyncio

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import context
from actions.answer_question import ActionAnswerFaq, ActionAnswerQuestion
from actions.replies import payload
from retrieval.faq import parse_faq_csv
from retrieval.index import build_index
from retrieval.normalizer import Normalizer
from retrieval.registry import IndexRegistry
from tests.conftest import REPO, TINY_FAQ

STAFF_FAQ = """faq_id,question,answer,url
S-1,庁内LANのパスワードを忘れました。,情報政策課のヘルプデスク（内線）に連絡してください。,https://intra.city.example.jp/lan.html
"""
DOMAIN = yaml.safe_load((REPO / "domain.yml").read_text(encoding="utf-8"))


@pytest.fixture
def registry(tmp_path, fake_encoder, monkeypatch):
    normalizer = Normalizer()
    build_index(parse_faq_csv(TINY_FAQ), tmp_path / "resident", fake_encoder, normalizer)
    build_index(parse_faq_csv(STAFF_FAQ), tmp_path / "staff", fake_encoder, normalizer, audience="staff")
    registry = IndexRegistry(tmp_path, encoder=fake_encoder, normalizer=normalizer)
    monkeypatch.setattr(context, "registry", lambda: registry)
    return registry


def tracker(text: str, metadata: dict | None = None, entities: list | None = None) -> Tracker:
    user = {"event": "user", "text": text, "parse_data": {"intent": {"name": "ask_question"}}}
    if metadata is not None:
        user["metadata"] = metadata
    return Tracker.from_dict({
        "sender_id": "t", "slots": {}, "events": [{"event": "action", "name": "action_listen"}, user],
        "latest_message": {"text": text, "intent": {"name": "ask_question"}, "entities": entities or []},
        "paused": False, "followup_action": None, "active_loop": {}, "latest_action_name": "action_listen",
    })


def run(action, tracker_):
    dispatcher = CollectingDispatcher()
    asyncio.run(action.run(dispatcher, tracker_, DOMAIN))
    (message,) = dispatcher.messages
    return message["custom"]


def test_answer_has_text_link_and_id(registry):
    reply = run(ActionAnswerQuestion(), tracker("粗大ごみはどうやって出せばいいですか。", {"audience": "resident"}))
    assert reply["tier"] == "answer" and reply["faq_id"] == "R-1"
    assert reply["text"].startswith("粗大ごみは事前申込制")
    assert reply["link"]["url"].endswith("sodaigomi.html")


def test_unrelated_question_is_unknown_with_domain_text(registry):
    reply = run(ActionAnswerQuestion(), tracker("量子コンピュータの仕組み", {"audience": "resident"}))
    assert reply["tier"] == "unknown"
    assert reply["text"] == context.response_text(DOMAIN, "utter_unknown")


def test_missing_or_forged_audience_falls_back_to_resident(registry):
    for metadata in (None, {}, {"audience": "admin"}, {"audience": ["staff"]}):
        reply = run(ActionAnswerQuestion(), tracker("庁内LANのパスワードを忘れました。", metadata))
        assert reply["audience"] == "resident"
        assert reply.get("faq_id") != "S-1"
        assert "内線" not in reply["text"]


def test_staff_metadata_selects_the_staff_index(registry):
    reply = run(ActionAnswerQuestion(), tracker("庁内LANのパスワードを忘れました。", {"audience": "staff"}))
    assert reply["faq_id"] == "S-1" and reply["audience"] == "staff"


def test_suggest_offers_distinct_candidates(registry, monkeypatch):
    index = registry.get("resident")
    monkeypatch.setattr(index, "thresholds", index.thresholds.__class__(answer=2.0, margin=0.0, suggest=-1.0, oos_coef=()))
    reply = run(ActionAnswerQuestion(), tracker("ごみ", {"audience": "resident"}))
    assert reply["tier"] == "suggest"
    candidates, none = reply["buttons"][:-1], reply["buttons"][-1]
    assert 1 <= len(candidates) <= 3
    assert len({b["title"] for b in candidates}) == len(candidates)
    assert all(b["payload"].startswith("/choose_faq{") for b in candidates)
    assert none == {"title": "どれにも当てはまらない", "payload": "/none_of_these", "kind": "none"}


def test_chosen_faq_is_answered_from_its_own_audience_only(registry):
    entities = [{"entity": "faq_id", "value": "R-2"}]
    reply = run(ActionAnswerFaq(), tracker(payload("choose_faq", faq_id="R-2"), {"audience": "resident"}, entities))
    assert reply["faq_id"] == "R-2" and reply["tier"] == "answer"
    staff_id = [{"entity": "faq_id", "value": "S-1"}]
    reply = run(ActionAnswerFaq(), tracker(payload("choose_faq", faq_id="S-1"), {"audience": "resident"}, staff_id))
    assert reply["tier"] == "unknown" and "faq_id" not in reply


def test_search_failure_is_a_polite_reply(monkeypatch, tmp_path, fake_encoder):
    monkeypatch.setattr(context, "registry", lambda: IndexRegistry(tmp_path / "missing", encoder=fake_encoder))
    reply = run(ActionAnswerQuestion(), tracker("粗大ごみ", {"audience": "resident"}))
    assert reply["tier"] == "error" and "準備できません" in reply["text"]


def _Passage(passage_id, page_title, heading, text, url):  # noqa: N802 - reads like the dataclass it builds
    from retrieval.crawler import PagePassage

    return PagePassage(passage_id, url, page_title, heading, text, "くらし", "2026-04-01")


@pytest.fixture
def with_pages(registry, fake_encoder):
    from retrieval.fusion import TierThresholds
    from retrieval.pages import passage_entries

    passages = [
        _Passage("p1", "市営住宅の入居者募集", "募集の時期", "市営住宅の入居者は毎年5月と11月に募集します。申込書は住宅課で配布します。",
                 "https://www.city.example.jp/kurashi/jutaku.html"),
        _Passage("p2", "水道の使用開始", "届け出", "水道の使用を始めるときは水道局へ連絡してください。",
                 "https://www.city.example.jp/kurashi/suido.html"),
    ]
    lexical_tiers = TierThresholds(answer=0.3, margin=0.0, suggest=0.1, oos_coef=())
    build_index(passage_entries(passages), registry.root / "resident-pages", fake_encoder, registry.normalizer,
                tiers=lexical_tiers)
    return registry


def test_confident_page_passage_answers_when_no_faq_is_confident(with_pages):
    reply = run(ActionAnswerQuestion(), tracker("市営住宅の入居者募集の時期は", {"audience": "resident"}))
    assert reply["tier"] == "page" and reply["page_id"] == "p1"
    assert reply["link"] == {"url": "https://www.city.example.jp/kurashi/jutaku.html", "title": "市営住宅の入居者募集"}
    assert "市営住宅の入居者募集" in reply["text"] and "毎年5月と11月" in reply["text"]


def test_confident_faq_keeps_priority_over_pages(with_pages):
    reply = run(ActionAnswerQuestion(), tracker("粗大ごみはどうやって出せばいいですか。", {"audience": "resident"}))
    assert reply["tier"] == "answer" and reply["faq_id"] == "R-1"


def test_resident_pages_never_answer_staff_and_vice_versa(with_pages, fake_encoder):
    from retrieval.fusion import TierThresholds
    from retrieval.pages import passage_entries

    intranet = [_Passage("s1", "庁内LANの接続申請", "申請方法", "庁内LANへの端末接続は情報政策課へ申請します。",
                         "https://intra.city.example.jp/lan.html")]
    build_index(passage_entries(intranet), with_pages.root / "staff-pages", fake_encoder, with_pages.normalizer,
                audience="staff", tiers=TierThresholds(answer=0.3, margin=0.0, suggest=0.1, oos_coef=()))
    staff = run(ActionAnswerQuestion(), tracker("市営住宅の入居者募集の時期は", {"audience": "staff"}))
    assert staff.get("page_id") != "p1"  # a resident page is not in the staff corpus
    staff = run(ActionAnswerQuestion(), tracker("庁内LANの接続申請の申請方法", {"audience": "staff"}))
    assert staff.get("page_id") == "s1"
    resident = run(ActionAnswerQuestion(), tracker("庁内LANの接続申請の申請方法", {"audience": "resident"}))
    assert resident.get("page_id") != "s1" and "intra.city.example.jp" not in str(resident)
