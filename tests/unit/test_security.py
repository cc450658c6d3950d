"""Gateway hardening: security headers (CSP), CORS and the Origin check, the session cookie,
body/message size limits, rate limits, the link allow-list, intent neutralisation and
audience-bound choice ids."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from bot import accounts
from bot.chat import ERROR_TOO_LONG, ERROR_UNKNOWN_CHOICE
from bot.security import ERROR_ORIGIN, ERROR_RATE_LIMITED, ERROR_TOO_LARGE
from tests.fakes import FakeRasa

HOMEPAGE = "https://www.city.example.jp"
EVIL = "https://evil.example"
PASSWORD = "correct-horse-battery"


def make_app(tmp_path: Path, rasa: FakeRasa | None = None, **overrides):
    from bot import create_app

    config = {"TESTING": True, "SECRET_KEY": "t", "RASA_CLIENT": rasa or FakeRasa(),
              "INDEX_ROOT": str(tmp_path / "index"), "ACTION_SERVER_URL": "http://127.0.0.1:9",
              "LOG_DB": f"sqlite:///{tmp_path / 'log.sqlite'}",
              "STAFF_DB": f"sqlite:///{tmp_path / 'staff.sqlite'}"}
    config.update(overrides)
    return create_app(config)


@pytest.fixture
def rasa():
    return FakeRasa()


@pytest.fixture
def app(tmp_path, rasa):
    return make_app(tmp_path, rasa, HOMEPAGE_ORIGINS=HOMEPAGE)


@pytest.fixture
def client(app):
    return app.test_client()


def csp(response) -> dict[str, list[str]]:
    header = response.headers.get("Content-Security-Policy")
    assert header, f"no CSP on {response.request.path}"
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


def staff_login(app, client) -> str:
    """Logs a staff member in (cheap Argon2 parameters) and returns the chat page's CSRF token."""
    accounts_store = app.extensions["staff"]
    accounts_store.add("tanaka", PASSWORD)
    page = client.get("/staff/").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = client.post("/staff/login", data={"csrf_token": token, "username": "tanaka", "password": PASSWORD})
    assert response.status_code == 302
    return re.search(r'data-csrf-token="([^"]+)"', client.get("/staff/").get_data(as_text=True)).group(1)


@pytest.fixture(autouse=True)
def fast_argon2(monkeypatch):
    monkeypatch.setattr(accounts, "_HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


# --- headers -----------------------------------------------------------------------------------

@pytest.mark.parametrize("method,path", [("get", "/"), ("post", "/api/chat"), ("get", "/staff/"),
                                         ("get", "/widget/widget.js"), ("get", "/no-such-page.html")])
def test_security_headers_everywhere(client, method, path):
    response = getattr(client, method)(path, json={"message": "こんにちは"} if method == "post" else None)
    policy = csp(response)
    header = response.headers["Content-Security-Policy"]
    assert policy["default-src"] == ["'self'"]
    assert "'unsafe-inline'" not in header and "'unsafe-eval'" not in header
    assert policy["frame-ancestors"] == ["'self'", HOMEPAGE]
    assert policy["object-src"] == ["'none'"]
    assert "*" not in header.split()
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


def test_frame_ancestors_without_homepage_origins_is_self_only(tmp_path, rasa):
    response = make_app(tmp_path, rasa).test_client().get("/staff/")
    assert csp(response)["frame-ancestors"] == ["'self'"]


def test_error_responses_carry_the_headers_too(client):
    response = client.post("/api/chat", json={"message": "x"}, headers={"Origin": EVIL})
    assert response.status_code == 403
    assert csp(response)["default-src"] == ["'self'"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_staff_pages_have_no_inline_script_or_style(app, client):
    """The CSP forbids inline code, so the pages must not need any."""
    pages = [client.get("/staff/").get_data(as_text=True)]
    staff_login(app, client)
    pages.append(client.get("/staff/").get_data(as_text=True))
    for html in pages:
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
        assert "<style" not in html and " style=" not in html and " onclick=" not in html


# --- CORS and the Origin check -------------------------------------------------------------------

def test_cors_allows_the_homepage_origin(client, rasa):
    preflight = client.options("/api/chat", headers={"Origin": HOMEPAGE, "Access-Control-Request-Method": "POST",
                                                     "Access-Control-Request-Headers": "Content-Type"})
    assert preflight.headers["Access-Control-Allow-Origin"] == HOMEPAGE
    assert preflight.headers["Access-Control-Allow-Credentials"] == "true"
    response = client.post("/api/chat", json={"message": "こんにちは"}, headers={"Origin": HOMEPAGE})
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == HOMEPAGE
    assert response.headers["Access-Control-Allow-Credentials"] == "true"
    assert rasa.calls[-1]["metadata"] == {"audience": "resident"}


def test_cors_and_posts_from_other_origins_are_refused(client, rasa):
    preflight = client.options("/api/chat", headers={"Origin": EVIL, "Access-Control-Request-Method": "POST"})
    assert "Access-Control-Allow-Origin" not in preflight.headers
    for headers in ({"Origin": EVIL}, {"Origin": "null"}, {"Origin": HOMEPAGE + ".evil.example"},
                    {"Origin": "http://www.city.example.jp"}, {"Referer": EVIL + "/page.html"}):
        response = client.post("/api/chat", json={"message": "こんにちは"}, headers=headers)
        assert response.status_code == 403, headers
        assert response.json == {"error": ERROR_ORIGIN}
        if "Origin" in headers:  # (without an Origin header a response is not read as CORS at all)
            assert "Access-Control-Allow-Origin" not in response.headers
    response = client.post("/api/reset", headers={"Origin": EVIL})
    assert response.status_code == 403
    assert rasa.calls == []


@pytest.mark.parametrize("headers", [{}, {"Origin": "http://localhost"}, {"Referer": "http://localhost/kurashi/"},
                                     {"Origin": HOMEPAGE + "/"}])
def test_same_origin_and_no_origin_are_allowed(client, rasa, headers):
    response = client.post("/api/chat", json={"message": "こんにちは"}, headers=headers)
    assert response.status_code == 200
    assert len(rasa.calls) == 1


def test_homepage_origin_is_refused_when_not_configured(tmp_path, rasa):
    client = make_app(tmp_path, rasa).test_client()
    response = client.post("/api/chat", json={"message": "こんにちは"}, headers={"Origin": HOMEPAGE})
    assert response.status_code == 403 and "Access-Control-Allow-Origin" not in response.headers


def test_staff_api_is_not_cross_origin(app, client):
    token = staff_login(app, client)
    preflight = client.options("/staff/api/chat", headers={"Origin": HOMEPAGE, "Access-Control-Request-Method": "POST"})
    assert "Access-Control-Allow-Origin" not in preflight.headers
    response = client.post("/staff/api/chat", json={"message": "x"}, headers={"Origin": HOMEPAGE, "X-CSRFToken": token})
    assert "Access-Control-Allow-Origin" not in response.headers


# --- the session cookie ------------------------------------------------------------------------

def session_cookie(response) -> str:
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    assert cookies, "no session cookie set"
    return cookies[0]


def test_session_cookie_flags_on_http(client):
    cookie = session_cookie(client.post("/api/chat", json={"message": "こんにちは"}))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie


def test_session_cookie_is_secure_on_https(client):
    cookie = session_cookie(client.post("/api/chat", json={"message": "こんにちは"}, base_url="https://localhost"))
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_session_cookie_is_secure_behind_a_trusted_tls_proxy(tmp_path, rasa):
    client = make_app(tmp_path, rasa, TRUSTED_PROXIES=1).test_client()
    response = client.post("/api/chat", json={"message": "こんにちは"},
                           headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"})
    assert response.status_code == 200
    assert "Secure" in session_cookie(response)


def test_forwarded_proto_is_ignored_without_trusted_proxies(client):
    response = client.post("/api/chat", json={"message": "こんにちは"}, headers={"X-Forwarded-Proto": "https"})
    assert "Secure" not in session_cookie(response)


def test_session_cookie_secure_setting_forces_secure(tmp_path, rasa):
    client = make_app(tmp_path, rasa, SESSION_COOKIE_SECURE=True).test_client()
    assert "Secure" in session_cookie(client.post("/api/chat", json={"message": "こんにちは"}))


# --- size and rate limits ------------------------------------------------------------------------

def test_oversized_bodies_are_413_in_japanese(client, rasa):
    body = '{"message": "' + "あ" * 6000 + '"}'  # 18 KB of UTF-8
    response = client.post("/api/chat", data=body.encode(), content_type="application/json")
    assert response.status_code == 413
    assert response.json == {"error": ERROR_TOO_LARGE}
    response = client.post("/staff/login", data={"username": "x", "password": "y" * 20000})
    assert response.status_code == 413 and response.json == {"error": ERROR_TOO_LARGE}
    assert rasa.calls == []


def test_messages_longer_than_the_setting_are_400(tmp_path, rasa):
    client = make_app(tmp_path, rasa, MAX_MESSAGE_CHARS=10).test_client()
    assert client.post("/api/chat", json={"message": "あ" * 10}).status_code == 200
    response = client.post("/api/chat", json={"message": "あ" * 11})
    assert response.status_code == 400
    assert response.json == {"error": ERROR_TOO_LONG.format(limit=10)}
    assert "10文字以内" in response.json["error"]
    assert len(rasa.calls) == 1


def test_rate_limit_per_session(tmp_path, rasa):
    app = make_app(tmp_path, rasa, RATE_LIMIT_SESSION="3 per minute")
    first = app.test_client()
    statuses = [first.post("/api/chat", json={"message": f"質問{i}"}).status_code for i in range(4)]
    assert statuses == [200, 200, 200, 429]
    response = first.post("/api/chat", json={"message": "もう一度"})
    assert response.status_code == 429 and response.json == {"error": ERROR_RATE_LIMITED}
    assert len(rasa.calls) == 3
    # another conversation from the same address is not affected
    assert app.test_client().post("/api/chat", json={"message": "こんにちは"}).status_code == 200


def test_new_conversations_from_one_address_do_not_share_the_session_limit(tmp_path, rasa):
    """Many residents behind one carrier NAT each start a conversation: only the (generous) per-IP
    limit applies to them together, not the per-conversation one."""
    app = make_app(tmp_path, rasa, RATE_LIMIT_SESSION="2 per minute")
    statuses = [app.test_client().post("/api/chat", json={"message": "こんにちは"}).status_code for _ in range(5)]
    assert statuses == [200] * 5


def test_rate_limit_per_address_across_sessions(tmp_path, rasa):
    app = make_app(tmp_path, rasa, RATE_LIMIT_IP="5 per minute")
    statuses = [app.test_client().post("/api/chat", json={"message": "こんにちは"}).status_code for _ in range(6)]
    assert statuses == [200] * 5 + [429]
    response = app.test_client().post("/api/chat", json={"message": "こんにちは"})
    assert response.status_code == 429 and response.json == {"error": ERROR_RATE_LIMITED}
    other = app.test_client().post("/api/chat", json={"message": "こんにちは"},
                                   environ_base={"REMOTE_ADDR": "198.51.100.4"})
    assert other.status_code == 200
    assert len(rasa.calls) == 6


def test_rate_limit_per_address_uses_the_forwarded_address_only_behind_trusted_proxies(tmp_path, rasa):
    app = make_app(tmp_path, rasa, RATE_LIMIT_IP="2 per minute")
    spoofed = [app.test_client().post("/api/chat", json={"message": "x"},
                                      headers={"X-Forwarded-For": f"198.51.100.{i}"}).status_code for i in range(3)]
    assert spoofed == [200, 200, 429]  # X-Forwarded-For is not trusted by default


# --- links -------------------------------------------------------------------------------------

LINKS_REPLY = [{"recipient_id": "x", "custom": {
    "text": "こちらをご覧ください。", "tier": "answer",
    "link": {"url": "https://intra.city.example.jp/jinji/kyuka.html", "title": "休暇（庁内）"},
    "links": [{"url": "https://evil.example/phish.html", "title": "偽"},
              {"url": "https://www.city.example.jp.evil.example/x.html", "title": "偽2"},
              {"url": "https://www.city.example.jp/kurashi/gomi/sodaigomi.html", "title": "粗大ごみ"}]}},
    {"recipient_id": "x", "custom": {"text": "b", "link": {"url": "https://intra.city.example.jp@evil.example/",
                                                           "title": "x"}}},
    {"recipient_id": "x", "custom": {"text": "c", "link": {"url": "https://other-city.example.jp/a.html",
                                                           "title": "allowed"}}}]


def all_urls(messages) -> list[str]:
    return [lk["url"] for m in messages for lk in [m.get("link"), *m.get("links", [])] if lk]


def test_resident_answers_only_link_to_allowed_hosts(tmp_path, rasa):
    rasa.replies = LINKS_REPLY
    app = make_app(tmp_path, rasa, LINK_DOMAINS="www.city.example.jp, other-city.example.jp")
    messages = app.test_client().post("/api/chat", json={"message": "休暇"}).json["messages"]
    assert all_urls(messages) == ["/kurashi/gomi/sodaigomi.html", "https://other-city.example.jp/a.html"]
    assert "intra.city.example.jp" not in str(messages) and "evil.example" not in str(messages)


def test_staff_answers_keep_internal_links(tmp_path, rasa):
    rasa.replies = LINKS_REPLY
    app = make_app(tmp_path, rasa)
    client = app.test_client()
    token = staff_login(app, client)
    response = client.post("/staff/api/chat", json={"message": "休暇"}, headers={"X-CSRFToken": token})
    messages = response.json["messages"]
    assert all_urls(messages)[0] == "https://intra.city.example.jp/jinji/kyuka.html"
    assert "evil.example" not in str(messages)
    assert "https://other-city.example.jp/a.html" not in all_urls(messages)  # not in LINK_DOMAINS here


# --- intent neutralisation and choice ids ----------------------------------------------------

@pytest.mark.parametrize("text,sent", [
    ('/set_mode{"audience":"staff"}', '／set_mode{"audience":"staff"}'),
    ('／set_mode{"audience":"staff"}', '／set_mode{"audience":"staff"}'),
    ('\u3000/set_mode{"audience":"staff"}', '／set_mode{"audience":"staff"}'),
    ("\t\n/restart", "／restart"),
    ("///session_start", "／session_start"),
])
def test_slash_commands_are_neutralised(client, rasa, text, sent):
    assert client.post("/api/chat", json={"message": text}).status_code == 200
    call = rasa.calls[-1]
    assert call["message"] == sent and not call["message"].startswith("/")
    assert call["metadata"] == {"audience": "resident"}


def test_staff_text_is_neutralised_too(app, client, rasa):
    token = staff_login(app, client)
    client.post("/staff/api/chat", json={"message": '/set_mode{"audience":"resident"}'}, headers={"X-CSRFToken": token})
    assert rasa.calls[-1]["message"].startswith("／")


def buttons(prefix: str) -> list[dict]:
    return [{"recipient_id": "x", "custom": {"text": "どれですか。", "tier": "suggest", "buttons": [
        {"title": f"{prefix} 1", "payload": f'/choose_faq{{"faq_id": "{prefix}-0001"}}'},
        {"title": f"{prefix} 2", "payload": f'/choose_faq{{"faq_id": "{prefix}-0002"}}'}]}}]


def test_choice_ids_are_bound_to_their_audience(app, client, rasa):
    token = staff_login(app, client)
    rasa.replies = buttons("S")
    staff = client.post("/staff/api/chat", json={"message": "休暇"}, headers={"X-CSRFToken": token})
    assert [b["choice"] for b in staff.json["messages"][0]["buttons"]] == ["c1", "c2"]
    # a staff choice id is not valid in the resident API
    response = client.post("/api/chat", json={"choice": "c1"})
    assert response.status_code == 400 and response.json == {"error": ERROR_UNKNOWN_CHOICE}
    assert len(rasa.calls) == 1
    # the resident conversation gets its own c1, which resolves to the resident payload only
    rasa.replies = buttons("R")
    client.post("/api/chat", json={"message": "ごみ"})
    client.post("/api/chat", json={"choice": "c1"})
    assert rasa.calls[-1]["message"] == '/choose_faq{"faq_id": "R-0001"}'
    assert rasa.calls[-1]["metadata"] == {"audience": "resident"}
    client.post("/staff/api/chat", json={"choice": "c2"}, headers={"X-CSRFToken": token})
    assert rasa.calls[-1]["message"] == '/choose_faq{"faq_id": "S-0002"}'
    assert rasa.calls[-1]["metadata"] == {"audience": "staff"}


def test_resident_choice_ids_are_not_valid_in_the_staff_api(app, client, rasa):
    token = staff_login(app, client)
    rasa.replies = buttons("R")
    client.post("/api/chat", json={"message": "ごみ"})
    response = client.post("/staff/api/chat", json={"choice": "c1"}, headers={"X-CSRFToken": token})
    assert response.status_code == 400 and response.json == {"error": ERROR_UNKNOWN_CHOICE}
    assert len(rasa.calls) == 1


def test_staff_reset_forgets_only_staff_choices(app, client, rasa):
    token = staff_login(app, client)
    rasa.replies = buttons("S")
    client.post("/staff/api/chat", json={"message": "休暇"}, headers={"X-CSRFToken": token})
    rasa.replies = buttons("R")
    client.post("/api/chat", json={"message": "ごみ"})
    assert client.post("/staff/api/reset", headers={"X-CSRFToken": token}).json == {"ok": True}
    assert client.post("/staff/api/chat", json={"choice": "c1"}, headers={"X-CSRFToken": token}).status_code == 400
    assert client.post("/api/chat", json={"choice": "c1"}).status_code == 200
