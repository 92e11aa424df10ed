"""Present on a 1920×1080 projector in headless Chromium: no sidebar, chart text a room can read,
← and → between slides; and the HTML deck it exports, opened from a file with the network cut off.

The server is ``streamlit run dashboard/app.py`` on a fresh temporary store (see conftest.py); the
slides show the bundled sample results (a CPU, ResNet-50 among its workloads) and published figures.
"""

from __future__ import annotations

import re

import pytest

pytest.importorskip("playwright.sync_api", reason="the `playwright` package is not installed")
from playwright.sync_api import Page, expect  # noqa: E402

from dashboard.slides import HEADINGS  # noqa: E402
from tests.browser.conftest import browser_page, find_chromium  # noqa: E402
from tests.browser.test_dashboard_browser import (  # noqa: E402
    CHART,
    IDLE_TIMEOUT_MS,
    assert_clean,
    wait_for_url,
    wait_idle,
)

if find_chromium() is None:
    pytest.skip("no Chromium found (install Debian's `chromium`, or set BROWSER_PATH); browser tests skipped",
                allow_module_level=True)

pytestmark = pytest.mark.timeout(240)

PROJECTOR = {"width": 1920, "height": 1080}
FIRST, SECOND = HEADINGS[0], HEADINGS[1]  # the deck's first two

# The smallest font size of the chart's visible SVG text (ticks, labels, legend, annotations) and the
# size of its title, as the browser computed them.
_CHART_FONTS_JS = """(selector) => {
    const chart = document.querySelector(selector).closest('.js-plotly-plot');
    const texts = Array.from(chart.querySelectorAll('svg text, svg tspan')).filter(t => t.textContent.trim() &&
        t.getBoundingClientRect().width > 0 && getComputedStyle(t).visibility !== 'hidden');
    const size = (element) => parseFloat(getComputedStyle(element).fontSize);
    const smallest = texts.reduce((low, t) => size(t) < low[0] ? [size(t), t.textContent] : low, [1e9, '']);
    const title = chart.querySelector('.gtitle');
    return {smallest: smallest[0], smallest_text: smallest[1], count: texts.length, title: title ? size(title) : 0};
}"""


@pytest.fixture
def room(browser, app_url):
    """A 1920×1080 browser context (a projector's screen) with its own Streamlit session."""
    with browser_page(browser, app_url, PROJECTOR, accept_downloads=True) as page:
        yield page


def expect_slide(page: Page, title: str, index: int) -> None:
    """Slide ``index`` (its heading, its number in the URL) is on screen and its run has finished."""
    heading = page.get_by_test_id("stMain").get_by_role("heading", level=1, name=title, exact=True)
    expect(heading.or_(page.get_by_test_id("stException")).first).to_be_visible(timeout=IDLE_TIMEOUT_MS)
    wait_for_url(page, "/present", slide=str(index))
    wait_idle(page)
    expect(page.locator(CHART).first).to_be_visible()
    assert_clean(page, f"Present › {title}")


def assert_room_fonts(page: Page, where: str) -> None:
    fonts = page.evaluate(_CHART_FONTS_JS, CHART)
    assert fonts["count"] > 5, f"{where}: the chart shows hardly any text: {fonts}"
    assert fonts["smallest"] >= 18, f"{where}: chart text of {fonts['smallest']} px: {fonts['smallest_text']!r}"
    assert fonts["title"] >= 28, f"{where}: chart title of {fonts['title']} px"
    page_text = page.evaluate("""() => ({
        heading: parseFloat(getComputedStyle(document.querySelector('[data-testid="stMain"] h1')).fontSize),
        takeaway: parseFloat(getComputedStyle(document.querySelector('.st-key-present_takeaway p, '
                                                                     + '.st-key-present_takeaway_missing p')).fontSize),
    })""")
    assert page_text["heading"] >= 40 and page_text["takeaway"] >= 28, f"{where}: {page_text}"


def test_present_on_a_projector_has_no_sidebar_large_text_and_arrow_keys(room, artifacts_dir):
    room.goto("/present?hw_workload=cnn/resnet50&hw_precision=fp16")
    expect_slide(room, FIRST, 0)
    for test_id in ("stSidebar", "stSidebarCollapsedControl", "stExpandSidebarButton", "stSidebarCollapseButton"):
        expect(room.get_by_test_id(test_id)).to_be_hidden()
    assert room.get_by_test_id("stMain").bounding_box()["x"] < 1, "the slide starts at the screen's left edge"
    expect(room.get_by_text(re.compile(r"\(measured\)")).first).to_be_visible()  # the takeaway, labelled
    for index, title in enumerate(HEADINGS):  # → through every slide, each in a room's type
        if index:
            room.keyboard.press("ArrowRight")
            expect_slide(room, title, index)
        assert_room_fonts(room, f"slide {index + 1}")
        room.screenshot(path=str(artifacts_dir / f"present-1920-slide-{index + 1}.png"))
    last = len(HEADINGS) - 1
    room.keyboard.press("ArrowLeft")
    expect_slide(room, HEADINGS[last - 1], last - 1)

    # An arrow key typed into a field moves its cursor, not the slide.
    field = room.get_by_role("combobox", name="Workload")
    field.focus()
    room.keyboard.press("ArrowRight")
    room.keyboard.press("Escape")
    room.get_by_test_id("stMain").get_by_role("heading", level=1).click()  # focus back on the page
    room.keyboard.press("ArrowLeft")
    expect_slide(room, HEADINGS[last - 2], last - 2)  # one step back: the key in the field did not move it

    room.get_by_role("link", name=re.compile("Leave Present")).click()  # every other page keeps its sidebar
    expect(room.get_by_test_id("stSidebar")).to_be_visible(timeout=IDLE_TIMEOUT_MS)
    expect(room.get_by_test_id("stSidebarNavLink").filter(has_text="Explore")).to_be_visible()


def test_the_exported_deck_opens_offline_one_slide_per_screen(room, browser, tmp_path):
    room.goto("/present?hw_workload=cnn/resnet50&hw_precision=fp16")
    expect_slide(room, FIRST, 0)
    room.get_by_test_id("stExpander").filter(has_text="Export").locator("summary").click()
    with room.expect_download(timeout=IDLE_TIMEOUT_MS) as download:
        room.get_by_role("button", name="Download the deck (HTML)").click()
    deck_file = tmp_path / "deck.html"
    download.value.save_as(deck_file)

    offline = browser.new_context(viewport=PROJECTOR)
    requested: list[str] = []
    offline.route(re.compile(r"^https?://"), lambda route: (requested.append(route.request.url), route.abort()))
    deck = offline.new_page()
    errors: list[str] = []
    deck.on("pageerror", lambda error: errors.append(str(error)))
    try:
        deck.goto(deck_file.as_uri())
        current = deck.locator("section.slide.current")
        expect(current).to_have_count(1)
        expect(current.locator("h1")).to_have_text(FIRST)
        expect(current.locator(".counter")).to_contain_text(f"1 / {len(HEADINGS)}")
        expect(current.locator(".takeaway")).to_contain_text("(measured)")
        expect(current.locator(".main-svg").first).to_be_visible()  # plotly.js ran: it was in the file
        deck.keyboard.press("ArrowRight")
        expect(current.locator("h1")).to_have_text(SECOND)
        expect(current.locator(".counter")).to_contain_text(f"2 / {len(HEADINGS)}")
        expect(deck.locator("section.slide h1").filter(has_text=FIRST)).to_be_hidden()  # one slide per screen
        deck.keyboard.press("PageUp")
        expect(current.locator("h1")).to_have_text(FIRST)
        assert not requested, f"the deck asked the network for {requested}"
        assert not errors, errors
    finally:
        offline.close()
