"""CPU package and DRAM energy from Intel/AMD RAPL through Linux powercap (/sys/class/powercap)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

from core.facts.energy import MEASURED, EnergyReading

POWERCAP_ROOT = Path("/sys/class/powercap")


class RaplZone:
    def __init__(self, path: Path, component: str) -> None:
        self.path = path
        self.component = component
        self.max_range_uj = int((path / "max_energy_range_uj").read_text())

    def read_uj(self) -> int:
        return int((self.path / "energy_uj").read_text())


def delta_uj(start: int, end: int, max_range_uj: int) -> int:
    """Counter difference, handling one wrap-around (the counter resets past max_energy_range_uj)."""
    return end - start if end >= start else end + max_range_uj + 1 - start


def find_zones(root: Path = POWERCAP_ROOT) -> tuple[list[RaplZone], str | None]:
    """Readable package and DRAM zones, or ([], reason)."""
    if not root.exists():
        return [], f"{root} does not exist (no RAPL: not Linux, a VM, or an unsupported CPU)"
    zones = []
    problems = []
    for package in sorted(root.glob("intel-rapl:*")):
        if package.name.count(":") != 1:
            continue
        for zone_path in [package, *sorted(package.glob(f"{package.name}:*"))]:
            try:
                name = (zone_path / "name").read_text().strip()
                index = package.name.split(":")[1]
                if name.startswith("package"):
                    component = f"cpu-package:{index}"
                elif name == "dram":
                    component = f"dram:{index}"
                else:
                    continue  # core/uncore are inside the package already
                zone = RaplZone(zone_path, component)
                zone.read_uj()
                zones.append(zone)
            except PermissionError:
                problems.append(f"{zone_path}/energy_uj is not readable (needs root, or "
                                "`sudo chmod a+r /sys/class/powercap/intel-rapl:*/energy_uj`)")
            except (OSError, ValueError) as exc:
                problems.append(f"{zone_path}: {exc}")
    if zones:
        return zones, None
    return [], "; ".join(problems) or f"no RAPL package zones under {root}"


class RaplMeter:
    min_window_s = 0.1

    def __init__(self, zones: list[RaplZone], clock: Callable[[], float] = time.monotonic) -> None:
        self._zones = zones
        self._clock = clock
        self._start: list[int] = []
        self._start_s = 0.0

    def begin(self) -> None:
        self._start_s = self._clock()
        self._start = [zone.read_uj() for zone in self._zones]

    def end(self) -> list[EnergyReading]:
        ends = [zone.read_uj() for zone in self._zones]
        duration = self._clock() - self._start_s
        return [EnergyReading(zone.component, delta_uj(s, e, zone.max_range_uj) / 1e6, duration,
                              "rapl-powercap", MEASURED, 0.05)
                for zone, s, e in zip(self._zones, self._start, ends)]
