"""The Meter protocol and the reading it returns."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Protocol

MEASURED, ESTIMATED, UNAVAILABLE = "measured", "estimated", "unavailable"


@dataclass(frozen=True)
class EnergyReading:
    """Energy of one component over one window. ``energy_j`` is None (never 0) when it could not
    be read, and ``reason`` says why. ``uncertainty`` is relative (0.05 = ±5%)."""

    component: str  # "gpu:0", "cpu-package:0", "dram:0", "cpu", "ram"
    energy_j: float | None
    duration_s: float
    method: str | None
    kind: str  # measured | estimated | unavailable
    uncertainty: float | None = None
    reason: str | None = None

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @property
    def avg_power_w(self) -> float | None:
        if self.energy_j is None or self.duration_s <= 0:
            return None
        return self.energy_j / self.duration_s


def unavailable(component: str, duration_s: float, reason: str) -> EnergyReading:
    return EnergyReading(component, None, duration_s, None, UNAVAILABLE, None, reason)


class Meter(Protocol):
    """Measures energy over a window: ``begin()``, the work, ``end() -> list[EnergyReading]``.
    ``min_window_s`` is the shortest window it can resolve; the runner extends shorter ones."""

    min_window_s: float

    def begin(self) -> None: ...

    def end(self) -> list[EnergyReading]: ...
