"""What a workload hands the runner: a model, learnable data already on the device, a loss."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch


@dataclass
class Workload:
    """A ready-to-train workload. ``batches`` is a small pool of (input, target) pairs on the
    device, cycled during the probe so data generation never enters the timed window."""

    model: torch.nn.Module
    batches: list
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    make_optimizer: Callable[[object], torch.optim.Optimizer]
    samples_per_step: int
    tokens_per_step: int | None = None


def generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def to_device(batches: list, device: str) -> list:
    return [(x.to(device), y.to(device)) for x, y in batches]
