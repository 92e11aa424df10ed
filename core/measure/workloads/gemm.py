"""gemm: a single square linear layer (no bias) regressing onto a fixed linear teacher.

FLOPs per training step are exactly 4·B·n²: the forward matmul and the weight-gradient matmul
(the input needs no gradient). Nearly all time is GEMM, so this is the device's matrix-multiply
ceiling inside a real training step.
"""

from __future__ import annotations

import torch

from core.measure.workloads.base import Workload, generator, to_device

POOL = 4


def build(params: dict, batch_size: int, device: str, seed: int = 0) -> Workload:
    n = int(params["n"])
    gen = generator(seed)
    teacher = torch.randn(n, n, generator=gen) / n**0.5
    batches = []
    for _ in range(POOL):
        x = torch.randn(batch_size, n, generator=gen)
        batches.append((x, x @ teacher.T))
    model = torch.nn.Linear(n, n, bias=False)
    torch.nn.init.zeros_(model.weight)
    return Workload(
        model=model,
        batches=to_device(batches, device),
        loss_fn=torch.nn.functional.mse_loss,
        make_optimizer=lambda p: torch.optim.SGD(p, lr=0.1),
        samples_per_step=batch_size,
    )


def analytic_flops(n: int, batch_size: int) -> int:
    return 4 * batch_size * n * n
