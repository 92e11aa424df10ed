"""Turn meter readings into a result's ``energy`` record, with derived figures (pure)."""

from __future__ import annotations

import dataclasses
from typing import Mapping, Sequence

from core.measure.meters.base import ESTIMATED, MEASURED, EnergyReading


def scale_to_window(reading: EnergyReading, window_s: float) -> EnergyReading:
    """A meter whose own interval differs from the timed window by more than 1% (CodeCarbon's
    start/stop take time) contributes its average power × the window."""
    if reading.energy_j is None or reading.duration_s <= 0 or abs(reading.duration_s - window_s) <= 0.01 * window_s:
        return reading
    note = f"average power over the meter's {reading.duration_s:.2f} s × the {window_s:.2f} s timed window"
    return dataclasses.replace(reading, energy_j=reading.energy_j * window_s / reading.duration_s,
                               duration_s=window_s, reason="; ".join(filter(None, [reading.reason, note])))


def energy_record(readings: Sequence[EnergyReading], *, samples: int, flops: float,
                  idle_w: Mapping[str, float] | None = None, window_s: float | None = None) -> dict:
    """Per-component joules with method and kind; totals gross and above idle; average power,
    J per sample, samples per kJ, J per TFLOP. Missing components are listed, never counted as 0."""
    idle_w = idle_w or {}
    if window_s:
        readings = [scale_to_window(r, window_s) for r in readings]
    components = []
    for reading in readings:
        row = reading.to_dict()
        row["avg_power_w"] = reading.avg_power_w
        idle = idle_w.get(reading.component)
        row["idle_w"] = idle
        row["energy_above_idle_j"] = (
            max(reading.energy_j - idle * reading.duration_s, 0.0)
            if reading.energy_j is not None and idle is not None else None)
        components.append(row)
    known = [r for r in readings if r.energy_j is not None]
    window_s = max((r.duration_s for r in readings), default=0.0)
    total_j = sum(r.energy_j for r in known) if known else None
    kinds = {r.kind for r in known}
    above = [c["energy_above_idle_j"] for c in components if c["energy_j"] is not None]
    total_above_j = sum(above) if above and all(a is not None for a in above) else None
    record = {
        "window_s": window_s,
        "samples": samples,
        "components": components,
        "missing": [{"component": r.component, "reason": r.reason} for r in readings if r.energy_j is None],
        "total_j": total_j,
        "total_kind": (MEASURED if kinds == {MEASURED} else ESTIMATED) if known else None,
        "total_methods": sorted({r.method for r in known if r.method}),
        "total_above_idle_j": total_above_j,
        "avg_power_w": total_j / window_s if total_j is not None and window_s > 0 else None,
        "j_per_sample": total_j / samples if total_j is not None and samples else None,
        "samples_per_kj": samples / total_j * 1000 if total_j else None,
        "j_per_tflop": total_j / (flops / 1e12) if total_j is not None and flops else None,
    }
    return record


def idle_power_w(readings: Sequence[EnergyReading]) -> dict[str, float]:
    return {r.component: r.avg_power_w for r in readings if r.avg_power_w is not None}
