"""Pure DataFrame work for the dashboard: flatten results, aggregate repeats, price, plan a job.

No streamlit and no torch here, so everything is testable on plain DataFrames.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Iterable, Sequence

import numpy as np
import pandas as pd
from pandas.api.types import union_categoricals

from core.facts.results import ProbeResult
from core.facts.rows import (
    FLAT_COLUMNS,
    IDENTITY_SEPARATOR,
    NO_IDENTITY,
    flat_row,
    identity_details,
)
from core.facts.summary import CONFIG_KEYS as SUMMARY_KEYS
from core.facts.summary import INPUT_COLUMNS, TRAIN, summarise
from core.units import J_PER_KWH, S_PER_H, SAMPLES_PER_MILLION
from core.views import carbon, catalog, cost, notes, pricing

# What makes two results the same configuration (core.facts.summary). ``device_identity`` keeps two CPUs
# that report one model name (a migrated VM) in separate medians and chart rows.
CONFIG_KEYS = list(SUMMARY_KEYS)


def results_frame(results: Iterable[ProbeResult], source: str = "store") -> pd.DataFrame:
    return summaries_frame([flat_row(r) for r in results], source)


def summaries_frame(summaries: Sequence[dict], source: str = "store") -> pd.DataFrame:
    """One row per result from stored summaries (core.facts.rows.flat_row)."""
    frame = pd.DataFrame.from_records(list(summaries), columns=list(FLAT_COLUMNS))
    frame["source"] = source
    return frame


CATEGORY_COLUMNS = ("workload", "size", "precision", "device_label", "device_identity", "host", "run_id", "status", "device",
                    "device_kind", "device_name", "source", "energy_kind", "torch", "cpu", "gpu")


def as_categories(frame: pd.DataFrame) -> pd.DataFrame:
    """Low-cardinality text columns as pandas categoricals: filters and group-bys over 100k rows
    run several times faster."""
    return frame.astype({c: "category" for c in CATEGORY_COLUMNS if c in frame})


def typed_frame(chunks: Iterable[tuple[Sequence[tuple], str]], kinds: dict[str, str]) -> pd.DataFrame:
    """One row per result from chunks of typed flat rows: (rows, source), each row a tuple in
    FLAT_COLUMNS order, ``kinds`` each column's kind (core.facts.store.ROW_KINDS: text, real, int, bool).

    The same values as :func:`summaries_frame` followed by :func:`as_categories` (a test holds them
    equal; an integer column with a missing value is object, ints and None, not float with NaN), built a chunk at a time: each chunk becomes typed arrays (CATEGORY_COLUMNS as categoricals,
    other text as Arrow strings) before the next is read, so a million results never sit in memory as
    Python objects; the columns are joined one at a time and not consolidated (no second copy)."""
    columns = list(FLAT_COLUMNS)
    pieces: dict[str, list] = {name: [] for name in columns}
    sources: list[tuple[str, int]] = []
    for rows, source in chunks:
        if not rows:
            continue
        for name, values in zip(columns, zip(*rows)):
            pieces[name].append(_piece(values, kinds.get(name), name in CATEGORY_COLUMNS))
        sources.append((source, len(rows)))
    count = sum(n for _, n in sources)
    out = {}
    for name in columns:
        out[name] = _joined(pieces.pop(name), kinds.get(name), name in CATEGORY_COLUMNS, count)
    names = sorted({source for source, _ in sources})
    codes = np.repeat(np.array([names.index(source) for source, _ in sources], dtype=np.int32),
                      [n for _, n in sources])
    out["source"] = pd.Categorical.from_codes(codes, categories=pd.Index(names, dtype="str"))
    return pd.DataFrame(out, copy=False)


def _piece(values: tuple, kind: str | None, category: bool):
    """One chunk of one column as a typed array (None: a missing value)."""
    if category:
        return pd.Categorical(values)
    if kind == "real":
        return np.array(values, dtype=np.float64)  # None -> NaN
    if kind == "int":  # with a missing value: Python ints and None (NaN would be a float, and truthy)
        return np.array(values, dtype=object if None in values else np.int64)
    if kind == "bool":
        return np.array(values, dtype=object if None in values else bool)
    return pd.array(values, dtype="str") if any(v is not None for v in values) else np.array(values, dtype=object)


def _joined(parts: list, kind: str | None, category: bool, count: int):
    """A column's chunks joined, with the dtypes pandas infers for the whole column from flat rows,
    except that an integer column with a missing value holds Python ints and None (object), as a
    column without any value does."""
    if category:
        usable = [p for p in parts if len(p.categories)]
        if not usable:
            return pd.Categorical([None] * count, categories=pd.Index([], dtype=object))
        kinds = pd.Index([], dtype=usable[0].categories.dtype)
        parts = [p if len(p.categories) else pd.Categorical(p, categories=kinds) for p in parts]
        return union_categoricals(parts, sort_categories=True)
    if not parts:
        return np.array([], dtype=object)
    if kind not in ("bool", "int") and any(isinstance(p, np.ndarray) and p.dtype == object for p in parts):
        if all(isinstance(p, np.ndarray) and p.dtype == object for p in parts):
            return np.full(count, None, dtype=object)  # text without any value
        parts = [p if not (isinstance(p, np.ndarray) and p.dtype == object) else pd.array(p, dtype="str")
                 for p in parts]
    if kind == "real" and all(np.isnan(p).all() for p in parts):
        return np.full(count, None, dtype=object)  # a number no result has
    if isinstance(parts[0], np.ndarray) and all(isinstance(p, np.ndarray) for p in parts):
        return np.concatenate(parts)
    return pd.concat([pd.Series(p, copy=False) for p in parts], ignore_index=True).array


def config_of(frame: pd.DataFrame) -> pd.Series:
    """Each row's workload as the views name it: "workload/size" (categoricals read as text)."""
    return frame["workload"].astype(str) + "/" + frame["size"].astype(str)


def apply_filters(frame: pd.DataFrame, filters: dict[str, Sequence]) -> pd.DataFrame:
    """Keep rows whose column value is in the chosen list; an empty list means no filter."""
    mask = pd.Series(True, index=frame.index)
    for column, chosen in filters.items():
        if chosen:
            mask &= frame[column].isin(list(chosen))
    return frame[mask]


AGG_COLUMNS = [*CONFIG_KEYS, "config", "variant", "row_label", "samples_per_s", "repeats", "device_kind", "device_name",
               "energy_kind", "j_per_sample", "mfu", "mfu_text", "noisy_runs", "noisy_reason"]


def aggregate(frame: pd.DataFrame, floors: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per training configuration of flat rows (repeats collapsed to their median,
    core.facts.summary.summarise: the store's summaries are the same), successful results only;
    ``floors`` (:func:`noise_floors` of all results): the machines' noise floors when ``frame`` is a
    selection of their results."""
    machines = None if floors is None else {
        (host, kind): (floor, basis) for host, kind, floor, basis in
        floors[["host", "device_kind", "noise_floor_cv", "noise_basis"]].itertuples(index=False)}
    rows = frame[[c for c in INPUT_COLUMNS if c in frame]].astype(object).to_dict("records")
    return present(pd.DataFrame(summarise(rows, machines)["configs"]))


def _order(value) -> tuple:
    """A sort key for a configuration's value: numbers as numbers, text as text, missing last."""
    if value is None or value != value:
        return (True, "")
    return (False, value if isinstance(value, (int, float)) else str(value))


def present(configs: pd.DataFrame) -> pd.DataFrame:
    """Summarised configurations (core.facts.summary) as the views show them: training ones with a
    successful repeat, with their workload name, what tells them apart, chart label and MFU."""
    if not configs.empty:
        configs = configs[(configs["scope"] == TRAIN) & (configs["repeats"] > 0)]
    if configs.empty:
        return pd.DataFrame(columns=AGG_COLUMNS)
    agg = configs.sort_values(list(CONFIG_KEYS), key=lambda v: v.map(_order), kind="stable").reset_index(drop=True)
    agg = agg.astype({column: object for column in CONFIG_KEYS})
    agg["config"] = agg["workload"] + "/" + agg["size"]
    agg["variant"] = variant_suffix(agg)
    agg["row_label"] = agg["config"] + " · " + agg["device_label"] + agg["variant"]
    mfu = [_mfu(tflops, name, precision) for tflops, name, precision in
           zip(agg["achieved_tflops"], agg["device_name"], agg["precision"])]
    agg["mfu"] = [value if value is not None else math.nan for value, _ in mfu]
    agg["mfu_text"] = [f"{value:.1%} ({basis})" if value is not None else f"– ({basis})" for value, basis in mfu]
    agg["j_per_1k_samples"] = agg["j_per_sample"] * 1000
    agg["seconds_per_1m_samples"] = SAMPLES_PER_MILLION / agg["samples_per_s"]
    return agg


VARIANT_PARTS = (("device_identity", lambda v: IDENTITY_SEPARATOR.join(identity_details(v)) or str(v)), ("host", lambda v: f"host {v}"), ("batch_size", lambda v: f"batch {v:g}"),
                 ("compile", lambda v: "compiled" if v else "eager"),
                 ("channels_last", lambda v: "channels-last" if v else "contiguous"))


def variant_suffix(agg: pd.DataFrame) -> pd.Series:
    """What tells apart configurations of the same workload, size and device: host, batch size,
    compile, channels-last — named only where they differ, so every chart row is one configuration
    (two hosts with the same GPU model are two rows, not two bars drawn over each other)."""
    suffix = pd.Series("", index=agg.index, dtype=object)
    keys = [agg["config"], agg["device_label"]]
    for column, name in VARIANT_PARTS:
        values = agg[column].astype(object)
        varies = values.fillna("–").groupby(keys, dropna=False, sort=False).transform("nunique") > 1
        suffix[varies] += [" · " + (name(v) if pd.notna(v) else f"{column} –") for v in values[varies]]
    return suffix


@lru_cache(maxsize=4096)
def _mfu(achieved_tflops: float, device_name: str | None, precision: str) -> tuple[float | None, str]:
    achieved = None if achieved_tflops is None or math.isnan(achieved_tflops) else achieved_tflops
    return catalog.mfu(achieved, device_name, precision, catalog.load_catalog())


def with_speedup(agg: pd.DataFrame) -> pd.DataFrame:
    """Speed-up over the CPU for the same workload, size and host: the CPU fp32 result (else the
    fastest CPU result). Rows without a CPU baseline get NaN."""
    keys = ["workload", "size", "host"]
    cpu = agg[agg["device_kind"] == "cpu"].assign(_fp32=lambda f: f["precision"] == "fp32")
    base = (cpu.sort_values(["_fp32", "samples_per_s"]).groupby(keys, dropna=False).tail(1)
            .assign(baseline=lambda f: f["device_label"] + " " + f["precision"])
            [[*keys, "samples_per_s", "baseline"]].rename(columns={"samples_per_s": "_base_sps"}))
    out = agg.drop(columns=["speedup_vs_cpu", "baseline"], errors="ignore").merge(base, on=keys, how="left")
    out["speedup_vs_cpu"] = out["samples_per_s"] / out["_base_sps"]
    return out.drop(columns="_base_sps")


COST_COLUMNS = ["config", "variant", "workload", "size", "precision", "device_label", "device_kind", "option", "kind",
                "usd_per_h", "usd_per_1m_samples", "seconds_per_1m_samples", "j_per_sample", "energy_kind",
                "basis", "source_url", "retrieved_on", "samples_per_s", "purchase_price_usd", "electricity_usd_per_h"]


def cost_frame(agg: pd.DataFrame, sheet: pricing.PriceSheet, settings: cost.CostSettings,
               accelerators: Sequence[catalog.Accelerator]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Cost per 1M samples of each configuration on each matching instance and on own hardware,
    from core's one pricing entry point (core.views.cost.cost_figures: the CLI's numbers too).
    Returns (costs, missing): ``missing`` says per configuration why an option has no price."""
    lines, missing = [], []
    accelerators = tuple(accelerators)
    for row in agg.to_dict("records"):
        rate = cost.WorkRate.of_row(row)
        figures = cost.cost_figures(rate, settings, sheet, accelerators=accelerators)
        own = figures.own_hardware
        common = {key: row[key] for key in ("config", "variant", "workload", "size", "precision", "device_label",
                                            "device_kind", "j_per_sample", "energy_kind", "samples_per_s")}
        common.update(seconds_per_1m_samples=SAMPLES_PER_MILLION / rate.samples_per_s,
                      purchase_price_usd=own.purchase_price_usd,
                      electricity_usd_per_h=cost.electricity_usd_per_h(rate, settings))
        if figures.cloud_missing:
            missing.append({"device_label": row["device_label"], "config": row["config"], "option": "cloud",
                            "reason": figures.cloud_missing})
        for line in figures.cloud:
            lines.append({**common, "option": line.option, "kind": line.kind, "usd_per_h": line.usd_per_h,
                          "usd_per_1m_samples": line.usd_per_1m_samples, "basis": line.basis,
                          "source_url": line.source_url, "retrieved_on": line.retrieved_on})
        if own.usd_per_1m_samples is None:
            missing.append({"device_label": row["device_label"], "config": row["config"], "option": "own hardware",
                            "reason": "; ".join(own.missing)})
        else:
            model = catalog.match(rate.device_name, accelerators)
            lines.append({**common, "option": f"own {row['device_label']}", "kind": "own",
                          "usd_per_h": own.usd_per_1m_samples * rate.samples_per_s * S_PER_H / SAMPLES_PER_MILLION,
                          "usd_per_1m_samples": own.usd_per_1m_samples, "basis": own.basis,
                          "source_url": model.source_url if model else None, "retrieved_on": None})
    return (pd.DataFrame(lines, columns=COST_COLUMNS),
            pd.DataFrame(missing, columns=["device_label", "config", "option", "reason"]).drop_duplicates())


def _num(value) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


def pareto_mask(x: Sequence[float], y: Sequence[float]) -> list[bool]:
    """True for points no other point beats on both axes (lower is better on both)."""
    points = list(zip(x, y))
    mask = []
    for i, (xi, yi) in enumerate(points):
        dominated = any((xj <= xi and yj <= yi) and (xj < xi or yj < yi) for j, (xj, yj) in enumerate(points) if j != i)
        mask.append(not dominated)
    return mask


def carbon_frame(agg: pd.DataFrame, region_keys: Sequence[str],
                 custom: tuple[str, float] | None = None) -> pd.DataFrame:
    """g CO2e per 1M samples of each configuration in each grid region (estimated energy stays
    marked); ``custom`` adds the user's own (label, g/kWh)."""
    regions = carbon.load_regions()
    chosen = [carbon.find_region(k, regions) for k in region_keys]
    if custom is not None:
        chosen.insert(0, carbon.GridRegion("custom", custom[0], custom[1], "your override"))
    rows = []
    for row in agg.itertuples(index=False):
        if _num(row.j_per_sample) is None:
            continue
        for region in chosen:
            intensity = region.g_co2_per_kwh
            rows.append({"config": row.config, "device_label": row.device_label, "precision": row.precision,
                         "region": region.label, "g_co2_per_kwh": intensity, "energy_kind": row.energy_kind,
                         "g_co2_per_1m_samples": carbon.g_co2_per_1m_samples(row.j_per_sample, intensity)})
    return pd.DataFrame(rows, columns=["config", "device_label", "precision", "region", "g_co2_per_kwh",
                                       "energy_kind", "g_co2_per_1m_samples"])


def plan_job(agg: pd.DataFrame, costs: pd.DataFrame, total_samples: float, g_co2_per_kwh: float) -> pd.DataFrame:
    """Wall time, energy, cost and CO2 of a training job of ``total_samples`` on each measured
    configuration and each priced option (``costs`` from :func:`cost_frame`), all derived from
    measured throughput and energy. ``break_even_h``: hours of use after which buying the device
    beats renting that option."""
    rows = []
    for row in agg.itertuples(index=False):
        hours = total_samples / row.samples_per_s / S_PER_H
        j_per_sample = _num(row.j_per_sample)
        energy_kwh = j_per_sample * total_samples / J_PER_KWH if j_per_sample is not None else None
        base = {"device": row.device_label, "precision": row.precision, "workload": row.config,
                "wall_time_h": hours, "energy_kwh": energy_kwh,
                "co2_kg": energy_kwh * g_co2_per_kwh / 1000 if energy_kwh is not None else None,
                "energy_kind": row.energy_kind or "not measured"}
        options = costs[(costs["config"] == row.config) & (costs["device_label"] == row.device_label)
                        & (costs["precision"] == row.precision) & (costs["variant"] == row.variant)]
        if options.empty:
            rows.append({**base, "option": "no price for this device", "cost_usd": None, "break_even_h": None,
                         "break_even_why": "unknown, because no option of the price sheet has this device"})
            continue
        for option in options.itertuples(index=False):
            price, electricity = _num(option.purchase_price_usd), _num(option.electricity_usd_per_h)
            break_even = None
            why = break_even_why(option.kind, price, option.usd_per_h, electricity, row.device_label)
            if why is None:
                break_even = cost.break_even_hours(price, option.usd_per_h, electricity)
            rows.append({**base, "option": option.option,
                         "cost_usd": option.usd_per_1m_samples * total_samples / SAMPLES_PER_MILLION,
                         "break_even_h": break_even, "break_even_why": why})
    return pd.DataFrame(rows, columns=PLAN_JOB_COLUMNS)


PLAN_JOB_COLUMNS = ["device", "precision", "workload", "option", "wall_time_h", "energy_kwh", "cost_usd", "co2_kg",
                    "energy_kind", "break_even_h", "break_even_why"]


def break_even_why(kind: str, purchase_price_usd: float | None, rent_usd_per_h: float | None,
                   electricity_usd_per_h: float | None, device_label: str) -> str | None:
    """Why buying ``device_label`` never beats renting this option (or cannot be known); None when
    it does after some hours (cost.break_even_hours)."""
    if kind == "own":
        return "— (this is the bought device)"
    if not purchase_price_usd:
        return "unknown, because no purchase price is known (enter one on Hardware & prices)"
    if electricity_usd_per_h is None:
        return "unknown, because the device's energy was not measured"
    if rent_usd_per_h is None or rent_usd_per_h <= electricity_usd_per_h:
        return (f"never, because its electricity (${electricity_usd_per_h:,.3g}/h) costs as much as renting "
                f"(${rent_usd_per_h or 0:,.3g}/h)")
    return None


def cpu_baseline(agg: pd.DataFrame, config: str) -> dict | None:
    """The measured CPU of ``config`` at its fastest precision: what "× the CPU" is measured against
    (the user's own CPU at its best, so an accelerator's lead is not inflated by a slow precision)."""
    cpu = agg[(agg["config"] == config) & (agg["device_kind"] == "cpu")] if not agg.empty else agg
    if cpu.empty:
        return None
    best = cpu.loc[cpu["samples_per_s"].idxmax()]
    return {"samples_per_s": float(best["samples_per_s"]), "label": f"{best['device_label']} · {best['precision']}"}


HARDWARE_COLUMNS = ["accelerator", "vendor", "kind", "samples_per_s", "low", "high", "speedup", "speedup_low",
                    "speedup_high", "j_per_sample", "source", "caveat", "reason"]


def hardware_frame(throughputs: Sequence, accelerators: Sequence, baseline_samples_per_s: float | None = None
                   ) -> pd.DataFrame:
    """One row per catalog accelerator: its best-known samples/s (core.views.estimates.Throughput:
    measured, published or projected, or the reason there is none), × the CPU baseline when one is
    given, and J/sample estimated from its TDP."""
    from core.views.estimates import estimated_j_per_sample

    by_model = {a.model: a for a in accelerators}
    rows = []
    for t in throughputs:
        accelerator = by_model[t.device]
        ratio = (lambda v: v / baseline_samples_per_s if v and baseline_samples_per_s else None)
        rows.append({"accelerator": t.device, "vendor": accelerator.vendor, "kind": t.kind,
                     "samples_per_s": t.samples_per_s, "low": t.low, "high": t.high,
                     "speedup": ratio(t.samples_per_s), "speedup_low": ratio(t.low), "speedup_high": ratio(t.high),
                     "j_per_sample": estimated_j_per_sample(accelerator, t.samples_per_s), "source": t.source,
                     "caveat": t.caveat, "reason": t.reason})
    return pd.DataFrame(rows, columns=HARDWARE_COLUMNS)


PRECISION_GAIN_COLUMNS = ["row", "device", "precision", "baseline_precision", "gain", "kind", "source"]


def precision_gain_frame(agg: pd.DataFrame, published: Sequence[tuple[str, Sequence]] = ()) -> pd.DataFrame:
    """Throughput of each lower precision ÷ the same configuration's fp32 (tf32 where a published
    stack has no fp32 row): measured rows of the selection, plus published pairs — (workload,
    core.views.projection.Point list) — from one software stack on one device."""
    rows = []
    if not agg.empty:
        labelled = agg.assign(_row=agg["config"] + " · " + agg["device_label"] + agg.get("variant", ""))
        for row_label, group in labelled.groupby("_row", sort=True):
            by_precision = dict(zip(group["precision"], group["samples_per_s"]))
            base = "fp32" if "fp32" in by_precision else ("tf32" if "tf32" in by_precision else None)
            for precision, sps in by_precision.items():
                if base and precision != base and sps and by_precision[base]:
                    rows.append({"row": row_label, "device": group["device_label"].iloc[0], "precision": precision,
                                 "baseline_precision": base, "gain": sps / by_precision[base], "kind": "measured",
                                 "source": "measured here"})
    pairs: dict[tuple[str, str, str], dict[str, list[float]]] = {}
    for config, points in published:  # one device, one software stack: the same code in two precisions
        for point in points:
            pairs.setdefault((config, point.device, point.stack), {}).setdefault(point.precision, []).append(
                point.samples_per_s)
    for (config, device, stack), by_precision in sorted(pairs.items()):
        base = "fp32" if "fp32" in by_precision else ("tf32" if "tf32" in by_precision else None)
        for precision, values in by_precision.items():
            if base and precision != base:
                gain = (sum(values) / len(values)) / (sum(by_precision[base]) / len(by_precision[base]))
                rows.append({"row": f"{config} · {device} · {stack}", "device": device, "precision": precision,
                             "baseline_precision": base, "gain": gain, "kind": "published", "source": stack})
    return pd.DataFrame(rows, columns=PRECISION_GAIN_COLUMNS)


INSTANCE_COLUMNS = ["option", "accelerator", "accelerator_count", "usd_per_h", "kind", "samples_per_s_per_device",
                    "low", "high", "usd_per_1m_samples", "usd_per_1m_samples_low", "usd_per_1m_samples_high",
                    "hours_for_job", "usd_for_job", "j_per_sample", "kwh_for_job", "co2_kg_for_job", "source", "caveat",
                    "reason"]


def instance_frame(costs: Sequence, total_samples: float | None = None,
                   g_co2_per_kwh: float | None = None) -> pd.DataFrame:
    """core.views.estimates.InstanceCost rows as a table; with ``total_samples``, the job's wall time,
    cost and (estimated, from TDP) energy and CO2 on each instance (all its accelerators data-parallel)."""
    rows = []
    for c in costs:
        t = c.throughput
        sps = t.samples_per_s if t else None
        hours = total_samples / (sps * c.accelerator_count) / S_PER_H if total_samples and sps else None
        kwh = total_samples * c.j_per_sample / J_PER_KWH if total_samples and c.j_per_sample else None
        rows.append({"option": c.option, "accelerator": c.accelerator, "accelerator_count": c.accelerator_count,
                     "usd_per_h": c.usd_per_h, "kind": t.kind if t else None, "samples_per_s_per_device": sps,
                     "low": t.low if t else None, "high": t.high if t else None,
                     "usd_per_1m_samples": c.usd_per_1m_samples, "usd_per_1m_samples_low": c.usd_per_1m_samples_low,
                     "usd_per_1m_samples_high": c.usd_per_1m_samples_high, "hours_for_job": hours,
                     "usd_for_job": hours * c.usd_per_h if hours is not None and c.usd_per_h is not None else None,
                     "j_per_sample": c.j_per_sample, "kwh_for_job": kwh,
                     "co2_kg_for_job": kwh * g_co2_per_kwh / 1000 if kwh is not None and g_co2_per_kwh else None,
                     "source": t.source if t else "", "caveat": t.caveat if t else None, "reason": c.reason})
    return pd.DataFrame(rows, columns=INSTANCE_COLUMNS)


def job_claims(agg: pd.DataFrame, instances: pd.DataFrame, config: str, total_samples: float) -> dict:
    """"Hours on a CPU, minutes on a GPU", for one job: the measured CPU's wall time (its fastest
    precision) next to the fastest and the cheapest instance, each with where its figure came from.
    Projections across vendors (no point from the device's maker) are left out when others exist."""
    claims: dict = {"cpu": None, "fastest": None, "cheapest": None}
    baseline = cpu_baseline(agg, config)
    if baseline:
        claims["cpu"] = {"hours": total_samples / baseline["samples_per_s"] / S_PER_H, "kind": "measured",
                         "label": baseline["label"]}
    priced = instances.dropna(subset=["hours_for_job", "usd_for_job"])
    trusted = priced[priced["caveat"].isna()]  # a projection across vendors is too weak to headline
    priced = trusted if not trusted.empty else priced
    if not priced.empty:
        for key, column in (("fastest", "hours_for_job"), ("cheapest", "usd_for_job")):
            row = priced.loc[priced[column].idxmin()]
            claims[key] = {"hours": row["hours_for_job"], "usd": row["usd_for_job"], "kind": row["kind"],
                           "label": f"{row['option']} ({row['accelerator_count']}× {row['accelerator']})"}
    return claims


MODEL_DEVICE_COLUMNS = ["device", "memory_gb", "fits", "devices_needed", "samples_per_s", "low", "high", "kind",
                        "note"]


def model_devices_frame(analysis: dict) -> pd.DataFrame:
    """`python -m core analyze --json`'s devices as a table: those that hold the step on one device
    first (fastest first), then by how few devices they need; the reason or caveat as a note."""
    rows = [{"device": d["device"], "memory_gb": d["memory_gb"], "fits": d["fits"], "devices_needed": d["devices_needed"],
             "samples_per_s": d["samples_per_s"], "low": d["low"], "high": d["high"], "kind": d["kind"],
             "note": d["reason"] or d["caveat"] or ""} for d in analysis.get("devices", [])]
    frame = pd.DataFrame(rows, columns=MODEL_DEVICE_COLUMNS)
    order = frame.assign(_fits=frame["fits"].fillna(False).astype(bool),
                         _needed=frame["devices_needed"].fillna(10**9))
    return order.sort_values(["_fits", "_needed", "samples_per_s"], ascending=[False, True, False],
                             na_position="last").drop(columns=["_fits", "_needed"])


def memory_parts(memory: dict) -> list[tuple[str, float]]:
    """(label, GB) parts that add up to the training step's peak (estimated): the weights, gradients
    and optimizer state every step keeps, and the rest of the peak — saved activations, half-
    precision weight copies and temporaries, whichever are alive at that moment."""
    kept = [("weights", memory["weights"]), ("gradients", memory["gradients"]),
            ("optimizer state", memory["optimizer_state"])]
    rest = memory["peak"] - sum(value for _, value in kept)
    return [(label, value / 1e9) for label, value in kept] + (
        [("activations, weight copies, temporaries", rest / 1e9)] if rest > 0 else [])


PLAN_COLUMNS = ["option", "accelerators", "devices_needed", "usd_per_h", "hours", "usd", "kwh", "co2_kg", "speed_kind",
                "note"]


def plan_frame(plans: Sequence) -> pd.DataFrame:
    """core.views.fit.InstancePlan rows as a table, cheapest first (as planned)."""
    rows = [{"option": p.option, "accelerators": f"{p.accelerator_count}× {p.accelerator or '?'}",
             "devices_needed": p.devices_needed, "usd_per_h": p.usd_per_h, "hours": p.hours, "usd": p.usd,
             "kwh": p.kwh, "co2_kg": p.co2_kg, "speed_kind": p.speed_kind, "note": p.reason or p.caveat or ""}
            for p in plans]
    return pd.DataFrame(rows, columns=PLAN_COLUMNS)


INTEGER_SHEET_COLUMNS = tuple(c.name for c in pricing.SHEET_COLUMNS if c.kind == "integer")


def price_sheet_frame(sheet: pricing.PriceSheet) -> pd.DataFrame:
    """A sheet's rows as a frame in the columns of a sheet file; whole-number columns stay whole numbers
    (pandas' nullable Int64) even with an empty cell, so the CSV written from it ("4", not "4.0") is
    accepted again."""
    frame = pd.DataFrame([r.__dict__ for r in sheet.rows], columns=[c.name for c in pricing.SHEET_COLUMNS])
    return frame.astype({name: "Int64" for name in INTEGER_SHEET_COLUMNS})


def price_sheet_csv(sheet: pricing.PriceSheet | pd.DataFrame) -> str:
    """A sheet (or an edited frame of one) as the CSV text of a sheet file (what the store keeps)."""
    frame = price_sheet_frame(sheet) if isinstance(sheet, pricing.PriceSheet) else sheet.copy()
    for name in INTEGER_SHEET_COLUMNS:  # an edited cell may come back as 4.0: written as 4
        if name in frame.columns:
            numbers = pd.to_numeric(frame[name], errors="coerce")
            if numbers.notna().equals(frame[name].notna()) and (numbers.dropna() % 1 == 0).all():
                frame[name] = numbers.astype("Int64")  # else: as typed, for the sheet's check to name
    return frame.to_csv(index=False)


# --- noisy results and repeated runs -------------------------------------------------------------

MACHINE_KEYS = ["host", "device_kind"]  # one machine's noise floor (core.views.notes)


def noise_floors(frame: pd.DataFrame) -> pd.DataFrame:
    """The noise floor of every machine (host and device kind) among flat rows: the median step-time
    CV of its successful results, or the assumed one (core.views.notes.floor_of, the one definition).
    Columns: host, device_kind, noise_floor_cv, noise_basis."""
    ok = frame.loc[frame["status"] == "ok", [*MACHINE_KEYS, "step_time_cv"]]
    ok = ok.astype({key: object for key in MACHINE_KEYS})
    grouped = ok.groupby(MACHINE_KEYS, dropna=False, sort=False)["step_time_cv"].agg(["median", "count"])
    rows = []
    for (host, kind), median, count in zip(grouped.index, grouped["median"], grouped["count"]):
        floor, basis = notes.floor_of(None if pd.isna(median) else float(median), int(count))
        rows.append({"host": host, "device_kind": kind, "noise_floor_cv": floor, "noise_basis": basis})
    return pd.DataFrame(rows, columns=[*MACHINE_KEYS, "noise_floor_cv", "noise_basis"])


def with_noise(frame: pd.DataFrame, floors: pd.DataFrame | None = None) -> pd.DataFrame:
    """``frame`` with ``noise_floor_cv`` and ``noisy_reason`` (None unless the successful result's
    step-time CV is over core.views.notes.NOISE_FLOOR_FACTOR × its machine's floor). ``floors``: from
    :func:`noise_floors` of every result (a floor does not depend on the filters); default: of ``frame``."""
    floors = noise_floors(frame) if floors is None else floors
    keyed = frame.astype({key: object for key in MACHINE_KEYS})
    merged = keyed[MACHINE_KEYS].merge(floors, on=MACHINE_KEYS, how="left")
    floor = merged["noise_floor_cv"].fillna(notes.NOISY_CV).to_numpy()
    basis = merged["noise_basis"].fillna("").to_numpy()
    cvs = pd.to_numeric(frame["step_time_cv"], errors="coerce").to_numpy()
    ok = (frame["status"] == "ok").to_numpy()
    noisy = ok & (cvs > notes.NOISE_FLOOR_FACTOR * floor)
    reasons = [notes.noisy_reason(float(cv), float(f), b) if flag else None
               for cv, f, b, flag in zip(cvs, floor, basis, noisy)]
    return frame.assign(noise_floor_cv=floor, noisy_reason=pd.Series(reasons, index=frame.index, dtype=object))


RUN_COLUMNS = ["row_label", "config", "precision", "samples_per_s", "step_time_cv", "noisy_reason", "created_at", "id"]


def repeat_runs(rows: pd.DataFrame, agg: pd.DataFrame) -> pd.DataFrame:
    """Each successful run behind the configurations of ``agg`` (frames.aggregate of ``rows``), with
    its configuration's row label: the points drawn next to their median. ``rows`` may carry
    ``noisy_reason`` (:func:`with_noise`)."""
    if agg.empty or rows.empty:
        return pd.DataFrame(columns=RUN_COLUMNS)
    ok = rows[rows["status"] == "ok"]
    ok = ok.astype({key: object for key in CONFIG_KEYS if key in ok}).assign(
        device_identity=lambda f: f["device_identity"].fillna(NO_IDENTITY))
    if "noisy_reason" not in ok:
        ok = ok.assign(noisy_reason=None)
    keys = agg[[*CONFIG_KEYS, "row_label", "config"]].astype({key: object for key in CONFIG_KEYS})
    runs = ok.drop(columns=["config", "row_label"], errors="ignore").merge(keys, on=CONFIG_KEYS, how="inner")
    return runs[RUN_COLUMNS].reset_index(drop=True)
