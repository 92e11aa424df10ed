"""CPU and RAM energy estimated by CodeCarbon (its TDP × load model) where RAPL is not readable,
and on Apple machines. A new OfflineEmissionsTracker per window: a restarted tracker keeps adding
to its old totals. Nothing is written to the working directory; its logging is quieted."""

from __future__ import annotations

import logging
import time
from typing import Callable

from core.facts.energy import ESTIMATED, EnergyReading, unavailable
from core.units import J_PER_KWH


def codecarbon_available() -> tuple[bool, str | None]:
    try:
        import codecarbon  # noqa: F401
    except Exception as exc:
        return False, f"CodeCarbon is not installed ({exc}); `pip install codecarbon`"
    return True, None


def make_tracker(country_iso_code: str = "USA"):
    from codecarbon import OfflineEmissionsTracker

    logging.getLogger("codecarbon").setLevel(logging.ERROR)
    return OfflineEmissionsTracker(country_iso_code=country_iso_code, output_methods=[],
                                   log_level="error", measure_power_secs=5, allow_multiple_runs=True)


def cpu_mode(tracker) -> str:
    for hardware in getattr(tracker, "_hardware", []):
        if type(hardware).__name__ == "CPU":
            return str(getattr(hardware, "_mode", "unknown"))
    return "unknown"


class CodeCarbonMeter:
    min_window_s = 1.0

    def __init__(self, tracker_factory: Callable = make_tracker,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._factory = tracker_factory
        self._clock = clock
        self._tracker = None
        self._start_s = 0.0

    def begin(self) -> None:
        self._tracker = self._factory()
        self._tracker.start()  # its first start takes seconds (hardware detection): not part of the window
        self._start_s = self._clock()

    def end(self) -> list[EnergyReading]:
        tracker, self._tracker = self._tracker, None
        tracker.stop()
        duration = self._clock() - self._start_s
        data = tracker.final_emissions_data
        import codecarbon

        version = getattr(codecarbon, "__version__", "?")
        mode = cpu_mode(tracker)
        readings = []
        for component, kwh, what, uncertainty in (
                ("cpu", getattr(data, "cpu_energy", None), f"CPU {mode} model", 0.3),
                ("ram", getattr(data, "ram_energy", None), "RAM power model", 0.5)):
            if kwh is None:
                readings.append(unavailable(component, duration, f"CodeCarbon gave no {component} energy"))
            else:
                readings.append(EnergyReading(component, float(kwh) * J_PER_KWH, duration,
                                              f"codecarbon {version}: {what}", ESTIMATED, uncertainty))
        return readings
