"""The Meter protocol. Readings are facts: see :mod:`core.facts.energy`."""

from __future__ import annotations

from typing import Protocol

from core.facts.energy import EnergyReading


class Meter(Protocol):
    """Measures energy over a window: ``begin()``, the work, ``end() -> list[EnergyReading]``.
    ``min_window_s`` is the shortest window it can resolve; the runner extends shorter ones."""

    min_window_s: float

    def begin(self) -> None: ...

    def end(self) -> list[EnergyReading]: ...
