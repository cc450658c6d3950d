"""The maintainers' admin pages (/admin): access control, FAQ upload → check → publish,
bad files, CSRF, upload tokens, rollback, the unanswered queue and the dashboard."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from bot import accounts, admin, publishing
from retrieval.versions import VersionStore
from tests.conftest import TINY_FAQ
from tests.fakes import FakeEncoder, FakeRasa

PASSWORD = "correct-horse-battery"
ADMIN_PASSWORD = "admin-password-0123"
CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')
TOKEN_INPUT = re.compile(r'name="token" value="([^"]+)"')
ADDED = TINY_FAQ + "R-4,犬の登録はどこでしますか。,環境保全課で登録してください。,https://www.city.example.jp/kurashi/pet.html,くらし,ペット,環境保全課,2026-04-01,\n"
BAD = TINY_FAQ.replace("R-3,", "R-1,").replace("住民票の写しはどこで取れますか。", "=SUM(A1)")


def make_app(tmp_path: Path, **overrides):
    from bot import create_app

    config = {"TESTING": True, "SECRET_KEY": "t", "RASA_CLIENT": FakeRasa(),
              "INDEX_ROOT": str(tmp_path / "var" / "index"), "EMBEDDING_CACHE": str(tmp_path / "cache.sqlite"),
              "PAGES_DIR": str(tmp_path / "var" / "pages"), "ACTION_SERVER_URL": "http://127.0.0.1:9",
              "LOG_DB": f"sqlite:///{tmp_path / 'log.sqlite'}", "STAFF_DB": f"sqlite:///{tmp_path / 'staff.sqlite'}",
              "ENCODER_OBJECT": FakeEncoder(), "ENCODER": "unused-in-tests"}
    config.update(overrides)
    app = create_app(config)
    if "admin" not in app.blueprints:
        app.register_blueprint(admin.bp)
    app.extensions["staff"].add("tanaka", PASSWORD, "staff")
    app.extensions["staff"].add("sato", ADMIN_PASSWORD, "admin")
    return app


@pytest.fixture(autouse=True)
def fast_argon2(monkeypatch):
    monkeypatch.setattr(accounts, "_HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture
def app(tmp_path):
    return make_app(tmp_path)


@pytest.fixture
def client(app):
    return app.test_client()


def csrf(response) -> str:
    match = CSRF_INPUT.search(response.get_data(as_text=True))
    assert match, "no csrf_token hidden input"
    return match.group(1)


def login(client, username="sato", password=ADMIN_PASSWORD) -> str:
    token = csrf(client.get("/staff/"))
    response = client.post("/staff/login", data={"csrf_token": token, "username": username, "password": password})
    assert response.status_code == 302
    return csrf(client.get("/staff/"))


@pytest.fixture
def admin_client(client):
    client.csrf = login(client)
    return client


def upload(client, raw: bytes, audience="resident", filename="faq.csv", token=None):
    from io import BytesIO

    return client.post("/admin/faq/check", data={"csrf_token": token or client.csrf, "audience": audience,
                                                 "file": (BytesIO(raw), filename)},
                       content_type="multipart/form-data")


def upload_token(response) -> str:
    match = TOKEN_INPUT.search(response.get_data(as_text=True))
    assert match, "no upload token on the report page"
    return match.group(1)


def publish(client, token, audience="resident", **extra):
    return client.post("/admin/faq/publish", data={"csrf_token": client.csrf, "token": token,
                                                   "audience": audience, **extra})


def live(app, audience="resident"):
    return VersionStore(app.config["INDEX_ROOT"], audience).current()


def uploads(app) -> list[str]:
    directory = Path(app.config["INDEX_ROOT"]).parent / "uploads"
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


PAGES = ["/admin/", "/admin/faq", "/admin/versions", "/admin/unanswered"]


# --- access ----------------------------------------------------------------------------------

@pytest.mark.parametrize("path", PAGES)
def test_anonymous_is_sent_to_the_login_page(client, path):
    response = client.get(path)
    assert response.status_code == 302 and response.headers["Location"].endswith("/staff/")


def test_staff_role_gets_403_and_admin_gets_every_page(client, app):
    login(client, "tanaka", PASSWORD)
    for path in PAGES:
        response = client.get(path)
        assert response.status_code == 403, path
        assert "管理者のアカウントでのみ" in response.get_data(as_text=True)
    client.post("/staff/logout", data={"csrf_token": csrf(client.get("/staff/"))})
    login(client)
    for path in PAGES:
        response = client.get(path)
        assert response.status_code == 200, path
        body = response.get_data(as_text=True)
        assert '<html lang="ja">' in body and "style=" not in body and "<script" not in body


def test_staff_role_cannot_post_either(client, app):
    token = login(client, "tanaka", PASSWORD)
    response = upload(client, TINY_FAQ.encode(), token=token)
    assert response.status_code == 403 and live(app) is None and uploads(app) == []


def test_network_allow_list_applies_to_admin(tmp_path):
    app = make_app(tmp_path, STAFF_NETWORKS="10.0.0.0/8")
    response = app.test_client().get("/admin/", environ_base={"REMOTE_ADDR": "192.0.2.1"})
    assert response.status_code == 403 and "ネットワーク" in response.get_data(as_text=True)


# --- dashboard ---------------------------------------------------------------------------------

def test_dashboard_shows_components_crawls_versions_and_queue(admin_client, app):
    app.extensions["convlog"].record_unanswered(None, "resident", "ペットの火葬はできますか", "unknown")
    body = admin_client.get("/admin/").get_data(as_text=True)
    assert "ゲートウェイ" in body and "Rasa" in body and "アクションサーバー" in body
    assert "異常" in body  # the action server (port 9) does not answer
    assert body.count("未実施") == 2  # neither audience was crawled
    assert "まだ公開されていません" in body
    assert "1件</strong>" in body
    for link in ("/admin/faq", "/admin/versions", "/admin/unanswered"):
        assert f'href="{link}"' in body


def test_dashboard_counts_a_crawl(admin_client, app):
    from retrieval.crawler.store import PageStore

    store = PageStore(Path(app.config["PAGES_DIR"]) / "resident.sqlite")
    store.set_meta(crawl_state="complete", crawl_finished="2026-04-01T01:00:00+00:00")
    store.close()
    body = admin_client.get("/admin/").get_data(as_text=True)
    assert body.count("未実施") == 1
    assert "2026-04-01 10:00" in body and "完了" in body  # shown in Japan time


# --- upload, check, publish -------------------------------------------------------------------

@pytest.mark.parametrize("encoding", ["utf-8", "cp932"])
def test_good_csv_report_diff_then_publish(admin_client, app, encoding):
    response = upload(admin_client, TINY_FAQ.encode(encoding))
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "エラー 0件" in body and "追加 3件" in body
    for faq_id in ("R-1", "R-2", "R-3"):
        assert f"<code>{faq_id}</code>" in body
    assert "公開する" in body and "キャンセル" in body and "品質が下がっても公開する" in body
    token = upload_token(response)
    assert re.fullmatch(r"[0-9a-f]{32}", token)
    path = Path(app.config["INDEX_ROOT"]).parent / "uploads" / f"{token}.csv"
    assert path.stat().st_mode & 0o777 == 0o600
    assert live(app) is None  # checking publishes nothing

    result = publish(admin_client, token)
    body = result.get_data(as_text=True)
    assert result.status_code == 200
    assert "公開しました：版" in body and "3件" in body and "秒）" in body
    assert live(app) is not None
    assert uploads(app) == []  # the temporary file is gone
    assert "faq_publish" in [e["action"] for e in app.extensions["staff"].audit_entries()]


def test_second_upload_shows_changes_and_publishing_switches_version(admin_client, app):
    publish(admin_client, upload_token(upload(admin_client, TINY_FAQ.encode())))
    first = live(app)
    changed = ADDED.replace("中央図書館は午前9時30分", "中央図書館は午前10時").replace(
        "R-2,住民票の写しはどこで取れますか。,市役所の市民課窓口とコンビニで取得できます。,https://www.city.example.jp/kurashi/koseki/juminhyo.html,くらし,戸籍,市民課,2026-04-01,住民票がほしい\n", "")
    response = upload(admin_client, changed.encode())
    body = response.get_data(as_text=True)
    assert "追加 1件、変更 1件、削除 1件" in body
    assert "犬の登録はどこでしますか。" in body and "住民票の写しはどこで取れますか。" in body
    assert "公開しました" in publish(admin_client, upload_token(response)).get_data(as_text=True)
    assert live(app) not in (None, first)


def test_identical_file_offers_no_publish(admin_client, app):
    publish(admin_client, upload_token(upload(admin_client, TINY_FAQ.encode())))
    body = upload(admin_client, TINY_FAQ.encode()).get_data(as_text=True)
    assert "公開中の版と同じ" in body and 'name="token"' not in body and uploads(app) == []


def test_large_upload_beyond_the_16kb_chat_limit_is_accepted(admin_client, app):
    rows = "".join(f"R-{n},質問その{n}はどうなりますか。,回答その{n}です。{'詳しい説明です。' * 8},,,,,," "\n"
                   for n in range(10, 400))
    raw = TINY_FAQ.encode() + rows.encode()
    assert len(raw) > 64 * 1024
    response = upload(admin_client, raw)
    assert response.status_code == 200 and "エラー 0件" in response.get_data(as_text=True)
    assert "公開しました" in publish(admin_client, upload_token(response)).get_data(as_text=True)


def test_anonymous_large_post_keeps_the_small_limit(client, app):
    from io import BytesIO

    response = client.post("/admin/faq/check", data={"file": (BytesIO(b"x" * 100_000), "a.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 413 and "大きすぎます" in response.get_data(as_text=True)


def test_file_over_the_configured_size_is_an_error(tmp_path):
    app = make_app(tmp_path, ADMIN_UPLOAD_MAX_BYTES=200)
    client = app.test_client()
    client.csrf = login(client)
    body = upload(client, TINY_FAQ.encode()).get_data(as_text=True)
    assert "エラー 1件" in body and 'name="token"' not in body


def test_bad_csv_shows_errors_with_lines_and_no_publish_button(admin_client, app):
    publish(admin_client, upload_token(upload(admin_client, TINY_FAQ.encode())))
    before = live(app)
    response = upload(admin_client, BAD.encode())
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<th scope=\"col\">種別</th><th scope=\"col\">行</th><th scope=\"col\">列</th><th scope=\"col\">内容</th>" in body
    assert "公開できません" in body
    assert re.search(r'data-label="行"[^>]*>3<', body)  # the formula cell, on line 3
    assert re.search(r'data-label="行"[^>]*>4<', body)  # the duplicate id, on line 4
    assert "重複" in body or "同じID" in body or "R-1" in body
    assert 'name="token"' not in body and "公開する</button>" not in body
    assert live(app) == before and uploads(app) == []
    assert len(VersionStore(app.config["INDEX_ROOT"], "resident").versions()) == 1


def test_no_file_chosen(admin_client):
    response = admin_client.post("/admin/faq/check", data={"csrf_token": admin_client.csrf, "audience": "resident"},
                                 content_type="multipart/form-data")
    assert response.status_code == 400 and "CSVファイルを選んでください" in response.get_data(as_text=True)


def test_unknown_audience_is_refused(admin_client, app):
    assert upload(admin_client, TINY_FAQ.encode(), audience="../resident").status_code == 400
    assert uploads(app) == []


def test_quality_drop_refused_unless_forced(admin_client, app, monkeypatch):
    publish(admin_client, upload_token(upload(admin_client, TINY_FAQ.encode())))
    first = live(app)
    monkeypatch.setattr(publishing, "regression_check",
                        lambda *a, **k: {"live": 0.9, "new": 0.5, "queries": 12, "drop": 0.4})
    response = publish(admin_client, upload_token(upload(admin_client, ADDED.encode())))
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and "品質が下がるため公開しませんでした" in body
    assert "--force" not in body and "品質が下がっても公開する" in body
    assert live(app) == first and uploads(app) == []
    forced = publish(admin_client, upload_token(upload(admin_client, ADDED.encode())), force="1")
    assert "公開しました" in forced.get_data(as_text=True) and live(app) != first


def test_cancel_deletes_the_upload(admin_client, app):
    token = upload_token(upload(admin_client, TINY_FAQ.encode()))
    assert uploads(app)
    response = admin_client.post("/admin/faq/cancel", data={"csrf_token": admin_client.csrf, "token": token},
                                 follow_redirects=True)
    assert "取り消しました" in response.get_data(as_text=True)
    assert uploads(app) == [] and live(app) is None
    assert publish(admin_client, token).status_code == 400  # nothing left to publish


# --- CSRF and tokens ----------------------------------------------------------------------------

def test_missing_csrf_is_400_everywhere(admin_client, app):
    from io import BytesIO

    token = upload_token(upload(admin_client, TINY_FAQ.encode()))
    posts = [
        ("/admin/faq/check", {"audience": "resident", "file": (BytesIO(TINY_FAQ.encode()), "faq.csv")}),
        ("/admin/faq/publish", {"token": token, "audience": "resident"}),
        ("/admin/faq/cancel", {"token": token}),
        ("/admin/versions/rollback", {"audience": "resident", "version": "20260101-000000-000000"}),
        ("/admin/unanswered/1/done", {}),
    ]
    for path, data in posts:
        response = admin_client.post(path, data=data, content_type="multipart/form-data")
        assert response.status_code == 400, path
        assert "ページの有効期限が切れました" in response.get_data(as_text=True)
    assert live(app) is None and len(uploads(app)) == 2  # the upload is untouched


@pytest.mark.parametrize("token", ["../../etc/passwd", "0" * 32, "A" * 32, "", "0" * 31 + "/"])
def test_tampered_or_unknown_token_is_400_and_publishes_nothing(admin_client, app, token):
    good = upload_token(upload(admin_client, TINY_FAQ.encode()))
    response = publish(admin_client, token)
    assert response.status_code == 400
    assert "ファイルが見つかりません" in response.get_data(as_text=True)
    assert live(app) is None and good in "".join(uploads(app))
    cancel = admin_client.post("/admin/faq/cancel", data={"csrf_token": admin_client.csrf, "token": token})
    assert cancel.status_code == 400


def test_token_is_bound_to_the_audience_checked(admin_client, app):
    token = upload_token(upload(admin_client, TINY_FAQ.encode(), audience="resident"))
    assert publish(admin_client, token, audience="staff").status_code == 400
    assert live(app, "staff") is None and live(app) is None
    assert uploads(app) == []  # claimed and deleted


def test_token_is_bound_to_the_uploader(tmp_path):
    app = make_app(tmp_path)
    app.extensions["staff"].add("suzuki", ADMIN_PASSWORD, "admin")
    first, second = app.test_client(), app.test_client()
    first.csrf = login(first)
    second.csrf = login(second, "suzuki")
    token = upload_token(upload(first, TINY_FAQ.encode()))
    assert publish(second, token).status_code == 400 and live(app) is None


# --- versions and rollback ---------------------------------------------------------------------

def test_versions_page_and_rollback(admin_client, app):
    publish(admin_client, upload_token(upload(admin_client, TINY_FAQ.encode(), filename="初版.csv")))
    first = live(app)
    publish(admin_client, upload_token(upload(admin_client, ADDED.encode(), filename="第2版.csv")))
    second = live(app)
    body = admin_client.get("/admin/versions").get_data(as_text=True)
    assert first in body and second in body and "公開中" in body
    assert "初版.csv" in body and "第2版.csv" in body
    assert body.count("この版に戻す</button>") == 1  # only the non-live version
    assert "1／0／0" in body and "3件" in body and "4件" in body
    response = admin_client.post("/admin/versions/rollback", data={"csrf_token": admin_client.csrf,
                                                                    "audience": "resident", "version": first})
    assert response.status_code == 302 and response.headers["Location"].endswith("/admin/versions")
    assert live(app) == first
    body = admin_client.get("/admin/versions").get_data(as_text=True)
    assert f"版 {first} に戻しました" in body
    assert "faq_rollback" in [e["action"] for e in app.extensions["staff"].audit_entries()]


@pytest.mark.parametrize("version", ["../../etc", ".staging-x", "20990101-000000-000000"])
def test_rollback_to_a_bad_version_changes_nothing(admin_client, app, version):
    publish(admin_client, upload_token(upload(admin_client, TINY_FAQ.encode())))
    before = live(app)
    response = admin_client.post("/admin/versions/rollback", data={"csrf_token": admin_client.csrf,
                                                                    "audience": "resident", "version": version},
                                 follow_redirects=True)
    assert response.status_code in (200, 400)
    assert "ありません" in response.get_data(as_text=True) or response.status_code == 400
    assert live(app) == before


# --- unanswered ---------------------------------------------------------------------------------

def test_unanswered_queue_new_faq_row_and_done(admin_client, app):
    publish(admin_client, upload_token(upload(admin_client, TINY_FAQ.encode())))
    log = app.extensions["convlog"]
    item = log.record_unanswered(None, "resident", "電話番号は090-1234-5678です。犬の火葬はできますか", "not_helpful")
    log.record_unanswered(None, "staff", "庁内の会議室の予約方法", "none_of_these")
    body = admin_client.get("/admin/unanswered").get_data(as_text=True)
    assert "［電話番号］" in body and "090-1234-5678" not in body
    assert "役に立たなかった" in body and "どれにも当てはまらない" in body
    assert f'href="/admin/unanswered/{item}/new-faq"' in body and "対応済みにする" in body

    form = admin_client.get(f"/admin/unanswered/{item}/new-faq").get_data(as_text=True)
    assert 'name="faq_id" value="R-0004"' in form  # after R-1 … R-3 of the live version
    assert "犬の火葬はできますか</textarea>" in form and "090-1234-5678" not in form
    assert 'name="answer" rows="6"></textarea>' in form and 'name="url" value=""' in form

    shown = admin_client.post(f"/admin/unanswered/{item}/new-faq", data={
        "csrf_token": admin_client.csrf, "faq_id": "R-0004", "question": "犬の火葬はできますか",
        "answer": "できます。民間の業者に依頼してください, 市では行っていません。", "url": "",
        "category1": "くらし", "category2": "ペット", "department": "環境保全課", "updated_at": "2026-05-01",
        "alt_questions": "ペットの火葬|\"愛犬\"の葬儀"}).get_data(as_text=True)
    shown = html.unescape(shown)
    assert "faq_id,question,answer,url,category1,category2,department,updated_at,alt_questions" in shown
    assert ('R-0004,犬の火葬はできますか,"できます。民間の業者に依頼してください, 市では行っていません。",,'
            'くらし,ペット,環境保全課,2026-05-01,"ペットの火葬|""愛犬""の葬儀"</pre>') in shown

    response = admin_client.post(f"/admin/unanswered/{item}/done", data={"csrf_token": admin_client.csrf})
    assert response.status_code == 302
    assert [q["id"] for q in log.unanswered_queue(audience="resident")] == []
    body = admin_client.get("/admin/unanswered").get_data(as_text=True)
    assert "対応済みにしました" in body and "犬の火葬" not in body and "会議室の予約" in body


def test_new_faq_row_flags_a_formula(admin_client, app):
    item = app.extensions["convlog"].record_unanswered(None, "staff", "会議室の予約", "unknown")
    form = admin_client.get(f"/admin/unanswered/{item}/new-faq").get_data(as_text=True)
    assert re.search(r'name="faq_id" value="S-\d{4}"', form)  # from the repository's staff FAQ
    shown = admin_client.post(f"/admin/unanswered/{item}/new-faq", data={
        "csrf_token": admin_client.csrf, "faq_id": "S-0999", "question": "会議室の予約", "answer": "=HYPERLINK(1)"})
    assert "公開できません" in shown.get_data(as_text=True)


def test_unknown_unanswered_item(admin_client):
    assert admin_client.get("/admin/unanswered/999/new-faq").status_code == 404
    response = admin_client.post("/admin/unanswered/999/done", data={"csrf_token": admin_client.csrf},
                                 follow_redirects=True)
    assert "見つかりませんでした" in response.get_data(as_text=True)


def test_usage_statistics_page_and_csv_export(admin_client, app):
    log = app.extensions["convlog"]
    for text, tier in (("粗大ごみの出し方", "answer"), ("ごみ", "suggest"), ("ｑｗｅｒｔｙ", "unknown")):
        turn = log.record_turn("sid-1", "resident", text, tier=tier, faq_id="R-1" if tier == "answer" else None)
        if tier == "answer":
            log.record_feedback(turn, "resident", True)
    log.record_turn("sid-2", "staff", "庁内LAN", tier="answer", faq_id="S-1")
    page = admin_client.get("/admin/stats?days=7").get_data(as_text=True)
    assert "利用状況（市民向け・直近7日）" in page and "<svg" in page
    assert "<th scope=\"row\">質問数</th><td>3</td>" in page  # the staff turn is not counted for residents
    assert "100.0%（1件の評価）" in page  # helpfulness
    staff = admin_client.get("/admin/stats?audience=staff&days=7").get_data(as_text=True)
    assert "<th scope=\"row\">質問数</th><td>1</td>" in staff
    response = admin_client.get("/admin/stats.csv?days=7")
    assert response.mimetype == "text/csv" and "attachment" in response.headers["Content-Disposition"]
    assert response.get_data(as_text=True).startswith("\ufeff月,質問数")
    assert admin_client.get("/admin/stats?audience=mayor").status_code == 400
