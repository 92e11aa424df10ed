"""Discover the devices this machine can train on: CPU, CUDA GPUs, Apple MPS, Intel XPU."""

from __future__ import annotations

import dataclasses
import os
import platform
from dataclasses import dataclass

from core.errors import DeviceUnavailable


@dataclass(frozen=True)
class Device:
    """One trainable device. ``id`` is what torch calls it: ``cpu``, ``cuda:0``, ``mps``, ``xpu:0``."""

    id: str
    kind: str  # cpu | cuda | mps | xpu
    name: str
    memory_bytes: int | None = None
    precisions: tuple[str, ...] = ("fp32",)
    cores: int | None = None
    threads: int | None = None
    compute_capability: str | None = None
    sm_count: int | None = None
    driver_version: str | None = None
    power_limit_w: float | None = None
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        data = dataclasses.asdict(self)
        data["precisions"] = list(self.precisions)
        data["notes"] = list(self.notes)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "Device":
        data = dict(data)
        data["precisions"] = tuple(data.get("precisions", ("fp32",)))
        data["notes"] = tuple(data.get("notes", ()))
        return cls(**data)


def cpu_model_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def physical_cores() -> int | None:
    try:
        import psutil

        return psutil.cpu_count(logical=False)
    except Exception:  # psutil missing or unsupported platform
        return None


def total_memory_bytes() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def cpu_device() -> Device:
    import torch

    return Device(
        id="cpu", kind="cpu", name=cpu_model_name(), memory_bytes=total_memory_bytes(),
        precisions=("fp32", "bf16"), cores=physical_cores() or os.cpu_count(),
        threads=torch.get_num_threads(),
    )


def cuda_devices(nvml=None) -> list[Device]:
    """CUDA GPUs with their properties; NVML (driver, power limit) where available."""
    import torch

    if not torch.cuda.is_available():
        return []
    devices = []
    for index in range(torch.cuda.device_count()):
        props = torch.cuda.get_device_properties(index)
        major, minor = props.major, props.minor
        precisions = ["fp32", "fp16"]
        if major >= 8:
            precisions[1:1] = ["tf32", "bf16"]
        driver, power_limit_w, notes = None, None, []
        if nvml is not None:
            try:
                handle = nvml.handle_for(index, str(getattr(props, "uuid", "")))
                driver = nvml.driver_version()
                power_limit_w = nvml.power_limit_w(handle)
            except Exception as exc:  # NVML present but this query failed
                notes.append(f"NVML query failed: {exc}")
        else:
            notes.append("NVML not available (install nvidia-ml-py): no driver version or power limit")
        devices.append(Device(
            id=f"cuda:{index}", kind="cuda", name=props.name, memory_bytes=props.total_memory,
            precisions=tuple(precisions), compute_capability=f"{major}.{minor}",
            sm_count=props.multi_processor_count, driver_version=driver,
            power_limit_w=power_limit_w, notes=tuple(notes),
        ))
    return devices


def mps_devices() -> list[Device]:
    import torch

    backend = getattr(torch.backends, "mps", None)
    if backend is None or not backend.is_available():
        return []
    return [Device(id="mps", kind="mps", name=f"Apple {platform.machine()} GPU (MPS)",
                   memory_bytes=total_memory_bytes(), precisions=("fp32", "fp16", "bf16"),
                   notes=("unified memory: memory_bytes is the machine's RAM",))]


def xpu_devices() -> list[Device]:
    import torch

    xpu = getattr(torch, "xpu", None)
    if xpu is None or not xpu.is_available():
        return []
    devices = []
    for index in range(xpu.device_count()):
        props = xpu.get_device_properties(index)
        devices.append(Device(id=f"xpu:{index}", kind="xpu", name=props.name,
                              memory_bytes=getattr(props, "total_memory", None),
                              precisions=("fp32", "bf16", "fp16")))
    return devices


def discover() -> list[Device]:
    """Every device torch can train on here. Always at least the CPU. Imports torch."""
    from core.measure.meters.nvml import open_nvml

    nvml = open_nvml()
    try:
        return [cpu_device(), *cuda_devices(nvml), *mps_devices(), *xpu_devices()]
    finally:
        if nvml is not None:
            nvml.close()


def find(device_id: str, devices: list[Device]) -> Device:
    for device in devices:
        if device.id == device_id:
            return device
    if device_id == "cuda":
        return find("cuda:0", devices)
    available = ", ".join(d.id for d in devices)
    raise DeviceUnavailable(f"no device {device_id!r} on this machine; available: {available} "
                            "(run `python -m core devices`)")
