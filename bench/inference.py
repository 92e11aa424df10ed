"""Issue 15's benchmarks of the tool: the inference probe against a bare ``inference_mode`` loop
(overhead), what the latency timer can resolve, and how repeatable time to a target loss is over
seeds. CPU; A/B interleaved in one process where two things are compared."""

from __future__ import annotations

import statistics
import time

from bench.common import attempt, cv, failures, header, median, ratio, table, verdict
from core.measure.stats import percentile

ROUNDS = 3
CASES = (("mlp", "S", 1), ("cnn", "S", 1), ("cnn", "S", 32))


def _bare_latencies(workload: str, size: str, batch: int, seconds: float) -> list[float]:
    """A hand-written loop: the same model, eval mode, inference_mode, each batch timed by the host clock."""
    import torch

    from core.facts.spec import ProbeSpec
    from core.measure.probe import build_workload

    spec = ProbeSpec(workload=workload, size=size, batch_size=batch)
    w = build_workload(spec, "cpu", batch)
    model = w.model.eval()
    inputs = [x for x, _ in w.batches]
    with torch.inference_mode():
        for i in range(5):
            model(inputs[i % len(inputs)])
        times, started = [], time.perf_counter()
        while time.perf_counter() - started < seconds or len(times) < 5:
            t0 = time.perf_counter()
            model(inputs[len(times) % len(inputs)])
            times.append(time.perf_counter() - t0)
    return times


def _probe_latencies(workload: str, size: str, batch: int, seconds: float) -> list[float]:
    from core.facts.spec import ProbeSpec
    from core.measure import backends
    from core.measure.probe import run_probe

    spec = ProbeSpec(workload=workload, size=size, batch_size=batch, seconds=seconds, mode="infer")
    cpu = backends.open_backend(backends.find("cpu", backends.discover()))
    return list(run_probe(spec, cpu, "bench").step_times_s)


def overhead(rounds: int = ROUNDS, seconds: float = 2.0) -> None:
    """Median latency and p99 of the inference probe against a bare loop, A/B then B/A."""
    header("Inference harness overhead: probe vs bare inference_mode loop (A/B interleaved, CPU)")
    rows = []
    for workload, size, batch in CASES:
        bare, probe = [], []
        for round_index in range(rounds):
            order = ("bare", "probe") if round_index % 2 == 0 else ("probe", "bare")
            for side in order:
                measure = _bare_latencies if side == "bare" else _probe_latencies
                (bare if side == "bare" else probe).append(attempt(measure, workload, size, batch, seconds))
        bare_ok = [t for t in bare if isinstance(t, list)]
        probe_ok = [t for t in probe if isinstance(t, list)]
        bare_p50 = median([statistics.median(t) for t in bare_ok]) if bare_ok else None
        probe_p50 = median([statistics.median(t) for t in probe_ok]) if probe_ok else None
        bare_p99 = median([percentile(t, 99) for t in bare_ok]) if bare_ok else None
        probe_p99 = median([percentile(t, 99) for t in probe_ok]) if probe_ok else None
        slower = ratio(probe_p50, bare_p50)
        rows.append({"workload": f"{workload}/{size}", "batch": batch,
                     "bare p50 ms": bare_p50 * 1e3 if bare_p50 else None,
                     "probe p50 ms": probe_p50 * 1e3 if probe_p50 else None, "probe ÷ bare (p50)": slower,
                     "bare p99 ms": bare_p99 * 1e3 if bare_p99 else None,
                     "probe p99 ms": probe_p99 * 1e3 if probe_p99 else None,
                     "target ≤1.02": verdict(slower, 1.02, at_most=True),
                     "status": failures(bare_loop=bare, probe=probe)})
    table(rows)


def timer_resolution(calls: int = 200_000) -> None:
    """What the latency timer can resolve: perf_counter's declared resolution, the smallest step two
    consecutive reads show, the cost of one read, and the floor WallClockTimer reports for a step that
    does nothing (what a latency below it cannot be told from)."""
    from core.measure.stats import WallClockTimer

    header("Latency timer resolution (time.perf_counter, WallClockTimer)")
    info = time.get_clock_info("perf_counter")
    reads = [time.perf_counter() for _ in range(calls)]
    steps = [b - a for a, b in zip(reads, reads[1:]) if b > a]
    started = time.perf_counter()
    for _ in range(calls):
        time.perf_counter()
    per_read_s = (time.perf_counter() - started) / calls
    timer = WallClockTimer(time.perf_counter, lambda: None)
    for _ in range(calls // 10):
        timer.start()
        timer.stop()
    empty = timer.collect()
    table([{"clock": f"perf_counter ({info.implementation})", "declared resolution ns": info.resolution * 1e9,
            "smallest observed step ns": min(steps) * 1e9, "one read ns": per_read_s * 1e9,
            "empty step p50 ns": statistics.median(empty) * 1e9, "empty step p99 ns": percentile(empty, 99) * 1e9}])


def repeatability(seeds: int = 5, target_loss: float = 0.05, cap_s: float = 120.0) -> None:
    """Time and steps to the target over seeds (data and initial weights change with the seed)."""
    from core.facts.spec import ProbeSpec
    from core.measure import backends
    from core.measure.probe import run_probe

    header(f"Time-to-target repeatability: cnn/S fp32 to smoothed loss {target_loss:g}, {seeds} seeds (CPU)")
    cpu = backends.open_backend(backends.find("cpu", backends.discover()))
    rows = []
    for seed in range(seeds):
        spec = ProbeSpec(workload="cnn", size="S", mode="converge", target_loss=target_loss, seconds=cap_s, seed=seed)
        result = run_probe(spec, cpu, "bench")
        rows.append({"seed": seed, "reached": result.reached, "steps to target": result.steps_to_target,
                     "time to target s": result.time_to_target_s, "s per step": result.time_to_target_s /
                     result.steps_to_target, "host other CPUs": result.host_other_cpus})
    table(rows)
    steps = [r["steps to target"] for r in rows]
    seconds = [r["time to target s"] for r in rows]
    print(f"CV over seeds: steps {cv(steps):.1%}, time {cv(seconds):.1%} (time also varies with this shared VM's "
          f"load; steps do not)\n")


def run(rounds: int = ROUNDS) -> None:
    overhead(rounds)
    timer_resolution()
    repeatability()
