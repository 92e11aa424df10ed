"""Reusable Streamlit widgets: sidebar filters, pricing pickers, metric cards, the focus picker, and
``selection_or_stop`` that puts them in front of a page. The data they show comes from pipeline.py."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import data, pipeline, state
from dashboard.fmt import compact, usd

FILTER_LABELS = {"workload": "Workload", "size": "Size", "precision": "Precision", "device_label": "Device",
                 "host": "Host", "run_id": "Run"}


def selection_or_stop():
    """Sidebar filters and pricing, then the analysis of the selection: (agg, failed, matching,
    costs, missing). An empty selection says what to do and stops the page."""
    sidebar_filters()
    pricing_controls()
    agg, failed, matching = pipeline.current_analysis()
    if matching == 0:
        st.info("No results match the filters. Clear a filter in the sidebar, or run probes on **Run probes**.")
        st.stop()
    costs, missing = pipeline.current_costs()
    return agg, failed, matching, costs, missing


def sidebar_filters() -> None:
    url = data.db_url()
    options = pipeline.filter_options(url, data.store_stamp(url), data.samples_stamp())
    st.sidebar.header("Filters")
    for key, label in FILTER_LABELS.items():
        key_name = state.filter_key(key)
        if key_name in st.session_state:  # drop values that no longer exist (a deleted run)
            st.session_state[key_name] = [v for v in st.session_state[key_name] if v in options[key]]
        st.sidebar.multiselect(label, options[key], key=key_name, placeholder="all")


def pricing_controls() -> None:
    sheets = data.all_sheets()
    names = list(sheets)
    if st.session_state.get(state.SHEET) not in names:
        st.session_state[state.SHEET] = names[0]
    st.sidebar.header("Pricing and grid")
    st.sidebar.selectbox("Price sheet", names, key=state.SHEET,
                         help="Bundled cloud price sheets, plus any you uploaded or edited on Hardware & prices")
    regions = {r.key: r.label for r in data.grid_regions()}
    if st.session_state.get(state.REGION) not in regions:
        st.session_state[state.REGION] = "USA"
    st.sidebar.selectbox("Grid region (CO2)", list(regions), key=state.REGION, format_func=lambda k: regions[k])
    st.sidebar.toggle("Spot prices", key=state.SPOT, help="Spot/preemptible instead of on-demand rates")


def duration(hours: float) -> str:
    """3.2 h, 14 min, 2.1 days: the unit a person would say."""
    if hours >= 48:
        return f"{hours / 24:,.1f} days"
    return f"{hours:,.1f} h" if hours >= 1 else f"{hours * 60:,.0f} min"


def hardware_choice(agg: pd.DataFrame) -> tuple[list[str], str, list[str], str]:
    """The workloads one can compare on every accelerator (those with published references first,
    then the measured ones of the selection) and the chosen one, its precisions and the chosen
    one — a value from the URL that is not among them is replaced, before anything uses it."""
    configs = list(dict.fromkeys([*pipeline.reference_workloads(), *sorted(agg["config"].unique())]))
    if st.session_state.get(state.HARDWARE_CONFIG) not in configs:
        st.session_state[state.HARDWARE_CONFIG] = configs[0]
    config = st.session_state[state.HARDWARE_CONFIG]
    precisions = pipeline.reference_precisions(config)
    if st.session_state.get(state.HARDWARE_PRECISION) not in precisions:
        st.session_state[state.HARDWARE_PRECISION] = precisions[0]
    return configs, config, precisions, st.session_state[state.HARDWARE_PRECISION]


def hardware_question(agg: pd.DataFrame, job: bool = True) -> tuple[str, str, float]:
    """Workload, precision on the accelerators and (with ``job``) the job's samples: the question
    asked of every accelerator in Speed-up, Cost and Present."""
    configs, _, precisions, _ = hardware_choice(agg)
    columns = st.columns(3 if job else 2)
    config = columns[0].selectbox("Workload", configs, key=state.HARDWARE_CONFIG,
                                  help="Workloads with published results first (data/references), then yours")
    precision = columns[1].selectbox("Precision on the accelerators", precisions, key=state.HARDWARE_PRECISION,
                                     help="Ordered by how many published results exist for the workload")
    samples = float(st.session_state.get(state.JOB_SAMPLES) or 1)
    if job:
        samples = float(columns[2].number_input("Job: samples to train on", min_value=1, step=1_000_000,
                                                key=state.JOB_SAMPLES,
                                                help="Default: 90 epochs of ImageNet-1k (1,281,167 images)"))
    return config, precision, samples


def cross_vendor_warning(table: pd.DataFrame) -> None:
    """Name the accelerators projected from another vendor's points (core.views.projection caveat)."""
    extrapolated = sorted(set(table.loc[table["caveat"].notna(), "accelerator"]))
    if extrapolated:
        st.warning(f"Projected across vendors, with no published or measured point from their maker: "
                   f"{', '.join(extrapolated)}. Their figures are rough estimates (wider than the interval shows); "
                   "measure one, or add a published result to data/references, before renting on them.")


def unpriced_reasons(table: pd.DataFrame, what: str) -> None:
    """Rows without a figure, each with its reason, in an expander that says how many."""
    if not table.empty:
        with st.expander(f"{len(table)} {what}"):
            st.dataframe(table, hide_index=True)


def job_claim_cards(claims: dict, samples: float) -> None:
    """The job on the measured CPU vs the fastest and the cheapest instance, each labelled by kind."""
    cards = st.columns(3)
    cpu, fastest, cheapest = claims["cpu"], claims["fastest"], claims["cheapest"]
    if cpu:
        cards[0].metric("On the measured CPU", duration(cpu["hours"]))
        cards[0].caption(f"{cpu['label']} · measured")
    else:
        cards[0].metric("On a CPU", "not measured")
        cards[0].caption("run `python -m core probe` with this workload to compare")
    for card, title, claim in ((cards[1], "Fastest instance", fastest), (cards[2], "Cheapest instance", cheapest)):
        if claim is None:
            card.metric(title, "no price")
            continue
        value = duration(claim["hours"]) if title.startswith("Fastest") else usd(claim["usd"])
        card.metric(title, value)
        card.caption(f"{claim['label']} · {claim['kind']} throughput · {duration(claim['hours'])}, "
                     f"{usd(claim['usd'])} for {compact(samples)} samples")


def metric_cards(agg: pd.DataFrame, costs: pd.DataFrame) -> None:
    """Fastest, cheapest and most efficient configuration of the selection, as big numbers."""
    cards = st.columns(3)
    if agg.empty:
        for card, label in zip(cards, ("Fastest", "Cheapest", "Most efficient")):
            card.metric(label, "–")
        return
    fastest = agg.loc[agg["samples_per_s"].idxmax()]
    cards[0].metric("Fastest · samples/s", compact(fastest["samples_per_s"]))
    cards[0].caption(f"{fastest['device_label']} · {fastest['precision']} · {fastest['config']}")
    if costs.empty:
        cards[1].metric("Cheapest · $ per 1M samples", "no price")
        cards[1].caption("the price sheet has no instance with these devices")
    else:
        cheapest = costs.loc[costs["usd_per_1m_samples"].idxmin()]
        cards[1].metric("Cheapest · $ per 1M samples", usd(cheapest["usd_per_1m_samples"]))
        cards[1].caption(f"{cheapest['option']} · {cheapest['precision']} · {cheapest['config']}")
    with_energy = agg.dropna(subset=["samples_per_kj"])
    if with_energy.empty:
        cards[2].metric("Most efficient · samples/kJ", "no energy reading")
    else:
        best = with_energy.loc[with_energy["samples_per_kj"].idxmax()]
        estimated = best["energy_kind"] == "estimated"
        cards[2].metric("Most efficient · samples/kJ" + (" (estimated)" if estimated else ""),
                        compact(best["samples_per_kj"]))
        cards[2].caption(f"{best['device_label']} · {best['precision']} · {best['config']}")


def focus_picker(agg: pd.DataFrame, label: str = "Workload for cost, trade-off and carbon") -> pd.DataFrame:
    """Cost-type charts compare one workload at a time: samples of different workloads differ."""
    configs = sorted(agg["config"].unique()) if not agg.empty else []
    if not configs:
        return agg
    if st.session_state.get(state.FOCUS) not in configs:
        st.session_state[state.FOCUS] = configs[0]
    st.selectbox(label, configs, key=state.FOCUS)
    return agg[agg["config"] == st.session_state[state.FOCUS]]
