"""Pure DataFrame work for the dashboard: flatten results, aggregate repeats, price, plan a job.

No streamlit and no torch here, so everything is testable on plain DataFrames.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable, Sequence

import pandas as pd

from core.views import carbon, catalog, pricing
from core.facts.results import SUMMARY_COLUMNS, ProbeResult, summary_row

CONFIG_KEYS = ["workload", "size", "precision", "device_label", "host", "batch_size", "compile", "channels_last"]


def results_frame(results: Iterable[ProbeResult], source: str = "store") -> pd.DataFrame:
    return summaries_frame([summary_row(r) for r in results], source)


def summaries_frame(summaries: Sequence[dict], source: str = "store") -> pd.DataFrame:
    """One row per result from stored summaries (core.facts.results.summary_row)."""
    frame = pd.DataFrame.from_records(list(summaries), columns=list(SUMMARY_COLUMNS))
    frame["source"] = source
    return frame


CATEGORY_COLUMNS = ("workload", "size", "precision", "device_label", "host", "run_id", "status", "device",
                    "device_kind", "device_name", "source", "energy_kind", "torch", "cpu", "gpu")


def as_categories(frame: pd.DataFrame) -> pd.DataFrame:
    """Low-cardinality text columns as pandas categoricals: filters and group-bys over 100k rows
    run several times faster."""
    return frame.astype({c: "category" for c in CATEGORY_COLUMNS if c in frame})


def apply_filters(frame: pd.DataFrame, filters: dict[str, Sequence]) -> pd.DataFrame:
    """Keep rows whose column value is in the chosen list; an empty list means no filter."""
    mask = pd.Series(True, index=frame.index)
    for column, chosen in filters.items():
        if chosen:
            mask &= frame[column].isin(list(chosen))
    return frame[mask]


MEDIAN_COLUMNS = ["samples_per_s", "tokens_per_s", "step_time_s", "step_time_cv", "achieved_tflops", "j_per_sample",
                  "samples_per_kj", "avg_power_w", "j_per_tflop"]
LAST_COLUMNS = ["id", "device", "device_name", "device_kind", "energy_method", "energy_missing", "logical_cpus",
                "torch", "cpu", "gpu", "driver", "params"]


def aggregate(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per configuration (repeats collapsed to their median), successful results only.
    An energy figure counts as estimated if any repeat's was."""
    ok = frame[frame["status"] == "ok"].assign(
        _estimated=lambda f: (f["energy_kind"] == "estimated").astype("int8"),
        _measured=lambda f: (f["energy_kind"] == "measured").astype("int8"))
    if ok.empty:
        return pd.DataFrame(columns=[*CONFIG_KEYS, "config", "variant", "row_label", "samples_per_s", "repeats",
                                     "device_kind", "device_name", "energy_kind", "j_per_sample", "mfu", "mfu_text"])
    grouped = ok.groupby(CONFIG_KEYS, dropna=False, sort=True, observed=True)
    medians = grouped[MEDIAN_COLUMNS].median()
    flags = grouped[["_estimated", "_measured"]].max()
    repeats = grouped.size().rename("repeats")
    latest = (grouped.tail(1).set_index(CONFIG_KEYS)[LAST_COLUMNS]
              .rename(columns={"id": "latest_id"}))
    agg = pd.concat([medians, flags, repeats], axis=1).join(latest).reset_index()
    for column in agg.columns:  # categoricals back to plain values: the result is small
        if isinstance(agg[column].dtype, pd.CategoricalDtype):
            agg[column] = agg[column].astype(object)
    agg["energy_kind"] = [("estimated" if est else "measured" if meas else None)
                          for est, meas in zip(agg.pop("_estimated"), agg.pop("_measured"))]
    agg["config"] = agg["workload"] + "/" + agg["size"]
    agg["variant"] = variant_suffix(agg)
    agg["row_label"] = agg["config"] + " · " + agg["device_label"] + agg["variant"]
    mfu = [_mfu(tflops, name, precision) for tflops, name, precision in
           zip(agg["achieved_tflops"], agg["device_name"], agg["precision"])]
    agg["mfu"] = [value if value is not None else math.nan for value, _ in mfu]
    agg["mfu_text"] = [f"{value:.1%} ({basis})" if value is not None else f"– ({basis})" for value, basis in mfu]
    agg["j_per_1k_samples"] = agg["j_per_sample"] * 1000
    agg["seconds_per_1m_samples"] = 1e6 / agg["samples_per_s"]
    return agg


VARIANT_PARTS = (("host", lambda v: f"host {v}"), ("batch_size", lambda v: f"batch {v:g}"),
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


@dataclass(frozen=True)
class CostSettings:
    spot: bool = False
    electricity_usd_per_kwh: float = 0.15
    lifetime_years: float = 4.0
    hours_per_year: float = 4380.0
    purchase_price_usd: float | None = None  # None: the catalog's typical price

    @property
    def own(self) -> pricing.OwnHardware:
        return pricing.OwnHardware(self.purchase_price_usd, self.lifetime_years, self.hours_per_year,
                                   self.electricity_usd_per_kwh)


COST_COLUMNS = ["config", "variant", "workload", "size", "precision", "device_label", "device_kind", "option", "kind",
                "usd_per_h", "usd_per_1m_samples", "seconds_per_1m_samples", "j_per_sample", "energy_kind",
                "basis", "source_url", "retrieved_on", "samples_per_s"]


def cost_frame(agg: pd.DataFrame, rows: Sequence[pricing.PriceRow], settings: CostSettings,
               cat: Sequence[catalog.Accelerator]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Cost per 1M samples of each configuration on each matching instance and on own hardware.
    Returns (costs, missing): ``missing`` says per configuration why an option has no price."""
    lines, missing = [], []
    cat = tuple(cat)
    for row in agg.itertuples(index=False):
        common = {"config": row.config, "variant": row.variant, "workload": row.workload, "size": row.size, "precision": row.precision,
                  "device_label": row.device_label, "device_kind": row.device_kind,
                  "seconds_per_1m_samples": 1e6 / row.samples_per_s, "j_per_sample": row.j_per_sample,
                  "energy_kind": row.energy_kind, "samples_per_s": row.samples_per_s}
        outcome = pricing.cloud_costs(device_kind=row.device_kind, device_name=row.device_name,
                                      samples_per_s=row.samples_per_s, vcpus_used=_int(row.logical_cpus),
                                      rows=rows, catalog=cat, spot=settings.spot)
        if isinstance(outcome, pricing.NoPrice):
            missing.append({"device_label": row.device_label, "config": row.config, "option": "cloud",
                            "reason": outcome.reason})
        else:
            for line in outcome:
                lines.append({**common, "option": line.option, "kind": line.kind, "usd_per_h": line.usd_per_h,
                              "usd_per_1m_samples": line.usd_per_1m_samples, "basis": line.basis,
                              "source_url": line.source_url, "retrieved_on": line.retrieved_on})
        model = catalog.match(row.device_name, cat)
        own = pricing.own_hardware_cost(samples_per_s=row.samples_per_s, j_per_sample=_num(row.j_per_sample),
                                        purchase_price_usd=model.purchase_price_usd if model else None,
                                        own=settings.own)
        if own.usd_per_1m_samples is None:
            missing.append({"device_label": row.device_label, "config": row.config, "option": "own hardware",
                            "reason": "; ".join(own.missing)})
        else:
            lines.append({**common, "option": f"own {row.device_label}", "kind": "own",
                          "usd_per_h": own.usd_per_1m_samples / (1e6 / row.samples_per_s) * 3600,
                          "usd_per_1m_samples": own.usd_per_1m_samples, "basis": own.basis,
                          "source_url": model.source_url if model else None, "retrieved_on": None})
    return (pd.DataFrame(lines, columns=COST_COLUMNS),
            pd.DataFrame(missing, columns=["device_label", "config", "option", "reason"]).drop_duplicates())


def _num(value) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


def _int(value) -> int | None:
    number = _num(value)
    return None if number is None else int(number)


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


def plan_job(agg: pd.DataFrame, costs: pd.DataFrame, total_samples: float, g_co2_per_kwh: float,
             settings: CostSettings) -> pd.DataFrame:
    """Wall time, energy, cost and CO2 of a training job of ``total_samples`` on each measured
    configuration and each priced option, all derived from measured throughput and energy.
    ``break_even_h``: hours of use after which buying the device beats renting that option."""
    rows = []
    for row in agg.itertuples(index=False):
        hours = total_samples / row.samples_per_s / 3600
        j_per_sample = _num(row.j_per_sample)
        energy_kwh = j_per_sample * total_samples / 3.6e6 if j_per_sample is not None else None
        base = {"device": row.device_label, "precision": row.precision, "workload": row.config,
                "wall_time_h": hours, "energy_kwh": energy_kwh,
                "co2_kg": energy_kwh * g_co2_per_kwh / 1000 if energy_kwh is not None else None,
                "energy_kind": row.energy_kind or "not measured"}
        options = costs[(costs["config"] == row.config) & (costs["device_label"] == row.device_label)
                        & (costs["precision"] == row.precision)]
        if options.empty:
            rows.append({**base, "option": "no price for this device", "cost_usd": None, "break_even_h": None})
            continue
        price = _own_price(row, settings)
        electricity_usd_per_h = (j_per_sample * row.samples_per_s * 3600 / 3.6e6 * settings.electricity_usd_per_kwh
                                 if j_per_sample is not None else None)
        for option in options.itertuples(index=False):
            break_even = None
            if option.kind != "own" and price and electricity_usd_per_h is not None:
                break_even = pricing.break_even_hours(price, option.usd_per_h, electricity_usd_per_h)
            rows.append({**base, "option": option.option,
                         "cost_usd": option.usd_per_1m_samples * total_samples / 1e6, "break_even_h": break_even})
    return pd.DataFrame(rows, columns=["device", "precision", "workload", "option", "wall_time_h", "energy_kwh",
                                       "cost_usd", "co2_kg", "energy_kind", "break_even_h"])


def _own_price(row, settings: CostSettings) -> float | None:
    if settings.purchase_price_usd is not None:
        return settings.purchase_price_usd
    model = catalog.match(row.device_name, catalog.load_catalog())
    return model.purchase_price_usd if model else None
