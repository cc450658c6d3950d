"""Headless Debian Chromium against the real stack: the sample homepage, the widget, a real answer."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.settings import REPO_ROOT
from retrieval.faq import load_faq_paths
from tests.browser import CHROMIUM, LAUNCH_ARGS

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

if not os.path.exists(CHROMIUM):
    pytest.skip(f"{CHROMIUM} missing (apt-get install -y chromium chromium-driver)", allow_module_level=True)

from playwright.sync_api import expect, sync_playwright  # noqa: E402

ARTIFACTS = Path(os.environ.get("CITYBOT_SCREENSHOTS") or REPO_ROOT / "test-artifacts")


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield browser
        browser.close()


@pytest.mark.parametrize(("width", "height"), [(375, 667), (1280, 800)])
def test_resident_asks_in_the_widget_and_gets_answer_with_link(live_stack, browser, width, height):
    entry = next(e for e in load_faq_paths([REPO_ROOT / "data/faq/resident"])
                 if e.question == "粗大ごみはどうやって出せばいいですか。")
    context = browser.new_context(viewport={"width": width, "height": height}, locale="ja-JP")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(live_stack.url + "/")
    expect(page.locator("h1").first).to_be_visible()
    page.get_by_role("button", name="チャットで質問する").click()
    box = page.get_by_label("質問を入力")
    box.fill("粗大ごみはどうやって出せばいいですか")
    box.press("Enter")
    first_sentence = entry.answer.split("。")[0]
    expect(page.get_by_text(first_sentence, exact=False)).to_be_visible(timeout=30_000)
    link = page.locator("citybot-widget a[href]").last
    expect(link).to_have_attribute("href", entry.url.removeprefix("https://www.city.example.jp"))
    expect(link).to_have_attribute("target", "_blank")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"widget-answer-{width}x{height}.png"))
    # the link works: open it like a resident would
    with context.expect_page() as new_page:
        link.click()
    target = new_page.value
    target.wait_for_load_state()
    assert "粗大ごみ" in target.content()
    assert not errors, errors
    context.close()
