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


def my_model(batch_size, seq, device):
    """A user's own model for `python -m core analyze --model tests.core.faulty_workloads:my_model`:
    returns (model, inputs) with model(**inputs) giving the loss."""
    import torch

    class Regressor(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.layers = torch.nn.Sequential(torch.nn.Linear(64, 256), torch.nn.ReLU(), torch.nn.Linear(256, 1))

        def forward(self, x, y):
            return torch.nn.functional.mse_loss(self.layers(x).squeeze(-1), y)

    with torch.device(device):
        model = Regressor()
        inputs = {"x": torch.randn(batch_size, 64), "y": torch.randn(batch_size)}
    return model, inputs
