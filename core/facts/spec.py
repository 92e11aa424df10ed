"""ProbeSpec: what to measure, validated before anything runs."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass

from core.errors import UnsupportedSpec
from core.measure.workloads import WORKLOADS, is_custom_workload

PRECISIONS = ("fp32", "tf32", "bf16", "fp16")
MODES = ("train", "infer", "converge")  # see core.facts.results.ProbeResult.mode


@dataclass(frozen=True)
class ProbeSpec:
    """One probe: a workload at a size, on a device, in a precision, for a time budget.

    ``seconds`` is the timed window after warm-up (for ``mode="converge"``: the cap on the whole
    run). ``batch_size`` None means the size preset's. ``target_loss`` is converge's target.
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
    mode: str = "train"
    target_loss: float | None = None

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
             " channels-last" if self.channels_last else "",
             f" {self.mode}" if self.mode != "train" else "",
             f" to loss {self.target_loss:g}" if self.target_loss is not None else ""]
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
    if spec.mode not in MODES:
        raise UnsupportedSpec(f"unknown mode {spec.mode!r}; choose one of {', '.join(MODES)}")
    if spec.mode == "converge":
        if (not isinstance(spec.target_loss, (int, float)) or isinstance(spec.target_loss, bool)
                or not 0 < spec.target_loss < float("inf")):
            raise UnsupportedSpec(f"--target-loss must be a positive number for --mode converge, got "
                                  f"{spec.target_loss!r}: e.g. --target-loss 0.5 (the workload's loss starts near "
                                  "ln(classes) for a classifier)")
    elif spec.target_loss is not None:
        raise UnsupportedSpec(f"--target-loss applies to --mode converge only (this is --mode {spec.mode})")
    if spec.channels_last and spec.workload != "cnn":
        raise UnsupportedSpec("channels-last applies to the cnn workload only; drop --channels-last")
