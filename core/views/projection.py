"""Projected training throughput on hardware we did not measure (pure, torch-free).

The model, in one paragraph: a training step does F FLOPs per sample; a device can deliver at most
its dense peak P (for the precision) or, when the step is starved by memory, its bandwidth B times
the step's effective arithmetic intensity I (FLOPs per byte of DRAM traffic): attainable =
min(P, B × I), the roofline. The share of that the software reaches (utilisation η) and I are
learned from the points we have for the same workload — published results (data/references) and
our own measurements on catalog accelerators: I is the intensity that makes the points' η agree
best, η their median. Projected samples/s = η × min(P, B × I) ÷ F. The interval comes from the
model's own leave-one-out errors on those points (each point predicted from the others), and the
projection lists the points it stands on. It refuses, with the reason, where a number would be
invented: a device without a dense peak for the precision, a precision the device cannot train in,
too few points.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Iterable, Sequence

from core.views.catalog import Accelerator, match

PROJECTED = "projected"
MIN_POINTS = 3
INTENSITY_GRID = tuple(2 ** (k / 4) for k in range(0, 49))  # 1 … 4096 FLOP/byte, four steps per octave

# FLOPs of one training step per sample for the workloads references exist for, counted by
# torch.utils.flop_counter.FlopCounterMode on one step of Accelscope's own model (batch 1, CPU,
# 2026-11-27): a measured result of the workload, where there is one, supplies its own count.
FLOPS_PER_SAMPLE = {("cnn", "resnet50"): 24.299e9, ("transformer", "gpt2-small"): 758.98e9}


@dataclass(frozen=True)
class Point:
    """One known throughput: a device (catalog model), a precision, samples/s per device."""

    device: str
    precision: str
    samples_per_s: float
    kind: str  # measured | published
    source: str

    def to_dict(self) -> dict:
        return {"device": self.device, "precision": self.precision, "samples_per_s": self.samples_per_s,
                "kind": self.kind, "source": self.source}


@dataclass(frozen=True)
class Projection:
    device: str
    workload: str
    size: str
    precision: str
    samples_per_s: float | None
    low: float | None
    high: float | None
    reason: str | None = None
    utilisation: float | None = None
    intensity_flop_per_byte: float | None = None
    basis: tuple[Point, ...] = field(default_factory=tuple)
    kind: str = PROJECTED
    caveat: str | None = None  # what makes this projection weaker than its interval says

    def to_dict(self) -> dict:
        return {"device": self.device, "workload": self.workload, "size": self.size, "precision": self.precision,
                "kind": self.kind, "samples_per_s": self.samples_per_s, "low": self.low, "high": self.high,
                "reason": self.reason, "utilisation": self.utilisation,
                "intensity_flop_per_byte": self.intensity_flop_per_byte, "caveat": self.caveat,
                "basis": [point.to_dict() for point in self.basis]}


def attainable_tflops(accelerator: Accelerator, precision: str, intensity: float) -> float | None:
    """Roofline: min(dense peak, bandwidth × intensity), in TFLOP/s; None without a peak."""
    peak = accelerator.peak_tflops(precision)
    if not peak:
        return None
    if not accelerator.memory_bandwidth_gbps:
        return peak
    return min(peak, accelerator.memory_bandwidth_gbps * 1e9 * intensity / 1e12)


@dataclass(frozen=True)
class Fit:
    utilisation: float
    intensity: float


def fit(points: Sequence[Point], by_model: dict[str, Accelerator], flops_per_sample: float) -> Fit | None:
    """The intensity whose roofline makes the points' utilisations agree best (least spread of
    log η), and their median η. Several points of one device and precision (other software stacks)
    count once, as their median. None with fewer than two usable points."""
    points = _one_per_device(points)
    best: tuple[float, Fit] | None = None
    for intensity in INTENSITY_GRID:
        etas = []
        for point in points:
            roof = attainable_tflops(by_model[point.device], point.precision, intensity)
            if roof:
                etas.append(point.samples_per_s * flops_per_sample / (roof * 1e12))
        if len(etas) < 2:
            continue
        logs = [math.log(eta) for eta in etas]
        spread = statistics.pstdev(logs)
        if best is None or spread < best[0] - 1e-12:
            best = (spread, Fit(math.exp(statistics.median(logs)), intensity))
    return best[1] if best else None


def _one_per_device(points: Sequence[Point]) -> list[Point]:
    groups: dict[tuple[str, str], list[Point]] = {}
    for point in points:
        groups.setdefault((point.device, point.precision), []).append(point)
    return [Point(device, precision, statistics.median(p.samples_per_s for p in group), group[0].kind, group[0].source)
            for (device, precision), group in groups.items()]


def predict(model: Fit, accelerator: Accelerator, precision: str, flops_per_sample: float) -> float | None:
    roof = attainable_tflops(accelerator, precision, model.intensity)
    return model.utilisation * roof * 1e12 / flops_per_sample if roof else None


def loo_log_errors(points: Sequence[Point], by_model: dict[str, Accelerator], flops_per_sample: float) -> list[float]:
    """log(actual ÷ predicted) of each point predicted from the points of the other devices."""
    errors = []
    for point in points:
        others = [p for p in points if p.device != point.device]
        model = fit(others, by_model, flops_per_sample)
        predicted = predict(model, by_model[point.device], point.precision, flops_per_sample) if model else None
        if predicted:
            errors.append(math.log(point.samples_per_s / predicted))
    return errors


def project(target: Accelerator, workload: str, size: str, precision: str, points: Iterable[Point],
            catalog: Sequence[Accelerator], *, flops_per_sample: float | None = None,
            holdout: bool = False) -> Projection:
    """Projected samples/s of (workload, size, precision) on ``target``, or a reason. ``holdout``
    ignores every point on the target device itself (what validation does)."""
    by_model = {accelerator.model: accelerator for accelerator in catalog}
    flops = flops_per_sample or FLOPS_PER_SAMPLE.get((workload, size))
    blank = Projection(target.model, workload, size, precision, None, None, None)
    if not flops:
        return _refuse(blank, f"no FLOP count for {workload}/{size}: measure it once (python -m core probe)")
    if not target.peak_tflops(precision):
        return _refuse(blank, f"the catalog has no dense {precision} peak for {target.model} (no {precision} units, "
                              "or no published figure): nothing to scale")
    usable = [p for p in points if p.device in by_model and by_model[p.device].peak_tflops(p.precision)
              and not (holdout and p.device == target.model)]
    same_precision = [p for p in usable if p.precision == precision]
    if len({p.device for p in same_precision}) >= MIN_POINTS:
        usable = same_precision  # utilisation differs by precision (tensor cores, TF32 in "fp32" convs)
    if len({p.device for p in usable}) < MIN_POINTS:
        return _refuse(blank, f"fewer than {MIN_POINTS} devices with a known {workload}/{size} throughput to learn "
                              "from (data/references and measured results)")
    model, (low_q, high_q) = calibrate(tuple(usable), tuple(catalog), flops)
    predicted = predict(model, target, precision, flops) if model else None
    if not predicted:
        return _refuse(blank, "the roofline model could not be fitted to these points")
    vendors = {by_model[p.device].vendor for p in usable}
    caveat = None if target.vendor in vendors else (
        f"no {target.vendor} device among the {len(usable)} points ({', '.join(sorted(vendors))} only): extrapolated "
        "across vendors and software stacks, so the interval understates the uncertainty")
    return Projection(target.model, workload, size, precision, predicted, predicted * math.exp(min(low_q, 0.0)),
                      predicted * math.exp(max(high_q, 0.0)), None, model.utilisation, model.intensity,
                      tuple(usable), caveat=caveat)


@lru_cache(maxsize=64)
def calibrate(points: tuple[Point, ...], catalog: tuple[Accelerator, ...],
              flops_per_sample: float) -> tuple[Fit | None, tuple[float, float]]:
    """The model fitted to one set of points and its error band: the 5th and 95th percentile of the
    leave-one-out log errors (the 10th–90th covered 60% in validation). Cached, because projecting
    onto every catalog accelerator fits the same points each time."""
    by_model = {accelerator.model: accelerator for accelerator in catalog}
    errors = loo_log_errors(points, by_model, flops_per_sample)
    ventiles = statistics.quantiles(errors, n=20, method="inclusive") if len(errors) >= 2 else [-0.5, 0.5]
    return fit(points, by_model, flops_per_sample), (ventiles[0], ventiles[-1])


def _refuse(blank: Projection, reason: str) -> Projection:
    return dataclasses.replace(blank, reason=reason)


def published_points(references: Iterable, workload: str, size: str) -> list[Point]:
    """Points from core.facts.references.Reference rows of the workload (per device)."""
    return [Point(r.device, r.precision, r.samples_per_s_per_device, "published", f"{r.label}: {r.source_url}")
            for r in references if (r.workload, r.size) == (workload, size)]


def measured_points(rows: Iterable[dict], workload: str, size: str, catalog: Sequence[Accelerator]) -> list[Point]:
    """Points from our own successful results (flat rows) on catalog accelerators. CPUs are left
    out: a measured CPU is a slice of a machine (a 2-vCPU VM), not the catalog's whole chip."""
    points = []
    for row in rows:
        if row["status"] != "ok" or (row["workload"], row["size"]) != (workload, size) or not row["samples_per_s"]:
            continue
        accelerator = match(row["device_name"], tuple(catalog))
        if accelerator is not None and accelerator.type != "CPU":
            points.append(Point(accelerator.model, row["precision"], row["samples_per_s"], "measured",
                                f"result {row['id']} ({row['created_at']})"))
    return points
