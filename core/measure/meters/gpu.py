"""NVIDIA GPU energy through NVML: the total-energy counter where the GPU has one (Volta and
newer), else integrated power samples from a background thread (labelled estimated)."""

from __future__ import annotations

import threading
import time
from typing import Callable

from core.facts.energy import ESTIMATED, MEASURED, EnergyReading, unavailable

# NVML's energy counter is updated by the driver every few tens of ms on recent GPUs (coarser on
# some); a 1 s window keeps the quantization error well under 1%.
COUNTER_MIN_WINDOW_S = 1.0
SAMPLE_INTERVAL_S = 0.02


def integrate_trapezoid(samples: list[tuple[float, float]]) -> float:
    """Joules from (time_s, power_w) samples."""
    return sum((t1 - t0) * (p0 + p1) / 2 for (t0, p0), (t1, p1) in zip(samples, samples[1:]))


class PowerSampler:
    """Samples a power reading on a daemon thread; start/stop bracket a window."""

    def __init__(self, read_power_w: Callable[[], float], interval_s: float = SAMPLE_INTERVAL_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._read = read_power_w
        self._interval_s = interval_s
        self._clock = clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.samples: list[tuple[float, float]] = []

    def start(self) -> None:
        self.samples = [(self._clock(), self._read())]
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, daemon=True, name="accelscope-power-sampler")
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            self.samples.append((self._clock(), self._read()))

    def stop(self) -> list[tuple[float, float]]:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.samples.append((self._clock(), self._read()))
        return self.samples


class NvmlGpuMeter:
    """One GPU. Uses the energy counter when present; otherwise power sampling."""

    def __init__(self, nvml, handle, component: str, *, clock: Callable[[], float] = time.monotonic,
                 sample_interval_s: float = SAMPLE_INTERVAL_S, sampler: PowerSampler | None = None,
                 owns_nvml: bool = False) -> None:
        self._nvml, self._handle, self.component, self._clock = nvml, handle, component, clock
        self._owns_nvml = owns_nvml
        self.has_counter = self._probe_counter()
        self.min_window_s = COUNTER_MIN_WINDOW_S if self.has_counter else 0.2
        self._sampler = sampler or PowerSampler(self._read_power, sample_interval_s, clock)
        self._start_s = 0.0
        self._start_mj = 0

    def close(self) -> None:
        """Shut NVML down if this meter opened it (the backend hands it over)."""
        if self._owns_nvml:
            self._nvml.close()

    def _probe_counter(self) -> bool:
        try:
            self._nvml.total_energy_mj(self._handle)
            return True
        except Exception:  # NVML_ERROR_NOT_SUPPORTED before Volta
            return False

    def _read_power(self) -> float:
        return self._nvml.power_w(self._handle)

    def begin(self) -> None:
        self._start_s = self._clock()
        if self.has_counter:
            self._start_mj = self._nvml.total_energy_mj(self._handle)
        else:
            self._sampler.start()

    def end(self) -> list[EnergyReading]:
        if not self.has_counter:
            samples = self._sampler.stop()
            duration = samples[-1][0] - samples[0][0]
            if len(samples) < 3:
                return [unavailable(self.component, duration, "too few NVML power samples in the window")]
            return [EnergyReading(self.component, integrate_trapezoid(samples), duration,
                                  "nvml-power-sampling", ESTIMATED, 0.10,
                                  f"no energy counter on this GPU; {len(samples)} power samples integrated")]
        end_mj = self._nvml.total_energy_mj(self._handle)
        duration = self._clock() - self._start_s
        delta_j = (end_mj - self._start_mj) / 1000.0
        if delta_j <= 0:
            return [unavailable(self.component, duration,
                                f"NVML energy counter did not advance in {duration:.3f} s (window shorter "
                                "than its update period); use a longer --seconds")]
        return [EnergyReading(self.component, delta_j, duration, "nvml-total-energy-counter", MEASURED,
                              0.05 if duration >= COUNTER_MIN_WINDOW_S else 0.2)]

