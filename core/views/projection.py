"""Projected training throughput on hardware we did not measure (pure, torch-free).

The model, in one paragraph: a training step does F FLOPs per sample and moves some bytes through
DRAM; its time is the FLOPs at the device's dense peak P (for the precision) plus the bytes at its
memory bandwidth B, so the rate it can attain is 1 ÷ (1/P + 1/(B × I)), where I is the step's
effective arithmetic intensity (FLOPs per byte) — a roofline with the compute and memory times
added instead of overlapped. The share of that the software reaches (utilisation η) and I are
learned from the points we have for the same workload — published results (data/references) and
our own measurements on catalog accelerators — from one software stack where one covers enough
devices (the same code on every device, so the fit sees hardware, not stacks): I is the intensity
that makes the points' η agree best, η their median. Projected samples/s = η × attainable ÷ F. The
interval comes from the model's own leave-one-out errors on those points (each point predicted
from the others), and the projection lists the points it stands on. It refuses, with the reason,
where a number would be invented: a device without a dense peak for the precision, a precision the
device cannot train in, a model whose weights, gradients and optimizer state alone exceed the
device's memory, too few points.
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
# Parameters of the same models (sum of numel over model.parameters(), 2026-11-27).
PARAMETERS = {("cnn", "resnet50"): 25_557_032, ("transformer", "gpt2-small"): 124_439_808}
# Bytes per parameter that training holds whatever the batch: mixed-precision Adam keeps fp16/bf16
# weights and gradients (2 + 2) and fp32 master weights, momentum and variance (4 + 4 + 4) — 16 bytes
# (ZeRO, Rajbhandari et al. 2020, §3.1); plain fp32 Adam also needs 4 + 4 + 8. Activations come on top.
STATE_BYTES_PER_PARAMETER = 16
ACCELSCOPE_STACK = "accelscope"
SIBLING_PRECISIONS = {"bf16": ("fp16",), "fp16": ("bf16",)}
# Accelerators their maker does not support training on, with where it says so.
NOT_FOR_TRAINING = {
    "Inferentia2": "AWS supports inference only on Inferentia2 (Neuron setup guide: \"Training ML models → Use Trn1, "
                   "Trn2, or Trn3\"; Inf2: \"Inference\", https://awsdocs-neuron.readthedocs-hosted.com/en/v2.29.0/"
                   "setup/index.html)",
}
# Frameworks enable TF32 for convolutions by default on GPUs that have it (PyTorch's
# torch.backends.cudnn.allow_tf32 is True; TensorFlow ≥ 2.4 and NGC MXNet likewise), so a CNN result
# published as "fp32" on such a GPU ran its convolutions in TF32: it is counted as tf32. (PyTorch
# leaves TF32 off for matmuls since 1.12, so transformer results keep their label.)
TF32_BY_DEFAULT_NOTE = "published as fp32; frameworks run convolutions in TF32 by default on this GPU"


@dataclass(frozen=True)
class Point:
    """One known throughput: a device (catalog model), a precision, samples/s per device."""

    device: str
    precision: str
    samples_per_s: float
    kind: str  # measured | published
    source: str
    stack: str = ""  # the software that produced it: the publication's repository and framework, or ours

    def to_dict(self) -> dict:
        return {"device": self.device, "precision": self.precision, "samples_per_s": self.samples_per_s,
                "kind": self.kind, "source": self.source, "stack": self.stack}


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
    """1 ÷ (1/peak + 1/(bandwidth × intensity)) in TFLOP/s: compute time and memory time added
    (a min() roofline assumes they overlap perfectly; validation favoured the sum). None without a
    peak; the peak alone without a bandwidth."""
    peak = accelerator.peak_tflops(precision)
    if not peak:
        return None
    if not accelerator.memory_bandwidth_gbps:
        return peak
    return 1.0 / (1.0 / peak + 1.0 / (accelerator.memory_bandwidth_gbps * 1e9 * intensity / 1e12))


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
    return [Point(device, precision, statistics.median(p.samples_per_s for p in group), group[0].kind, group[0].source,
                  group[0].stack) for (device, precision), group in groups.items()]


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
            catalog: Sequence[Accelerator], *, flops_per_sample: float | None = None, parameters: float | None = None,
            holdout: bool = False, calibration_flops_per_sample: float | None = None,
            check_memory: bool = True) -> Projection:
    """Projected samples/s of (workload, size, precision) on ``target``, or a reason. ``holdout``
    ignores every point on the target device itself (what validation does). With
    ``calibration_flops_per_sample``, the points are another workload's (a reference family) with
    that FLOP count: their utilisation is applied to ``flops_per_sample``. ``check_memory=False``
    leaves the memory check to a caller that knows more (core.views.fit shards models)."""
    by_model = {accelerator.model: accelerator for accelerator in catalog}
    flops = flops_per_sample or FLOPS_PER_SAMPLE.get((workload, size))
    parameters = parameters or PARAMETERS.get((workload, size))
    blank = Projection(target.model, workload, size, precision, None, None, None)
    if not _positive(flops):
        return _refuse(blank, f"no FLOP count for {workload}/{size}: measure it once (python -m core probe)")
    if target.model in NOT_FOR_TRAINING:
        return _refuse(blank, f"not a training device: {NOT_FOR_TRAINING[target.model]}")
    if not target.peak_tflops(precision):
        return _refuse(blank, f"the catalog has no dense {precision} peak for {target.model} (no {precision} units, "
                              "or no published figure): nothing to scale")
    if (check_memory and parameters and target.memory_gb
            and parameters * STATE_BYTES_PER_PARAMETER > target.memory_gb * 1e9):
        return _refuse(blank, f"does not fit: {parameters / 1e9:.3g}B parameters need "
                              f"{parameters * STATE_BYTES_PER_PARAMETER / 1e9:,.0f} GB for weights, gradients and Adam "
                              f"state ({STATE_BYTES_PER_PARAMETER} bytes each) before any activation; "
                              f"{target.model} has {target.memory_gb:g} GB (shard it over several devices)")
    usable = [p for p in points if p.device in by_model and by_model[p.device].peak_tflops(p.precision)
              and not (holdout and p.device == target.model)]
    usable = choose_points(usable, precision)
    if len({p.device for p in usable}) < MIN_POINTS:
        return _refuse(blank, f"fewer than {MIN_POINTS} devices with a known {workload}/{size} throughput to learn "
                              "from (data/references and measured results)")
    model, (low_q, high_q) = calibrate(tuple(usable), tuple(catalog), calibration_flops_per_sample or flops)
    predicted = predict(model, target, precision, flops) if model else None
    if not predicted:
        return _refuse(blank, "the roofline model could not be fitted to these points")
    vendors = {by_model[p.device].vendor for p in usable}
    caveats = []
    if target.vendor not in vendors:
        caveats.append(f"no {target.vendor} device among the {len({p.device for p in usable})} devices it stands on "
                       f"({', '.join(sorted(vendors))} only): extrapolated across vendors and software stacks, so the "
                       "interval understates the uncertainty")
    other_precisions = sorted({p.precision for p in usable} - {precision})
    if other_precisions:
        caveats.append(f"fitted on {'/'.join(other_precisions)} points (too few {precision} ones)")
    caveat = "; ".join(caveats) or None
    return Projection(target.model, workload, size, precision, predicted, predicted * math.exp(min(low_q, 0.0)),
                      predicted * math.exp(max(high_q, 0.0)), None, model.utilisation, model.intensity,
                      tuple(usable), caveat=caveat)


def choose_points(points: Sequence[Point], precision: str) -> list[Point]:
    """The points a projection stands on: those of the precision (utilisation differs by
    precision: tensor cores, TF32), else of its 16-bit sibling (fp16 and bf16 run on the same
    units at the same peak), from one software stack if one covers enough devices — ours first,
    else the stack with the most devices — else every stack; every precision as a last resort."""
    same_precision = [p for p in points if p.precision == precision]
    if _devices(same_precision) < MIN_POINTS:
        same_precision = [p for p in points if p.precision in (precision, *SIBLING_PRECISIONS.get(precision, ()))]
    if _devices(same_precision) < MIN_POINTS:
        return list(points)
    stacks: dict[str, list[Point]] = {}
    for point in same_precision:
        stacks.setdefault(point.stack, []).append(point)
    covering = [group for stack, group in stacks.items() if stack and _devices(group) >= MIN_POINTS]
    if not covering:
        return same_precision
    return max(covering, key=lambda group: (group[0].stack == ACCELSCOPE_STACK, _devices(group), group[0].stack))


def _devices(points: Sequence[Point]) -> int:
    return len({p.device for p in points})


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


def known_points(references: Iterable, rows: Iterable[dict], workload: str, size: str,
                 catalog: Sequence[Accelerator]) -> list[Point]:
    """Every point a projection of the workload can stand on: published, then measured here."""
    return published_points(references, workload, size, catalog) + measured_points(rows, workload, size, catalog)


def published_points(references: Iterable, workload: str, size: str, catalog: Sequence[Accelerator]) -> list[Point]:
    """Points from core.facts.references.Reference rows of the workload (per device). A result
    published as fp32 on a GPU with TF32 units counts as tf32 (TF32_BY_DEFAULT_NOTE)."""
    by_model = {accelerator.model: accelerator for accelerator in catalog}
    points = []
    for r in references:
        if (r.workload, r.size) != (workload, size):
            continue
        source = f"{r.label}: {r.source_url}"
        precision = r.precision
        accelerator = by_model.get(r.device)
        if workload == "cnn" and precision == "fp32" and accelerator is not None and accelerator.peak_tflops("tf32"):
            precision, source = "tf32", f"{source} ({TF32_BY_DEFAULT_NOTE})"
        points.append(Point(r.device, precision, r.samples_per_s_per_device, "published", source, stack_of(r.source_url)))
    return points


def stack_of(source_url: str) -> str:
    """The software stack of a publication, from its address: a repository and the folder its
    file sits in after the commit (NVIDIA/DeepLearningExamples/PyTorch vs …/TensorFlow), else the
    page's address without its fragment."""
    parts = source_url.split("#")[0].rstrip("/").split("/")
    if "github.com" in parts and "blob" in parts:
        repo = parts[parts.index("github.com") + 1: parts.index("blob")]
        after_commit = parts[parts.index("blob") + 2:]
        return "/".join(repo + after_commit[:1])
    if "github.com" in parts:
        return "/".join(parts[parts.index("github.com") + 1:][:2])
    return "/".join(parts[2:])


@dataclass(frozen=True)
class WorkloadShape:
    """What the projection needs to know of a workload itself: FLOPs of one training step per
    sample, and parameters (for the memory check)."""

    flops_per_sample: float | None
    parameters: float | None


def workload_shape(rows: Iterable[dict], workload: str, size: str) -> WorkloadShape:
    """From our own successful results of the workload (flat rows: flops_per_step ÷ batch_size,
    params), on any device; else the counts of FLOPS_PER_SAMPLE and PARAMETERS; else unknown."""
    flops, params = [], []
    for row in rows:
        if row["status"] != "ok" or (row["workload"], row["size"]) != (workload, size):
            continue
        flops_per_step, batch, count = row.get("flops_per_step"), row.get("batch_size"), row.get("params")
        if _positive(flops_per_step) and _positive(batch):
            flops.append(flops_per_step / batch)
        if _positive(count):
            params.append(count)
    return WorkloadShape(statistics.median(flops) if flops else FLOPS_PER_SAMPLE.get((workload, size)),
                         statistics.median(params) if params else PARAMETERS.get((workload, size)))


def _positive(value) -> bool:
    """A usable count: a finite number above zero (a missing one is None, or NaN in a DataFrame)."""
    return isinstance(value, (int, float)) and math.isfinite(value) and value > 0


def measured_points(rows: Iterable[dict], workload: str, size: str, catalog: Sequence[Accelerator]) -> list[Point]:
    """Points from our own successful training results (flat rows) on catalog accelerators. CPUs are
    left out: a measured CPU is a slice of a machine (a 2-vCPU VM), not the catalog's whole chip.
    Inference and time-to-target results are not training throughput, so they are left out too."""
    points = []
    for row in rows:
        if row["status"] != "ok" or (row["workload"], row["size"]) != (workload, size) or not row["samples_per_s"]:
            continue
        if row.get("mode") in ("infer", "converge"):  # older rows have no mode: training
            continue
        accelerator = match(row["device_name"], tuple(catalog))
        if accelerator is not None and accelerator.type != "CPU":
            points.append(Point(accelerator.model, row["precision"], row["samples_per_s"], "measured",
                                f"result {row['id']} ({row['created_at']})", ACCELSCOPE_STACK))
    return points
