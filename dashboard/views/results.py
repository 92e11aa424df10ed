"""Results: the stored results; import (all or nothing), export, delete a run (import and delete: editors
only, into a store that can be written)."""

import streamlit as st

from core.errors import InvalidImport, StoreError
from core.facts.bundle import bundle_json, parse_bundle
from core.facts.rows import FLAT_COLUMNS
from core.facts.store import ROW_KINDS
from core.facts.tables import frame_csv
from core.views.notes import CONTENDED_OTHER_CPUS, NOISE_FLOOR_FACTOR, is_contended
from dashboard import actions, auth, data, frames, repeats, state
from dashboard.frames import typed_frame
from dashboard.fmt import MISSING, missing, percent, plain

SHOWN_ROWS = 5000
EXPORT_IN_PAGE = 200_000  # more stored results than this: the page points at `python -m core export`


def stored_frame(store):
    """Every stored result as flat rows (the CSV export)."""
    return typed_frame(((rows, "store") for rows in store.row_chunks(FLAT_COLUMNS)), ROW_KINDS)


# The main columns, with human headers and units; "Every column" adds the rest (the CSV export's names).
COLUMNS = {  # what tells results apart first: at 800 px the first five fit beside the sidebar
    "status": st.column_config.TextColumn("status"),
    "config": st.column_config.TextColumn("workload", help="workload/size"),
    "precision": st.column_config.TextColumn("precision"),
    "samples_per_s": st.column_config.NumberColumn("samples/s", format="%,.4g"),
    "step_time_cv": st.column_config.NumberColumn(
        "step-time CV", format="percent",
        help=f"Spread of the step times (standard deviation ÷ mean). Over {NOISE_FLOOR_FACTOR:g}× the machine's "
             "noise floor, the result is marked noisy"),
    "notes": st.column_config.TextColumn("notes", help="noisy (its step-time CV over twice its machine's noise "
                                                       "floor), unsettled warm-up, contended, emulated precision",
                                         width="medium"),
    "device_label": st.column_config.TextColumn("device", width="medium"),
    "when": st.column_config.TextColumn("when (UTC)", help="When the probe finished"),
    "tokens_per_s": st.column_config.NumberColumn("tokens/s", format="%,.4g"),
    "step_time_ms": st.column_config.NumberColumn("step time (ms)", format="%,.3g",
                                                  help="Median time of one training step in the timed window"),
    "energy_j": st.column_config.NumberColumn("energy (J)", format="%,.4g", help="Energy of the timed window"),
    "energy_kind": st.column_config.TextColumn("energy is", help="measured (a meter) or estimated (a model)"),
    "error": st.column_config.TextColumn("error", width="medium"),
    "source": st.column_config.TextColumn("from", help="store: your results; sample: bundled, read-only"),
    "run": st.column_config.TextColumn("run"),
    "result": st.column_config.TextColumn("result"),
}


def notes_text(row: dict) -> str:
    """What a reader must know about one result, in words: noisy (and why), unsettled, contended, emulated."""
    notes = []
    if not missing(row.get("noisy_reason")):
        notes.append(f"⚠ noisy: CV {percent(row['step_time_cv'])} > {NOISE_FLOOR_FACTOR:g} × "
                     f"{percent(row['noise_floor_cv'])} floor")
    if row.get("warmup_settled") is False and row.get("status") == "ok":
        notes.append("unsettled warm-up")
    if is_contended(row.get("host_other_cpus")) or row.get("concurrent_probes"):
        notes.append("contended")
    if row.get("precision_emulated") is True:
        notes.append("emulated precision")
    return "; ".join(notes)


def results_table(rows):
    """The stored rows as the table shows them: the main columns (COLUMNS) first, then every other one."""
    table = rows.assign(
        when=rows["created_at"].astype(str).str.slice(0, 16).str.replace("T", " "),
        config=frames.config_of(rows),
        step_time_ms=rows["step_time_s"] * 1e3,
        notes=[notes_text(r) for r in rows[["noisy_reason", "step_time_cv", "noise_floor_cv", "warmup_settled", "status",
                                            "host_other_cpus", "concurrent_probes", "precision_emulated"]].to_dict("records")],
        run=rows["run_id"].astype(str).str.slice(0, 8),
        result=rows["id"].astype(str).str.slice(0, 8),
        error=rows["error"].where(rows["error"].notna() & (rows["error"] != ""), None))
    return table[list(COLUMNS) + [c for c in rows.columns if c not in COLUMNS]]


st.title("Results")
health = data.store_health()
store = data.open_store(data.db_url()) if health.usable else None
found = data.current()
stored_count = found.stored
sample_count = len(found.samples)
if store is None:
    st.caption(plain(f"Store: {health.safe_url} · cannot be used (see above) · {sample_count:,} bundled sample "
                     f"result{'s' * (sample_count != 1)} (read-only)."))
else:
    st.caption(plain(f"Store: {store.safe_url} · {stored_count:,} stored result{'s' * (stored_count != 1)}, "
                     f"{sample_count:,} bundled sample result{'s' * (sample_count != 1)} (read-only)."))
if health.usable and health.read_only:
    st.info("**This results store is read-only** (the file or its folder cannot be written): its results are shown "
            "and can be exported, but nothing can be imported into it or deleted from it. Point `ACCELSCOPE_DB` at "
            "a store you can write, or fix the permissions, to change it.", icon=":material/lock:")
left, right = st.columns([2, 1], vertical_alignment="bottom")
statuses = left.multiselect("Status", ["ok", "failed", "oom", "timeout"], placeholder="all")
every_column = right.toggle("All columns", key=state.RESULTS_ALL_COLUMNS,
                            help="Also the environment, energy details and the rest of what a result stores")
newest = repeats.with_noise(data.rows_frame(where={"status": statuses}, newest=SHOWN_ROWS))
noisy = newest.dropna(subset=["noisy_reason"])
if not noisy.empty:
    st.markdown(f":orange-badge[:material/warning: noisy] **{len(noisy)} result{'s' * (len(noisy) != 1)}** with a "
                f"step-time CV over {NOISE_FLOOR_FACTOR:g}× the machine's noise floor (the median step-time CV of the "
                "machine's results): another program competed for the device, or the machine is a shared VM. The "
                "*notes* column names each one, with its CV and its machine's floor; compare medians of repeated runs, "
                "not single results.")
table = results_table(newest)
st.dataframe(table, hide_index=True, placeholder=MISSING, column_order=None if every_column else list(COLUMNS),
             column_config={
                 **COLUMNS,
                 "warmup_settled": st.column_config.CheckboxColumn(
                     "warm-up settled", help="Unticked: warm-up hit its time bound before step times settled "
                                             "within 10%"),
                 "host_other_cpus": st.column_config.NumberColumn(
                     "other CPUs busy", format="%.2f",
                     help=f"CPUs other programs kept busy during the timed window; above {CONTENDED_OTHER_CPUS:g} "
                          "the result is contended (slower than the hardware)"),
                 "precision_emulated": st.column_config.CheckboxColumn(
                     "emulated precision", help="Ticked: the device has no native units for this precision"),
                 "noise_floor_cv": st.column_config.NumberColumn("machine's noise floor (CV)", format="percent"),
                 "noisy_reason": None, "created_at": None, "workload": None, "size": None, "step_time_s": None,
                 "run_id": None, "id": None,
             })
if len(newest) == SHOWN_ROWS:
    total = data.count(where={"status": statuses})
    if total > SHOWN_ROWS:
        st.caption(f"Showing the newest {SHOWN_ROWS:,} of {total:,}; export for all.")

editor = auth.current_identity().is_editor
unwritable = ("the store cannot be used (see above)" if store is None else "the store is damaged (see above)"
              if health.damage else "the store is read-only" if health.read_only else None)
left, right = st.columns(2)
with left:
    st.subheader("Import")
    if not editor:
        st.caption("Importing results needs an editor: sign in as an editor in the sidebar.")
    elif unwritable:
        st.caption(f"Nothing can be imported: {unwritable}.")
    else:
        upload = st.file_uploader("Exported bundle (.json from `python -m core export`)", type=["json"])
        if upload is not None and st.session_state.get(state.IMPORTED_FILE) != (upload.name, upload.size):
            try:
                results = parse_bundle(upload.getvalue(), upload.name)
                added = actions.import_results(store, results)
            except (InvalidImport, StoreError) as exc:
                st.error(plain(f"Nothing imported. {exc}"))
            except auth.NotAllowed as exc:
                st.error(plain(exc))
            else:
                st.session_state[state.IMPORTED_FILE] = (upload.name, upload.size)
                st.success(f"Imported {added} result(s)" + (f"; {len(results) - added} were already stored."
                                                              if added < len(results) else "."))
with right:
    st.subheader("Export")
    if store is not None and stored_count > EXPORT_IN_PAGE:
        st.caption(plain(f"{stored_count:,} stored results are more than a browser download holds well (over "
                         f"{EXPORT_IN_PAGE:,}): export them with `python -m core export FILE.json --db "
                         f"{store.safe_url}` on a machine that can reach the store."))
    elif store is not None and health.damage:  # what still reads, and what is left out, said before the download
        try:
            stored, unreadable = store.readable_results()
        except StoreError as exc:
            st.error(plain(f"The stored results cannot be read for export: {exc}"))
            stored, unreadable = [], []
        if unreadable:
            st.warning(plain(f"{len(unreadable)} stored result(s) cannot be read and are left out of the bundle: "
                             + "; ".join(unreadable[:3])))
        st.download_button("Download JSON bundle", bundle_json(stored), "accelscope-results.json",
                           "application/json", disabled=not stored)
        st.download_button("Download CSV", frame_csv(stored_frame(store)), "accelscope-results.csv", "text/csv",
                           disabled=not stored)
    else:  # made when clicked (in the background), not on every rerun of the page
        st.download_button("Download JSON bundle", lambda: bundle_json(store.results()),
                           "accelscope-results.json", "application/json", disabled=not stored_count)
        st.download_button("Download CSV", lambda: frame_csv(stored_frame(store)), "accelscope-results.csv",
                           "text/csv", disabled=not stored_count)

st.subheader("Delete a run")
outcome = st.session_state.pop(state.DELETED, None)
if outcome is not None:
    (st.success if outcome[0] == "success" else st.error)(plain(outcome[1]))
try:
    runs = store.runs() if store is not None else []
except StoreError as exc:
    st.error(plain(f"The stored runs cannot be listed: {exc}"))
    runs = []
if not runs:
    st.caption("No stored runs (bundled samples cannot be deleted).")
elif not editor:
    st.caption("Deleting a run needs an editor: sign in as an editor in the sidebar.")
elif unwritable:
    st.caption(f"No run can be deleted: {unwritable}.")
else:
    # Two steps, each its own rerun: "Delete run" asks, "Yes, delete" deletes. The outcome is kept in the
    # session and shown after the rerun that refreshes the list (a message drawn just before st.rerun()
    # is never seen: the rerun replaces the page before the browser paints it).
    labels = {r["run_id"]: f"{str(r['started_at'])[:16].replace('T', ' ')} · {r['results']} result(s) · "
                           f"{r['run_id'][:8]}" for r in runs}
    run_id = st.selectbox("Run", list(labels), format_func=labels.get, width=480)
    pending = st.session_state.get(state.DELETE_PENDING)
    if pending is not None and pending != run_id:  # another run was picked: its question no longer stands
        st.session_state.pop(state.DELETE_PENDING)
        pending = None
    if pending is None:
        if st.button("Delete run", type="primary", icon=":material/delete:"):
            st.session_state[state.DELETE_PENDING] = run_id
            st.rerun()
    else:
        count = next(r["results"] for r in runs if r["run_id"] == run_id)
        with st.container(border=True, key="delete_confirmation"):
            st.warning(plain(f"Delete run {labels[run_id]}? Its {count} result(s) are removed from the store for "
                             "everyone using it; this cannot be undone (export it first to keep a copy)."),
                       icon=":material/warning:")
            yes, no = st.columns(2)
            if yes.button(f"Yes, delete {count} result(s)", type="primary", icon=":material/delete_forever:"):
                st.session_state.pop(state.DELETE_PENDING, None)
                try:
                    deleted = actions.delete_run(store, run_id)
                except StoreError as exc:
                    st.session_state[state.DELETED] = ("error", f"Nothing deleted. {exc}")
                except auth.NotAllowed as exc:
                    st.session_state[state.DELETED] = ("error", str(exc))
                else:
                    st.session_state[state.DELETED] = ("success", f"Deleted run {run_id[:8]}: {deleted} result(s).")
                st.rerun()
            if no.button("Cancel"):
                st.session_state.pop(state.DELETE_PENDING, None)
                st.rerun()
