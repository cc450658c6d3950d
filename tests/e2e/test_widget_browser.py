"""Browser tests for the resident chat widget (web_widget/widget.js + widget.css).

Serves web_widget/ under /widget/ plus tests/e2e/widget_harness.html on 127.0.0.1 and drives
Debian's /usr/bin/chromium with Playwright. The citybot API is stubbed with page.route(), so no
backend is needed. Run:
    .venv/bin/python -m pytest tests/e2e/test_widget_browser.py -q -p no:cacheprovider
"""

from __future__ import annotations

import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

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
WIDGET_DIR = ROOT / "web_widget"
HARNESS = Path(__file__).resolve().parent / "widget_harness.html"
SCRIPT_TAG = '<script src="/widget/widget.js" data-endpoint="/api" defer></script>'

LAUNCHER = "チャットで質問する"
WELCOME = "こんにちは。習志野市のAIチャットボットです（サンプル）。"
ERROR_TEXT = "通信に失敗しました。時間をおいてもう一度お試しください。"


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
        page.route("**/api/chat", self._on_chat)
        page.route("**/api/reset", self._on_reset)

    def _on_chat(self, route):
        req = route.request
        assert req.method == "POST"
        assert req.headers.get("content-type", "").startswith("application/json")
        self.chat.append(json.loads(req.post_data or "null"))
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
        route.fulfill(status=204, body="")


@pytest.fixture
def ctx(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="ja-JP")
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


def open_widget(page: Page):
    page.get_by_role("button", name=LAUNCHER).click()
    expect(page.get_by_text(WELCOME)).to_be_visible()
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


# --------------------------------------------------------------------------- tests
def test_enter_sends_one_request_and_renders_reply_with_link(page):
    page.api.replies.append(
        (
            200,
            {
                "messages": [
                    {
                        "text": "粗大ごみは事前申込制です。\n申込はインターネットか電話で受け付けています。",
                        "link": {
                            "url": "https://www.city.narashino.lg.jp/kurashi/gomi/sodai.html",
                            "title": "粗大ごみの出し方",
                        },
                    }
                ]
            },
        )
    )
    box = open_widget(page)
    box.fill("粗大ごみの出し方を教えて")
    box.press("Enter")

    reply = page.locator(".cb-bot .cb-text", has_text="粗大ごみは事前申込制です。")
    expect(reply).to_be_visible()
    assert page.api.chat == [{"message": "粗大ごみの出し方を教えて"}]
    expect(page.locator(".cb-user")).to_have_text("あなた：粗大ごみの出し方を教えて")
    expect(box).to_have_value("")
    # line break from the server text is preserved (white-space: pre-wrap)
    assert "\n申込は" in reply.inner_text()

    link = page.get_by_role("link", name="粗大ごみの出し方")
    expect(link).to_have_attribute(
        "href", "https://www.city.narashino.lg.jp/kurashi/gomi/sodai.html"
    )
    expect(link).to_have_attribute("target", "_blank")
    assert "noopener" in (link.get_attribute("rel") or "").split()


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

    box.press("Enter")
    expect(page.get_by_text("了解しました。")).to_be_visible()
    assert page.api.chat == [{"message": "そだいごみ"}]


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


def test_empty_or_whitespace_input_never_sends(page):
    box = open_widget(page)
    box.fill("   \n  ")
    box.press("Enter")
    page.get_by_role("button", name="送信").click()
    page.wait_for_timeout(300)
    assert page.api.chat == []
    assert page.locator(".cb-user").count() == 0
    expect(box).to_have_attribute("maxlength", "500")


def test_reply_buttons_render_and_send_choice(page):
    page.api.replies += [
        (
            200,
            {
                "messages": [
                    {
                        "text": "どのごみについて知りたいですか。",
                        "buttons": [
                            {"title": "燃やせるごみ", "choice": "c1"},
                            {"title": "粗大ごみ", "choice": "c2"},
                        ],
                    }
                ]
            },
        ),
        (200, {"messages": [{"text": "粗大ごみは予約制です。"}]}),
    ]
    box = open_widget(page)
    box.fill("ごみ")
    box.press("Enter")
    choice = page.get_by_role("button", name="粗大ごみ")
    expect(choice).to_be_visible()
    expect(page.get_by_role("button", name="燃やせるごみ")).to_be_visible()

    choice.click()
    expect(page.get_by_text("粗大ごみは予約制です。")).to_be_visible()
    assert page.api.chat == [{"message": "ごみ"}, {"choice": "c2"}]
    expect(page.locator(".cb-user").last).to_have_text("あなた：粗大ごみ")
    expect(choice).to_be_disabled()
    expect(page.get_by_role("button", name="燃やせるごみ")).to_be_disabled()


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
    typing = page.get_by_label("入力中…")
    expect(typing).to_be_visible()
    expect(page.locator(".cb-user")).to_have_text("あなた：図書館の開館時間")
    assert len(page.api.held) == 1
    FakeApi.fulfil(page.api.held.pop(), (200, {"messages": [{"text": "9時から19時までです。"}]}))
    expect(page.get_by_text("9時から19時までです。")).to_be_visible()
    expect(typing).to_have_count(0)


def test_500_shows_error_and_retry_resends(page):
    page.api.replies += [
        (500, {"error": "internal"}),
        (200, {"messages": [{"text": "再送信できました。"}]}),
    ]
    box = open_widget(page)
    box.fill("住民票の取り方")
    box.press("Enter")
    expect(page.get_by_text(ERROR_TEXT)).to_be_visible()
    expect(page.get_by_text("internal")).to_have_count(0)  # 5xx bodies are not shown

    page.get_by_role("button", name="再送信").click()
    expect(page.get_by_text("再送信できました。")).to_be_visible()
    assert page.api.chat == [{"message": "住民票の取り方"}] * 2
    expect(page.get_by_text(ERROR_TEXT)).to_have_count(0)
    expect(page.locator(".cb-user")).to_have_count(1)  # retry does not duplicate the user bubble


def test_network_failure_and_4xx_error_text(page):
    page.api.replies += ["abort", (429, {"error": "ただいま混み合っています。"})]
    box = open_widget(page)
    box.fill("質問1")
    box.press("Enter")
    expect(page.get_by_text(ERROR_TEXT)).to_be_visible()
    box.fill("質問2")
    box.press("Enter")
    expect(page.get_by_text("ただいま混み合っています。")).to_be_visible()
    expect(page.get_by_role("button", name="再送信")).to_have_count(2)


def test_unsafe_link_schemes_are_not_rendered(page):
    bad = [
        "javascript:window.__pwned=1",
        " JaVaScRiPt:alert(1)",
        "data:text/html,<b>x</b>",
        "vbscript:x",
        "kurashi/relative.html",
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
    expect(links).to_have_text("詳しくはこちら")  # default title


def test_history_survives_reload_and_reset_clears_it(page):
    box = open_widget(page)
    box.fill("保育園の申込")
    box.press("Enter")
    expect(page.get_by_text("了解しました。")).to_be_visible()

    page.reload()
    expect(page.get_by_text("あなた：保育園の申込")).to_be_visible()  # panel re-opened with history
    expect(page.get_by_text("了解しました。")).to_be_visible()

    page.get_by_role("button", name="最初から").click()
    expect(page.get_by_text("保育園の申込")).to_have_count(0)
    expect(page.get_by_text(WELCOME)).to_be_visible()
    wait_until(page, lambda: page.api.reset)
    assert page.api.reset == ["POST"]
    page.reload()
    expect(page.get_by_text(WELCOME)).to_be_visible()
    expect(page.get_by_text("保育園の申込")).to_have_count(0)


def test_escape_closes_and_returns_focus(page):
    box = open_widget(page)
    dialog = page.get_by_role("dialog", name="習志野市 AIチャットボット（サンプル）")
    expect(dialog).to_be_visible()
    box.press("Escape")
    expect(dialog).to_be_hidden()
    expect(page.get_by_role("button", name=LAUNCHER)).to_be_focused()
    # close button works too
    open_widget(page)
    page.get_by_role("button", name="閉じる").click()
    expect(dialog).to_be_hidden()


def test_page_css_does_not_leak_in_or_out(page):
    open_widget(page)
    send = page.get_by_role("button", name="送信")
    expect(send).to_be_visible()  # page rule `.cb-send {display:none}` must not apply
    assert send.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(11, 87, 164)"
    probe = page.locator("#page-probe")
    assert probe.evaluate("e => getComputedStyle(e).position") == "static"
    assert (
        page.locator("#page-button").evaluate("e => getComputedStyle(e).backgroundColor")
        == "rgb(255, 0, 0)"
    )


def test_staff_mode_header(page, base_url):
    page.goto(base_url + "/")
    open_widget(page)
    resident_bg = page.locator(".cb-head").evaluate("e => getComputedStyle(e).backgroundColor")
    expect(page.get_by_text("職員向けモード")).to_have_count(0)

    page.goto(base_url + "/staff.html")
    open_widget(page)
    expect(page.get_by_text("職員向けモード")).to_be_visible()
    staff_bg = page.locator(".cb-head").evaluate("e => getComputedStyle(e).backgroundColor")
    assert staff_bg != resident_bg


def _sample_exchange(page: Page):
    page.api.replies.append(
        (
            200,
            {
                "messages": [
                    {
                        "text": "粗大ごみは事前申込制です。\n収集日の前日までにお申し込みください。",
                        "link": {
                            "url": "https://www.city.narashino.lg.jp/",
                            "title": "粗大ごみの出し方",
                        },
                    },
                    {
                        "text": "ほかに知りたいことはありますか。",
                        "buttons": [
                            {"title": "料金を知りたい", "choice": "fee"},
                            {"title": "持ち込みたい", "choice": "bring"},
                        ],
                    },
                ]
            },
        )
    )
    box = open_widget(page)
    box.fill("粗大ごみの出し方")
    box.press("Enter")
    expect(page.get_by_role("button", name="持ち込みたい")).to_be_visible()
    dialog = page.get_by_role("dialog")
    dialog.evaluate("el => Promise.all(el.getAnimations().map(a => a.finished))")  # open animation
    return dialog


def test_mobile_panel_is_full_screen(page):
    page.set_viewport_size({"width": 375, "height": 667})
    box = _sample_exchange(page).bounding_box()
    assert box is not None
    assert (box["x"], box["y"], box["width"], box["height"]) == (0, 0, 375, 667)
    page.screenshot(path="/tmp/widget-375.png")


def test_desktop_panel_is_side_panel(page):
    page.set_viewport_size({"width": 1280, "height": 800})
    launcher = page.get_by_role("button", name=LAUNCHER).bounding_box()
    assert launcher["x"] + launcher["width"] > 1200 and launcher["y"] + launcher["height"] > 720
    box = _sample_exchange(page).bounding_box()
    assert 360 <= box["width"] <= 400
    assert box["x"] + box["width"] > 1240  # anchored bottom-right
    page.screenshot(path="/tmp/widget-1280.png")


def test_reduced_motion_disables_animation(page):
    page.emulate_media(reduced_motion="reduce")
    open_widget(page)
    dialog = page.get_by_role("dialog")
    assert dialog.evaluate("e => getComputedStyle(e).animationName") == "none"
    page.emulate_media(reduced_motion="no-preference")
    assert dialog.evaluate("e => getComputedStyle(e).animationName") != "none"


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
    ".cb-hbtn",
    ".cb-bot .cb-text",
    ".cb-user .cb-text",
    ".cb-link",
    ".cb-choice",
    ".cb-label",
    ".cb-send",
    ".cb-note",
    ".cb-error .cb-text",
    ".cb-retry",
]


@pytest.mark.parametrize("path", ["/", "/staff.html"])
def test_text_contrast_at_least_4_5(page, base_url, path):
    page.goto(base_url + path)
    page.api.replies += [
        (
            200,
            {
                "messages": [
                    {
                        "text": "回答",
                        "link": {"url": "/a"},
                        "buttons": [{"title": "選択", "choice": "c"}],
                    }
                ]
            },
        ),
        (500, {}),
    ]
    launcher = page.evaluate(CONTRAST_JS, ".cb-launcher")
    box = open_widget(page)
    box.fill("質問")
    box.press("Enter")
    expect(page.get_by_role("button", name="選択")).to_be_visible()
    box.fill("もう一度")
    box.press("Enter")
    expect(page.get_by_role("button", name="再送信")).to_be_visible()
    results = launcher + [r for sel in TEXT_PARTS[1:] for r in page.evaluate(CONTRAST_JS, sel)]
    seen = {r[0] for r in results}
    expected = set(TEXT_PARTS) - ({".cb-badge"} if path == "/" else set())
    assert seen == expected
    low = [r for r in results if r[2] < 4.5]
    assert not low, f"contrast below 4.5:1: {low}"
