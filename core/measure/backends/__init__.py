"""Device backends: one module per device kind (cpu, cuda, mps, xpu). Everything that differs
between kinds (discovery, refusals, synchronisation, step timing, peak memory, precision set-up,
energy meters) lives in its module; the rest of Accelscope asks the backend instead of testing
``kind``. Discovery imports torch only where a platform can have that kind of device.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Sequence

from core.errors import DeviceUnavailable, UnsupportedSpec
from core.measure.backends.base import Backend, Device

KINDS = ("cpu", "cuda", "mps", "xpu")


def module_for(kind: str) -> ModuleType:
    if kind not in KINDS:
        raise DeviceUnavailable(f"unknown device kind {kind!r}; Accelscope knows {', '.join(KINDS)}")
    return importlib.import_module(f"core.measure.backends.{kind}")


def discover() -> list[Device]:
    """Every device this machine can train on; always at least the CPU."""
    return [device for kind in KINDS for device in module_for(kind).discover()]


def find(device_id: str, devices: Sequence[Device]) -> Device:
    for device in devices:
        if device.id == device_id:
            return device
    if device_id == "cuda":
        return find("cuda:0", devices)
    available = ", ".join(d.id for d in devices)
    raise DeviceUnavailable(f"no device {device_id!r} on this machine; available: {available} "
                            "(run `python -m core devices`)")


def check_spec(spec, device: Device) -> list[str]:
    """Refuse (UnsupportedSpec, with the reason) a spec the device cannot run; return the warnings
    a user must see before it runs (an emulated precision, say)."""
    module = module_for(device.kind)
    reason = module.refusal(spec, device)
    if reason:
        if spec.precision not in device.precisions:
            supported = ", ".join(p + (" (emulated)" if p in device.emulated_precisions else "")
                                  for p in device.precisions)
            reason += f". Supported here: {supported}"
        raise UnsupportedSpec(f"cannot run {spec.label}: {reason}")
    return getattr(module, "warnings", lambda spec, device: [])(spec, device)


def open_backend(device: Device) -> Backend:
    """The backend object the probe uses for ``device`` (its methods import torch)."""
    return module_for(device.kind).BACKEND(device)


__all__ = ["Backend", "Device", "KINDS", "check_spec", "discover", "find", "module_for", "open_backend"]
