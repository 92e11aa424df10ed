"""Explore: which device trains this workload fastest, most efficiently, most cheaply."""

import streamlit as st

from core.views.estimates import TDP_ENERGY_METHOD
from dashboard import charts, frames, pipeline, state, widgets
from dashboard.fmt import compact, plain

st.title("Explore the trade-offs")
agg, failed, matching, costs, missing = widgets.selection_or_stop()
widgets.metric_cards(agg, costs)
st.caption(f"{matching:,} results, {len(agg):,} configurations (repeats shown as their median). "
           "Every figure derives from measured throughput and energy; cost and CO2 are computed now from "
           f"the **{plain(st.session_state[state.SHEET])}** price sheet "
           f"({'spot' if st.session_state[state.SPOT] else 'on-demand'}) "
           f"and the grid intensity you picked.")

VIEWS = ["Speed", "Speed-up", "Precision gain", "Efficiency", "Cost", "Trade-off", "Carbon", "Plan a job"]
state.choose(state.VIEW, VIEWS)
view = st.segmented_control("View", VIEWS, key=state.VIEW, label_visibility="collapsed") or VIEWS[0]
state.save_query_params()

if view in ("Trade-off", "Carbon", "Plan a job"):
    focus = widgets.focus_picker(agg, "Workload (samples of different workloads are not comparable)")
    focus_config = st.session_state.get(state.FOCUS)
    focus_costs = costs[costs["config"] == focus_config] if not costs.empty else costs
    focus_missing = missing[missing["config"] == focus_config] if not missing.empty else missing

if view == "Speed":
    st.plotly_chart(pipeline.selection_figure("Speed"), theme=None)
    if not failed.empty:
        with st.expander(f"{len(failed)} failed probe(s) in the selection"):
            st.dataframe(failed, hide_index=True)

elif view == "Speed-up":
    st.caption("How much faster than your CPU is each accelerator, for the same workload? Your CPU is **measured**; "
               "an accelerator's throughput is **measured** (ours) where we have it, else **published** (with its "
               "source), else **projected** by a roofline model calibrated on those points (with its interval).")
    config, precision, _ = widgets.hardware_question(agg, job=False)
    table, baseline = pipeline.hardware_speedups(agg, config, precision)
    st.plotly_chart(charts.hardware_speedup_chart(table, baseline, f"{config} {precision}"), theme=None)
    widgets.cross_vendor_warning(table)
    widgets.unpriced_reasons(table.loc[table["samples_per_s"].isna(), ["accelerator", "reason"]],
                             "accelerator(s) without a figure, and why")

elif view == "Precision gain":
    published = [(config, [p for p in pipeline.points(config) if p.kind == "published"])
                 for config in pipeline.reference_workloads()]
    st.plotly_chart(charts.precision_gain_chart(frames.precision_gain_frame(agg, published)), theme=None)
    st.caption("What a lower precision buys on the same device, for the same configuration: bf16/fp16 throughput ÷ "
               "fp32 (tf32 where a publication has no fp32). Solid bars are measured here (the selection); outlined "
               "bars pair two published figures from one source on one device. On a CPU without native bf16 the "
               "gain is below 1: the precision is emulated.")

elif view == "Efficiency":
    st.plotly_chart(pipeline.selection_figure("Efficiency"), theme=None)
    st.caption("Energy covers the timed window of each probe, all components read (GPU, CPU package, DRAM/RAM). "
               "Hatched bars are estimates (CodeCarbon's TDP × load model, or sampled power); solid are meter "
               "readings (NVML energy counter, RAPL).")

elif view == "Cost":
    st.caption("Every accelerator instance of the price sheet, priced for one workload, including hardware nobody "
               "here has measured: the throughput is **measured** (ours) where we have it, else **published** "
               "(data/references, with its source), else **projected** by a roofline model calibrated on those "
               "points (with its interval). `python -m core project` gives the same projections.")
    config, precision, samples = widgets.hardware_question(agg)
    intensity, _ = pipeline.grid_intensity()
    table = frames.instance_frame(pipeline.instance_costs(config, precision), samples, intensity)
    widgets.job_claim_cards(frames.job_claims(agg, table, config, samples), samples)
    st.plotly_chart(charts.instance_cost_chart(table, f"{config} {precision}"), theme=None)
    priced = table.dropna(subset=["usd_per_1m_samples"])
    widgets.cross_vendor_warning(priced)
    st.dataframe(priced.drop(columns=["reason", "caveat"]), hide_index=True, column_config={
        "option": "instance", "accelerator_count": "accelerators", "kind": "throughput is",
        "usd_per_h": st.column_config.NumberColumn("$/h", format="%.2f"),
        "samples_per_s_per_device": st.column_config.NumberColumn("samples/s per device", format="%,.0f"),
        "low": st.column_config.NumberColumn("low", format="%,.0f"),
        "high": st.column_config.NumberColumn("high", format="%,.0f"),
        "usd_per_1m_samples": st.column_config.NumberColumn("$ per 1M samples", format="%.4g"),
        "usd_per_1m_samples_low": st.column_config.NumberColumn("$ per 1M (low)", format="%.4g"),
        "usd_per_1m_samples_high": st.column_config.NumberColumn("$ per 1M (high)", format="%.4g"),
        "hours_for_job": st.column_config.NumberColumn("job hours", format="%.3g"),
        "usd_for_job": st.column_config.NumberColumn("job $", format="%,.0f"),
        "j_per_sample": st.column_config.NumberColumn("J/sample (estimated)", format="%.3g",
                                                      help=TDP_ENERGY_METHOD),
        "kwh_for_job": st.column_config.NumberColumn("job kWh (estimated)", format="%,.3g", help=TDP_ENERGY_METHOD),
        "co2_kg_for_job": st.column_config.NumberColumn("job kg CO2e (estimated)", format="%,.3g",
                                                        help=f"job kWh × {intensity:g} g/kWh (your grid)"),
    })
    st.caption(f"Energy of every instance here is {TDP_ENERGY_METHOD}: nobody measured these devices' power. "
               "Measured energy of your own devices is on Efficiency.")
    widgets.unpriced_reasons(table[table["usd_per_1m_samples"].isna()][["option", "accelerator", "reason"]],
                             "instance(s) that cannot be priced, and why")
    with st.expander("Your measured configurations: on-demand, spot and own hardware"):
        measured_costs = costs[costs["config"] == config] if not costs.empty else costs
        measured_missing = missing[missing["config"] == config] if not missing.empty else missing
        if measured_costs.empty and measured_missing.empty:
            st.info(f"No measured result of {plain(config)} in the selection: run a probe of it to compare your own "
                    "hardware (bought or rented by the hour) with these instances.")
        else:
            st.plotly_chart(charts.cost_chart(measured_costs, measured_missing), theme=None)
            if not measured_missing.empty:
                st.dataframe(measured_missing, hide_index=True)

elif view == "Trade-off":
    st.plotly_chart(charts.tradeoff_chart(focus_costs), theme=None)
    st.caption("Lower left is better. The dashed line joins the options no other option beats on both time and "
               "cost (the Pareto frontier); bubble size is energy per sample.")

elif view == "Carbon":
    intensity, intensity_label = pipeline.grid_intensity()
    comparison = pipeline.comparison_regions()
    override = float(st.session_state.get(state.INTENSITY_OVERRIDE) or 0)
    custom = ("your grid (override)", override) if override > 0 else None
    st.plotly_chart(charts.carbon_chart(frames.carbon_frame(focus, comparison, custom)), theme=None)
    st.caption(f"Your grid: {intensity_label}. Other regions for comparison, from CodeCarbon's bundled data.")

else:
    intensity, _ = pipeline.grid_intensity()
    st.subheader("Plan a training job")
    st.caption("“Hours on a CPU, minutes on a GPU”: state your job and pick the measured workload closest to "
               "it. Every figure below is your job size ÷ measured throughput (and × measured energy).")
    left, right = st.columns(2)
    mode = left.radio("Job size", ["samples × epochs", "total tokens"], horizontal=True)
    if mode == "samples × epochs":
        samples = left.number_input("Samples per epoch", min_value=1, value=1_281_167, step=10_000)
        epochs = left.number_input("Epochs", min_value=1, value=90)
        total_samples = float(samples * epochs)
    else:
        tokens = left.number_input("Total tokens", min_value=1, value=10_000_000_000, step=1_000_000_000)
        with_tokens = focus.dropna(subset=["tokens_per_s"])
        if with_tokens.empty:
            left.warning("Pick a transformer workload above to plan by tokens.")
            total_samples = 0.0
        else:
            row = with_tokens.iloc[0]
            total_samples = float(tokens / (row["tokens_per_s"] / row["samples_per_s"]))
    right.metric("Job", f"{compact(total_samples)} samples")
    right.caption(f"as workload {plain(st.session_state.get(state.FOCUS))}")
    if total_samples > 0 and not focus.empty:
        table = frames.plan_job(focus, focus_costs, total_samples, intensity)
        st.dataframe(table, hide_index=True, column_config={
            "wall_time_h": st.column_config.NumberColumn("wall time (h)", format="%.3g"),
            "energy_kwh": st.column_config.NumberColumn("energy (kWh)", format="%.3g"),
            "cost_usd": st.column_config.NumberColumn("cost ($)", format="%.4g"),
            "co2_kg": st.column_config.NumberColumn("CO2e (kg)", format="%.3g"),
            "energy_kind": st.column_config.TextColumn("energy"),
            "break_even_h": st.column_config.NumberColumn(
                "break-even (h)", format="%.0f",
                help="Hours of use after which buying the device beats renting this option: purchase price ÷ "
                     "(rent $/h − own electricity $/h). Empty when renting is always cheaper or no purchase price "
                     "is known (enter one on Hardware & prices)."),
        })
        st.caption("Wall time = job samples ÷ measured samples/s; energy = × measured J/sample (estimated where "
                   "the energy kind says so); cost = × $ per 1M samples of each option; CO2 = energy × "
                   f"{intensity:g} g/kWh.")
