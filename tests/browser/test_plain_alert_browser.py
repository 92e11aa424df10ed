"""Error text is text in a real browser: a price sheet refused for a cell written as a Markdown link
shows the cell as written, and the rendered alert holds no link (no <a> element)."""

from __future__ import annotations

import pytest

pytest.importorskip("playwright.sync_api", reason="the `playwright` package is not installed")
from playwright.sync_api import expect  # noqa: E402

from dashboard.fmt import WORD_JOINER  # noqa: E402
from tests.browser.conftest import find_chromium  # noqa: E402
from tests.dashboard.helpers import sheet_with  # noqa: E402

if find_chromium() is None:
    pytest.skip("no Chromium found (install Debian's `chromium`, or set BROWSER_PATH); browser tests skipped",
                allow_module_level=True)

from tests.browser.test_dashboard_browser import IDLE_TIMEOUT_MS, open_page, screenshot  # noqa: E402

pytestmark = pytest.mark.timeout(240)
CELL = "[click](http://evil.example) or http://evil.example"


def test_a_refused_cell_written_as_a_link_is_shown_as_text(page, artifacts_dir):
    open_page(page, "/hardware", "Hardware & prices")
    main = page.get_by_test_id("stMain")
    main.get_by_role("tab", name="Price sheets").click()
    main.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(
        files=[{"name": "evil.csv", "mimeType": "text/csv", "buffer": sheet_with("source_url", CELL)}])
    alert = main.get_by_test_id("stAlertContentError")
    expect(alert).to_be_visible(timeout=IDLE_TIMEOUT_MS)
    assert CELL[:40] in alert.inner_text().replace(WORD_JOINER, "")
    assert alert.locator("a").count() == 0, alert.inner_html()
    screenshot(page, artifacts_dir, "plain-alert")
