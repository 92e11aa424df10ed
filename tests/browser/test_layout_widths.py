"""Every page at 800 and 1920 px in Chromium: nothing runs off the right edge of the window
(cards, charts, tables, buttons), no text is cut short in its box, nothing throws. Screenshots of
Explore, Present and Results at 800 and 1920 px land in ``artifacts/browser/`` for a person to look at.
"""

from __future__ import annotations

import pytest

pytest.importorskip("playwright.sync_api", reason="the `playwright` package is not installed")

from tests.browser.conftest import browser_page, find_chromium  # noqa: E402
from tests.browser.test_dashboard_browser import PAGES, assert_clean, expect_page  # noqa: E402

if find_chromium() is None:
    pytest.skip("no Chromium found (install Debian's `chromium`, or set BROWSER_PATH); browser tests skipped",
                allow_module_level=True)

pytestmark = pytest.mark.timeout(420)
WIDTHS = (800, 1920)  # 1280 is between them, and test_layout_browser opens Explore and Results there
SHOTS = {"/", "/present", "/results"}

# Elements a person reads that must lie inside the window; a wide table scrolls inside its own frame
# (Streamlit's data grid), which is fine: its frame must still fit.
_OVERFLOW_JS = """(width) => {
    const layout = ['stVerticalBlock', 'stHorizontalBlock', 'stElementContainer'].map(id => `[data-testid="${id}"]`)
        .join(', ');
    const selectors = ['[data-testid="stMetric"]', '.js-plotly-plot', '[data-testid="stDataFrame"]',
                       '[data-testid="stButton"]', '[data-testid="stAlert"]', 'h1', 'h2', 'h3',
                       '[data-testid="stMarkdownContainer"] p'];
    const out = [];
    for (const selector of selectors) {
        for (const element of document.querySelectorAll(selector)) {
            const box = element.getBoundingClientRect();
            if (box.width === 0 || box.height === 0) continue;
            if (box.right > width + 1 || box.left < -1) {
                out.push(`${selector} "${(element.innerText || '').slice(0, 40)}" spans ${Math.round(box.left)}` +
                         `..${Math.round(box.right)} px`);
            }
        }
    }
    // Text cut short inside its own box (a label that does not fit its column, clipped by overflow: hidden)
    for (const element of document.querySelectorAll('[data-testid="stMain"] *')) {
        if (!(element.innerText || '').trim() || element.querySelector(layout)) continue;  // text, not blocks
        if (element.closest('[data-testid="stDataFrame"], .js-plotly-plot')) continue;  // they scroll, or draw
        const style = getComputedStyle(element);
        if (![style.overflowX, style.overflow].some(v => v === 'hidden' || v === 'clip')) continue;
        if (element.scrollWidth > element.clientWidth + 1 && element.getBoundingClientRect().width > 0) {
            out.push(`"${element.innerText.slice(0, 40)}" is cut: ${element.scrollWidth} px of text in ` +
                     `${element.clientWidth} px`);
        }
    }
    const scroller = document.querySelector('[data-testid="stMain"]');
    if (scroller && scroller.scrollWidth > scroller.clientWidth + 1) {
        out.push(`the page scrolls sideways: ${scroller.scrollWidth} px of content in ${scroller.clientWidth} px`);
    }
    return out;
}"""


@pytest.mark.parametrize("width", WIDTHS)
def test_every_page_fits_the_window(browser, app_url, artifacts_dir, width):
    problems = []
    with browser_page(browser, app_url, {"width": width, "height": 1000}) as page:
        for name, path, label, _, _ in PAGES:
            page.goto(path)
            expect_page(page, path, label)
            assert_clean(page, f"{name} at {width} px")
            problems += [f"{name} at {width} px: {p}" for p in page.evaluate(_OVERFLOW_JS, width)]
            if path in SHOTS:
                page.screenshot(path=str(artifacts_dir / f"width-{width}-{name}.png"), full_page=True)
    assert not problems, "\n".join(problems)
