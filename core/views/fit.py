"""Does your model fit, on how many devices, and how fast would it train — on every catalog accelerator
(pure, torch-free: it reads a core.facts.analysis.ModelAnalysis).

Memory: a device holds the training step's peak (weights, gradients, optimizer state, activations
and temporaries). When one device is not enough, ZeRO-3 / FSDP-style sharding splits the weights,
gradients and optimizer state over N devices while each keeps its own activations:
N = ceil(states ÷ (usable − activations)). Usable memory is USABLE_MEMORY_FRACTION of the device's
(an estimate of what the CUDA context, allocator fragmentation and kernel workspaces leave).

Speed: the roofline projection (core.views.projection) of the model's reference family — ResNet-50
for image models, GPT-2 small for language and speech models — applied to the model's own FLOPs per
sample: the family's measured and published points set the utilisation, the model's FLOPs the rate.
Where the projection refuses (too few devices), an estimate from the family's published model FLOP
utilisation (MFU) × the device's dense peak, labelled ``estimated`` with its method and the range of
the MFUs it stands on.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import asdict, dataclass
from typing import Sequence

from core.facts.analysis import ModelAnalysis
from core.views import projection
from core.views.catalog import Accelerator

USABLE_MEMORY_FRACTION = 0.9
BYTES_PER_GB = 1e9  # the catalog's memory_gb read as 10^9 bytes (vendors' "80GB" is 80 GiB: we err low)
REFERENCE_FAMILY = {
    "image-classification": ("cnn", "resnet50"),
    "causal-lm": ("transformer", "gpt2-small"), "masked-lm": ("transformer", "gpt2-small"),
    "sequence-classification": ("transformer", "gpt2-small"), "seq2seq": ("transformer", "gpt2-small"),
    "speech": ("transformer", "gpt2-small"),
}
ESTIMATED = "estimated"


@dataclass(frozen=True)
class DeviceFit:
    device: str
    memory_gb: float | None
    fits: bool | None  # on one device; None when the catalog has no memory size
    devices_needed: int | None  # with ZeRO-3/FSDP sharding; None when even sharding cannot fit it
    samples_per_s: float | None  # per device
    low: float | None
    high: float | None
    kind: str | None  # projected | estimated | None
    basis: str
    reason: str | None = None
    caveat: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def devices_needed(analysis: ModelAnalysis, accelerator: Accelerator) -> tuple[bool | None, int | None, str | None]:
    """(fits on one, devices needed with sharding, reason when it cannot fit at all)."""
    if not accelerator.memory_gb:
        return None, None, f"the catalog has no memory size for {accelerator.model}"
    usable = accelerator.memory_gb * BYTES_PER_GB * USABLE_MEMORY_FRACTION
    memory = analysis.memory
    if memory.peak_bytes <= usable:
        return True, 1, None
    per_device = memory.peak_activations_bytes
    if per_device >= usable:
        remedies = [] if analysis.batch == 1 else ["lower --batch"]
        if analysis.seq and analysis.batch == 1:
            remedies.append("shorten --seq")
        if not analysis.checkpointing:
            remedies.append("recompute activations (--activation-checkpointing)")
        return False, None, (f"the activations of one batch of {analysis.batch} alone need "
                             f"{per_device / BYTES_PER_GB:,.1f} GB of the {usable / BYTES_PER_GB:,.0f} GB usable on "
                             f"{accelerator.model}, even with the rest sharded"
                             + (f": {' or '.join(remedies)}" if remedies else ""))
    return False, math.ceil(memory.states_bytes / (usable - per_device)), None


def device_fits(analysis: ModelAnalysis, catalog: Sequence[Accelerator],
                points: Sequence[projection.Point]) -> list[DeviceFit]:
    """One entry per catalog accelerator (CPUs left out): fit, devices needed, speed or reason.
    ``points`` are the reference family's measured and published points (reference_family)."""
    family = reference_family(analysis)
    out = []
    for accelerator in catalog:
        if accelerator.type == "CPU":
            continue
        fits, needed, memory_reason = devices_needed(analysis, accelerator)
        if memory_reason and needed is None:  # it cannot train there at all: no speed to show
            out.append(DeviceFit(accelerator.model, accelerator.memory_gb, fits, None, None, None, None, None, "",
                                 memory_reason))
            continue
        speed = _speed(analysis, accelerator, family, points, catalog)
        out.append(DeviceFit(accelerator.model, accelerator.memory_gb, fits, needed, speed.samples_per_s, speed.low,
                             speed.high, speed.kind, speed.basis, speed.reason if speed.samples_per_s is None else None,
                             speed.caveat))
    return out


@dataclass(frozen=True)
class _Speed:
    samples_per_s: float | None
    low: float | None
    high: float | None
    kind: str | None
    basis: str
    reason: str | None = None
    caveat: str | None = None


def reference_family(analysis: ModelAnalysis) -> tuple[str, str] | None:
    """The (workload, size) whose points set this model's utilisation: by its kind, or for a
    built-in workload its own family."""
    if analysis.kind in REFERENCE_FAMILY:
        return REFERENCE_FAMILY[analysis.kind]
    workload = analysis.model.split("/", 1)[0]
    return {"cnn": ("cnn", "resnet50"), "transformer": ("transformer", "gpt2-small")}.get(workload)


def _speed(analysis: ModelAnalysis, accelerator: Accelerator, family, points, catalog) -> _Speed:
    if family is None or not analysis.flops_per_sample:
        return _Speed(None, None, None, None, "", "no reference family for this model to learn utilisation from")
    workload, size = family
    projected = projection.project(accelerator, workload, size, analysis.precision, points, catalog,
                                   flops_per_sample=analysis.flops_per_sample, check_memory=False,
                                   calibration_flops_per_sample=projection.FLOPS_PER_SAMPLE.get(family))
    if projected.samples_per_s is not None:
        basis = (f"roofline projection: utilisation learned from {len(projected.basis)} {workload}/{size} point(s), "
                 "applied to this model's FLOPs per sample")
        return _Speed(projected.samples_per_s, projected.low, projected.high, projected.kind, basis,
                      caveat=projected.caveat)
    if not projected.reason.startswith("fewer than"):  # a refusal the MFU estimate must not paper over
        return _Speed(None, None, None, None, "", projected.reason)
    estimate = mfu_estimate(analysis, accelerator, family, points, catalog)
    return estimate or _Speed(None, None, None, None, "", projected.reason)


def mfu_estimate(analysis: ModelAnalysis, accelerator: Accelerator, family: tuple[str, str],
                 points: Sequence[projection.Point], catalog: Sequence[Accelerator]) -> _Speed | None:
    """samples/s = MFU × the device's dense peak ÷ the model's FLOPs per sample, the MFU (model FLOPs
    ÷ the device's dense peak) taken from the family's points in the same precision; the range of
    those MFUs gives low and high. None without such points or a peak."""
    peak = accelerator.peak_tflops(analysis.precision)
    family_flops = projection.FLOPS_PER_SAMPLE.get(family)
    if not peak or not family_flops:
        return None
    by_model = {a.model: a for a in catalog}
    used = [p for p in points if p.precision == analysis.precision and p.device in by_model
            and by_model[p.device].peak_tflops(p.precision)]
    if not used:
        return None
    mfus = [p.samples_per_s * family_flops / (by_model[p.device].peak_tflops(p.precision) * 1e12) for p in used]
    rate = lambda mfu: mfu * peak * 1e12 / analysis.flops_per_sample  # noqa: E731
    devices = sorted({p.device for p in used})
    kinds = " and ".join(sorted({p.kind for p in used}))
    basis = (f"estimated: MFU {statistics.median(mfus):.0%} (median of {len(mfus)} {kinds} {family[0]}/{family[1]} "
             f"{analysis.precision} result(s) on {', '.join(devices)}) × {accelerator.model}'s dense "
             f"{analysis.precision} peak {peak:g} TFLOP/s ÷ this model's FLOPs per sample")
    caveat = None if accelerator.model in devices else (
        f"MFU from {kinds} results on {', '.join(devices)} only: assumes {accelerator.model} reaches the same share "
        "of its peak")
    return _Speed(rate(statistics.median(mfus)), rate(min(mfus)), rate(max(mfus)), ESTIMATED, basis, caveat=caveat)


@dataclass(frozen=True)
class InstancePlan:
    """A training run of ``total_samples`` on one price-sheet instance, or the reason it cannot be
    planned there. All its accelerators train together (ZeRO-3/FSDP when the model needs several),
    each at the device's samples/s: communication is not modelled, so wall time is a lower bound."""

    option: str
    accelerator: str | None
    accelerator_count: int
    usd_per_h: float | None
    devices_needed: int | None
    samples_per_s: float | None  # the whole instance
    speed_kind: str | None  # projected | estimated
    hours: float | None
    usd: float | None
    kwh: float | None  # estimated from TDP (core.views.estimates.TDP_ENERGY_METHOD)
    co2_kg: float | None
    reason: str | None = None
    caveat: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def plan_run(fits: Sequence[DeviceFit], rows: Sequence, total_samples: float, catalog: Sequence[Accelerator],
             spot: bool = False, g_co2_per_kwh: float | None = None) -> list[InstancePlan]:
    """Every accelerator instance of a price sheet (core.views.pricing.PriceRow) for the run,
    cheapest first; those that cannot hold or price it last, each with its reason."""
    from core.units import J_PER_KWH, S_PER_H
    from core.views.estimates import accelerator_instances, estimated_j_per_sample, no_price, not_in_catalog

    by_device = {f.device: f for f in fits}
    plans = []
    for row, accelerator in accelerator_instances(rows, catalog):
        price = row.price_usd_per_h(spot)
        device = by_device.get(accelerator.model) if accelerator else None
        blank = dict(option=row.option, accelerator=accelerator.model if accelerator else None,
                     accelerator_count=row.accelerator_count, usd_per_h=price,
                     devices_needed=device.devices_needed if device else None, samples_per_s=None,
                     speed_kind=device.kind if device else None, hours=None, usd=None, kwh=None, co2_kg=None)
        reason = None
        if device is None:
            reason = not_in_catalog(row)
        elif device.devices_needed is None:
            reason = device.reason or "the model cannot be held even when sharded"
        elif device.devices_needed > row.accelerator_count:
            reason = (f"needs {device.devices_needed} × {device.device} (sharded); this instance has "
                      f"{row.accelerator_count}: several instances would be needed (not planned)")
        elif device.samples_per_s is None:
            reason = device.reason
        elif price is None:
            reason = no_price(spot)
        if reason:
            plans.append(InstancePlan(**blank, reason=reason))
            continue
        rate = device.samples_per_s * row.accelerator_count
        hours = total_samples / rate / S_PER_H
        j_per_sample = estimated_j_per_sample(accelerator, device.samples_per_s)
        kwh = total_samples * j_per_sample / J_PER_KWH if j_per_sample else None
        plans.append(InstancePlan(**{**blank, "samples_per_s": rate, "hours": hours, "usd": hours * price,
                                     "kwh": kwh, "co2_kg": kwh * g_co2_per_kwh / 1000 if kwh and g_co2_per_kwh else None},
                                  caveat=device.caveat))
    return sorted(plans, key=lambda p: (p.usd is None, p.usd or 0.0, p.option))
