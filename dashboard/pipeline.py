"""The cached data pipeline behind every page: filter options, the analysis of the selection, its
figures, and its cost and carbon under the session's settings. No widgets here (see widgets.py)."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from core.errors import InvalidCostSettings
from core.facts.summary import CONVERGE, INFER, SCALE, TRAIN
from core.views import cost, pricing
from dashboard import charts, data, frames, state
from dashboard.fmt import plain

COMPARISON_REGIONS = ("FRA", "SWE", "USA", "DEU", "POL", "IND", "CHN")


def comparison_regions() -> list[str]:
    """The user's grid region first, then a fixed spread of clean to carbon-heavy grids."""
    return list(dict.fromkeys([st.session_state[state.REGION], *COMPARISON_REGIONS]))


ROW_FILTERS = ("run_id", "launch_id")  # filters the per-configuration summaries cannot answer: rows are read
FAILED_COLUMNS = ["workload", "size", "precision", "device_label", "status", "error", "created_at"]
FAILED_SHOWN = 200  # the newest failed probes of a selection listed


@st.cache_resource(show_spinner=False, max_entries=8)
def filter_options(url: str, stamp: tuple, sample_stamp: tuple) -> dict[str, tuple[str, ...]]:
    """The values each filter offers, from the summaries of every scope (a device measured for
    inference only is a choice too), the store's run ids and the fleet launches."""
    found = data.loaded(url, stamp, sample_stamp)
    options = {key: tuple(sorted(found.configs[key].dropna().astype(str).unique().tolist()))
               for key in state.FILTER_KEYS if key in found.configs}
    return {**options, "run_id": found.run_ids, "launch_id": found.launches}


@st.cache_data(show_spinner=False, max_entries=64)
def analysis(url: str, stamp: tuple, sample_stamp: tuple, filters: tuple) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """(aggregated training configurations with speed-up, the newest failed results, number of matching
    results). From the summaries; a selection of runs or launches from those rows (still aggregated
    with their machines' noise floors of all results)."""
    found = data.loaded(url, stamp, sample_stamp)
    chosen = {key: values for key, values in filters if values}
    if any(key in chosen for key in ROW_FILTERS):
        rows = data.rows_frame(where=chosen, scope=TRAIN)
        agg = frames.aggregate(rows, found.floors)
        failed = rows[rows["status"] != "ok"].sort_values("created_at", ascending=False).head(FAILED_SHOWN)
        return frames.with_speedup(agg), failed[FAILED_COLUMNS], len(rows)
    configs = found.configs[found.configs["scope"] == TRAIN] if not found.configs.empty else found.configs
    configs = frames.apply_filters(configs, chosen) if not configs.empty else configs
    matching = int(configs["results"].sum()) if not configs.empty else 0
    failed = (data.rows_frame(where=chosen, scope=TRAIN, ok=False, newest=FAILED_SHOWN)[FAILED_COLUMNS]
              if matching and configs["failed"].sum() else pd.DataFrame(columns=FAILED_COLUMNS))
    return frames.with_speedup(frames.present(configs)), failed, matching


SELECTION_CHARTS = {"Speed": charts.speed_chart, "Efficiency": charts.efficiency_chart}


@st.cache_resource(show_spinner=False, max_entries=128)
def _selection_figure(url: str, stamp: tuple, sample_stamp: tuple, filters: tuple, view: str) -> go.Figure:
    agg = analysis(url, stamp, sample_stamp, filters)[0]
    return SELECTION_CHARTS[view](agg)


def selection_figure(view: str) -> go.Figure:
    """The Speed / Efficiency figure of the current selection, cached on the filters:
    going back to an earlier selection re-renders without rebuilding the figure. A shared, read-only
    Figure object (st.plotly_chart only copies it): a cached dict would be unpickled and then
    re-validated into a Figure on every rerun (~15 ms at each filter change)."""
    url = data.db_url()
    return _selection_figure(url, data.store_stamp(url), data.samples_stamp(), current_filters(), view)


def current_filters() -> tuple:
    return tuple((key, tuple(st.session_state.get(state.filter_key(key)) or ())) for key in state.FILTER_KEYS)


def current_analysis() -> tuple[pd.DataFrame, pd.DataFrame, int]:
    url = data.db_url()
    return analysis(url, data.store_stamp(url), data.samples_stamp(), current_filters())


def cost_settings() -> cost.CostSettings:
    """The session's cost settings (sidebar and Hardware & prices), as core's one CostSettings."""
    price = float(st.session_state.get(state.PURCHASE_PRICE_USD) or 0)
    override = float(st.session_state.get(state.INTENSITY_OVERRIDE) or 0)
    try:
        return cost.CostSettings(sheet=st.session_state[state.SHEET], region=st.session_state[state.REGION],
                                 spot=bool(st.session_state.get(state.SPOT)),
                                 electricity_usd_per_kwh=float(st.session_state[state.ELECTRICITY_USD_PER_KWH]),
                                 lifetime_years=float(st.session_state[state.LIFETIME_YEARS]),
                                 hours_per_year=float(st.session_state[state.HOURS_PER_YEAR]),
                                 purchase_price_usd=price if price > 0 else None,
                                 g_co2_per_kwh=override if override > 0 else None)
    except InvalidCostSettings as exc:
        st.error(f"A cost setting is out of range: {plain(exc)}. Change it on **Hardware & prices**.")
        st.stop()


def grid_intensity() -> tuple[float, str]:
    return cost.grid_intensity(cost_settings(), data.grid_regions())


@st.cache_data(show_spinner=False, max_entries=64)
def _priced(url: str, stamp: tuple, sample_stamp: tuple, filters: tuple, sheet_key: int, _sheet: pricing.PriceSheet,
            settings: cost.CostSettings) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``_sheet`` is not hashed by Streamlit (its hasher walks every row: ~10 ms a rerun); ``sheet_key``,
    Python's hash of the frozen rows, stands for it."""
    agg = analysis(url, stamp, sample_stamp, filters)[0]
    return frames.cost_frame(agg, _sheet, settings, data.accelerators())


def current_sheet():
    """The session's price sheet (bundled, team or this session's own)."""
    return data.all_sheets()[st.session_state[state.SHEET]]


def current_costs() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Cost of the current selection on the chosen sheet, cached on filters, sheet and settings."""
    url = data.db_url()
    sheet = current_sheet()
    return _priced(url, data.store_stamp(url), data.samples_stamp(), current_filters(), hash(sheet.rows), sheet,
                   cost_settings())


def reference_precisions(config: str) -> list[str]:
    """The precisions, those with published results for ``config`` first (most rows first)."""
    from collections import Counter

    from core.facts.references import PRECISIONS, load_references

    counts = Counter(r.precision for r in load_references() if f"{r.workload}/{r.size}" == config)
    return sorted(PRECISIONS, key=lambda p: (-counts[p], PRECISIONS.index(p)))


def reference_workloads() -> list[str]:
    """Workloads with published results ("cnn/resnet50"), for the every-instance view."""
    from core.facts.references import load_references

    return sorted({f"{r.workload}/{r.size}" for r in load_references()})


SHAPE_ROWS = 1_000  # a workload's shape (FLOPs per sample, parameters) from its newest successful results
EVIDENCE_ROWS = 20_000  # a workload's measured accelerator points: from its newest successful accelerator results


@st.cache_data(show_spinner=False, max_entries=32)
def _evidence(url: str, stamp: tuple, sample_stamp: tuple, config: str) -> tuple[list, object]:
    """Published and measured throughput points of one workload (core.views.projection.Point) and
    its shape (FLOPs per sample and parameters, from our results or the built-in counts). Measured
    points are of accelerators, never CPUs: only those rows are read (the newest EVIDENCE_ROWS), and the
    newest for the shape (counted once)."""
    from core.facts.references import load_references
    from core.views import projection

    workload, size = config.split("/", 1)
    found = data.loaded(url, stamp, sample_stamp)
    trained = found.configs[(found.configs["scope"] == TRAIN) & (found.configs["workload"] == workload)
                            & (found.configs["size"] == size)] if not found.configs.empty else found.configs
    kinds = sorted({k for k in trained.get("device_kind", pd.Series(dtype=object)).dropna() if k != "cpu"})
    where = {"workload": [workload], "size": [size]}
    accelerators_rows = (data.rows_frame(where={**where, "device_kind": kinds}, scope=TRAIN, ok=True,
                                         newest=EVIDENCE_ROWS).to_dict("records") if kinds else [])
    newest = data.rows_frame(where=where, scope=TRAIN, ok=True, newest=SHAPE_ROWS).to_dict("records")
    points = projection.known_points(load_references(), accelerators_rows, workload, size, data.accelerators())
    newest_ids = {row["id"] for row in newest}
    shape_rows = newest + [row for row in accelerators_rows if row["id"] not in newest_ids]
    return points, projection.workload_shape(shape_rows, workload, size)


def points(config: str) -> list:
    url = data.db_url()
    return _evidence(url, data.store_stamp(url), data.samples_stamp(), config)[0]


@st.cache_data(show_spinner=False, max_entries=32)
def _instance_costs(url: str, stamp: tuple, sample_stamp: tuple, sheet_key: int, _sheet: pricing.PriceSheet,
                    config: str, precision: str, spot: bool) -> list:
    from core.views import estimates

    workload, size = config.split("/", 1)
    points, shape = _evidence(url, stamp, sample_stamp, config)
    return estimates.instance_costs(_sheet.rows, workload, size, precision, points, data.accelerators(), spot=spot,
                                    shape=shape)


def instance_costs(config: str, precision: str) -> list:
    """Every accelerator instance of the session's sheet priced for ``config`` (measured, else
    published, else projected throughput), cached on the store, sheet, workload and precision."""
    url = data.db_url()
    sheet = current_sheet()
    return _instance_costs(url, data.store_stamp(url), data.samples_stamp(), hash(sheet.rows), sheet, config,
                           precision, bool(st.session_state.get(state.SPOT)))


@st.cache_data(show_spinner=False, max_entries=32)
def _catalog_throughputs(url: str, stamp: tuple, sample_stamp: tuple, config: str, precision: str) -> list:
    from core.views import estimates

    workload, size = config.split("/", 1)
    points, shape = _evidence(url, stamp, sample_stamp, config)
    return estimates.catalog_throughputs(workload, size, precision, points, data.accelerators(), shape)


def catalog_throughputs(config: str, precision: str) -> list:
    """The best-known throughput of ``config`` on every catalog accelerator, or why there is none."""
    url = data.db_url()
    return _catalog_throughputs(url, data.store_stamp(url), data.samples_stamp(), config, precision)


def hardware_speedups(agg: pd.DataFrame, config: str, precision: str) -> tuple[pd.DataFrame, dict | None]:
    """Every catalog accelerator's best-known throughput of ``config`` × the measured CPU
    (frames.hardware_frame), and that CPU baseline (None when the CPU was not measured on it)."""
    baseline = frames.cpu_baseline(agg, config)
    table = frames.hardware_frame(catalog_throughputs(config, precision), data.accelerators(),
                                  baseline["samples_per_s"] if baseline else None)
    return table, baseline


IN_MEMORY_STORE = "sqlite://"  # what `analyze` reads measured points from when the store cannot be used


class AnalysisFailed(Exception):
    """``python -m core analyze`` refused or failed; the message says why (not cached)."""


@st.cache_data(show_spinner=False, max_entries=32)
def _analyze_model(model: str, overrides: str, seq: int, batch: int, precision: str, checkpointing: bool,
                   url: str, stamp: tuple) -> dict:
    import json
    import subprocess
    import sys

    from core.paths import REPO_ROOT

    command = [sys.executable, "-m", "core", "analyze", "--model", model, "--batch", str(batch), "--precision",
               precision, "--json", "--db", url]
    if overrides.strip():
        command += ["--config", overrides.strip()]
    if seq:
        command += ["--seq", str(seq)]
    if checkpointing:
        command.append("--activation-checkpointing")
    try:
        out = subprocess.run(command, capture_output=True, text=True, timeout=180, cwd=REPO_ROOT)
    except subprocess.TimeoutExpired:
        raise AnalysisFailed("the analysis took longer than 180 s; try a shorter sequence or a smaller batch") from None
    if out.returncode != 0:
        lines = [line for line in out.stderr.strip().splitlines() if line.strip()]
        message = lines[-1] if lines else f"python -m core analyze exited with {out.returncode}"
        raise AnalysisFailed(message.removeprefix("error: "))
    try:
        return json.loads(out.stdout.strip().splitlines()[-1])
    except (json.JSONDecodeError, IndexError):
        raise AnalysisFailed(f"python -m core analyze printed no JSON: {out.stdout[-300:]!r}") from None


def analyze_model(model: str, overrides: str, seq: int, batch: int, precision: str, checkpointing: bool) -> dict:
    """``python -m core analyze --json`` in a subprocess (this process never imports torch or
    transformers): the analysis, or {"error": why}. Cached on its arguments and the store's stamp
    (its measured points); a failure is not cached, so a retry runs again."""
    url = data.db_url()
    if not data.store_health(url).usable:  # published points only: an empty in-memory store stands in for it
        url = IN_MEMORY_STORE
    try:
        return _analyze_model(model, overrides, seq, batch, precision, checkpointing, url, data.store_stamp(url))
    except AnalysisFailed as exc:
        return {"error": str(exc)}


# --- inference and time to quality (issue 15) -------------------------------------------------------

def inference_rows() -> pd.DataFrame:
    """The inference results in the sidebar's selection, one flat row each."""
    return data.rows_frame(where=dict(current_filters()), scope=INFER)


def serving(target, rows: pd.DataFrame, config: str) -> tuple[list, list]:
    """(options that meet ``target``, configurations that cannot and why) on the session's sheet:
    measured inference results of ``config`` and its published Server figures."""
    from core.facts.references import load_inference_references
    from core.views import serving as serving_view

    workload, size = config.split("/", 1)
    published = [r for r in load_inference_references() if (r.workload, r.size) == (workload, size)]
    sheet = current_sheet()
    return serving_view.serving_options(rows.to_dict("records"), target, sheet, cost_settings(), data.accelerators(),
                                        published=published)


def inference_configs(rows: pd.DataFrame) -> list[str]:
    """The workloads with a measured inference result or a published inference figure."""
    from core.facts.references import load_inference_references

    measured = set(frames.config_of(rows)) if not rows.empty else set()
    return sorted(measured | {f"{r.workload}/{r.size}" for r in load_inference_references()})


MAX_PROJECTED_CURVES = 3


@st.cache_data(show_spinner=False, max_entries=16)
def _converge_results(url: str, stamp: tuple, sample_stamp: tuple, config: str) -> list[dict]:
    """Every successful time-to-target result of ``config`` (samples and store), as plain dicts with
    their loss curves. The flat rows have no curves: these results are read whole, by id."""
    from core.errors import StoreError
    from core.facts import bundle
    from core.facts.rows import device_label

    workload, size = config.split("/", 1)
    ids = data.rows_frame(where={"workload": [workload], "size": [size]}, scope=CONVERGE, ok=True)["id"].tolist()
    found = {}
    for name, _ in sample_stamp:
        found.update((r.id, r) for r in bundle.read_bundle(data.SAMPLES_DIR / name) if r.id in ids)
    store = data.open_store(url)
    if store is not None:
        try:
            found.update((r.id, r) for r in store.results_by_id(ids))
        except StoreError:
            pass  # the store panel at the top of the page says why
    return [{"id": r.id, "label": device_label(r.device, r.device_name, r.device_identity), "precision": r.precision,
             "device_name": r.device_name, "device_kind": r.device.split(":")[0],
             "logical_cpus": r.env.get("logical_cpus") or r.env.get("threads"), "batch_size": r.batch_size, "target_loss": r.target_loss,
             "reached": r.reached, "reached_s": r.time_to_target_s if r.reached else None,
             "steps_to_target": r.steps_to_target, "samples_per_s": r.samples_per_s, "energy_j": r.energy.total_j
             if r.energy else None, "stop_reason": r.stop_reason, "points": [list(p) for p in r.loss_curve],
             "kind": "measured", "created_at": r.created_at,
             "basis": f"measured {r.created_at[:16].replace('T', ' ')} UTC, batch {r.batch_size}"}
            for r in found.values()
            if r.mode == "converge" and r.status == "ok" and (r.workload, r.size) == (workload, size)]


def converge_curves(config: str) -> list[dict]:
    url = data.db_url()
    return _converge_results(url, data.store_stamp(url), data.samples_stamp(), config)


def converge_configs() -> list[str]:
    """The workloads with a successful time-to-target result (samples and store)."""
    configs = data.current().configs
    if configs.empty:
        return []
    chosen = configs[(configs["scope"] == CONVERGE) & (configs["repeats"] > 0)]
    return sorted(set(frames.config_of(chosen)))


def projected_curves(config: str, measured: list[dict]) -> tuple[list[dict], str | None]:
    """Curves for accelerators nobody ran to the target here: a measured curve of the same precision
    with its time axis scaled by its samples/s ÷ the accelerator's published or projected training
    samples/s (the same steps to the target, at the same batch and precision: an assumption, said
    in each curve's basis). The fastest MAX_PROJECTED_CURVES; else (none, why)."""
    curves, reasons = [], set()
    for precision in sorted({c["precision"] for c in measured}):
        base = max((c for c in measured if c["precision"] == precision and c["samples_per_s"]),
                   key=lambda c: c["samples_per_s"], default=None)
        if base is None:
            continue
        have = {c["device_name"] for c in measured}
        figures = [t for t in catalog_throughputs(config, precision)
                   if t.samples_per_s and t.kind in ("published", "projected") and t.device not in have]
        reasons.update(t.reason for t in catalog_throughputs(config, precision) if t.reason)
        for figure in sorted(figures, key=lambda t: -t.samples_per_s)[:MAX_PROJECTED_CURVES]:
            scale = base["samples_per_s"] / figure.samples_per_s
            curves.append({**base, "id": f"{base['id']}:{figure.device}", "label": figure.device, "kind": "projected",
                           "points": [[step, seconds * scale, loss] for step, seconds, loss in base["points"]],
                           "reached_s": base["reached_s"] * scale if base["reached_s"] else None, "shade": 0,
                           "basis": f"projected: {base['label']}'s steps at {figure.samples_per_s:,.0f} samples/s "
                                    f"({figure.kind}), same steps to the target assumed"})
    why = None if curves else (sorted(reasons)[0] if reasons else "no published or projected figure for it")
    return curves, why


def scaling_rows() -> pd.DataFrame:
    """The scaling results (one per world size of a torchrun launch) in the sidebar's selection."""
    return data.rows_frame(where=dict(current_filters()), scope=SCALE)
