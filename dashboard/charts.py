"""Pure chart functions: DataFrame in, plotly Figure out. No streamlit here.

Honest by default: every bar chart's value axis is linear and starts at zero (a bar's length is its
value); ``log=True`` gives a log axis, and its title then says "log scale". One colour per precision
(PRECISION_COLORS) in every chart, legend and export; where a figure came from (measured, published,
projected) is the bar's fill, never its colour. Estimated energy is hatched (pattern "/"); missing
figures are named with their reason; an empty selection gives a figure that says what to do. Hover
text is at most HOVER_MAX_LINES lines, each number with its unit.
"""

from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboard.fmt import compact, duration_h, percent, usd
from dashboard.frames import config_of, pareto_mask

ESTIMATED_PATTERN = "/"
# The one precision palette: every chart, legend and export colours a precision with these.
PRECISION_COLORS = {"fp32": "#4C78A8", "tf32": "#72B7B2", "bf16": "#F58518", "fp16": "#E45756"}
OTHER_PRECISION_COLOR = "#9D755D"
PRECISION_ORDER = tuple(PRECISION_COLORS)
INK = "#222222"  # individual runs, frontier lines, labels: never a precision's colour
HOVER_MAX_LINES = 6
KIND_LEGEND = {"measured": "measured (ours)", "published": "published (source on hover)",
               "projected": "projected (interval as error bar)"}
DEVICE_SYMBOLS = ("circle", "square", "diamond", "triangle-up", "triangle-down", "pentagon", "hexagon", "star")
LABEL_WRAP = 30  # characters per line of a row label before it wraps at a " · "


def precision_color(precision: str | None, shade: int = 0) -> str:
    """The colour of ``precision`` (PRECISION_COLORS); ``shade`` 1, 2… mixes it with white for a second,
    third… device of the same precision in one chart (the hue still says the precision)."""
    base = PRECISION_COLORS.get(precision or "", OTHER_PRECISION_COLOR)
    if not shade:
        return base
    mix = min(0.25 * shade, 0.7)
    r, g, b = (int(base[i:i + 2], 16) for i in (1, 3, 5))
    return "#" + "".join(f"{round(c + (255 - c) * mix):02X}" for c in (r, g, b))


def _precision_order(precisions) -> list[str]:
    known = [p for p in PRECISION_ORDER if p in set(precisions)]
    return known + sorted(set(precisions) - set(known))


def empty_figure(message: str, title: str = "") -> go.Figure:
    fig = go.Figure()
    fig.add_annotation(text=message, x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False,
                       font={"size": 16})
    fig.update_layout(title=title, xaxis={"visible": False}, yaxis={"visible": False}, height=320)
    return fig


# --- hover, labels, axes ---------------------------------------------------------------------------

def _hover(lines: list[list[str]]) -> tuple[list[list[str]], str]:
    """(customdata, hovertemplate) from each point's lines (all points the same number of lines, at
    most HOVER_MAX_LINES): every line is formatted here, with its unit."""
    count = len(lines[0]) if lines else 1
    if count > HOVER_MAX_LINES:
        raise ValueError(f"hover text has {count} lines, more than {HOVER_MAX_LINES}")
    template = "<br>".join(f"%{{customdata[{i}]}}" for i in range(count))
    return lines, template + "<extra></extra>"


def _num(value) -> float | None:
    if value is None:
        return None
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(value) else value


def _text(value) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)


def wrap(label: str, width: int = LABEL_WRAP) -> str:
    """A long row label on several lines, broken after its " · " separators (plotly's <br>)."""
    lines, line = [], ""
    parts = []
    for part in str(label).split(" · "):  # a part too long for a line breaks after its slashes
        while len(part) > width and "/" in part[:width]:
            cut = part[:width].rindex("/") + 1
            parts.append(part[:cut])
            part = part[cut:]
        parts.append(part)
    for part in parts:
        candidate = f"{line} · {part}" if line and not line.endswith("/") else f"{line}{part}" if line else part
        if line and len(candidate) > width:
            lines.append(line if line.endswith("/") else line + " ·")
            line = part
        else:
            line = candidate
    lines.append(line)
    return "<br>".join(lines)


def _wrap_words(text: str, width: int) -> str:
    """A category name on lines of about ``width`` characters, broken between words."""
    lines, line = [], ""
    for word in str(text).split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    return "<br>".join(lines + [line])


def _display_labels(frame: pd.DataFrame) -> pd.Series:
    """What a chart row is called: its row label, without the workload when the chart shows one
    workload only (the title names it)."""
    labels = frame["row_label"] if "row_label" in frame else frame["config"] + " · " + frame["device_label"]
    if "config" in frame and frame["config"].nunique() == 1:
        prefix = f"{frame['config'].iloc[0]} · "
        labels = labels.map(lambda s: s[len(prefix):] if str(s).startswith(prefix) else s)
    return labels


def _category_axis(fig: go.Figure, order: list[str], shown: dict[str, str], values: dict[str, str] | None = None,
                   **where) -> None:
    """Rows in ``order`` (bottom to top), each drawn with its wrapped display label (and, with
    ``values``, a line of its figures under it: a short bar on a linear axis still says its number)."""
    values = values or {}
    text = [wrap(shown.get(v, v)) + (f"<br><span style='color:#666'>{values[v]}</span>" if values.get(v) else "")
            for v in order]
    fig.update_yaxes(categoryorder="array", categoryarray=order, tickmode="array", tickvals=order, ticktext=text,
                     automargin=True, **where)


def _row_values(frame: pd.DataFrame, column: str, unit: str) -> dict[str, str]:
    """"fp32 41 · bf16 81 samples/s" per row label: each precision's figure, in palette order."""
    out = {}
    for label, group in frame.groupby("row_label", sort=False):
        by = dict(zip(group["precision"], group[column]))
        out[label] = " · ".join(f"{p} {compact(by[p])}" for p in _precision_order(by) if _num(by[p]) is not None)
        out[label] += f" {unit}" if out[label] else ""
    return out


def value_axis(fig: go.Figure, title: str, log: bool, top: float | None = None, axis: str = "x",
               room: float = 1.12, **where) -> None:
    """A value axis: linear from zero (up to ``top`` × ``room``, leaving room for bar labels), or log
    (only when asked) with "log scale" in its title."""
    update = fig.update_xaxes if axis == "x" else fig.update_yaxes
    title = _wrap_words(title, 36)  # an axis title wider than a narrow plot is cut at both ends
    if log:
        update(type="log", title_text=f"{title} — log scale" if title else "log scale", autorange=True, **where)
    else:
        extent = [0, top * room] if top and top > 0 else None
        update(type="linear", title_text=title, rangemode="tozero", range=extent, autorange=extent is None,
               **where)


def _legend_below(fig: go.Figure) -> None:
    fig.update_layout(legend={"orientation": "h", "yref": "container", "y": 0.0, "yanchor": "bottom",
                              "xref": "paper", "x": 0, "xanchor": "left"})


def _style(fig: go.Figure, big: bool, height: int = 460) -> go.Figure:
    fig.update_layout(template="plotly_white", height=int(height * (1.35 if big else 1)),
                      font={"size": 22 if big else 13},
                      title={"x": 0.01, "xanchor": "left", "xref": "container", "y": 1, "yanchor": "top",
                             "yref": "container", "pad": {"t": 12}},
                      margin={"t": 60, "l": 10, "r": 30, "b": 10})
    _legend_below(fig)
    fig.update_xaxes(automargin=True)
    fig.update_yaxes(automargin=True)
    return fig


def _patterns(frame: pd.DataFrame) -> list[str]:
    return [ESTIMATED_PATTERN if kind == "estimated" else "" for kind in frame.get("energy_kind", [])]


def _bar_height(count: int, per_row: int = 34) -> int:
    return max(360, per_row * count + 200)


def _order_rows(frame: pd.DataFrame, column: str, ascending: bool = True) -> list[str]:
    """Row labels bottom to top: the row with the largest ``column`` (any precision) on top."""
    best = frame.groupby("row_label", sort=False)[column].max().sort_values(ascending=ascending, kind="stable")
    return list(best.index)


def _with_row_labels(frame: pd.DataFrame) -> pd.DataFrame:
    if "row_label" in frame:
        return frame
    return frame.assign(row_label=frame["config"] + " · " + frame["device_label"])


# --- speed ------------------------------------------------------------------------------------------

def _speed_lines(row) -> list[str]:
    repeats = int(row.get("repeats") or 1)
    emulated = " (emulated)" if row.get("precision_emulated") is True else ""
    first = f"<b>{row['device_label']}{_text(row.get('variant'))}</b> · {row['precision']}{emulated}"
    speed = f"{compact(row['samples_per_s'])} samples/s"
    if _num(row.get("tokens_per_s")):
        speed += f" · {compact(row['tokens_per_s'])} tokens/s"
    speed += f" (median of {repeats} run{'s' * (repeats != 1)})" if repeats > 1 else " (measured)"
    tflops = _num(row.get("achieved_tflops"))
    compute = (f"{tflops:.3g} TFLOP/s · MFU {_text(row.get('mfu_text')) or '—'}" if tflops is not None
               else "TFLOP/s: —")
    j = _num(row.get("j_per_sample"))
    energy = (f"energy: {j:.3g} J/sample ({row.get('energy_kind')}: {_text(row.get('energy_method')) or 'method —'})"
              if j is not None else f"energy: — ({_text(row.get('energy_missing')) or 'not measured'})"[:110])
    cv = _num(row.get("step_time_cv"))
    steadiness = f"step-time CV {percent(cv)}" if cv is not None else "step-time CV —"
    noisy = int(row.get("noisy_runs") or 0)
    if noisy:
        steadiness += f" · ⚠ noisy: {noisy} of {repeats} run{'s' * (repeats != 1)}"
    unsettled = int(row.get("unsettled_repeats") or 0)
    if unsettled:
        steadiness += f" · {unsettled} unsettled warm-up{'s' * (unsettled != 1)}"
    where = f"host {_text(row.get('host')) or '—'} · torch {_text(row.get('torch')) or '—'}"
    if row.get("latest_id"):
        where += f" · result {str(row['latest_id'])[:8]}"
    return [first, speed, compute, energy, steadiness, where]


MAX_RUN_POINTS = 60  # runs drawn beside one bar: every noisy one, then the newest


def _newest_runs(runs: pd.DataFrame) -> tuple[pd.DataFrame, bool]:
    """At most MAX_RUN_POINTS runs per bar (noisy ones first, then the newest), and whether any were left out."""
    ranked = runs.assign(_quiet=runs["noisy_reason"].isna()).sort_values(["_quiet", "created_at"],
                                                                         ascending=[True, False], kind="stable")
    kept = ranked.groupby(["row_label", "precision"], sort=False).head(MAX_RUN_POINTS).drop(columns="_quiet")
    return kept, len(kept) < len(runs)


def speed_chart(agg: pd.DataFrame, big: bool = False, runs: pd.DataFrame | None = None,
                log: bool = False) -> go.Figure:
    """Median throughput per device row (workload · device where several workloads are shown) and
    precision (colour), on a linear axis from zero (``log``: a log axis). ``runs`` (frames.repeat_runs)
    adds each repeated run as a point next to its median bar; noisy runs are crosses."""
    if agg.empty:
        return empty_figure("No successful results match the filters. Widen them, or run probes.", "Speed")
    frame = _with_row_labels(agg)
    shown = dict(zip(frame["row_label"], _display_labels(frame)))
    order = _order_rows(frame, "samples_per_s")
    fig = go.Figure()
    for precision in _precision_order(frame["precision"]):
        group = frame[frame["precision"] == precision]
        custom, template = _hover([_speed_lines(row) for row in group.to_dict("records")])
        fig.add_bar(y=group["row_label"], x=group["samples_per_s"], orientation="h", name=precision,
                    legendgroup=precision, offsetgroup=precision, marker_color=precision_color(precision),
                    customdata=custom, hovertemplate=template)
    top = frame["samples_per_s"].max()
    if runs is not None and not runs.empty:  # a single run is its own median: no point beside its bar
        runs = runs[runs["row_label"].isin(shown)]
        runs = runs[runs.groupby(["row_label", "precision"])["samples_per_s"].transform("size") > 1]
        runs, thinned = _newest_runs(runs)
    if runs is not None and not runs.empty:
        top = max(top, runs["samples_per_s"].max())
        legend_shown = set()
        for precision in _precision_order(runs["precision"]):
            for noisy, group in runs[runs["precision"] == precision].groupby(runs["noisy_reason"].notna(), sort=True):
                name = ("a run that was noisy (hover: why)" if noisy else
                        f"each run (bar: their median; the newest {MAX_RUN_POINTS} a bar)" if thinned else
                        "each run (bar: their median)")
                lines = [[f"<b>{shown.get(r['row_label'], r['row_label'])}</b> · {r['precision']}",
                          f"{compact(r['samples_per_s'])} samples/s, one run",
                          f"step-time CV {percent(_num(r.get('step_time_cv')))}",
                          (f"⚠ noisy: {r['noisy_reason']}"[:150] if noisy else "steady run"),
                          f"{_text(r.get('created_at'))[:16].replace('T', ' ')} · result {str(r.get('id', ''))[:8]}"]
                         for r in group.to_dict("records")]
                custom, template = _hover(lines)
                fig.add_scatter(y=group["row_label"], x=group["samples_per_s"], mode="markers", orientation="h",
                                offsetgroup=precision, legendgroup="noisy" if noisy else "runs", name=name,
                                showlegend=name not in legend_shown, customdata=custom, hovertemplate=template,
                                marker={"symbol": "x-thin-open" if noisy else "circle-open", "size": 9 if noisy else 7,
                                        "color": "#B00020" if noisy else INK, "line": {"width": 2 if noisy else 1.5}})
                legend_shown.add(name)
        fig.update_layout(scattermode="group")
    _category_axis(fig, order, shown, _row_values(frame, "samples_per_s", "samples/s"))
    workloads = sorted(frame["config"].unique()) if "config" in frame else []
    title = f"Speed: {workloads[0]}" if len(workloads) == 1 else "Speed: training throughput"
    value_axis(fig, "samples / s (measured)", log, top)
    fig.update_layout(title=title, barmode="group", bargap=0.25)
    return _style(fig, big, height=_bar_height(len(order), 50 if runs is not None else 44))


# --- accelerators: measured, published or projected, in one precision's colour -----------------------

def _kind_style(kind: str, color: str) -> dict:
    """Measured solid, published outlined, projected translucent (with its interval as error bars)."""
    if kind == "measured":
        return {"marker_color": color}
    if kind == "published":
        return {"marker_color": "rgba(255,255,255,0)", "marker_line_color": color, "marker_line_width": 2}
    r, g, b = (int(color[i:i + 2], 16) for i in (1, 3, 5))
    return {"marker_color": f"rgba({r},{g},{b},0.35)", "marker_line_color": color, "marker_line_width": 0.5}


def _interval(group: pd.DataFrame, column: str) -> dict:
    """Error bars from ``column``'s ``_low`` and ``_high`` columns: a projection's interval."""
    return {"type": "data", "symmetric": False, "color": INK, "array": group[f"{column}_high"] - group[column],
            "arrayminus": group[column] - group[f"{column}_low"]}


def _label_past_interval(fig: go.Figure, y, x_high, texts) -> None:
    """A projected bar's value label, placed past its interval's end instead of across its error bar."""
    fig.add_scatter(y=y, x=x_high, mode="text", text=["\u2002" + t for t in texts],  # clear of the error bar's cap
                    textposition="middle right", showlegend=False, hoverinfo="skip", cliponaxis=False,
                    name="bar labels")


def _precision_of(label: str, precision: str | None) -> str | None:
    """The precision given, else the last word of a "workload precision" label."""
    if precision:
        return precision
    last = str(label).split()[-1] if str(label).split() else ""
    return last if last in PRECISION_COLORS else None


def _times(value: float) -> str:
    return f"{value:,.0f}×" if value >= 10 else f"{value:,.1f}×"


def hardware_speedup_chart(frame: pd.DataFrame, baseline: dict | None, workload: str, big: bool = False,
                           log: bool = False, precision: str | None = None) -> go.Figure:
    """Every accelerator with a known throughput for the workload, × the measured CPU, in the
    precision's colour, drawn by where its figure came from: measured solid, published outlined,
    projected translucent with its interval as error bars. Linear from zero unless ``log``."""
    title = f"Speed-up over the CPU: {workload}"
    if baseline is None:
        return empty_figure(f"No CPU result for {workload} in the selection: measure the CPU on this workload "
                            "(Run probes, or python -m core probe) to compare accelerators with it.", title)
    have = frame.dropna(subset=["speedup"]).sort_values("speedup") if not frame.empty else frame
    if have.empty:
        return empty_figure(f"No accelerator has a measured, published or projected throughput for {workload}: "
                            "only the built-in references (data/references) and your own GPU results give one.",
                            title)
    color = precision_color(_precision_of(workload, precision))
    fig = go.Figure()
    for kind in ("measured", "published", "projected"):
        group = have[have["kind"] == kind]
        if group.empty:
            continue
        projected = kind == "projected"
        labels = [_times(v) for v in group["speedup"]]
        if projected:
            _label_past_interval(fig, group["accelerator"], group["speedup_high"], labels)
        lines = []
        for row in group.to_dict("records"):
            interval = (f"interval {_times(row['speedup_low'])}–{_times(row['speedup_high'])}"
                        if projected and _num(row.get("speedup_low")) else kind)
            lines.append([f"<b>{row['accelerator']}</b>: {_times(row['speedup'])} the CPU ({interval})",
                          f"{compact(row['samples_per_s'])} samples/s ({kind})",
                          f"CPU: {compact(baseline['samples_per_s'])} samples/s (measured)",
                          _text(row.get("source"))[:110] or "source —"])
        custom, template = _hover(lines)
        fig.add_bar(y=group["accelerator"], x=group["speedup"], orientation="h", name=KIND_LEGEND[kind],
                    error_x=_interval(group, "speedup") if projected else None,
                    text=None if projected else labels, textposition="outside", cliponaxis=False,
                    **_kind_style(kind, color), customdata=custom, hovertemplate=template)
    top = max(have["speedup"].max(), have["speedup_high"].max() if have["speedup_high"].notna().any() else 0)
    value_axis(fig, f"× the measured CPU ({baseline['label']}, {compact(baseline['samples_per_s'])} samples/s)",
               log, top, room=1.18)
    fig.update_yaxes(categoryorder="array", categoryarray=list(have["accelerator"]), automargin=True)
    fig.update_layout(title=title, barmode="overlay", showlegend=True)
    return _style(fig, big, height=_bar_height(len(have), 26))


def instance_cost_chart(frame: pd.DataFrame, workload: str, big: bool = False, log: bool = False,
                        precision: str | None = None) -> go.Figure:
    """$ per 1M samples on every priced instance, in the precision's colour; the bar's fill says where
    the throughput came from. Linear from zero unless ``log``."""
    priced = frame.dropna(subset=["usd_per_1m_samples"]).sort_values("usd_per_1m_samples", ascending=False)
    if priced.empty:
        return empty_figure("No instance of this sheet can be priced for this workload (reasons in the table below).",
                            "Every instance")
    color = precision_color(_precision_of(workload, precision))
    labels = priced["option"] + " · " + priced["accelerator_count"].astype(str) + "× " + priced["accelerator"]
    fig = go.Figure()
    for kind in ("measured", "published", "projected"):
        group = priced[priced["kind"] == kind]
        if group.empty:
            continue
        projected = kind == "projected"
        texts = [usd(v) for v in group["usd_per_1m_samples"]]
        if projected:
            _label_past_interval(fig, labels[group.index], group["usd_per_1m_samples_high"], texts)
        lines = []
        for row in group.to_dict("records"):
            interval = (f" (interval {usd(row['usd_per_1m_samples_low'])}–{usd(row['usd_per_1m_samples_high'])})"
                        if projected and _num(row.get("usd_per_1m_samples_low")) else "")
            lines.append([f"<b>{row['option']}</b> · {row['accelerator_count']}× {row['accelerator']}",
                          f"{usd(row['usd_per_1m_samples'])} per 1M samples{interval}",
                          f"{usd(row['usd_per_h'])}/h · {compact(row['samples_per_s_per_device'])} samples/s per "
                          f"device ({kind})",
                          _text(row.get("source"))[:110] or "source —"])
        custom, template = _hover(lines)
        fig.add_bar(y=labels[group.index], x=group["usd_per_1m_samples"], orientation="h", name=KIND_LEGEND[kind],
                    error_x=_interval(group, "usd_per_1m_samples") if projected else None,
                    text=None if projected else texts, textposition="outside", cliponaxis=False,
                    **_kind_style(kind, color), customdata=custom, hovertemplate=template)
    high = priced["usd_per_1m_samples_high"] if "usd_per_1m_samples_high" in priced else priced["usd_per_1m_samples"]
    top = max(priced["usd_per_1m_samples"].max(), high.max() if high.notna().any() else 0)
    value_axis(fig, "$ per 1M samples", log, top, room=1.22)
    _category_axis(fig, list(labels), {label: label for label in labels})  # cheapest on top
    fig.update_layout(title=f"Every instance of the sheet, priced for {workload}", barmode="overlay",
                      showlegend=True)
    return _style(fig, big, height=_bar_height(len(priced), 36))  # two-line row labels


# --- precision gain ---------------------------------------------------------------------------------

def precision_gain_chart(frame: pd.DataFrame, big: bool = False) -> go.Figure:
    """What a lower precision buys on one device: its throughput ÷ the same configuration's fp32
    (or tf32), measured here (solid) or from one published source (outlined), in the precision's colour."""
    if frame.empty:
        return empty_figure("No device in the selection has both fp32 and a lower precision of one configuration.",
                            "Precision gain")
    frame = frame.sort_values(["kind", "row"], ascending=False)
    fig = go.Figure()
    for (kind, precision), group in frame.groupby(["kind", "precision"], sort=False):
        lines = [[f"<b>{row['row']}</b>", f"{precision}: {row['gain']:.2f}× the throughput in {row['baseline_precision']}",
                  f"{kind}: {_text(row['source'])[:100]}"] for row in group.to_dict("records")]
        custom, template = _hover(lines)
        fig.add_bar(y=group["row"], x=group["gain"], orientation="h", name=f"{precision} · {kind}",
                    **_kind_style("measured" if kind == "measured" else "published", precision_color(precision)),
                    text=[f"{v:.2f}×" for v in group["gain"]], textposition="outside", cliponaxis=False,
                    customdata=custom, hovertemplate=template)
    fig.add_vline(x=1, line_dash="dot", line_color="#555")
    rows = list(dict.fromkeys(frame["row"]))
    _category_axis(fig, rows, {r: r for r in rows})
    value_axis(fig, "× its fp32 throughput (tf32 where a source has no fp32)", False, frame["gain"].max(),
               room=1.15)
    fig.update_layout(title="Precision gain: the same device, a lower precision", barmode="group")
    return _style(fig, big, height=_bar_height(len(rows), 40))


# --- efficiency -------------------------------------------------------------------------------------

EFFICIENCY_PANELS = (("j_per_1k_samples", "energy per 1k samples, J (lower is better)"),
                     ("samples_per_kj", "samples per kJ (higher is better)"),
                     ("avg_power_w", "average power, W"))


def efficiency_chart(agg: pd.DataFrame, big: bool = False, log: bool = False) -> go.Figure:
    """Energy per 1k samples, samples per kJ and average power (three panels, one above the other),
    one row per device (workload · device where several workloads are shown); estimated energy is
    hatched and configurations without energy are named. Linear axes from zero unless ``log``."""
    have = agg.dropna(subset=["j_per_sample"]) if not agg.empty else agg
    if have.empty:
        reason = ""
        if not agg.empty and agg["energy_missing"].notna().any():
            reason = f" ({agg['energy_missing'].dropna().iloc[0]})"
        return empty_figure(f"No energy readings in the selection{reason}.", "Efficiency")
    have = _with_row_labels(have)
    shown = dict(zip(have["row_label"], _display_labels(have)))
    order = _order_rows(have, "samples_per_kj")
    fig = make_subplots(rows=3, cols=1, shared_xaxes=False, vertical_spacing=0.12,
                        subplot_titles=[title for _, title in EFFICIENCY_PANELS])
    for precision in _precision_order(have["precision"]):
        group = have[have["precision"] == precision]
        base_lines = [_speed_lines(row) for row in group.to_dict("records")]
        for panel, (column, title) in enumerate(EFFICIENCY_PANELS, start=1):
            unit = {"j_per_1k_samples": "J per 1k samples", "samples_per_kj": "samples per kJ",
                    "avg_power_w": "W average power"}[column]
            lines = [[lines[0], f"{_num(value):.4g} {unit}" if _num(value) is not None else f"— {unit}", lines[3],
                      lines[1], lines[5]] for lines, value in zip(base_lines, group[column])]
            custom, template = _hover(lines)
            fig.add_bar(y=group["row_label"], x=group[column], orientation="h", name=precision,
                        legendgroup=precision, showlegend=False, marker_color=precision_color(precision),
                        marker_pattern_shape=_patterns(group), customdata=custom, hovertemplate=template,
                        row=panel, col=1)
    for panel, (column, _) in enumerate(EFFICIENCY_PANELS, start=1):
        value_axis(fig, "", log and column != "avg_power_w", have[column].max(), row=panel, col=1)
        _category_axis(fig, order, shown, row=panel, col=1)
    _precision_legend(fig, have["precision"])
    _legend_estimated(fig, have)
    missing = agg[agg["j_per_sample"].isna()]
    if not missing.empty:
        names = ", ".join(sorted(set(_display_labels(_with_row_labels(missing)))))[:160]
        fig.add_annotation(text=wrap(f"No energy for: {names}", 70), x=0, y=-0.02, xref="paper", yref="paper",
                           yanchor="top", showarrow=False, align="left", xanchor="left")
    workloads = sorted(agg["config"].unique())
    title = f"Efficiency: {workloads[0]}" if len(workloads) == 1 else "Efficiency: energy per unit of work"
    if log:
        title += " (energy panels: log scale)"
    fig.update_layout(title=title, barmode="group")
    return _style(fig, big, height=3 * (38 * len(order) + 90) + 170)


def _precision_legend(fig: go.Figure, precisions) -> None:
    """One solid legend swatch per precision (the bars themselves stay out of the legend: a hatched
    first bar would make its precision's swatch look estimated)."""
    for precision in _precision_order(precisions):
        fig.add_bar(x=[None], y=[None], name=precision, legendgroup=precision, marker_color=precision_color(precision),
                    showlegend=True, hoverinfo="skip")


def _legend_estimated(fig: go.Figure, frame: pd.DataFrame) -> None:
    kinds = set(frame["energy_kind"].dropna())
    if "estimated" in kinds:
        fig.add_bar(x=[None], y=[None], name="hatched = estimated energy (model, not a meter)",
                    marker_color="white", marker_line_color="#555", marker_line_width=1,
                    marker_pattern_shape=ESTIMATED_PATTERN, showlegend=True, hoverinfo="skip")
    if "measured" in kinds:
        fig.add_bar(x=[None], y=[None], name="solid = measured energy (NVML/RAPL)", marker_color="#999",
                    showlegend=True, hoverinfo="skip")


# --- cost -------------------------------------------------------------------------------------------

def _option_label(row: dict, several_workloads: bool) -> str:
    label = row["option"] + (" · spot" if row.get("kind") == "spot" else "")
    if several_workloads:
        label += f" · {row['config']}"
    return label + _text(row.get("variant"))


def cost_chart(costs: pd.DataFrame, missing: pd.DataFrame | None = None, big: bool = False,
               log: bool = False) -> go.Figure:
    """$ per 1M samples on each matching cloud instance and on own hardware, one row per option, one
    bar per precision (its colour); own hardware with estimated energy hatched. Linear from zero
    unless ``log``."""
    if costs.empty:
        reason = "; ".join(sorted(set(missing["reason"])))[:200] if missing is not None and not missing.empty else ""
        return empty_figure(f"No price for the selection. {reason}", "Cost")
    several = costs["config"].nunique() > 1
    frame = costs.assign(row_label=[_option_label(row, several) for row in costs.to_dict("records")])
    order = _order_rows(frame.assign(_cheap=-frame["usd_per_1m_samples"]), "_cheap")  # cheapest on top
    fig = go.Figure()
    for precision in _precision_order(frame["precision"]):
        group = frame[frame["precision"] == precision]
        lines = [[f"<b>{row['option']}</b> · {precision} · {row['kind']}",
                  f"{usd(row['usd_per_1m_samples'])} per 1M samples",
                  f"{usd(row['usd_per_h'])}/h · {compact(row['samples_per_s'])} samples/s (measured)",
                  f"device: {row['device_label']}{_text(row.get('variant'))}",
                  (f"price retrieved {row['retrieved_on']}" if _text(row.get("retrieved_on")) else
                   _text(row.get("basis"))[:110] or "basis —")] for row in group.to_dict("records")]
        custom, template = _hover(lines)
        own = group["kind"] == "own"
        fig.add_bar(y=group["row_label"], x=group["usd_per_1m_samples"], orientation="h", name=precision,
                    offsetgroup=precision, marker_color=precision_color(precision), showlegend=False,
                    marker_pattern_shape=[ESTIMATED_PATTERN if o and e == "estimated" else ""
                                          for o, e in zip(own, group["energy_kind"])],
                    text=[usd(v) for v in group["usd_per_1m_samples"]], textposition="outside", cliponaxis=False,
                    customdata=custom, hovertemplate=template)
    _precision_legend(fig, frame["precision"])
    if ((frame["kind"] == "own") & (frame["energy_kind"] == "estimated")).any():
        fig.add_bar(x=[None], y=[None], name="hatched = own hardware, estimated energy", marker_color="white",
                    marker_line_color="#555", marker_line_width=1, marker_pattern_shape=ESTIMATED_PATTERN,
                    hoverinfo="skip")
    _category_axis(fig, order, {label: label for label in order})
    value_axis(fig, "$ per 1M samples", log, frame["usd_per_1m_samples"].max(),
               room=1.25)
    workloads = sorted(frame["config"].unique())
    fig.update_layout(title=f"Cost: $ per 1M training samples{'' if several else ' · ' + workloads[0]}",
                      barmode="group", bargap=0.25)
    return _style(fig, big, height=_bar_height(len(order), 40 if frame["precision"].nunique() > 1 else 28))


# --- trade-off --------------------------------------------------------------------------------------

TRADEOFF_PLOT_W = 360  # px: the narrowest plot area it is laid out for (an 800 px window beside the sidebar)
MARKER_PX = 10
CHAR_PX = 0.6  # average character width ÷ font size


def _time_unit(seconds: pd.Series) -> tuple[float, str]:
    longest = seconds.max()
    if longest >= 2 * 3600:
        return 3600.0, "hours"
    if longest >= 120:
        return 60.0, "minutes"
    return 1.0, "seconds"


def _short_option(option: str) -> str:
    """"aws c7i.large (us-east-1)" -> "aws c7i.large"; "own AMD EPYC · … [cpu]" -> "own hardware"."""
    if option.startswith("own "):
        return "own hardware"
    return option.split(" (")[0]


def separate_points(points: list[tuple[float, float]], min_px: float) -> list[tuple[float, float]]:
    """Points (pixels, y up) moved apart vertically, as little as needed, so that no two are closer
    than ``min_px`` on both axes: the ones on top move up. A pure helper of the trade-off chart."""
    order = sorted(range(len(points)), key=lambda i: (points[i][1], points[i][0]))
    placed: list[tuple[float, float]] = [(0.0, 0.0)] * len(points)
    done: list[int] = []
    for i in order:
        x, y = points[i]
        moved = True
        while moved:
            moved = False
            for j in done:
                px, py = placed[j]
                if abs(px - x) < min_px and abs(py - y) < min_px - 1e-6:  # (rounding: py + min_px is clear)
                    y = py + min_px
                    moved = True
        placed[i] = (x, y)
        done.append(i)
    return placed


def place_labels(points: list[tuple[float, float]], texts: list[str], width: float, height: float,
                 font_px: float, marker_px: float = MARKER_PX, line: list[tuple[float, float]] = (),
                 stretches: tuple[float, ...] = (1.0, 5.0)) -> list[tuple[float, float, str] | None]:
    """For each point (pixels, y up, inside width × height) a label position — (x shift, y shift,
    anchor) — beside it (right, left, above, below) that overlaps no marker, no other label, not the
    polyline ``line`` (the frontier) and stays inside the plot; None where none fits (the hover still
    names it). Earlier points are placed first. The plot may be drawn wider than ``width`` (a wider
    window): markers then move apart, but a line between them gets flatter, so every position is
    checked with the x axis stretched by each of ``stretches`` too."""
    half, gap, tall = marker_px / 2, marker_px / 2 + 3, font_px * 1.25

    def dots(k: float) -> list[tuple]:
        out = [(x * k - half, y - half, x * k + half, y + half) for x, y in points]
        for (x0, y0), (x1, y1) in zip(line, line[1:]):  # the line as a chain of small boxes, every 3 px
            steps = max(1, int(math.hypot((x1 - x0) * k, y1 - y0) / 3))
            out += [((x0 + (x1 - x0) * j / steps) * k - 1, y0 + (y1 - y0) * j / steps - 1,
                     (x0 + (x1 - x0) * j / steps) * k + 1, y0 + (y1 - y0) * j / steps + 1) for j in range(steps + 1)]
        return out

    obstacles = {k: dots(k) for k in stretches}
    placements: list[tuple[float, float, str] | None] = []
    for (x, y), text in zip(points, texts):
        w = len(text) * font_px * CHAR_PX + 4
        chosen = None
        for dx, dy, anchor in ((gap, 0.0, "left"), (-gap, 0.0, "right"), (0.0, gap + tall / 2, "center"),
                               (0.0, -gap - tall / 2, "center")):
            offset = dx if anchor == "left" else dx - w if anchor == "right" else -w / 2
            boxes = {k: (x * k + offset, y + dy - tall / 2, x * k + offset + w, y + dy + tall / 2) for k in stretches}
            first = boxes[stretches[0]]
            inside = first[0] >= 0 and first[2] <= width and first[1] >= 0 and first[3] <= height
            if inside and not any(overlap(boxes[k], other) for k in stretches for other in obstacles[k]):
                chosen = (dx, dy, anchor)
                for k in stretches:  # a placed label blocks the later ones
                    obstacles[k].append(boxes[k])
                break
        placements.append(chosen)
    return placements


def overlap(a: tuple, b: tuple) -> bool:
    """Whether two (left, bottom, right, top) boxes overlap (touching is not overlapping)."""
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _axis_map(values: pd.Series, log: bool, pad: float) -> tuple[list[float], callable]:
    """(axis range, value -> 0..1 along it) for a linear-from-zero or log axis."""
    if log:
        low, high = math.log10(values.min()), math.log10(values.max())
        span = max(high - low, 0.3)
        extent = [low - pad * span, high + pad * span]
        return extent, lambda v: (math.log10(v) - extent[0]) / (extent[1] - extent[0])
    extent = [0.0, values.max() * (1 + pad) if values.max() > 0 else 1.0]
    return extent, lambda v: v / extent[1]


def tradeoff_chart(costs: pd.DataFrame, big: bool = False, log: bool = False) -> go.Figure:
    """Time vs cost per 1M samples: one marker per option and precision (colour = precision, shape =
    device), the Pareto frontier drawn and named; direct labels where they fit without overlapping.
    Linear axes from zero unless ``log``. Markers that would overlap are moved apart vertically (a
    note says by how much); hover gives the exact figures."""
    if costs.empty:
        return empty_figure("No priced results to trade off: pick a price sheet with the selected devices.",
                            "Trade-off")
    frame = costs.reset_index(drop=True)
    divisor, unit = _time_unit(frame["seconds_per_1m_samples"])
    frame["time"] = frame["seconds_per_1m_samples"] / divisor
    frame["front"] = pareto_mask(frame["time"], frame["usd_per_1m_samples"])
    font_px = 22 if big else 12
    height = int(540 * (1.35 if big else 1))
    plot_h = height - 95 - 190  # margins: title and note above; axis title and legend below
    x_range, x_at = _axis_map(frame["time"], log, 0.12)
    y_range, y_at = _axis_map(frame["usd_per_1m_samples"], log, 0.15)
    pixels = [(x_at(t) * TRADEOFF_PLOT_W, y_at(c) * plot_h) for t, c in zip(frame["time"], frame["usd_per_1m_samples"])]
    moved = separate_points(pixels, MARKER_PX + 1)
    nudged_px = max((abs(m[1] - p[1]) for m, p in zip(moved, pixels)), default=0.0)

    def y_back(px: float) -> float:
        share = px / plot_h
        value = y_range[0] + share * (y_range[1] - y_range[0])
        return 10 ** value if log else value

    frame["y_drawn"] = [y_back(m[1]) for m in moved]
    devices = list(dict.fromkeys(frame["device_label"]))
    fig = go.Figure()
    for (device, precision), group in frame.groupby(["device_label", "precision"], sort=False):
        lines = [[f"<b>{row['option']}</b> · {precision} · {row['kind']}",
                  f"{usd(row['usd_per_1m_samples'])} per 1M samples ({usd(row['usd_per_h'])}/h)",
                  f"{duration_h(row['seconds_per_1m_samples'] / 3600)} per 1M samples "
                  f"({compact(row['samples_per_s'])} samples/s, measured)",
                  (f"energy: {row['j_per_sample']:.3g} J/sample ({row['energy_kind']})"
                   if _num(row.get("j_per_sample")) is not None else "energy: — (not measured)"),
                  f"{device}{_text(row.get('variant'))}" + (" · on the Pareto frontier" if row["front"] else "")]
                 for row in group.to_dict("records")]
        custom, template = _hover(lines)
        fig.add_scatter(x=group["time"], y=group["y_drawn"], mode="markers", name=f"{device} · {precision}",
                        marker={"size": MARKER_PX, "color": precision_color(precision),
                                "symbol": DEVICE_SYMBOLS[devices.index(device) % len(DEVICE_SYMBOLS)],
                                "line": {"width": 1, "color": "white"}},
                        customdata=custom, hovertemplate=template)
    front = frame[frame["front"]].sort_values("time")
    fig.add_scatter(x=front["time"], y=front["y_drawn"], mode="lines", hoverinfo="skip",
                    name="Pareto frontier: no option is both faster and cheaper",
                    line={"dash": "dash", "color": INK, "width": 1.5})
    # direct labels: the frontier's first, then the cheapest; those that would overlap are left to the hover
    texts = [f"{_short_option(o)}" for o in frame["option"]]
    priority = sorted(range(len(frame)), key=lambda i: (not frame["front"][i], frame["usd_per_1m_samples"][i]))
    frontier = sorted((moved[i] for i in range(len(frame)) if frame["front"][i]), key=lambda p: p[0])
    placements = place_labels([moved[i] for i in priority], [texts[i] for i in priority], TRADEOFF_PLOT_W,
                              plot_h, font_px, line=frontier)
    unlabelled = 0
    for i, placement in zip(priority, placements):
        if placement is None:
            unlabelled += 1
            continue
        dx, dy, anchor = placement
        x = math.log10(frame["time"][i]) if log else frame["time"][i]
        y = math.log10(frame["y_drawn"][i]) if log else frame["y_drawn"][i]
        fig.add_annotation(x=x, y=y, text=texts[i], showarrow=False, xshift=dx, yshift=dy, xanchor=anchor,
                           yanchor="middle", font={"size": font_px, "color": INK})
    notes = []
    if nudged_px >= 1:
        notes.append(f"Overlapping markers moved apart vertically (≤ {nudged_px:.0f} px).")
    if unlabelled:
        notes.append(f"{unlabelled} label{'s' * (unlabelled != 1)} left out to avoid overlap.")
    if notes:
        fig.add_annotation(text=_wrap_words(" ".join(notes) + " Hover a marker for its exact figures.", 60),
                           x=0, y=1.0, xref="paper", yref="paper", yanchor="bottom", xanchor="left", yshift=4,
                           showarrow=False, align="left", font={"size": max(font_px - 1, 10), "color": "#555"})
    axis = "log scale" if log else None
    fig.update_xaxes(title_text=f"{unit} per 1M samples (lower is faster)" + (f" — {axis}" if axis else ""),
                     type="log" if log else "linear", range=x_range, autorange=False, automargin=True)
    fig.update_yaxes(title_text="$ per 1M samples" + (f" — {axis}" if axis else ""), type="log" if log else "linear",
                     range=y_range, autorange=False, tickprefix="$", automargin=True)
    workloads = sorted(frame["config"].unique())
    fig.update_layout(title=f"Trade-off: time vs cost · {', '.join(workloads)}", height=height)
    _style(fig, big, height=540)
    fig.update_layout(margin={"t": 95, "l": 10, "r": 30, "b": 10})
    return fig


# --- carbon -----------------------------------------------------------------------------------------

def carbon_chart(carbon_rows: pd.DataFrame, big: bool = False, log: bool = False) -> go.Figure:
    """g CO2e per 1M samples by grid region (rows, the user's own first), one bar per device ·
    precision (the precision's colour, lighter for a second device); estimated energy hatched. Linear
    from zero unless ``log``."""
    if carbon_rows.empty:
        return empty_figure("No energy readings in the selection, so no CO2 figure.", "Carbon")
    fig = go.Figure()
    several = carbon_rows["config"].nunique() > 1
    rows = carbon_rows.assign(series=carbon_rows["device_label"] + " · " + carbon_rows["precision"]
                              + ((" · " + carbon_rows["config"]) if several else ""))
    devices = list(dict.fromkeys(rows["device_label"]))
    series_order = (rows.drop_duplicates("series")
                    .assign(_p=lambda f: [PRECISION_ORDER.index(p) if p in PRECISION_ORDER else 9 for p in f["precision"]],
                            _d=lambda f: [devices.index(d) for d in f["device_label"]])
                    .sort_values(["_p", "_d"])["series"].tolist())
    for series in series_order:
        group = rows[rows["series"] == series]
        precision, device = group["precision"].iloc[0], group["device_label"].iloc[0]
        lines = [[f"<b>{series}</b>", f"{row['g_co2_per_1m_samples']:.4g} g CO2e per 1M samples",
                  f"grid: {row['region']}, {row['g_co2_per_kwh']:.4g} g CO2e/kWh",
                  f"energy: {row['energy_kind'] or '—'}"] for row in group.to_dict("records")]
        custom, template = _hover(lines)
        fig.add_bar(y=group["region"], x=group["g_co2_per_1m_samples"], orientation="h", name=series,
                    marker_color=precision_color(precision, devices.index(device)),
                    marker_pattern_shape=_patterns(group), customdata=custom, hovertemplate=template)
    _legend_estimated(fig, rows)
    regions = list(dict.fromkeys(rows["region"]))
    _category_axis(fig, list(reversed(regions)), {r: r for r in regions})  # the user's grid on top
    value_axis(fig, "g CO2e per 1M samples", log, rows["g_co2_per_1m_samples"].max())
    workloads = sorted(rows["config"].unique())
    fig.update_layout(title=f"Carbon by grid region · {workloads[0]}" if not several else "Carbon by grid region",
                      barmode="group", bargap=0.2)
    return _style(fig, big, height=_bar_height(len(regions), 14 * len(series_order) + 22))


# --- your model -------------------------------------------------------------------------------------

MEMORY_COLORS = ["#54A24B", "#B279A2", "#9D755D", "#BAB0AC"]  # not precision colours: these are memory parts


def memory_breakdown_chart(parts: list[tuple[str, float]], peak_gb: float, title: str, big: bool = False) -> go.Figure:
    """One stacked bar: what holds a training step's memory (estimated), in GB."""
    fig = go.Figure()
    for (label, gb), color in zip(parts, MEMORY_COLORS):
        fig.add_bar(y=["training step"], x=[gb], orientation="h", name=f"{label}: {gb:,.2f} GB", marker_color=color,
                    hovertemplate=f"{label}: %{{x:,.2f}} GB (estimated)<extra></extra>")
    fig.update_xaxes(title_text=f"GB at the step's peak ({peak_gb:,.2f} GB, estimated)", rangemode="tozero")
    fig.update_layout(title=title, barmode="stack", showlegend=True)
    _style(fig, big, height=330)
    return fig


# --- inference, serving cost, time to quality (issue 15) ------------------------------------------

def _series_dash(compiled: bool) -> str:
    return "dot" if compiled else "solid"


def inference_chart(rows: pd.DataFrame, bound_ms: float | None = None, big: bool = False,
                    log: bool = True) -> go.Figure:
    """Latency per request (p99, ms) against throughput (inferences/s), one line per device,
    precision and eager/compiled, a point per batch size labelled with it; the p99 bound as a dashed
    line. Repeats of one configuration are their medians. The throughput axis is logarithmic by
    default (batch 1 and batch 256 differ ~100×) and says so; latency is linear from zero."""
    ok = rows[(rows["status"] == "ok") & rows["step_time_p99_s"].notna()] if not rows.empty else rows
    if ok.empty:
        return empty_figure("No inference results in the selection: run `python -m core probe --mode infer "
                            "--batch 1,8,64`, or the Run page's inference plan.", "Inference")
    keys = ["workload", "size", "device_label", "precision", "compile", "batch_size"]
    grouped = (ok.assign(compile=ok["compile"].astype(bool))
               .groupby(keys, observed=True, dropna=False)
               .agg(p50=("step_time_s", "median"), p90=("step_time_p90_s", "median"),
                    p99=("step_time_p99_s", "median"), rate=("samples_per_s", "median"),
                    j=("j_per_sample", "median"), runs=("id", "size"), batches=("steps", "min"))
               .reset_index().sort_values("batch_size"))
    fig = go.Figure()
    devices = list(dict.fromkeys(grouped["device_label"]))
    for (device, precision, compiled), series in grouped.groupby(["device_label", "precision", "compile"],
                                                                  sort=True, observed=True):
        lines = [[f"<b>{device}</b> · {precision} · {'compiled' if compiled else 'eager'}",
                  f"batch {int(r.batch_size)} · {compact(r.rate)} inferences/s",
                  f"latency p50 {r.p50 * 1e3:.3g} · p90 {r.p90 * 1e3:.3g} · p99 {r.p99 * 1e3:.3g} ms"
                  f" (of {int(r.batches):,} batches)",
                  f"{r.j * 1e3:.3g} J per 1,000 inferences" if _num(r.j) is not None else "energy: —",
                  f"{int(r.runs)} run{'s' * (r.runs != 1)} (median)" if r.runs > 1 else "1 run (measured)"]
                 for r in series.itertuples()]
        custom, template = _hover(lines)
        fig.add_scatter(x=series["rate"], y=series["p99"] * 1e3, mode="lines+markers+text",
                        name=f"{device} · {precision} · {'compiled' if compiled else 'eager'}",
                        text=[f"batch {int(b)}" for b in series["batch_size"]], textposition="top center",
                        line={"color": precision_color(precision), "dash": _series_dash(compiled), "width": 2},
                        marker={"size": 11, "color": precision_color(precision),
                                "symbol": DEVICE_SYMBOLS[devices.index(device) % len(DEVICE_SYMBOLS)]},
                        customdata=custom, hovertemplate=template)
    top = float(grouped["p99"].max() * 1e3)
    if bound_ms:
        fig.add_hline(y=bound_ms, line_dash="dash", line_color=INK,
                      annotation_text=f"p99 bound {bound_ms:g} ms", annotation_position="top left")
        top = max(top, bound_ms)
    if log:
        fig.update_xaxes(type="log", dtick=1, title_text="throughput (inferences/s) — log scale")  # decades only
    else:
        fig.update_xaxes(type="linear", title_text="throughput (inferences/s)", rangemode="tozero")
    fig.update_yaxes(title_text="latency per request, p99 (ms)", rangemode="tozero", range=[0, top * 1.25])
    workloads = sorted(set(config_of(grouped)))
    fig.update_layout(title=f"Inference: {', '.join(workloads)} — latency against throughput, by batch size")
    return _style(fig, big, height=520)


def serving_cost_chart(options: list, target_text: str, big: bool = False, log: bool = False,
                       limit: int = 12) -> go.Figure:
    """$ per 1M inferences of the cheapest ways to meet the target (core.views.serving options),
    cheapest on top, each bar labelled with its replicas and worst-case latency."""
    if not options:
        return empty_figure(f"Nothing measured or published meets {target_text}: see why below.", "Serving cost")
    shown = options[:limit]
    labels = [wrap(f"{_short_option(o.option)} · {o.configuration.split(' · ', 1)[1]}", 44) for o in shown]
    fig = go.Figure()
    series = [(p, e) for p in _precision_order([o.precision for o in shown]) for e in ("measured", "published")]
    for precision, evidence in series:
        picked = [(label, o) for label, o in zip(labels, shown) if (o.precision, o.evidence) == (precision, evidence)]
        if not picked:
            continue
        lines = [[f"<b>{o.option}</b> ({o.kind})", o.configuration,
                  f"{o.replicas} replica{'s' * (o.replicas != 1)} · {usd(o.usd_per_h)}/h",
                  f"worst latency {o.worst_latency_ms:.3g} ms" + (" (batch p99 + fill wait)" if evidence == "measured"
                                                                   else " (the benchmark's p99 bound)"),
                  f"{usd(o.usd_per_1m_inferences)} per 1M inferences ({evidence})"] for _, o in picked]
        custom, template = _hover(lines)
        color = precision_color(precision)
        style = ({"marker_color": color} if evidence == "measured" else  # published: outlined, as elsewhere
                 {"marker_color": "rgba(255,255,255,0)", "marker_line_color": color, "marker_line_width": 2})
        fig.add_bar(y=[label for label, _ in picked], x=[o.usd_per_1m_inferences for _, o in picked],
                    orientation="h", name=f"{precision} ({KIND_LEGEND[evidence]})", **style,
                    text=[f"{usd(o.usd_per_1m_inferences)} · {o.replicas} replica{'s' * (o.replicas != 1)}"
                          for _, o in picked],
                    textposition="outside", cliponaxis=False, customdata=custom, hovertemplate=template)
    fig.update_yaxes(categoryorder="array", categoryarray=list(reversed(labels)), title_text="")
    value_axis(fig, "$ per 1M inferences at the target rate", log, max(o.usd_per_1m_inferences for o in shown),
               room=1.35)
    more = f" (cheapest {limit} of {len(options)})" if len(options) > limit else ""
    fig.update_layout(title=f"Serving cost: {target_text}{more}")
    return _style(fig, big, height=_bar_height(len(shown), per_row=46))


def time_to_quality_chart(curves: list[dict], target_loss: float | None, big: bool = False,
                          log: bool = True) -> go.Figure:
    """Smoothed training loss against wall-clock time, one curve per device and precision (the same
    learning curve, compressed from a CPU's minutes to an accelerator's seconds); where the target was
    reached, a marker. Projected curves are dashed and say so. ``curves``: dicts with label,
    precision, kind (measured | projected), points [(step, seconds, loss)], reached_s, basis."""
    drawn = [c for c in curves if c["points"]]
    if not drawn:
        return empty_figure("No time-to-target results for this workload: run `python -m core probe --mode "
                            "converge --target-loss 0.05`.", "Time to quality")
    fig = go.Figure()
    for curve in drawn:
        steps, seconds, losses = zip(*curve["points"])
        projected = curve["kind"] == "projected"
        lines = [[f"<b>{curve['label']}</b> · {curve['precision']}" + (" (projected)" if projected else ""),
                  f"step {step:,} at {duration_h(s / 3600)}", f"smoothed loss {loss:.4g}", curve["basis"][:110]]
                 for step, s, loss in curve["points"]]
        custom, template = _hover(lines)
        fig.add_scatter(x=seconds, y=losses, mode="lines", customdata=custom, hovertemplate=template,
                        name=f"{curve['label']} · {curve['precision']}" + (" (projected)" if projected else ""),
                        line={"color": precision_color(curve["precision"], curve.get("shade", 0)),
                              "dash": "dash" if projected else "solid", "width": 3})
        if curve.get("reached_s"):
            fig.add_scatter(x=[curve["reached_s"]], y=[target_loss], mode="markers", showlegend=False,
                            marker={"size": 12, "color": precision_color(curve["precision"], curve.get("shade", 0)),
                                    "symbol": "diamond-open" if projected else "diamond",
                                    "line": {"width": 2, "color": INK}},
                            hovertemplate=f"{curve['label']} · {curve['precision']}: target at "
                                          f"{duration_h(curve['reached_s'] / 3600)}<extra></extra>")
    if target_loss:
        fig.add_hline(y=target_loss, line_dash="dash", line_color=INK,
                      annotation_text=f"target loss {target_loss:g}", annotation_position="top right")
    if log:
        fig.update_xaxes(type="log", dtick=1, title_text="wall-clock time (s) — log scale")
    else:
        fig.update_xaxes(type="linear", title_text="wall-clock time (s)", rangemode="tozero")
    fig.update_yaxes(title_text="training loss (smoothed)", rangemode="tozero")
    fig.update_layout(title="Time to quality: the same learning curve on each device")
    return _style(fig, big, height=520)


def scaling_chart(frame: pd.DataFrame, big: bool = False) -> go.Figure:
    """Throughput against devices, one line per scaling run with its ideal (dashed) and efficiency
    labels (top); $ per 1M samples at each size (bottom): linear axes from zero."""
    fig = make_subplots(rows=2, cols=1, vertical_spacing=0.18, row_heights=[0.62, 0.38],
                        subplot_titles=["Throughput (samples/s) against devices", "$ per 1M samples at each size"])
    for index, (name, series) in enumerate(frame.groupby("series", sort=True)):
        color = precision_color(series["precision"].iloc[0], index)
        lines = [[f"<b>{name}</b>", f"{int(r.world_size)} device{'s' * (r.world_size != 1)}: "
                  f"{compact(r.samples_per_s)} samples/s ({compact(r.per_device_samples_per_s)} per device)",
                  f"efficiency {percent(r.scaling_efficiency) if _num(r.scaling_efficiency) is not None else '—'}"
                  f" · exposed communication {percent(r.comm_share) if _num(r.comm_share) is not None else '—'}",
                  f"{usd(r.usd_per_1m_samples)} per 1M samples" if _num(r.usd_per_1m_samples) is not None
                  else f"no price: {_text(r.why_no_price)}"[:100], _text(r.interconnect)]
                 for r in series.itertuples()]
        custom, template = _hover(lines)
        fig.add_scatter(x=series["world_size"].tolist(), y=series["samples_per_s"].tolist(), mode="lines+markers+text",
                        name=name,
                        text=[percent(e) if _num(e) is not None else "" for e in series["scaling_efficiency"]],
                        textposition="top center", line={"color": color, "width": 3}, marker={"size": 10},
                        customdata=custom, hovertemplate=template, row=1, col=1)
        if series["ideal_samples_per_s"].notna().any():
            fig.add_scatter(x=series["world_size"].tolist(), y=series["ideal_samples_per_s"].tolist(), mode="lines",
                            showlegend=False,
                            line={"color": color, "dash": "dash", "width": 1.5}, hoverinfo="skip", row=1, col=1)
        priced = series.dropna(subset=["usd_per_1m_samples"])
        if not priced.empty:
            fig.add_bar(x=priced["world_size"].tolist(), y=priced["usd_per_1m_samples"].tolist(), name=name,
                        showlegend=False,
                        marker_color=color, text=[usd(v) for v in priced["usd_per_1m_samples"]],
                        textposition="outside", cliponaxis=False, customdata=custom, hovertemplate=template,
                        row=2, col=1)
    ticks = sorted(int(n) for n in frame["world_size"].unique())
    fig.update_xaxes(tickvals=ticks, title_text="devices (world size)", range=[min(ticks) - 0.5, max(ticks) + 0.5])
    ideal = frame["ideal_samples_per_s"].max(skipna=True)
    top = float(max(frame["samples_per_s"].max(), 0 if pd.isna(ideal) else ideal))
    value_axis(fig, "samples/s", False, top, axis="y", room=1.2, row=1, col=1)
    value_axis(fig, "$ per 1M samples", False, frame["usd_per_1m_samples"].max(skipna=True), axis="y", room=1.3,
               row=2, col=1)
    fig.update_yaxes(tickformat="$.2~r", row=2, col=1)  # dollars, not SI prefixes ("200µ")
    workloads = sorted(set(config_of(frame)))
    fig.update_layout(title=f"Scaling: {', '.join(workloads)} — dashed: ideal (n × one device)", barmode="group")
    return _style(fig, big, height=720)
