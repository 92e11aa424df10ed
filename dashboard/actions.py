"""Every action that changes shared data, each guarded inside itself by ``auth.require_editor``.

Pages hide these controls from viewers, but hiding is not the guard: a widget forced from the
browser or a button left over from before a sign-out still ends here, and is refused here with
``auth.NotAllowed`` before anything changes.
"""

from __future__ import annotations

import streamlit as st

from core.facts.results import ProbeResult
from core.facts.store import Store
from core.views.pricing import PriceSheet
from dashboard import data, frames, runs, state
from dashboard.auth import require_editor, signature


def import_results(store: Store, results: list[ProbeResult]) -> int:
    """Add ``results`` to the store (all of them were validated already); returns how many were new."""
    require_editor("Importing results")
    added = store.add_many(results)
    data.store_stamp.clear()
    return added


def delete_run(store: Store, run_id: str) -> int:
    """Delete every result of one run; returns how many were deleted."""
    require_editor("Deleting a run")
    deleted = store.delete_run(run_id)
    data.store_stamp.clear()
    return deleted


def start_plan(specs: list[dict], db_url: str, *, meters: str) -> runs.PlanRun:
    """Start a probe plan in the background (it writes its results into the store at ``db_url``)."""
    require_editor("Running probes")
    return runs.start_plan(specs, db_url, meters=meters)


def cancel_plan(run: runs.PlanRun) -> None:
    require_editor("Cancelling a probe run")
    run.cancel()


def add_price_sheet(sheet: PriceSheet, *, use: bool = False) -> None:
    """Keep an uploaded or edited price sheet for this session; ``use`` makes it the sheet cost is priced on."""
    require_editor("Adding a price sheet")
    st.session_state[state.CUSTOM_SHEETS][sheet.name] = sheet
    if use:
        st.session_state[state.SHEET] = sheet.name


def save_team_sheet(store: Store, name: str, sheet: PriceSheet) -> int:
    """Keep ``sheet`` in the store as the next version of the team sheet ``name``, signed with the
    editor's name; returns the version. The store validates it again and refuses a bundled sheet's
    name (InvalidPriceSheet) or a read-only or damaged store (StoreError): nothing is written then.
    This session's own copy of that name is dropped, so the team's is what it prices with too."""
    identity = require_editor("Saving a team price sheet")
    version = store.save_price_sheet(name, frames.price_sheet_csv(sheet), signature(identity))
    data.sheets_stamp.clear()
    st.session_state[state.CUSTOM_SHEETS].pop(name.strip(), None)
    return version
