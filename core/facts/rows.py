"""The one flat row of a result: the store's summary, the CLI's CSV and JSON rows, the dashboard's
tables and exports all use :func:`flat_row`. Units are in the column names; a missing figure is
None, never 0. Cost and CO2 columns are added by the view that prices a row
(:meth:`core.views.cost.CostFigures.columns`), never stored.
"""

from __future__ import annotations

import json

from core.facts.results import INT_LIMIT, ProbeResult

IDENTITY_SEPARATOR = " · "  # a device identity is "name · detail · detail …" (core.measure.backends.base)
NO_IDENTITY = "identity not recorded"


def identity_details(identity: str | None) -> list[str]:
    """What an identity says besides the device name (for a CPU: ISA class, logical CPUs, memory)."""
    return (identity or "").split(IDENTITY_SEPARATOR)[1:]


def device_kind(device_id: str) -> str:
    return device_id.split(":")[0]


def short_device_name(device_name: str | None, device_id: str) -> str:
    return (device_name or device_id).replace("NVIDIA ", "").replace("(R)", "").replace("(TM)", "").strip()


def device_label(device_id: str, device_name: str | None, identity: str | None) -> str:
    """What a chart calls a device. A CPU's label names its instruction-set class (AVX2, AVX-512,
    AMX...), because two CPUs with one model name can differ 10× in bf16 speed; results that did
    not record it say so."""
    name = short_device_name(device_name, device_id)
    if device_kind(device_id) == "cpu":
        details = identity_details(identity)
        name = f"{name}{IDENTITY_SEPARATOR}{details[0] if details else 'ISA not recorded'}"
    return f"{name} [{device_id}]"


def _text(value) -> str | None:
    """An environment fact as text: the environment is free-form JSON (a hand-made bundle may say
    ``"gpu": {"count": 2}``), and the row's column is text on every database."""
    return value if value is None or type(value) is str else json.dumps(value, sort_keys=True)


def _count(value) -> int | None:
    """A count of CPUs, or nothing (not "4", not true, not more than a 64-bit column holds)."""
    return value if type(value) is int and 0 <= value <= INT_LIMIT else None


def flat_row(result: ProbeResult) -> dict:
    """Every scalar of a result (no step-time list), with energy and the environment flattened."""
    r = result
    energy = r.energy
    env = r.env or {}
    return {
        "id": r.id, "run_id": r.run_id, "created_at": r.created_at, "status": r.status, "error": r.error,
        "workload": r.workload, "size": r.size, "device": r.device, "device_kind": device_kind(r.device),
        "device_name": r.device_name, "device_identity": r.device_identity,
        "device_label": device_label(r.device, r.device_name, r.device_identity),
        "precision": r.precision, "precision_emulated": r.precision_emulated, "batch_size": r.batch_size,
        "compile": r.compile, "channels_last": r.channels_last, "seconds_requested": r.seconds_requested,
        "warmup_steps": r.warmup_steps, "warmup_settled": r.warmup_settled, "steps": r.steps,
        "step_time_s": r.step_time_s, "step_time_p10_s": r.step_time_p10_s, "step_time_p90_s": r.step_time_p90_s,
        "step_time_cv": r.step_time_cv, "samples_per_s": r.samples_per_s, "tokens_per_s": r.tokens_per_s,
        "flops_per_step": r.flops_per_step, "achieved_tflops": r.achieved_tflops, "params": r.params,
        "loss_first": r.loss_first, "loss_last": r.loss_last, "peak_memory_bytes": r.peak_memory_bytes,
        "peak_memory_method": r.peak_memory_method, "compile_time_s": r.compile_time_s,
        "wall_time_s": r.wall_time_s, "host_other_cpus": r.host_other_cpus,
        "concurrent_probes": r.concurrent_probes,
        "mode": r.mode, "step_time_p99_s": r.step_time_p99_s, "target_loss": r.target_loss, "reached": r.reached,
        "steps_to_target": r.steps_to_target, "time_to_target_s": r.time_to_target_s, "stop_reason": r.stop_reason,
        "world_size": r.world_size, "nodes": r.nodes, "dist_backend": r.dist_backend, "strategy": r.strategy,
        "per_device_samples_per_s": r.per_device_samples_per_s, "scaling_efficiency": r.scaling_efficiency,
        "comm_share": r.comm_share, "interconnect": r.interconnect, "launch_id": r.launch_id,
        "host": env.get("host"), "torch": _text(env.get("torch")), "cuda": _text(env.get("cuda")),
        "os": _text(env.get("os")), "cpu": _text(env.get("cpu")), "gpu": _text(env.get("gpu")),
        "driver": _text(env.get("driver")), "logical_cpus": _count(env.get("logical_cpus") or env.get("threads")),
        "energy_j": energy.total_j if energy else None,
        "energy_kind": energy.kind if energy else None,
        "energy_method": ", ".join(energy.methods) or None if energy else None,
        "energy_uncertainty": energy.uncertainty if energy else None,
        "energy_missing": energy.reason if energy else "no energy meters in this probe",
        "idle_w": energy.idle_w if energy else None,
        "energy_above_idle_j": energy.total_above_idle_j if energy else None,
        "avg_power_w": energy.avg_power_w if energy else None,
        "j_per_sample": energy.j_per_sample if energy else None,
        "samples_per_kj": energy.samples_per_kj if energy else None,
        "j_per_tflop": energy.j_per_tflop if energy else None,
    }


FLAT_COLUMNS = tuple(flat_row(ProbeResult("x", "x", "2026-01-01T00:00:00", "ok", "w", "S", "cpu", "fp32")))
