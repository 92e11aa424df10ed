"""Choose the energy meters for a device: NVML for NVIDIA GPUs; RAPL for CPU package and DRAM;
CodeCarbon's estimate where RAPL is not readable; an explicit 'unavailable' otherwise."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Iterator

from core.measure.meters.base import EnergyReading, unavailable
from core.measure.meters.codecarbon_meter import CodeCarbonMeter, codecarbon_available
from core.measure.meters.gpu import NvmlGpuMeter
from core.measure.meters.nvml import open_nvml
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


@contextlib.contextmanager
def open_meters(device, choice: str = "auto") -> Iterator[list]:
    """The meters for one probe on ``device`` (a core.measure.devices.Device); closes NVML afterwards."""
    if choice == "none":
        yield []
        return
    nvml = open_nvml() if device.kind == "cuda" else None
    try:
        meters: list = []
        if device.kind == "cuda":
            index = int(device.id.split(":")[1]) if ":" in device.id else 0
            if nvml is None:
                meters.append(UnavailableMeter({device.id.replace("cuda", "gpu"):
                                                "NVML not available (install nvidia-ml-py; needs the NVIDIA driver)"}))
            else:
                import torch

                uuid = str(getattr(torch.cuda.get_device_properties(index), "uuid", ""))
                meters.append(NvmlGpuMeter(nvml, nvml.handle_for(index, uuid), f"gpu:{index}"))
        elif device.kind == "mps":
            meters.append(UnavailableMeter({"gpu:mps": "Apple GPU energy needs `sudo powermetrics`; "
                                                       "the CPU/RAM estimate below includes the SoC package"}))
        elif device.kind == "xpu":
            meters.append(UnavailableMeter({device.id.replace("xpu", "gpu"):
                                            "no energy reader for Intel XPU in Accelscope yet"}))
        meters.extend(host_meters())
        yield meters
    finally:
        if nvml is not None:
            nvml.close()


def measure_idle(meters, seconds: float, sleep=time.sleep) -> dict[str, float]:
    """Average power of each component while nothing runs, in watts."""
    from core.facts.energy import idle_power_w

    for meter in meters:
        meter.begin()
    sleep(seconds)
    readings = [r for meter in meters for r in meter.end()]
    return idle_power_w(readings)
