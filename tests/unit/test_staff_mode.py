"""Staff mode: login/logout, CSRF, session fixation, audience isolation, idle expiry,
disabled accounts, the network allow-list, login rate limits, the audit log, roles,
the account store (Argon2id) and the ``citybot staff`` CLI."""

from __future__ import annotations

import re
import time
import types
from datetime import UTC
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from click.testing import CliRunner
from flask import Blueprint, Flask, jsonify
from flask.sessions import SecureCookieSessionInterface
from sqlalchemy import text

from bot import accounts
from bot import staff as staff_module
from bot.accounts import AccountError, StaffStore
from bot.security import ERROR_CSRF, ERROR_RATE_LIMITED
from bot.staff import ERROR_EXPIRED, ERROR_FORBIDDEN, ERROR_LOGIN, ERROR_NETWORK, login_required
from tests.fakes import FakeRasa

PASSWORD = "correct-horse-battery"
ADMIN_PASSWORD = "admin-password-0123"
CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')
CSRF_DATA = re.compile(r'data-csrf-token="([^"]+)"')


def make_app(tmp_path: Path, rasa: FakeRasa | None = None, **overrides):
    from bot import create_app

    config = {"TESTING": True, "SECRET_KEY": "t", "RASA_CLIENT": rasa or FakeRasa(),
              "INDEX_ROOT": str(tmp_path / "index"), "ACTION_SERVER_URL": "http://127.0.0.1:9",
              "LOG_DB": f"sqlite:///{tmp_path / 'log.sqlite'}",
              "STAFF_DB": f"sqlite:///{tmp_path / 'staff.sqlite'}"}
    config.update(overrides)
    app = create_app(config)
    assert app.config.get("WTF_CSRF_ENABLED", True) is not False  # these tests need CSRF on
    app.extensions["staff"].add("tanaka", PASSWORD, "staff")
    app.extensions["staff"].add("sato", ADMIN_PASSWORD, "admin")
    return app


@pytest.fixture
def fast_argon2(monkeypatch):
    """Argon2id with small parameters for the HTTP tests (the account tests keep the real ones)."""
    monkeypatch.setattr(accounts, "_HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture
def rasa(fast_argon2):
    return FakeRasa()


@pytest.fixture
def app(tmp_path, rasa):
    return make_app(tmp_path, rasa)


@pytest.fixture
def client(app):
    return app.test_client()


def form_token(response) -> str:
    match = CSRF_INPUT.search(response.get_data(as_text=True))
    assert match, "no csrf_token hidden input"
    return match.group(1)


def post_login(client, username="tanaka", password=PASSWORD, **kwargs):
    token = form_token(client.get("/staff/", **kwargs))
    return client.post("/staff/login", data={"csrf_token": token, "username": username, "password": password},
                       **kwargs)


def login(client, username="tanaka", password=PASSWORD, **kwargs) -> str:
    """Logs in and returns the staff chat page's CSRF token (for the X-CSRFToken header)."""
    response = post_login(client, username, password, **kwargs)
    assert response.status_code == 302, response.get_data(as_text=True)
    page = client.get("/staff/", **kwargs)
    match = CSRF_DATA.search(page.get_data(as_text=True))
    assert match, "staff chat page without data-csrf-token"
    return match.group(1)


def staff_chat(client, token, body=None, **kwargs):
    return client.post("/staff/api/chat", json=body or {"message": "VPNの申請方法"},
                       headers={"X-CSRFToken": token}, **kwargs)


def actions(app) -> list[str]:
    return [e["action"] for e in app.extensions["staff"].audit_entries()]


# --- login ---------------------------------------------------------------------------------

def test_login_page_is_japanese_with_a_csrf_field(client):
    response = client.get("/staff/")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<html lang="ja">' in html and "職員ログイン" in html
    assert len(form_token(response)) > 20
    assert 'name="password" type="password"' in html


def test_login_without_csrf_token_is_refused(app, client, rasa):
    client.get("/staff/")
    response = client.post("/staff/login", data={"username": "tanaka", "password": PASSWORD})
    assert response.status_code == 400
    assert response.json["error"] == ERROR_CSRF
    with client.session_transaction() as s:
        assert "staff" not in s
    assert "login" not in actions(app)


def test_login_with_a_token_from_another_session_is_refused(app):
    token = form_token(app.test_client().get("/staff/"))
    other = app.test_client()
    other.get("/staff/")
    response = other.post("/staff/login", data={"csrf_token": token, "username": "tanaka", "password": PASSWORD})
    assert response.status_code == 400 and response.json["error"] == ERROR_CSRF


@pytest.mark.parametrize("username,password", [("tanaka", "wrong-password-123"), ("nobody", PASSWORD),
                                               ("tanaka", ""), ("", PASSWORD)])
def test_wrong_credentials_are_401_and_audited(app, client, username, password):
    response = post_login(client, username, password)
    assert response.status_code == 401
    assert ERROR_LOGIN in response.get_data(as_text=True)
    with client.session_transaction() as s:
        assert "staff" not in s
    (entry,) = app.extensions["staff"].audit_entries()
    assert entry["action"] == "login_failed" and entry["username"] == (username or "-")
    assert entry["remote_addr"] == "127.0.0.1"
    if password:
        assert password not in str(entry)


def test_right_password_logs_in_and_serves_the_staff_widget(app, client):
    response = post_login(client)
    assert response.status_code == 302 and response.headers["Location"].endswith("/staff/")
    html = client.get("/staff/").get_data(as_text=True)
    script = re.search(r"<script [^>]*widget\.js[^>]*>", html, re.S).group(0)
    assert 'data-mode="staff"' in script and 'data-endpoint="/staff/api"' in script
    assert CSRF_DATA.search(script)
    assert "tanaka さん" in html and "ログアウト" in html
    assert actions(app) == ["login"]
    assert app.extensions["staff"].users()[1]["last_login_at"] is not None  # sato, tanaka (sorted)


def test_session_id_changes_at_login(client):
    client.post("/api/chat", json={"message": "こんにちは"})  # a resident conversation first
    with client.session_transaction() as s:
        before = s["sid"]
        s["offered"] = {"resident": {"c1": {"payload": "/x", "title": "x", "turn": None}}}
    login(client)
    with client.session_transaction() as s:
        assert s["sid"] != before
        assert "offered" not in s  # nothing carried over from before the login
        assert s["staff"]["user"] == "tanaka"


def test_logout_ends_the_staff_session(app, client):
    token = login(client)
    response = client.post("/staff/logout", data={"csrf_token": token})
    assert response.status_code == 302
    assert "職員ログイン" in client.get("/staff/").get_data(as_text=True)
    assert staff_chat(client, form_token(client.get("/staff/"))).status_code == 401
    assert actions(app)[0] == "logout"


def test_a_cookie_copied_before_logout_is_dead_after_it(app, client, rasa):
    """Logout bumps the account's session epoch: every copy of the cookie is void."""
    token = login(client)
    copied = client.get_cookie("session").value
    client.post("/staff/logout", data={"csrf_token": token})
    thief = app.test_client()
    thief.set_cookie("session", copied)
    assert staff_chat(thief, token).status_code == 401


def test_logout_needs_the_csrf_token(client):
    login(client)
    assert client.post("/staff/logout").status_code == 400
    assert staff_chat(client, CSRF_DATA.search(client.get("/staff/").get_data(as_text=True)).group(1)
                      ).status_code == 200


# --- staff API and the audience ------------------------------------------------------------

def test_staff_api_needs_a_login(client, rasa):
    token = form_token(client.get("/staff/"))  # a valid CSRF token, but nobody logged in
    response = staff_chat(client, token)
    assert response.status_code == 401 and response.json["error"] == ERROR_EXPIRED
    assert client.post("/staff/api/reset", headers={"X-CSRFToken": token}).status_code == 401
    assert rasa.calls == []


def test_staff_api_needs_the_csrf_header(client, rasa):
    token = login(client)
    response = client.post("/staff/api/chat", json={"message": "VPNの申請方法"})
    assert response.status_code == 400 and response.json["error"] == ERROR_CSRF
    response = client.post("/staff/api/chat", json={"message": "VPN"}, headers={"X-CSRFToken": token + "x"})
    assert response.status_code == 400
    assert rasa.calls == []
    assert staff_chat(client, token).status_code == 200
    (call,) = rasa.calls
    assert call["metadata"] == {"audience": "staff"}
    assert call["sender"].endswith("-staff")


def test_resident_api_in_the_same_browser_stays_resident(client, rasa):
    token = login(client)
    staff_chat(client, token)
    assert client.post("/api/chat", json={"message": "住民票"}).status_code == 200
    staff_call, resident_call = rasa.calls
    assert staff_call["metadata"] == {"audience": "staff"} and staff_call["sender"].endswith("-staff")
    assert resident_call["metadata"] == {"audience": "resident"}
    assert resident_call["sender"].endswith("-resident")
    assert resident_call["sender"].split("-")[0] == staff_call["sender"].split("-")[0]  # same browser session


def test_staff_reset_starts_a_new_rasa_conversation(client, rasa):
    token = login(client)
    staff_chat(client, token)
    assert client.post("/staff/api/reset").status_code == 400  # CSRF header needed here too
    assert client.post("/staff/api/reset", headers={"X-CSRFToken": token}).json == {"ok": True}
    staff_chat(client, token)
    first, second = rasa.calls
    assert second["sender"].endswith("-staff") and second["sender"] != first["sender"]  # no old slots
    assert staff_chat(client, token).status_code == 200  # still logged in


def test_resident_reset_in_the_same_browser_keeps_the_staff_widget_working(client, rasa):
    token = login(client)
    assert client.post("/api/reset").status_code == 200
    assert staff_chat(client, token).status_code == 200


def forged_cookie(secret: str, payload: dict) -> str:
    other = Flask("forger")
    other.secret_key = secret
    return SecureCookieSessionInterface().get_signing_serializer(other).dumps(payload)


@pytest.mark.parametrize("how", ["body", "header", "cookie", "forged_session", "unsigned_session"])
def test_a_resident_can_never_switch_the_audience(app, client, rasa, how):
    body = {"message": "職員向けの回答を見せて"}
    headers = {}
    staff_payload = {"sid": "a" * 32, "staff": {"user": "sato", "role": "admin", "last": time.time()}}
    if how == "body":
        body.update(audience="staff", metadata={"audience": "staff"}, mode="staff", sender="x-staff")
    elif how == "header":
        headers = {"X-Audience": "staff", "X-Mode": "staff"}
    elif how == "cookie":
        client.set_cookie("audience", "staff")
        client.set_cookie("mode", "staff")
    elif how == "forged_session":
        client.set_cookie("session", forged_cookie("attacker-key", staff_payload))
    else:  # the right payload format, signature stripped / tampered
        genuine = forged_cookie("t", {"sid": "b" * 32})
        payload_part = forged_cookie("attacker-key", staff_payload).split(".")[0]
        client.set_cookie("session", payload_part + "." + genuine.split(".", 1)[1])
    response = client.post("/api/chat", json=body, headers=headers)
    assert response.status_code == 200
    (call,) = rasa.calls
    assert call["metadata"] == {"audience": "resident"}
    assert call["sender"].endswith("-resident") and not call["sender"].startswith("a" * 32)
    # the forged session does not open the staff API either
    if how in ("forged_session", "unsigned_session"):
        client.set_cookie("session", forged_cookie("attacker-key", staff_payload))
        response = client.post("/staff/api/chat", json={"message": "x"},
                               headers={"X-CSRFToken": form_token(client.get("/staff/"))})
        assert response.status_code == 401
        assert len(rasa.calls) == 1


def test_a_genuine_cookie_with_a_session_of_another_app_key_cannot_reach_staff(tmp_path, rasa):
    """A staff session signed by another deployment's key (e.g. a staging server) is not accepted."""
    staging = make_app(tmp_path / "staging", FakeRasa(), SECRET_KEY="staging-key")
    staging_client = staging.test_client()
    login(staging_client)
    cookie = staging_client.get_cookie("session").value
    production = make_app(tmp_path / "production", rasa, SECRET_KEY="production-key")
    client = production.test_client()
    client.set_cookie("session", cookie)
    assert "職員ログイン" in client.get("/staff/").get_data(as_text=True)


# --- idle expiry and disabled accounts -------------------------------------------------------

def freeze(monkeypatch, at: float) -> None:
    monkeypatch.setattr(staff_module, "time", types.SimpleNamespace(time=lambda: at))


def test_idle_session_expires(app, client, rasa, monkeypatch):
    token = login(client)
    freeze(monkeypatch, time.time() + app.config["STAFF_IDLE_MINUTES"] * 60 + 1)
    response = staff_chat(client, token)
    assert response.status_code == 401 and response.json["error"] == ERROR_EXPIRED
    assert rasa.calls == []
    entry = app.extensions["staff"].audit_entries()[0]
    assert (entry["action"], entry["username"]) == ("expired", "tanaka")
    with client.session_transaction() as s:
        assert "staff" not in s
    monkeypatch.undo()
    assert staff_chat(client, token).status_code == 401  # stays logged out
    assert "職員ログイン" in client.get("/staff/").get_data(as_text=True)


def test_activity_keeps_the_session_alive(app, client, rasa, monkeypatch):
    idle = app.config["STAFF_IDLE_MINUTES"] * 60
    start = time.time()
    token = login(client)
    freeze(monkeypatch, start + idle - 5)
    assert staff_chat(client, token).status_code == 200
    freeze(monkeypatch, start + 2 * idle - 10)  # long after the login, but soon after the last request
    assert staff_chat(client, token).status_code == 200
    freeze(monkeypatch, start + 3 * idle)
    assert staff_chat(client, token).status_code == 401
    assert len(rasa.calls) == 2


def test_idle_minutes_setting_is_honoured(tmp_path, rasa, monkeypatch):
    app = make_app(tmp_path, rasa, STAFF_IDLE_MINUTES=1)
    client = app.test_client()
    token = login(client)
    freeze(monkeypatch, time.time() + 61)
    assert staff_chat(client, token).status_code == 401


def test_disabled_account_loses_access_at_its_next_request(app, client, rasa):
    token = login(client)
    assert staff_chat(client, token).status_code == 200
    app.extensions["staff"].set_disabled("tanaka")
    assert staff_chat(client, token).status_code == 401
    assert len(rasa.calls) == 1
    assert "職員ログイン" in client.get("/staff/").get_data(as_text=True)
    # and cannot log in again
    assert post_login(client).status_code == 401


# --- network allow-list ------------------------------------------------------------------------

def test_staff_pages_are_refused_outside_staff_networks(tmp_path, rasa):
    app = make_app(tmp_path, rasa, STAFF_NETWORKS="10.0.0.0/8, 192.168.1.0/24")
    client = app.test_client()  # REMOTE_ADDR 127.0.0.1
    response = client.get("/staff/")
    assert response.status_code == 403 and ERROR_NETWORK in response.get_data(as_text=True)
    assert 'name="password"' not in response.get_data(as_text=True)
    response = client.post("/staff/api/chat", json={"message": "x"})
    assert response.status_code in (400, 403)  # refused either by CSRF or the network guard, never served
    entries = app.extensions["staff"].audit_entries()
    assert entries and all(e["action"] == "refused_ip" for e in entries)
    assert entries[-1]["remote_addr"] == "127.0.0.1"
    assert rasa.calls == []
    # the resident chat is not affected
    assert client.post("/api/chat", json={"message": "こんにちは"}).status_code == 200


def test_staff_networks_allow_listed_addresses(tmp_path, rasa):
    app = make_app(tmp_path, rasa, STAFF_NETWORKS="10.0.0.0/8")
    client = app.test_client()
    inside = {"environ_base": {"REMOTE_ADDR": "10.1.2.3"}}
    token = login(client, **inside)
    assert staff_chat(client, token, **inside).status_code == 200
    # the same logged-in session, from outside the network: refused (JSON for the API)
    outside = staff_chat(client, token, environ_base={"REMOTE_ADDR": "203.0.113.5"})
    assert outside.status_code == 403 and outside.json["error"] == ERROR_NETWORK
    assert len(rasa.calls) == 1
    assert actions(app)[0] == "refused_ip"


@pytest.mark.parametrize("address", ["garbage", "", "10.1.2.3.4", "10.1.2.3, 127.0.0.1"])
def test_unparseable_client_addresses_are_refused(tmp_path, rasa, address):
    app = make_app(tmp_path, rasa, STAFF_NETWORKS="10.0.0.0/8")
    response = app.test_client().get("/staff/", environ_base={"REMOTE_ADDR": address})
    assert response.status_code == 403
    assert actions(app) == ["refused_ip"]


def test_ipv4_mapped_ipv6_client_address_is_matched_as_ipv4(tmp_path, rasa):
    """A dual-stack listener ([::]) reports IPv4 clients as ::ffff:a.b.c.d."""
    app = make_app(tmp_path, rasa, STAFF_NETWORKS="10.0.0.0/8")
    client = app.test_client()
    assert client.get("/staff/", environ_base={"REMOTE_ADDR": "::ffff:10.1.2.3"}).status_code == 200
    assert client.get("/staff/", environ_base={"REMOTE_ADDR": "::ffff:203.0.113.5"}).status_code == 403


def test_forwarded_for_is_trusted_only_behind_configured_proxies(tmp_path, rasa):
    spoof = {"headers": {"X-Forwarded-For": "10.1.2.3"}}
    app = make_app(tmp_path / "direct", rasa, STAFF_NETWORKS="10.0.0.0/8")
    assert app.test_client().get("/staff/", **spoof).status_code == 403
    proxied = make_app(tmp_path / "proxied", rasa, STAFF_NETWORKS="10.0.0.0/8", TRUSTED_PROXIES=1)
    assert proxied.test_client().get("/staff/", **spoof).status_code == 200
    # only the address the (one) trusted proxy appended counts, not what the client sent before it
    chained = {"headers": {"X-Forwarded-For": "10.1.2.3, 203.0.113.5"}}
    assert proxied.test_client().get("/staff/", **chained).status_code == 403


def test_no_staff_networks_means_any_address(client):
    assert client.get("/staff/", environ_base={"REMOTE_ADDR": "203.0.113.5"}).status_code == 200


# --- login rate limit --------------------------------------------------------------------------

def test_login_attempts_are_rate_limited_per_address(tmp_path, rasa):
    app = make_app(tmp_path, rasa, LOGIN_RATE_LIMIT="3 per minute")
    client = app.test_client()
    token = form_token(client.get("/staff/"))
    attempt = {"csrf_token": token, "username": "tanaka", "password": "wrong-password-123"}
    assert [client.post("/staff/login", data=attempt).status_code for _ in range(3)] == [401, 401, 401]
    response = client.post("/staff/login", data={**attempt, "password": PASSWORD})  # even the right one
    assert response.status_code == 429
    assert response.json == {"error": ERROR_RATE_LIMITED}
    with client.session_transaction() as s:
        assert "staff" not in s
    assert "login" not in actions(app)
    # another address is not affected
    other = app.test_client()
    assert post_login(other, environ_base={"REMOTE_ADDR": "10.9.9.9"}).status_code == 302


# --- audit -------------------------------------------------------------------------------------

def test_audit_records_who_when_and_which_faq_ids_never_the_text(tmp_path, rasa):
    rasa.replies = [{"recipient_id": "x", "custom": {"text": "VPNは情報政策課に申請します。", "tier": "answer",
                                                      "faq_id": "S-0001"}},
                    {"recipient_id": "x", "custom": {"text": "関連ページ", "tier": "scripted", "page_id": "P-7"}}]
    app = make_app(tmp_path, rasa)
    client = app.test_client()
    secret_text = "職員番号12345の休暇申請を確認したい"
    token = login(client)
    before = time.time()
    assert staff_chat(client, token, {"message": secret_text}).status_code == 200
    entry = app.extensions["staff"].audit_entries()[0]
    assert (entry["action"], entry["username"], entry["faq_ids"]) == ("chat", "tanaka", "S-0001,P-7")
    assert entry["remote_addr"] == "127.0.0.1"
    at = entry["at"] if entry["at"].tzinfo else entry["at"].replace(tzinfo=UTC)  # SQLite drops the zone
    assert before - 1 <= at.timestamp() <= time.time() + 1
    assert secret_text not in str(app.extensions["staff"].audit_entries())
    app.extensions["staff"].engine.dispose()
    for path in tmp_path.glob("staff.sqlite*"):
        assert secret_text.encode("utf-8") not in path.read_bytes()
    assert actions(app) == ["chat", "login"]


# --- roles -------------------------------------------------------------------------------------

def app_with_admin_routes(tmp_path, rasa):
    app = make_app(tmp_path, rasa)
    admin = Blueprint("admin_test", __name__, url_prefix="/admin-test")

    @admin.get("/page")
    @login_required(role="admin")
    def page():
        return "admin page"

    @admin.get("/api")
    @login_required(role="admin", api=True)
    def api():
        return jsonify(ok=True)

    @admin.get("/staff-page")
    @login_required()
    def staff_page():
        return "staff page"

    app.register_blueprint(admin)
    return app


def test_admin_role_is_required_for_admin_views(tmp_path, rasa):
    app = app_with_admin_routes(tmp_path, rasa)
    anonymous = app.test_client()
    assert anonymous.get("/admin-test/page").status_code == 302
    assert anonymous.get("/admin-test/api").status_code == 401
    staff = app.test_client()
    login(staff, "tanaka", PASSWORD)
    assert staff.get("/admin-test/staff-page").status_code == 200
    assert staff.get("/admin-test/page").status_code == 403
    response = staff.get("/admin-test/api")
    assert response.status_code == 403 and response.json["error"] == ERROR_FORBIDDEN
    admin = app.test_client()
    login(admin, "sato", ADMIN_PASSWORD)
    assert admin.get("/admin-test/page").get_data(as_text=True) == "admin page"
    assert admin.get("/admin-test/api").json == {"ok": True}


def test_role_is_read_from_the_account_not_the_session(tmp_path, rasa):
    """A session claiming ``admin`` for a staff account does not get admin views."""
    app = app_with_admin_routes(tmp_path, rasa)
    client = app.test_client()
    login(client, "tanaka", PASSWORD)
    with client.session_transaction() as s:
        s["staff"] = {**s["staff"], "role": "admin"}
    assert client.get("/admin-test/page").status_code == 403


# --- accounts ----------------------------------------------------------------------------------

@pytest.fixture
def store(tmp_path):
    return StaffStore(f"sqlite:///{tmp_path / 'accounts.sqlite'}")


def test_passwords_are_stored_only_as_argon2id_hashes(store, tmp_path):
    password = "unique-Passw0rd-xyzzy"
    store.add("yamada", password, "admin")
    with store.engine.connect() as connection:
        (stored,) = connection.execute(text("SELECT password_hash FROM staff_users")).scalars()
    assert stored.startswith("$argon2id$")
    store.engine.dispose()
    files = list(tmp_path.glob("accounts.sqlite*"))
    assert files
    for path in files:
        data = path.read_bytes()
        assert password.encode() not in data and password.encode("utf-16-le") not in data


def test_short_passwords_are_rejected_in_japanese(store):
    with pytest.raises(AccountError, match="12文字以上"):
        store.add("yamada", "a" * 11)
    store.add("yamada", "a" * 12)
    with pytest.raises(AccountError, match="12文字以上"):
        store.set_password("yamada", "short")
    assert store.verify("yamada", "a" * 12)


def test_duplicate_usernames_and_bad_roles_are_rejected(store):
    store.add("yamada", PASSWORD)
    with pytest.raises(AccountError, match="既に登録"):
        store.add("yamada", "another-password-1")
    with pytest.raises(AccountError, match="既に登録"):
        store.add(" yamada ", "another-password-1")
    with pytest.raises(AccountError, match="役割"):
        store.add("kimura", PASSWORD, "root")
    with pytest.raises(AccountError):
        store.add("", PASSWORD)
    assert [u["username"] for u in store.users()] == ["yamada"]
    assert store.verify("yamada", PASSWORD)["role"] == "staff"


def test_verify_refuses_unknown_wrong_and_disabled(store):
    store.add("yamada", PASSWORD, "admin")
    assert {k: v for k, v in store.verify("yamada", PASSWORD).items() if k != "epoch"} == {"username": "yamada", "role": "admin"}
    assert store.verify("nobody", PASSWORD) is None
    assert store.verify("yamada", PASSWORD + "x") is None
    assert store.verify("yamada", "") is None
    store.set_disabled("yamada")
    assert store.verify("yamada", PASSWORD) is None
    assert store.user("yamada") is None
    store.set_disabled("yamada", False)
    assert store.verify("yamada", PASSWORD)
    with pytest.raises(AccountError):
        store.set_disabled("nobody")


def test_set_password_replaces_the_old_one(store):
    store.add("yamada", PASSWORD)
    store.set_password("yamada", "a-brand-new-password")
    assert store.verify("yamada", PASSWORD) is None
    assert store.verify("yamada", "a-brand-new-password")


# --- CLI ---------------------------------------------------------------------------------------

def test_cli_add_list_disable(tmp_path):
    from bot.cli import main

    runner = CliRunner()
    env = {"CITYBOT_STAFF_DB": f"sqlite:///{tmp_path / 'cli.sqlite'}", "CITYBOT_CONFIG": ""}
    result = runner.invoke(main, ["staff", "add", "suzuki", "--role", "admin", "--password", "cli-password-123"],
                           env=env)
    assert result.exit_code == 0, result.output
    result = runner.invoke(main, ["staff", "list"], env=env)
    assert result.exit_code == 0
    row = next(line for line in result.output.splitlines() if "suzuki" in line)
    assert "admin" in row and "active" in row
    assert runner.invoke(main, ["staff", "disable", "suzuki"], env=env).exit_code == 0
    row = next(line for line in runner.invoke(main, ["staff", "list"], env=env).output.splitlines()
               if "suzuki" in line)
    assert "disabled" in row
    store = StaffStore(f"sqlite:///{tmp_path / 'cli.sqlite'}")
    assert store.verify("suzuki", "cli-password-123") is None
    store.set_disabled("suzuki", False)
    assert store.verify("suzuki", "cli-password-123")["role"] == "admin"


def test_cli_rejects_short_passwords_and_duplicates(tmp_path):
    from bot.cli import main

    runner = CliRunner()
    env = {"CITYBOT_STAFF_DB": f"sqlite:///{tmp_path / 'cli.sqlite'}", "CITYBOT_CONFIG": ""}
    result = runner.invoke(main, ["staff", "add", "suzuki", "--password", "short"], env=env)
    assert result.exit_code != 0
    assert "12文字以上" in result.output
    assert runner.invoke(main, ["staff", "add", "suzuki", "--password", "long-enough-pass"], env=env).exit_code == 0
    result = runner.invoke(main, ["staff", "add", "suzuki", "--password", "long-enough-pass"], env=env)
    assert result.exit_code != 0 and "既に登録" in result.output
    result = runner.invoke(main, ["staff", "disable", "nobody"], env=env)
    assert result.exit_code != 0 and "登録されていません" in result.output
