"""Hostile content in the corpora is shown as inert text in real headless Chromium.

The live stack indexes one FAQ row whose answer carries ``<img onerror>`` / ``<script>``
and a link to a host outside the allow-list (tests/fixtures/xss_faq.csv), and one
crawled page whose text contains the same markup as literal characters
(tests/fixtures/xss_page.html). A resident asks for both in the widget: the markup must
appear as characters, no script may run, and the foreign link must not be offered.
"""

from __future__ import annotations

import os

import pytest

from tests.browser import CHROMIUM, LAUNCH_ARGS
from tests.live import XSS_PAGE

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

if not os.path.exists(CHROMIUM):
    pytest.skip(f"{CHROMIUM} missing (apt-get install -y chromium chromium-driver)", allow_module_level=True)

from playwright.sync_api import expect, sync_playwright  # noqa: E402

FAQ_QUERY = "表示安全性の試験用ハニーポット質問です。"
PAGE_QUERY = "ヤマネコ広場の利用について教えてください"


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield browser
        browser.close()


def _ask(page, text: str) -> None:
    box = page.get_by_label("質問を入力")
    box.fill(text)
    box.press("Enter")


def test_the_api_returns_the_hostile_content_unchanged(live_stack):
    """Precondition: the gateway passes the text through (escaping is the widget's job, as text nodes)."""
    (faq,) = live_stack.chat(live_stack.session(), FAQ_QUERY)
    assert faq.get("faq_id") == "R-9901", faq
    assert "<img src=x onerror=" in faq["text"] and "<script>" in faq["text"]
    assert "link" not in faq  # https://evil.example.net is not in LINK_DOMAINS
    (page,) = live_stack.chat(live_stack.session(), PAGE_QUERY)
    assert page.get("tier") == "page" and page["link"]["url"] == XSS_PAGE, page
    assert "<script>" in page["text"] or "<img src=x" in page["text"], page


def test_hostile_faq_answer_and_page_passage_are_inert_text(live_stack, browser):
    context = browser.new_context(viewport={"width": 375, "height": 667}, locale="ja-JP")
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(live_stack.url + "/")
    page.get_by_role("button", name="チャットで質問する").click()

    _ask(page, FAQ_QUERY)
    expect(page.get_by_text("ハニーポット試験の回答です。", exact=False)).to_be_visible(timeout=30_000)
    _ask(page, PAGE_QUERY)
    expect(page.get_by_text("ヤマネコ広場は試験用の広場です。", exact=False)).to_be_visible(timeout=30_000)
    page.wait_for_timeout(500)  # an onerror handler would have fired by now

    assert page.evaluate("window.__citybotXss") is None  # no script from either corpus ran
    assert not dialogs
    widget = page.locator("citybot-widget")
    log_html = widget.evaluate("el => el.shadowRoot.querySelector('[role=log]').innerHTML")
    assert "<img" not in log_html and "<script" not in log_html and "<b>" not in log_html
    assert "&lt;img src=x onerror=" in log_html and "&lt;script&gt;" in log_html  # shown as characters
    texts = widget.evaluate("el => el.shadowRoot.querySelector('[role=log]').textContent")
    assert "<img src=x onerror=" in texts and "<b>太字にならない</b>" in texts
    hrefs = widget.evaluate("el => [...el.shadowRoot.querySelectorAll('a')].map(a => a.getAttribute('href'))")
    assert XSS_PAGE in hrefs
    assert not any("evil.example.net" in (h or "") or (h or "").startswith("javascript:") for h in hrefs)
    context.close()
