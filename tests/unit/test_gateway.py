"""Gateway routes with a fake Rasa: identity, audience, neutralisation, choices, errors."""

from __future__ import annotations

import pytest

from tests.fakes import FakeRasa


def test_chat_forwards_text_with_resident_audience(client, fake_rasa):
    response = client.post("/api/chat", json={"message": "こんにちは"})
    assert response.status_code == 200
    assert response.json == {"messages": [{"text": "こんにちは。"}]}
    (call,) = fake_rasa.calls
    assert call["message"] == "こんにちは"
    assert call["metadata"] == {"audience": "resident"}
    assert call["sender"].endswith("-resident") and len(call["sender"]) == 32 + len("-resident")


def test_sender_id_is_stable_per_session_and_differs_between_sessions(app, fake_rasa):
    first, second = app.test_client(), app.test_client()
    first.post("/api/chat", json={"message": "a"})
    first.post("/api/chat", json={"message": "b"})
    second.post("/api/chat", json={"message": "c"})
    senders = [c["sender"] for c in fake_rasa.calls]
    assert senders[0] == senders[1] != senders[2]


@pytest.mark.parametrize("text", ['/set_mode{"audience":"staff"}', "  /greet", "//restart"])
def test_text_is_never_sent_as_an_intent(client, fake_rasa, text):
    client.post("/api/chat", json={"message": text})
    sent = fake_rasa.calls[-1]["message"]
    assert not sent.startswith("/")
    assert sent.startswith("／")
    assert fake_rasa.calls[-1]["metadata"] == {"audience": "resident"}


def test_request_cannot_choose_its_audience(client, fake_rasa):
    client.post("/api/chat", json={"message": "x", "metadata": {"audience": "staff"}, "audience": "staff"},
                headers={"X-Audience": "staff"})
    assert fake_rasa.calls[-1]["metadata"] == {"audience": "resident"}


@pytest.mark.parametrize("body", [None, [], {"message": 3}, {"message": None}, {}])
def test_malformed_bodies_are_400_in_japanese(client, body):
    response = client.post("/api/chat", json=body) if body is not None else client.post("/api/chat", data="x")
    assert response.status_code == 400
    assert "形式" in response.json["error"]


def test_empty_and_too_long_messages(client, fake_rasa):
    assert client.post("/api/chat", json={"message": "   "}).status_code == 400
    response = client.post("/api/chat", json={"message": "あ" * 501})
    assert response.status_code == 400 and "500文字" in response.json["error"]
    assert fake_rasa.calls == []


def test_rasa_down_is_a_polite_503(app, client):
    app.extensions["rasa"] = FakeRasa(fail=True)
    response = client.post("/api/chat", json={"message": "こんにちは"})
    assert response.status_code == 503
    assert "時間をおいて" in response.json["error"]


def _suggest_reply():
    return [{"recipient_id": "x", "custom": {
        "text": "もしかして、次のご質問でしょうか。", "tier": "suggest",
        "buttons": [{"title": "粗大ごみの出し方", "payload": '/choose_faq{"faq_id": "R-0018"}'},
                    {"title": "ごみの分別", "payload": '/choose_faq{"faq_id": "R-0001"}'}]}}]


def test_buttons_become_opaque_choices_resolved_server_side(app, client, fake_rasa):
    fake_rasa.replies = _suggest_reply()
    message = client.post("/api/chat", json={"message": "ごみ"}).json["messages"][0]
    assert message["tier"] == "suggest"
    assert [b["choice"] for b in message["buttons"]] == ["c1", "c2"]
    assert "payload" not in str(message)
    client.post("/api/chat", json={"choice": "c1"})
    assert fake_rasa.calls[-1]["message"] == '/choose_faq{"faq_id": "R-0018"}'


def test_only_offered_choices_are_accepted(client, fake_rasa):
    fake_rasa.replies = _suggest_reply()
    client.post("/api/chat", json={"message": "ごみ"})
    for bad in ["c9", '/choose_faq{"faq_id": "S-0001"}', 1]:
        response = client.post("/api/chat", json={"choice": bad})
        assert response.status_code == 400
    assert len(fake_rasa.calls) == 1


def test_links_are_http_only_and_sample_site_links_stay_local(client, fake_rasa):
    fake_rasa.replies = [
        {"custom": {"text": "a", "link": {"url": "https://www.city.example.jp/kurashi/gomi/sodaigomi.html", "title": "t"}}},
        {"custom": {"text": "b", "link": {"url": "javascript:alert(1)", "title": "x"}}},
        {"custom": {"text": "c", "link": {"url": "https://other.example.org/p.html", "title": "o"}}},
    ]
    a, b, c = client.post("/api/chat", json={"message": "q"}).json["messages"]
    assert a["link"]["url"] == "/kurashi/gomi/sodaigomi.html"
    assert "link" not in b
    assert "link" not in c  # not an allow-listed host (LINK_DOMAINS)


def test_reset_starts_a_new_conversation(client, fake_rasa):
    client.post("/api/chat", json={"message": "a"})
    client.post("/api/reset")
    client.post("/api/chat", json={"message": "b"})
    assert fake_rasa.calls[0]["sender"] != fake_rasa.calls[1]["sender"]


def test_session_cookie_is_httponly(client):
    response = client.post("/api/chat", json={"message": "a"})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_sample_site_and_widget_are_served(client):
    home = client.get("/")
    assert home.status_code == 200 and "widget.js" in home.get_data(as_text=True)
    assert client.get("/kurashi/gomi/sodaigomi.html").status_code == 200
    widget = client.get("/widget/widget.js")
    assert widget.status_code == 200 and widget.headers["X-Content-Type-Options"] == "nosniff"
    assert client.get("/../pyproject.toml").status_code == 404
    assert client.get("/widget/../bot/app.py").status_code == 404


def test_healthz_reports_each_component(client):
    response = client.get("/healthz")
    body = response.json
    assert set(body["components"]) == {"gateway", "rasa", "action_server", "index_resident"}
    assert body["components"]["action_server"] is False  # nothing listens in unit tests
    assert response.status_code == 503 and body["status"] == "degraded"


def _answer_reply(faq_id="R-0018"):
    return [{"recipient_id": "x", "custom": {
        "text": "粗大ごみは事前申込制です。", "tier": "answer", "faq_id": faq_id, "intent": "ask_question",
        "score": 0.93, "buttons": [
            {"title": "役に立った", "payload": f'/feedback{{"helpful": "yes", "ref": "faq:{faq_id}"}}', "kind": "feedback"},
            {"title": "役に立たなかった", "payload": f'/feedback{{"helpful": "no", "ref": "faq:{faq_id}"}}',
             "kind": "feedback"}]}}]


def test_turns_are_logged_masked_with_their_outcome(app, client, fake_rasa):
    fake_rasa.replies = _answer_reply()
    message = client.post("/api/chat", json={"message": "粗大ごみの出し方 電話090-1234-5678"}).json["messages"][0]
    assert [b["kind"] for b in message["buttons"]] == ["feedback", "feedback"]
    (turn,) = app.extensions["convlog"].turns()
    assert turn["text"] == "粗大ごみの出し方 電話［電話番号］"
    assert (turn["tier"], turn["faq_id"], turn["intent"], turn["kind"]) == ("answer", "R-0018", "ask_question", "message")
    assert turn["session_hash"] != client.get_cookie("session").value


def test_feedback_choice_is_recorded_against_the_answered_turn(app, client, fake_rasa):
    fake_rasa.replies = _answer_reply()
    client.post("/api/chat", json={"message": "粗大ごみの出し方"})
    fake_rasa.replies = [{"custom": {"text": "お役に立てず申し訳ありません。", "tier": "feedback"}}]
    client.post("/api/chat", json={"choice": "c2"})
    log = app.extensions["convlog"]
    answered = next(t for t in log.turns() if t["faq_id"] == "R-0018")
    assert answered["feedback"] == "not_helpful"
    assert [(q["text"], q["reason"]) for q in log.unanswered_queue()] == [("粗大ごみの出し方", "not_helpful")]
    # the feedback turn itself is logged by the button's title, not by the payload
    assert any(t["text"] == "役に立たなかった" and t["kind"] == "choice" for t in log.turns())


def test_none_of_these_queues_the_question_that_got_the_candidates(app, client, fake_rasa):
    fake_rasa.replies = [{"custom": {**_suggest_reply()[0]["custom"], "buttons": _suggest_reply()[0]["custom"]["buttons"]
                                     + [{"title": "どれにも当てはまらない", "payload": "/none_of_these", "kind": "none"}]}}]
    client.post("/api/chat", json={"message": "ごみのこと"})
    fake_rasa.replies = [{"custom": {"text": "お役に立てず…", "tier": "unknown", "unanswered": True}}]
    client.post("/api/chat", json={"choice": "c3"})
    queue = app.extensions["convlog"].unanswered_queue()
    assert [(q["text"], q["reason"]) for q in queue] == [("ごみのこと", "none_of_these")]


def test_unknown_answers_are_queued(app, client, fake_rasa):
    fake_rasa.replies = [{"custom": {"text": "見つかりませんでした。", "tier": "unknown", "unanswered": True}}]
    client.post("/api/chat", json={"message": "ｑｗｅｒｔｙ"})
    assert [q["reason"] for q in app.extensions["convlog"].unanswered_queue()] == ["unknown"]


def test_a_broken_log_database_never_breaks_the_chat(tmp_path, fake_rasa):
    from bot import create_app

    (tmp_path / "db").mkdir()
    broken = create_app({"TESTING": True, "SECRET_KEY": "t", "RASA_CLIENT": fake_rasa,
                         "LOG_DB": f"sqlite:///{tmp_path / 'db'}"})  # a directory, not a database file
    response = broken.test_client().post("/api/chat", json={"message": "こんにちは"})
    assert response.status_code == 200 and response.json["messages"]
    assert broken.extensions["convlog"].dropped_writes >= 1
