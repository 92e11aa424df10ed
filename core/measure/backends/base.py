"""What every device backend shares: the Device description (torch-free) and the Backend base
class that the probe talks to (it imports torch in its methods).

A backend module (cpu, cuda, mps, xpu) provides, for its kind of device:

- ``discover() -> list[Device]`` (torch-free where the platform allows),
- ``refusal(spec, device) -> str | None``: why the device cannot run a spec (None: it can),
- ``warnings(spec, device) -> list[str]`` (optional): what a user must know before it runs,
- ``Backend`` subclass: synchronisation, step timer, peak memory, precision set-up, energy meters.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from dataclasses import dataclass
from typing import Callable, Iterator

from core.facts.rows import IDENTITY_SEPARATOR
from core.measure.stats import StepTimer
from core.units import BYTES_PER_GIB


@dataclass(frozen=True)
class Device:
    """One trainable device. ``id`` is what torch calls it: ``cpu``, ``cuda:0``, ``mps``, ``xpu:0``.
    ``emulated_precisions`` run without native hardware support (measured, but labelled)."""

    id: str
    kind: str  # cpu | cuda | mps | xpu
    name: str
    memory_bytes: int | None = None
    precisions: tuple[str, ...] = ("fp32",)
    emulated_precisions: tuple[str, ...] = ()
    isa: str | None = None  # CPU: the instruction-set class that decides its speed (AVX2, AVX-512, AMX-BF16...)
    cores: int | None = None
    logical_cpus: int | None = None
    compute_capability: str | None = None
    sm_count: int | None = None
    driver_version: str | None = None
    power_limit_w: float | None = None
    notes: tuple[str, ...] = ()

    @property
    def identity(self) -> str:
        """What decides this device's speed. Results of different identities never share a median:
        a CPU's model, instruction-set class, logical CPUs and memory; a GPU's name, memory and
        compute capability."""
        gib = f"{self.memory_bytes / BYTES_PER_GIB:.0f} GiB" if self.memory_bytes else "memory ?"
        if self.kind == "cpu":
            parts = [self.name, self.isa or "ISA ?", f"{self.logical_cpus or '?'} logical CPUs", gib]
        else:
            parts = [self.name, gib] + ([f"sm_{self.compute_capability.replace('.', '')}"]
                                        if self.compute_capability else [])
        return IDENTITY_SEPARATOR.join(parts)

    def to_dict(self) -> dict:
        data = dataclasses.asdict(self)
        for name in ("precisions", "emulated_precisions", "notes"):
            data[name] = list(data[name])
        data["identity"] = self.identity
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "Device":
        """The device as the parent discovered it, handed to the probe child (no second discovery)."""
        names = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in names}
        for name in ("precisions", "emulated_precisions", "notes"):
            values[name] = tuple(values.get(name, ()))
        return cls(**values)


class Backend:
    """The probe's only handle on a device. Defaults suit a synchronous host device (the CPU)."""

    peak_memory_method = ""

    def __init__(self, device: Device) -> None:
        self.device = device

    @property
    def torch_device(self) -> str:
        return self.device.id

    def synchronize(self) -> None:
        """Wait until every queued kernel has finished (a no-op on the CPU)."""

    def step_timer(self, clock: Callable[[], float] = time.perf_counter) -> StepTimer:
        from core.measure.stats import WallClockTimer

        return WallClockTimer(clock, self.synchronize)

    def reset_peak_memory(self) -> None:
        """Start peak-memory accounting from now (where the device can)."""

    def peak_memory(self) -> tuple[int | None, str]:
        raise NotImplementedError

    def configure_precision(self, precision: str):
        """Matmul modes for the precision; returns (autocast context factory, grad scaler or None)."""
        import torch

        if precision in ("bf16", "fp16"):
            dtype = torch.bfloat16 if precision == "bf16" else torch.float16
            autocast = lambda: torch.autocast(device_type=self.device.kind, dtype=dtype)  # noqa: E731
        else:
            autocast = contextlib.nullcontext
        scaler = torch.amp.GradScaler(self.device.kind) if precision == "fp16" else None
        return autocast, scaler

    @contextlib.contextmanager
    def meters(self, choice: str = "auto") -> Iterator[list]:
        """The energy meters for one probe on this device, host meters included."""
        from core.measure.meters.factory import host_meters

        meters = [] if choice == "none" else [*self.device_meters(), *host_meters()]
        try:
            yield meters
        finally:
            for meter in meters:
                getattr(meter, "close", lambda: None)()

    def device_meters(self) -> list:
        return []

    def fingerprint(self) -> dict:
        """Device facts for the result's environment record."""
        return {"gpu": None if self.device.kind == "cpu" else self.device.name,
                "driver": self.device.driver_version, "power_limit_w": self.device.power_limit_w}


class StreamBackend(Backend):
    """A device reached as ``torch.<module>`` with its own streams and caching allocator (CUDA,
    XPU): event-timed steps, one synchronisation per window, the allocator's peak."""

    module = ""  # "cuda" | "xpu"

    def __init__(self, device: Device) -> None:
        super().__init__(device)
        self._torch_module().set_device(device.id)  # a probe process drives one device: make it the current one

    def _torch_module(self):
        import torch

        return getattr(torch, self.module)

    @property
    def peak_memory_method(self) -> str:
        return f"torch.{self.module}.max_memory_allocated"

    def synchronize(self) -> None:
        self._torch_module().synchronize(self.device.id)

    def step_timer(self, clock: Callable[[], float] = time.perf_counter) -> StepTimer:
        from core.measure.stats import EventTimer

        module = self._torch_module()
        return EventTimer(lambda: module.Event(enable_timing=True), self.synchronize,
                          stream=module.current_stream(self.device.id))

    def reset_peak_memory(self) -> None:
        self._torch_module().reset_peak_memory_stats(self.device.id)

    def peak_memory(self) -> tuple[int | None, str]:
        return self._torch_module().max_memory_allocated(self.device.id), self.peak_memory_method
