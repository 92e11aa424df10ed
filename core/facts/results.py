"""ProbeResult: what one probe measured, as facts. Cost and CO2 are computed when shown."""

from __future__ import annotations

import base64
import dataclasses
import math
import struct
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from core.facts.energy import FLOAT_MAX, EnergyRecord, computed_once

STATUSES = ("ok", "failed", "oom", "timeout")
MODES = ("train", "infer", "converge")  # training steps/s; inference latency/throughput; time to a target loss

# Field name -> accepted JSON types (None allowed where the field is Optional).
_REQUIRED: dict[str, tuple[type, ...]] = {
    "id": (str,), "run_id": (str,), "created_at": (str,), "status": (str,),
    "workload": (str,), "size": (str,), "device": (str,), "precision": (str,),
}
_OPTIONAL_NUMBERS = (
    "step_time_s", "step_time_p10_s", "step_time_p90_s", "step_time_cv", "samples_per_s",
    "tokens_per_s", "flops_per_step", "achieved_tflops", "loss_first", "loss_last",
    "compile_time_s", "wall_time_s", "seconds_requested", "host_other_cpus",
    "step_time_p99_s", "target_loss", "time_to_target_s", "scaling_efficiency", "comm_share",
    "per_device_samples_per_s",
)
_OPTIONAL_INTS = ("batch_size", "steps", "warmup_steps", "params", "peak_memory_bytes", "concurrent_probes",
                  "steps_to_target", "world_size", "nodes")
_OPTIONAL_STRINGS = ("error", "device_name", "peak_memory_method", "flops_method", "device_identity", "stop_reason",
                     "dist_backend", "strategy", "interconnect", "launch_id")
# The step times packed: little-endian float64, base64 (the store's payload and bundles of version 2 carry
# them so: exact, about half the size of JSON numbers, and decoded in C instead of number by number).
PACKED_STEP_TIMES = "step_times_f64_b64"
FLOAT64_BYTES = 8
INT_LIMIT = 2**63 - 1  # the store's integer columns are 64-bit (SQLite INTEGER, PostgreSQL BIGINT)


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
    energy: EnergyRecord | None = None  # filled by the energy meters: see core.facts.energy
    warmup_settled: bool | None = None  # False: warm-up hit its bounds before step times settled
    device_identity: str | None = None  # what decides the device's speed (see core.measure.backends)
    precision_emulated: bool | None = None  # True: the hardware has no native units for this precision
    host_other_cpus: float | None = None  # CPUs other work kept busy during the window (core.measure.hostload)
    concurrent_probes: int | None = None  # other probes seen on this device during the window (core.measure.contention)
    # What was measured (issue 15). train: a training step per "step". infer: one forward batch per
    # "step" under torch.inference_mode, so the step-time percentiles are the per-request latency
    # (every request in a batch waits for the whole batch). converge: training until the smoothed
    # loss reaches target_loss or the time cap stops it. Results written before the field are train.
    mode: str = "train"
    step_time_p99_s: float | None = None
    target_loss: float | None = None  # converge: the smoothed-loss target
    reached: bool | None = None  # converge: whether the target was reached before the cap
    steps_to_target: int | None = None  # converge: training steps until reached (all steps run, if not)
    time_to_target_s: float | None = None  # converge: wall time until reached (the whole run, if not)
    stop_reason: str | None = None  # converge: why it stopped (the target, or the cap and the loss it got to)
    loss_curve: tuple[tuple[int, float, float], ...] = ()  # converge: (step, seconds, smoothed loss), ≤ 512 points
    # Scale-out (issue 16): one training job over world_size devices (torch.distributed, launched by
    # torchrun). samples_per_s and tokens_per_s are the whole job's; per_device_samples_per_s is
    # that ÷ world_size; achieved_tflops and the step times are per device (rank 0's). None: one device.
    world_size: int | None = None
    nodes: int | None = None
    dist_backend: str | None = None  # nccl | gloo
    strategy: str | None = None  # ddp | fsdp
    per_device_samples_per_s: float | None = None
    scaling_efficiency: float | None = None  # throughput(n) ÷ (n × throughput(1)), both measured in one launch
    comm_share: float | None = None  # exposed communication: 1 − no_sync step ÷ synced step (overlap hides the rest)
    interconnect: str | None = None  # as the devices report it (NVLink, PCIe; "shared memory" for CPU processes)
    launch_id: str | None = None  # the fleet launch (ACCELSCOPE_LAUNCH_ID) that produced it

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_dict(self, *, packed_step_times: bool = False) -> dict[str, Any]:
        """Every field as JSON types. ``packed_step_times``: the step times as one base64 text under
        PACKED_STEP_TIMES (the store's payload, bundles of version 2) instead of a list of numbers."""
        values = vars(self)
        data = {name: values[name] for name in _FIELD_NAMES}
        if packed_step_times:
            del data["step_times_s"]
            data[PACKED_STEP_TIMES] = self.packed_step_times
        else:
            data["step_times_s"] = list(self.step_times_s)
        data["loss_curve"] = [list(point) for point in self.loss_curve]
        data["env"] = dict(self.env)
        data["energy"] = self.energy.to_dict() if self.energy is not None else None
        return data

    @classmethod
    def from_dict(cls, data: Any) -> "ProbeResult":
        """Strict: raises ValueError naming the field that is missing or of the wrong type."""
        if not isinstance(data, dict):
            raise ValueError(f"a result must be a JSON object, got {type(data).__name__}")
        unknown = data.keys() - _ACCEPTED_KEYS
        if unknown:
            raise ValueError(f"unknown field(s) {', '.join(sorted(unknown))}")
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
            if value is None or type(value) is float and -FLOAT_MAX <= value <= FLOAT_MAX:  # most: at once
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not finite(value):
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
        if data.get("mode", "train") not in MODES:
            raise ValueError(f"field 'mode' must be one of {', '.join(MODES)}, got {data['mode']!r}")
        for name in ("warmup_settled", "precision_emulated", "reached"):
            if data.get(name) is not None and not isinstance(data[name], bool):
                raise ValueError(f"field '{name}' must be true or false, got {data[name]!r}")
        if PACKED_STEP_TIMES in data:
            if "step_times_s" in data:
                raise ValueError(f"fields 'step_times_s' and '{PACKED_STEP_TIMES}' both hold step times; a result "
                                 "carries them once")
            times = unpack_step_times(data[PACKED_STEP_TIMES])
        else:
            times = _step_time_list(data.get("step_times_s", []))
        if not isinstance(data.get("env", {}), dict):
            raise ValueError("field 'env' must be an object")
        values = dict(data)
        if data.get("energy") is not None:
            try:
                values["energy"] = EnergyRecord.from_dict(data["energy"])
            except ValueError as exc:
                raise ValueError(f"field 'energy': {exc}") from None
            except OverflowError:  # an integer beyond float64's range
                raise ValueError("field 'energy' holds a number too large for a float64") from None
        if "warmup_settled" not in values:  # written before it was a field
            settled = values.get("env", {}).get("warmup_settled")
            values["warmup_settled"] = settled if isinstance(settled, bool) else None
        packed = values.pop(PACKED_STEP_TIMES, None)
        values["step_times_s"] = times
        values["loss_curve"] = _loss_curve(data.get("loss_curve", []))
        result = cls._of_checked(values)
        if packed is not None:  # the text it was read from: a store payload written of it packs nothing again
            vars(result)["packed_step_times"] = packed
        return result

    @classmethod
    def _of_checked(cls, values: dict[str, Any]) -> ProbeResult:
        """The result of field values from_dict has checked. The frozen __init__ sets each of ~70 fields
        with its own object.__setattr__ call (a fifth of an import's parse time); here they are set at
        once. Same fields, same defaults (ProbeResult has no __post_init__)."""
        result = object.__new__(cls)
        state = vars(result)
        state.update(_DEFAULTS)
        state["env"] = {}  # the one default_factory
        state.update(values)
        return result

    @computed_once  # frozen fields: packed once (or kept from the packed text it was read from)
    def packed_step_times(self) -> str:
        """The step times as PACKED_STEP_TIMES text: base64 of little-endian float64."""
        return pack_step_times(self.step_times_s)


_FIELD_NAMES = tuple(f.name for f in dataclasses.fields(ProbeResult))
_DEFAULTS = {f.name: f.default for f in dataclasses.fields(ProbeResult) if f.default is not dataclasses.MISSING}
assert [f.name for f in dataclasses.fields(ProbeResult) if f.default_factory is not dataclasses.MISSING] == ["env"]
assert not hasattr(ProbeResult, "__post_init__")  # _of_checked does not call __init__
_ACCEPTED_KEYS = frozenset(_FIELD_NAMES) | {PACKED_STEP_TIMES}
_JSON_NUMBER_TYPES = {int, float}


def pack_step_times(times: Sequence[float]) -> str:
    """Step times as base64 of little-endian float64: exact, and 4/3 of 8 bytes a step time."""
    return base64.b64encode(struct.pack(f"<{len(times)}d", *times)).decode("ascii")


def unpack_step_times(text: Any) -> tuple[float, ...]:
    """The step times :func:`pack_step_times` packed. Raises ValueError naming the field if the text is
    not strict base64 or not a whole number of float64 values (a damaged or hand-edited file); whether
    the values are possible (finite, above 0) is core.facts.validation's check."""
    if not isinstance(text, str):
        raise ValueError(f"field '{PACKED_STEP_TIMES}' must be base64 text (little-endian float64 step times), "
                         f"got {type(text).__name__}")
    try:
        raw = base64.b64decode(text, validate=True)
    except ValueError as exc:  # binascii.Error (a bad character, bad padding) or a non-ASCII character
        raise ValueError(f"field '{PACKED_STEP_TIMES}' is not valid base64 ({exc}): the file was damaged or "
                         "edited; export it again") from None
    if len(raw) % FLOAT64_BYTES:
        raise ValueError(f"field '{PACKED_STEP_TIMES}' holds {len(raw):,} bytes, not a whole number of "
                         f"{FLOAT64_BYTES}-byte float64 step times: the file was truncated or damaged; export it again")
    return struct.unpack(f"<{len(raw) // FLOAT64_BYTES}d", raw)


def _step_time_list(times: Any) -> tuple[float, ...]:
    """Step times as a JSON list of numbers (bundles of version 1, payloads written before the packing).
    The types are checked in one C pass; the per-element check only runs when that pass finds another type."""
    if not isinstance(times, list) or not (set(map(type, times)) <= _JSON_NUMBER_TYPES or all(
            isinstance(t, (int, float)) and not isinstance(t, bool) for t in times)):
        raise ValueError("field 'step_times_s' must be a list of numbers")
    try:
        return tuple(map(float, times))
    except OverflowError:  # an integer beyond float64's range
        raise ValueError("field 'step_times_s' holds a number too large for a float64") from None


def finite(value: float) -> bool:
    """A finite number; an integer too large for a float64 is not (math.isfinite raises OverflowError)."""
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def all_finite(numbers: Sequence[float]) -> bool:
    """No NaN or infinity among the numbers: one C pass (a NaN or an infinity makes the sum non-finite);
    only when the sum overflows (finite values near 1e308) does it look at each number."""
    try:
        if math.isfinite(sum(numbers)):
            return True
    except OverflowError:
        pass
    return all(map(finite, numbers))


def _loss_curve(points: Any) -> tuple[tuple[int, float, float], ...]:
    def valid(point) -> bool:
        return (isinstance(point, list) and len(point) == 3 and isinstance(point[0], int)
                and not isinstance(point[0], bool) and point[0] >= 0
                and all(isinstance(v, (int, float)) and not isinstance(v, bool) and finite(v)
                        for v in point[1:]))

    if not isinstance(points, list) or not all(valid(p) for p in points):
        raise ValueError("field 'loss_curve' must be a list of [step, seconds, loss] with finite numbers")
    return tuple((p[0], float(p[1]), float(p[2])) for p in points)


def _check_timestamp(text: str) -> None:
    try:
        datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"field 'created_at' must be an ISO 8601 timestamp, got {text!r}") from None


def failed_result(spec, run_id: str, status: str, error: str, *, device_name: str | None = None,
                  device_identity: str | None = None, env: dict | None = None,
                  wall_time_s: float | None = None) -> ProbeResult:
    return ProbeResult(
        id=new_id(), run_id=run_id, created_at=utc_now_iso(), status=status, error=error,
        workload=spec.workload, size=spec.size, device=spec.device, precision=spec.precision,
        device_name=device_name, device_identity=device_identity, batch_size=spec.batch_size, compile=spec.compile,
        channels_last=spec.channels_last, seconds_requested=spec.seconds, env=env or {},
        wall_time_s=wall_time_s, mode=spec.mode, target_loss=spec.target_loss,
    )
