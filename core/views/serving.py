"""Serving cost (issue 15): for a target — every request answered within a p99 latency bound, at a
given request rate — the instances of a price sheet (and your own hardware) that meet it, with how
many replicas and what 1M inferences cost. Pure functions over flat rows of inference results
(core.facts.rows.flat_row with mode "infer"); nothing is stored.

A replica is one device serving batches of the measured size one at a time, so it answers
``samples_per_s`` (batch ÷ mean latency) requests per second at the measured latency. The target
needs ``ceil(rate ÷ that)`` replicas. A batch of B must also fill: with requests arriving evenly
at rate ÷ n per replica, the first request of a batch waits (B − 1) × n ÷ rate for the others, so
its latency is that wait plus the batch's p99 (a deterministic-arrival model: real traffic is
burstier, so keep a margin). A configuration whose fill wait and p99 cannot fit the bound at any
replica count that also carries the rate is refused, saying so. Cloud replicas are rented as whole
instances (an instance of k accelerators hosts k replicas: ⌈n ÷ k⌉ of them) or, on a CPU, by the
vCPU share a replica used (CPU replicas pack onto bigger instances); own hardware is
the purchase price amortized plus electricity at the measured power, every replica busy (an upper
bound below full load). Throughput is measured here, or published: an MLPerf Inference Server
figure (queries/s per accelerator with p99 within its bound, data/references/inference) serves a
target whose bound is at least that bound, at that rate per accelerator — labelled published, with
its source, and with its stack (int8 TensorRT), which is not a PyTorch eager run's. The training
projection does not apply to inference (batch-1 inference is mostly memory- and launch-bound, where a
roofline fitted on training throughput says little), so nothing is projected, and the view says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

from core.errors import InvalidCostSettings
from core.units import S_PER_H
from core.views import catalog, pricing
from core.views.cost import CostSettings, WorkRate, own_hardware_cost

INFERENCES_PER_MILLION = 1e6
NOT_PROJECTED = ("no inference figure is projected: batch-1 inference is mostly memory- and launch-bound, and the "
                 "projection is fitted on training throughput; measure it (python -m core probe --mode infer)")


@dataclass(frozen=True)
class ServingTarget:
    """What the service must do: answer ``requests_per_s`` with a p99 latency at most ``p99_ms``."""

    p99_ms: float = 20.0
    requests_per_s: float = 500.0

    def __post_init__(self) -> None:
        for name, low, high in (("p99_ms", 0.01, 600_000.0), ("requests_per_s", 0.001, 1e9)):
            value = getattr(self, name)
            if (isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value)
                    or not low <= value <= high):
                raise InvalidCostSettings(name, f"{name} must be a number from {low:g} to {high:,g}; got {value!r}")


@dataclass(frozen=True)
class ServingOption:
    """One way to meet the target: a measured configuration on one priced option."""

    configuration: str  # "cnn/resnet50 bf16 · H200 [cuda:0] · batch 256, compiled"
    device_label: str
    precision: str
    batch_size: int
    compile: bool
    p99_ms: float  # the measured batch p99
    worst_latency_ms: float  # the batch's fill wait for its first request + its p99
    replica_requests_per_s: float
    replicas: int
    option: str  # "aws p5.48xlarge (us-east-1)", "own hardware"
    kind: str  # on-demand | spot | own
    usd_per_h: float  # all replicas
    usd_per_1m_inferences: float  # at the target rate
    basis: str
    evidence: str = "measured"


@dataclass(frozen=True)
class NotServing:
    """A measured configuration that cannot meet the target, or cannot be priced, and why."""

    configuration: str
    reason: str


def rented(line: pricing.CostLine, replicas: int, sheet: pricing.PriceSheet, spot: bool) -> tuple[float, str]:
    """($/h, how) to rent ``replicas`` devices on ``line``'s instance: whole instances of an
    accelerator instance (k accelerators each: ⌈replicas ÷ k⌉ of them); on a CPU, the vCPU share
    a replica used (CPU replicas pack onto bigger instances)."""
    row = next((r for r in sheet.rows if r.option == line.option and r.accelerator_count), None)
    if row is None or row.accelerator_type == "CPU":
        return line.usd_per_h * replicas, f"{replicas} × {line.usd_per_h:.4g} $/h (a vCPU share each)"
    instances = math.ceil(replicas / row.accelerator_count)
    price = row.price_usd_per_h(spot)
    return instances * price, (f"{instances} instance(s) × {price:.4g} $/h ({row.accelerator_count} accelerator(s) "
                               f"each, {replicas} used)")


def configuration_of(row: Mapping) -> str:
    compiled = ", compiled" if row.get("compile") else ""
    return (f"{row['workload']}/{row['size']} {row['precision']} · {row['device_label']} · "
            f"batch {int(row['batch_size'])}{compiled}")


def replicas_needed(requests_per_s: float, replica_requests_per_s: float) -> int:
    return max(1, math.ceil(requests_per_s / replica_requests_per_s - 1e-9))


def published_options(published: Iterable, target: ServingTarget, sheet: pricing.PriceSheet, settings: CostSettings,
                      accelerators: Sequence[catalog.Accelerator]) -> tuple[list[ServingOption], list[NotServing]]:
    """Options from published Server figures (core.facts.references.InferenceReference) whose latency
    bound is within the target's: replicas = rate ÷ the per-accelerator figure, priced per accelerator."""
    options, refused = [], []
    for ref in published:
        if ref.scenario != "Server":
            continue
        name = f"{ref.workload}/{ref.size} {ref.precision} · {ref.device} (published)"
        if ref.latency_bound_ms > target.p99_ms:
            refused.append(NotServing(name, f"published at p99 ≤ {ref.latency_bound_ms:g} ms, looser than the "
                                            f"{target.p99_ms:g} ms bound ({ref.label})"))
            continue
        rate = ref.samples_per_s_per_device
        replicas = replicas_needed(target.requests_per_s, rate)
        lines = pricing.cloud_costs(device_kind="gpu", device_name=ref.device, samples_per_s=rate, vcpus_used=None,
                                    rows=sheet.rows, catalog=accelerators, spot=settings.spot)
        if isinstance(lines, pricing.NoPrice):
            refused.append(NotServing(name, f"{lines.reason} (in the {sheet.name} sheet)"))
            continue
        for line in lines:
            usd_per_h, how = rented(line, replicas, sheet, settings.spot)
            options.append(ServingOption(
                configuration=name, device_label=ref.device, precision=ref.precision, batch_size=0, compile=False,
                p99_ms=ref.latency_bound_ms, worst_latency_ms=ref.latency_bound_ms, replica_requests_per_s=rate,
                replicas=replicas, option=line.option, kind=line.kind, usd_per_h=usd_per_h,
                usd_per_1m_inferences=usd_per_h / (target.requests_per_s * S_PER_H) * INFERENCES_PER_MILLION,
                basis=f"{how}, at {rate:,.0f} queries/s per accelerator with p99 ≤ "
                      f"{ref.latency_bound_ms:g} ms, published ({ref.label}; {ref.precision}, a vendor-tuned stack, "
                      f"not PyTorch eager): {ref.source_url}",
                evidence="published"))
    return options, refused


def serving_options(rows: Iterable[Mapping], target: ServingTarget, sheet: pricing.PriceSheet, settings: CostSettings,
                    accelerators: Sequence[catalog.Accelerator] | None = None, published: Iterable = ()
                    ) -> tuple[list[ServingOption], list[NotServing]]:
    """(options that meet the target, cheapest per 1M inferences first; configurations that do not,
    with why). ``rows`` are flat rows; only successful inference results are considered.
    ``published``: InferenceReference figures of the same workload (see :func:`published_options`)."""
    accelerators = tuple(accelerators if accelerators is not None else catalog.load_catalog())
    options, refused = published_options(published, target, sheet, settings, accelerators)
    for row in rows:
        if row.get("mode") != "infer" or row.get("status") != "ok":
            continue
        name = configuration_of(row)
        p99_s, rate = _number(row.get("step_time_p99_s")), _number(row.get("samples_per_s"))
        if p99_s is None or not rate:
            refused.append(NotServing(name, "no latency percentiles recorded"))
            continue
        if p99_s * 1e3 > target.p99_ms:
            refused.append(NotServing(name, f"p99 latency {p99_s * 1e3:.3g} ms is over the {target.p99_ms:g} ms bound "
                                            "(a smaller batch, torch.compile or a faster device may meet it)"))
            continue
        replicas = replicas_needed(target.requests_per_s, rate)
        batch = int(row["batch_size"])
        fill_s = (batch - 1) * replicas / target.requests_per_s
        if p99_s + fill_s > target.p99_ms / 1e3:
            refused.append(NotServing(name, f"a batch of {batch} takes {fill_s * 1e3:.3g} ms to fill at "
                                            f"{target.requests_per_s / replicas:.3g} requests/s per replica; with its "
                                            f"{p99_s * 1e3:.3g} ms p99 that is over the {target.p99_ms:g} ms bound "
                                            "(a smaller batch fills sooner)"))
            continue
        served_per_h = target.requests_per_s * S_PER_H
        common = dict(configuration=name, device_label=str(row["device_label"]), precision=str(row["precision"]),
                      batch_size=batch, compile=bool(row.get("compile")), p99_ms=p99_s * 1e3,
                      worst_latency_ms=(p99_s + fill_s) * 1e3, replica_requests_per_s=rate, replicas=replicas)
        work = WorkRate.of_row(row)
        lines = pricing.cloud_costs(device_kind=work.device_kind, device_name=work.device_name, samples_per_s=rate,
                                    vcpus_used=work.vcpus_used, rows=sheet.rows, catalog=accelerators,
                                    spot=settings.spot)
        if isinstance(lines, pricing.NoPrice):
            refused.append(NotServing(name, f"{lines.reason} (in the {sheet.name} sheet)"))
        else:
            for line in lines:
                usd_per_h, how = rented(line, replicas, sheet, settings.spot)
                options.append(ServingOption(
                    **common, option=line.option, kind=line.kind, usd_per_h=usd_per_h,
                    usd_per_1m_inferences=usd_per_h / served_per_h * INFERENCES_PER_MILLION,
                    basis=f"{replicas} replica(s): {how}, for {target.requests_per_s:g} requests/s"))
        model = catalog.match(work.device_name, accelerators)
        own = own_hardware_cost(work, settings, model.purchase_price_usd if model else None)
        if own.usd_per_1m_samples is None:
            refused.append(NotServing(f"{name} on own hardware", "; ".join(own.missing)))
        else:
            own_usd_per_h = own.usd_per_1m_samples * rate * S_PER_H / INFERENCES_PER_MILLION * replicas
            options.append(ServingOption(
                **common, option="own hardware", kind="own", usd_per_h=own_usd_per_h,
                usd_per_1m_inferences=own_usd_per_h / served_per_h * INFERENCES_PER_MILLION,
                basis=f"{replicas} replica(s), each busy: {own.basis}"))
    # cheapest first; at one price (whole instances), the fewer replicas and the lower latency first
    return sorted(options, key=lambda o: (o.usd_per_1m_inferences, o.replicas, o.worst_latency_ms)), refused


def _number(value) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(
        value) else None
