"""Apple GPUs through Metal (MPS): only looked for on Apple silicon (torch is imported there)."""

from __future__ import annotations

import platform
import sys

from core.measure.backends.base import Backend, Device
from core.measure.backends.cpu import total_memory_bytes


def discover() -> list[Device]:
    if sys.platform != "darwin" or platform.machine() != "arm64":
        return []
    import torch

    backend = getattr(torch.backends, "mps", None)
    if backend is None or not backend.is_available():
        return []
    return [Device(id="mps", kind="mps", name=f"Apple {platform.machine()} GPU (MPS)",
                   memory_bytes=total_memory_bytes(), precisions=("fp32", "fp16", "bf16"),
                   notes=("unified memory: memory_bytes is the machine's RAM",))]


def refusal(spec, device: Device) -> str | None:
    if spec.precision not in device.precisions:
        return "tf32 is a CUDA tensor-core mode; on MPS use fp32, fp16 or bf16"
    if spec.compile:
        return "torch.compile is not supported for training on MPS; drop --compile"
    return None


class MpsBackend(Backend):
    peak_memory_method = "torch.mps.driver_allocated_memory (at end)"

    def synchronize(self) -> None:
        import torch

        torch.mps.synchronize()

    def peak_memory(self) -> tuple[int | None, str]:
        import torch

        return torch.mps.driver_allocated_memory(), self.peak_memory_method

    def device_meters(self) -> list:
        from core.measure.meters.factory import UnavailableMeter

        return [UnavailableMeter({"gpu:mps": "Apple GPU energy needs `sudo powermetrics`; the CPU/RAM estimate "
                                             "below includes the SoC package"})]


BACKEND = MpsBackend
