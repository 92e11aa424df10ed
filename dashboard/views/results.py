"""Results: the stored results; import (all or nothing), export, delete a run (import and delete: editors only)."""

import streamlit as st

from core.errors import InvalidImport
from core.facts.bundle import bundle_json, parse_bundle
from core.facts.tables import frame_csv
from core.views.notes import CONTENDED_OTHER_CPUS
from dashboard import actions, auth, data, state

st.title("Results")
store = data.store_handle(data.db_url())
frame = data.current_frame()

stored_count = int((frame["source"] == "store").sum())
sample_count = len(frame) - stored_count
st.caption(f"Store: `{store.safe_url}` · {stored_count:,} stored result{'s' * (stored_count != 1)}, "
           f"{sample_count:,} bundled sample result{'s' * (sample_count != 1)} (read-only).")
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
left, right = st.columns(2)
with left:
    st.subheader("Import")
    if not editor:
        st.caption("Importing results needs an editor: sign in as an editor in the sidebar.")
    else:
        upload = st.file_uploader("Exported bundle (.json from `python -m core export`)", type=["json"])
        if upload is not None and st.session_state.get(state.IMPORTED_FILE) != (upload.name, upload.size):
            try:
                results = parse_bundle(upload.getvalue(), upload.name)
                added = actions.import_results(store, results)
            except InvalidImport as exc:
                st.error(f"Nothing imported. {exc}")
            except auth.NotAllowed as exc:
                st.error(str(exc))
            else:
                st.session_state[state.IMPORTED_FILE] = (upload.name, upload.size)
                st.success(f"Imported {added} result(s)" + (f"; {len(results) - added} were already stored."
                                                              if added < len(results) else "."))
with right:
    st.subheader("Export")
    stored = store.results()
    st.download_button("Download JSON bundle", bundle_json(stored, indent=None), "accelscope-results.json",
                       "application/json", disabled=not stored)
    csv = frame_csv(frame[frame["source"] == "store"])
    st.download_button("Download CSV", csv, "accelscope-results.csv", "text/csv", disabled=not stored)

st.subheader("Delete a run")
runs = store.runs()
if not runs:
    st.caption("No stored runs (bundled samples cannot be deleted).")
elif not editor:
    st.caption("Deleting a run needs an editor: sign in as an editor in the sidebar.")
else:
    labels = {r["run_id"]: f"{r['started_at']} · {r['results']} result(s) · {r['run_id'][:8]}" for r in runs}
    run_id = st.selectbox("Run", list(labels), format_func=labels.get)
    confirm = st.checkbox("Yes, delete every result of this run")
    if st.button("Delete run", disabled=not confirm, type="primary"):
        try:
            deleted = actions.delete_run(store, run_id)
        except auth.NotAllowed as exc:
            st.error(str(exc))
        else:
            st.success(f"Deleted {deleted} result(s).")
            st.rerun()
