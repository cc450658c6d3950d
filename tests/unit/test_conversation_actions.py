"""The scripted conversation actions with Tracker.from_dict and CollectingDispatcher:
garbage days and sorting (real sample data), guided procedures and follow-ups in
context, contact with office hours (fixed clock), feedback, menu, もしかして's
「どれにも当てはまらない」 and the handoff after repeated failures."""

from __future__ import annotations

import asyncio

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import context
from actions.answer_question import ActionAnswerQuestion, ActionNoneOfThese
from actions.contact import ActionHandoff
from actions.feedback import ActionFeedback
from actions.garbage import ActionGarbageDay, ActionGarbageSorting, ActionValidateSlotMappings
from actions.menu import ActionChooseCategory, ActionMenu
from actions.procedures import ActionFollowUp, ActionProcedure
from retrieval.faq import parse_faq_csv
from retrieval.index import build_index
from retrieval.normalizer import Normalizer
from retrieval.registry import IndexRegistry
from tests.conftest import REPO, TINY_FAQ

DOMAIN = yaml.safe_load((REPO / "domain.yml").read_text(encoding="utf-8"))
WEEKDAY_NOON = "2026-11-24T12:00"
SUNDAY = "2026-11-29T12:00"


@pytest.fixture(autouse=True)
def registry(tmp_path, fake_encoder, monkeypatch):
    normalizer = Normalizer()
    build_index(parse_faq_csv(TINY_FAQ), tmp_path / "resident", fake_encoder, normalizer)
    registry = IndexRegistry(tmp_path, encoder=fake_encoder, normalizer=normalizer)
    monkeypatch.setattr(context, "registry", lambda: registry)
    monkeypatch.setenv("CITYBOT_CLOCK", WEEKDAY_NOON)
    return registry


def tracker(text: str, intent: str, *, slots: dict | None = None, entities: list | None = None,
            active_loop: str | None = None, audience: str = "resident") -> Tracker:
    parse = {"intent": {"name": intent}, "entities": entities or [], "text": text}
    return Tracker.from_dict({
        "sender_id": "t", "slots": slots or {},
        "events": [{"event": "action", "name": "action_listen"},
                   {"event": "user", "text": text, "parse_data": parse, "metadata": {"audience": audience}}],
        "latest_message": parse, "paused": False, "followup_action": None,
        "active_loop": {"name": active_loop} if active_loop else {}, "latest_action_name": "action_listen",
    })


def run(action, tracker_) -> tuple[dict, dict]:
    """(the one reply, slots set by the action)."""
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker_, DOMAIN))
    (message,) = dispatcher.messages
    return message["custom"], {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def titles(reply: dict) -> list[str]:
    return [b["title"] for b in reply.get("buttons", [])]


# --- garbage -------------------------------------------------------------------------

def extract(text: str, intent: str, **kwargs) -> dict:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ActionValidateSlotMappings().run(dispatcher, tracker(text, intent, **kwargs), DOMAIN))
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot" and e["name"] != "requested_slot"}


def test_garbage_question_fills_district_and_category_from_the_text():
    assert extract("谷津の燃えるごみは何曜日？", "garbage_day") == {"district": "谷津", "garbage_category": "可燃ごみ"}
    assert extract("ビンはいつ出せますか", "garbage_day") == {"garbage_category": "びん・缶"}
    assert extract("ごみの日を教えて", "garbage_day") == {"garbage_category": None}


def test_district_is_taken_only_when_asked_or_about_garbage_days():
    assert extract("谷津です", "inform_district") == {"district": "谷津"}
    asked = {"requested_slot": "district"}
    assert extract("やつ", "nlu_fallback", slots=asked, active_loop="garbage_day_form") == {"district": "谷津"}
    # 津田沼 in an ordinary question does not become the resident's district
    assert extract("津田沼駅の近くに駐輪場はありますか", "ask_question") == {}
    assert extract("幕張です", "inform_district") == {}


def test_garbage_day_answers_the_category_for_the_district():
    reply, slots = run(ActionGarbageDay(), tracker("谷津です", "inform_district",
                                                   slots={"district": "谷津", "garbage_category": "可燃ごみ"}))
    assert reply["text"].startswith("谷津の可燃ごみの収集日は、毎週月曜日・木曜日です。")
    assert reply["link"]["url"].endswith("/gomi/shushubi.html")
    assert titles(reply) == ["役に立った", "役に立たなかった"]
    assert slots == {"topic": "garbage_day:谷津", "failures": 0.0, "garbage_category": None}


def test_garbage_day_without_category_lists_every_category():
    reply, _ = run(ActionGarbageDay(), tracker("実籾", "inform_district", slots={"district": "実籾"}))
    guide = context.garbage()
    for category in guide.categories:
        assert f"・{category}：" in reply["text"]


@pytest.mark.parametrize(("text", "item", "category"), [
    ("スプレー缶は何ごみ？", "スプレー缶", "有害ごみ"),
    ("すぷれー缶の捨て方", "スプレー缶", "有害ごみ"),          # kana spelling, through the reading
    ("ｽﾌﾟﾚｰ缶は？", "スプレー缶", "有害ごみ"),               # half-width katakana
    ("かさは何ごみですか", "傘", None),
    ("フライパンは燃えないごみ？", "フライパン", None),
    ("ダンボールの出し方", "段ボール", "古紙・布類"),
])
def test_garbage_sorting_finds_the_item(text, item, category):
    reply, slots = run(ActionGarbageSorting(), tracker(text, "garbage_sorting"))
    found = next(i for i in context.garbage().items if i.name == item)
    assert reply["text"].startswith(f"「{item}」は「{category or found.category}」です。")
    assert reply["tier"] == "answer" and slots["topic"] == f"garbage:{item}"


def test_garbage_sorting_adds_the_collection_day_when_the_district_is_known():
    reply, _ = run(ActionGarbageSorting(), tracker("スプレー缶は何ごみ？", "garbage_sorting", slots={"district": "谷津"}))
    assert "谷津の有害ごみの収集日は、毎月第1・第3水曜日です。" in reply["text"]


def test_unknown_item_falls_back_to_search():
    reply, _ = run(ActionGarbageSorting(), tracker("粗大ごみはどうやって出せばいいですか。", "garbage_sorting"))
    assert reply.get("faq_id") == "R-1"


# --- procedures and follow-ups ------------------------------------------------------------

def test_guided_procedure_answer_and_topic():
    reply, slots = run(ActionProcedure(), tracker("児童手当の申請をしたい", "start_procedure"))
    assert reply["text"].startswith("【児童手当の申請】")
    for part in ("・対象：", "・必要なもの：", "・窓口：", "・期限："):
        assert part in reply["text"]
    assert reply["link"]["url"].endswith("/kosodate/jidoteate.html")
    assert reply["links"][0]["url"].endswith("/shinsei/jidoteate")  # the online application
    assert titles(reply)[:3] == ["必要なもの", "オンライン申請", "窓口"]
    assert slots["topic"] == "procedure:jidoteate"


def test_procedure_without_a_name_asks_which_one():
    reply, slots = run(ActionProcedure(), tracker("手続きをしたい", "start_procedure"))
    assert len(reply["buttons"]) == 5 and not slots
    assert all(b["payload"].startswith("/start_procedure{") for b in reply["buttons"])


@pytest.mark.parametrize(("text", "expected"), [
    ("それはオンラインでできますか？", "罹災証明書の発行申請は、オンラインでも申請できます。"),
    ("必要なものは？", "罹災証明書の発行申請に必要なものは、次のとおりです。"),
    ("どこで手続きできますか", "罹災証明書の発行申請の窓口："),
])
def test_follow_up_resolves_against_the_topic_in_context(text, expected):
    reply, slots = run(ActionFollowUp(), tracker(text, "follow_up", slots={"topic": "procedure:risai"}))
    assert reply["text"].startswith(expected)
    assert slots["topic"] == "procedure:risai"


def test_follow_up_naming_a_new_topic_resets_it():
    reply, slots = run(ActionFollowUp(), tracker("妊娠届は必要なものは？", "follow_up", slots={"topic": "procedure:risai"}))
    assert reply["text"].startswith("妊娠の届出に必要なものは")
    assert slots["topic"] == "procedure:ninshin"


def test_follow_up_after_an_faq_answer_searches_with_that_question():
    reply, _ = run(ActionFollowUp(), tracker("どこで申し込めますか", "follow_up", slots={"topic": "faq:R-1"}))
    top = reply.get("faq_id") or reply["buttons"][0]["payload"]
    assert "R-1" in top  # answered, or first candidate: the topic's FAQ gives the context


def test_follow_up_without_any_topic_asks_which_procedure():
    reply, _ = run(ActionFollowUp(), tracker("それはオンラインでできますか？", "follow_up"))
    assert reply["text"] == context.response_text(DOMAIN, "utter_which_procedure")


# --- contact, handoff, failures ----------------------------------------------------------

def test_handoff_names_the_department_of_the_topic_with_hours_open_now():
    reply, slots = run(ActionHandoff(), tracker("担当の人と話したい", "request_human", slots={"topic": "procedure:risai"}))
    assert reply["department"] == "危機管理課" and "危機管理課" in reply["text"]
    department = context.departments().get("危機管理課")
    assert f"電話：{department.phone}" in reply["text"]
    assert "受付時間：平日 8時30分～17時15分" in reply["text"]
    assert "ただいま受付時間内です" in reply["text"]
    assert slots == {"failures": 0.0}


def test_handoff_outside_hours_says_so_and_points_online(monkeypatch):
    monkeypatch.setenv("CITYBOT_CLOCK", SUNDAY)
    reply, _ = run(ActionHandoff(), tracker("職員と話したい", "request_human", slots={"topic": "faq:R-2"}))
    assert "市民課" in reply["text"]
    assert "ただいま受付時間外です（土曜日・日曜日は閉庁日です）。次の受付開始は11月30日（月）8時30分です。" in reply["text"]
    assert "ホームページから24時間" in reply["text"]


def test_handoff_on_a_holiday_names_it(monkeypatch):
    monkeypatch.setenv("CITYBOT_CLOCK", "2026-11-23T10:00")
    reply, _ = run(ActionHandoff(), tracker("電話したい", "request_human"))
    assert "習志野市役所 代表" in reply["text"] and "祝日（勤労感謝の日）" in reply["text"]


def test_second_failure_in_a_row_hands_over_to_a_person():
    first, slots = run(ActionAnswerQuestion(), tracker("量子コンピュータの仕組み", "ask_question"))
    assert first["tier"] == "unknown" and slots == {"failures": 1.0}
    assert "職員が直接" not in first["text"]
    second, slots = run(ActionAnswerQuestion(), tracker("量子もつれとは", "ask_question", slots={"failures": 1.0}))
    assert "職員が直接お答えします" in second["text"] and "電話：000-000-0000" in second["text"]
    assert slots == {"failures": 2.0}


def test_an_answer_resets_failures_and_sets_the_topic():
    reply, slots = run(ActionAnswerQuestion(), tracker("粗大ごみはどうやって出せばいいですか。", "ask_question",
                                                       slots={"failures": 1.0}))
    assert reply["faq_id"] == "R-1" and slots == {"topic": "faq:R-1", "failures": 0.0}
    assert titles(reply) == ["役に立った", "役に立たなかった"]
    assert all(b["kind"] == "feedback" for b in reply["buttons"])


def test_none_of_these_gives_the_contact_and_is_marked_unanswered():
    reply, slots = run(ActionNoneOfThese(), tracker("/none_of_these", "none_of_these"))
    assert reply["unanswered"] is True and "000-000-0000" in reply["text"]
    assert slots == {"failures": 1.0}


# --- feedback and menu ---------------------------------------------------------------

def test_feedback_thanks_or_offers_contact():
    helpful = [{"entity": "helpful", "value": "yes"}, {"entity": "ref", "value": "faq:R-1"}]
    reply, _ = run(ActionFeedback(), tracker("/feedback", "feedback", entities=helpful))
    assert reply["text"] == context.response_text(DOMAIN, "utter_feedback_thanks") and "buttons" not in reply
    not_helpful = [{"entity": "helpful", "value": "no"}, {"entity": "ref", "value": "faq:R-1"}]
    reply, _ = run(ActionFeedback(), tracker("/feedback", "feedback", entities=not_helpful))
    assert "言葉を変えて" in reply["text"]
    assert reply["buttons"][0]["payload"] == "/request_human"


def test_menu_offers_topics_and_a_topic_lists_its_questions(tmp_path, fake_encoder, monkeypatch):
    from retrieval.faq import load_faq_paths

    normalizer = Normalizer()
    build_index(load_faq_paths([REPO / "data/faq/resident"]), tmp_path / "real" / "resident", fake_encoder, normalizer)
    real = IndexRegistry(tmp_path / "real", encoder=fake_encoder, normalizer=normalizer)
    monkeypatch.setattr(context, "registry", lambda: real)
    reply, _ = run(ActionMenu(), tracker("何ができるの？", "what_can_you_do"))
    assert "ごみ・リサイクル" in titles(reply) and len(reply["buttons"]) >= 5
    reply, _ = run(ActionChooseCategory(), tracker("/choose_category", "choose_category",
                                                   entities=[{"entity": "category", "value": "ごみ・リサイクル"}]))
    assert titles(reply)[0] == "ごみの収集日を調べる"
    assert 2 <= len(reply["buttons"]) <= 6
    for button in reply["buttons"][1:]:
        faq_id = button["payload"].split('"faq_id": "')[1].split('"')[0]
        assert real.get("resident").get(faq_id).category2 in ("ごみ・リサイクル", "粗大ごみ")
