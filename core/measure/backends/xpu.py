"""Intel GPUs (XPU): looked for only where an Intel display/compute device is present (then
torch is imported); XPU-event step timing; torch's peak-allocated memory; no energy reader yet."""

from __future__ import annotations

from pathlib import Path

from core.measure.backends.base import Device, StreamBackend

INTEL_PCI_VENDOR = "0x8086"


def intel_gpu_present(drm_root: Path = Path("/sys/class/drm")) -> bool:
    for vendor in drm_root.glob("card*/device/vendor"):
        try:
            if vendor.read_text().strip() == INTEL_PCI_VENDOR:
                return True
        except OSError:
            continue
    return False


def discover() -> list[Device]:
    if not intel_gpu_present():
        return []
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


def refusal(spec, device: Device) -> str | None:
    if spec.precision not in device.precisions:
        return "tf32 is a CUDA tensor-core mode; on XPU use fp32, bf16 or fp16"
    return None


class XpuBackend(StreamBackend):
    module = "xpu"

    def device_meters(self) -> list:
        from core.measure.meters.factory import UnavailableMeter

        return [UnavailableMeter({self.device.id.replace("xpu", "gpu"): "no energy reader for Intel XPU in "
                                                                        "Accelscope yet"})]


BACKEND = XpuBackend
