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


def fingerprint(backend) -> dict:
    """Host (hashed), OS, Python, torch, CUDA, driver, CPU (model and ISA class), GPU, power limit,
    threads, and the environment switches that change kernel choice. Imports torch."""
    import torch

    from core.measure.backends.cpu import cpu_model_name, cpuinfo, isa_class

    info = cpuinfo()
    return {
        "host": host_hash(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        **backend.fingerprint(),
        "cpu": cpu_model_name(info),
        "cpu_isa": isa_class(info),
        "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "threads": torch.get_num_threads(),
        "logical_cpus": os.cpu_count(),
        "malloc_tuning": {k: v for k, v in os.environ.items() if k.startswith("MALLOC_")} or None,
        "kernel_env": {k: v for k, v in os.environ.items()
                       if k in ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}
        or None,
        "accelscope": core.__version__,
    }
