"""A thin, fakeable boundary over NVML (``import pynvml`` from the nvidia-ml-py package)."""

from __future__ import annotations


class Nvml:
    """The NVML calls Accelscope uses. Created once by :func:`open_nvml`, passed in, closed."""

    def __init__(self, module) -> None:
        self._nvml = module

    def handle_for(self, index: int, uuid: str = ""):
        if uuid:
            try:
                text = uuid if uuid.startswith("GPU-") else f"GPU-{uuid}"
                return self._nvml.nvmlDeviceGetHandleByUUID(text)
            except Exception:
                pass
        return self._nvml.nvmlDeviceGetHandleByIndex(index)

    def device_count(self) -> int:
        return self._nvml.nvmlDeviceGetCount()

    def name(self, handle) -> str:
        name = self._nvml.nvmlDeviceGetName(handle)
        return name.decode() if isinstance(name, bytes) else str(name)

    def memory_total_bytes(self, handle) -> int:
        return int(self._nvml.nvmlDeviceGetMemoryInfo(handle).total)

    def compute_capability(self, handle) -> tuple[int, int]:
        major, minor = self._nvml.nvmlDeviceGetCudaComputeCapability(handle)
        return int(major), int(minor)

    def driver_version(self) -> str:
        version = self._nvml.nvmlSystemGetDriverVersion()
        return version.decode() if isinstance(version, bytes) else str(version)

    def power_limit_w(self, handle) -> float:
        return self._nvml.nvmlDeviceGetEnforcedPowerLimit(handle) / 1000.0

    def active_nvlinks(self, handle, max_links: int = 18) -> int:
        """How many of the device's NVLink links are up (0 on a GPU without NVLink)."""
        active = 0
        for link in range(max_links):
            try:
                active += int(self._nvml.nvmlDeviceGetNvLinkState(handle, link) == 1)
            except Exception:  # noqa: BLE001 - no such link (or no NVLink at all): NVML raises
                break
        return active

    def total_energy_mj(self, handle) -> int:
        """Energy since driver load in millijoules (Volta and newer)."""
        return self._nvml.nvmlDeviceGetTotalEnergyConsumption(handle)

    def power_w(self, handle) -> float:
        return self._nvml.nvmlDeviceGetPowerUsage(handle) / 1000.0

    def close(self) -> None:
        try:
            self._nvml.nvmlShutdown()
        except Exception:
            pass


def open_nvml() -> Nvml | None:
    """NVML if the library and a driver are present, else None (no GPU, no NVML: fine)."""
    try:
        import pynvml

        pynvml.nvmlInit()
    except Exception:
        return None
    return Nvml(pynvml)
