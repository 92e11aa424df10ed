"""Explore: which device trains this workload fastest, most efficiently, most cheaply."""

import datetime as dt

import streamlit as st

from core.views.estimates import TDP_ENERGY_METHOD
from dashboard import charts, frames, inference, pipeline, repeats, scaling, state, widgets
from dashboard.fmt import MISSING, break_even, compact, plain

st.title("Explore the trade-offs")
agg, failed, matching, costs, missing = widgets.selection_or_stop(stop=False)

VIEWS = ["Speed", "Speed-up", "Precision gain", "Efficiency", "Cost", "Trade-off", "Carbon", "Plan a job",
         "Inference", "Serving cost", "Time to quality", "Scaling"]
MEASURED_VIEWS = ("Speed", "Efficiency", "Trade-off", "Carbon", "Plan a job")  # one measured workload each
state.choose(state.VIEW, VIEWS)
view = st.segmented_control("View", VIEWS, key=state.VIEW, label_visibility="collapsed") or VIEWS[0]
OWN_RESULTS_VIEWS = ("Inference", "Serving cost", "Time to quality", "Scaling")  # not the training selection's
if matching == 0 and view not in OWN_RESULTS_VIEWS:
    widgets.no_training_results()

if view in MEASURED_VIEWS:  # the workload first: the cards and the chart below are both for it
    focus = widgets.focus_picker(agg)
    focus_config = st.session_state[state.FOCUS]
    focus_costs = costs[costs["config"] == focus_config] if not costs.empty else costs
    focus_missing = missing[missing["config"] == focus_config] if not missing.empty else missing
    runs = repeats.current_runs(focus_config)
    widgets.metric_cards(focus, focus_costs)
state.save_query_params()
if view not in OWN_RESULTS_VIEWS:
    st.caption(f"{matching:,} results, {len(agg):,} configurations in the selection. Cards and charts show one "
               "workload at a time (samples of different workloads are not comparable); repeated runs are points "
               "next to their median. Cost and CO2 are computed now from measured throughput and energy, the "
               f"**{plain(st.session_state[state.SHEET])}** price sheet "
               f"({'spot' if st.session_state[state.SPOT] else 'on-demand'}) and the grid intensity you picked.")

if view == "Speed":
    log = widgets.log_toggle()
    st.plotly_chart(charts.speed_chart(focus, runs=runs, log=log), theme=None)
    if int(focus["repeats"].sum()) > len(runs) >= repeats.RUNS_SHOWN:
        st.caption(f"Points: the newest {len(runs):,} of {int(focus['repeats'].sum()):,} runs; the medians and "
                   "noisy counts are of all of them.")
    widgets.noisy_badges(runs)
    failed_here = failed[frames.config_of(failed) == focus_config] if not failed.empty else failed
    if not failed_here.empty:
        with st.expander(f"{len(failed_here)} failed probe(s) of {plain(focus_config)} in the selection"):
            st.dataframe(failed_here, hide_index=True, placeholder=MISSING, column_config={
                "device_label": "device", "created_at": "when (UTC)"})

elif view == "Speed-up":
    st.caption("How much faster than your CPU is each accelerator, for the same workload? Your CPU is **measured**; "
               "an accelerator's throughput is **measured** (ours) where we have it, else **published** (with its "
               "source), else **projected** by a roofline model calibrated on those points (with its interval).")
    config, precision, _ = widgets.hardware_question(agg, job=False)
    table, baseline = pipeline.hardware_speedups(agg, config, precision)
    widgets.speedup_cards(table, baseline)
    log = widgets.log_toggle()
    st.plotly_chart(charts.hardware_speedup_chart(table, baseline, f"{config} {precision}", log=log,
                                                  precision=precision), theme=None)
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
    log = widgets.log_toggle()
    st.plotly_chart(charts.efficiency_chart(focus, log=log), theme=None)
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
    log = widgets.log_toggle()
    st.plotly_chart(charts.instance_cost_chart(table, f"{config} {precision}", log=log, precision=precision),
                    theme=None)
    priced = table.dropna(subset=["usd_per_1m_samples"])
    widgets.cross_vendor_warning(priced)
    # the main columns fit an 800 px window; the interval, energy and CO2 columns scroll into view
    st.dataframe(priced, hide_index=True, placeholder=MISSING, column_order=[
        "option", "usd_per_1m_samples", "hours_for_job", "usd_for_job", "kind", "accelerator_count", "accelerator",
        "usd_per_h", "samples_per_s_per_device", "usd_per_1m_samples_low", "usd_per_1m_samples_high",
        "j_per_sample", "kwh_for_job", "co2_kg_for_job", "source"], column_config={
        "option": st.column_config.TextColumn("instance", width="medium"),
        "accelerator_count": st.column_config.NumberColumn("count", help="accelerators per instance"),
        "accelerator": "accelerator", "kind": st.column_config.TextColumn("throughput is"),
        "usd_per_h": st.column_config.NumberColumn("$/h", format="$%.2f"),
        "samples_per_s_per_device": st.column_config.NumberColumn("samples/s per device", format="%,.0f"),
        "usd_per_1m_samples": st.column_config.NumberColumn("$ per 1M samples", format="$%.4g"),
        "usd_per_1m_samples_low": st.column_config.NumberColumn("$ per 1M, low", format="$%.4g",
                                                                help="a projection's interval"),
        "usd_per_1m_samples_high": st.column_config.NumberColumn("$ per 1M, high", format="$%.4g",
                                                                 help="a projection's interval"),
        "hours_for_job": st.column_config.NumberColumn("job (h)", format="%,.3g"),
        "usd_for_job": st.column_config.NumberColumn("job ($)", format="$%,.0f"),
        "j_per_sample": st.column_config.NumberColumn("J/sample (estimated)", format="%.3g",
                                                      help=TDP_ENERGY_METHOD),
        "kwh_for_job": st.column_config.NumberColumn("job kWh (estimated)", format="%,.3g", help=TDP_ENERGY_METHOD),
        "co2_kg_for_job": st.column_config.NumberColumn("job kg CO2e (estimated)", format="%,.3g",
                                                        help=f"job kWh × {intensity:g} g/kWh (your grid)"),
        "source": st.column_config.TextColumn("source", width="large"),
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
            st.plotly_chart(charts.cost_chart(measured_costs, measured_missing, log=log), theme=None)
            if not measured_missing.empty:
                st.dataframe(measured_missing, hide_index=True, placeholder=MISSING, column_config={
                    "device_label": "device", "config": "workload", "option": "option", "reason": "why no price"})

elif view == "Trade-off":
    log = widgets.log_toggle()
    st.plotly_chart(charts.tradeoff_chart(focus_costs, log=log), theme=None)
    st.caption("Lower left is better. Colour is the precision, the marker's shape the device. The dashed line joins "
               "the options no other option beats on both time and cost (the Pareto frontier). Energy per sample is "
               "in each marker's hover, and on Efficiency.")

elif view == "Carbon":
    intensity, intensity_label = pipeline.grid_intensity()
    comparison = pipeline.comparison_regions()
    override = float(st.session_state.get(state.INTENSITY_OVERRIDE) or 0)
    custom = ("your grid (override)", override) if override > 0 else None
    log = widgets.log_toggle()
    st.plotly_chart(charts.carbon_chart(frames.carbon_frame(focus, comparison, custom), log=log), theme=None)
    st.caption(f"Your grid: {intensity_label}. Other regions for comparison, from CodeCarbon's bundled data.")

elif view in ("Inference", "Serving cost"):
    inference.show(view)

elif view == "Time to quality":
    inference.time_to_quality()

elif view == "Scaling":
    scaling.show()

else:
    intensity, _ = pipeline.grid_intensity()
    st.subheader("Plan a training job")
    st.caption("“Hours on a CPU, minutes on a GPU”: state your job and pick the measured workload closest to "
               "it (above). Every figure below is your job size ÷ measured throughput (and × measured energy).")
    left, right = st.columns(2)
    mode = left.radio("Job size", ["samples × epochs", "total tokens", "to a target loss"], horizontal=True)
    if mode == "to a target loss":
        runs_to_target = [c for c in pipeline.converge_curves(st.session_state[state.FOCUS]) if c["reached"]]
        if not runs_to_target:
            left.warning(plain(f"No measured run of {st.session_state[state.FOCUS]} reached a target loss: run "
                               "`python -m core probe --mode converge --target-loss 0.05` on it, or plan by "
                               "samples × epochs."))
            total_samples = 0.0
        else:
            chosen = left.selectbox(
                "Measured run to the target", runs_to_target, format_func=lambda c: (
                    f"{c['label']} {c['precision']}: loss {c['target_loss']:g} in {c['steps_to_target']:,} steps × "
                    f"batch {c['batch_size']}"))
            total_samples = float(chosen["steps_to_target"] * chosen["batch_size"])
            left.caption("The samples that run needed to reach its target, trained on every device below: the same "
                         "samples to the target is assumed at the same batch and precision (Time to quality shows "
                         "each device's own run).")
    elif mode == "samples × epochs":
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
        settings = pipeline.cost_settings()
        today = dt.date.today()
        table["break_even"] = [break_even(hours, why, settings.hours_per_year, settings.lifetime_years, today)
                               for hours, why in zip(table["break_even_h"], table["break_even_why"])]
        st.dataframe(table, hide_index=True, placeholder=MISSING, column_order=[
            "device", "precision", "option", "wall_time_h", "cost_usd", "energy_kwh", "co2_kg", "energy_kind",
            "break_even"], column_config={
            "device": st.column_config.TextColumn("device", width="medium"),
            "option": st.column_config.TextColumn("option", width="medium"),
            "wall_time_h": st.column_config.NumberColumn("wall time (h)", format="%,.3g"),
            "energy_kwh": st.column_config.NumberColumn("energy (kWh)", format="%,.3g"),
            "cost_usd": st.column_config.NumberColumn("cost ($)", format="$%,.2f"),
            "co2_kg": st.column_config.NumberColumn("CO2e (kg)", format="%,.3g"),
            "energy_kind": st.column_config.TextColumn("energy is"),
            "break_even": st.column_config.TextColumn(
                "buying beats renting", width="large",
                help="The date from which buying the device is cheaper than renting this option, using it "
                     f"{settings.hours_per_year:,.0f} h a year (Hardware & prices): purchase price ÷ (rent $/h − "
                     "own electricity $/h) hours of use; or why it never is."),
        })
        st.caption("Wall time = job samples ÷ measured samples/s; energy = × measured J/sample (estimated where "
                   "the energy kind says so); cost = × $ per 1M samples of each option; CO2 = energy × "
                   f"{intensity:g} g/kWh.")
