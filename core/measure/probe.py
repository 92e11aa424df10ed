"""Run one probe in this process: prepare the training step, warm up and time it, summarise.

It runs inside the probe subprocess (see :mod:`core.measure.child`); torch is imported by the
functions that use it, so importing this module (e.g. for ``default_batch_size``) does not load
torch. The device is reached only through its backend (:mod:`core.measure.backends`).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from core.errors import ImplausibleMeasurement, ProbeDiverged
from core.facts.energy import EnergyRecord
from core.facts.results import ProbeResult, new_id, utc_now_iso
from core.facts.spec import ProbeSpec
from core.measure.backends import Backend
from core.facts.validation import result_problems
from core.measure.contention import other_probes
from core.measure.env import fingerprint
from core.measure.hostload import HostLoad
from core.measure.stats import LoopPolicy, LoopTimes, measure_loop
from core.measure.workloads import is_custom_workload, load_builder, size_params

Phase = Callable[..., None]  # on_phase(name, **detail): build, warmup, window, flops, done


def default_batch_size(spec: ProbeSpec) -> int:
    if spec.batch_size is not None:
        return spec.batch_size
    if is_custom_workload(spec.workload):
        return 32
    return int(size_params(spec.workload, spec.size)["batch_size"])


def default_policy(spec: ProbeSpec, meters: Sequence) -> LoopPolicy:
    """A window shorter than a meter can resolve is extended, never reported as 0 J."""
    window_s = max([spec.seconds, *(m.min_window_s for m in meters)])
    return LoopPolicy(seconds=window_s, warmup_bound_s=max(2.0, spec.seconds), warmup_bound_cap_s=max(60.0, 10 * spec.seconds))


def build_workload(spec: ProbeSpec, torch_device: str, batch_size: int):
    """The workload's model, learnable batches on the device, loss and optimizer factory."""
    kwargs: dict = {"seed": spec.seed}
    if spec.channels_last:
        kwargs["channels_last"] = True
    params = {**size_params(spec.workload, spec.size), "precision": spec.precision}  # zoo checks the fit with it
    return load_builder(spec.workload)(params, batch_size, torch_device, **kwargs)


@dataclass
class TrainingStep:
    """A ready training step on the device: ``step()`` runs one (forward, loss, backward, optimizer
    step) and returns the loss; ``uncompiled`` runs the same step without torch.compile."""

    step: Callable[[], Any]
    uncompiled: Callable[[], Any]
    model: Any
    workload: Any
    batch_size: int
    compile_time_s: float | None
    first_loss: Any


def placed_model(spec: ProbeSpec, backend: Backend) -> tuple[Any, Any, int]:
    """(workload, its model on the device in the spec's memory format, batch size), seeded."""
    import torch

    torch.manual_seed(spec.seed)
    batch_size = default_batch_size(spec)
    workload = build_workload(spec, backend.torch_device, batch_size)
    model = workload.model.to(backend.torch_device)
    if spec.channels_last:
        model = model.to(memory_format=torch.channels_last)
    return workload, model, batch_size


def prepare(spec: ProbeSpec, backend: Backend, clock: Callable[[], float],
            wrap: Callable[[Any], Any] | None = None) -> TrainingStep:
    """Build the workload on the device and its training step (compiling it if asked). ``wrap``
    wraps the model before its optimizer is made (DistributedDataParallel in a scaling probe)."""
    import torch

    workload, model, batch_size = placed_model(spec, backend)
    model.train()
    if wrap is not None:
        model = wrap(model)
    optimizer = workload.make_optimizer(model.parameters())
    autocast, scaler = backend.configure_precision(spec.precision)
    backend.reset_peak_memory()
    forward = torch.compile(model) if spec.compile else model
    batches = workload.batches
    counter = iter(range(1 << 62))

    def train_step(module=forward):
        x, y = batches[next(counter) % len(batches)]
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
        return loss

    compile_time_s, first_loss = None, None
    if spec.compile:
        started = clock()
        first_loss = train_step().detach()
        backend.synchronize()
        compile_time_s = clock() - started
    return TrainingStep(train_step, lambda: train_step(model), model, workload, batch_size, compile_time_s,
                        first_loss)


class MeteredWindow:
    """What brackets a measured window: the energy meters, the CPUs other work keeps busy, and other
    probes on the device (looked for at both ends). ``begin()``, run, ``end()``; then ``readings``
    and ``contention``."""

    def __init__(self, backend: Backend, meters: Sequence) -> None:
        self._backend, self._meters, self._host_load = backend, meters, HostLoad()
        self.readings: list = []
        self.contention: dict = {"host_other_cpus": None, "concurrent_probes": 0}

    def begin(self) -> None:
        for meter in self._meters:
            meter.begin()
        self._host_load.begin()
        self.contention["concurrent_probes"] = len(other_probes(self._backend.device.id))

    def end(self) -> None:
        self.contention["host_other_cpus"] = self._host_load.end()
        self.contention["concurrent_probes"] = max(self.contention["concurrent_probes"],
                                                   len(other_probes(self._backend.device.id)))
        self.readings.extend(reading for meter in self._meters for reading in meter.end())


def measure(training: TrainingStep, backend: Backend, policy: LoopPolicy, meters: Sequence,
            clock: Callable[[], float], on_phase: Phase, timer=None) -> tuple[LoopTimes, list, Any, Any, dict]:
    """Warm up, then time the window with the meters running. Returns (times, meter readings,
    first loss, last loss, contention: CPUs other work kept busy and other probes on the device).
    ``timer`` defaults to the backend's (CUDA events on a GPU); a step that returns None (an
    inference batch) leaves the losses None."""
    seen: dict = {"first_loss": training.first_loss, "last_loss": None}
    window = MeteredWindow(backend, meters)

    def step() -> None:
        loss = training.step()
        if loss is None:
            return
        if seen["first_loss"] is None:
            seen["first_loss"] = loss.detach()
        seen["last_loss"] = loss

    def begin_window() -> None:
        on_phase("window", seconds=policy.seconds)
        window.begin()

    def warmup_step(index: int, seconds: float) -> None:
        if index == 1 or index % 10 == 0:
            on_phase("warmup", step=index, step_s=seconds)

    times = measure_loop(step, backend.synchronize, policy, clock, begin_window, window.end,
                         timer=timer or backend.step_timer(clock), on_warmup_step=warmup_step)
    return times, window.readings, seen["first_loss"], seen["last_loss"], window.contention


def run_probe(spec: ProbeSpec, backend: Backend, run_id: str, *, meters: Sequence = (),
              clock: Callable[[], float] = time.perf_counter, policy: LoopPolicy | None = None,
              idle_w: dict | None = None, on_phase: Phase = lambda phase, **detail: None) -> ProbeResult:
    """Measure one probe in this process. Raises on failure (the child classifies it). The spec
    was checked against the device by the parent (core.measure.backends.check_spec). Inference and
    time-to-quality probes are in :mod:`core.measure.modes`."""
    if spec.mode != "train":
        from core.measure import modes

        return modes.run(spec, backend, run_id, meters=meters, clock=clock, policy=policy, idle_w=idle_w,
                         on_phase=on_phase)
    started = clock()
    on_phase("build")
    training = prepare(spec, backend, clock)
    times, readings, first_loss, last_loss, contention = measure(
        training, backend, policy or default_policy(spec, meters), meters, clock, on_phase)
    memory = backend.peak_memory()  # before the FLOP-counting step, which is not the measured one
    losses = finite_losses(first_loss, last_loss)
    on_phase("flops")
    flops_per_step, flops_method = count_flops(training.uncompiled)
    result = summarize(spec, backend, run_id, training, times, readings, losses, contention,
                       flops_per_step, flops_method, idle_w, memory, wall_time_s=clock() - started)
    problems = result_problems(result)
    if problems:  # the one validation the store and import apply: never hand on an impossible measurement
        raise ImplausibleMeasurement("the measurement is not physically possible, so it is not reported: "
                                     + "; ".join(problems))
    on_phase("done", settled=times.settled)
    return result


def summarize(spec: ProbeSpec, backend: Backend, run_id: str, training: TrainingStep, times: LoopTimes,
              readings: list, losses: tuple[float, float], contention: dict,
              flops_per_step: float | None, flops_method: str, idle_w: dict | None, memory: tuple[int | None, str],
              wall_time_s: float) -> ProbeResult:
    """The result: throughput over the timed window, step-time statistics, FLOPs, memory, energy."""
    device, workload = backend.device, training.workload
    stats = times.stats
    memory_bytes, memory_method = memory
    steps = len(times.steps_s)
    energy = EnergyRecord.from_readings(readings, samples=workload.samples_per_step * steps,
                                        flops=(flops_per_step or 0) * steps, idle_w=idle_w,
                                        window_s=times.window_s) if readings else None
    return ProbeResult(
        id=new_id(), run_id=run_id, created_at=utc_now_iso(), status="ok",
        workload=spec.workload, size=spec.size, device=spec.device, precision=spec.precision,
        device_name=device.name, device_identity=device.identity,
        precision_emulated=spec.precision in device.emulated_precisions, batch_size=training.batch_size,
        compile=spec.compile, channels_last=spec.channels_last, seconds_requested=spec.seconds,
        steps=steps, warmup_steps=len(times.warmup_s), warmup_settled=times.settled,
        step_time_s=stats.median_s, step_time_p10_s=stats.p10_s, step_time_p90_s=stats.p90_s,
        step_time_cv=stats.cv, step_times_s=times.steps_s,
        samples_per_s=workload.samples_per_step / stats.mean_s,
        tokens_per_s=workload.tokens_per_step / stats.mean_s if workload.tokens_per_step else None,
        flops_per_step=flops_per_step, flops_method=flops_method,
        achieved_tflops=flops_per_step / stats.mean_s / 1e12 if flops_per_step else None,
        params=sum(p.numel() for p in training.model.parameters()),
        loss_first=losses[0], loss_last=losses[1], host_other_cpus=contention.get("host_other_cpus"),
        concurrent_probes=contention.get("concurrent_probes"),
        peak_memory_bytes=memory_bytes, peak_memory_method=memory_method,
        compile_time_s=training.compile_time_s, wall_time_s=wall_time_s,
        env=fingerprint(backend), energy=energy,
    )


def finite_losses(*losses) -> tuple[float, ...]:
    """The loss tensors as numbers (one device read each). A loss that became NaN or infinite means
    training diverged: the steps measured are not training any more, so the probe fails and says so."""
    values = tuple(float(loss.detach().float().item()) for loss in losses)
    for value in values:
        if not math.isfinite(value):
            raise ProbeDiverged(f"the training loss became {value} (training diverged); try fp32 or bf16 instead of "
                                "fp16, or a smaller learning rate in a custom workload")
    return values


def count_flops(step: Callable[[], object]) -> tuple[float | None, str]:
    """FLOPs of one training step (forward + backward matmuls/convs/attention), counted with
    torch.utils.flop_counter.FlopCounterMode on an extra, untimed step."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter:
        step()
    total = counter.get_total_flops()
    return (float(total) if total else None), "torch.utils.flop_counter.FlopCounterMode"
