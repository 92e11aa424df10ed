"""Pure chart functions: DataFrame in, plotly Figure out. No streamlit here.

Estimated numbers are hatched (pattern "/") and say so in the legend; missing ones are named in
an annotation with the reason; an empty selection gives a figure that says what to do.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboard.frames import pareto_mask

ESTIMATED_PATTERN = "/"
PRECISION_COLORS = {"fp32": "#4C78A8", "tf32": "#72B7B2", "bf16": "#F58518", "fp16": "#E45756"}
KIND_COLORS = {"on-demand": "#4C78A8", "spot": "#54A24B", "own": "#B279A2"}
KIND_LEGEND = {"measured": "measured (ours)", "published": "published (source on hover)",
               "projected": "projected (interval as error bar)"}
KIND_STYLES = {  # measured solid, published outlined, projected translucent with its interval
    "measured": {"marker_color": "#4C78A8"},
    "published": {"marker_color": "rgba(0,0,0,0)", "marker_line_color": "#4C78A8", "marker_line_width": 2},
    "projected": {"marker_color": "rgba(76,120,168,0.35)"},  # translucent bar, solid label text
}
HOVER_FIELDS = [("config", "workload"), ("device_label", "device"), ("precision", "precision"),
                ("precision_emulated", "precision emulated"),
                ("samples_per_s", "samples/s"), ("tokens_per_s", "tokens/s"), ("achieved_tflops", "TFLOP/s"),
                ("mfu_text", "MFU"), ("j_per_sample", "J/sample"), ("j_per_tflop", "J/TFLOP"),
                ("energy_kind", "energy"), ("energy_method", "energy method"),
                ("step_time_cv", "step CV"), ("repeats", "repeats"), ("unsettled_repeats", "unsettled warm-ups"),
                ("host_other_cpus", "other CPUs busy"), ("host", "host"), ("torch", "torch"),
                ("cpu", "CPU"), ("gpu", "GPU"), ("driver", "driver"), ("latest_id", "result")]


def empty_figure(message: str, title: str = "") -> go.Figure:
    fig = go.Figure()
    fig.add_annotation(text=message, x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False,
                       font={"size": 16})
    fig.update_layout(title=title, xaxis={"visible": False}, yaxis={"visible": False}, height=320)
    return fig


def _hover(frame: pd.DataFrame) -> tuple[list, str]:
    fields = [(c, label) for c, label in HOVER_FIELDS if c in frame.columns]
    custom = frame[[c for c, _ in fields]].astype(object).where(frame[[c for c, _ in fields]].notna(), "–")
    template = "<br>".join(f"{label}: %{{customdata[{i}]}}" for i, (_, label) in enumerate(fields))
    return custom.values.tolist(), template + "<extra></extra>"


def _style(fig: go.Figure, big: bool, height: int = 460) -> go.Figure:
    fig.update_layout(template="plotly_white", height=int(height * (1.35 if big else 1)),
                      font={"size": 22 if big else 13}, legend={"orientation": "h", "y": -0.2},
                      margin={"t": 70, "l": 60, "r": 20, "b": 60})
    return fig


def _patterns(frame: pd.DataFrame) -> list[str]:
    return [ESTIMATED_PATTERN if kind == "estimated" else "" for kind in frame.get("energy_kind", [])]


def _row_labels(frame: pd.DataFrame) -> pd.Series:
    """One row per configuration: workload · device, plus host / batch / compile where they differ."""
    if "row_label" in frame:
        return frame["row_label"]
    return frame["config"] + " · " + frame["device_label"]


def _by_row(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    """The frame in chart-row order (workload, then row label, top to bottom) and its row labels."""
    ordered = frame.assign(_label=_row_labels(frame)).sort_values(["config", "_label"], ascending=False)
    return ordered, ordered.pop("_label")


def _bar_height(count: int) -> int:
    return max(380, 30 * count + 170)


def _precision_bars(frame: pd.DataFrame, column: str, hover_prefix: str = "", text=None,
                    **bar_options) -> tuple[go.Figure, int]:
    """Horizontal bars of ``column``, one row per workload · device, one colour per precision;
    ``text`` formats a group's values as bar labels. Returns the figure and its number of rows."""
    frame, labels = _by_row(frame)
    fig = go.Figure()
    for precision, group in frame.groupby("precision", sort=False):
        custom, template = _hover(group)
        fig.add_bar(y=labels[group.index], x=group[column], orientation="h", name=precision,
                    marker_color=PRECISION_COLORS.get(precision), customdata=custom,
                    hovertemplate=hover_prefix + template, text=text(group[column]) if text else None,
                    **bar_options)
    return fig, labels.nunique()


def speed_chart(agg: pd.DataFrame, big: bool = False) -> go.Figure:
    """Throughput per workload · device (rows) and precision (colour), on one log axis."""
    if agg.empty:
        return empty_figure("No successful results match the filters. Widen them, or run probes.", "Speed")
    fig, rows = _precision_bars(agg, "samples_per_s")
    fig.update_xaxes(type="log", title_text="samples / s (measured; log scale)")
    fig.update_layout(title="Speed: training throughput", barmode="group")
    return _style(fig, big, height=_bar_height(rows))


def _interval(group: pd.DataFrame, column: str) -> dict:
    """Error bars from ``column``'s ``_low`` and ``_high`` columns: a projection's interval."""
    return {"type": "data", "symmetric": False, "color": "#333", "array": group[f"{column}_high"] - group[column],
            "arrayminus": group[column] - group[f"{column}_low"]}


def hardware_speedup_chart(frame: pd.DataFrame, baseline: dict | None, workload: str, big: bool = False) -> go.Figure:
    """Every accelerator with a known throughput for the workload, × the measured CPU (log scale),
    drawn by where its figure came from: measured solid, published outlined, projected translucent
    with its interval as error bars."""
    title = f"Speed-up over the CPU: {workload}"
    if baseline is None:
        return empty_figure(f"No CPU result for {workload} in the selection: measure the CPU on this workload "
                            "(Run probes, or python -m core probe) to compare accelerators with it.", title)
    have = frame.dropna(subset=["speedup"]).sort_values("speedup") if not frame.empty else frame
    if have.empty:
        return empty_figure(f"No accelerator has a measured, published or projected throughput for {workload}: "
                            "only the built-in references (data/references) and your own GPU results give one.",
                            title)
    fig = go.Figure()
    for kind in ("measured", "published", "projected"):
        group = have[have["kind"] == kind]
        if group.empty:
            continue
        error = _interval(group, "speedup") if kind == "projected" else None
        labels = [f"{v:,.0f}×" if v >= 10 else f"{v:,.1f}×" for v in group["speedup"]]
        if kind == "projected":  # the label goes past the interval's end, not across its error bar
            fig.add_scatter(y=group["accelerator"], x=group["speedup_high"], mode="text", text=labels,
                            textposition="middle right", showlegend=False, hoverinfo="skip", cliponaxis=False)
        fig.add_bar(y=group["accelerator"], x=group["speedup"], orientation="h", name=KIND_LEGEND[kind],
                    error_x=error, text=None if kind == "projected" else labels,
                    textposition="outside", cliponaxis=False, **KIND_STYLES[kind],
                    customdata=list(zip([f"{v:,.0f}" for v in group["samples_per_s"]],
                                        [s[:120] for s in group["source"]])),
                    hovertemplate="%{y}: %{x:.3g}× the CPU<br>%{customdata[0]} samples/s<br>%{customdata[1]}"
                                  "<extra></extra>")
    fig.update_xaxes(type="log", title_text=f"× the measured CPU (log scale)<br>{baseline['label']}, "
                                            f"{baseline['samples_per_s']:,.3g} samples/s")
    fig.update_yaxes(categoryorder="array", categoryarray=list(have["accelerator"]))  # one order, fastest on top
    fig.update_layout(title=title, barmode="overlay", showlegend=True)
    return _style(fig, big, height=_bar_height(len(have)))


def precision_gain_chart(frame: pd.DataFrame, big: bool = False) -> go.Figure:
    """What a lower precision buys on one device: its throughput ÷ the same configuration's fp32
    (or tf32), measured here (solid) or from one published source (outlined)."""
    if frame.empty:
        return empty_figure("No device in the selection has both fp32 and a lower precision of one configuration.",
                            "Precision gain")
    frame = frame.sort_values(["kind", "row"], ascending=False)
    fig = go.Figure()
    for (kind, precision), group in frame.groupby(["kind", "precision"], sort=False):
        style = ({"marker_color": PRECISION_COLORS.get(precision)} if kind == "measured" else
                 {"marker_color": "rgba(0,0,0,0)", "marker_line_color": PRECISION_COLORS.get(precision),
                  "marker_line_width": 2})
        fig.add_bar(y=group["row"], x=group["gain"], orientation="h", name=f"{precision} · {kind}", **style,
                    text=[f"{v:.2f}×" for v in group["gain"]], textposition="outside", cliponaxis=False,
                    customdata=list(zip(group["baseline_precision"], group["source"])),
                    hovertemplate=f"{precision}: %{{x:.2f}}× %{{customdata[0]}}<br>%{{customdata[1]}}<extra></extra>")
    fig.add_vline(x=1, line_dash="dot", line_color="#555")
    fig.update_xaxes(title_text="× the same configuration in fp32 (tf32 where the source has no fp32)",
                     rangemode="tozero")
    fig.update_layout(title="Precision gain: the same device, a lower precision", barmode="group")
    return _style(fig, big, height=_bar_height(frame["row"].nunique()))


def efficiency_chart(agg: pd.DataFrame, big: bool = False) -> go.Figure:
    """Energy per 1k samples, samples per kJ and average power, one row per workload · device;
    estimated energy is hatched and configurations without energy are named."""
    have = agg.dropna(subset=["j_per_sample"]) if not agg.empty else agg
    if have.empty:
        reason = ""
        if not agg.empty and agg["energy_missing"].notna().any():
            reason = f" ({agg['energy_missing'].dropna().iloc[0]})"
        return empty_figure(f"No energy readings in the selection{reason}.", "Efficiency")
    have, labels = _by_row(have)
    fig = make_subplots(rows=1, cols=3, shared_yaxes=True, horizontal_spacing=0.03,
                        subplot_titles=["J per 1k samples (lower is better)", "samples per kJ (higher is better)",
                                        "average power, W"])
    for precision, group in have.groupby("precision", sort=False):
        custom, template = _hover(group)
        for col, column in enumerate(("j_per_1k_samples", "samples_per_kj", "avg_power_w"), start=1):
            fig.add_bar(y=labels[group.index], x=group[column], orientation="h", name=precision,
                        legendgroup=precision, showlegend=col == 1, marker_color=PRECISION_COLORS.get(precision),
                        marker_pattern_shape=_patterns(group), customdata=custom,
                        hovertemplate=f"{column}: %{{x:.4g}}<br>" + template, row=1, col=col)
    fig.update_xaxes(type="log", col=1)
    fig.update_xaxes(type="log", col=2)
    _legend_estimated(fig, have)
    missing = agg[agg["j_per_sample"].isna()]
    if not missing.empty:
        names = ", ".join(sorted(set(_row_labels(missing))))[:160]
        fig.add_annotation(text=f"No energy for: {names}", x=0, y=1.12, xref="paper", yref="paper",
                           showarrow=False, align="left")
    height = max(420, 34 * len(labels.unique()) + 180)
    fig.update_layout(title="Efficiency: energy per unit of work", barmode="group", height=height)
    return _style(fig, big, height=height)


def _legend_estimated(fig: go.Figure, frame: pd.DataFrame) -> None:
    kinds = set(frame["energy_kind"].dropna())
    if "estimated" in kinds:
        fig.add_bar(x=[None], y=[None], name="hatched = estimated energy (model, not a meter)",
                    marker_color="white", marker_line_color="#555", marker_line_width=1,
                    marker_pattern_shape=ESTIMATED_PATTERN, showlegend=True)
    if "measured" in kinds:
        fig.add_bar(x=[None], y=[None], name="solid = measured energy (NVML/RAPL)", marker_color="#999",
                    showlegend=True)


def cost_chart(costs: pd.DataFrame, missing: pd.DataFrame | None = None, big: bool = False) -> go.Figure:
    """$ per 1M samples on each matching cloud instance and on own hardware."""
    if costs.empty:
        reason = "; ".join(sorted(set(missing["reason"])))[:200] if missing is not None and not missing.empty else ""
        return empty_figure(f"No price for the selection. {reason}", "Cost")
    ordered = costs.sort_values("usd_per_1m_samples", ascending=False)
    labels = ordered["option"] + " · " + ordered["precision"] + " · " + ordered["config"]
    if "variant" in ordered:  # the same option twice (two hosts, batch sizes…): say which is which
        labels = labels + ordered["variant"]
    fig = go.Figure()
    for kind, group in ordered.groupby("kind", sort=False):
        fig.add_bar(y=labels[group.index], x=group["usd_per_1m_samples"], orientation="h", name=kind,
                    marker_color=KIND_COLORS.get(kind), marker_pattern_shape=_patterns(group) if kind == "own" else None,
                    customdata=group[["basis", "retrieved_on", "device_label"]].astype(str).values,
                    hovertemplate="$%{x:.4g} per 1M samples<br>%{customdata[0]}<br>device: %{customdata[2]}"
                                  "<br>price retrieved: %{customdata[1]}<extra></extra>")
    fig.update_xaxes(title_text="$ per 1M samples (log scale)", type="log")
    fig.update_layout(title="Cost: $ per 1M training samples, from measured throughput",
                      height=max(420, 26 * len(ordered) + 160))
    return _style(fig, big, height=max(420, 26 * len(ordered) + 160))


def tradeoff_chart(costs: pd.DataFrame, big: bool = False) -> go.Figure:
    """Time vs cost per 1M samples; bubble size = energy per sample; the Pareto frontier drawn and named."""
    if costs.empty:
        return empty_figure("No priced results to trade off: pick a price sheet with the selected devices.",
                            "Trade-off")
    frame = costs.reset_index(drop=True)
    frame["front"] = pareto_mask(frame["seconds_per_1m_samples"], frame["usd_per_1m_samples"])
    energy = frame["j_per_sample"].fillna(frame["j_per_sample"].min() if frame["j_per_sample"].notna().any() else 1)
    size = 12 + 38 * (energy / energy.max()) ** 0.5 if energy.max() > 0 else 20
    fig = go.Figure()
    for device, group in frame.groupby("device_label", sort=False):
        fig.add_scatter(x=group["seconds_per_1m_samples"], y=group["usd_per_1m_samples"], mode="markers",
                        name=device, marker={"size": size[group.index], "opacity": 0.75, "line": {"width": 1}},
                        customdata=group[["option", "precision", "config", "j_per_sample", "energy_kind"]].astype(str).values,
                        hovertemplate="%{customdata[0]} · %{customdata[1]} · %{customdata[2]}<br>"
                                      "%{x:.4g} s and $%{y:.4g} per 1M samples<br>"
                                      "%{customdata[3]} J/sample (%{customdata[4]})<extra></extra>")
    front = frame[frame["front"]].sort_values("seconds_per_1m_samples")
    fig.add_scatter(x=front["seconds_per_1m_samples"], y=front["usd_per_1m_samples"], mode="lines+markers+text",
                    name="Pareto frontier: no option is both faster and cheaper", line={"dash": "dash", "color": "black"},
                    text=front["option"], textposition="top right", marker={"symbol": "x", "size": 8, "color": "black"},
                    hoverinfo="skip")
    fig.update_xaxes(title_text="seconds per 1M samples (log, lower is faster)", type="log")
    fig.update_yaxes(title_text="$ per 1M samples (log)", type="log", tickformat="$.2g", nticks=6)
    fig.update_xaxes(tickformat=".2s", nticks=8)
    fig.update_layout(title="Trade-off: time vs cost (bubble = energy per sample)", colorway=[
        "#4C78A8", "#F58518", "#54A24B", "#E45756", "#72B7B2", "#B279A2"])
    return _style(fig, big, height=520)


def carbon_chart(carbon_rows: pd.DataFrame, big: bool = False) -> go.Figure:
    """g CO2e per 1M samples by grid region; estimated energy hatched."""
    if carbon_rows.empty:
        return empty_figure("No energy readings in the selection, so no CO2 figure.", "Carbon")
    fig = go.Figure()
    carbon_rows = carbon_rows.assign(series=carbon_rows["device_label"] + " · " + carbon_rows["precision"]
                                     + " · " + carbon_rows["config"])
    palette = ["#4C78A8", "#F58518", "#54A24B", "#E45756", "#72B7B2", "#B279A2", "#FF9DA6", "#9D755D"]
    for index, (series, group) in enumerate(carbon_rows.groupby("series", sort=False)):
        fig.add_bar(x=group["region"], y=group["g_co2_per_1m_samples"], name=series,
                    marker_color=palette[index % len(palette)], marker_pattern_shape=_patterns(group),
                    customdata=group[["g_co2_per_kwh", "energy_kind"]].astype(str).values,
                    hovertemplate="%{y:.4g} g CO2e per 1M samples<br>grid: %{customdata[0]} g/kWh<br>"
                                  "energy: %{customdata[1]}<extra></extra>")
    _legend_estimated(fig, carbon_rows)
    fig.update_yaxes(title_text="g CO2e per 1M samples")
    fig.update_layout(title="Carbon: g CO2e per 1M samples by grid region", barmode="group")
    return _style(fig, big)


def instance_cost_chart(frame: pd.DataFrame, workload: str, big: bool = False) -> go.Figure:
    """$ per 1M samples on every priced instance; the bar's look says where the throughput came from."""
    priced = frame.dropna(subset=["usd_per_1m_samples"]).sort_values("usd_per_1m_samples", ascending=False)
    if priced.empty:
        return empty_figure("No instance of this sheet can be priced for this workload (reasons in the table below).",
                            "Every instance")
    fig = go.Figure()
    for kind in ("measured", "published", "projected"):
        group = priced[priced["kind"] == kind]
        if group.empty:
            continue
        error = _interval(group, "usd_per_1m_samples") if kind == "projected" else None
        fig.add_bar(y=group["option"] + " · " + group["accelerator_count"].astype(str) + "× " + group["accelerator"],
                    x=group["usd_per_1m_samples"], orientation="h", name=KIND_LEGEND[kind],
                    error_x=error, **KIND_STYLES[kind],
                    customdata=list(zip(group["accelerator"], [f"{v:,.0f}" for v in group["samples_per_s_per_device"]],
                                        [s[:160] for s in group["source"]])),
                    hovertemplate="$%{x:.4g} per 1M samples<br>%{customdata[0]}: %{customdata[1]} samples/s "
                                  "per device<br>%{customdata[2]}<extra></extra>")
    fig.update_xaxes(title_text="$ per 1M samples", rangemode="tozero")
    labels = priced["option"] + " · " + priced["accelerator_count"].astype(str) + "× " + priced["accelerator"]
    fig.update_yaxes(categoryorder="array", categoryarray=list(labels))  # cheapest at the top, whatever the kind
    fig.update_layout(title=f"Every instance of the sheet, priced for {workload}", height=max(420, 24 * len(priced) + 180),
                      barmode="overlay", showlegend=True)
    return _style(fig, big, height=max(420, 24 * len(priced) + 180))


MEMORY_COLORS = ["#4C78A8", "#72B7B2", "#54A24B", "#F58518"]


def memory_breakdown_chart(parts: list[tuple[str, float]], peak_gb: float, title: str, big: bool = False) -> go.Figure:
    """One stacked bar: what holds a training step's memory (estimated), in GB."""
    fig = go.Figure()
    for (label, gb), color in zip(parts, MEMORY_COLORS):
        fig.add_bar(y=["training step"], x=[gb], orientation="h", name=f"{label}: {gb:,.2f} GB", marker_color=color,
                    hovertemplate=f"{label}: %{{x:,.2f}} GB (estimated)<extra></extra>")
    fig.update_xaxes(title_text=f"GB at the step's peak ({peak_gb:,.2f} GB, estimated)", rangemode="tozero")
    fig.update_layout(title=title, barmode="stack", showlegend=True)
    _style(fig, big, height=330)
    fig.update_layout(legend={"orientation": "h", "y": -0.45}, margin={"b": 110})
    return fig
