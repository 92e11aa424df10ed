"""Issue 15's three Explore views and issue 16's Scaling view in Chromium, from the bundled results
(the H200's and this CPU's): Inference (latency against throughput with the p99 bound), Serving cost,
Time to quality and Scaling render a chart each with no error, at 800 and 1920 px; screenshots land
in ``artifacts/browser/`` for a person to look at."""

from __future__ import annotations

import pytest

pytest.importorskip("playwright.sync_api", reason="the `playwright` package is not installed")

from playwright.sync_api import expect  # noqa: E402

from tests.browser.conftest import browser_page, find_chromium  # noqa: E402
from tests.browser.test_dashboard_browser import assert_clean, expect_page  # noqa: E402
from tests.browser.test_layout_widths import _OVERFLOW_JS  # noqa: E402

if find_chromium() is None:
    pytest.skip("no Chromium found (install Debian's `chromium`, or set BROWSER_PATH); browser tests skipped",
                allow_module_level=True)

pytestmark = pytest.mark.timeout(300)
VIEWS = {"Inference": "Inference: cnn/resnet50", "Serving cost": "Serving cost: p99 ≤ 20 ms at 500 requests/s",
         "Time to quality": "Time to quality", "Scaling": "Scaling: mlp/S"}


@pytest.mark.parametrize("width", [800, 1920])
def test_inference_serving_and_time_to_quality_render_from_the_bundled_results(browser, app_url, artifacts_dir,
                                                                                 width):
    problems = []
    with browser_page(browser, app_url, {"width": width, "height": 1000}) as page:
        for view, title in VIEWS.items():
            page.goto(f"/?view={view.replace(' ', '+')}")
            expect_page(page, "/", "Explore")
            expect(page.locator(".js-plotly-plot .gtitle").first).to_contain_text(title)
            assert_clean(page, f"{view} at {width} px")
            problems += [f"{view} at {width} px: {p}" for p in page.evaluate(_OVERFLOW_JS, width)]
            page.screenshot(path=str(artifacts_dir / f"issue15-{width}-{view.replace(' ', '-')}.png"), full_page=True)
    assert not problems, "\n".join(problems)
