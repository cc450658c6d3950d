"""Headless Debian Chromium on the admin pages, under the real CSP: log in through /staff/,
upload a FAQ CSV, read the report, publish, see a bad file's errors, roll back — at
tablet size (768×1024), with no console errors; and the pages fit a phone's width."""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from bot import accounts, admin, publishing
from bot.settings import REPO_ROOT
from retrieval.versions import VersionStore
from tests.browser import CHROMIUM, LAUNCH_ARGS
from tests.conftest import TINY_FAQ
from tests.fakes import FakeEncoder, FakeRasa

pytestmark = [pytest.mark.e2e]

if not os.path.exists(CHROMIUM):
    pytest.skip(f"{CHROMIUM} missing (apt-get install -y chromium chromium-driver)", allow_module_level=True)

from playwright.sync_api import expect, sync_playwright  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

ARTIFACTS = Path(os.environ.get("CITYBOT_SCREENSHOTS") or REPO_ROOT / "test-artifacts")
ADMIN_PASSWORD = "admin-password-0123"
ADDED = TINY_FAQ + "R-4,犬の登録はどこでしますか。,環境保全課で登録してください。,https://www.city.example.jp/kurashi/pet.html,くらし,ペット,環境保全課,2026-04-01,\n"
BAD = TINY_FAQ.replace("R-3,", "R-1,").replace("住民票の写しはどこで取れますか。", "=SUM(A1)")


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The gateway app (fake Rasa, fake encoder, everything in a temporary directory) on 127.0.0.1."""
    from bot import create_app

    tmp = tmp_path_factory.mktemp("admin-e2e")
    hasher = accounts._HASHER
    accounts._HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    settings = {"SECRET_KEY": "e2e", "RASA_CLIENT": FakeRasa(), "ENCODER_OBJECT": FakeEncoder(),
                "INDEX_ROOT": str(tmp / "var" / "index"), "EMBEDDING_CACHE": str(tmp / "cache.sqlite"),
                "PAGES_DIR": str(tmp / "var" / "pages"), "ACTION_SERVER_URL": "http://127.0.0.1:9",
                "LOG_DB": f"sqlite:///{tmp / 'log.sqlite'}", "STAFF_DB": f"sqlite:///{tmp / 'staff.sqlite'}"}
    app = create_app(settings)
    if "admin" not in app.blueprints:
        app.register_blueprint(admin.bp)
    app.extensions["staff"].add("sato", ADMIN_PASSWORD, "admin")
    app.extensions["convlog"].record_unanswered(None, "resident", "犬の火葬はできますか。電話は090-1234-5678です",
                                                "unknown")
    # a first version, so that the browser's publish makes a second one to roll back from
    first = publishing.publish(app.config, "resident", TINY_FAQ.encode(), "初版.csv", encoder=settings["ENCODER_OBJECT"])
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    yield {"url": f"http://127.0.0.1:{server.server_port}", "app": app, "first": first.version, "tmp": tmp}
    server.shutdown()
    thread.join(timeout=5)
    server.server_close()
    accounts._HASHER = hasher


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield browser
        browser.close()


def new_page(browser, width, height, problems):
    context = browser.new_context(viewport={"width": width, "height": height}, locale="ja-JP")
    page = context.new_page()
    def on_console(message) -> None:
        # the browser's own favicon probe (the staff login page has no icon link) is not a page problem
        if message.type == "error" and not message.location.get("url", "").endswith("/favicon.ico"):
            problems.append(f"console {message.type}: {message.text} ({message.location.get('url')})")

    page.on("console", on_console)
    page.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
    page.set_default_timeout(15_000)
    return context, page


def log_in(page, base):
    page.goto(base + "/staff/")
    page.get_by_label("ユーザー名").fill("sato")
    page.get_by_label("パスワード").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="ログイン").click()
    expect(page.get_by_role("button", name="ログアウト")).to_be_visible()


def fits_width(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_upload_publish_bad_file_and_rollback_on_a_tablet(served, browser, tmp_path):
    base, app = served["url"], served["app"]
    versions = VersionStore(app.config["INDEX_ROOT"], "resident")
    problems: list[str] = []
    context, page = new_page(browser, 768, 1024, problems)
    log_in(page, base)

    page.goto(base + "/admin/")
    expect(page.get_by_role("heading", name="チャットボットの状況")).to_be_visible()
    expect(page.get_by_text("未実施").first).to_be_visible()
    expect(page.get_by_text("1件", exact=True)).to_be_visible()  # one open unanswered question
    assert fits_width(page)

    # a good file: report, diff, publish
    good = tmp_path / "第2版.csv"
    good.write_bytes(ADDED.encode("cp932"))
    page.get_by_role("link", name="FAQの更新").click()
    page.get_by_label("対象").select_option("resident")
    page.get_by_label(re.compile("CSVファイル")).set_input_files(str(good))
    page.get_by_role("button", name="検査する").click()
    expect(page.get_by_role("heading", name=re.compile("検査結果"))).to_be_visible()
    expect(page.get_by_text("エラー・警告はありません。")).to_be_visible()
    expect(page.get_by_text("追加 1件、変更 0件、削除 0件", exact=False)).to_be_visible()
    expect(page.locator("code", has_text="R-4")).to_be_visible()
    assert fits_width(page)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "admin-report-768x1024.png"), full_page=True)
    page.get_by_role("button", name="公開する").click()
    expect(page.get_by_text("公開しました：版")).to_be_visible(timeout=30_000)
    second = versions.current()
    assert second and second != served["first"]

    # a bad file: the error table with line numbers, no publish button
    bad = tmp_path / "bad.csv"
    bad.write_bytes(BAD.encode("utf-8"))
    page.get_by_role("link", name="別のファイルをアップロードする").click()
    page.get_by_label(re.compile("CSVファイル")).set_input_files(str(bad))
    page.get_by_role("button", name="検査する").click()
    expect(page.get_by_role("alert").filter(has_text="公開できません")).to_be_visible()
    table = page.locator("table.admin-report")
    expect(table.get_by_role("columnheader", name="行")).to_be_visible()
    expect(table.locator("td[data-label='行']", has_text="3")).to_be_visible()
    expect(table.locator("td[data-label='行']", has_text="4")).to_be_visible()
    expect(page.get_by_role("button", name="公開する")).to_have_count(0)
    page.screenshot(path=str(ARTIFACTS / "admin-report-errors-768x1024.png"), full_page=True)
    assert versions.current() == second

    # roll back to the first version
    page.get_by_role("link", name="版の履歴").click()
    expect(page.locator(".admin-badge", has_text="公開中")).to_have_count(1)
    assert fits_width(page)
    page.get_by_role("button", name=f"住民向けのFAQを版 {served['first']} に戻す").click()
    expect(page.get_by_text(f"版 {served['first']} に戻しました")).to_be_visible()
    assert versions.current() == served["first"]

    # the unanswered queue: masked text, prefilled row, CSV line
    page.get_by_role("link", name="未回答の質問").click()
    expect(page.get_by_text("［電話番号］", exact=False)).to_be_visible()
    page.get_by_role("link", name="FAQに追加").click()
    expect(page.get_by_label("ID")).to_have_value("R-0004")
    page.get_by_label("回答").fill("市では行っていません。")
    page.get_by_role("button", name="CSVの行を表示").click()
    expect(page.get_by_label("追加する行")).to_contain_text("R-0004,")
    assert fits_width(page)
    assert not problems, problems
    context.close()


def test_pages_fit_a_phone(served, browser):
    problems: list[str] = []
    context, page = new_page(browser, 375, 667, problems)
    log_in(page, served["url"])
    for path in ("/admin/", "/admin/faq", "/admin/versions", "/admin/unanswered"):
        page.goto(served["url"] + path)
        expect(page.locator("h1")).to_be_visible()
        assert fits_width(page), path
    page.goto(served["url"] + "/admin/versions")
    page.screenshot(path=str(ARTIFACTS / "admin-versions-375x667.png"), full_page=True)
    assert not problems, problems
    context.close()
