"""axe-core (WCAG 2.1 A/AA + best practices) on the open chat widget in headless Chromium.

axe-core is pinned in tests/e2e/package.json and installed by `make browser`
(`npm ci --prefix tests/e2e`); without tests/e2e/node_modules these tests are skipped.
axe 4 walks open shadow roots, so the widget's shadow DOM is checked like the page.

* the harness page with a stubbed API (no CSP): 375x667 and 1280x800, resident and staff,
  an answer with a link, follow-up and feedback buttons, もしかして candidates and an error
  with 「再送信」 on screen;
* the real stack (the sample homepage, a real answer): the gateway sends a CSP
  (`script-src 'self'`) that would block the injected axe script, so that context is
  created with bypass_csp=True.
Violations of impact serious or critical fail; the others are printed.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.browser import CHROMIUM

pytestmark = pytest.mark.e2e

AXE = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"
if not os.path.exists(CHROMIUM):
    pytest.skip(f"{CHROMIUM} missing (apt-get install -y chromium)", allow_module_level=True)
if not AXE.is_file():
    pytest.skip(
        f"{AXE} missing: run `npm ci --prefix tests/e2e --no-audit --no-fund` (make browser does)",
        allow_module_level=True,
    )

from playwright.sync_api import Page, expect  # noqa: E402

from tests.e2e.test_widget_browser import (  # noqa: E402, F401  (fixtures are used by name)
    ANSWER,
    LAUNCHER,
    SUGGEST,
    FakeApi,
    ask,
    base_url,
    browser,
    settle,
)

VIEWPORTS = [(375, 667), (1280, 800)]
# Only the widget is judged: the harness page is deliberately ugly (red/yellow buttons) and
# page-level rules (landmarks of the page, its title, …) belong to the page's own tests.
RUN_AXE = """async () => {
    const result = await axe.run({include: [['citybot-widget']]});
    const shadowNodes = result.passes.flatMap(p => p.nodes).filter(n => n.target[0].length > 1);
    return {version: axe.version, passes: result.passes.map(p => p.id),
            shadowNodes: shadowNodes.length,
            incomplete: result.incomplete.map(v => v.id + ' (' + v.nodes.length + ')'),
            violations: result.violations.map(v => ({
        id: v.id, impact: v.impact, help: v.help,
        nodes: v.nodes.map(n => n.target.flat().join(' >> ') + '  ' + n.failureSummary)}))};
}"""


def run_axe(page: Page, label: str) -> list[dict]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(RUN_AXE)
    print(
        f"\naxe-core {result['version']} on {label}: {len(result['violations'])} violation(s), "
        f"{len(result['passes'])} rules passed ({result['shadowNodes']} checks inside the shadow "
        f"root), needs review: {', '.join(result['incomplete']) or 'nothing'}"
    )
    assert result["shadowNodes"] > 0, "axe did not look inside the widget's shadow root"
    for v in result["violations"]:
        print(f"  [{v['impact']}] {v['id']}: {v['help']}")
        for node in v["nodes"][:5]:
            print(f"      {node}")
    assert "color-contrast" in result["passes"] or result["violations"], result["passes"]
    bad = [v for v in result["violations"] if v["impact"] in ("serious", "critical")]
    assert not bad, f"serious/critical axe violations on {label}: {bad}"
    return result["violations"]


def fill_widget(page: Page):
    """Open the widget and put every kind of content on screen."""
    page.get_by_role("button", name=LAUNCHER).click()
    ask(page, "ごみ", SUGGEST, wait_for="ごみの収集日を知りたい。")
    ask(page, "粗大ごみの出し方")  # link + follow_up + feedback buttons
    page.api.replies.append("abort")
    box = page.get_by_label("質問を入力")
    box.fill("もう一度")
    box.press("Enter")
    expect(page.get_by_role("button", name="再送信")).to_be_visible()
    settle(page)


@pytest.mark.parametrize("path", ["/", "/staff.html"])
@pytest.mark.parametrize(("width", "height"), VIEWPORTS)
def test_axe_on_the_open_widget(browser, base_url, path, width, height):  # noqa: F811
    context = browser.new_context(viewport={"width": width, "height": height}, locale="ja-JP")
    page = context.new_page()
    page.api = FakeApi(page)
    page.goto(base_url + path)
    run_axe(page, f"{path} closed {width}x{height}")  # the launcher alone
    fill_widget(page)
    run_axe(page, f"{path} open {width}x{height}")
    page.get_by_role("button", name="大きく", exact=True).click()
    run_axe(page, f"{path} open, 文字サイズ 大きく, {width}x{height}")
    context.close()


def test_axe_with_reduced_motion_and_dark_page(browser, base_url):  # noqa: F811
    context = browser.new_context(
        viewport={"width": 375, "height": 667},
        locale="ja-JP",
        reduced_motion="reduce",
        color_scheme="dark",
    )
    page = context.new_page()
    page.api = FakeApi(page)
    page.api.hold = True
    page.goto(base_url + "/")
    page.get_by_role("button", name=LAUNCHER).click()
    box = page.get_by_label("質問を入力")
    box.fill("図書館")
    box.press("Enter")
    expect(page.locator(".cb-typing")).to_be_visible()
    run_axe(page, "typing indicator, reduced motion, dark scheme")
    FakeApi.fulfil(page.api.held.pop(), ANSWER)
    context.close()


def test_axe_does_see_inside_the_shadow_root(browser, base_url):  # noqa: F811
    """Guard against a vacuous pass: a nameless button planted in the shadow root is caught."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="ja-JP")
    page = context.new_page()
    page.api = FakeApi(page)
    page.goto(base_url + "/")
    page.get_by_role("button", name=LAUNCHER).click()
    page.evaluate("""() => document.querySelector('citybot-widget').shadowRoot
        .querySelector('.cb-log').appendChild(document.createElement('button'))""")
    with pytest.raises(AssertionError, match="button-name"):
        run_axe(page, "a planted nameless button")
    context.close()


@pytest.mark.integration
@pytest.mark.parametrize(("width", "height"), VIEWPORTS)
def test_axe_on_the_real_stack(live_stack, browser, width, height):  # noqa: F811
    context = browser.new_context(
        viewport={"width": width, "height": height}, locale="ja-JP", bypass_csp=True
    )
    page = context.new_page()
    page.goto(live_stack.url + "/")
    page.get_by_role("button", name=LAUNCHER).click()
    box = page.get_by_label("質問を入力")
    box.fill("粗大ごみはどうやって出せばいいですか")
    box.press("Enter")
    expect(page.get_by_role("button", name="役に立った", exact=True)).to_be_visible(timeout=30_000)
    expect(page.locator("citybot-widget a[href]").last).to_be_visible()
    settle(page)
    run_axe(page, f"the sample homepage (real stack) {width}x{height}")
    context.close()
