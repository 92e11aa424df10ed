"""The two probes besides the training step (issue 15), run in the probe child like it:

- ``infer``: the model in eval mode under ``torch.inference_mode``, one batch per "step", each
  batch timed alone (host clock, the device synchronised after it), because a request's latency is
  what a caller waits for: every request in a batch waits for the whole batch. The step-time
  percentiles are therefore the per-request latency percentiles; throughput is the batch over the
  mean latency, one batch in flight.
- ``converge``: the training step of the workload's learnable synthetic task, run from its first
  step until the smoothed loss reaches ``spec.target_loss`` or ``spec.seconds`` (the cap) stops it.
  The losses are read every ``CHECK_EVERY_STEPS`` steps (one device synchronisation each, so a GPU's
  queue stays full); the loss is smoothed by a bias-corrected exponential moving average
  (``SMOOTHING``), the same for every device and precision, so that "reached" means the same thing
  for all of them. The step that reached the target is found exactly; its time is interpolated
  linearly inside its check interval. The first step is read on its own, so the curve starts at
  step 1 with its real time: on a GPU that first step carries the start-up (CUDA and cuDNN
  initialisation), which is part of the time to target, as it is of any training run. The energy
  covers the whole run, to the check that saw the target (up to 9 steps past it).
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from typing import Callable, Sequence

from core.errors import ImplausibleMeasurement, ProbeDiverged
from core.facts.energy import EnergyRecord
from core.facts.results import ProbeResult
from core.facts.spec import ProbeSpec
from core.facts.validation import result_problems
from core.measure.backends import Backend
from core.measure.probe import (
    MeteredWindow,
    Phase,
    TrainingStep,
    count_flops,
    default_policy,
    measure,
    placed_model,
    prepare,
    summarize,
)
from core.measure.stats import LoopTimes, WallClockTimer, percentile

CHECK_EVERY_STEPS = 10
SMOOTHING = 0.9  # EMA weight of the past; bias-corrected, so the first smoothed loss is the first loss
MAX_CURVE_POINTS = 512


def run(spec: ProbeSpec, backend: Backend, run_id: str, *, meters: Sequence = (),
        clock: Callable[[], float] = time.perf_counter, policy=None, idle_w: dict | None = None,
        on_phase: Phase = lambda phase, **detail: None) -> ProbeResult:
    runner = run_inference if spec.mode == "infer" else run_converge
    result = runner(spec, backend, run_id, meters=meters, clock=clock, policy=policy, idle_w=idle_w,
                    on_phase=on_phase)
    problems = result_problems(result)
    if problems:
        raise ImplausibleMeasurement("the measurement is not physically possible, so it is not reported: "
                                     + "; ".join(problems))
    on_phase("done", settled=result.warmup_settled is not False)
    return result


@contextlib.contextmanager
def inference_context(spec: ProbeSpec, backend: Backend):
    """``torch.inference_mode`` and the precision's autocast, entered once around the whole
    measurement: entering them per batch costs microseconds a serving loop does not pay."""
    import torch

    autocast, _ = backend.configure_precision(spec.precision)  # no gradients: no loss scaling
    with torch.inference_mode(), autocast():
        yield


def prepare_inference(spec: ProbeSpec, backend: Backend, clock: Callable[[], float]) -> TrainingStep:
    """The workload's model in eval mode on the device and one inference batch as its "step" (to
    be run inside :func:`inference_context`)."""
    import torch

    workload, model, batch_size = placed_model(spec, backend)
    model.eval()
    backend.reset_peak_memory()
    forward = torch.compile(model) if spec.compile else model
    batches = workload.batches
    counter = iter(range(1 << 62))

    def infer(module=forward) -> None:  # run inside inference_context: entered once, not per batch
        module(batches[next(counter) % len(batches)][0])

    compile_time_s = None
    if spec.compile:
        started = clock()
        infer()
        backend.synchronize()
        compile_time_s = clock() - started
    return TrainingStep(infer, lambda: infer(model), model, workload, batch_size, compile_time_s, None)


def run_inference(spec: ProbeSpec, backend: Backend, run_id: str, *, meters: Sequence, clock, policy,
                  idle_w: dict | None, on_phase: Phase) -> ProbeResult:
    started = clock()
    on_phase("build")
    with inference_context(spec, backend):
        inference = prepare_inference(spec, backend, clock)
        timer = WallClockTimer(clock, backend.synchronize)  # each batch alone: its latency, not the queue's
        times, readings, _, _, contention = measure(inference, backend, policy or default_policy(spec, meters),
                                                    meters, clock, on_phase, timer=timer)
        memory = backend.peak_memory()
        on_phase("flops")
        flops_per_batch, flops_method = count_flops(inference.uncompiled)
    result = summarize(spec, backend, run_id, inference, times, readings, (None, None), contention,
                       flops_per_batch, flops_method, idle_w, memory, wall_time_s=clock() - started)
    return dataclasses.replace(result, mode="infer", step_time_p99_s=percentile(times.steps_s, 99))


def _thinned(curve: list[tuple[int, float, float]]) -> tuple[tuple[int, float, float], ...]:
    """At most MAX_CURVE_POINTS points, always keeping the first and the last."""
    if len(curve) <= MAX_CURVE_POINTS:
        return tuple(curve)
    stride = -(-len(curve) // (MAX_CURVE_POINTS - 1))
    return tuple(curve[:-1:stride]) + (curve[-1],)


def run_converge(spec: ProbeSpec, backend: Backend, run_id: str, *, meters: Sequence, clock, policy,
                 idle_w: dict | None, on_phase: Phase) -> ProbeResult:
    import torch

    started = clock()
    on_phase("build")
    training = prepare(spec, backend, clock)
    cap_s, target = spec.seconds, spec.target_loss
    window = MeteredWindow(backend, meters)
    window.begin()
    on_phase("window", seconds=cap_s)
    t0 = clock()
    pending: list = []
    ema, seen = 0.0, 0
    first_loss = last_loss = smoothed = None
    curve: list[tuple[int, float, float]] = []
    interval_means: list[float] = []
    steps = last_check_step = 0
    last_check_s = 0.0
    reached_step = reached_s = None
    if training.first_loss is not None:  # torch.compile ran the first step while compiling: it counts
        first_loss = float(training.first_loss.float().item())
        seen, steps = 1, 1
        ema = (1 - SMOOTHING) * first_loss
        smoothed = first_loss
        last_check_step = 1
        curve.append((1, 0.0, first_loss))  # its time is compile_time_s, kept out of the time to target
    try:
        while True:
            pending.append(training.step().detach())
            steps += 1
            elapsed = clock() - t0  # no synchronisation: the host runs ahead of the device
            if steps % CHECK_EVERY_STEPS and steps != 1 and elapsed < cap_s:
                continue  # the first step is read at once: its time (start-up included) is on the curve
            values = torch.stack(pending).float().tolist()  # one synchronisation per check
            now_s = clock() - t0
            pending.clear()
            for offset, value in enumerate(values, start=1):
                if value != value or value in (float("inf"), float("-inf")):
                    raise ProbeDiverged(f"the training loss became {value} at step {last_check_step + offset} "
                                        "(training diverged); try fp32 or bf16 instead of fp16")
                seen += 1
                ema = SMOOTHING * ema + (1 - SMOOTHING) * value
                smoothed = ema / (1 - SMOOTHING ** seen)
                first_loss = value if first_loss is None else first_loss
                if reached_step is None and smoothed <= target:
                    reached_step = last_check_step + offset
                    reached_s = last_check_s + (now_s - last_check_s) * offset / len(values)
            last_loss = values[-1]
            curve.append((steps, now_s, smoothed))
            interval_means.append((now_s - last_check_s) / len(values))
            on_phase("converge", step=steps, seconds=now_s, loss=smoothed)
            last_check_step, last_check_s = steps, now_s
            if reached_step is not None or now_s >= cap_s:
                break
    finally:
        window_s = clock() - t0
        window.end()
    readings = window.readings
    memory = backend.peak_memory()
    on_phase("flops")
    flops_per_step, flops_method = count_flops(training.uncompiled)
    times = LoopTimes(warmup_s=(), steps_s=tuple(interval_means), settled=None, window_s=window_s)
    result = summarize(spec, backend, run_id, training, times, readings, (first_loss, last_loss), window.contention,
                       flops_per_step, flops_method, idle_w, memory, wall_time_s=clock() - started)
    workload = training.workload
    reached = reached_step is not None
    reason = (f"the smoothed loss reached {target:g} at step {reached_step:,}" if reached else
              f"the {cap_s:g} s cap stopped it at step {steps:,} with the smoothed loss at {smoothed:.4g}, "
              f"above the target {target:g}: give a longer --max-seconds or a higher --target-loss")
    return dataclasses.replace(
        result, mode="converge", target_loss=target, reached=reached, stop_reason=reason,
        steps=steps, steps_to_target=reached_step if reached else steps,
        time_to_target_s=reached_s if reached else now_s, loss_curve=_thinned(curve), warmup_steps=0,
        samples_per_s=workload.samples_per_step * steps / now_s,
        tokens_per_s=workload.tokens_per_step * steps / now_s if workload.tokens_per_step else None,
        achieved_tflops=flops_per_step * steps / now_s / 1e12 if flops_per_step else None,
        energy=EnergyRecord.from_readings(readings, samples=workload.samples_per_step * steps,
                                          flops=(flops_per_step or 0) * steps, idle_w=idle_w,
                                          window_s=window_s) if readings else None)
