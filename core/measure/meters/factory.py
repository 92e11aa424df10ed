"""Host energy meters (RAPL for CPU package and DRAM; CodeCarbon's estimate where RAPL is not
readable; an explicit 'unavailable' otherwise) and idle-power measurement. Each device backend
adds its own device meters (core.measure.backends)."""

from __future__ import annotations

import time
from pathlib import Path

from core.facts.energy import EnergyReading, unavailable
from core.measure.meters.codecarbon_meter import CodeCarbonMeter, codecarbon_available
from core.measure.meters.rapl import POWERCAP_ROOT, RaplMeter, find_zones


class UnavailableMeter:
    """Reports components nothing can read, with the reason (never 0 J)."""

    min_window_s = 0.0

    def __init__(self, components: dict[str, str]) -> None:
        self._components = components
        self._start_s = 0.0

    def begin(self) -> None:
        self._start_s = time.monotonic()

    def end(self) -> list[EnergyReading]:
        duration = time.monotonic() - self._start_s
        return [unavailable(c, duration, reason) for c, reason in self._components.items()]


def host_meters(powercap_root: Path = POWERCAP_ROOT) -> list:
    """CPU and memory: RAPL if readable, else CodeCarbon, else unavailable with both reasons."""
    zones, rapl_problem = find_zones(powercap_root)
    if zones:
        return [RaplMeter(zones)]
    ok, cc_problem = codecarbon_available()
    if ok:
        return [CodeCarbonMeter()]
    reason = f"RAPL: {rapl_problem}; CodeCarbon: {cc_problem}"
    return [UnavailableMeter({"cpu": reason, "ram": reason})]


def measure_idle(meters, seconds: float, sleep=time.sleep) -> dict[str, float]:
    """Average power of each component while nothing runs, in watts."""
    from core.facts.energy import idle_power_w

    for meter in meters:
        meter.begin()
    sleep(seconds)
    readings = [r for meter in meters for r in meter.end()]
    return idle_power_w(readings)
