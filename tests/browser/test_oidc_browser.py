"""Roles with Streamlit's OIDC sign-in (``st.login``) in a real browser, against a real OIDC provider.

The provider (oidc_provider.py) runs on loopback in this process; the dashboard is ``streamlit run``
with secrets (given through ``--secrets.files``, the repository's .streamlit/ untouched) whose
``[auth]`` section points at it and whose ``[accelscope] editors`` lists ann. A visitor who has not
signed in sees Results read-only and a "Sign in" button; clicking it runs the whole authorization-code
flow (Streamlit's /auth/login, the provider's /authorize, Streamlit's /oauth2callback exchanging the
code at /token and checking the RS256 id_token against /jwks) and ann comes back an editor; after
"Sign out", bob, who is not in ``editors``, signs in and stays a viewer.

The app is opened at ``localhost`` (the host of ``redirect_uri``): Streamlit only trusts its sign-in
cookie on a websocket from that origin; the provider is at 127.0.0.1, another site, as a real one is.
"""

from __future__ import annotations

import re
import secrets
from urllib.parse import urlsplit

import pytest

pytest.importorskip("playwright.sync_api", reason="the `playwright` package is not installed")
pytest.importorskip("authlib", reason="Streamlit's st.login needs Authlib")
pytest.importorskip("joserfc", reason="the test's OIDC provider signs its id_tokens with joserfc (Authlib's)")
from playwright.sync_api import Page, expect  # noqa: E402

from core.facts.store import Store  # noqa: E402
from tests.browser.conftest import VIEWPORT, dashboard_server, find_chromium  # noqa: E402
from tests.browser.oidc_provider import OIDCProvider  # noqa: E402
from tests.core.factories import make_result  # noqa: E402

if find_chromium() is None:
    pytest.skip("no Chromium found (install Debian's `chromium`, or set BROWSER_PATH); browser tests skipped",
                allow_module_level=True)

from tests.browser.test_dashboard_browser import (  # noqa: E402
    IDLE_TIMEOUT_MS, assert_clean, open_page, screenshot, wait_for_url)

pytestmark = pytest.mark.timeout(300)
CLIENT_ID = "accelscope-browser-test"
EDITOR_EMAIL = "ann@example.com"
VIEWER_EMAIL = "bob@example.com"
SIGNED_OUT_LINE = "Viewer (read-only) · sign in to import, delete or run probes"


@pytest.fixture(scope="module")
def oidc_app(tmp_path_factory, chromium_path):
    """(the app's base URL at localhost, the provider): the dashboard on a store with one run, its
    secrets an ``[auth]`` section for the loopback provider and ann as the one editor."""
    folder = tmp_path_factory.mktemp("accelscope-oidc")
    Store(f"sqlite:///{folder / 'ui.db'}").add_many([make_result(run_id="run-a"), make_result(run_id="run-a")])
    with OIDCProvider(CLIENT_ID, secrets.token_urlsafe(24)) as provider:
        secrets_file = folder / "secrets.toml"
        # {port}: Streamlit fills in its own port, which dashboard_server picks.
        secrets_file.write_text(
            "[auth]\n"
            'redirect_uri = "http://localhost:{port}/oauth2callback"\n'
            f'cookie_secret = "{secrets.token_hex(32)}"\n'
            f'client_id = "{provider.client_id}"\n'
            f'client_secret = "{provider.client_secret}"\n'
            f'server_metadata_url = "{provider.metadata_url}"\n'
            "[accelscope]\n"
            f'editors = ["{EDITOR_EMAIL.title()}", "carl@example.com"]\n',  # case differs: still ann
            encoding="utf-8")
        with dashboard_server(folder, ("--secrets.files", str(secrets_file))) as base:
            port = urlsplit(base).port
            provider.redirect_uri = f"http://localhost:{port}/oauth2callback"  # registered with the provider
            yield f"http://localhost:{port}", provider


def signed_in(email: str, role: str = "") -> re.Pattern:
    """The sidebar's "Signed in as <email> · <role>" as shown: the app breaks the address's autolink with
    an invisible word joiner (U+2060), which may sit between any two characters."""
    return re.compile("Signed in as " + "\u2060?".join(map(re.escape, email)) + re.escape(f" · {role}"))


def results_controls(page: Page) -> tuple[int, int]:
    """(import uploaders, Delete run buttons) on the Results page."""
    main = page.get_by_test_id("stMain")
    return (main.get_by_test_id("stFileUploader").count(),
            main.get_by_role("button", name="Delete run").count())


def sign_in_as(page: Page, provider: OIDCProvider, email: str) -> None:
    """Click "Sign in" and follow the flow until Streamlit's callback has brought the browser back to
    the app's front page as ``email``."""
    issued = len(provider.issued)
    provider.login_as = email
    page.get_by_test_id("stSidebar").get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_test_id("stSidebar").get_by_text(signed_in(email))
           ).to_be_visible(timeout=IDLE_TIMEOUT_MS)
    wait_for_url(page, "/")  # Streamlit's callback redirects to the app's root
    assert provider.issued[issued:] == [email], "the provider issued no id_token for this sign-in"


def test_oidc_sign_in_makes_an_editor_only_of_the_listed_emails(browser, oidc_app, artifacts_dir):
    base, provider = oidc_app
    context = browser.new_context(viewport=VIEWPORT, base_url=base)
    context.set_default_timeout(30_000)
    page = context.new_page()
    page.js_errors = []
    page.on("pageerror", lambda error: page.js_errors.append(str(error)))
    sidebar = page.get_by_test_id("stSidebar")
    try:
        # (1) Not signed in: a viewer, offered "Sign in".
        open_page(page, "/results", "Results")
        expect(sidebar.get_by_text(SIGNED_OUT_LINE)).to_be_visible()
        expect(sidebar.get_by_role("button", name="Sign in", exact=True)).to_be_visible()
        expect(page.get_by_text("Importing results needs an editor", exact=False)).to_be_visible()
        expect(page.get_by_text("Deleting a run needs an editor", exact=False)).to_be_visible()
        assert results_controls(page) == (0, 0)
        assert_clean(page, "Results, signed out")

        # (2) ann, listed in editors, signs in through the provider: an editor.
        sign_in_as(page, provider, EDITOR_EMAIL)
        open_page(page, "/results", "Results")  # a new page load: the sign-in lives in the cookie
        expect(sidebar.get_by_text(signed_in(EDITOR_EMAIL, "editor"))).to_be_visible()
        expect(page.get_by_test_id("stMain").get_by_test_id("stFileUploader")).to_be_visible()
        expect(page.get_by_role("button", name="Delete run")).to_be_visible()
        expect(sidebar.get_by_role("button", name=re.compile("Sign out"))).to_be_visible()
        expect(sidebar.get_by_role("button", name="Sign in", exact=True)).to_have_count(0)
        assert results_controls(page) == (1, 1)
        assert_clean(page, "Results as the OIDC editor")
        screenshot(page, artifacts_dir, "oidc-editor")

        # (3) Signed out, bob, not in editors, signs in: still a viewer.
        sidebar.get_by_role("button", name=re.compile("Sign out")).click()
        wait_for_url(page, "/")
        expect(sidebar.get_by_text(SIGNED_OUT_LINE)).to_be_visible(timeout=IDLE_TIMEOUT_MS)
        sign_in_as(page, provider, VIEWER_EMAIL)
        open_page(page, "/results", "Results")
        expect(sidebar.get_by_text(signed_in(VIEWER_EMAIL, "viewer (read-only)"))).to_be_visible()
        expect(page.get_by_text("Importing results needs an editor", exact=False)).to_be_visible()
        assert results_controls(page) == (0, 0)
        assert_clean(page, "Results as an OIDC viewer")
    finally:
        context.close()
