"""The environment fingerprint stored with every result."""

from __future__ import annotations

import hashlib
import os
import platform
import socket

import core


def host_hash(hostname: str | None = None) -> str:
    name = hostname if hostname is not None else socket.gethostname()
    return hashlib.sha256(name.encode()).hexdigest()[:12]


def fingerprint(device=None) -> dict:
    """Host (hashed), OS, Python, torch, CUDA, driver, CPU, GPU, power limit, threads. Imports torch."""
    import torch

    from core.measure.devices import cpu_model_name

    return {
        "host": host_hash(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "driver": getattr(device, "driver_version", None),
        "cpu": cpu_model_name(),
        "gpu": device.name if device is not None and device.kind != "cpu" else None,
        "power_limit_w": getattr(device, "power_limit_w", None),
        "threads": torch.get_num_threads(),
        "logical_cpus": os.cpu_count(),
        "malloc_tuning": {k: v for k, v in os.environ.items() if k.startswith("MALLOC_")} or None,
        "accelscope": core.__version__,
    }
