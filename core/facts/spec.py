"""ProbeSpec: what to measure, validated before anything runs."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass

from core.errors import UnsupportedSpec
from core.measure.workloads import WORKLOADS, is_custom_workload

PRECISIONS = ("fp32", "tf32", "bf16", "fp16")


@dataclass(frozen=True)
class ProbeSpec:
    """One probe: a workload at a size, on a device, in a precision, for a time budget.

    ``seconds`` is the timed window after warm-up. ``batch_size`` None means the size preset's.
    """

    workload: str
    size: str = "S"
    device: str = "cpu"
    precision: str = "fp32"
    batch_size: int | None = None
    seconds: float = 3.0
    compile: bool = False
    channels_last: bool = False
    seed: int = 0

    def __post_init__(self) -> None:
        check_spec_fields(self)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "ProbeSpec":
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise UnsupportedSpec(f"unknown probe spec field(s): {', '.join(sorted(unknown))}")
        return cls(**data)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @property
    def label(self) -> str:
        extras = "".join(
            [f" bs={self.batch_size}" if self.batch_size else "",
             " compile" if self.compile else "",
             " channels-last" if self.channels_last else ""]
        )
        return f"{self.workload}/{self.size} {self.precision} on {self.device}{extras}"


def check_spec_fields(spec: ProbeSpec) -> None:
    """Checks that need no hardware: names, sizes, numbers. Raises UnsupportedSpec."""
    if not is_custom_workload(spec.workload):
        if spec.workload not in WORKLOADS:
            raise UnsupportedSpec(
                f"unknown workload {spec.workload!r}; choose one of {', '.join(WORKLOADS)} "
                "or give a custom one as 'package.module:function'"
            )
        sizes = WORKLOADS[spec.workload].sizes
        if spec.size not in sizes:
            raise UnsupportedSpec(
                f"unknown size {spec.size!r} for workload {spec.workload!r}; "
                f"choose one of {', '.join(sizes)}"
            )
    if spec.precision not in PRECISIONS:
        raise UnsupportedSpec(
            f"unknown precision {spec.precision!r}; choose one of {', '.join(PRECISIONS)}"
        )
    if spec.batch_size is not None and (
        not isinstance(spec.batch_size, int) or isinstance(spec.batch_size, bool) or spec.batch_size < 1
    ):
        raise UnsupportedSpec(f"batch size must be a positive integer, got {spec.batch_size!r}")
    if not isinstance(spec.seconds, (int, float)) or not 0 < spec.seconds <= 3600:
        raise UnsupportedSpec(f"seconds must be in (0, 3600], got {spec.seconds!r}")
    if spec.channels_last and spec.workload != "cnn":
        raise UnsupportedSpec("channels-last applies to the cnn workload only; drop --channels-last")
