"""Explore's Inference, Serving cost and Time to quality views (issue 15): what serving a model and
training it to a target loss take on each device. Inference and time-to-target results are kept
out of the training views; these views read them."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.errors import InvalidCostSettings
from core.views import pricing
from core.views.serving import NOT_PROJECTED, ServingTarget
from dashboard import charts, data, frames, pipeline, state
from dashboard.fmt import MISSING, duration_h, plain, usd

RUN_HINT = ("Run `python -m core probe --mode infer --workload cnn --size S --batch 1,8,64`, or the inference plan "
            "`python -m core suite --mode infer`, then import the results on **Results**.")


def _config_picker(key: str, configs: list[str], label: str = "Workload") -> str:
    state.choose(key, configs)
    return st.selectbox(label, configs, key=key)


def _target() -> ServingTarget | None:
    left, right = st.columns(2)
    p99_ms = left.number_input("p99 latency bound (ms)", min_value=1, max_value=600_000, step=1,
                               key=state.SERVING_P99_MS, help="Every request answered within this, 99 times in 100.")
    rps = right.number_input("Requests per second", min_value=1, max_value=1_000_000_000, step=50,
                             key=state.SERVING_RPS, help="The load the service must carry.")
    try:
        return ServingTarget(p99_ms=float(p99_ms), requests_per_s=float(rps))
    except InvalidCostSettings as exc:
        st.error(plain(str(exc)))
        return None


def show(view: str) -> None:
    rows = pipeline.inference_rows()
    configs = pipeline.inference_configs(rows)
    if not configs:
        st.info("No inference results in the selection. " + RUN_HINT)
        return
    config = _config_picker(state.INFER_CONFIG, configs)
    chosen = rows[frames.config_of(rows) == config]
    target = _target()
    state.save_query_params()
    if view == "Inference":
        _inference(chosen, target)
    elif target is not None:
        _serving_cost(chosen, target, config)


def _inference(rows: pd.DataFrame, target: ServingTarget | None) -> None:
    log = st.toggle("Throughput on a log scale", value=True, help="Batch sizes 1 and 256 differ about 100× in "
                    "throughput: on a linear axis the small batches crowd at zero.")
    st.plotly_chart(charts.inference_chart(rows, target.p99_ms if target else None, log=log), theme=None)
    st.caption("Each point is one batch size: every request in a batch waits for the whole batch, so a batch's "
               "time is each of its requests' latency. Measured with the model in eval mode under "
               "`torch.inference_mode`, each batch timed alone (the device synchronised after it), one batch in "
               "flight. Dotted lines are `torch.compile`d. Energy per 1,000 inferences is in the hover and the "
               "table, labelled like training energy."
               + (" Some p99s here come from fewer than 100 batches (see the table), so they are close to the "
                  "slowest batch." if (rows["steps"].dropna() < 100).any() else ""))
    table = rows[rows["status"] == "ok"].assign(
        p50_ms=lambda f: f["step_time_s"] * 1e3, p90_ms=lambda f: f["step_time_p90_s"] * 1e3,
        p99_ms=lambda f: f["step_time_p99_s"] * 1e3, j_per_1k=lambda f: f["j_per_sample"] * 1e3)
    st.dataframe(table, hide_index=True, placeholder=MISSING, column_order=[
        "device_label", "precision", "compile", "batch_size", "p50_ms", "p90_ms", "p99_ms", "steps", "samples_per_s",
        "j_per_1k", "energy_kind", "created_at"], column_config={
        "steps": st.column_config.NumberColumn("batches timed", help="a p99 of fewer than 100 batches is close to "
                                                                     "the slowest one: run a longer --seconds"),
        "device_label": st.column_config.TextColumn("device", width="medium"), "precision": "precision",
        "compile": st.column_config.CheckboxColumn("compiled"), "batch_size": st.column_config.NumberColumn("batch"),
        "p50_ms": st.column_config.NumberColumn("p50 (ms)", format="%.3g"),
        "p90_ms": st.column_config.NumberColumn("p90 (ms)", format="%.3g"),
        "p99_ms": st.column_config.NumberColumn("p99 (ms)", format="%.3g"),
        "samples_per_s": st.column_config.NumberColumn("inferences/s", format="%,.0f"),
        "j_per_1k": st.column_config.NumberColumn("J per 1,000 inferences", format="%.3g"),
        "energy_kind": st.column_config.TextColumn("energy is"), "created_at": "when (UTC)"})


def _serving_cost(rows: pd.DataFrame, target: ServingTarget, config: str) -> None:
    target_text = f"p99 ≤ {target.p99_ms:g} ms at {target.requests_per_s:,g} requests/s"
    options, refused = pipeline.serving(target, rows, config)
    if options:
        best = options[0]
        cards = st.columns(3)
        cards[0].metric("Cheapest per 1M", usd(best.usd_per_1m_inferences),  # a label is one line: 3 fit at 800 px
                        help="US dollars per million inferences, on the cheapest option that meets the target")
        cards[0].caption(plain(f"{best.option} · {best.configuration}"
                               + ("" if best.evidence == "published" else " · measured")))
        cards[1].metric("Replicas", f"{best.replicas}")
        cards[1].caption(plain(f"{usd(best.usd_per_h)}/h in all; each carries {best.replica_requests_per_s:,.0f} "
                               "requests/s"))
        cards[2].metric("Worst latency", f"{best.worst_latency_ms:.3g} ms")
        cards[2].caption(plain(f"bound {target.p99_ms:g} ms: the benchmark's own p99 bound (published)"
                               if best.evidence == "published" else
                               f"bound {target.p99_ms:g} ms: batch p99 {best.p99_ms:.3g} ms + waiting for the batch "
                               "to fill"))
    log = st.toggle("Cost on a log scale", value=False)
    st.plotly_chart(charts.serving_cost_chart(options, target_text, log=log), theme=None)
    st.caption(f"Sheet **{plain(st.session_state[state.SHEET])}** "
               f"({'spot' if st.session_state[state.SPOT] else 'on-demand'}). A replica is one device serving "
               "batches of the measured size; the target needs enough replicas to carry the rate, and a batch of B "
               "must fill before it runs (its first request waits for B − 1 others: requests arriving evenly — real "
               "traffic is burstier, so keep a margin). Cloud replicas are rented as whole instances (an instance of "
               "k accelerators hosts k replicas; on a CPU, the vCPU share a replica used); own hardware as the "
               "purchase price amortized plus electricity at the measured power. "
               "**Published** options are MLPerf Inference Server figures (queries/s per accelerator with p99 within "
               "the benchmark's 15 ms bound, int8 on a vendor-tuned stack such as TensorRT, data/references/inference, "
               "source in each row): what that hardware can do, not what your PyTorch model does on it. "
               + NOT_PROJECTED[0].upper() + NOT_PROJECTED[1:] + ".")
    if options:
        st.dataframe(pd.DataFrame([vars(o) for o in options]), hide_index=True, placeholder=MISSING, column_order=[
            "option", "configuration", "evidence", "replicas", "usd_per_1m_inferences", "usd_per_h",
            "worst_latency_ms", "kind", "basis"], column_config={
            "evidence": st.column_config.TextColumn("figure is"),
            "option": st.column_config.TextColumn("instance", width="medium"),
            "configuration": st.column_config.TextColumn("configuration", width="medium"),
            "usd_per_1m_inferences": st.column_config.NumberColumn("$ per 1M inferences", format="$%.4g"),
            "usd_per_h": st.column_config.NumberColumn("$/h, all replicas", format="$%.2f"),
            "worst_latency_ms": st.column_config.NumberColumn("worst latency (ms)", format="%.3g"),
            "kind": "price", "basis": st.column_config.TextColumn("how", width="large")})
    if refused:
        with st.expander(f"{len(refused)} configuration(s) that cannot meet the target or be priced, and why",
                         expanded=not options):
            st.dataframe(pd.DataFrame([vars(r) for r in refused]), hide_index=True, column_config={
                "configuration": st.column_config.TextColumn("configuration", width="medium"),
                "reason": st.column_config.TextColumn("why", width="large")})


def shaded(curves: list[dict]) -> list[dict]:
    """A second, third… measured curve of one precision gets a lighter shade of its colour."""
    seen: dict[str, int] = {}
    out = []
    for curve in curves:
        shade = seen.get(curve["precision"], 0)
        seen[curve["precision"]] = shade + 1
        out.append({**curve, "shade": shade})
    return out


def time_to_quality() -> None:
    configs = pipeline.converge_configs()
    if not configs:
        st.info("No time-to-target results yet. Run `python -m core probe --mode converge --workload cnn --size S "
                "--target-loss 0.05 --max-seconds 60` on each device and precision, then import the results on "
                "**Results**.")
        return
    config = _config_picker(state.QUALITY_CONFIG, configs)
    state.save_query_params()
    measured = pipeline.converge_curves(config)
    targets = sorted({c["target_loss"] for c in measured if c["target_loss"] is not None})
    if not targets:  # the frame saw results the store could not give back (the panel above says why)
        st.info(plain(f"No time-to-target curve of {config} could be read."))
        return
    target = st.selectbox("Target loss", targets, format_func=lambda t: f"{t:g}") if len(targets) > 1 else targets[0]
    measured = shaded(sorted((c for c in measured if c["target_loss"] == target),
                              key=lambda c: (c["precision"], c["label"])))
    projected, why = pipeline.projected_curves(config, measured)
    log = st.toggle("Time on a log scale", value=True, help="A CPU's minutes and an accelerator's seconds on one axis.")
    st.plotly_chart(charts.time_to_quality_chart(measured + projected, target, log=log), theme=None)
    st.caption("Each curve is one run of the workload's learnable synthetic task from its first step, the loss "
               "smoothed the same way on every device (a bias-corrected moving average), until it reached the target "
               "or the time cap stopped it. A faster step that needs more steps is not a win: the time to the target "
               "is the number that matters. Dashed curves are **projected**: a measured curve's steps at another "
               "accelerator's published or projected training throughput, the same steps to the target assumed."
               + (f" No projected curve here: {plain(why)}." if why else ""))
    table = pd.DataFrame([_quality_row(c) for c in measured])
    st.dataframe(table, hide_index=True, placeholder=MISSING, column_config={
        "device": st.column_config.TextColumn("device", width="medium"),
        "time to target": st.column_config.TextColumn("time to target"),
        "steps": st.column_config.NumberColumn("steps", format="%,d"),
        "energy of the run (J)": st.column_config.NumberColumn(
            "energy of the run (J)", format="%.3g", help="the whole run, to the check that saw the target (losses "
                                                         "are read every 10 steps, so up to 9 steps past it)"),
        "cost to target": st.column_config.TextColumn("cost to target", help="the cheapest instance of the sheet "
                                                      "with this device (per accelerator, or vCPU share on a CPU) "
                                                      "× time to target"),
        "why it stopped": st.column_config.TextColumn("why it stopped", width="large")})


def _quality_row(curve: dict) -> dict:
    seconds = curve["reached_s"] if curve["reached"] else (curve["points"][-1][1] if curve["points"] else None)
    return {"device": curve["label"], "precision": curve["precision"], "batch": curve["batch_size"],
            "reached": "yes" if curve["reached"] else "no",
            "time to target": duration_h(seconds / 3600) if seconds else MISSING,
            "steps": curve["steps_to_target"], "energy of the run (J)": curve["energy_j"],
            "cost to target": _cost_to_target(curve, seconds), "why it stopped": curve["stop_reason"]}


def _cost_to_target(curve: dict, seconds: float | None) -> str:
    if not seconds or not curve["reached"]:
        return MISSING
    sheet = pipeline.current_sheet()
    lines = pricing.cloud_costs(device_kind=curve["device_kind"], device_name=curve["device_name"],
                                samples_per_s=curve["samples_per_s"], vcpus_used=curve["logical_cpus"],
                                rows=sheet.rows, catalog=data.accelerators(),
                                spot=bool(st.session_state.get(state.SPOT)))
    if isinstance(lines, pricing.NoPrice):
        return f"— ({lines.reason})"
    best = lines[0]
    return f"{usd(best.usd_per_h * seconds / 3600)} on {best.option}"
