"""NVIDIA GPUs: discovered through NVML without torch where possible, CUDA-event step timing
(one host synchronisation per timed window), torch's peak-allocated memory, NVML energy."""

from __future__ import annotations

import importlib.metadata
import os

from core.measure.backends.base import Device, StreamBackend


def torch_is_cpu_build() -> bool:
    """True when the installed torch cannot drive a GPU (its version says '+cpu')."""
    try:
        return "+cpu" in importlib.metadata.version("torch")
    except importlib.metadata.PackageNotFoundError:
        return True


def precisions_for(major: int) -> tuple[str, ...]:
    return ("fp32", "tf32", "bf16", "fp16") if major >= 8 else ("fp32", "fp16")


def discover(nvml=None) -> list[Device]:
    """CUDA GPUs. From NVML alone (so `devices` needs no torch import) when NVML's numbering is
    CUDA's: no CUDA_VISIBLE_DEVICES, and one GPU model (CUDA orders unlike GPUs fastest first, NVML
    by PCI bus) or CUDA_DEVICE_ORDER=PCI_BUS_ID. Else from torch."""
    if torch_is_cpu_build():
        return []
    from core.measure.meters.nvml import open_nvml

    own = nvml is None
    nvml = nvml or open_nvml()
    try:
        if nvml is not None and "CUDA_VISIBLE_DEVICES" not in os.environ:
            try:
                devices = [_nvml_device(nvml, index) for index in range(nvml.device_count())]
            except Exception:  # an NVML query this GPU does not answer (MIG, an old driver): ask torch
                devices = []
            if devices and (len({d.name for d in devices}) == 1 or os.environ.get("CUDA_DEVICE_ORDER") == "PCI_BUS_ID"):
                return devices
        return _torch_devices(nvml)
    finally:
        if own and nvml is not None:
            nvml.close()


def _nvml_device(nvml, index: int) -> Device:
    handle = nvml.handle_for(index)
    major, minor = nvml.compute_capability(handle)
    return Device(id=f"cuda:{index}", kind="cuda", name=nvml.name(handle), memory_bytes=nvml.memory_total_bytes(handle),
                  precisions=precisions_for(major), compute_capability=f"{major}.{minor}",
                  driver_version=nvml.driver_version(), power_limit_w=nvml.power_limit_w(handle))


def _torch_devices(nvml) -> list[Device]:
    import torch

    if not torch.cuda.is_available():
        return []
    devices = []
    for index in range(torch.cuda.device_count()):
        props = torch.cuda.get_device_properties(index)
        driver, power_limit_w, notes = None, None, []
        memory_bytes = props.total_memory
        if nvml is not None:
            try:
                handle = nvml.handle_for(index, str(getattr(props, "uuid", "")))
                driver, power_limit_w = nvml.driver_version(), nvml.power_limit_w(handle)
                memory_bytes = nvml.memory_total_bytes(handle)  # as the NVML path reports it: one identity
            except Exception as exc:  # NVML present but this query failed
                notes.append(f"NVML query failed: {exc}")
        else:
            notes.append("NVML not available (install nvidia-ml-py): no driver version, power limit or energy")
        devices.append(Device(
            id=f"cuda:{index}", kind="cuda", name=props.name, memory_bytes=memory_bytes,
            precisions=precisions_for(props.major), compute_capability=f"{props.major}.{props.minor}",
            sm_count=props.multi_processor_count, driver_version=driver, power_limit_w=power_limit_w,
            notes=tuple(notes)))
    return devices


def refusal(spec, device: Device) -> str | None:
    if spec.precision not in device.precisions:
        if spec.precision in ("bf16", "tf32"):
            return (f"{device.name} has no {spec.precision} support (needs compute capability 8.0+, it has "
                    f"{device.compute_capability}); use fp16 or fp32")
        return f"{spec.precision} is not supported on {device.id} ({device.name})"
    return None


class CudaBackend(StreamBackend):
    module = "cuda"

    def configure_precision(self, precision: str):
        import torch

        tf32 = precision == "tf32"
        torch.backends.cuda.matmul.allow_tf32 = tf32
        torch.backends.cudnn.allow_tf32 = tf32
        return super().configure_precision(precision)

    def device_meters(self) -> list:
        from core.measure.meters.factory import UnavailableMeter
        from core.measure.meters.gpu import NvmlGpuMeter
        from core.measure.meters.nvml import open_nvml

        index = int(self.device.id.split(":")[1]) if ":" in self.device.id else 0
        nvml = open_nvml()
        if nvml is None:
            return [UnavailableMeter({f"gpu:{index}": "NVML not available (install nvidia-ml-py; needs the NVIDIA "
                                                      "driver)"})]
        import torch

        uuid = str(getattr(torch.cuda.get_device_properties(index), "uuid", ""))
        return [NvmlGpuMeter(nvml, nvml.handle_for(index, uuid), f"gpu:{index}", owns_nvml=True)]


BACKEND = CudaBackend
