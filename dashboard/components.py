"""Reusable widgets: filters, pricing pickers, metric cards, and the cached analysis behind them."""

from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboard import charts, data, frames, state

COMPARISON_REGIONS = ("FRA", "SWE", "USA", "DEU", "POL", "IND", "CHN")


def comparison_regions() -> list[str]:
    """The user's grid region first, then a fixed spread of clean to carbon-heavy grids."""
    return list(dict.fromkeys([st.session_state["region"], *COMPARISON_REGIONS]))


FILTER_LABELS = {"workload": "Workload", "size": "Size", "precision": "Precision", "device_label": "Device",
                 "host": "Host", "run_id": "Run"}


@st.cache_resource(show_spinner=False, max_entries=8)
def filter_options(url: str, stamp: tuple, sample_stamp: tuple) -> dict[str, tuple[str, ...]]:
    """The values each filter offers (a shared resource: not unpickled on every rerun)."""
    frame = data.load_frame(url, stamp, sample_stamp)
    return {key: tuple(sorted(frame[key].dropna().astype(str).unique().tolist())) for key in state.FILTER_KEYS}


@st.cache_data(show_spinner=False, max_entries=64)
def analysis(url: str, stamp: tuple, sample_stamp: tuple, filters: tuple) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """(aggregated configurations with speed-up, failed results, number of matching results)."""
    frame = data.load_frame(url, stamp, sample_stamp)
    chosen = frames.apply_filters(frame, dict(filters))
    agg = frames.with_speedup(frames.aggregate(chosen))
    failed = chosen[chosen["status"] != "ok"][["workload", "size", "precision", "device_label", "status", "error",
                                                "created_at"]]
    return agg, failed, len(chosen)


SELECTION_CHARTS = {"Speed": charts.speed_chart, "Speed-up": charts.speedup_chart,
                    "Efficiency": charts.efficiency_chart}


@st.cache_resource(show_spinner=False, max_entries=128)
def _selection_figure(url: str, stamp: tuple, sample_stamp: tuple, filters: tuple, view: str) -> go.Figure:
    agg = analysis(url, stamp, sample_stamp, filters)[0]
    return SELECTION_CHARTS[view](agg)


def selection_figure(view: str) -> go.Figure:
    """The Speed / Speed-up / Efficiency figure of the current selection, cached on the filters:
    going back to an earlier selection re-renders without rebuilding the figure. A shared, read-only
    Figure object (st.plotly_chart only copies it): a cached dict would be unpickled and then
    re-validated into a Figure on every rerun (~15 ms at each filter change)."""
    url = data.db_url()
    return _selection_figure(url, data.store_stamp(url), data.samples_stamp(), current_filters(), view)


def current_filters() -> tuple:
    return tuple((key, tuple(st.session_state.get(f"filter_{key}") or ())) for key in state.FILTER_KEYS)


def current_analysis() -> tuple[pd.DataFrame, pd.DataFrame, int]:
    url = data.db_url()
    return analysis(url, data.store_stamp(url), data.samples_stamp(), current_filters())


def selection_or_stop():
    """Sidebar filters and pricing, then the analysis of the selection: (agg, failed, matching,
    costs, missing). An empty selection says what to do and stops the page."""
    sidebar_filters()
    pricing_controls()
    agg, failed, matching = current_analysis()
    if matching == 0:
        st.info("No results match the filters. Clear a filter in the sidebar, or run probes on **Run probes**.")
        st.stop()
    costs, missing = current_costs()
    return agg, failed, matching, costs, missing


def sidebar_filters() -> None:
    url = data.db_url()
    options = filter_options(url, data.store_stamp(url), data.samples_stamp())
    st.sidebar.header("Filters")
    for key, label in FILTER_LABELS.items():
        key_name = f"filter_{key}"
        if key_name in st.session_state:  # drop values that no longer exist (a deleted run)
            st.session_state[key_name] = [v for v in st.session_state[key_name] if v in options[key]]
        st.sidebar.multiselect(label, options[key], key=key_name, placeholder="all")


def pricing_controls() -> None:
    sheets = data.all_sheets()
    names = list(sheets)
    if st.session_state.get("sheet") not in names:
        st.session_state["sheet"] = names[0]
    st.sidebar.header("Pricing and grid")
    st.sidebar.selectbox("Price sheet", names, key="sheet",
                         help="Bundled cloud price sheets, plus any you uploaded or edited on Hardware & prices")
    regions = {r.key: r.label for r in data.grid_regions()}
    if st.session_state.get("region") not in regions:
        st.session_state["region"] = "USA"
    st.sidebar.selectbox("Grid region (CO2)", list(regions), key="region", format_func=lambda k: regions[k])
    st.sidebar.toggle("Spot prices", key="spot", help="Spot/preemptible instead of on-demand rates")


def cost_settings() -> frames.CostSettings:
    price = st.session_state.get("purchase_price_usd") or None
    return frames.CostSettings(spot=bool(st.session_state.get("spot")),
                               electricity_usd_per_kwh=float(st.session_state["electricity_usd_per_kwh"]),
                               lifetime_years=float(st.session_state["lifetime_years"]),
                               hours_per_year=float(st.session_state["hours_per_year"]),
                               purchase_price_usd=float(price) if price else None)


def grid_intensity() -> tuple[float, str]:
    override = float(st.session_state.get("intensity_override") or 0)
    region = next(r for r in data.grid_regions() if r.key == st.session_state["region"])
    if override > 0:
        return override, f"{override:g} g/kWh (your override)"
    return region.g_co2_per_kwh, f"{region.label}: {region.g_co2_per_kwh:g} g/kWh ({region.source})"


@st.cache_data(show_spinner=False, max_entries=64)
def _priced(url: str, stamp: tuple, sample_stamp: tuple, filters: tuple, rows_key: int, _rows: tuple,
            settings: frames.CostSettings) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``_rows`` is not hashed by Streamlit (its hasher walks every row: ~10 ms a rerun); ``rows_key``,
    Python's hash of the frozen rows, stands for it."""
    agg = analysis(url, stamp, sample_stamp, filters)[0]
    return frames.cost_frame(agg, _rows, settings, data.accelerators())


def current_costs() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Cost of the current selection on the chosen sheet, cached on filters, sheet and settings."""
    url = data.db_url()
    sheet = data.all_sheets()[st.session_state["sheet"]]
    return _priced(url, data.store_stamp(url), data.samples_stamp(), current_filters(), hash(sheet.rows), sheet.rows,
                   cost_settings())


def compact(value: float) -> str:
    """12,345,678 -> 12.3M; 328,972 -> 329k; 41.23 -> 41.2; 0.0000689 -> 6.89e-05."""
    for threshold, divisor, suffix in ((1e9, 1e9, "G"), (1e6, 1e6, "M"), (1e4, 1e3, "k")):
        if abs(value) >= threshold:
            return f"{value / divisor:.3g}{suffix}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def usd(value: float) -> str:
    """Dollars with enough decimals to show three significant digits of small amounts."""
    if value >= 0.01 or value <= 0:
        return f"${value:,.2f}"
    decimals = -math.floor(math.log10(value)) + 2
    return f"${value:.{decimals}f}"


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
    if st.session_state.get("focus") not in configs:
        st.session_state["focus"] = configs[0]
    st.selectbox(label, configs, key="focus")
    return agg[agg["config"] == st.session_state["focus"]]
