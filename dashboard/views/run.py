"""Run probes: pick a plan, start it in the background, follow it live, cancel it (editors only)."""

import time

import pandas as pd
import streamlit as st

from core.errors import UnsupportedSpec
from core.facts.spec import ProbeSpec
from core.measure.backends.cpu import EMULATED_BF16_NOTE
from core.measure.workloads import WORKLOADS
from core.views.duration import plan_duration
from core.views.notes import CONTENDED_OTHER_CPUS, phase_text, result_notes
from dashboard import actions, auth, data, runs, state
from dashboard.fmt import plain

st.title("Run probes")
MODES = {"training": "train", "inference": "infer", "time to target": "converge"}  # what a plan measures
HISTORY_ROWS = 20_000  # a plan's duration is estimated from its devices' newest results
DURATION_COLUMNS = ("created_at", "run_id", "workload", "size", "precision", "device_identity", "seconds_requested")


def about(seconds: float) -> str:
    """40 s, 3 min, 1.2 h: the unit a person would say."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min" if seconds < 5400 else f"{seconds / 3600:.1f} h"


if not auth.current_identity().is_editor:
    st.info("**Running probes needs an editor.** You are a viewer (read-only): you can see every result on "
            "**Explore** and **Results** and export them, but starting or cancelling a probe run writes into "
            "the team's store. Sign in as an editor in the sidebar to run probes.")
    st.stop()

if not data.torch_installed():
    st.info(
        "**Probes run where the hardware is.** This app is a viewer: torch is not installed here (as on "
        "Streamlit Community Cloud), so it cannot measure anything itself.\n\n"
        "On the machine you want to measure:\n\n"
        "```\npip install -r requirements.txt\npython -m core suite --quick\npython -m core export results.json\n```\n"
        "Then import `results.json` on the **Results** page, or point both at one team store with "
        "`--db postgresql+psycopg2://…` and the `ACCELSCOPE_DB` secret.")
    st.stop()


@st.cache_data(ttl=300, show_spinner="Looking for devices…")
def devices() -> tuple[list[dict], str | None]:
    return runs.discover_devices()


health = data.store_health()
if not health.writable:
    why = ("cannot be used (see the message above)" if not health.usable else "is damaged (see the message above)"
           if health.damage else "is read-only (the file or its folder cannot be written)")
    st.info(f"**Probes write their results into the results store, which {why}.** Nothing can be run until "
            "it is fixed, or `ACCELSCOPE_DB` points at a store that can be written.", icon=":material/block:")
    st.stop()

found, problem = devices()
if problem:
    st.error(plain(f"Could not list the devices: {problem}"))
    st.stop()
by_id = {d["id"]: d for d in found}

with st.container(border=True, key="plan"):  # not a form: the plan's duration follows every choice
    st.subheader("Plan")
    what = st.segmented_control("Measure", list(MODES), default="training", key="run_mode",
                                help="training: steps per second; inference: latency per request and throughput "
                                     "at each batch size; time to target: train until the smoothed loss reaches "
                                     "the target, or the cap stops it") or "training"
    left, right = st.columns(2)
    chosen_devices = left.multiselect("Devices", list(by_id), default=list(by_id),
                                      format_func=lambda i: f"{i} — {by_id[i]['name']}")
    precisions = left.multiselect("Precisions", ["fp32", "tf32", "bf16", "fp16"], default=["fp32", "bf16"],
                                  help="Combinations a device cannot run are left out of the plan")
    extra: dict = {"mode": MODES[what]}
    batches: list = [None]
    if what == "inference":
        batches = left.multiselect("Batch sizes", [1, 8, 32, 64, 256], default=[1, 32],
                                   help="One result per batch size: batch 1 is a single request's latency") or [1]
    if what == "time to target":
        extra["target_loss"] = float(left.number_input("Target loss (smoothed)", min_value=0.0001, value=0.05,
                                                       format="%.4f"))
        seconds = left.slider("Cap per probe (s): stop there if the target is not reached", 5.0, 600.0, 60.0, 5.0)
    else:
        seconds = left.slider("Timed window per probe (s)", 0.5, 30.0, 2.0, 0.5)
    meters = left.toggle("Measure energy", value=True,  # a toggle's label is one line: the meters go in its help
                         help="With the meters this machine has: NVML for NVIDIA GPUs; RAPL for the CPU and its "
                              "memory, else CodeCarbon's estimate. Off: the results carry no energy, so no "
                              "efficiency or CO2 figures for them")
    sizes = {}
    for name, info in WORKLOADS.items():
        default = ["S"] if "S" in info.sizes and name != "gemm" else []  # zoo models are opt-in
        sizes[name] = right.multiselect(f"{name} — {info.description}", list(info.sizes), default=default)
    planned = [{"workload": w, "size": s, "device": d, "precision": p, "seconds": float(seconds)}
               for d in chosen_devices for w, chosen in sizes.items() for s in chosen for p in precisions
               if p in by_id[d]["precisions"] for _ in batches]
    if planned:
        identities = {d: by_id[d].get("identity") for d in chosen_devices}
        history = data.rows_frame(where={"device_identity": sorted({i for i in identities.values() if i})},
                                  newest=HISTORY_ROWS)
        expected = plan_duration(planned, history[list(DURATION_COLUMNS)].to_dict("records"), identities,
                                 idle_seconds=runs.IDLE_SECONDS if meters else 0.0)
        st.markdown(f"**{len(planned)} probe{'s' * (len(planned) != 1)}, about "
                    f"{about(expected.total_s)}** · {plain(expected.describe())}")
    submitted = st.button("Start", type="primary")

run: runs.PlanRun | None = st.session_state.get(state.PLAN_RUN)

if submitted:
    if run is not None and run.running:
        st.warning("A plan is already running in this session; cancel it or wait.")
    else:
        skipped = [f"{p} on {d}" for d in chosen_devices for p in precisions if p not in by_id[d]["precisions"]]
        if skipped:
            st.caption("Left out (the device cannot run them): " + ", ".join(sorted(set(skipped))))
        for device_id in chosen_devices:
            emulated = [p for p in precisions if p in by_id[device_id].get("emulated_precisions", ())]
            if emulated:
                st.warning(plain(f"{', '.join(emulated)} on {device_id} ({by_id[device_id]['name']}, "
                                 f"{by_id[device_id].get('isa') or 'ISA unknown'}) is emulated in software: "
                                 f"{EMULATED_BF16_NOTE}. Those results are labelled 'emulated'."))
        try:
            specs = [ProbeSpec(workload=w, size=s, device=d, precision=p, seconds=float(seconds), batch_size=batch,
                               **extra).to_dict()
                     for d in chosen_devices for w, chosen in sizes.items() for s in chosen for p in precisions
                     if p in by_id[d]["precisions"] for batch in batches]
        except UnsupportedSpec as exc:
            st.error(plain(f"Nothing started: {exc}"))
        else:
            if not specs:
                st.error("The plan is empty: choose at least one device, workload size and a precision it "
                         "supports.")
            else:
                try:
                    started = actions.start_plan(specs, data.db_url(), meters="auto" if meters else "none")
                except auth.NotAllowed as exc:
                    st.error(plain(exc))
                else:
                    if run is not None:
                        run.cleanup()
                    st.session_state[state.PLAN_RUN] = run = started


@st.fragment(run_every=1.0)
def progress() -> None:
    run: runs.PlanRun | None = st.session_state.get(state.PLAN_RUN)
    if run is None:
        st.caption("No plan started in this session yet.")
        return
    events = run.events()
    done = [e for e in events if e["event"] == "done"]
    started = [e for e in events if e["event"] == "start"]
    phases = [e for e in events if e["event"] == "progress"]
    elapsed = time.time() - run.started_at
    st.progress(len(done) / run.total, text=f"{len(done)} of {run.total} probes · {elapsed:,.0f} s elapsed")
    if run.running:
        if len(started) > len(done):
            current = started[-1]
            probe_elapsed = elapsed - current["elapsed_s"]
            expected = current["spec"]["seconds"] + 8.0
            phase = phases[-1]["detail"] if phases and phases[-1]["index"] == current["index"] else {}
            st.progress(min(probe_elapsed / expected, 0.99),
                        text=f"now: {current['label']} · {phase_text(phase) if phase else 'starting'} · "
                             f"{probe_elapsed:,.0f} s (about {expected:.0f} s expected)")
        else:
            st.caption("Measuring idle power before the plan…" if not events else "Starting…")
        if st.button("Cancel", type="secondary"):
            try:
                actions.cancel_plan(run)
            except auth.NotAllowed as exc:
                st.error(plain(exc))
            else:
                st.rerun()
    else:
        code = run.returncode
        failed = [e for e in done if e["row"]["status"] != "ok"]
        if code == 0:
            st.success(f"Done: {len(done)} probe(s) stored. See them on **Explore**.")
        elif code == 1 and len(done) == run.total:
            st.warning(f"Done: {len(done)} probe(s) stored, {len(failed)} failed (reasons below; stored too).")
        elif code == 2:
            st.error(plain(run.stderr().strip().removeprefix("error: ") or "The plan was refused."))
        elif code < 0 or code in runs.CANCELLED_EXIT_CODES:  # < 0: killed by a signal before the CLI could exit
            st.warning(f"Cancelled after {len(done)} of {run.total} probes; what finished is stored.")
        else:
            st.error(f"The plan stopped unexpectedly (exit {code}) after {len(done)} of {run.total} probes; "
                     "what finished is stored. Its error output:")
            st.code(run.stderr()[-3000:] or "(none)")
    if done:
        rows = [{"probe": e["label"], "status": e["row"]["status"], "samples/s": e["row"]["samples_per_s"],
                 "step ms": e["row"]["step_time_s"] * 1e3 if e["row"]["step_time_s"] else None,
                 "step CV": e["row"]["step_time_cv"], "warm-up settled": e["row"]["warmup_settled"],
                 "other CPUs busy": e["row"]["host_other_cpus"], "energy J": e["row"]["energy_j"],
                 "reason": e["row"]["error"] or ""} for e in done]
        st.dataframe(pd.DataFrame(rows), hide_index=True, column_config={
            "samples/s": st.column_config.NumberColumn(format="%,.0f"),
            "step ms": st.column_config.NumberColumn(format="%.1f"),
            "step CV": st.column_config.NumberColumn(format="percent"),
            "energy J": st.column_config.NumberColumn(format="%.1f"),
            "other CPUs busy": st.column_config.NumberColumn(
                format="%.2f", help=f"CPUs other programs kept busy during the timed window (above {CONTENDED_OTHER_CPUS:g}: contended)"),
        })
        for e in done:
            if e["row"]["status"] != "ok":
                st.error(f"**{plain(e['label'])}** — {plain(e['row']['status'])}: {plain(e['row']['error'])}")
        for tag, text in result_notes([e["row"] for e in done]):
            st.caption(f"**{tag.replace('*', chr(92) + '*')}**: {text}")  # a literal * in Markdown


progress()
