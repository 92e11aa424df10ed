"""Who is using the dashboard, and whether they may change the team's data.

Two roles: an **editor** may import into and delete from the results store, run probes and add
price sheets; a **viewer** sees everything and exports, and changes nothing. The app's secrets
decide, in this order:

1. ``[auth]`` (Streamlit's OIDC sign-in, ``st.login``): a signed-in visitor is an editor iff their
   email is in ``[accelscope] editors``; everyone else is a viewer.
2. ``[accelscope] editor_password``: a visitor who types the shared password in the sidebar is an
   editor for the rest of the browser session; everyone else is a viewer.
3. Neither: one local user, who is an editor.

A secrets file that exists but cannot be read fails closed (viewer). The guard is
``require_editor``, called inside every action that changes shared data (actions.py), so a hidden
widget forced from the browser or a stale button still changes nothing.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import streamlit as st
from streamlit import config
from streamlit.errors import StreamlitAuthError

from dashboard import state
from dashboard.fmt import plain

EDITOR = "editor"
VIEWER = "viewer"


class NotAllowed(PermissionError):
    """A viewer tried to change shared data. The message says what was refused and what to do."""


@dataclass(frozen=True)
class Identity:
    """Who is using this browser session: ``name`` (an email, or "" for nobody in particular),
    ``role`` ("editor" or "viewer") and ``method``, how roles are decided ("local", "oidc", "password")."""

    name: str
    role: str
    method: str

    @property
    def is_editor(self) -> bool:
        return self.role == EDITOR


class _SecretsUnreadable(Exception):
    """A secrets file exists but Streamlit could not parse it."""


def role_for(email: str | None, editors: Iterable[str]) -> str:
    """The role of a signed-in user: editor iff their email is one of ``editors`` (case and
    surrounding spaces ignored); no email, or an empty list, makes a viewer."""
    if not email or not email.strip():
        return VIEWER
    wanted = email.strip().casefold()
    return EDITOR if any(wanted == str(e).strip().casefold() for e in editors) else VIEWER


def _editors(value: Any) -> tuple[str, ...]:
    """``[accelscope] editors`` as a tuple of emails; a single string is read as a comma-separated list."""
    if isinstance(value, str):
        return tuple(part for part in value.split(",") if part.strip())
    if isinstance(value, Iterable) and not isinstance(value, Mapping):
        return tuple(str(v) for v in value)
    return ()


def _section(name: str) -> Mapping[str, Any]:
    """One table of the app's secrets; empty when there is no such table or no secrets file at all."""
    try:
        value = st.secrets.get(name)
    except FileNotFoundError as exc:  # Streamlit's "no secrets found" and "cannot parse secrets" both
        configured = config.get_option("secrets.files") or []
        if any(Path(path).exists() for path in configured):
            raise _SecretsUnreadable from exc
        return {}
    return value if isinstance(value, Mapping) else {}


def _oidc_providers(auth_section: Mapping[str, Any]) -> tuple[str | None, ...]:
    """The providers ``st.login`` can use: ``None`` (the default) when ``[auth]`` holds a provider's
    settings itself, else the names of its ``[auth.<name>]`` tables."""
    if "client_id" in auth_section:
        return (None,)
    return tuple(name for name, value in auth_section.items() if isinstance(value, Mapping))


def _user_field(name: str) -> Any:
    """A field of ``st.user``; ``None`` when it is absent (no sign-in configured, or a test's user)."""
    return st.user.get(name)


def current_identity() -> Identity:
    """This session's identity, from the secrets, ``st.user`` and the session's password sign-in."""
    try:
        auth_section = _section("auth")
        settings = _section("accelscope")
    except _SecretsUnreadable:
        return Identity("", VIEWER, "local")  # fail closed: the secrets meant to restrict may be in there
    if auth_section:
        if not _user_field("is_logged_in"):
            return Identity("", VIEWER, "oidc")
        email = str(_user_field("email") or "")
        role = role_for(email, _editors(settings.get("editors")))
        if _user_field("email_verified") is False:  # the provider says the address was never confirmed
            role = VIEWER
        return Identity(email, role, "oidc")
    if settings.get("editor_password"):
        signed_in = bool(st.session_state.get(state.EDITOR_SIGNED_IN))
        return Identity("", EDITOR if signed_in else VIEWER, "password")
    return Identity("local user", EDITOR, "local")


def require_editor(action: str) -> Identity:
    """The editor's identity; ``NotAllowed`` unless this session is an editor. ``action`` names what
    was refused, as the start of a sentence ("Importing results")."""
    identity = current_identity()
    if identity.is_editor:
        return identity
    if identity.method == "oidc" and identity.name:
        how = (f"you are signed in as {identity.name}, a viewer. Ask whoever deploys this app to add your "
               "email to the editors.")
    elif identity.method == "local":
        how = "you are a viewer because this app's secrets file could not be read."
    else:
        how = "you are a viewer. Sign in as an editor (sidebar)."
    raise NotAllowed(f"{action} needs an editor; {how}")


def signature(identity: Identity) -> str:
    """How a change is signed in the store (a team sheet's "saved by"): the signed-in email, "local
    user", or "editor (shared password)" (the password says nothing about who typed it)."""
    if identity.name:
        return identity.name
    return "editor (shared password)" if identity.method == "password" else "local user"


def describe(identity: Identity) -> str:
    """The sidebar's line saying who you are and what you may do (plain text: the sidebar escapes it)."""
    if identity.method == "local":
        if identity.is_editor:
            return "Local · editor"
        return "Viewer (read-only) · the secrets file could not be read, so nobody can change data"
    if identity.is_editor:
        if identity.method == "password":
            return "Signed in with the editor password · editor"
        return f"Signed in as {identity.name} · editor"
    if identity.name:
        return f"Signed in as {identity.name} · viewer (read-only)"
    return "Viewer (read-only) · sign in to import, delete or run probes"


def _check_password(typed: str, expected: str) -> bool:
    return hmac.compare_digest(typed.encode("utf-8"), expected.encode("utf-8"))


def sidebar() -> Identity:
    """Once per run, before the page: who you are, and the sign-in or sign-out controls. Returns the
    identity the page then runs with."""
    line = st.sidebar.container()
    try:
        auth_section = _section("auth")
        password = str(_section("accelscope").get("editor_password") or "")
    except _SecretsUnreadable:
        auth_section, password = {}, ""
        st.sidebar.error("The app's secrets file could not be read: everyone is a viewer until it is fixed.")
    if auth_section:
        _oidc_controls(auth_section)
    elif password:
        _password_controls(password)
    identity = current_identity()
    icon = ":material/edit:" if identity.is_editor else ":material/visibility:"
    line.markdown(f"{icon} {plain(describe(identity))}")  # an email is text, not a mailto: link
    return identity


def _oidc_controls(auth_section: Mapping[str, Any]) -> None:
    if _user_field("is_logged_in"):
        if st.sidebar.button("Sign out", icon=":material/logout:"):
            st.logout()
        return
    providers = _oidc_providers(auth_section) or (None,)
    for provider in providers:
        label = "Sign in" if len(providers) == 1 else f"Sign in with {provider}"
        if st.sidebar.button(label, icon=":material/login:", key=state.sign_in_key(provider)):
            try:
                st.login(*(() if provider is None else (provider,)))
            except StreamlitAuthError as exc:  # a misconfigured [auth] section
                st.sidebar.error(plain(f"Sign-in is not set up correctly: {exc}"))


def _password_controls(password: str) -> None:
    if st.session_state.get(state.EDITOR_SIGNED_IN):
        if st.sidebar.button("Sign out", icon=":material/logout:"):
            st.session_state[state.EDITOR_SIGNED_IN] = False
            st.rerun()
        return
    with st.sidebar.form("editor_sign_in", clear_on_submit=True, border=False):
        typed = st.text_input("Editor password", type="password", key=state.EDITOR_PASSWORD)
        submitted = st.form_submit_button("Sign in as editor", icon=":material/login:")
    if submitted:
        if _check_password(typed or "", password):
            st.session_state[state.EDITOR_SIGNED_IN] = True
            st.rerun()
        st.sidebar.error("Wrong editor password: you are still a viewer.")
