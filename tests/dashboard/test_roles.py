"""Roles: a viewer sees everything and changes nothing; an editor imports, deletes, runs probes and
adds price sheets. Each secrets form under AppTest (no secrets, the shared editor password, OIDC
with ``st.user`` seeded through ``AppTest.user``), and the guard inside the actions themselves."""

import json
from pathlib import Path

import pytest
import streamlit
from streamlit.runtime.secrets import Secrets
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.util import patch_config_options

from core.facts.store import Store
from dashboard import auth, state
from tests.core.factories import make_result
from tests.dashboard.helpers import as_shown

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")
PASSWORD = "correct horse ✓"  # non-ASCII: compared as UTF-8 bytes
PASSWORD_SECRETS = {"accelscope": {"editor_password": PASSWORD}}
OIDC_SECRETS = {
    "auth": {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "test-cookie-secret",
             "client_id": "accelscope-test", "client_secret": "test-client-secret",
             "server_metadata_url": "https://accounts.example.com/.well-known/openid-configuration"},
    "accelscope": {"editors": ["Ann@Example.com", " carl@example.com "],
                   "editor_password": "ignored: [auth] wins"},
}


@pytest.fixture
def store_url(tmp_path, monkeypatch):
    """A temporary SQLite store with three results in two runs."""
    url = f"sqlite:///{tmp_path / 'roles.db'}"
    monkeypatch.setenv("ACCELSCOPE_DB", url)
    Store(url).add_many([make_result(run_id="run-a"), make_result(run_id="run-a"), make_result(run_id="run-b")])
    return url


def open_page(page: str, secrets: dict | None = None, user: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90)
    at.secrets.update(secrets or {})
    if user is not None:
        at.user = user
    at.switch_page(f"views/{page}.py").run()  # one run: no detour through Explore
    assert not at.exception, [e.value for e in at.exception]
    return at


def identity_line(at: AppTest) -> str:
    return as_shown(at.sidebar.markdown[0].value)  # the first thing in the sidebar under the page links


def labels(elements) -> set[str]:
    return {e.label for e in elements}


def can_change_results(at: AppTest) -> tuple[bool, bool]:
    """(an import uploader is shown, a delete button is shown) on Results."""
    return bool(at.get("file_uploader")), "Delete run" in labels(at.button)


def sign_in(at: AppTest) -> None:
    next(b for b in at.sidebar.button if b.label == "Sign in as editor").click().run()
    assert not at.exception, [e.value for e in at.exception]


def bundle(count: int) -> bytes:
    return json.dumps({"format": "accelscope-results", "version": 1,
                       "results": [make_result(run_id="run-new").to_dict() for _ in range(count)]}).encode()


# ---------------------------------------------------------------------------------------------------
# The role decision, as a pure function


@pytest.mark.parametrize(("email", "role"), [
    ("ann@example.com", "editor"), ("ANN@EXAMPLE.COM", "editor"), (" ann@example.com ", "editor"),
    ("carl@example.com", "editor"), ("bob@example.com", "viewer"), ("", "viewer"), (None, "viewer"),
    ("ann@example.co", "viewer"), ("example.com", "viewer"),
])
def test_role_for_matches_editor_emails_case_insensitively(email, role):
    assert auth.role_for(email, ["Ann@Example.com", " carl@example.com "]) == role


def test_nobody_is_an_editor_when_the_list_is_empty():
    assert auth.role_for("ann@example.com", []) == "viewer"


def test_identity_is_frozen():
    identity = auth.Identity("ann@example.com", "editor", "oidc")
    with pytest.raises(AttributeError):
        identity.role = "viewer"


def test_a_secrets_file_that_cannot_be_read_makes_everyone_a_viewer(tmp_path, monkeypatch):
    """Fail closed: the unreadable file may be the one that was meant to restrict editing."""
    broken = tmp_path / "secrets.toml"
    broken.write_text('[accelscope]\neditor_password = "unterminated\n', encoding="utf-8")
    monkeypatch.setattr(streamlit, "secrets", Secrets())
    with patch_config_options({"secrets.files": [str(broken)]}):
        assert auth.current_identity() == auth.Identity("", "viewer", "local")
        with pytest.raises(auth.NotAllowed, match="secrets file could not be read"):
            auth.require_editor("Importing results")
    monkeypatch.setattr(streamlit, "secrets", Secrets())
    with patch_config_options({"secrets.files": [str(tmp_path / "absent.toml")]}):
        assert auth.current_identity() == auth.Identity("local user", "editor", "local")  # no file: local use


# ---------------------------------------------------------------------------------------------------
# No secrets: one local user, an editor


def test_without_secrets_the_local_user_is_an_editor(store_url):
    at = open_page("results")
    assert identity_line(at).endswith("Local · editor")
    assert can_change_results(at) == (True, True)
    assert not labels(at.sidebar.button) & {"Sign in", "Sign in as editor", "Sign out"}


# ---------------------------------------------------------------------------------------------------
# The shared editor password


def test_a_viewer_sees_results_and_exports_but_no_control_that_changes_data(store_url, monkeypatch):
    monkeypatch.setattr("dashboard.data.torch_installed", lambda: True)  # Run would show its plan form
    at = open_page("results", PASSWORD_SECRETS)
    assert identity_line(at).endswith("Viewer (read-only) · sign in to import, delete or run probes")
    assert can_change_results(at) == (False, False)
    assert {"Download JSON bundle", "Download CSV"} <= labels(at.get("download_button"))
    assert at.dataframe, "the results table"
    captions = " ".join(c.value for c in at.caption)
    assert "Importing results needs an editor" in captions and "Deleting a run needs an editor" in captions
    assert not at.error

    at.switch_page("views/run.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert "Start" not in labels(at.button) and "Cancel" not in labels(at.button)
    assert any("Running probes needs an editor" in i.value for i in at.info)

    at.switch_page("views/hardware.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.get("file_uploader") and "Use my edits" not in labels(at.button)
    assert any("editing or uploading a price sheet needs an editor" in c.value for c in at.caption)
    assert at.selectbox(key=state.SHEET_TO_VIEW).value, "the sheets can still be looked at"


def forced_actions(db_url: str) -> None:
    """A viewer's script run that calls every guarded action, as a forced widget or a stale button
    would; each refusal is shown as an error."""
    import streamlit as st

    from core.facts.store import Store
    from core.views.pricing import bundled_sheets
    from dashboard import actions, auth, state
    from tests.core.factories import make_result

    state.init()  # the session's defaults, as app.py sets them
    store = Store(db_url)
    sheet = bundled_sheets()[0]
    calls = {
        "import": lambda: actions.import_results(store, [make_result(run_id="forced")]),
        "delete": lambda: actions.delete_run(store, "run-a"),
        "start": lambda: actions.start_plan([{"workload": "mlp"}], db_url, meters="none"),
        "cancel": lambda: actions.cancel_plan(None),
        "sheet": lambda: actions.add_price_sheet(sheet, use=True),
        "team sheet": lambda: actions.save_team_sheet(store, "mycloud", sheet),
    }
    for name, call in calls.items():
        try:
            call()
        except auth.NotAllowed as exc:
            st.error(f"{name}: {exc}")
        else:
            st.success(f"{name}: done")


@pytest.mark.parametrize(("secrets", "user", "who"), [
    (PASSWORD_SECRETS, None, "you are a viewer. Sign in as an editor (sidebar)."),
    (OIDC_SECRETS, {"is_logged_in": False}, "you are a viewer. Sign in as an editor (sidebar)."),
    (OIDC_SECRETS, {"is_logged_in": True, "email": "bob@example.com"},
     "you are signed in as bob@example.com, a viewer."),
], ids=["password-viewer", "oidc-signed-out", "oidc-signed-in-viewer"])
def test_every_guarded_action_refuses_a_viewer_and_changes_nothing(store_url, monkeypatch, secrets, user, who):
    started = []
    monkeypatch.setattr("dashboard.runs.start_plan", lambda *a, **k: started.append(a))
    at = AppTest.from_function(forced_actions, args=(store_url,), default_timeout=60)
    at.secrets.update(secrets)
    if user is not None:
        at.user = user
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.success, [s.value for s in at.success]
    errors = {e.value.split(":")[0]: e.value for e in at.error}
    assert set(errors) == {"import", "delete", "start", "cancel", "sheet", "team sheet"}
    assert "Importing results needs an editor; " + who in errors["import"]
    assert "Deleting a run needs an editor" in errors["delete"]
    assert "Running probes needs an editor" in errors["start"]
    assert "Saving a team price sheet needs an editor" in errors["team sheet"]
    assert Store(store_url).price_sheets() == []
    assert Store(store_url).count() == 3 and {r["run_id"] for r in Store(store_url).runs()} == {"run-a", "run-b"}
    assert started == []
    assert at.session_state[state.CUSTOM_SHEETS] == {} and at.session_state[state.SHEET] == state.DEFAULTS[state.SHEET]


def test_the_editor_password_signs_in_and_out(store_url):
    at = open_page("results", PASSWORD_SECRETS)
    assert at.session_state[state.EDITOR_SIGNED_IN] is False

    at.text_input(key=state.EDITOR_PASSWORD).input("correct horse")  # a prefix of the password
    sign_in(at)
    assert any(e.value == "Wrong editor password: you are still a viewer." for e in at.sidebar.error)
    assert identity_line(at).endswith("Viewer (read-only) · sign in to import, delete or run probes")
    assert can_change_results(at) == (False, False)
    assert at.session_state[state.EDITOR_SIGNED_IN] is False

    at.text_input(key=state.EDITOR_PASSWORD).input(PASSWORD)
    sign_in(at)
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert identity_line(at).endswith("Signed in with the editor password · editor")
    assert can_change_results(at) == (True, True)
    assert PASSWORD not in repr(at.session_state.to_dict()), "the password is not kept in the session"

    at.get("file_uploader")[0].set_value(("two.json", bundle(2), "application/json"))
    at.run()
    assert any("Imported 2" in s.value for s in at.success)
    assert Store(store_url).count() == 5

    next(b for b in at.sidebar.button if b.label == "Sign out").click().run()
    assert identity_line(at).endswith("Viewer (read-only) · sign in to import, delete or run probes")
    assert can_change_results(at) == (False, False)


# ---------------------------------------------------------------------------------------------------
# Streamlit's own sign-in (OIDC): st.user seeded through AppTest.user


def test_oidc_signed_out_is_a_viewer_with_a_sign_in_button(store_url):
    at = open_page("results", OIDC_SECRETS, user={"is_logged_in": False})
    assert identity_line(at).endswith("Viewer (read-only) · sign in to import, delete or run probes")
    assert "Sign in" in labels(at.sidebar.button)
    assert not at.text_input, "no password field: [auth] wins over editor_password"
    assert can_change_results(at) == (False, False)
    # AppTest's secrets do not reach st.login's own check of [auth], which then sees a misconfigured
    # sign-in: it is reported in the sidebar, not raised.
    next(b for b in at.sidebar.button if b.label == "Sign in").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(as_shown(e.value).startswith("Sign-in is not set up correctly") for e in at.sidebar.error)


def test_oidc_named_providers_get_a_button_each(store_url):
    providers = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "x",
                 "google": {"client_id": "g"}, "microsoft": {"client_id": "m"}}
    at = open_page("results", {**OIDC_SECRETS, "auth": providers}, user={"is_logged_in": False})
    assert {"Sign in with google", "Sign in with microsoft"} <= labels(at.sidebar.button)


def test_oidc_editor_by_email_and_a_signed_in_viewer(store_url):
    at = open_page("results", OIDC_SECRETS, user={"is_logged_in": True, "email": "ANN@example.com"})
    assert identity_line(at).endswith("Signed in as ANN@example.com · editor")
    assert can_change_results(at) == (True, True)
    assert "Sign out" in labels(at.sidebar.button) and "Sign in" not in labels(at.sidebar.button)

    at.user = {"is_logged_in": True, "email": "bob@example.com"}
    at.run()
    assert identity_line(at).endswith("Signed in as bob@example.com · viewer (read-only)")
    assert can_change_results(at) == (False, False)

    at.user = {"is_logged_in": True, "email": "ann@example.com", "email_verified": False}
    at.run()
    assert identity_line(at).endswith("Signed in as ann@example.com · viewer (read-only)"), "unverified email"

    at.user = {"is_logged_in": True, "email": "ann@example.com"}
    at.run()
    next(b for b in at.sidebar.button if b.label == "Sign out").click().run()  # st.logout()
    assert at.user.get("is_logged_in") is False
    assert identity_line(at).endswith("Viewer (read-only) · sign in to import, delete or run probes")
    assert can_change_results(at) == (False, False)
