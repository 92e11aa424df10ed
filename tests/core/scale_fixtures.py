"""A custom workload for the scaling tests: the built-in mlp/S, except that rank 1 of a
torch.distributed job cannot build it (a failed rank must fail its world size, not the others)."""

import os

from core.measure.workloads import load_builder, size_params


def mlp_failing_on_rank_1(params, batch_size, device, **kwargs):
    if os.environ.get("RANK") == "1":
        raise RuntimeError("rank 1 cannot build its model (a planted failure)")
    return load_builder("mlp")({**size_params("mlp", "S"), "precision": params.get("precision", "fp32")}, batch_size,
                               device, **kwargs)
