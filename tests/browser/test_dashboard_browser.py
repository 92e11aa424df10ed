"""What a person sees: every dashboard page in headless Chromium, its tabs, and a probe run end to end.

The server is ``streamlit run dashboard/app.py`` on a fresh temporary store (see conftest.py).
Full-page screenshots land in ``artifacts/browser/`` (git-ignored) for a person to look at.
"""

from __future__ import annotations

import re

import pytest

pytest.importorskip("playwright.sync_api", reason="the `playwright` package is not installed")
from playwright.sync_api import Locator, Page, expect  # noqa: E402

from tests.browser.conftest import VIEWPORT, find_chromium  # noqa: E402

if find_chromium() is None:
    pytest.skip("no Chromium found (install Debian's `chromium`, or set BROWSER_PATH); browser tests skipped",
                allow_module_level=True)

# Generous, bounded waits: a busy 2-vCPU machine (tests and builds running beside these) takes many
# seconds for a first visit. Each wait is for something a person sees, never for an internal counter.
pytestmark = pytest.mark.timeout(240)

IDLE_TIMEOUT_MS = 90_000  # first visits import pandas/plotly and, on Run, list devices in a subprocess
PROBE_TIMEOUT_MS = 150_000
CHART = ".js-plotly-plot .main-svg"

# (screenshot name, URL path Streamlit derives from the page file, nav link label, must show a chart,
#  the page's own title: its st.title, on Present the first slide's)
PAGES = [
    ("explore", "/", "Explore", True, "Explore the trade-offs"),
    ("model", "/model", "Your model", True, "Your model"),
    ("run", "/run", "Run probes", False, "Run probes"),
    ("hardware", "/hardware", "Hardware & prices", False, "Hardware & prices"),
    ("results", "/results", "Results", False, "Results"),
    ("present", "/present", "Present", True, "How fast does it train?"),
]
TITLES = {path: title for _, path, _, _, title in PAGES}
EXPLORE_VIEWS = ["Speed", "Speed-up", "Precision gain", "Efficiency", "Cost", "Trade-off", "Carbon", "Plan a job"]
HARDWARE_TABS = ["Accelerator catalog", "Price sheets", "Cost & carbon settings"]

_IDLE_JS = """() => {
    const app = document.querySelector('[data-testid="stApp"]');
    if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
    if (app.getAttribute('data-test-connection-state') !== 'CONNECTED') return false;
    if (document.querySelector('[data-stale="true"]')) return false;
    // lazily loaded widgets (data frames, uploaders, buttons) show a skeleton until their code arrives
    if (document.querySelector('[data-testid="stSkeleton"], [data-testid="stAppSkeleton"]')) return false;
    return !document.querySelector('[data-testid="stStatusWidget"]');
}"""


def wait_idle(page: Page, timeout_ms: int = IDLE_TIMEOUT_MS) -> None:
    """Until the script has run to its end, the "Running..." widget is gone and nothing is still loading.

    Only meaningful once something the run shows is on screen: before a rerun starts, the page looks
    idle too. Callers first wait for what the action visibly changed (a page title, a slide, the URL).
    """
    page.wait_for_function(_IDLE_JS, timeout=timeout_ms)


def wait_for_url(page: Page, path: str | None = None, **params: str) -> None:
    """Until the address bar shows ``path`` (Streamlit's page URL) and the query ``params`` (the view
    state a rerun writes into the URL, as ``state.save_query_params`` does)."""
    page.wait_for_function("""([path, params]) => {
        if (path !== null && location.pathname.replace(/\\/+$/, '') !== path) return false;
        const query = new URLSearchParams(location.search);
        return Object.entries(params).every(([key, value]) => query.get(key) === value);
    }""", arg=[None if path is None else path.rstrip("/"), params], timeout=IDLE_TIMEOUT_MS)


def wait_for_title(page: Page, title: str) -> None:
    """Until the page's own title heading is visible, or the exception box that replaced it (so a
    page that throws fails with its traceback, not with a timeout)."""
    heading = page.get_by_test_id("stMain").get_by_role("heading", level=1, name=title, exact=True)
    expect(heading.or_(page.get_by_test_id("stException")).first,
           f"the title {title!r} did not show").to_be_visible(timeout=IDLE_TIMEOUT_MS)


def expect_page(page: Page, path: str, nav_label: str) -> None:
    """The page at ``path`` is on screen, its script has run to its end, the sidebar marks it current."""
    wait_for_url(page, path)
    wait_for_title(page, TITLES[path])
    wait_idle(page)
    active = page.locator('[data-testid="stSidebarNavLink"][aria-current="page"]')
    expect(active, f"{path} did not open the page {nav_label!r}").to_contain_text(nav_label)


def open_page(page: Page, path: str, nav_label: str) -> None:
    page.goto(path)
    expect_page(page, path, nav_label)


def assert_clean(page: Page, where: str) -> None:
    """No Python exception box, no error alert, no uncaught JavaScript error."""
    exceptions = page.get_by_test_id("stException").all_inner_texts()
    assert not exceptions, f"{where}: exception shown:\n" + "\n---\n".join(exceptions)
    errors = page.get_by_test_id("stAlertContentError").all_inner_texts()
    assert not errors, f"{where}: error alert shown:\n" + "\n---\n".join(errors)
    assert not page.js_errors, f"{where}: JavaScript errors: {page.js_errors}"


def screenshot(page: Page, artifacts_dir, name: str) -> None:
    """The whole page: Streamlit scrolls inside stMain, so grow the viewport to its content first."""
    height = page.evaluate("""() => Math.max(window.innerHeight, ...['stMain', 'stSidebarContent'].map(id => {
        const element = document.querySelector(`[data-testid="${id}"]`);
        return element ? element.scrollHeight : 0;
    }))""")
    page.set_viewport_size({"width": VIEWPORT["width"], "height": min(int(height) + 40, 12_000)})
    page.evaluate("() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")
    page.screenshot(path=str(artifacts_dir / f"{name}.png"), full_page=True)
    page.set_viewport_size(VIEWPORT)


def result_count(page: Page) -> int:
    """N from Explore's caption "N results, M configurations ..."."""
    caption = page.get_by_text(re.compile(r"^[\d,]+ results?, [\d,]+ configurations")).first
    expect(caption).to_be_visible()
    return int(re.match(r"([\d,]+) result", caption.inner_text()).group(1).replace(",", ""))


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


# ---------------------------------------------------------------------------------------------------
# Every page opens cleanly


@pytest.mark.parametrize(("name", "path", "nav_label", "has_chart", "title"), PAGES, ids=[p[0] for p in PAGES])
def test_page_renders_without_errors(page, artifacts_dir, name, path, nav_label, has_chart, title):
    open_page(page, path, nav_label)
    assert_clean(page, name)  # first: a page that throws fails with its traceback, not "no chart"
    if has_chart:
        expect(page.locator(CHART).first).to_be_visible()
    assert_clean(page, name)
    screenshot(page, artifacts_dir, name)


@pytest.mark.timeout(420)  # five first visits in one test
def test_sidebar_links_reach_every_page(page, artifacts_dir):
    """A person navigates by the sidebar, not by typing URLs: each link shows its page's title. Present
    has no sidebar (a projector's screen): its own "Leave Present" link goes back to Explore."""
    open_page(page, "/", "Explore")
    previous = "/"
    for _, path, nav_label, _, _ in PAGES[1:] + PAGES[:1]:
        if previous == "/present":
            link = page.get_by_test_id("stMain").get_by_role("link", name=re.compile("Leave Present"))
        else:
            link = page.locator('[data-testid="stSidebarNavLink"]').filter(has_text=nav_label)
        link.click()
        previous = path
        expect_page(page, path, nav_label)
        assert_clean(page, f"{nav_label} (via sidebar)")


# ---------------------------------------------------------------------------------------------------
# Tabs


def view_switch(page: Page) -> Locator:
    """The page's view switcher: ``st.tabs`` (client-side) or a segmented control (reruns)."""
    segmented = page.locator('[role="radiogroup"]:has(> button[data-variant="segmented_control"])').first
    return page.get_by_role("tab").or_(segmented.get_by_role("radio"))


def choose_view(page: Page, label: str) -> None:
    """Show the view ``label``, whether it is a tab or an option of a segmented control."""
    option = view_switch(page).filter(has_text=re.compile(rf"^{re.escape(label)}$"))
    expect(option, f"no tab or view named {label!r}").to_have_count(1)
    if option.get_attribute("role") == "tab":  # client-side: nothing reruns
        option.click()
        expect(option).to_have_attribute("aria-selected", "true")
        wait_idle(page)
    elif option.get_attribute("aria-checked") != "true":
        option.click()
        expect(option).to_have_attribute("aria-checked", "true")
        # The rerun has begun once it wrote the chosen view into the URL; then let it finish.
        wait_for_url(page, view=label)
        wait_idle(page)


def visible_content(page: Page) -> Locator:
    """Where the chosen view renders: the selected tab panel, or the main area for a segmented control."""
    if page.get_by_role("tab").count():
        return page.get_by_role("tabpanel").locator("visible=true")
    return page.get_by_test_id("stMain")


def test_explore_views(page, artifacts_dir):
    """Each of Explore's views (tabs, or a segmented control) renders its chart, or the job table."""
    open_page(page, "/", "Explore")
    expect(view_switch(page).first).to_be_visible()
    labels = [text.strip() for text in view_switch(page).all_inner_texts()]
    missing = [label for label in EXPLORE_VIEWS if label not in labels]
    assert not missing, f"Explore lacks the views {missing}; it has {labels}"
    for label in labels:
        choose_view(page, label)
        content = visible_content(page)
        if label == "Plan a job":
            expect(content.get_by_test_id("stDataFrame").first).to_be_visible()
        else:
            expect(content.locator(CHART).first).to_be_visible()
        assert_clean(page, f"Explore › {label}")
        screenshot(page, artifacts_dir, f"explore-view-{slug(label)}")


def test_cost_prices_gpus_and_tpus_nobody_here_has(page, artifacts_dir):
    """Explore → Cost on the gcp sheet, ResNet-50 in bf16: A100, H100, L4 and TPU instances each
    priced, and the legend says where each bar's throughput came from."""
    page.goto("/?view=Cost&sheet=gcp&hw_workload=cnn/resnet50&hw_precision=bf16")
    expect_page(page, "/", "Explore")
    content = page.get_by_test_id("stMain")
    expect(content.locator(CHART).first).to_be_visible()
    chart = content.locator(".js-plotly-plot").first  # axes, bars and legend (its own svg layer)
    for label in ("8× H100 SXM", "A100 40GB", "1× L4", "TPU v4", "TPU v5p", "projected (interval as error bar)"):
        expect(chart.get_by_text(label).first, f"the Cost chart lacks {label!r}").to_be_visible()
    expect(content.get_by_text("On the measured CPU")).to_be_visible()
    assert_clean(page, "Explore › Cost (gcp, bf16)")
    screenshot(page, artifacts_dir, "explore-cost-gcp-resnet50-bf16")


def test_hardware_tabs(page, artifacts_dir):
    open_page(page, "/hardware", "Hardware & prices")
    for label in HARDWARE_TABS:
        choose_view(page, label)
        assert_clean(page, f"Hardware & prices › {label}")
        screenshot(page, artifacts_dir, f"hardware-tab-{slug(label)}")


def test_present_steps_through_every_slide(page, artifacts_dir):
    open_page(page, "/present", "Present")
    caption = page.get_by_text(re.compile(r"^Slide \d+ of \d+")).first
    expect(caption).to_be_visible()
    total = int(re.search(r"of (\d+)", caption.inner_text()).group(1))
    assert total >= 2, caption.inner_text()
    for number in range(1, total + 1):
        # After "Next": the new slide's caption and its number in the URL, then the rerun's end.
        expect(page.get_by_text(re.compile(rf"^Slide {number} of {total}\b")).first).to_be_visible(
            timeout=IDLE_TIMEOUT_MS)
        wait_for_url(page, "/present", slide=str(number - 1))
        wait_idle(page)
        expect(page.locator(CHART).first).to_be_visible()
        assert_clean(page, f"Present › slide {number}")
        screenshot(page, artifacts_dir, f"present-slide-{number}")
        next_button = page.get_by_role("button", name=re.compile(r"^Next"))
        if number < total:
            next_button.click()
        else:
            expect(next_button).to_be_disabled()


# ---------------------------------------------------------------------------------------------------
# A probe run from the Run page, end to end


def _multiselect(scope: Locator, label: re.Pattern) -> Locator:
    widget = scope.get_by_test_id("stMultiSelect").filter(
        has=scope.page.get_by_test_id("stWidgetLabel").filter(has_text=label))
    expect(widget).to_have_count(1)
    return widget


def _chips(widget: Locator) -> list[str]:
    buttons = widget.get_by_role("button", name=re.compile(r"^Remove ")).locator("visible=true").all()
    return [b.get_attribute("aria-label").removeprefix("Remove ") for b in buttons]


def _keep_only(widget: Locator, keep, add: re.Pattern | None = None) -> list[str]:
    """Remove every chosen value for which ``keep(value)`` is false; choose ``add`` if nothing is left."""
    for value in _chips(widget):
        if not keep(value):
            widget.get_by_role("button", name=f"Remove {value}", exact=True).locator("visible=true").click()
            expect(widget.get_by_role("button", name=f"Remove {value}", exact=True)).to_have_count(0)
    if add is not None and not _chips(widget):
        widget.get_by_role("combobox").click()
        widget.page.get_by_role("option", name=add).first.click()
        widget.page.keyboard.press("Escape")
    return _chips(widget)


@pytest.mark.timeout(420)
def test_cpu_probe_from_run_page_shows_up_on_explore(page, artifacts_dir):
    open_page(page, "/", "Explore")
    before = result_count(page)

    open_page(page, "/run", "Run probes")
    assert_clean(page, "Run probes")
    form = page.locator(".st-key-plan")
    expect(form).to_be_visible()

    devices = _keep_only(_multiselect(form, re.compile(r"^Devices")), lambda v: v.split(" — ")[0] == "cpu",
                         add=re.compile(r"^cpu\b"))
    assert [d.split(" — ")[0] for d in devices] == ["cpu"], devices
    precisions = _keep_only(_multiselect(form, re.compile(r"^Precisions")), lambda v: v == "fp32",
                            add=re.compile(r"^fp32$"))
    assert precisions == ["fp32"], precisions
    workloads = form.get_by_test_id("stWidgetLabel").filter(has_text=re.compile(r"^\w+ — ")).all_inner_texts()
    names = sorted({text.split(" — ")[0].strip() for text in workloads})
    assert "mlp" in names, names
    for name in names:
        widget = _multiselect(form, re.compile(rf"^{name} — "))
        if name == "mlp":
            assert _keep_only(widget, lambda v: v == "S", add=re.compile(r"^S$")) == ["S"]
        else:
            assert _keep_only(widget, lambda v: False) == []

    window = form.get_by_role("slider", name="Timed window per probe (s)")
    window.focus()
    window.press("Home")
    assert float(window.input_value()) <= 1.0, window.input_value()

    energy = form.get_by_role("switch", name=re.compile(r"^Measure energy"))
    if energy.is_checked():
        form.get_by_text(re.compile(r"^Measure energy")).click()
    expect(energy).not_to_be_checked()
    screenshot(page, artifacts_dir, "run-plan")

    expect(form.get_by_text(re.compile(r"^1 probe, about \d+ (s|min)"))).to_be_visible()
    form.get_by_role("button", name="Start").click()
    done = page.get_by_text(re.compile(r"^Done"))
    try:
        expect(done.first).to_be_visible(timeout=PROBE_TIMEOUT_MS)
    finally:
        screenshot(page, artifacts_dir, "run-done")
    assert_clean(page, "Run probes after the plan")
    expect(page.get_by_text(re.compile(r"^Done: 1 probe\(s\) stored"))).to_be_visible()

    open_page(page, "/", "Explore")
    assert result_count(page) == before + 1
    assert_clean(page, "Explore after the run")
    screenshot(page, artifacts_dir, "explore-after-run")

    open_page(page, "/results", "Results")
    expect(page.get_by_text(re.compile(r"\b1 stored results?\b")).first).to_be_visible()
    assert_clean(page, "Results after the run")
    screenshot(page, artifacts_dir, "results-after-run")
