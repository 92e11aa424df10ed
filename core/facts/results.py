"""ProbeResult: what one probe measured, as facts. Cost and CO2 are computed when shown."""

from __future__ import annotations

import dataclasses
import math
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

STATUSES = ("ok", "failed", "oom", "timeout")

# Field name -> accepted JSON types (None allowed where the field is Optional).
_REQUIRED: dict[str, tuple[type, ...]] = {
    "id": (str,), "run_id": (str,), "created_at": (str,), "status": (str,),
    "workload": (str,), "size": (str,), "device": (str,), "precision": (str,),
}
_OPTIONAL_NUMBERS = (
    "step_time_s", "step_time_p10_s", "step_time_p90_s", "step_time_cv", "samples_per_s",
    "tokens_per_s", "flops_per_step", "achieved_tflops", "loss_first", "loss_last",
    "compile_time_s", "wall_time_s", "seconds_requested",
)
_OPTIONAL_INTS = ("batch_size", "steps", "warmup_steps", "params", "peak_memory_bytes")
_OPTIONAL_STRINGS = ("error", "device_name", "peak_memory_method", "flops_method")


def new_id() -> str:
    return uuid.uuid4().hex


def utc_now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass(frozen=True)
class ProbeResult:
    """One probe's measurement. ``status`` is ok | failed | oom | timeout; a failed result keeps
    its spec fields and ``error`` and leaves the measurements None (never zero)."""

    id: str
    run_id: str
    created_at: str
    status: str
    workload: str
    size: str
    device: str
    precision: str
    error: str | None = None
    device_name: str | None = None
    batch_size: int | None = None
    compile: bool = False
    channels_last: bool = False
    seconds_requested: float | None = None
    steps: int | None = None
    warmup_steps: int | None = None
    step_time_s: float | None = None  # median
    step_time_p10_s: float | None = None
    step_time_p90_s: float | None = None
    step_time_cv: float | None = None
    step_times_s: tuple[float, ...] = ()
    samples_per_s: float | None = None
    tokens_per_s: float | None = None
    flops_per_step: float | None = None
    flops_method: str | None = None
    achieved_tflops: float | None = None
    params: int | None = None
    loss_first: float | None = None
    loss_last: float | None = None
    peak_memory_bytes: int | None = None
    peak_memory_method: str | None = None
    compile_time_s: float | None = None
    wall_time_s: float | None = None
    env: dict = field(default_factory=dict)
    energy: dict | None = None  # filled by the energy meters: see core.measure.meters

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["step_times_s"] = list(self.step_times_s)
        return data

    @classmethod
    def from_dict(cls, data: Any) -> "ProbeResult":
        """Strict: raises ValueError naming the field that is missing or of the wrong type."""
        if not isinstance(data, dict):
            raise ValueError(f"a result must be a JSON object, got {type(data).__name__}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown field(s) {', '.join(unknown)}")
        for name, types in _REQUIRED.items():
            if name not in data:
                raise ValueError(f"missing field '{name}'")
            if not isinstance(data[name], types) or data[name] == "":
                raise ValueError(f"field '{name}' must be a non-empty string, got {data[name]!r}")
        if data["status"] not in STATUSES:
            raise ValueError(f"field 'status' must be one of {', '.join(STATUSES)}, got {data['status']!r}")
        _check_timestamp(data["created_at"])
        for name in _OPTIONAL_NUMBERS:
            value = data.get(name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                      or not math.isfinite(value)):
                raise ValueError(f"field '{name}' must be a finite number or null, got {value!r}")
        for name in _OPTIONAL_INTS:
            value = data.get(name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
                raise ValueError(f"field '{name}' must be a non-negative integer or null, got {value!r}")
        for name in _OPTIONAL_STRINGS:
            value = data.get(name)
            if value is not None and not isinstance(value, str):
                raise ValueError(f"field '{name}' must be a string or null, got {value!r}")
        for name in ("compile", "channels_last"):
            if name in data and not isinstance(data[name], bool):
                raise ValueError(f"field '{name}' must be true or false, got {data[name]!r}")
        times = data.get("step_times_s", [])
        if not isinstance(times, list) or not all(
                isinstance(t, (int, float)) and not isinstance(t, bool) for t in times):
            raise ValueError("field 'step_times_s' must be a list of numbers")
        if not isinstance(data.get("env", {}), dict):
            raise ValueError("field 'env' must be an object")
        if data.get("energy") is not None and not isinstance(data["energy"], dict):
            raise ValueError("field 'energy' must be an object or null")
        values = dict(data)
        values["step_times_s"] = tuple(float(t) for t in times)
        return cls(**values)


def _check_timestamp(text: str) -> None:
    try:
        datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"field 'created_at' must be an ISO 8601 timestamp, got {text!r}") from None


def failed_result(spec, run_id: str, status: str, error: str, *, device_name: str | None = None,
                  env: dict | None = None, wall_time_s: float | None = None) -> ProbeResult:
    return ProbeResult(
        id=new_id(), run_id=run_id, created_at=utc_now_iso(), status=status, error=error,
        workload=spec.workload, size=spec.size, device=spec.device, precision=spec.precision,
        device_name=device_name, batch_size=spec.batch_size, compile=spec.compile,
        channels_last=spec.channels_last, seconds_requested=spec.seconds, env=env or {},
        wall_time_s=wall_time_s,
    )


FRAME_COLUMNS = (
    "id", "run_id", "created_at", "status", "error", "workload", "size", "device", "device_name",
    "precision", "batch_size", "compile", "channels_last", "steps", "step_time_s", "step_time_cv",
    "samples_per_s", "tokens_per_s", "flops_per_step", "achieved_tflops", "params", "loss_first",
    "loss_last", "peak_memory_bytes", "compile_time_s", "wall_time_s",
)


ROW_COLUMNS = (*FRAME_COLUMNS, "host", "torch", "gpu", "cpu")


def to_rows(results) -> list[dict]:
    """Flat rows (no step-time list), with the host and a few fingerprint fields as columns."""
    rows = []
    for result in results:
        row = {name: getattr(result, name) for name in FRAME_COLUMNS}
        env = result.env or {}
        row["host"] = env.get("host")
        row["torch"] = env.get("torch")
        row["gpu"] = env.get("gpu")
        row["cpu"] = env.get("cpu")
        rows.append(row)
    return rows


def _device_label(device: str, device_name: str | None) -> str:
    name = (device_name or device).replace("NVIDIA ", "").replace("(R)", "").replace("(TM)", "")
    return f"{name.strip()} [{device}]"


def summary_row(result: ProbeResult) -> dict:
    """The flat fields the dashboard shows (no step-time list), energy and fingerprint included.
    Stored beside the full payload so large stores load fast."""
    r = result
    energy = r.energy or {}
    env = r.env or {}
    missing = "; ".join(f"{m['component']}: {m['reason']}" for m in energy.get("missing", []))
    if energy.get("total_j") is None:
        missing = missing or ("no energy meters in this probe" if not r.energy else "")
    return {
        "id": r.id, "run_id": r.run_id, "created_at": r.created_at, "status": r.status, "error": r.error,
        "workload": r.workload, "size": r.size, "device": r.device, "device_name": r.device_name,
        "device_kind": r.device.split(":")[0], "device_label": _device_label(r.device, r.device_name),
        "precision": r.precision, "batch_size": r.batch_size, "compile": r.compile,
        "channels_last": r.channels_last, "steps": r.steps, "step_time_s": r.step_time_s,
        "step_time_cv": r.step_time_cv, "samples_per_s": r.samples_per_s, "tokens_per_s": r.tokens_per_s,
        "achieved_tflops": r.achieved_tflops, "flops_per_step": r.flops_per_step, "params": r.params,
        "loss_first": r.loss_first, "loss_last": r.loss_last, "peak_memory_bytes": r.peak_memory_bytes,
        "host": env.get("host"), "torch": env.get("torch"), "cuda": env.get("cuda"), "os": env.get("os"),
        "cpu": env.get("cpu"), "gpu": env.get("gpu"), "driver": env.get("driver"),
        "logical_cpus": env.get("logical_cpus") or env.get("threads"),
        "energy_j": energy.get("total_j"), "energy_kind": energy.get("total_kind"),
        "energy_method": ", ".join(energy.get("total_methods", [])) or None,
        "energy_missing": missing or None,
        "j_per_sample": energy.get("j_per_sample"), "samples_per_kj": energy.get("samples_per_kj"),
        "avg_power_w": energy.get("avg_power_w"), "energy_above_idle_j": energy.get("total_above_idle_j"),
        "j_per_tflop": energy.get("j_per_tflop"),
    }


SUMMARY_COLUMNS = tuple(summary_row(ProbeResult("x", "x", "2026-01-01T00:00:00", "ok", "w", "S", "cpu", "fp32")))
