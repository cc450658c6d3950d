"""Browser tests for the resident chat widget (web_widget/widget.js + widget.css).

Serves web_widget/ under /widget/ plus tests/e2e/widget_harness.html on 127.0.0.1 (no CSP, a
deliberately hostile page stylesheet) and drives Debian's /usr/bin/chromium with Playwright.
The citybot API is stubbed with page.route(), so no backend is needed. Run:
    .venv/bin/python -m pytest tests/e2e/test_widget_browser.py -q -p no:cacheprovider

200% zoom is checked two ways, both as Chromium really does it:
* text-only zoom: Chromium's own font-size setting (Settings > Appearance > Font size),
  set through the DevTools protocol (Page.setFontSizes, standard 16 -> 32 px). The widget
  sizes everything in em from `font-size: medium`, so it follows that setting;
* page zoom: Ctrl+ at 200% halves the CSS viewport and doubles the device pixel ratio,
  so a 1280x800 window at 200% is a 640x400 CSS-px viewport at deviceScaleFactor 2.
Screenshots go to $CITYBOT_SCREENSHOTS or test-artifacts/ (git-ignored).
"""

from __future__ import annotations

import json
import os
import re
import threading
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

pytestmark = pytest.mark.e2e

from tests.browser import CHROMIUM, LAUNCH_ARGS  # noqa: E402

if not os.path.exists(CHROMIUM):
    pytest.skip(
        f"{CHROMIUM} missing (apt-get install -y chromium chromium-driver)",
        allow_module_level=True,
    )

from playwright.sync_api import Page, expect, sync_playwright  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("CITYBOT_SCREENSHOTS") or ROOT / "test-artifacts")
WIDGET_DIR = ROOT / "web_widget"
HARNESS = Path(__file__).resolve().parent / "widget_harness.html"
SCRIPT_TAG = '<script src="/widget/widget.js" data-endpoint="/api" defer></script>'

LAUNCHER = "チャットで質問する"
WELCOME = "こんにちは。習志野市のAIチャットボットです（サンプル）。"
STAFF_WELCOME = "職員用チャットボットです。"
ERROR_TEXT = "通信に失敗しました。インターネットへの接続を確認して、「再送信」を押してください。"
SERVER_ERROR_TEXT = "ただいま回答できません。しばらくしてから「再送信」を押してください。"


# --------------------------------------------------------------------------- fixtures
class _Handler(BaseHTTPRequestHandler):
    TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}

    def log_message(self, *args):  # keep pytest output clean
        pass

    def _send(self, status: int, body: bytes, ctype: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):  # noqa: N802
        path = self.path.split("?", 1)[0]
        html = HARNESS.read_text(encoding="utf-8")
        assert SCRIPT_TAG in html, "harness must embed the widget with the documented tag"
        if path in ("/", "/index.html"):
            return self._send(200, html.encode(), "text/html; charset=utf-8")
        if path == "/staff.html":
            staff = html.replace(
                SCRIPT_TAG, SCRIPT_TAG.replace(" defer", ' data-mode="staff" defer')
            )
            return self._send(200, staff.encode(), "text/html; charset=utf-8")
        if path.startswith("/widget/"):
            name = path[len("/widget/") :]
            f = WIDGET_DIR / name
            if "/" not in name and f.is_file() and f.suffix in self.TYPES:
                return self._send(200, f.read_bytes(), self.TYPES[f.suffix])
        return self._send(404, b'{"error":"not found"}', "application/json")


@pytest.fixture(scope="module")
def base_url():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield b
        b.close()


class FakeApi:
    """Stub for POST {endpoint}/chat and /reset; records bodies, replies from a queue."""

    def __init__(self, page: Page):
        self.chat: list[dict] = []
        self.reset: list[str] = []
        self.replies: list = []  # (status, json) tuples or "abort"; default reply when empty
        self.hold = False  # when True, chat routes are parked in self.held for the test to fulfil
        self.held: list = []
        self.hold_reset = False  # likewise for /reset (parked in self.held_reset)
        self.held_reset: list = []
        self.order: list[str] = []  # "chat" / "reset", in the order the requests arrived
        page.route("**/api/chat", self._on_chat)
        page.route("**/api/reset", self._on_reset)

    def _on_chat(self, route):
        req = route.request
        assert req.method == "POST"
        assert req.headers.get("content-type", "").startswith("application/json")
        self.chat.append(json.loads(req.post_data or "null"))
        self.order.append("chat")
        if self.hold:
            self.held.append(route)
            return
        reply = (
            self.replies.pop(0)
            if self.replies
            else (200, {"messages": [{"text": "了解しました。"}]})
        )
        self.fulfil(route, reply)

    @staticmethod
    def fulfil(route, reply):
        if reply == "abort":
            route.abort("failed")
            return
        status, body = reply
        route.fulfill(
            status=status,
            content_type="application/json",
            body=json.dumps(body, ensure_ascii=False),
        )

    def _on_reset(self, route):
        self.reset.append(route.request.method)
        self.order.append("reset")
        if self.hold_reset:
            self.held_reset.append(route)
            return
        route.fulfill(status=200, content_type="application/json", body='{"ok": true}')


@pytest.fixture
def ctx(browser):
    context = browser.new_context(
        viewport={"width": 1280, "height": 800}, locale="ja-JP", timezone_id="Asia/Tokyo"
    )
    yield context
    context.close()


@pytest.fixture
def page(ctx, base_url):
    pg = ctx.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.api = FakeApi(pg)
    pg.goto(base_url + "/")
    yield pg
    assert not errors, f"JavaScript errors on the page: {errors}"


def open_widget(page: Page, welcome: str = WELCOME):
    page.get_by_role("button", name=LAUNCHER).click()
    expect(page.get_by_text(welcome)).to_be_visible()
    box = page.get_by_label("質問を入力")
    expect(box).to_be_focused()
    return box


def wait_until(page: Page, cond, timeout_ms: int = 5000):
    """Poll a Python-side condition while letting Playwright dispatch route callbacks."""
    for _ in range(timeout_ms // 50):
        if cond():
            return
        page.wait_for_timeout(50)
    raise AssertionError("condition not met in time")


def key_event(box, **init):
    """Dispatch a synthetic keydown Enter on the textarea; keyCode can be forced (e.g. 229)."""
    box.evaluate(
        """(el, init) => {
            const e = new KeyboardEvent('keydown', {key: 'Enter', code: 'Enter', bubbles: true,
                cancelable: true, composed: true, isComposing: !!init.isComposing});
            Object.defineProperty(e, 'keyCode', {get: () => init.keyCode});
            Object.defineProperty(e, 'which', {get: () => init.keyCode});
            el.dispatchEvent(e);
        }""",
        {"isComposing": init.get("isComposing", False), "keyCode": init.get("keyCode", 13)},
    )


# --------------------------------------------------------------------------- shared replies
SODAI_URL = "https://www.city.narashino.lg.jp/kurashi/gomi/sodai.html"
ANSWER = (
    200,
    {
        "messages": [
            {
                "text": "粗大ごみは事前申込制です。\n収集日の前日までに、インターネットか電話でお申し込みください。",
                "tier": "answer",
                "link": {"url": SODAI_URL, "title": "粗大ごみの出し方"},
                "buttons": [
                    {"title": "持ち物を知りたい", "choice": "f1", "kind": "follow_up"},
                    {"title": "オンラインで申し込みたい", "choice": "f2", "kind": "follow_up"},
                    {"title": "役に立った", "choice": "y", "kind": "feedback"},
                    {"title": "役に立たなかった", "choice": "n", "kind": "feedback"},
                ],
            }
        ]
    },
)
SUGGEST = (
    200,
    {
        "messages": [
            {
                "text": "もしかして、次のご質問でしょうか。当てはまるものを選んでください。",
                "tier": "suggest",
                "buttons": [
                    {"title": "粗大ごみはどうやって出せばいいですか。", "choice": "s1"},
                    {"title": "ごみの収集日を知りたい。", "choice": "s2"},
                    {"title": "どれにも当てはまらない", "choice": "s3", "kind": "none"},
                ],
            }
        ]
    },
)
NEW_TAB = lambda title: re.compile(rf"^{title}\s?（新しいタブで開きます）$")  # noqa: E731
THANKS = "ご回答ありがとうございます。お役に立ててうれしいです。"


def ask(page: Page, text: str, reply=ANSWER, wait_for: str = "役に立った"):
    """Type a question (the widget must be open) and wait for the stubbed reply."""
    bots = page.locator(".cb-bot:not(.cb-typing)")
    before = bots.count()
    page.api.replies.append(reply)
    box = page.get_by_label("質問を入力")
    box.fill(text)
    box.press("Enter")
    expect(bots).to_have_count(before + len(reply[1]["messages"]))
    expect(page.get_by_role("button", name=wait_for, exact=True).last).to_be_visible()
    return box


def settle(page: Page):
    """Wait for the panel's slide-in animation, so screenshots and geometry are final."""
    page.get_by_role("dialog").evaluate(
        "el => Promise.all(el.getAnimations({subtree: true})"
        ".filter(a => a.effect.getTiming().iterations !== Infinity).map(a => a.finished))"
    )


def shot(page: Page, name: str):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name))


def deep(page: Page, js: str, arg=None):
    """Evaluate `js` with the widget's shadow root as its first argument."""
    return page.evaluate(
        f"(arg) => ({js})(document.querySelector('citybot-widget').shadowRoot, arg)", arg
    )


# --------------------------------------------------------------------------- conversation
def test_enter_sends_one_request_and_renders_reply_with_link(page):
    box = open_widget(page)
    ask(page, "粗大ごみの出し方を教えて")

    reply = page.locator(".cb-bot .cb-text", has_text="粗大ごみは事前申込制です。")
    expect(reply).to_be_visible()
    assert page.api.chat == [{"message": "粗大ごみの出し方を教えて"}]
    expect(page.locator(".cb-user .cb-text")).to_have_text("粗大ごみの出し方を教えて")
    expect(page.locator(".cb-user .cb-sr").first).to_have_text("あなた：")
    expect(box).to_have_value("")
    # line break from the server text is preserved (white-space: pre-wrap)
    assert "\n収集日" in reply.inner_text()

    link = page.get_by_role("link", name=NEW_TAB("粗大ごみの出し方"))
    expect(link).to_have_attribute("href", SODAI_URL)
    expect(link).to_have_attribute("target", "_blank")
    assert {"noopener", "noreferrer"} <= set((link.get_attribute("rel") or "").split())


def test_ime_enter_while_composing_does_not_send(page):
    box = open_widget(page)
    box.fill("そだいごみ")

    box.dispatch_event("compositionstart", {"data": ""})
    key_event(box)  # plain Enter, but a composition is active
    key_event(box, isComposing=True, keyCode=229)  # Chrome: conversion confirmed by Enter
    box.dispatch_event("compositionend", {"data": "粗大ごみ"})
    key_event(box, isComposing=True, keyCode=13)  # isComposing still set on the event
    key_event(box, keyCode=229)  # Safari: compositionend fires before keydown 229
    page.wait_for_timeout(300)
    assert page.api.chat == []
    expect(box).to_have_value("そだいごみ")
    expect(page.locator(".cb-user")).to_have_count(0)

    box.press("Enter")  # a real Enter after the composition ended sends — exactly once
    expect(page.get_by_text("了解しました。")).to_be_visible()
    page.wait_for_timeout(300)
    assert page.api.chat == [{"message": "そだいごみ"}]
    expect(page.locator(".cb-user")).to_have_count(1)


def test_shift_enter_inserts_newline_without_sending(page):
    box = open_widget(page)
    box.fill("1行目")
    box.press("Shift+Enter")
    box.press_sequentially("2行目")
    page.wait_for_timeout(300)
    assert page.api.chat == []
    expect(box).to_have_value("1行目\n2行目")

    box.press("Enter")
    expect(page.get_by_text("了解しました。")).to_be_visible()
    assert page.api.chat == [{"message": "1行目\n2行目"}]


def test_send_button_sends_and_empty_input_never_does(page):
    box = open_widget(page)
    box.fill("   \n  ")
    box.press("Enter")
    page.get_by_role("button", name="送信").click()
    page.wait_for_timeout(300)
    assert page.api.chat == []
    assert page.locator(".cb-user").count() == 0
    expect(box).to_have_attribute("maxlength", "500")
    box.fill("図書館の場所")  # touch users tap 送信
    page.get_by_role("button", name="送信").click()
    expect(page.get_by_text("了解しました。")).to_be_visible()
    assert page.api.chat == [{"message": "図書館の場所"}]
    expect(box).to_be_focused()


def test_suggestion_buttons_send_the_opaque_choice(page):
    open_widget(page)
    ask(page, "ごみ", SUGGEST, wait_for="ごみの収集日を知りたい。")
    choice = page.get_by_role("button", name="粗大ごみはどうやって出せばいいですか。")
    none = page.get_by_role("button", name="どれにも当てはまらない")
    expect(none).to_have_class("cb-choice cb-k-none")

    page.api.replies.append(ANSWER)
    choice.click()
    expect(page.get_by_role("button", name="役に立った", exact=True)).to_be_visible()
    assert page.api.chat == [{"message": "ごみ"}, {"choice": "s1"}]
    expect(page.locator(".cb-user .cb-text").last).to_have_text(
        "粗大ごみはどうやって出せばいいですか。"
    )
    expect(choice).to_be_disabled()
    expect(choice).to_have_class("cb-choice cb-chosen")
    expect(none).to_be_disabled()


def test_follow_up_and_feedback_buttons_are_grouped_and_feedback_thanks(page):
    open_widget(page)
    ask(page, "粗大ごみ")
    feedback = page.get_by_role("group", name="この回答は役に立ちましたか？")
    expect(feedback.get_by_role("button")).to_have_text(["役に立った", "役に立たなかった"])
    groups = page.locator(".cb-bot").last.locator(".cb-choices")
    expect(groups).to_have_count(2)
    expect(groups.first.get_by_role("button")).to_have_text(
        ["持ち物を知りたい", "オンラインで申し込みたい"]
    )

    page.api.replies.append((200, {"messages": [{"text": THANKS, "tier": "feedback"}]}))
    feedback.get_by_role("button", name="役に立った", exact=True).click()
    expect(page.get_by_text(THANKS)).to_be_visible()
    assert page.api.chat[-1] == {"choice": "y"}
    expect(page.get_by_role("button", name="持ち物を知りたい")).to_be_disabled()  # retired


def test_server_html_is_rendered_as_text(page):
    payload = '<img src=x onerror="window.__pwned=1">こんにちは<b>太字</b>'
    page.api.replies.append(
        (
            200,
            {
                "messages": [
                    {
                        "text": payload,
                        "link": {
                            "url": "/kurashi/",
                            "title": '<img src=y onerror="window.__pwned=2">',
                        },
                        "buttons": [
                            {"title": '<img src=z onerror="window.__pwned=3">', "choice": "x"}
                        ],
                    }
                ]
            },
        )
    )
    box = open_widget(page)
    box.fill("test")
    box.press("Enter")
    expect(page.locator(".cb-bot .cb-text").last).to_have_text(payload)
    counts = page.evaluate("""() => {
        const r = document.querySelector('citybot-widget').shadowRoot;
        return [r.querySelectorAll('img, b').length, document.querySelectorAll('img').length];
    }""")
    assert counts == [0, 0]
    page.wait_for_timeout(200)
    assert page.evaluate("window.__pwned") is None


def test_typing_indicator_while_waiting(page):
    page.api.hold = True
    box = open_widget(page)
    box.fill("図書館の開館時間")
    box.press("Enter")
    typing = page.locator(".cb-typing")
    expect(typing).to_be_visible()
    expect(typing).to_have_text("回答を作成中です")
    expect(page.locator(".cb-user .cb-text")).to_have_text("図書館の開館時間")
    box.fill("次の質問")
    box.press("Enter")  # one question at a time: ignored while waiting, the text is kept
    expect(box).to_have_value("次の質問")
    assert len(page.api.held) == 1
    FakeApi.fulfil(page.api.held.pop(), (200, {"messages": [{"text": "9時から19時までです。"}]}))
    expect(page.get_by_text("9時から19時までです。")).to_be_visible()
    expect(typing).to_have_count(0)


def test_network_failure_shows_japanese_error_and_resend_succeeds(page):
    page.api.replies += ["abort", (200, {"messages": [{"text": "再送信できました。"}]})]
    box = open_widget(page)
    box.fill("住民票の取り方")
    box.press("Enter")
    error = page.locator(".cb-error")
    expect(error.locator(".cb-text")).to_have_text(ERROR_TEXT)
    resend = error.get_by_role("button", name="再送信")
    expect(resend).to_be_visible()

    resend.click()
    expect(page.get_by_text("再送信できました。")).to_be_visible()
    assert page.api.chat == [{"message": "住民票の取り方"}] * 2
    expect(page.locator(".cb-error")).to_have_count(0)
    expect(page.locator(".cb-user")).to_have_count(1)  # retry does not duplicate the user bubble
    expect(box).to_be_focused()  # focus does not fall out of the dialog with the removed button


def test_500_and_4xx_errors(page):
    page.api.replies += [
        (500, {"error": "internal"}),
        (429, {"error": "ただいま混み合っています。"}),
        (200, {"messages": [{"text": "再送信できました。"}]}),
    ]
    box = open_widget(page)
    box.fill("質問1")
    box.press("Enter")
    expect(page.get_by_text(SERVER_ERROR_TEXT)).to_be_visible()
    expect(page.get_by_text("internal")).to_have_count(0)  # 5xx bodies are not shown
    box.fill("質問2")
    box.press("Enter")
    expect(page.get_by_text("ただいま混み合っています。")).to_be_visible()  # 4xx texts are
    expect(page.get_by_role("button", name="再送信")).to_have_count(2)
    page.get_by_role("button", name="再送信").first.click()
    expect(page.get_by_text("再送信できました。")).to_be_visible()
    assert page.api.chat[-1] == {"message": "質問1"}


def test_unsafe_link_schemes_are_not_rendered(page):
    bad = [
        "javascript:window.__pwned=1",
        " JaVaScRiPt:alert(1)",
        "data:text/html,<b>x</b>",
        "vbscript:x",
        "kurashi/relative.html",
        "//evil.example.net/",
    ]
    msgs = [
        {"text": f"危険{i}", "link": {"url": u, "title": f"悪いリンク{i}"}}
        for i, u in enumerate(bad)
    ]
    msgs.append({"text": "安全", "link": {"url": "/kurashi/gomi/", "title": ""}})
    page.api.replies.append((200, {"messages": msgs}))
    box = open_widget(page)
    box.fill("リンク")
    box.press("Enter")
    expect(page.get_by_text("安全")).to_be_visible()
    for i in range(len(bad)):
        expect(page.get_by_text(f"危険{i}")).to_be_visible()
    links = page.locator("citybot-widget a")
    expect(links).to_have_count(1)
    expect(links).to_have_attribute("href", "/kurashi/gomi/")
    expect(page.get_by_role("link")).to_have_accessible_name(NEW_TAB("詳しくはこちら"))


def test_messages_carry_hh_mm_timestamps_with_japanese_labels(page):
    tokyo = ZoneInfo("Asia/Tokyo")
    page.clock.set_fixed_time(datetime(2026, 11, 24, 15, 5, tzinfo=tokyo))
    page.reload()
    box = open_widget(page)
    welcome_time = page.locator(".cb-bot time").first
    expect(welcome_time).to_have_attribute("datetime", "2026-11-24T06:05:00.000Z")
    expect(welcome_time.locator("[aria-hidden=true]")).to_have_text("15:05")
    expect(welcome_time.locator(".cb-sr")).to_have_text("午後3時05分")

    page.clock.set_fixed_time(datetime(2026, 11, 25, 9, 7, tzinfo=tokyo))
    box.fill("開庁時間")
    box.press("Enter")
    expect(page.get_by_text("了解しました。")).to_be_visible()
    user_time = page.locator(".cb-user time")
    expect(user_time.locator("[aria-hidden=true]")).to_have_text("09:07")
    expect(user_time.locator(".cb-sr")).to_have_text("午前9時07分")
    page.clock.set_fixed_time(datetime(2026, 11, 25, 0, 30, tzinfo=tokyo))
    box.fill("夜中の質問")
    box.press("Enter")
    expect(page.locator(".cb-user time .cb-sr").last).to_have_text("午前0時30分")
    page.reload()  # timestamps are kept with the history
    expect(page.locator(".cb-user time .cb-sr").first).to_have_text("午前9時07分")


def test_history_survives_reload_and_reset_clears_it(page):
    box = open_widget(page)
    box.fill("保育園の申込")
    box.press("Enter")
    expect(page.get_by_text("了解しました。")).to_be_visible()

    page.reload()
    expect(page.get_by_text("保育園の申込")).to_be_visible()  # panel re-opened with history
    expect(page.get_by_text("了解しました。")).to_be_visible()

    page.get_by_role("button", name="最初から").click()
    expect(page.get_by_text("保育園の申込")).to_have_count(0)
    expect(page.get_by_text(WELCOME)).to_be_visible()
    wait_until(page, lambda: page.api.reset)
    assert page.api.reset == ["POST"]
    expect(page.get_by_label("質問を入力")).to_be_focused()
    page.reload()
    expect(page.get_by_text(WELCOME)).to_be_visible()
    expect(page.get_by_text("保育園の申込")).to_have_count(0)


def test_a_question_after_reset_waits_for_the_reset(page):
    page.api.hold_reset = True
    box = open_widget(page)
    page.get_by_role("button", name="最初から").click()
    wait_until(page, lambda: page.api.held_reset)
    box.fill("新しい質問")
    box.press("Enter")
    expect(page.locator(".cb-typing")).to_be_visible()
    page.wait_for_timeout(300)
    assert page.api.order == ["reset"]  # the new turn must not reach the old conversation
    page.api.held_reset.pop().fulfill(status=200, content_type="application/json", body="{}")
    expect(page.get_by_text("了解しました。")).to_be_visible()
    assert page.api.order == ["reset", "chat"]


# --------------------------------------------------------------------------- keyboard
FOCUSED_JS = """() => {
    let a = document.activeElement;
    while (a && a.shadowRoot && a.shadowRoot.activeElement) a = a.shadowRoot.activeElement;
    if (!a || a === document.body) return null;
    const name = a.getAttribute('aria-label') || a.textContent.trim() || a.tagName;
    const style = getComputedStyle(a);
    return {name: name, inPanel: !!(a.closest && a.closest('.cb-panel')),
            outline: style.outlineStyle + ' ' + style.outlineWidth};
}"""
PANEL_CYCLE = ["送信", "閉じる", "標準", "大きく", "最初から", "会話の履歴", "TEXTAREA"]


def test_keyboard_only_walkthrough_with_focus_trap(page):
    for _ in range(10):  # Tab from the top of the page to the launcher
        page.keyboard.press("Tab")
        if (page.evaluate(FOCUSED_JS) or {}).get("name") == LAUNCHER:
            break
    focused = page.evaluate(FOCUSED_JS)
    assert focused["name"] == LAUNCHER, focused
    assert focused["outline"] == "solid 3px"  # visible focus
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="習志野市 AIチャットボット（サンプル）")
    expect(dialog).to_be_visible()
    expect(dialog).to_have_attribute("aria-modal", "true")
    expect(page.get_by_label("質問を入力")).to_be_focused()

    forward = []
    for _ in PANEL_CYCLE:
        page.keyboard.press("Tab")
        forward.append(page.evaluate(FOCUSED_JS))
    assert [f["name"] for f in forward] == PANEL_CYCLE, forward  # wraps round: trapped
    assert all(f["inPanel"] for f in forward)
    assert all(f["outline"].startswith("solid") for f in forward), forward

    backward = []
    for _ in PANEL_CYCLE:
        page.keyboard.press("Shift+Tab")
        backward.append(page.evaluate(FOCUSED_JS)["name"])
    assert backward == PANEL_CYCLE[-2::-1] + ["TEXTAREA"]

    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(page.get_by_role("button", name=LAUNCHER)).to_be_focused()
    expect(page.get_by_role("button", name=LAUNCHER)).to_have_attribute("aria-expanded", "false")

    page.keyboard.press("Enter")  # reopen from the keyboard, answer buttons are reachable too
    expect(dialog).to_be_visible()
    ask(page, "粗大ごみ")
    names = []
    for _ in range(12):
        page.keyboard.press("Tab")
        names.append(page.evaluate(FOCUSED_JS)["name"])
    assert any(NEW_TAB("粗大ごみの出し方").match(n) for n in names), names
    assert "役に立った" in names
    assert names.count("TEXTAREA") == 1  # 12 presses = one full cycle of 11 stops + 1

    page.get_by_role("button", name="閉じる").click()  # the close button works too
    expect(dialog).to_be_hidden()
    expect(page.get_by_role("button", name=LAUNCHER)).to_be_focused()


def test_escape_during_ime_composition_does_not_close(page):
    box = open_widget(page)
    box.dispatch_event("compositionstart", {"data": ""})
    box.press("Escape")  # cancels the conversion, not the chat
    expect(page.get_by_role("dialog")).to_be_visible()
    box.dispatch_event("compositionend", {"data": ""})
    box.press("Escape")
    expect(page.get_by_role("dialog")).to_be_hidden()


# --------------------------------------------------------------------------- look and feel
def test_page_css_does_not_leak_in_or_out(page):
    open_widget(page)
    send = page.get_by_role("button", name="送信")
    expect(send).to_be_visible()  # page rule `.cb-send {display:none}` must not apply
    assert send.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(11, 87, 164)"
    assert send.evaluate("e => getComputedStyle(e).fontSize") == "16px"  # not the page's 17px
    probe = page.locator("#page-probe")
    assert probe.evaluate("e => getComputedStyle(e).position") == "static"
    assert (
        page.locator("#page-button").evaluate("e => getComputedStyle(e).backgroundColor")
        == "rgb(255, 0, 0)"
    )
    # one script, one stylesheet, both from /widget/: no CDN, no web font
    urls = page.evaluate("performance.getEntriesByType('resource').map(e => e.name)")
    assert sorted(u.split("/", 3)[3] for u in urls if "/widget/" in u) == [
        "widget/widget.css",
        "widget/widget.js",
    ]
    assert all(u.startswith(page.url.rstrip("/")) for u in urls), urls
    assert page.evaluate("document.fonts.size") == 0


def test_font_size_toggle_persists_across_reload(page):
    open_widget(page)
    normal = page.get_by_role("button", name="標準", exact=True)
    large = page.get_by_role("button", name="大きく", exact=True)
    expect(page.get_by_role("group", name="文字サイズ")).to_be_visible()
    expect(normal).to_have_attribute("aria-pressed", "true")
    expect(large).to_have_attribute("aria-pressed", "false")
    text = page.locator(".cb-bot .cb-text").first
    assert text.evaluate("e => getComputedStyle(e).fontSize") == "16px"

    large.click()
    expect(large).to_have_attribute("aria-pressed", "true")
    expect(normal).to_have_attribute("aria-pressed", "false")
    assert text.evaluate("e => getComputedStyle(e).fontSize") == "20px"
    assert page.evaluate("localStorage.getItem('citybot:v1:text-size')") == "large"

    page.reload()
    expect(large).to_have_attribute("aria-pressed", "true")
    assert text.evaluate("e => getComputedStyle(e).fontSize") == "20px"
    page.get_by_role("button", name="閉じる").click()
    launcher = page.get_by_role("button", name=LAUNCHER)
    assert launcher.evaluate("e => getComputedStyle(e).fontSize") == "20px"
    launcher.click()
    normal.click()
    expect(normal).to_have_attribute("aria-pressed", "true")
    assert text.evaluate("e => getComputedStyle(e).fontSize") == "16px"


def test_staff_mode_header_is_distinct(page, base_url):
    open_widget(page)
    resident_bg = page.locator(".cb-head").evaluate("e => getComputedStyle(e).backgroundColor")
    expect(page.locator(".cb-badge")).to_have_count(0)

    for width, height in [(375, 667), (1280, 800)]:
        page.set_viewport_size({"width": width, "height": height})
        page.goto(base_url + "/staff.html")
        if width == 375:
            page.get_by_role("button", name="職員用チャットで質問する").click()
            expect(page.get_by_text(STAFF_WELCOME)).to_be_visible()
        dialog = page.get_by_role("dialog", name="習志野市 AIチャットボット（サンプル）")
        expect(dialog.locator(".cb-badge")).to_have_text("職員用")
        expect(dialog.get_by_text("庁内向けの情報で回答します")).to_be_visible()
        staff_bg = page.locator(".cb-head").evaluate("e => getComputedStyle(e).backgroundColor")
        assert staff_bg == "rgb(91, 45, 134)" != resident_bg  # purple, not the resident blue
        if width == 375:
            ask(page, "パスワードを忘れた")
        else:  # the open panel and its history followed the staff member to the next page
            expect(page.get_by_text("パスワードを忘れた")).to_be_visible()
            # … scrolled to the newest message
            expect(page.get_by_role("button", name="役に立った", exact=True)).to_be_in_viewport()
        settle(page)
        shot(page, f"widget-staff-{width}x{height}.png")
    assert page.api.chat == [{"message": "パスワードを忘れた"}]


def test_mobile_panel_is_full_screen(page):
    page.set_viewport_size({"width": 375, "height": 667})
    open_widget(page)
    for question in ("粗大ごみ", "粗大ごみの料金", "粗大ごみの出し方"):  # more than a screenful
        ask(page, question)
    settle(page)
    box = page.get_by_role("dialog").bounding_box()
    assert (box["x"], box["y"], box["width"], box["height"]) == (0, 0, 375, 667)
    # the log scrolls (to the newest message), the panel itself does not: header stays put
    scroll = deep(
        page,
        """r => { const p = r.querySelector('.cb-panel'), l = r.querySelector('.cb-log');
        return [p.scrollHeight - p.clientHeight, p.scrollTop, l.scrollHeight > l.clientHeight,
                l.scrollHeight - l.clientHeight - l.scrollTop]; }""",
    )
    assert scroll[:3] == [0, 0, True] and scroll[3] <= 1, scroll
    expect(
        page.get_by_role("heading", name="習志野市 AIチャットボット（サンプル）")
    ).to_be_in_viewport()
    expect(page.get_by_role("button", name="役に立った", exact=True).last).to_be_in_viewport()
    shot(page, "widget-harness-375x667.png")


def test_desktop_panel_is_side_panel(page):
    launcher = page.get_by_role("button", name=LAUNCHER).bounding_box()
    assert launcher["x"] + launcher["width"] > 1200 and launcher["y"] + launcher["height"] > 720
    open_widget(page)
    ask(page, "粗大ごみの出し方")
    settle(page)
    box = page.get_by_role("dialog").bounding_box()
    assert 360 <= box["width"] <= 400 and 600 <= box["height"] <= 660
    assert box["x"] + box["width"] > 1240 and box["y"] + box["height"] > 760  # bottom-right
    shot(page, "widget-harness-1280x800.png")


def test_safe_area_insets_are_honoured(page):
    """env(safe-area-inset-*) is 0 in desktop Chromium; the rules must at least be in force."""
    page.set_viewport_size({"width": 375, "height": 667})
    open_widget(page)
    rules = deep(
        page,
        "r => [...r.styleSheets].flatMap(s => [...s.cssRules]).map(x => x.cssText).join('\\n')",
    )
    for side in ("top", "bottom", "left", "right"):
        assert f"env(safe-area-inset-{side}" in rules


DURATIONS_JS = """e => { const s = getComputedStyle(e);
    return [s.animationName, s.animationDuration, s.transitionDuration]; }"""


def test_reduced_motion_disables_animation(page):
    page.emulate_media(reduced_motion="reduce")
    page.api.hold = True
    box = open_widget(page)
    box.fill("質問")
    box.press("Enter")
    dots = page.locator(".cb-typing .cb-dots i").first
    expect(dots).to_be_visible()
    parts = {
        "panel": page.get_by_role("dialog"),
        "typing": dots,
        "launcher": page.locator("citybot-widget .cb-launcher"),
        "send": page.get_by_role("button", name="送信"),
    }
    for name, el in parts.items():
        assert el.evaluate(DURATIONS_JS) == ["none", "0s", "0s"], name

    page.emulate_media(reduced_motion="no-preference")
    assert parts["panel"].evaluate(DURATIONS_JS)[:2] == ["cb-in", "0.18s"]
    assert dots.evaluate(DURATIONS_JS)[:2] == ["cb-bounce", "1.2s"]
    assert parts["launcher"].evaluate(DURATIONS_JS)[2] != "0s"
    FakeApi.fulfil(page.api.held.pop(), (200, {"messages": [{"text": "了解しました。"}]}))
    expect(page.get_by_text("了解しました。")).to_be_visible()


LAYOUT_JS = """(r) => {
    const panel = r.querySelector('.cb-panel'), log = r.querySelector('.cb-log');
    const vw = document.documentElement.clientWidth, vh = innerHeight;
    const pr = panel.getBoundingClientRect();
    const outside = [...panel.querySelectorAll('*')].filter(e => !e.closest('.cb-sr'))
        .filter(e => { const b = e.getBoundingClientRect();
                       return b.width > 0 && (b.left < pr.left - 0.5 || b.right > pr.right + 0.5); })
        .map(e => e.className || e.tagName);
    const seen = el => { const b = el.getBoundingClientRect();
        if (b.top < 0 || b.left < 0 || b.bottom > vh + 0.5 || b.right > vw + 0.5) return false;
        const hit = r.elementFromPoint(b.left + b.width / 2, b.top + b.height / 2);
        return hit === el || el.contains(hit); };
    return {panelOverflowX: panel.scrollWidth - panel.clientWidth,
            logOverflowX: log.scrollWidth - log.clientWidth, outside: outside,
            inputVisible: seen(r.querySelector('.cb-input')),
            sendVisible: seen(r.querySelector('.cb-send')),
            logHeight: log.getBoundingClientRect().height,
            textSize: getComputedStyle(r.querySelector('.cb-bot .cb-text')).fontSize};
}"""


def assert_reflows(page: Page, text_size: str):
    layout = deep(page, LAYOUT_JS)
    assert layout["textSize"] == text_size, layout
    assert layout["panelOverflowX"] <= 0 and layout["logOverflowX"] <= 0, layout
    assert layout["outside"] == [], layout  # nothing cut off at the sides
    assert layout["inputVisible"] and layout["sendVisible"], layout
    assert layout["logHeight"] >= 100, layout  # the conversation itself still has room
    # a very short panel scrolls as a whole: the input stays pinned when scrolled to the top
    deep(page, "r => { r.querySelector('.cb-panel').scrollTop = 0; }")
    top = deep(page, LAYOUT_JS)
    assert top["inputVisible"] and top["sendVisible"], top
    expect(
        page.get_by_role("heading", name="習志野市 AIチャットボット（サンプル）")
    ).to_be_in_viewport()
    return layout


@pytest.mark.parametrize(("width", "height"), [(375, 667), (1280, 800)])
def test_200_percent_text_zoom(ctx, base_url, width, height):
    """Chromium's font-size setting at 32 px (twice the default): text-only zoom."""
    page = ctx.new_page()
    page.api = FakeApi(page)
    page.set_viewport_size({"width": width, "height": height})
    ctx.new_cdp_session(page).send("Page.setFontSizes", {"fontSizes": {"standard": 32}})
    page.goto(base_url + "/")
    open_widget(page)
    ask(page, "粗大ごみの出し方を詳しく教えてください")
    settle(page)
    assert_reflows(page, "32px")
    shot(page, f"widget-text-zoom-200-{width}x{height}.png")


def test_200_percent_page_zoom(browser, base_url):
    """Ctrl+ to 200% on a 1280x800 window: a 640x400 CSS viewport at device pixel ratio 2."""
    context = browser.new_context(
        viewport={"width": 640, "height": 400},
        device_scale_factor=2,
        locale="ja-JP",
        timezone_id="Asia/Tokyo",
    )
    page = context.new_page()
    page.api = FakeApi(page)
    page.goto(base_url + "/")
    open_widget(page)
    ask(page, "粗大ごみの出し方を詳しく教えてください")
    settle(page)
    assert_reflows(page, "16px")
    box = page.get_by_role("dialog").bounding_box()  # short viewport: full screen
    assert (box["width"], box["height"]) == (640, 400)
    shot(page, "widget-page-zoom-200-1280x800.png")
    context.close()


CONTRAST_JS = """(sel) => {
    const root = document.querySelector('citybot-widget').shadowRoot;
    const rgb = s => s.match(/[\\d.]+/g).map(Number);
    const lum = c => {
        const [r, g, b] = c.slice(0, 3).map(v => { v /= 255;
            return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
        return 0.2126 * r + 0.7152 * g + 0.0722 * b;
    };
    return [...root.querySelectorAll(sel)].map(el => {
        const fg = rgb(getComputedStyle(el).color);
        let n = el, bg;
        while (n && n.nodeType === 1) {
            const c = rgb(getComputedStyle(n).backgroundColor);
            if (c.length < 4 || c[3] > 0) { bg = c; break; }
            n = n.parentNode instanceof ShadowRoot ? null : n.parentNode;
        }
        bg = bg || [255, 255, 255];
        const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
        return [sel, el.textContent.slice(0, 12), Math.round((a + 0.05) / (b + 0.05) * 100) / 100];
    });
}"""
TEXT_PARTS = [
    ".cb-launcher",
    ".cb-title",
    ".cb-badge",
    ".cb-sub",
    ".cb-hbtn",
    ".cb-tbtn",
    ".cb-size-label",
    ".cb-bot .cb-text",
    ".cb-user .cb-text",
    ".cb-link",
    ".cb-choice",
    ".cb-feedback-q",
    ".cb-bot .cb-time",
    ".cb-user .cb-time",
    ".cb-label",
    ".cb-send",
    ".cb-note",
    ".cb-error .cb-text",
    ".cb-retry",
]


@pytest.mark.parametrize("path", ["/", "/staff.html"])
def test_text_contrast_at_least_4_5(page, base_url, path):
    page.goto(base_url + path)
    launcher = page.evaluate(CONTRAST_JS, ".cb-launcher")
    page.get_by_role("button", name=LAUNCHER).click()
    ask(page, "質問")
    page.api.replies.append((500, {}))
    box = page.get_by_label("質問を入力")
    box.fill("もう一度")
    box.press("Enter")
    expect(page.get_by_role("button", name="再送信")).to_be_visible()
    results = launcher + [r for sel in TEXT_PARTS[1:] for r in page.evaluate(CONTRAST_JS, sel)]
    seen = {r[0] for r in results}
    expected = set(TEXT_PARTS) - ({".cb-badge", ".cb-sub"} if path == "/" else set())
    assert seen == expected
    low = [r for r in results if r[2] < 4.5]
    assert not low, f"contrast below 4.5:1: {low}"


# --------------------------------------------------------------------------- the real stack
@pytest.mark.integration
def test_real_stack_answer_suggestions_feedback_and_history(live_stack, browser):
    """The sample homepage served by the gateway (with its CSP), the real Rasa and actions."""
    context = browser.new_context(
        viewport={"width": 375, "height": 667}, locale="ja-JP", timezone_id="Asia/Tokyo"
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    # the widget must work under the gateway's CSP: no refused inline style or script
    page.on("console", lambda m: "Content Security Policy" in m.text and errors.append(m.text))
    page.goto(live_stack.url + "/")
    page.get_by_role("button", name=LAUNCHER).click()
    box = page.get_by_label("質問を入力")
    expect(box).to_be_focused()
    bots = page.locator(".cb-bot:not(.cb-typing)")

    # a question -> an answer with a link to the site (new tab) and feedback buttons
    box.fill("粗大ごみはどうやって出せばいいですか")
    box.press("Enter")
    answer = bots.last
    expect(answer.get_by_role("group", name="この回答は役に立ちましたか？")).to_be_visible(
        timeout=30_000
    )
    link = answer.get_by_role("link")
    expect(link).to_have_attribute("href", re.compile(r"^/kurashi/gomi/"))
    expect(link).to_have_attribute("target", "_blank")

    # 「ごみ」 is ambiguous -> もしかして candidates; picking one answers it
    box.fill("ごみ")
    box.press("Enter")
    suggest = bots.filter(has_text="もしかして").last
    expect(suggest).to_be_visible(timeout=30_000)
    candidates = suggest.locator(".cb-choice:not(.cb-k-none)")
    assert candidates.count() >= 2
    picked = candidates.first.inner_text()
    before = bots.count()
    candidates.first.click()
    expect(page.locator(".cb-user .cb-text").last).to_have_text(picked)
    expect(bots).to_have_count(before + 1, timeout=30_000)
    chosen_answer = bots.last
    expect(chosen_answer.get_by_role("button", name="役に立った", exact=True)).to_be_enabled()

    # feedback -> the thanks message
    chosen_answer.get_by_role("button", name="役に立った", exact=True).click()
    expect(page.get_by_text(THANKS)).to_be_visible(timeout=30_000)
    expect(page.locator(".cb-bot time").last).to_have_attribute("datetime", re.compile("Z$"))
    shot(page, "widget-live-375x667.png")
    # the click is recorded against that answer in the conversation log
    import sqlite3

    with sqlite3.connect(live_stack.log_db) as db:
        rated = db.execute("SELECT feedback FROM turns WHERE kind = 'choice' AND text = ? AND faq_id IS NOT NULL",
                           (picked,)).fetchall()
    assert ("helpful",) in rated

    # the conversation follows the resident across pages: reload and a link inside the site
    page.reload()
    expect(page.get_by_text(THANKS)).to_be_visible()
    expect(page.locator(".cb-user .cb-text")).to_have_text(
        ["粗大ごみはどうやって出せばいいですか", "ごみ", picked, "役に立った"]
    )
    page.get_by_role("button", name="閉じる").click()
    page.locator("a[href='/kurashi/index.html']").first.click()
    page.wait_for_url("**/kurashi/index.html")
    page.get_by_role("button", name=LAUNCHER).click()
    expect(page.get_by_text(THANKS)).to_be_visible()
    assert not errors, errors
    context.close()
