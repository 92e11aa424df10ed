"""mlp: tabular classification. Labels come from a fixed random teacher network, so the task is
learnable and the loss falls within a few steps."""

from __future__ import annotations

import torch

from core.measure.workloads.base import Workload, generator, to_device

POOL = 8


def make_model(features: int, hidden: int, layers: int, classes: int) -> torch.nn.Sequential:
    dims = [features] + [hidden] * layers
    blocks: list[torch.nn.Module] = []
    for d_in, d_out in zip(dims[:-1], dims[1:]):
        blocks += [torch.nn.Linear(d_in, d_out), torch.nn.ReLU()]
    blocks.append(torch.nn.Linear(dims[-1], classes))
    return torch.nn.Sequential(*blocks)


def build(params: dict, batch_size: int, device: str, seed: int = 0) -> Workload:
    features, hidden = int(params["features"]), int(params["hidden"])
    layers, classes = int(params["layers"]), int(params["classes"])
    gen = generator(seed)
    teacher = torch.randn(features, classes, generator=gen)
    batches = []
    for _ in range(POOL):
        x = torch.randn(batch_size, features, generator=gen)
        batches.append((x, (x @ teacher).argmax(dim=1)))
    torch.manual_seed(seed)
    return Workload(
        model=make_model(features, hidden, layers, classes),
        batches=to_device(batches, device),
        loss_fn=torch.nn.functional.cross_entropy,
        make_optimizer=lambda p: torch.optim.AdamW(p, lr=1e-3),
        samples_per_step=batch_size,
    )


def analytic_flops(features: int, hidden: int, layers: int, classes: int, batch_size: int) -> int:
    """Matmul FLOPs of one training step: 2·B·in·out forward, the same for the weight gradient,
    and the same for the input gradient except at the first layer (its input needs none)."""
    dims = [features] + [hidden] * layers + [classes]
    total = 0
    for i, (d_in, d_out) in enumerate(zip(dims[:-1], dims[1:])):
        matmul = 2 * batch_size * d_in * d_out
        total += matmul * (2 if i == 0 else 3)
    return total
