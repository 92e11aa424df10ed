"""Harness overhead, the GEMM ceiling, meter overhead, stability, the machine's noise floor and probe-cost scaling."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

from bench.common import (
    attempt,
    cv,
    failures,
    figures,
    header,
    median,
    outcome,
    ratio,
    table,
    verdict,
)
from core.measure.stats import percentile

ROUNDS = 3
SUITE_PROBE_FAILED = 1  # `python -m core suite`'s exit status when a probe failed (its result is stored)


def _bare_loop_samples_per_s(workload: str, size: str, precision: str, seconds: float,
                             device: str = "cpu") -> float:
    """A plain hand-written PyTorch training loop over the same model, data and precision (on
    CUDA: one synchronisation at each end of the window, as the probe's event timer does)."""
    import torch

    from core.facts.spec import ProbeSpec
    from core.measure.probe import build_workload, default_batch_size

    spec = ProbeSpec(workload=workload, size=size, precision=precision)
    batch = default_batch_size(spec)
    w = build_workload(spec, device, batch)
    model = w.model.to(device)
    model.train()
    optimizer = w.make_optimizer(model.parameters())
    dtype = torch.bfloat16 if precision == "bf16" else None
    device_type = device.split(":")[0]
    if device_type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = precision == "tf32"
    sync = torch.cuda.synchronize if device_type == "cuda" else (lambda: None)

    def step(i: int) -> None:
        x, y = w.batches[i % len(w.batches)]
        with torch.autocast(device_type, dtype=dtype, enabled=dtype is not None):
            loss = w.loss_fn(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    for i in range(5):
        step(i)
    sync()
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        step(steps)
        steps += 1
    sync()
    return w.samples_per_step * steps / (time.perf_counter() - start)


def _probe_samples_per_s(workload: str, size: str, precision: str, seconds: float, device: str = "cpu") -> float:
    """An Accelscope probe in this process (it raises when the probe fails: see ``attempt``)."""
    from core.facts.spec import ProbeSpec
    from core.measure import backends
    from core.measure.probe import run_probe

    chosen = backends.find(device, backends.discover())
    spec = ProbeSpec(workload=workload, size=size, device=chosen.id, precision=precision, seconds=seconds)
    return run_probe(spec, backends.open_backend(chosen), "bench").samples_per_s


def overhead(rounds: int = ROUNDS, seconds: float = 3.0) -> None:
    """Bare loop vs Accelscope probe, interleaved A/B/A/B in one process."""
    header("Harness overhead: probe vs bare PyTorch loop (A/B interleaved, CPU)")
    rows = []
    for workload in ("mlp", "cnn", "transformer"):
        for precision in ("fp32", "bf16"):
            bare, probe = [], []
            for round_index in range(rounds):  # A/B then B/A: neither side always runs second
                order = [bare, probe] if round_index % 2 == 0 else [probe, bare]
                for results in order:
                    measure = _bare_loop_samples_per_s if results is bare else _probe_samples_per_s
                    results.append(attempt(measure, workload, "S", precision, seconds))
            probe_over_bare = ratio(median(probe), median(bare))
            rows.append({"workload": f"{workload}/S", "precision": precision,
                         "bare samples/s (median)": median(bare), "probe samples/s (median)": median(probe),
                         "probe ÷ bare": probe_over_bare, "target ≥0.98": verdict(probe_over_bare, 0.98),
                         "status": failures(bare_loop=bare, probe=probe)})
    table(rows)


TIGHT_MM = """
import json, sys, time, torch
n, dtype, seconds = int(sys.argv[1]), getattr(torch, sys.argv[2]), float(sys.argv[3])
x, w, g = (torch.randn(n, n, dtype=dtype) for _ in range(3))
for _ in range(2):
    torch.mm(x, w.T); torch.mm(g.T, x)
iterations, start = 0, time.perf_counter()
while time.perf_counter() - start < seconds:
    torch.mm(x, w.T)  # forward
    torch.mm(g.T, x)  # weight gradient
    iterations += 1
print(json.dumps(4 * n**3 * iterations / (time.perf_counter() - start) / 1e12))
"""


def _tight_mm_tflops(n: int, dtype: str, seconds: float) -> float:
    """The two matmuls of the gemm probe's step in a tight loop, in a process with the probe's env."""
    from core.measure.runner import _child_env

    out = subprocess.run([sys.executable, "-c", TIGHT_MM, str(n), dtype, str(seconds)], env=_child_env(),
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def ceiling(rounds: int = ROUNDS, seconds: float = 3.0) -> None:
    """gemm probe TFLOP/s vs a tight torch.mm loop of the same two matmuls (both in fresh processes
    with the same environment), and vs the catalog's dense peak."""
    from core.facts.spec import ProbeSpec
    from core.measure.backends.cpu import cpu_model_name
    from core.measure.runner import run_isolated
    from core.measure.workloads import WORKLOADS
    from core.views import catalog

    header("GEMM ceiling: gemm probe vs tight torch.mm loop (CPU, isolated processes)")
    rows = []
    peak_entry = catalog.match(cpu_model_name(), catalog.load_catalog())
    for size in ("M", "L"):
        n = WORKLOADS["gemm"].sizes[size]["n"]
        for precision, dtype in (("fp32", "float32"), ("bf16", "bfloat16")):
            tight, probe = [], []
            for _ in range(rounds):
                tight.append(attempt(_tight_mm_tflops, n, dtype, seconds))
                spec = ProbeSpec(workload="gemm", size=size, precision=precision, seconds=seconds)
                probe.append(outcome(run_isolated(spec, "bench", meters="none"), "achieved_tflops"))
            probe_over_tight = ratio(median(probe), median(tight))
            peak = peak_entry.peak_tflops(precision) if peak_entry else None
            rows.append({"gemm size": f"{size} (n={n})", "precision": precision,
                         "tight mm TFLOP/s": median(tight), "probe TFLOP/s": median(probe),
                         "probe ÷ tight": probe_over_tight, "target ≥0.95": verdict(probe_over_tight, 0.95),
                         "catalog dense peak": peak if peak else f"none for {cpu_model_name()!r}",
                         "status": failures(tight_loop=tight, probe=probe)})
    table(rows)


def meters(rounds: int = ROUNDS, seconds: float = 3.0) -> None:
    """Throughput with energy meters on vs off, each probe in its own process, interleaved."""
    from core.facts.spec import ProbeSpec
    from core.measure.runner import run_isolated

    header("Meter overhead: throughput with meters on vs off (CPU, isolated probes)")
    rows = []
    for workload in ("mlp", "transformer"):
        spec = ProbeSpec(workload=workload, size="S", seconds=seconds)
        on, off, methods = [], [], set()
        for round_index in range(rounds):  # A/B then B/A
            for meters_on in ((False, True) if round_index % 2 == 0 else (True, False)):
                result = run_isolated(spec, "bench", meters="auto" if meters_on else "none")
                (on if meters_on else off).append(outcome(result, "samples_per_s"))
                if meters_on:
                    methods.update(result.energy.methods if result.energy else ())
        on_over_off = ratio(median(on), median(off))
        rows.append({"workload": f"{workload}/S", "off samples/s": median(off), "on samples/s": median(on),
                     "on ÷ off": on_over_off, "target ≥0.99": verdict(on_over_off, 0.99),
                     "meters": "; ".join(sorted(methods)), "status": failures(meters_off=off, meters_on=on)})
    table(rows)


def stability(repeats: int = 5) -> None:
    """Five repeats of the quick suite: CV of each probe's throughput across repeats, suite wall time."""
    header(f"Stability: {repeats} repeats of `python -m core suite --quick` (CPU)")
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'stability.db'}"
        walls = []
        for _ in range(repeats):
            start = time.perf_counter()
            suite = subprocess.run([sys.executable, "-m", "core", "suite", "--quick", "--db", url, "--json"],
                                   capture_output=True)
            if suite.returncode not in (0, SUITE_PROBE_FAILED):  # a failed probe is stored and shown below
                sys.stderr.write(suite.stderr.decode(errors="replace")[-3000:])
                suite.check_returncode()
            walls.append(time.perf_counter() - start)
        out = subprocess.run([sys.executable, "-m", "core", "results", "--json", "--db", url],
                             check=True, capture_output=True, text=True).stdout
    results = [json.loads(line) for line in out.splitlines()]
    by_probe: dict[tuple, list] = {}
    for r in results:
        by_probe.setdefault((r["workload"], r["precision"]), []).append(r)
    rows = []
    for (workload, precision), group in sorted(by_probe.items()):
        stored = [SimpleNamespace(**r) for r in group]
        throughput = [outcome(r, "samples_per_s") for r in stored]
        spread = cv(figures(throughput))
        rows.append({"probe": f"{workload}/S {precision}", "repeats": len(group),
                     "median samples/s": median(throughput), "CV across repeats": spread,
                     "target ≤0.03": verdict(spread, 0.03, at_most=True),
                     "median step-time CV within a probe": median(outcome(r, "step_time_cv") for r in stored),
                     "status": failures(probe=throughput)})
    table(rows)
    print(f"suite wall time (s), each repeat: {', '.join(f'{w:.1f}' for w in walls)}; "
          f"median {statistics.median(walls):.1f} s (target < 60 s)\n")


def _fixed_work_step_times(threads: int, n: int, seconds: float) -> list[float]:
    """Seconds per identical n×n fp32 matrix multiply (no Python allocation, no autograd), in a
    child process with ``threads`` threads: the same work every step, so every variation is the machine's."""
    code = f"""
import json, time, torch
torch.set_num_threads({threads})
a, b, c = torch.randn({n}, {n}), torch.randn({n}, {n}), torch.empty({n}, {n})
for _ in range(5):
    torch.mm(a, b, out=c)
times, end = [], time.perf_counter() + {seconds}
while time.perf_counter() < end:
    t = time.perf_counter(); torch.mm(a, b, out=c); times.append(time.perf_counter() - t)
print(json.dumps(times))
"""
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def noise_floor(rounds: int = ROUNDS, seconds: float = 4.0) -> None:
    """Step-time CV of a loop that does exactly the same work every step, next to the quick suite's
    probes: a probe cannot be steadier than the machine it runs on."""
    import os

    header("Noise floor: step-time CV of identical work (fixed-size matmul, no training), CPU")
    rows = []
    for round_ in range(1, rounds + 1):
        for threads, n in ((1, 1024), (os.cpu_count() or 1, 1536)):
            times = attempt(_fixed_work_step_times, threads, n, seconds)
            failed = isinstance(times, str) or not times
            rows.append({"round": round_, "threads": threads, "matmul n": n,
                         "step ms (median)": None if failed else statistics.median(times) * 1e3,
                         "steps": None if failed else len(times), "step-time CV": None if failed else cv(times),
                         "p90 ÷ p10": None if failed else ratio(percentile(times, 90), percentile(times, 10)),
                         "status": times if isinstance(times, str) else "ok" if times else "failed: no steps"})
    table(rows)


def scaling(seconds: float = 1.0) -> None:
    """How a probe's wall time grows with model size (isolated probes, meters off)."""
    from core.facts.spec import ProbeSpec
    from core.measure.runner import run_isolated

    header("Scaling: probe wall time vs model size (CPU, isolated, 1 s window)")
    rows = []
    for workload, size in (("mlp", "S"), ("mlp", "M"), ("cnn", "S"), ("cnn", "M"), ("transformer", "S"),
                           ("transformer", "M"), ("gemm", "S"), ("gemm", "M"), ("gemm", "L")):
        start = time.perf_counter()
        result = run_isolated(ProbeSpec(workload=workload, size=size, seconds=seconds), "bench", meters="none")
        total_s = time.perf_counter() - start
        rows.append({"probe": f"{workload}/{size}", "params": result.params,  # None (shown "—") when it failed
                     "GFLOP/step": _scaled(result.flops_per_step, 1e-9), "step ms": _scaled(result.step_time_s, 1e3),
                     "steps": result.steps, "warm-up steps": result.warmup_steps,
                     "in-process s": result.wall_time_s, "with process start s": total_s,
                     "status": failures(probe=[outcome(result, "step_time_s")]).removeprefix("probe ")})
    table(rows)


def _scaled(value: float | None, factor: float) -> float | None:
    """``value × factor``, or None (no figure, never a made-up 0) when a failed probe gave none."""
    return None if value is None else value * factor
