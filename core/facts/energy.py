"""The energy record of a probe: per-component joules, how each was obtained, and derived figures.

A meter returns :class:`EnergyReading` s for one window; :meth:`EnergyRecord.from_readings` turns
them into the record stored with a result. Nothing outside this module reads energy by string
key: everything else uses the record's attributes. A component nothing could read has
``energy_j`` None and a ``reason`` (never 0 J); ``EnergyRecord.from_dict`` validates a stored or
imported record and raises ValueError naming the field.
"""

from __future__ import annotations

import dataclasses
import math
import sys
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from core.units import FLOP_PER_TFLOP

FLOAT_MAX = sys.float_info.max  # a float within ±FLOAT_MAX is finite (a NaN compares false)

MEASURED, ESTIMATED, UNAVAILABLE = "measured", "estimated", "unavailable"


class computed_once:  # noqa: N801 (a decorator, named like functools.cached_property, which it stands for)
    """A figure of a frozen object, computed on first read and kept in the object's __dict__:
    functools.cached_property without the lock that Python 3.11 takes on each first read (gone in
    3.12). An import reads 13 figures of each energy record; the locks cost about a microsecond each."""

    def __init__(self, compute) -> None:
        self.compute, self.__doc__ = compute, compute.__doc__

    def __set_name__(self, owner, name: str) -> None:
        self.name = name

    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        value = instance.__dict__[self.name] = self.compute(instance)  # read from __dict__ from now on
        return value
READING_KINDS = (MEASURED, ESTIMATED, UNAVAILABLE)


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

    @property
    def avg_power_w(self) -> float | None:
        if self.energy_j is None or self.duration_s <= 0:
            return None
        return self.energy_j / self.duration_s


def unavailable(component: str, duration_s: float, reason: str) -> EnergyReading:
    return EnergyReading(component, None, duration_s, None, UNAVAILABLE, None, reason)


@dataclass(frozen=True)
class ComponentEnergy:
    """One component's reading over the timed window, with its idle baseline."""

    component: str
    energy_j: float | None
    duration_s: float
    method: str | None
    kind: str
    uncertainty: float | None = None
    reason: str | None = None
    idle_w: float | None = None

    @property
    def avg_power_w(self) -> float | None:
        return self.energy_j / self.duration_s if self.energy_j is not None and self.duration_s > 0 else None

    @property
    def energy_above_idle_j(self) -> float | None:
        if self.energy_j is None or self.idle_w is None:
            return None
        return max(self.energy_j - self.idle_w * self.duration_s, 0.0)


@dataclass(frozen=True)
class EnergyRecord:
    """Energy of a probe's timed window. ``total_j`` is None when no component could be read, and
    ``reason`` then says why; ``kind`` is ``measured`` only if every counted component was."""

    window_s: float
    samples: int
    flops: float
    components: tuple[ComponentEnergy, ...]

    @classmethod
    def from_readings(cls, readings: Sequence[EnergyReading], *, samples: int, flops: float,
                      idle_w: Mapping[str, float] | None = None, window_s: float | None = None) -> "EnergyRecord":
        idle_w = idle_w or {}
        if window_s:
            readings = [scale_to_window(r, window_s) for r in readings]
        components = tuple(ComponentEnergy(r.component, r.energy_j, r.duration_s, r.method, r.kind, r.uncertainty,
                                           r.reason, idle_w.get(r.component)) for r in readings)
        measured_window_s = max((r.duration_s for r in readings), default=0.0)
        return cls(window_s=measured_window_s, samples=samples, flops=float(flops or 0.0), components=components)

    # --- derived figures ---------------------------------------------------------------------

    @computed_once
    def read(self) -> tuple[ComponentEnergy, ...]:
        return tuple(c for c in self.components if c.energy_j is not None)

    @computed_once
    def missing(self) -> tuple[ComponentEnergy, ...]:
        return tuple(c for c in self.components if c.energy_j is None)

    @computed_once
    def total_j(self) -> float | None:
        return sum(c.energy_j for c in self.read) if self.read else None

    @computed_once
    def kind(self) -> str | None:
        if not self.read:
            return None
        return MEASURED if {c.kind for c in self.read} == {MEASURED} else ESTIMATED

    @computed_once
    def methods(self) -> tuple[str, ...]:
        return tuple(sorted({c.method for c in self.read if c.method}))

    @computed_once
    def uncertainty(self) -> float | None:
        """Relative uncertainty of the total: the components' errors added (worst case)."""
        total = self.total_j
        if not total or any(c.uncertainty is None for c in self.read):
            return None
        return sum(c.energy_j * c.uncertainty for c in self.read) / total

    @computed_once
    def idle_w(self) -> float | None:
        """Idle power of the counted components (the baseline), None if any was not measured."""
        idles = [c.idle_w for c in self.read]
        return sum(idles) if idles and all(i is not None for i in idles) else None

    @computed_once
    def total_above_idle_j(self) -> float | None:
        above = [c.energy_above_idle_j for c in self.read]
        return sum(above) if above and all(a is not None for a in above) else None

    @computed_once
    def avg_power_w(self) -> float | None:
        total = self.total_j
        return total / self.window_s if total is not None and self.window_s > 0 else None

    @computed_once
    def j_per_sample(self) -> float | None:
        total = self.total_j
        return total / self.samples if total is not None and self.samples else None

    @computed_once
    def samples_per_kj(self) -> float | None:
        total = self.total_j
        return self.samples / total * 1000 if total else None

    @computed_once
    def j_per_tflop(self) -> float | None:
        total = self.total_j
        return total / (self.flops / FLOP_PER_TFLOP) if total is not None and self.flops else None

    @computed_once
    def reason(self) -> str | None:
        """Why components (or the whole total) are missing; None when everything was read."""
        if not self.components:
            return "no energy meter was active in this probe"
        text = "; ".join(f"{c.component}: {c.reason or 'not read'}" for c in self.missing)
        return text or None

    # --- serialisation -------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        components = []
        for c in self.components:  # its fields (in order) copied: dataclasses.asdict deep-copies (a third of an import)
            row = dict(vars(c))
            row["avg_power_w"] = c.avg_power_w
            row["energy_above_idle_j"] = c.energy_above_idle_j
            components.append(row)
        return {
            "window_s": self.window_s, "samples": self.samples, "flops": self.flops, "components": components,
            "missing": [{"component": c.component, "reason": c.reason} for c in self.missing],
            "total_j": self.total_j, "total_kind": self.kind, "total_methods": list(self.methods),
            "uncertainty": self.uncertainty, "idle_w": self.idle_w, "total_above_idle_j": self.total_above_idle_j,
            "avg_power_w": self.avg_power_w, "j_per_sample": self.j_per_sample,
            "samples_per_kj": self.samples_per_kj, "j_per_tflop": self.j_per_tflop, "reason": self.reason,
        }

    @classmethod
    def from_dict(cls, data: Any) -> "EnergyRecord":
        """Strict: raises ValueError naming the field. Derived figures are recomputed, never trusted.
        Records written before ``flops`` was stored recover it from ``j_per_tflop``."""
        if not isinstance(data, dict):
            raise ValueError(f"must be an object, got {type(data).__name__}")
        window_s = _number(data, "window_s", required=True)
        samples = data.get("samples")
        if isinstance(samples, bool) or not isinstance(samples, int) or samples < 0:
            raise ValueError(f"'samples' must be a non-negative integer, got {samples!r}")
        flops = _number(data, "flops")
        if flops is None:
            total, per_tflop = _number(data, "total_j"), _number(data, "j_per_tflop")
            flops = total / per_tflop * FLOP_PER_TFLOP if total and per_tflop else 0.0
        raw_components = data.get("components")
        if not isinstance(raw_components, list):
            raise ValueError("'components' must be a list")
        components = tuple(_component(item, index) for index, item in enumerate(raw_components, start=1))
        for name in DERIVED_NUMBERS:  # recomputed below, but a record that states an impossible one is refused
            _number(data, name)
        missing = data.get("missing", [])
        if not isinstance(missing, list) or not all(
                isinstance(item, dict) and isinstance(item.get("component"), str) for item in missing):
            raise ValueError("'missing' must be a list of objects, each with a 'component' name")
        return cls(window_s=window_s, samples=samples, flops=flops, components=components)


DERIVED_NUMBERS = ("total_j", "uncertainty", "idle_w", "total_above_idle_j", "avg_power_w", "j_per_sample",
                   "samples_per_kj", "j_per_tflop")


def _number(data: Mapping, name: str, *, required: bool = False) -> float | None:
    value = data.get(name)
    if type(value) is float and 0.0 <= value <= FLOAT_MAX:  # most values: a finite, non-negative float
        return value
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ValueError(f"'{name}' must be a finite, non-negative number, got {value!r}")
    return float(value)


def _component(item: Any, index: int) -> ComponentEnergy:
    where = f"component {index}"
    if not isinstance(item, dict):
        raise ValueError(f"{where} must be an object")
    name = item.get("component")
    if not isinstance(name, str) or not name:
        raise ValueError(f"{where}: 'component' must be a non-empty string")
    kind = item.get("kind")
    if kind not in READING_KINDS:
        raise ValueError(f"{where} ({name}): 'kind' must be one of {', '.join(READING_KINDS)}, got {kind!r}")
    for text in ("method", "reason"):
        if item.get(text) is not None and not isinstance(item[text], str):
            raise ValueError(f"{where} ({name}): '{text}' must be a string or null")
    try:
        energy_j = _number(item, "energy_j")
        duration_s = _number(item, "duration_s", required=True)
        uncertainty = _number(item, "uncertainty")
        idle_w = _number(item, "idle_w")
    except ValueError as exc:
        raise ValueError(f"{where} ({name}): {exc}") from None
    if energy_j is None and kind != UNAVAILABLE:
        raise ValueError(f"{where} ({name}): no 'energy_j' but kind {kind!r}; an unread component is 'unavailable'")
    return ComponentEnergy(name, energy_j, duration_s, item.get("method"), kind, uncertainty, item.get("reason"), idle_w)


def scale_to_window(reading: EnergyReading, window_s: float) -> EnergyReading:
    """A meter whose own interval differs from the timed window by more than 1% (CodeCarbon's
    start/stop take time) contributes its average power × the window."""
    if reading.energy_j is None or reading.duration_s <= 0 or abs(reading.duration_s - window_s) <= 0.01 * window_s:
        return reading
    note = f"average power over the meter's {reading.duration_s:.2f} s × the {window_s:.2f} s timed window"
    return dataclasses.replace(reading, energy_j=reading.energy_j * window_s / reading.duration_s,
                               duration_s=window_s, reason="; ".join(filter(None, [reading.reason, note])))


def idle_power_w(readings: Sequence[EnergyReading]) -> dict[str, float]:
    return {r.component: r.avg_power_w for r in readings if r.avg_power_w is not None}
