"""What a reader of results must know, in words: a probe's phase, and the notes under a table
(unsettled warm-up, contention, emulated precision, noise, estimated energy). Plain text, shared
by the CLI's tables and the dashboard."""

from __future__ import annotations

CONTENDED_OTHER_CPUS = 0.25  # other work kept more than a quarter of a CPU busy: the result is contended
NOISY_CV = 0.05  # step-time coefficient of variation above which a result is called noisy


def phase_text(detail: dict) -> str:
    """A probe phase as a person reads it: 'warm-up, step 10 (0.41 s)'."""
    phase = detail.get("phase")
    if phase == "warmup":
        return f"warm-up, step {detail.get('step')} ({detail.get('step_s', 0):.2f} s)"
    if phase == "window":
        return f"timed window, {detail.get('seconds', 0):g} s, meters on"
    return {"build": "building the model", "flops": "counting FLOPs",
            "done": "done" if detail.get("settled", True) else "done (warm-up did not settle)"}.get(phase, str(phase))


def is_contended(host_other_cpus: float | None) -> bool:
    """Whether other work kept enough CPUs busy during a window to slow the probe down."""
    return (host_other_cpus or 0) > CONTENDED_OTHER_CPUS


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
    if any(r["step_time_cv"] and r["step_time_cv"] > NOISY_CV for r in rows):
        notes.append(("cv % over 5", "step times were noisy: another program competing for the device, or a shared "
                                     "virtual machine (`python -m bench noise` measures this machine's own step-time "
                                     "CV for identical work). Compare medians, not single steps."))
    if any(r["energy_kind"] == "estimated" for r in rows):
        notes.append(("energy J est.", "estimated by a model (CodeCarbon's TDP × load, or sampled power) where no "
                                       "energy counter could be read; `python -m core results --json` gives each "
                                       "result's energy method and uncertainty."))
    return notes
