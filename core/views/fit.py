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


def device_fits(analysis: ModelAnalysis, catalog: Sequence[Accelerator], points: Sequence[projection.Point],
                references: Sequence = ()) -> list[DeviceFit]:
    """One entry per catalog accelerator (CPUs left out): fit, devices needed, speed or reason.
    ``points`` are the reference family's measured and published points; ``references`` the
    published rows (core.facts.references.Reference) for the MFU estimate."""
    family = REFERENCE_FAMILY.get(analysis.kind) or _builtin_family(analysis.model)
    out = []
    for accelerator in catalog:
        if accelerator.type == "CPU":
            continue
        fits, needed, memory_reason = devices_needed(analysis, accelerator)
        speed = _speed(analysis, accelerator, family, points, references, catalog)
        reason = memory_reason or (speed.reason if speed.samples_per_s is None else None)
        out.append(DeviceFit(accelerator.model, accelerator.memory_gb, fits, needed, speed.samples_per_s, speed.low,
                             speed.high, speed.kind, speed.basis, reason, speed.caveat))
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


def _builtin_family(model: str) -> tuple[str, str] | None:
    workload = model.split("/", 1)[0]
    return {"cnn": ("cnn", "resnet50"), "transformer": ("transformer", "gpt2-small")}.get(workload)


def _speed(analysis: ModelAnalysis, accelerator: Accelerator, family, points, references, catalog) -> _Speed:
    if family is None or not analysis.flops_per_sample:
        return _Speed(None, None, None, None, "", "no reference family for this model to learn utilisation from")
    workload, size = family
    projected = projection.project(accelerator, workload, size, analysis.precision, points, catalog,
                                   flops_per_sample=analysis.flops_per_sample,
                                   calibration_flops_per_sample=projection.FLOPS_PER_SAMPLE.get(family))
    if projected.samples_per_s is not None:
        basis = (f"roofline projection: utilisation learned from {len(projected.basis)} {workload}/{size} point(s), "
                 "applied to this model's FLOPs per sample")
        return _Speed(projected.samples_per_s, projected.low, projected.high, projected.kind, basis,
                      caveat=projected.caveat)
    estimate = mfu_estimate(analysis, accelerator, family, references, catalog)
    if estimate is not None:
        return estimate
    return _Speed(None, None, None, None, "", projected.reason)


def mfu_estimate(analysis: ModelAnalysis, accelerator: Accelerator, family: tuple[str, str], references: Sequence,
                 catalog: Sequence[Accelerator]) -> _Speed | None:
    """samples/s = MFU × the device's dense peak ÷ the model's FLOPs per sample, the MFU (model FLOPs
    ÷ the published device's dense peak) taken from the family's published rows in the same
    precision; the range of those MFUs gives low and high. None without such rows or a peak."""
    peak = accelerator.peak_tflops(analysis.precision)
    family_flops = projection.FLOPS_PER_SAMPLE.get(family)
    if not peak or not family_flops:
        return None
    by_model = {a.model: a for a in catalog}
    mfus = []
    for ref in references:
        if (ref.workload, ref.size) != family or ref.precision != analysis.precision or ref.device not in by_model:
            continue
        ref_peak = by_model[ref.device].peak_tflops(ref.precision)
        if ref_peak:
            mfus.append(ref.samples_per_s_per_device * family_flops / (ref_peak * 1e12))
    if not mfus:
        return None
    rate = lambda mfu: mfu * peak * 1e12 / analysis.flops_per_sample  # noqa: E731
    devices = sorted({ref.device for ref in references if (ref.workload, ref.size) == family
                      and ref.precision == analysis.precision})
    basis = (f"estimated: MFU {statistics.median(mfus):.0%} (median of {len(mfus)} published {family[0]}/{family[1]} "
             f"{analysis.precision} result(s) on {', '.join(devices)}) × {accelerator.model}'s dense "
             f"{analysis.precision} peak {peak:g} TFLOP/s ÷ this model's FLOPs per sample")
    caveat = None if accelerator.model in devices else (
        f"MFU measured on {', '.join(devices)} only: assumes {accelerator.model} reaches the same share of its peak")
    return _Speed(rate(statistics.median(mfus)), rate(min(mfus)), rate(max(mfus)), ESTIMATED, basis, caveat=caveat)
