"""What a reader of results must know, in words: a probe's phase, and the notes under a table
(unsettled warm-up, contention, emulated precision, noise, estimated energy). Plain text, shared
by the CLI's tables and the dashboard."""

from __future__ import annotations

import math
import statistics
from typing import Iterable

CONTENDED_OTHER_CPUS = 0.25  # other work kept more than a quarter of a CPU busy: the result is contended

# Noisy results: one definition for the CLI and the dashboard. A machine's noise floor is what identical
# work varies by on it (`python -m bench noise`). Results do not carry that measurement, so it is
# estimated from the machine's own results: the median step-time CV of its successful results (one
# host's devices of one kind), which BENCHMARKS.md §7 measured at 0.85× the fixed-work floor on the
# same machine. With fewer than NOISE_FLOOR_MIN_RESULTS results, NOISY_CV is assumed.
NOISY_CV = 0.05  # the noise floor assumed for a machine with too few results to estimate its own
NOISE_FLOOR_FACTOR = 2.0  # a result is noisy when its step-time CV is over this many times its machine's floor
NOISE_FLOOR_MIN_RESULTS = 3


def phase_text(detail: dict) -> str:
    """A probe phase as a person reads it: 'warm-up, step 10 (0.41 s)'."""
    phase = detail.get("phase")
    if phase == "warmup":
        return f"warm-up, step {detail.get('step')} ({detail.get('step_s', 0):.2f} s)"
    if phase == "window":
        return f"timed window, {detail.get('seconds', 0):g} s, meters on"
    if phase == "converge":
        return (f"training to the target, step {detail.get('step', 0):,} at {detail.get('seconds', 0):.1f} s, "
                f"smoothed loss {detail.get('loss', float('nan')):.4g}")
    return {"build": "building the model", "flops": "counting FLOPs",
            "done": "done" if detail.get("settled", True) else "done (warm-up did not settle)"}.get(phase, str(phase))


def is_contended(host_other_cpus: float | None) -> bool:
    """Whether other work kept enough CPUs busy during a window to slow the probe down."""
    return (host_other_cpus or 0) > CONTENDED_OTHER_CPUS


def noise_floor(cvs: Iterable[float | None]) -> tuple[float, str]:
    """(noise floor CV, how it was found) of one machine, from its successful results' step-time CVs."""
    values = [v for v in cvs if v is not None and not math.isnan(v)]
    return floor_of(statistics.median(values) if values else None, len(values))


def floor_of(median_cv: float | None, count: int) -> tuple[float, str]:
    """(noise floor CV, how it was found) from the median step-time CV of ``count`` results of one
    machine (a store that aggregates in SQL gives these two numbers)."""
    if count < NOISE_FLOOR_MIN_RESULTS or median_cv is None:
        return NOISY_CV, (f"{NOISY_CV:.0%} assumed: {count} result{'s' * (count != 1)} of this machine, fewer than "
                          f"the {NOISE_FLOOR_MIN_RESULTS} needed to estimate it")
    return median_cv, f"the median step-time CV of this machine's {count} results"


def noisy_reason(cv: float | None, floor: float, basis: str) -> str | None:
    """Why a result is noisy (its step-time CV is over NOISE_FLOOR_FACTOR × its machine's noise
    floor), or None when it is not (or has no CV)."""
    if cv is None or math.isnan(cv) or cv <= NOISE_FLOOR_FACTOR * floor:
        return None
    return (f"step-time CV {cv:.1%} is over {NOISE_FLOOR_FACTOR:g}× this machine's noise floor of {floor:.1%} "
            f"({basis}): another program competing for the device, or a shared virtual machine")


def noise_floors(rows: list[dict]) -> dict[tuple, tuple[float, str]]:
    """The noise floor of every machine — (host, device kind) — among flat rows (successful ones)."""
    cvs: dict[tuple, list] = {}
    for r in rows:
        if r.get("status") == "ok":
            cvs.setdefault((r.get("host"), r.get("device_kind")), []).append(r.get("step_time_cv"))
    return {machine: noise_floor(values) for machine, values in cvs.items()}


def is_noisy(row: dict, floors: dict[tuple, tuple[float, str]]) -> bool:
    floor, basis = floors.get((row.get("host"), row.get("device_kind")), (NOISY_CV, ""))
    return row.get("status") == "ok" and noisy_reason(row.get("step_time_cv"), floor, basis) is not None


def result_notes(rows: list[dict]) -> list[tuple[str, str]]:
    """(tag, explanation) for what the flat rows need said: unsettled warm-ups, contention,
    emulated precisions, noisy steps, estimated energy."""
    notes = []
    if any(r.get("warmup_settled") is False and r["status"] == "ok" for r in rows):
        notes.append(("* unsettled", "warm-up reached its time bound before step times settled (within 10%), so "
                                     "the timed window may include slow first steps. Give a longer --seconds "
                                     "(warm-up scales with it) and compare with a settled result."))
    beside = [r["concurrent_probes"] for r in rows if r.get("concurrent_probes")]
    if beside:
        notes.append(("† contended", f"another Accelscope probe measured the same device during the timed window "
                                     f"(up to {max(beside)}): both figures are slower than the hardware. Rerun "
                                     "when the device is free."))
    contended = [r["host_other_cpus"] for r in rows if is_contended(r.get("host_other_cpus"))]
    if contended:
        notes.append(("† contended", f"other programs kept up to {max(contended):.1f} CPUs busy during the timed "
                                     "window; a CPU probe sharing its cores runs many times slower. Rerun on an "
                                     "idle machine (or with OMP_NUM_THREADS below the free cores) before comparing."))
    if any(r.get("precision_emulated") for r in rows):
        notes.append(("(emulated)", "the device has no native units for that precision; torch converts in "
                                    "software, so the figure measures the emulation, not the hardware's capability."))
    floors = noise_floors(rows)
    if any(is_noisy(r, floors) for r in rows):
        notes.append(("noisy cv %", f"step times varied over {NOISE_FLOOR_FACTOR:g}× the machine's noise floor (the "
                                    "median step-time CV of its results; `python -m bench noise` measures the floor "
                                    "for identical work): another program competing for the device, or a shared "
                                    "virtual machine. Compare medians, not single steps."))
    if any(r["energy_kind"] == "estimated" for r in rows):
        notes.append(("energy J est.", "estimated by a model (CodeCarbon's TDP × load, or sampled power) where no "
                                       "energy counter could be read; `python -m core results --json` gives each "
                                       "result's energy method and uncertainty."))
    return notes
