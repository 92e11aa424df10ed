"""What the top of every page says before the page itself: a results store that cannot be used, or
is damaged. (A link that cannot be honoured is said right under it: state.link_notice.)"""

from __future__ import annotations

import streamlit as st

from core.facts.store import DB_ENV_VAR, RECOVERY_HINT
from dashboard import data
from dashboard.fmt import plain

OTHER_STORE = (f"To use another store, point `{DB_ENV_VAR}` at it (in the app's secrets, or the environment of "
               "`streamlit run`) and reload.")


def store_panel() -> None:
    """One panel when the store cannot be used (an error: the pages go on with the bundled samples)
    or is damaged (a warning: what can still be read is shown, nothing can be written)."""
    health = data.store_health()
    if not health.usable:
        st.error(f"**The results store cannot be used.** {_named(health.error, health.safe_url)}\n\n"
                 "Until it is fixed, every page shows the bundled sample results and price sheets only, and "
                 "nothing can be imported, deleted, run or saved for the team. " + OTHER_STORE,
                 icon=":material/database_off:")
    elif health.damage:
        hint = _hint(health.safe_url)
        st.warning(f"**The results store is damaged.** Store: {plain(health.safe_url)}\n\n"
                   f"Its integrity check found: {plain(health.damage)}\n\n"
                   "What can still be read is shown; nothing can be written to it (import, delete, probe runs and "
                   f"team price sheets are refused). {hint[0].upper()}{hint[1:]}.",
                   icon=":material/warning:")


def _named(message: str, safe_url: str) -> str:
    """A store's error as Markdown: its text escaped (``plain``), except the recovery hint, which is
    core's own Markdown (commands in code spans) and is kept so, for this store's file."""
    message = message[:1].upper() + message[1:]
    head, found, tail = message.partition(RECOVERY_HINT)
    text = plain(head) + (_hint(safe_url) + plain(tail) if found else "")
    return text if safe_url in message else f"Store: {plain(safe_url)}. {text}"


def _hint(safe_url: str) -> str:
    """core's RECOVERY_HINT with this store's SQLite file in place of BROKEN.db, so its commands can be
    copied as they are (a path with a backquote would end the code span: then the placeholder stays)."""
    path = _sqlite_path(safe_url)
    return RECOVERY_HINT.replace("BROKEN.db", path) if path and "`" not in path else RECOVERY_HINT


def _sqlite_path(safe_url: str) -> str | None:
    prefix = "sqlite:///"
    return safe_url[len(prefix):] if safe_url.startswith(prefix) and len(safe_url) > len(prefix) else None
