"""The OpenAPI description (bot/openapi.yaml) is valid, matches the app's routes, and is true
of the app: schemathesis fuzzes every operation against the WSGI app (FakeRasa, no network),
Hypothesis throws hostile bodies at both chat endpoints, and plain tests reach every
documented error status (including the 503s the fuzz deliberately avoids)."""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

import jsonschema_rs
import pytest
import schemathesis
import yaml
from argon2 import PasswordHasher
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from bot import accounts
from bot.apidocs import SPEC_PATH
from bot.apidocs import bp as apidocs_bp
from tests.fakes import FakeRasa

SPEC = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
API_PREFIXES = ("/api/", "/staff/api/")
HTTP_METHODS = {"get", "put", "post", "delete", "patch", "options", "head", "trace"}
STAFF_USER, STAFF_PASSWORD = "tanaka", "correct-horse-battery"
UNLIMITED = "100000 per minute"
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance, content_type_conformance]

#: a reply with every optional field the gateway can send (links allowed and dropped, buttons, custom payloads)
RICH_REPLIES = [
    {"recipient_id": "x", "text": "粗大ごみは事前申込制です。", "tier": "answer", "faq_id": "R-1",
     "link": {"url": "https://www.city.example.jp/kurashi/gomi/sodaigomi.html", "title": "粗大ごみ"},
     "links": [{"url": "https://www.city.example.jp/kurashi/gomi/", "title": "ごみ"},
               {"url": "https://evil.example.com/", "title": "外部"}, {"url": "javascript:alert(1)"}],
     "buttons": [{"title": "はい", "payload": '/feedback{"helpful":"yes"}', "kind": "feedback"},
                 {"title": "いいえ", "payload": '/feedback{"helpful":"no"}', "kind": "feedback"}]},
    {"custom": {"text": "ほかにご質問はありますか。", "tier": "scripted", "page_id": "p-1",
                "link": {"url": "https://intra.city.example.jp/x", "title": "内部"},
                "buttons": [{"title": "メニュー", "payload": "/menu", "kind": "menu"},
                            {"title": 42, "payload": "/odd", "kind": "unknown-kind"},
                            {"title": "", "payload": "/dropped"}]}},
    {"text": ""},
    {"image": "https://www.city.example.jp/x.png"},
]


def make_app(tmp_path, rasa=None, **overrides):
    from bot import create_app

    index = tmp_path / "index" / "resident"
    index.mkdir(parents=True, exist_ok=True)
    (index / "manifest.json").write_text("{}", encoding="utf-8")
    app = create_app({
        "TESTING": True, "SECRET_KEY": "openapi-test", "RASA_CLIENT": rasa or FakeRasa(RICH_REPLIES),
        "INDEX_ROOT": str(tmp_path / "index"), "ACTION_SERVER_URL": "http://127.0.0.1:9",
        "LOG_DB": f"sqlite:///{tmp_path / 'log.sqlite'}", "STAFF_DB": f"sqlite:///{tmp_path / 'staff.sqlite'}",
        "RATE_LIMIT_SESSION": UNLIMITED, "RATE_LIMIT_IP": UNLIMITED, "LOGIN_RATE_LIMIT": UNLIMITED,
        **overrides,
    })
    if "apidocs" not in app.blueprints:  # until create_app registers it
        app.register_blueprint(apidocs_bp)
    app.extensions["staff"].add(STAFF_USER, STAFF_PASSWORD)
    return app


@pytest.fixture(autouse=True)
def fast_argon2(monkeypatch):
    """Argon2id with small parameters: these tests log in, they do not test hashing."""
    monkeypatch.setattr(accounts, "_HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture
def app(tmp_path, monkeypatch):
    """Every component healthy (FakeRasa, a built index, the action server's probe stubbed),
    so that no 5xx is legitimate during the fuzz: the documented 503s (Rasa down, /healthz
    degraded) are reached on purpose in test_rasa_down_is_a_documented_503 instead of being
    excused from ``not_a_server_error``."""
    monkeypatch.setattr("bot.health._http_ok", lambda url: True)
    return make_app(tmp_path)


def csrf_token(client, path="/staff/"):
    html = client.get(path).get_data(as_text=True)
    match = re.search(r'(?:name="csrf_token" value|data-csrf-token)="([^"]+)"', html)
    assert match, html
    return match.group(1)


def staff_login(client) -> str:
    """Log the client in as staff; returns the X-CSRFToken value for the staff API."""
    response = client.post("/staff/login", data={"username": STAFF_USER, "password": STAFF_PASSWORD,
                                                 "csrf_token": csrf_token(client)})
    assert response.status_code == 302
    return csrf_token(client)


def load_schema(app):
    """The description as the app serves it (so serving is tested too)."""
    return schemathesis.openapi.from_wsgi("/api/openapi.yaml", app, config=schemathesis.Config())


def spec_operations() -> set[tuple[str, str]]:
    return {(path, method.upper()) for path, item in SPEC["paths"].items() for method in item if method in HTTP_METHODS}


def component_validator(name: str) -> jsonschema_rs.Validator:
    """A JSON Schema validator for ``#/components/schemas/<name>`` (refs resolved within the spec)."""
    return jsonschema_rs.Draft202012Validator({"$ref": f"#/components/schemas/{name}", "components": SPEC["components"]})


# -- the description itself ---------------------------------------------------------------------------


def test_spec_is_valid_openapi_31():
    # from_dict, not from_wsgi: the latter leaves out the operation serving the description itself
    schema = schemathesis.openapi.from_dict(yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8")),
                                            config=schemathesis.Config())
    assert SPEC["openapi"].startswith("3.1.")
    schema.validate()  # the official OpenAPI 3.1 meta-schema (raises on error)
    for name, component in SPEC["components"]["schemas"].items():
        assert jsonschema_rs.meta.is_valid(component), name
    operations = [result.ok() for result in schema.get_all_operations()]  # every $ref resolves
    assert {(op.path, op.method.upper()) for op in operations} == spec_operations()
    assert {op.definition.raw["operationId"] for op in operations} >= {"chat", "reset", "staffChat", "staffReset"}


def test_spec_is_served(app):
    response = app.test_client().get("/api/openapi.yaml")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/yaml; charset=utf-8"
    assert yaml.safe_load(response.get_data(as_text=True)) == SPEC


def test_spec_and_routes_do_not_drift(app):
    """Every JSON API route of the app is described, and every described route exists."""
    routes = set()
    for rule in app.url_map.iter_rules():
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            routes.add((path, method))
    api_routes = {r for r in routes if r[0].startswith(API_PREFIXES)}
    described_api = {op for op in spec_operations() if op[0].startswith(API_PREFIXES)}
    assert api_routes == described_api
    assert spec_operations() <= routes


def test_request_schema_is_open_and_exclusive():
    """Unknown fields are ignored by the server, so the request schema must accept them; a body
    with both fields is a choice (the server ignores ``message`` then)."""
    chat = component_validator("ChatRequest")
    assert chat.is_valid({"message": "こんにちは", "metadata": {"audience": "staff"}})
    assert chat.is_valid({"choice": "c1", "message": "ignored"})
    assert not chat.is_valid({"message": "x" * 501})
    assert not chat.is_valid({"message": ""})
    assert not chat.is_valid({"message": 1})
    assert not chat.is_valid({})
    assert chat.is_valid({"message": "字" * 500})


# -- schemathesis: the app against its description ----------------------------------------------------


def fuzz(operation, *, max_examples, session=None, **overrides) -> list[int]:
    """Run ``max_examples`` generated cases of one operation through the app with CHECKS;
    returns the status codes seen."""
    statuses: list[int] = []

    @settings(max_examples=max_examples, deadline=None, derandomize=True, database=None,
              phases=[Phase.explicit, Phase.generate, Phase.shrink], print_blob=False,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large])
    @given(case=operation.as_strategy(**overrides))
    def run(case):
        response = case.call_and_validate(session=session, checks=CHECKS)
        statuses.append(response.status_code)

    run()
    return statuses


FUZZED = [("/api/chat", 150), ("/api/reset", 20), ("/staff/api/chat", 100), ("/staff/api/reset", 20),
          ("/healthz", 10), ("/livez", 10), ("/api/openapi.yaml", 10)]


def test_fuzz_covers_every_operation():
    assert {path for path, _ in FUZZED} == {path for path, _ in spec_operations()}


@pytest.mark.parametrize(("path", "max_examples"), FUZZED)
def test_fuzz_anonymous(app, path, max_examples):
    """No 5xx, only documented status codes, bodies as documented. Each case is a fresh browser
    (no cookies); the chat runs through one session so that offered choices can be picked."""
    schema = load_schema(app)
    (operation,) = schema[path].values()
    session = app.test_client() if path == "/api/chat" else None
    statuses = fuzz(operation, max_examples=max_examples, session=session)
    expected = {"/api/chat": {200, 400}, "/staff/api/chat": {400}, "/staff/api/reset": {400}}.get(path, {200})
    assert set(statuses) == expected  # 400 on the staff API: no CSRF token in a fresh session


@pytest.mark.parametrize(("path", "max_examples"), [("/staff/api/chat", 100), ("/staff/api/reset", 10)])
def test_fuzz_logged_in_staff(app, path, max_examples):
    client = app.test_client()
    token = staff_login(client)
    cookie = client.get_cookie("session").value
    (operation,) = load_schema(app)[path].values()
    statuses = fuzz(operation, max_examples=max_examples, session=client,
                    cookies={"session": cookie}, headers={"X-CSRFToken": token})
    assert 200 in statuses
    assert set(statuses) <= {200, 400}


# -- Hypothesis: hostile bodies against both chat endpoints -------------------------------------------

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)
#: any text without surrogates (not encodable as UTF-8), control characters included
any_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=600)
huge_text = st.builds(lambda char, n: char * n, st.sampled_from(["a", "あ", "😀", "\x00", " ", "/"]),
                      st.integers(400, 20_480))
choices = st.sampled_from(["c1", "c2", "c3", "c0", "C1", ""]) | any_text
bodies = st.one_of(
    st.fixed_dictionaries({"message": any_text | huge_text}),
    st.fixed_dictionaries({"choice": choices}),
    st.fixed_dictionaries({}, optional={"message": json_values | any_text, "choice": json_values | choices,
                                        "metadata": json_values, "audience": st.just("staff")}),
    json_values,
)
origins = st.sampled_from([None, "http://localhost", "https://evil.example.com", "null"])


def encode(body) -> bytes:
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


raw_bodies = bodies.map(encode) | st.binary(max_size=64) | st.just(b'{"message": "x"' + b" " * 17_000 + b"}")


@pytest.mark.parametrize("path", ["/api/chat", "/staff/api/chat"])
def test_hostile_bodies(app, path):
    client = app.test_client()
    headers = {"X-CSRFToken": staff_login(client)} if path.startswith("/staff/") else {}
    client.post(path, json={"message": "こんにちは"}, headers=headers)  # choices c1–c4 are on offer now
    documented = {int(code) for code in SPEC["paths"][path]["post"]["responses"]}
    reply, error = component_validator("ChatReply"), component_validator("Error")

    @settings(max_examples=250, deadline=None, derandomize=True, database=None, print_blob=False,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(body=raw_bodies, origin=origins)
    def run(body, origin):
        extra = {"Origin": origin} if origin else {}
        response = client.post(path, data=body, content_type="application/json", headers={**headers, **extra})
        assert response.status_code in {200, 400, 403, 413, 429}
        assert response.status_code in documented
        assert response.mimetype == "application/json"
        data = response.get_json()
        if response.status_code == 200:
            assert "messages" in data
            reply.validate(data)
        else:
            assert "error" in data
            error.validate(data)
        cross_site = origin in ("https://evil.example.com", "null")
        if path == "/api/chat":  # the Origin check comes first, before the body is even read
            assert (response.status_code == 403) == cross_site
        else:  # the staff API relies on the CSRF token instead
            assert response.status_code != 403
        if len(body) > 16 * 1024:
            assert response.status_code in {403, 413}

    run()


# -- every documented error status, reached on purpose -------------------------------------------------


def check_documented(app, path, method, response, status):
    """``response`` has ``status``, which the description documents for the operation, with a
    conforming body."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert str(status) in SPEC["paths"][path][method.lower()]["responses"]
    operation = load_schema(app)[path][method]
    operation.validate_response(response)  # raises on a body that does not conform


def test_rasa_down_is_a_documented_503(tmp_path, monkeypatch):
    """Kept out of the fuzz (which treats every 5xx as a failure): Rasa down is an expected 503."""
    monkeypatch.setattr("bot.health._http_ok", lambda url: True)
    app = make_app(tmp_path, rasa=FakeRasa(fail=True))
    client = app.test_client()
    check_documented(app, "/api/chat", "POST", client.post("/api/chat", json={"message": "ごみ"}), 503)
    check_documented(app, "/healthz", "GET", client.get("/healthz"), 503)
    assert client.get("/healthz").get_json()["status"] == "degraded"
    token = staff_login(client)
    response = client.post("/staff/api/chat", json={"message": "ごみ"}, headers={"X-CSRFToken": token})
    check_documented(app, "/staff/api/chat", "POST", response, 503)


def test_healthy_stack_is_a_documented_200(app):
    response = app.test_client().get("/healthz")
    check_documented(app, "/healthz", "GET", response, 200)
    check_documented(app, "/livez", "GET", app.test_client().get("/livez"), 200)


def test_choice_round_trip_conforms(app):
    client = app.test_client()
    first = client.post("/api/chat", json={"message": "粗大ごみ"})
    check_documented(app, "/api/chat", "POST", first, 200)
    messages = first.get_json()["messages"]
    assert messages[0]["link"]["url"] == "/kurashi/gomi/sodaigomi.html"  # the sample site serves it
    assert [b["choice"] for m in messages for b in m.get("buttons", [])] == ["c1", "c2", "c3", "c4"]
    check_documented(app, "/api/chat", "POST", client.post("/api/chat", json={"choice": "c1", "message": "x"}), 200)
    check_documented(app, "/api/chat", "POST", client.post("/api/chat", json={"choice": "c9"}), 400)
    check_documented(app, "/api/reset", "POST", client.post("/api/reset"), 200)


def test_staff_errors_are_documented(tmp_path, app):
    client = app.test_client()
    token = csrf_token(client)  # the login page gives a CSRF token without logging in
    for path in ("/staff/api/chat", "/staff/api/reset"):
        check_documented(app, path, "POST", client.post(path, json={"message": "x"}), 400)  # no token
        response = client.post(path, json={"message": "x"}, headers={"X-CSRFToken": token})
        check_documented(app, path, "POST", response, 401)
    token = staff_login(client)
    response = client.post("/staff/api/chat", data=b"x" * 17_000, content_type="application/json",
                           headers={"X-CSRFToken": token})
    check_documented(app, "/staff/api/chat", "POST", response, 413)
    check_documented(app, "/staff/api/reset", "POST",
                     client.post("/staff/api/reset", headers={"X-CSRFToken": token}), 200)

    walled = make_app(tmp_path / "walled", STAFF_NETWORKS="10.0.0.0/8")
    client = walled.test_client()
    for path in ("/staff/api/chat", "/staff/api/reset"):
        # the CSRF token is checked first: without one, even a refused address gets 400
        check_documented(walled, path, "POST", client.post(path, json={"message": "x"}), 400)
    inside = {"REMOTE_ADDR": "10.1.2.3"}
    html = client.get("/staff/", environ_base=inside).get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    for path in ("/staff/api/chat", "/staff/api/reset"):  # a token from inside, used from 127.0.0.1
        response = client.post(path, json={"message": "x"}, headers={"X-CSRFToken": token})
        check_documented(walled, path, "POST", response, 403)


def test_resident_errors_are_documented(tmp_path, app):
    client = app.test_client()
    cross = {"Origin": "https://evil.example.com"}
    check_documented(app, "/api/chat", "POST", client.post("/api/chat", json={"message": "x"}, headers=cross), 403)
    check_documented(app, "/api/reset", "POST", client.post("/api/reset", headers=cross), 403)
    response = client.post("/api/chat", data=b"x" * 17_000, content_type="application/json")
    check_documented(app, "/api/chat", "POST", response, 413)
    for body in ({"message": " \u3000\n"}, {"message": "x" * 501}, {"message": 5}, ["message"], {"choice": 1}):
        check_documented(app, "/api/chat", "POST", client.post("/api/chat", json=body), 400)

    limited = make_app(tmp_path / "limited", RATE_LIMIT_IP="1 per minute")
    client = limited.test_client()
    assert client.post("/api/chat", json={"message": "一回目"}).status_code == 200
    response = client.post("/api/chat", json={"message": "二回目"})
    check_documented(limited, "/api/chat", "POST", response, 429)
    assert int(response.headers["Retry-After"]) > 0


# -- whatever Rasa answers, the reply is as documented -------------------------------------------------

REPLY_KEYS = ["text", "tier", "faq_id", "page_id", "link", "links", "buttons", "custom", "url", "title",
              "payload", "kind", "score", "intent", "unanswered", "recipient_id"]
rasa_values = st.recursive(json_scalars | st.sampled_from(["https://www.city.example.jp/a", "/feedback", "answer"]),
                           lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.sampled_from(REPLY_KEYS), inner, max_size=5), max_leaves=15)
rasa_replies = st.lists(rasa_values, max_size=4)


def test_any_rasa_reply_gives_a_documented_answer(app):
    """The action server is ours, but a malformed reply must not take the chat down (500 HTML)."""
    rasa = app.extensions["rasa"]
    client = app.test_client()
    reply, error = component_validator("ChatReply"), component_validator("Error")

    @settings(max_examples=200, deadline=None, derandomize=True, database=None, print_blob=False,
              suppress_health_check=[HealthCheck.too_slow])
    @given(replies=rasa_replies, choose=st.booleans())
    def run(replies, choose):
        rasa.replies = replies
        response = client.post("/api/chat", json={"message": "ごみ"})
        assert response.status_code == 200
        reply.validate(response.get_json())
        if choose:  # a choice offered by that reply (if any) is accepted, anything else is a 400
            response = client.post("/api/chat", json={"choice": "c1"})
            assert response.status_code in {200, 400}
            (reply if response.status_code == 200 else error).validate(response.get_json())

    run()


SAFE_LINKS = ["https://www.city.example.jp/kurashi/", "HTTPS://WWW.CITY.EXAMPLE.JP/x", "https://www.city.example.jp:443/x",
              "https://www.city.example.jp/ごみ/分別.html?q=1#a", "https://www.city.example.jp/kurashi/gomi/sodaigomi.html"]
UNSAFE_LINKS = [
    "https://www.city.example.jp//evil.example.com/x",  # sample-site path → //evil.example.com/x
    "https://www.city.example.jp/\\evil.example.com/x",  # → /\evil.example.com/x, read as //evil… by browsers
    "https://evil.example.com\\@www.city.example.jp/x",  # urlsplit: host www.city…; browsers: evil.example.com
    " https://www.city.example.jp/x", "https://www.city.example.jp\t/x", "\x00https://www.city.example.jp/x",
]


@pytest.mark.parametrize("url", SAFE_LINKS + UNSAFE_LINKS)
def test_answer_links_are_as_documented(tmp_path, monkeypatch, url):
    """Links leave the gateway only in the documented shape: a single-slash local path or an
    http(s) URL, without characters that browsers and urlsplit read differently."""
    replies = [{"text": "案内", "link": {"url": url, "title": "t"}, "links": [{"url": url}]}]
    app = make_app(tmp_path, rasa=FakeRasa(replies))
    response = app.test_client().post("/api/chat", json={"message": "x"})
    check_documented(app, "/api/chat", "POST", response, 200)
    (message,) = response.get_json()["messages"]
    for link in [message.get("link"), *message.get("links", [])]:
        if link:  # dropping a link is always fine
            parsed = urlsplit(link["url"])
            assert parsed.hostname in (None, "www.city.example.jp")
            assert parsed.netloc == "" or parsed.scheme in ("http", "https")
