"""Custom workloads (``tests.core.faulty_workloads:NAME``) that fail the ways real probes fail."""

import os
import signal
import time

from core.measure.workloads import mlp


def raises(params, batch_size, device, seed=0):
    raise RuntimeError("planted failure in the workload")


def hangs(params, batch_size, device, seed=0):
    time.sleep(3600)


def killed(params, batch_size, device, seed=0):
    os.kill(os.getpid(), signal.SIGKILL)


def tiny_mlp(params, batch_size, device, seed=0):
    return mlp.build({"features": 8, "hidden": 16, "layers": 1, "classes": 3}, batch_size, device, seed)
