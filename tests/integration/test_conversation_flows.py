"""Every conversation flow through ``POST /api/chat`` with the real Rasa and action
server: garbage-day form, garbage sorting, guided procedures with follow-ups, contact
with office hours, もしかして and 「どれにも当てはまらない」, feedback, menu, small talk —
and what the conversation log holds afterwards (masked text, feedback, unanswered)."""

from __future__ import annotations

import sqlite3

import pytest
import yaml

from bot.settings import REPO_ROOT
from retrieval.departments import DepartmentDirectory
from retrieval.garbage import GarbageGuide, describe_days
from retrieval.procedures import ProcedureCatalogue

pytestmark = pytest.mark.integration

GARBAGE = GarbageGuide.load(REPO_ROOT / "data/faq/garbage")
PROCEDURES = ProcedureCatalogue.load(REPO_ROOT / "data/faq/procedures.yml")
DEPARTMENTS = DepartmentDirectory.load(REPO_ROOT / "data/faq/departments.csv")
RESPONSES = yaml.safe_load((REPO_ROOT / "domain.yml").read_text(encoding="utf-8"))["responses"]


def text(name: str) -> str:
    variant = RESPONSES[name][0]
    return variant.get("text") or variant["custom"]["text"]


def rows(live_stack, sql: str, *args) -> list[tuple]:
    with sqlite3.connect(live_stack.log_db) as db:
        return db.execute(sql, args).fetchall()


def only(messages: list[dict]) -> dict:
    assert len(messages) == 1, messages
    return messages[0]


def choice(message: dict, title: str) -> str:
    return next(b["choice"] for b in message["buttons"] if b["title"] == title)


# --- garbage ---------------------------------------------------------------------

def test_garbage_day_form_asks_for_the_district_then_answers(live_stack):
    session = live_stack.session()
    ask = only(live_stack.chat(session, "燃えるごみは何曜日？"))
    assert ask["text"] == text("utter_ask_district")
    answer = only(live_stack.chat(session, "谷津です"))
    days = describe_days(GARBAGE.district("谷津").days["可燃ごみ"])
    assert answer["text"].startswith(f"谷津の可燃ごみの収集日は、{days}です。")
    assert answer["tier"] == "answer" and answer["link"]["url"] == "/kurashi/gomi/shushubi.html"
    # the district is remembered: another category needs no question back
    again = only(live_stack.chat(session, "不燃ごみは？"))
    assert again["text"].startswith(f"谷津の不燃ごみの収集日は、{describe_days(GARBAGE.district('谷津').days['不燃ごみ'])}です。")


def test_garbage_day_with_the_district_in_the_question(live_stack):
    answer = only(live_stack.chat(live_stack.session(), "津田沼のペットボトルの日はいつですか"))
    days = describe_days(GARBAGE.district("津田沼").days["ペットボトル"])
    assert answer["text"].startswith(f"津田沼のペットボトルの収集日は、{days}です。")


def test_unknown_district_is_asked_again_and_the_form_can_be_left(live_stack):
    session = live_stack.session()
    only(live_stack.chat(session, "資源ごみの収集日を教えて"))
    retry = live_stack.chat(session, "幕張です")
    assert retry[0]["text"] == text("utter_district_unknown")
    assert retry[-1]["text"] == text("utter_ask_district")
    stop = only(live_stack.chat(session, "やっぱりやめます"))
    assert stop["text"] == text("utter_stop")
    # the form is gone: an ordinary question is answered by search
    answer = only(live_stack.chat(session, "粗大ごみはどうやって出せばいいですか"))
    assert answer["tier"] == "answer"


@pytest.mark.parametrize(("query", "item"), [("スプレー缶は何ごみ？", "スプレー缶"), ("かさは何ごみですか", "傘"),
                                             ("フライパンの捨て方を教えて", "フライパン")])
def test_garbage_sorting_answers_from_the_item_dictionary(live_stack, query, item):
    answer = only(live_stack.chat(live_stack.session(), query))
    found = next(i for i in GARBAGE.items if i.name == item)
    assert answer["text"].startswith(f"「{found.name}」は「{found.category}」です。"), answer
    assert answer["link"]["url"] == "/kurashi/gomi/bunbetsu.html"


# --- guided procedures and follow-ups ------------------------------------------------------

def test_guided_procedure_and_follow_ups_in_context(live_stack):
    session = live_stack.session()
    risai = PROCEDURES.get("risai")
    guided = only(live_stack.chat(session, "罹災証明書の発行を申請したい"))
    assert guided["text"].startswith(f"【{risai.name}】")
    assert risai.where in guided["text"]
    assert guided["link"]["url"] == risai.url.removeprefix("https://www.city.example.jp")
    online = only(live_stack.chat(session, "それはオンラインでできますか？"))
    assert online["text"].startswith(risai.name) and "オンライン" in online["text"]
    bring = only(live_stack.chat(session, "必要なものは？"))
    assert all(item in bring["text"] for item in risai.bring)
    # a button offered with the guided answer works the same way
    guided = only(live_stack.chat(session, "児童手当の申請をしたい"))
    where = only(live_stack.chat(session, choice=choice(guided, "窓口")))
    assert where["text"] == f"{PROCEDURES.get('jidoteate').name}の窓口：{PROCEDURES.get('jidoteate').where}"


def test_handoff_names_the_department_of_the_topic_with_office_hours(live_stack):
    session = live_stack.session()
    only(live_stack.chat(session, "介護認定を受けたいです"))
    handoff = only(live_stack.chat(session, "担当の人と話したい"))
    department = DEPARTMENTS.get(PROCEDURES.get("kaigo").department)
    assert department.name in handoff["text"] and f"電話：{department.phone}" in handoff["text"]
    assert "ただいま受付時間内です" in handoff["text"]  # the stack's clock is a Tuesday, 10:00 in Tokyo


# --- もしかして, feedback, unanswered queue ---------------------------------------------------

def test_none_of_these_gives_contact_and_queues_the_question(live_stack):
    session = live_stack.session()
    suggest = only(live_stack.chat(session, "ごみ"))
    assert suggest["tier"] == "suggest"
    assert suggest["buttons"][-1] == {"title": "どれにも当てはまらない", "choice": suggest["buttons"][-1]["choice"],
                                      "kind": "none"}
    reply = only(live_stack.chat(session, choice=suggest["buttons"][-1]["choice"]))
    assert reply["text"].startswith(text("utter_none_of_these")) and "000-000-0000" in reply["text"]
    queued = rows(live_stack, "SELECT text, reason FROM unanswered WHERE reason = 'none_of_these'")
    assert ("ごみ", "none_of_these") in queued


def test_feedback_is_recorded_against_the_answer(live_stack):
    session = live_stack.session()
    answer = only(live_stack.chat(session, "住民票の写しはコンビニで取れますか"))
    assert answer["tier"] == "answer"
    assert [b["title"] for b in answer["buttons"]] == ["役に立った", "役に立たなかった"]
    thanks = only(live_stack.chat(session, choice=choice(answer, "役に立った")))
    assert thanks["text"] == text("utter_feedback_thanks")
    (feedback,) = rows(live_stack, "SELECT feedback FROM turns WHERE faq_id = ? AND text = ?",
                       answer["faq_id"], "住民票の写しはコンビニで取れますか")
    assert feedback == ("helpful",)

    answer = only(live_stack.chat(session, "図書館の本を返すのはどこですか"))
    sorry = only(live_stack.chat(session, choice=choice(answer, "役に立たなかった")))
    assert sorry["text"] == text("utter_feedback_sorry")
    contact = only(live_stack.chat(session, choice=sorry["buttons"][0]["choice"]))
    assert contact["tier"] == "handoff" and "電話：" in contact["text"]
    assert ("図書館の本を返すのはどこですか", "not_helpful") in rows(live_stack, "SELECT text, reason FROM unanswered")


def test_unknown_questions_are_queued_and_the_second_failure_hands_over(live_stack):
    session = live_stack.session()
    first = only(live_stack.chat(session, "ｑｗｅｒｔｙ"))  # keyboard noise
    assert first["tier"] == "unknown" and "職員が直接" not in first["text"]
    second = only(live_stack.chat(session, "縺ゅ＞縺"))  # mojibake pasted from a broken page
    assert second["tier"] == "unknown"
    assert "職員が直接お答えします" in second["text"] and "電話：000-000-0000" in second["text"]
    queued = {row[0] for row in rows(live_stack, "SELECT text FROM unanswered WHERE reason = 'unknown'")}
    assert {"ｑｗｅｒｔｙ", "縺ゅ＞縺"} <= queued


def test_personal_data_is_masked_before_it_is_logged(live_stack):
    session = live_stack.session()
    live_stack.chat(session, "山田太郎と申します。電話は090-1234-5678、マイナンバーは1234 5678 9012です。住民票を取りたい")
    stored = " ".join(row[0] for row in rows(live_stack, "SELECT text FROM turns"))
    for raw in ("090-1234-5678", "1234 5678 9012", "山田太郎"):
        assert raw not in stored
    assert "［電話番号］" in stored and "［マイナンバー］" in stored
    assert b"090-1234-5678" not in live_stack.log_db.read_bytes()


# --- menu and small talk ---------------------------------------------------------------

def test_menu_topic_and_question(live_stack):
    session = live_stack.session()
    menu = only(live_stack.chat(session, "何ができますか？"))
    assert "子育て" in [b["title"] for b in menu["buttons"]]
    topic = only(live_stack.chat(session, choice=choice(menu, "子育て")))
    first = topic["buttons"][0]
    answer = only(live_stack.chat(session, choice=first["choice"]))
    assert answer["tier"] == "answer"


def test_bot_challenge_and_abuse(live_stack):
    session = live_stack.session()
    assert only(live_stack.chat(session, "あなたは人間ですか？"))["text"] == text("utter_iamabot")
    calm = only(live_stack.chat(session, "このポンコツ"))
    assert "ポンコツ" not in calm["text"]  # never echoed
    assert calm["text"] in (text("utter_abuse"), text("utter_unknown"), text("utter_out_of_scope"))
