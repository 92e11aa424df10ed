"""What a person sees at 800 and 1280 px in headless Chromium: Explore's cards whole and inside the
window (no "$0.000…"), and the Results page asking before it deletes a run, then saying what it deleted.

The server is ``streamlit run dashboard/app.py`` on a temporary store holding two runs (one deleted at
each width). Screenshots land in ``artifacts/browser/`` for a person to look at.
"""

from __future__ import annotations

import re

import pytest

pytest.importorskip("playwright.sync_api", reason="the `playwright` package is not installed")
from playwright.sync_api import expect  # noqa: E402

from tests.browser.conftest import browser_page, dashboard_server, find_chromium  # noqa: E402
from tests.browser.test_dashboard_browser import IDLE_TIMEOUT_MS, assert_clean, wait_for_title, wait_idle  # noqa: E402

if find_chromium() is None:
    pytest.skip("no Chromium found (install Debian's `chromium`, or set BROWSER_PATH); browser tests skipped",
                allow_module_level=True)

pytestmark = pytest.mark.timeout(240)
WIDTHS = (800, 1280)

# Every card (st.metric) inside the window, and none of its text cut: an element whose content is wider
# than its box ends in "…" (text-overflow: ellipsis) or is clipped.
_CARDS_JS = """(width) => [...document.querySelectorAll('[data-testid="stMetric"]')].map(card => {
    const box = card.getBoundingClientRect();
    const cut = [...card.querySelectorAll('[data-testid="stMetricLabel"] *, [data-testid="stMetricValue"] *,'
                 + '[data-testid="stMetricLabel"], [data-testid="stMetricValue"]')]
        .filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.textContent);
    return {text: card.innerText.replace(/\\n+/g, ' | '), left: box.left, right: box.right, width, cut};
})"""


@pytest.fixture(scope="module")
def two_runs_url(tmp_path_factory, chromium_path):
    from core.facts.store import Store
    from tests.core.factories import make_result

    folder = tmp_path_factory.mktemp("accelscope-layout")
    store = Store(f"sqlite:///{folder / 'ui.db'}")
    store.add_many([make_result(run_id="run-a", created_at=f"2026-11-22T10:0{i}:00+00:00",
                                samples_per_s=50_000.0 + 500 * i) for i in range(3)])
    store.add_many([make_result(run_id="run-b", created_at=f"2026-11-23T10:0{i}:00+00:00") for i in range(2)])
    with dashboard_server(folder) as base:
        yield base


@pytest.fixture
def sized_page(browser, two_runs_url, request):
    with browser_page(browser, two_runs_url, {"width": request.param, "height": 900}) as page:
        yield page


@pytest.mark.parametrize("sized_page", WIDTHS, indirect=True, ids=[f"{w}px" for w in WIDTHS])
def test_cards_are_whole_and_deleting_asks_first(sized_page, artifacts_dir):
    page = sized_page
    width = page.viewport_size["width"]
    for view in ("Speed", "Cost"):
        page.goto(f"/?view={view}")
        wait_for_title(page, "Explore the trade-offs")
        expect(page.get_by_test_id("stMetric").first).to_be_visible(timeout=IDLE_TIMEOUT_MS)
        wait_idle(page)
        assert_clean(page, f"Explore › {view} at {width} px")
        cards = page.evaluate(_CARDS_JS, width)
        assert len(cards) >= 3, cards
        for card in cards:
            assert 0 <= card["left"] and card["right"] <= width, f"card outside the window: {card}"
            assert not card["cut"], f"card text cut at {width} px: {card}"
        page.screenshot(path=str(artifacts_dir / f"layout-explore-{view.lower()}-{width}.png"), full_page=True)

    page.goto("/results")
    wait_for_title(page, "Results")
    wait_idle(page)
    page.get_by_role("button", name="Delete run", exact=True).click()
    question = page.get_by_text(re.compile(r"cannot be undone"))
    expect(question).to_be_visible(timeout=IDLE_TIMEOUT_MS)
    confirm = page.get_by_role("button", name=re.compile(r"^Yes, delete \d+ result"))
    expect(confirm).to_be_visible()
    box = confirm.bounding_box()
    assert box and box["x"] >= 0 and box["x"] + box["width"] <= width, box
    page.screenshot(path=str(artifacts_dir / f"layout-results-confirm-{width}.png"), full_page=True)
    confirm.click()
    expect(page.get_by_text(re.compile(r"^Deleted run run-[ab]: \d+ result"))).to_be_visible(timeout=IDLE_TIMEOUT_MS)
    wait_idle(page)
    assert_clean(page, f"Results after deleting at {width} px")
