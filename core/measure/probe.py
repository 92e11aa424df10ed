"""Run one probe in this process: build the workload, warm up, time, count FLOPs, meter energy.

It runs inside the probe subprocess (see :mod:`core.measure.runner`); torch is imported by the functions
that use it, so importing this module (e.g. for ``default_batch_size``) does not load torch.
"""

from __future__ import annotations

import contextlib
import resource
import sys
import time
from typing import Callable, Sequence

from core.measure.devices import Device
from core.measure.env import fingerprint
from core.facts.results import ProbeResult, new_id, utc_now_iso
from core.facts.spec import ProbeSpec, check_spec_on_device
from core.measure.stats import LoopPolicy, measure_loop
from core.measure.workloads import is_custom_workload, load_builder, size_params


def synchronizer(device: Device) -> Callable[[], None]:
    import torch

    if device.kind == "cuda":
        return lambda: torch.cuda.synchronize(device.id)
    if device.kind == "mps":
        return torch.mps.synchronize
    if device.kind == "xpu":
        return lambda: torch.xpu.synchronize(device.id)
    return lambda: None


def configure_precision(spec: ProbeSpec, device: Device):
    """Set matmul modes for the precision; return (autocast context factory, grad scaler or None)."""
    import torch

    if device.kind == "cuda":
        tf32 = spec.precision == "tf32"
        torch.backends.cuda.matmul.allow_tf32 = tf32
        torch.backends.cudnn.allow_tf32 = tf32
    if spec.precision in ("bf16", "fp16"):
        dtype = torch.bfloat16 if spec.precision == "bf16" else torch.float16
        autocast = lambda: torch.autocast(device_type=device.kind, dtype=dtype)  # noqa: E731
    else:
        autocast = contextlib.nullcontext
    scaler = torch.amp.GradScaler(device.kind) if spec.precision == "fp16" else None
    return autocast, scaler


def peak_memory(device: Device) -> tuple[int | None, str]:
    import torch

    if device.kind == "cuda":
        return torch.cuda.max_memory_allocated(device.id), "torch.cuda.max_memory_allocated"
    if device.kind == "xpu":
        return torch.xpu.max_memory_allocated(device.id), "torch.xpu.max_memory_allocated"
    if device.kind == "mps":
        return torch.mps.driver_allocated_memory(), "torch.mps.driver_allocated_memory (at end)"
    factor = 1 if sys.platform == "darwin" else 1024
    return (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * factor,
            "process peak RSS (getrusage), includes the Python and torch runtime")


def build_workload(spec: ProbeSpec, device: Device, batch_size: int):
    builder = load_builder(spec.workload)
    kwargs = {"seed": spec.seed}
    if spec.channels_last:
        kwargs["channels_last"] = True
    return builder(size_params(spec.workload, spec.size), batch_size, device.id, **kwargs)


def default_batch_size(spec: ProbeSpec) -> int:
    if spec.batch_size is not None:
        return spec.batch_size
    if is_custom_workload(spec.workload):
        return 32
    return int(size_params(spec.workload, spec.size)["batch_size"])


def run_probe(spec: ProbeSpec, device: Device, run_id: str, *, meters: Sequence = (),
              clock: Callable[[], float] = time.perf_counter,
              policy: LoopPolicy | None = None, idle_w: dict | None = None) -> ProbeResult:
    """Measure one probe in this process. Raises on failure (the caller classifies it)."""
    import torch

    check_spec_on_device(spec, device)
    started = clock()
    torch.manual_seed(spec.seed)
    batch_size = default_batch_size(spec)
    workload = build_workload(spec, device, batch_size)
    model = workload.model.to(device.id)
    if spec.channels_last:
        model = model.to(memory_format=torch.channels_last)
    model.train()
    optimizer = workload.make_optimizer(model.parameters())
    autocast, scaler = configure_precision(spec, device)
    sync = synchronizer(device)
    if device.kind == "cuda":
        torch.cuda.reset_peak_memory_stats(device.id)
    forward = torch.compile(model) if spec.compile else model
    batches = workload.batches
    state = {"i": 0, "loss": None}

    def train_step(module=forward) -> torch.Tensor:
        x, y = batches[state["i"] % len(batches)]
        state["i"] += 1
        with autocast():
            loss = workload.loss_fn(module(x), y)
        optimizer.zero_grad(set_to_none=True)
        if scaler is not None:
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
        else:
            loss.backward()
            optimizer.step()
        state["loss"] = loss
        return loss

    compile_time_s = None
    first_loss = None
    if spec.compile:
        t0 = clock()
        first_loss = train_step().detach()
        sync()
        compile_time_s = clock() - t0

    # A window shorter than a meter can resolve is extended, never reported as 0 J.
    window_s = max([spec.seconds, *(m.min_window_s for m in meters)])
    policy = policy or LoopPolicy(seconds=window_s, max_warmup_s=max(2.0, spec.seconds))
    def timed_step() -> None:
        nonlocal first_loss
        loss = train_step()
        if first_loss is None:
            first_loss = loss.detach()

    readings: list = []

    def begin_meters() -> None:
        for meter in meters:
            meter.begin()

    def end_meters() -> None:
        readings.extend(reading for meter in meters for reading in meter.end())

    times = measure_loop(timed_step, sync, policy, clock, begin_meters, end_meters)
    last_loss = float(state["loss"].detach().float().item())
    memory_bytes, memory_method = peak_memory(device)

    flops_per_step, flops_method = count_flops(lambda: train_step(model))
    stats = times.stats
    samples_per_s = workload.samples_per_step / stats.mean_s
    tokens_per_s = workload.tokens_per_step / stats.mean_s if workload.tokens_per_step else None
    achieved = flops_per_step / stats.mean_s / 1e12 if flops_per_step else None
    energy = None
    if meters:
        from core.facts.energy import energy_record

        energy = energy_record(readings, samples=workload.samples_per_step * len(times.steps_s),
                               flops=(flops_per_step or 0) * len(times.steps_s), idle_w=idle_w,
                               window_s=times.window_s)
    return ProbeResult(
        id=new_id(), run_id=run_id, created_at=utc_now_iso(), status="ok",
        workload=spec.workload, size=spec.size, device=spec.device, precision=spec.precision,
        device_name=device.name, batch_size=batch_size, compile=spec.compile,
        channels_last=spec.channels_last, seconds_requested=spec.seconds,
        steps=len(times.steps_s), warmup_steps=len(times.warmup_s),
        step_time_s=stats.median_s, step_time_p10_s=stats.p10_s, step_time_p90_s=stats.p90_s,
        step_time_cv=stats.cv, step_times_s=times.steps_s, samples_per_s=samples_per_s,
        tokens_per_s=tokens_per_s, flops_per_step=flops_per_step, flops_method=flops_method,
        achieved_tflops=achieved, params=sum(p.numel() for p in model.parameters()),
        loss_first=float(first_loss.float().item()), loss_last=last_loss,
        peak_memory_bytes=memory_bytes, peak_memory_method=memory_method,
        compile_time_s=compile_time_s, wall_time_s=clock() - started,
        env={**fingerprint(device), "warmup_settled": times.settled}, energy=energy,
    )


def count_flops(step: Callable[[], object]) -> tuple[float | None, str]:
    """FLOPs of one training step (forward + backward matmuls/convs/attention), counted with
    torch.utils.flop_counter.FlopCounterMode on an extra, untimed step."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter:
        step()
    total = counter.get_total_flops()
    return (float(total) if total else None), "torch.utils.flop_counter.FlopCounterMode"
