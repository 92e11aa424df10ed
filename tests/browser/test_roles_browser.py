"""Roles in a real browser: a server whose secrets set a shared editor password (given to Streamlit
with ``--secrets.files``, so the repository's .streamlit/ is untouched) shows a visitor Results
read-only; the password typed in the sidebar brings the import and delete controls."""

from __future__ import annotations

import re

import pytest

pytest.importorskip("playwright.sync_api", reason="the `playwright` package is not installed")
from playwright.sync_api import Page, expect  # noqa: E402

from core.facts.store import Store  # noqa: E402
from tests.browser.conftest import VIEWPORT, dashboard_server, find_chromium  # noqa: E402
from tests.core.factories import make_result  # noqa: E402

if find_chromium() is None:
    pytest.skip("no Chromium found (install Debian's `chromium`, or set BROWSER_PATH); browser tests skipped",
                allow_module_level=True)

from tests.browser.test_dashboard_browser import (  # noqa: E402
    IDLE_TIMEOUT_MS, assert_clean, open_page, screenshot, wait_idle)

pytestmark = pytest.mark.timeout(300)
PASSWORD = "s3cret-for-the-browser-test"
VIEWER_LINE = "Viewer (read-only) · sign in to import, delete or run probes"
EDITOR_LINE = "Signed in with the editor password · editor"


@pytest.fixture(scope="module")
def password_app_url(tmp_path_factory, chromium_path):
    """The dashboard on a store with one run, its secrets a shared editor password."""
    folder = tmp_path_factory.mktemp("accelscope-roles")
    Store(f"sqlite:///{folder / 'ui.db'}").add_many([make_result(run_id="run-a"), make_result(run_id="run-a")])
    secrets = folder / "secrets.toml"
    secrets.write_text(f'[accelscope]\neditor_password = "{PASSWORD}"\n', encoding="utf-8")
    with dashboard_server(folder, ("--secrets.files", str(secrets))) as base:
        yield base


def results_controls(page: Page) -> tuple[int, int]:
    """(import uploaders, Delete run buttons) on the Results page."""
    main = page.get_by_test_id("stMain")
    return (main.get_by_test_id("stFileUploader").count(),
            main.get_by_role("button", name="Delete run").count())


def test_a_viewer_signs_in_with_the_editor_password_and_gets_the_controls(browser, password_app_url,
                                                                          artifacts_dir):
    context = browser.new_context(viewport=VIEWPORT, base_url=password_app_url)
    context.set_default_timeout(30_000)
    page = context.new_page()
    page.js_errors = []
    page.on("pageerror", lambda error: page.js_errors.append(str(error)))
    try:
        open_page(page, "/results", "Results")
        sidebar = page.get_by_test_id("stSidebar")
        expect(sidebar.get_by_text(VIEWER_LINE)).to_be_visible()
        expect(page.get_by_text("Importing results needs an editor", exact=False)).to_be_visible()
        expect(page.get_by_text("Deleting a run needs an editor", exact=False)).to_be_visible()
        expect(page.get_by_role("button", name="Download JSON bundle")).to_be_enabled()
        assert results_controls(page) == (0, 0)
        assert_clean(page, "Results as a viewer")
        screenshot(page, artifacts_dir, "roles-viewer")

        field = sidebar.get_by_label("Editor password")
        field.fill("not the password")
        sidebar.get_by_role("button", name="Sign in as editor").click()
        expect(sidebar.get_by_text("Wrong editor password: you are still a viewer.")).to_be_visible(
            timeout=IDLE_TIMEOUT_MS)
        wait_idle(page)
        expect(field).to_have_value("")  # the form clears the field: the password does not linger
        assert results_controls(page) == (0, 0)

        field.fill(PASSWORD)
        sidebar.get_by_role("button", name="Sign in as editor").click()
        expect(sidebar.get_by_text(EDITOR_LINE)).to_be_visible(timeout=IDLE_TIMEOUT_MS)
        wait_idle(page)
        expect(page.get_by_test_id("stMain").get_by_test_id("stFileUploader")).to_be_visible()
        expect(page.get_by_role("button", name="Delete run")).to_be_visible()
        expect(sidebar.get_by_role("button", name=re.compile("Sign out"))).to_be_visible()
        assert results_controls(page) == (1, 1)
        assert_clean(page, "Results as an editor")
        screenshot(page, artifacts_dir, "roles-editor")
    finally:
        context.close()
