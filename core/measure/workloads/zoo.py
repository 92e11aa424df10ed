"""zoo: the presets of core.measure.models (transformers models built from config classes: GPT-2,
Llama- and Mistral-like decoders, BERT, ViT, ResNet-50, Whisper, T5) as probe workloads, trained for
real by the same engine as the built-ins.

Before anything is allocated, the model is analysed on fake tensors (core.measure.analysis) and the
probe is refused — as out of memory, with the estimate — when its training step cannot fit the
memory the device has free.
"""

from __future__ import annotations

import torch
from torch import nn

from core.errors import AccelscopeError
from core.measure.models import ModelSpec, batch_inputs, build_training
from core.measure.workloads.base import Workload

POOL = 2  # learnable batches cycled through (each a different seed)
TOKEN_KINDS = ("causal-lm", "masked-lm", "sequence-classification", "seq2seq", "speech")


class WithLoss(nn.Module):
    """A transformers model whose forward takes the batch's keyword arguments and returns the loss."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, inputs: dict) -> torch.Tensor:
        return self.model(**inputs).loss


def build(params: dict, batch_size: int, device: str, seed: int = 0) -> Workload:
    spec = ModelSpec(str(params["model"]))
    seq = int(params["seq"]) if params.get("seq") else None
    refuse_if_it_cannot_fit(spec, batch_size, seq, str(params.get("precision", "fp32")), device)
    training = build_training(spec, batch_size, seq, device, seed)
    batches = [(training.inputs, None)] + [(batch_inputs(spec, batch_size, seq, device, seed + k), None)
                                           for k in range(1, POOL)]
    tokens = batch_size * training.seq if training.kind in TOKEN_KINDS and training.seq else None
    return Workload(model=WithLoss(training.model), batches=batches, loss_fn=lambda loss, _target: loss,
                    make_optimizer=lambda p: torch.optim.AdamW(p, lr=1e-4), samples_per_step=batch_size,
                    tokens_per_step=tokens)


def refuse_if_it_cannot_fit(spec: ModelSpec, batch: int, seq: int | None, precision: str, device: str) -> None:
    """Raise (as out of memory, with the estimate) when the estimated training step exceeds the
    device's free memory."""
    from core.measure.analysis import analyze
    from core.measure.models import without_attention_dropout

    if device.startswith("cuda"):
        spec = without_attention_dropout(spec)
    needed = analyze(spec, batch, seq, precision).memory.peak_bytes
    free = free_memory_bytes(device)
    if free is not None and needed > free:
        raise AccelscopeError(f"out of memory, predicted before allocating: {spec.name} needs {needed / 1e9:,.1f} GB "
                              f"for a training step in {precision} at batch {batch} (estimated on fake tensors); "
                              f"{device} has {free / 1e9:,.1f} GB free. Try a smaller --batch-size.")


def free_memory_bytes(device: str) -> int | None:
    """Memory free for the probe: MemAvailable on the CPU, cudaMemGetInfo's free bytes on CUDA."""
    if device.startswith("cuda"):
        return int(torch.cuda.mem_get_info(torch.device(device))[0])
    if device == "cpu":
        try:
            with open("/proc/meminfo") as meminfo:
                for line in meminfo:
                    if line.startswith("MemAvailable:"):
                        return int(line.split()[1]) * 1024
        except OSError:
            return None
    return None
