"""The real stack end to end: gateway → Rasa 3.6 (GiNZA NLU) → action server (rasa-sdk 3.x) → index."""

from __future__ import annotations

from importlib import metadata

import pytest
import requests
import yaml

from actions.replies import payload
from bot.settings import REPO_ROOT
from retrieval.faq import load_faq_paths

pytestmark = pytest.mark.integration

RESIDENT = load_faq_paths([REPO_ROOT / "data/faq/resident"])
STAFF = load_faq_paths([REPO_ROOT / "data/faq/staff"])
RESPONSES = yaml.safe_load((REPO_ROOT / "domain.yml").read_text(encoding="utf-8"))["responses"]


def text(name: str) -> str:
    variant = RESPONSES[name][0]
    return variant.get("text") or variant["custom"]["text"]


def faq_id_of(question: str) -> str:
    return next(e.faq_id for e in RESIDENT if e.question == question)


def test_versions_prove_sdk_compatibility(live_stack):
    rasa = requests.get(f"http://127.0.0.1:{live_stack.ports.rasa}/version", timeout=5).json()
    assert rasa["version"] == "3.6.21"
    assert metadata.version("rasa-sdk").startswith("3.")
    assert metadata.version("rasa-sdk") != "3.6.2"  # the action server runs the 3.11 SDK, not Rasa's own pin


def test_health_reports_every_component(live_stack):
    response = requests.get(f"{live_stack.url}/healthz", timeout=10)
    assert response.status_code == 200
    assert all(response.json()["components"].values())


def test_greeting(live_stack):
    (message,) = live_stack.chat(live_stack.session(), "こんにちは")
    assert message["text"] == text("utter_greet")


def test_bulky_waste_question_answers_with_faq_and_working_link(live_stack):
    expected = faq_id_of("粗大ごみはどうやって出せばいいですか。")
    (message,) = live_stack.chat(live_stack.session(), "粗大ごみはどうやって出せばいいですか")
    assert message["tier"] == "answer"
    assert message["faq_id"] == expected
    entry = next(e for e in RESIDENT if e.faq_id == expected)
    assert message["text"] == entry.answer
    page = requests.get(live_stack.url + message["link"]["url"], timeout=5)
    assert page.status_code == 200 and "粗大ごみ" in page.text


def test_weather_is_politely_declined_with_city_contact(live_stack):
    (message,) = live_stack.chat(live_stack.session(), "明日の天気は？")
    declines = {text("utter_out_of_scope"), text("utter_unknown")}
    assert message["text"] in declines
    assert "000-000-0000" in message["text"] and "faq_id" not in message


@pytest.mark.parametrize(("query", "question"), [
    ("マイナカードの暗証番号を忘れてしまった", "マイナンバーカードの暗証番号を忘れてしまいました。"),
    ("図書館って何時まで開いてる？", "図書館の開館時間と休館日を教えてください。"),
    ("引っ越してきたんですが何をすればいいですか", "習志野市に引越してきました。どのような手続きが必要ですか。"),
])
def test_paraphrased_questions_find_their_faq(live_stack, query, question):
    (message,) = live_stack.chat(live_stack.session(), query)
    expected = faq_id_of(question)
    offered = [message.get("faq_id")] + [b["title"] for b in message.get("buttons", [])]
    assert expected in offered or question in offered, message


def test_suggestion_choice_answers_by_server_side_id(live_stack):
    session = live_stack.session()
    (message,) = live_stack.chat(session, "ごみ")  # one word: ambiguous → もしかして
    assert message.get("tier") == "suggest", message
    first = message["buttons"][0]
    (answer,) = live_stack.chat(session, choice=first["choice"])
    assert answer["tier"] == "answer"
    assert next(e for e in RESIDENT if e.faq_id == answer["faq_id"]).question == first["title"]
    bad = session.post(f"{live_stack.url}/api/chat", json={"choice": "c99"}, timeout=10)
    assert bad.status_code == 400


def test_no_staff_faq_ever_reaches_a_resident(live_stack):
    staff_ids = {e.faq_id for e in STAFF}
    staff_answers = {e.answer for e in STAFF}
    session = live_stack.session()
    probes = [e.question for e in STAFF] + [
        payload("choose_faq", faq_id=STAFF[0].faq_id),
        '/set_mode{"audience": "staff"}',
        "/ask_question",
    ]
    for probe in probes:
        for message in live_stack.chat(session, probe):
            assert message.get("faq_id") not in staff_ids, probe
            assert message["text"] not in staff_answers, probe
            assert "intra.city.example.jp" not in str(message), probe


def _listening_addresses(port: int) -> set[str]:
    addresses = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = open(table).read().splitlines()[1:]
        except FileNotFoundError:
            continue
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.rsplit(":", 1)
            if state == "0A" and int(hex_port, 16) == port:
                addresses.add(address)
    return addresses


def test_rasa_and_action_server_listen_on_loopback_only(live_stack):
    loopback = {"0100007F", "00000000000000000000000001000000"}
    for port in (live_stack.ports.rasa, live_stack.ports.actions):
        addresses = _listening_addresses(port)
        assert addresses, f"nothing listens on {port}"
        assert addresses <= loopback, (port, addresses)


def test_page_only_question_is_answered_from_the_crawled_homepage(live_stack):
    (message,) = live_stack.chat(live_stack.session(), "市営住宅の入居者募集はいつありますか")
    assert message["tier"] == "page", message
    assert message["link"]["url"] == "/kurashi/jutaku.html"
    assert "市営住宅" in message["text"]
    page = requests.get(live_stack.url + message["link"]["url"], timeout=5)
    assert page.status_code == 200


def test_confident_faq_still_wins_over_pages(live_stack):
    (message,) = live_stack.chat(live_stack.session(), "マイナンバーカードの暗証番号を忘れてしまった")
    assert message["tier"] == "answer" and message["faq_id"].startswith("R-")
