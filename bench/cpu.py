"""What the host CPU does to a measurement: the noise-floor ratio of the quick suite, emulated bf16
(torch's own ISA switches make an AVX-512-BF16 machine run AVX2 kernels), and contention."""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.common import (
    attempt,
    cv,
    failures,
    header,
    median,
    outcome,
    ratio,
    table,
    verdict,
)
from bench.probes import ROUNDS, SUITE_PROBE_FAILED, _fixed_work_step_times

AVX2_ONLY = {"ONEDNN_MAX_CPU_ISA": "AVX2", "ATEN_CPU_CAPABILITY": "avx2"}  # torch's documented ISA caps


def noise_ratio(rounds: int = ROUNDS, seconds: float = 2.0) -> None:
    """In one run, interleaved: the machine's noise floor (step-time CV of identical all-thread work)
    and the quick suite's median step-time CV. Their ratio says how much noise the harness adds."""
    header("Noise-floor ratio: quick suite's median step-time CV ÷ the machine's noise floor (CPU)")
    rows = []
    for round_ in range(1, rounds + 1):
        floor = attempt(_fixed_work_step_times, os.cpu_count() or 1, 1536, 4.0)
        floor_cv = cv(floor) if not isinstance(floor, str) else None
        suite = attempt(_quick_suite_cvs, seconds)
        suite_cv = median(suite) if not isinstance(suite, str) else None
        rows.append({"round": round_, "noise floor CV": floor_cv, "quick suite median step CV": suite_cv,
                     "probes": None if isinstance(suite, str) else len(suite),
                     "ratio": ratio(suite_cv, floor_cv), "goal ≤ 1.5": verdict(ratio(suite_cv, floor_cv), 1.5,
                                                                              at_most=True),
                     "status": failures(floor=[floor], suite=[suite])})
    table(rows)
    overall = ratio(median(r["quick suite median step CV"] for r in rows), median(r["noise floor CV"] for r in rows))
    print(f"median over rounds: ratio {overall if overall is None else f'{overall:.2f}'} "
          f"({verdict(overall, 1.5, at_most=True)})\n")


def _quick_suite_cvs(seconds: float) -> list[float]:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'noise.db'}"
        suite = subprocess.run([sys.executable, "-m", "core", "suite", "--quick", "--seconds", str(seconds),
                                "--meters", "none", "--db", url, "--json"], capture_output=True)
        if suite.returncode not in (0, SUITE_PROBE_FAILED):
            suite.check_returncode()
        out = subprocess.run([sys.executable, "-m", "core", "results", "--json", "--db", url], check=True,
                             capture_output=True, text=True).stdout
    return [row["step_time_cv"] for row in map(json.loads, out.splitlines()) if row["step_time_cv"] is not None]


MATMUL_CODE = """
import json, sys, time, torch
n, dtype = int(sys.argv[1]), getattr(torch, sys.argv[2])
a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
a @ b
times = []
for _ in range(3):
    start = time.perf_counter(); a @ b; times.append(time.perf_counter() - start)
print(json.dumps({"s": min(times), "capability": torch.backends.cpu.get_cpu_capability()}))
"""


def _matmul_s(n: int, dtype: str, env: dict) -> float:
    proc = subprocess.run([sys.executable, "-c", MATMUL_CODE, str(n), dtype], capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=600, check=True)
    return json.loads(proc.stdout)["s"]


def emulated_bf16(rounds: int = 1) -> None:
    """bf16 ÷ fp32 time of a square matmul and of a training probe, with this CPU's own kernels and
    with AVX2 kernels only (ONEDNN_MAX_CPU_ISA=AVX2, ATEN_CPU_CAPABILITY=avx2): what an AVX2-only CPU,
    which has no bf16 units, does to bf16."""
    from core.facts.spec import ProbeSpec
    from core.measure import backends
    from core.measure.runner import run_isolated

    header("Emulated bf16: bf16 ÷ fp32 time, native kernels vs AVX2-only kernels (CPU)")
    rows = []
    for label, env in (("this CPU's kernels", {}), ("AVX2 kernels only", AVX2_ONLY)):
        for n in (512, 1024):
            fp32 = [attempt(_matmul_s, n, "float32", env) for _ in range(rounds)]
            bf16 = [attempt(_matmul_s, n, "bfloat16", env) for _ in range(rounds)]
            rows.append({"kernels": label, "work": f"matmul {n}²", "fp32 s": median(fp32), "bf16 s": median(bf16),
                         "bf16 ÷ fp32": ratio(median(bf16), median(fp32)), "status": failures(fp32=fp32, bf16=bf16)})
        with _environment(env):
            device = backends.find("cpu", backends.discover())
            step = {}
            for precision in ("fp32", "bf16"):
                spec = ProbeSpec(workload="transformer", size="S", precision=precision, seconds=2.0)
                step[precision] = outcome(run_isolated(spec, "bench", device=device, meters="none"), "step_time_s")
        rows.append({"kernels": label, "work": "transformer/S probe step", "fp32 s": median([step["fp32"]]),
                     "bf16 s": median([step["bf16"]]), "bf16 ÷ fp32": ratio(median([step["bf16"]]),
                                                                          median([step["fp32"]])),
                     "status": failures(fp32=[step["fp32"]], bf16=[step["bf16"]])})
    table(rows)


def contention(rounds: int = 2, seconds: float = 3.0) -> None:
    """A CPU probe alone and beside one busy process (A B B A): step time and what the probe's own
    host-load reading (``host_other_cpus``) saw."""
    from core.facts.spec import ProbeSpec
    from core.measure import backends
    from core.measure.runner import run_isolated

    header("Contention: transformer/S fp32 alone vs beside one CPU-bound process (CPU)")
    device = backends.find("cpu", backends.discover())
    spec = ProbeSpec(workload="transformer", size="S", seconds=seconds)
    rows = []
    for round_ in range(1, rounds + 1):
        for busy in ((False, True) if round_ % 2 else (True, False)):
            with _busy_process(busy):
                result = run_isolated(spec, "bench", device=device, meters="none")
            rows.append({"round": round_, "beside": "one busy process" if busy else "nothing",
                         "step ms (median)": None if not result.ok else result.step_time_s * 1e3,
                         "host_other_cpus": result.host_other_cpus, "warm-up settled": result.warmup_settled,
                         "status": "ok" if result.ok else outcome(result, "step_time_s")})
    table(rows)
    alone = statistics.median(r["step ms (median)"] for r in rows if r["beside"] == "nothing" and r["step ms (median)"])
    busy = statistics.median(r["step ms (median)"] for r in rows if r["beside"] != "nothing" and r["step ms (median)"])
    print(f"slowdown beside one busy process: {busy / alone:.1f}×\n")


@contextlib.contextmanager
def _environment(values: dict):
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextlib.contextmanager
def _busy_process(on: bool):
    if not on:
        yield
        return
    process = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        yield
    finally:
        process.kill()
        process.wait()
