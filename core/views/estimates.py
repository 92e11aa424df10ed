"""The best-known training throughput of a workload on each catalog accelerator, with where it came
from: measured here (our results) before published (data/references) before projected (the
roofline model), and the price of every rentable instance from it (pure, torch-free).

This is how "which instance should I rent for ResNet-50?" gets an answer for hardware nobody here
has: every figure keeps its kind, its source and (when projected) its interval.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Iterable, Sequence

from core.units import S_PER_H, SAMPLES_PER_MILLION
from core.views import projection
from core.views.catalog import Accelerator, match
from core.views.pricing import PriceRow

MEASURED, PUBLISHED, PROJECTED = "measured", "published", "projected"
# Energy of a device nobody here measured: its rated board power (TDP) for the whole step. Training
# keeps an accelerator near its power limit whatever share of its peak FLOP/s the code reaches, so
# the projected utilisation (a share of the roofline, 0.2–0.5) is not used to scale it down: this
# is an estimate and, for most runs, an upper bound (the approach of the ML CO2 Impact calculator,
# Lacoste et al. 2019).
TDP_ENERGY_METHOD = "estimated: TDP × time (the device at its rated board power; an upper bound)"


@dataclass(frozen=True)
class Throughput:
    """Samples/s of one workload on one accelerator model, or the reason there is none."""

    device: str
    kind: str | None  # measured | published | projected | None (no figure)
    samples_per_s: float | None
    low: float | None
    high: float | None
    source: str  # the results, the publication, or the projection's basis and caveat
    reason: str | None = None
    caveat: str | None = None  # a projection across vendors (core.views.projection.Projection.caveat)


def best_throughput(accelerator: Accelerator, workload: str, size: str, precision: str,
                    points: Sequence[projection.Point], catalog: Sequence[Accelerator],
                    shape: projection.WorkloadShape | None = None) -> Throughput:
    """Measured if we have it, else published, else projected (the median where there are several)."""
    for kind in (MEASURED, PUBLISHED):
        own = [p for p in points if p.device == accelerator.model and p.precision == precision and p.kind == kind]
        if own:
            value = statistics.median(p.samples_per_s for p in own)
            sources = "; ".join(dict.fromkeys(p.source for p in own))
            return Throughput(accelerator.model, kind, value, min(p.samples_per_s for p in own),
                              max(p.samples_per_s for p in own), f"{len(own)} {kind} result(s): {sources}")
    shape = shape or projection.WorkloadShape(None, None)
    projected = projection.project(accelerator, workload, size, precision, points, catalog,
                                   flops_per_sample=shape.flops_per_sample, parameters=shape.parameters)
    if projected.samples_per_s is None:
        return Throughput(accelerator.model, None, None, None, None, "", projected.reason)
    basis = f"roofline model on {len(projected.basis)} point(s)" + (f"; {projected.caveat}" if projected.caveat else "")
    return Throughput(accelerator.model, PROJECTED, projected.samples_per_s, projected.low, projected.high, basis,
                      caveat=projected.caveat)


def catalog_throughputs(workload: str, size: str, precision: str, points: Sequence[projection.Point],
                        catalog: Sequence[Accelerator], shape: projection.WorkloadShape | None = None
                        ) -> list[Throughput]:
    """The best-known throughput (or the reason there is none) on every accelerator of the catalog;
    CPUs are left out (a CPU is measured as the slice of a machine the user has)."""
    catalog = tuple(catalog)
    return [best_throughput(accelerator, workload, size, precision, points, catalog, shape)
            for accelerator in catalog if accelerator.type != "CPU"]


def estimated_j_per_sample(accelerator: Accelerator, samples_per_s: float | None) -> float | None:
    """Joules per sample from the device's TDP (TDP_ENERGY_METHOD); None without a TDP or a rate."""
    if not accelerator.tdp_w or not samples_per_s:
        return None
    return accelerator.tdp_w / samples_per_s


def accelerator_instances(rows: Iterable[PriceRow], catalog: Sequence[Accelerator]):
    """The sheet's accelerator instances (CPU rows left out), each with its catalog accelerator
    (None when the catalog lacks it: not_in_catalog says so)."""
    catalog = tuple(catalog)
    for row in rows:
        if row.accelerator_type != "CPU":
            yield row, match(row.accelerator, catalog)


def not_in_catalog(row: PriceRow) -> str:
    return f"{row.accelerator!r} is not in the accelerator catalog"


def no_price(spot: bool) -> str:
    return f"no {'spot' if spot else 'on-demand'} price in the sheet"


@dataclass(frozen=True)
class InstanceCost:
    """$ per 1M samples of one price-sheet instance, from its accelerator's best-known throughput."""

    option: str
    accelerator: str | None  # the catalog model
    accelerator_count: int
    usd_per_h: float | None
    throughput: Throughput | None
    usd_per_1m_samples: float | None
    usd_per_1m_samples_low: float | None
    usd_per_1m_samples_high: float | None
    reason: str | None
    j_per_sample: float | None = None  # estimated from the accelerator's TDP (TDP_ENERGY_METHOD)


def instance_costs(rows: Iterable[PriceRow], workload: str, size: str, precision: str,
                   points: Sequence[projection.Point], catalog: Sequence[Accelerator],
                   spot: bool = False, shape: projection.WorkloadShape | None = None) -> list[InstanceCost]:
    """Every accelerator instance of a sheet, priced for the workload (all its accelerators train
    data-parallel, each at the device's samples/s), or the reason it cannot be."""
    catalog = tuple(catalog)
    cache: dict[str, Throughput] = {}
    out = []
    for row, model in accelerator_instances(rows, catalog):
        option = row.option
        price = row.price_usd_per_h(spot)
        if model is None:
            out.append(InstanceCost(option, None, row.accelerator_count, price, None, None, None, None,
                                    not_in_catalog(row)))
            continue
        if model.model not in cache:
            cache[model.model] = best_throughput(model, workload, size, precision, points, catalog, shape)
        throughput = cache[model.model]
        if price is None:
            reason = no_price(spot)
        elif throughput.samples_per_s is None:
            reason = throughput.reason
        else:
            reason = None
        if reason:
            out.append(InstanceCost(option, model.model, row.accelerator_count, price, throughput, None, None, None,
                                    reason))
            continue

        def per_1m(samples_per_s: float) -> float:
            return price / S_PER_H / (samples_per_s * row.accelerator_count) * SAMPLES_PER_MILLION

        out.append(InstanceCost(option, model.model, row.accelerator_count, price, throughput,
                                per_1m(throughput.samples_per_s), per_1m(throughput.high), per_1m(throughput.low),
                                None, estimated_j_per_sample(model, throughput.samples_per_s)))
    return sorted(out, key=lambda c: (c.usd_per_1m_samples is None, c.usd_per_1m_samples or 0.0, c.option))
