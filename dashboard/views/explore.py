"""Explore: which device trains this workload fastest, most efficiently, most cheaply."""

import streamlit as st

from dashboard import charts, components, frames, state

st.title("Explore the trade-offs")
components.sidebar_filters()
components.pricing_controls()
state.save_query_params()

agg, failed, matching = components.current_analysis()
if matching == 0:
    st.info("No results match the filters. Clear a filter in the sidebar, or run probes on **Run probes**.")
    st.stop()

costs, missing = components.costs_for(agg)
components.metric_cards(agg, costs)
st.caption(f"{matching:,} results, {len(agg):,} configurations (repeats shown as their median). "
           "Every figure derives from measured throughput and energy; cost and CO2 are computed now from "
           f"the **{st.session_state['sheet']}** price sheet ({'spot' if st.session_state['spot'] else 'on-demand'}) "
           f"and the grid intensity you picked.")

speed, efficiency, cost, tradeoff, carbon_tab, plan = st.tabs(
    ["Speed", "Efficiency", "Cost", "Trade-off", "Carbon", "Plan a job"])

with speed:
    st.plotly_chart(charts.speed_chart(agg), key="speed_chart")
    st.plotly_chart(charts.speedup_chart(agg), key="speedup_chart")
    if not failed.empty:
        with st.expander(f"{len(failed)} failed probe(s) in the selection"):
            st.dataframe(failed, hide_index=True)

with efficiency:
    st.plotly_chart(charts.efficiency_chart(agg), key="efficiency_chart")
    st.caption("Energy covers the timed window of each probe, all components read (GPU, CPU package, DRAM/RAM). "
               "Hatched bars are estimates (CodeCarbon's TDP × load model, or sampled power); solid are meter "
               "readings (NVML energy counter, RAPL).")

focus = agg
with cost:
    focus = components.focus_picker(agg)
    focus_costs = costs[costs["config"] == st.session_state.get("focus")] if not costs.empty else costs
    st.plotly_chart(charts.cost_chart(focus_costs, missing), key="cost_chart")
    if not missing.empty:
        with st.expander("Options without a price, and why"):
            st.dataframe(missing[missing["config"] == st.session_state.get("focus")], hide_index=True)

with tradeoff:
    focus_costs = costs[costs["config"] == st.session_state.get("focus")] if not costs.empty else costs
    st.caption(f"Workload: **{st.session_state.get('focus')}** (change it on the Cost tab).")
    st.plotly_chart(charts.tradeoff_chart(focus_costs), key="tradeoff_chart")

with carbon_tab:
    intensity, intensity_label = components.grid_intensity()
    comparison = list(dict.fromkeys([st.session_state["region"], "FRA", "SWE", "USA", "DEU", "POL", "IND", "CHN"]))
    carbon_rows = frames.carbon_frame(focus, comparison)
    st.caption(f"Your grid: {intensity_label}. Other regions for comparison, from CodeCarbon's bundled data.")
    st.plotly_chart(charts.carbon_chart(carbon_rows), key="carbon_chart")

with plan:
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
        transformer_configs = focus[focus["workload"] == "transformer"]
        context = 0
        if transformer_configs.empty:
            left.warning("Pick a transformer workload on the Cost tab to plan by tokens.")
        else:
            row = transformer_configs.iloc[0]
            context = row["tokens_per_s"] / row["samples_per_s"] if row["samples_per_s"] else 0
        total_samples = float(tokens / context) if context else 0.0
    right.metric("Job", f"{total_samples:,.0f} samples", f"workload {st.session_state.get('focus')}",
                 delta_color="off")
    if total_samples > 0 and not focus.empty:
        table = frames.plan_job(focus, focus_costs, total_samples, intensity, components.cost_settings())
        st.dataframe(table, hide_index=True, column_config={
            "wall_time_h": st.column_config.NumberColumn("wall time (h)", format="%.3g"),
            "energy_kwh": st.column_config.NumberColumn("energy (kWh)", format="%.3g"),
            "cost_usd": st.column_config.NumberColumn("cost ($)", format="%.4g"),
            "co2_kg": st.column_config.NumberColumn("CO2e (kg)", format="%.3g"),
            "break_even_h": st.column_config.NumberColumn(
                "buy beats renting after (h of use)", format="%.0f",
                help="Purchase price ÷ (rent $/h − own electricity $/h); empty when renting is always cheaper "
                     "or no purchase price is known (set one on Hardware & prices)"),
        })
        st.caption("Wall time = job samples ÷ measured samples/s; energy = × measured J/sample (estimated where "
                   "the energy kind says so); cost = × $ per 1M samples of each option; CO2 = energy × "
                   f"{intensity:g} g/kWh.")
