"""Results: the stored results; import (all or nothing), export, delete a run (import and delete: editors
only, into a store that can be written)."""

import streamlit as st

from core.errors import InvalidImport, StoreError
from core.facts.bundle import bundle_json, parse_bundle
from core.facts.tables import frame_csv
from core.views.notes import CONTENDED_OTHER_CPUS
from dashboard import actions, auth, data, state
from dashboard.fmt import plain

st.title("Results")
health = data.store_health()
store = data.open_store(data.db_url()) if health.usable else None
frame = data.current_frame()

stored_count = int((frame["source"] == "store").sum())
sample_count = len(frame) - stored_count
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
statuses = st.multiselect("Status", ["ok", "failed", "oom", "timeout"], placeholder="all")
shown = frame[frame["status"].isin(statuses)] if statuses else frame
FIRST = ["created_at", "status", "workload", "size", "device_label", "precision", "samples_per_s", "tokens_per_s",
         "step_time_cv", "warmup_settled", "host_other_cpus", "precision_emulated", "energy_j", "energy_kind", "error",
         "source"]
ordered = shown[FIRST + [c for c in shown.columns if c not in FIRST]].assign(error=shown["error"].fillna(""))
st.dataframe(ordered.sort_values("created_at", ascending=False).head(5000), hide_index=True, column_config={
    "device_label": st.column_config.TextColumn("device"),
    "samples_per_s": st.column_config.NumberColumn("samples/s", format="%,.0f"),
    "step_time_cv": st.column_config.NumberColumn("step CV", format="%.3f"),
    "warmup_settled": st.column_config.CheckboxColumn(
        "warm-up settled", help="Unticked: warm-up hit its time bound before step times settled within 10%"),
    "host_other_cpus": st.column_config.NumberColumn(
        "other CPUs busy", format="%.2f", help="CPUs other programs kept busy during the timed window; above "
                                               f"{CONTENDED_OTHER_CPUS:g} the result is contended (slower than the "
                                               "hardware)"),
    "precision_emulated": st.column_config.CheckboxColumn(
        "emulated precision", help="Ticked: the device has no native units for this precision"),
})
if len(shown) > 5000:
    st.caption(f"Showing the newest 5,000 of {len(shown):,}; export for all.")

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
    try:
        stored = store.results() if store is not None else []
    except StoreError as exc:
        st.error(plain(f"The stored results cannot be read for export: {exc}"))
        stored = []
    st.download_button("Download JSON bundle", bundle_json(stored, indent=None), "accelscope-results.json",
                       "application/json", disabled=not stored)
    csv = frame_csv(frame[frame["source"] == "store"])
    st.download_button("Download CSV", csv, "accelscope-results.csv", "text/csv", disabled=not stored)

st.subheader("Delete a run")
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
    labels = {r["run_id"]: f"{r['started_at']} · {r['results']} result(s) · {r['run_id'][:8]}" for r in runs}
    run_id = st.selectbox("Run", list(labels), format_func=labels.get)
    confirm = st.checkbox("Yes, delete every result of this run")
    if st.button("Delete run", disabled=not confirm, type="primary"):
        try:
            deleted = actions.delete_run(store, run_id)
        except StoreError as exc:
            st.error(plain(f"Nothing deleted. {exc}"))
        except auth.NotAllowed as exc:
            st.error(plain(exc))
        else:
            st.success(f"Deleted {deleted} result(s).")
            st.rerun()
