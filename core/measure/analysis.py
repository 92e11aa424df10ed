"""Analyse a model without running it: one training step on fake tensors.

Under torch's FakeTensorMode every tensor has a shape, a dtype and a (meta) storage but no data, so
the model is built, fed, differentiated and stepped by the optimizer exactly as in a probe — the
same kernels chosen for the CPU, the same autocast rules, the same tensors saved for backward —
while nothing is allocated and nothing is computed. Two modes watch the step:

- torch.utils.flop_counter.FlopCounterMode counts the FLOPs of its forward and backward (the probe counts its own steps the same way);
- ``LiveTensors`` adds up the bytes of every storage an operation creates and takes them off when
  the storage is freed: the step's peak of live tensor bytes, and what holds it.

The step's peak is reported as a later step sees it: from the second step on, the optimizer state
is alive through the forward and backward (peak = max(forward-backward peak + optimizer state,
optimizer step's peak)), which one simulated step gives without a second.
What this cannot see: the allocator's caching and fragmentation, kernel workspaces (cuBLAS, cuDNN),
the CUDA context — measured memory is higher by those (BENCHMARKS.md compares the two).
"""

from __future__ import annotations

import contextlib
import time
import weakref

import torch
from torch._subclasses.fake_tensor import FakeTensorMode
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten
from torch.utils.flop_counter import FlopCounterMode

from core.errors import AccelscopeError
from core.facts.analysis import MemoryBreakdown, ModelAnalysis
from core.measure.models import ModelSpec, build_training

OPTIMIZERS = ("adamw", "sgd")
METHOD = ("one training step on fake (meta-backed) tensors under torch FakeTensorMode: live tensor bytes "
          "tracked op by op; mixed precision as the probe runs it (fp32 weights, gradients and optimizer state, "
          "torch.autocast compute); excludes allocator caching, kernel workspaces and the CUDA context")


class LiveTensors(TorchDispatchMode):
    """Tracks the bytes of live tensor storages, op by op: ``current`` and ``peak``."""

    def __init__(self) -> None:
        super().__init__()
        self.sizes: dict[int, int] = {}
        self.current = 0
        self.peak = 0
        self.parameters: set[int] = set()  # storages of the model's parameters
        self.copies: set[int] = set()  # storages of their casts (autocast's bf16/fp16 weight copies)
        self.copies_bytes = 0

    def watch_parameters(self, parameters) -> None:
        self.parameters = {id(p.untyped_storage()) for p in parameters}

    def track(self, tensor, copy: bool = False) -> None:
        if not isinstance(tensor, torch.Tensor):
            return
        storage = tensor.untyped_storage()
        key = id(storage)
        if key in self.sizes:
            return
        self.sizes[key] = storage.nbytes()
        self.current += self.sizes[key]
        self.peak = max(self.peak, self.current)
        if copy:
            self.copies.add(key)
            self.copies_bytes += self.sizes[key]
        weakref.finalize(storage, self._free, key)

    def _free(self, key: int) -> None:
        size = self.sizes.pop(key, 0)
        self.current -= size
        if key in self.copies:
            self.copies.discard(key)
            self.copies_bytes -= size

    def reset_peak(self) -> None:
        self.peak = self.current

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        copy = (func is torch.ops.aten._to_copy.default and isinstance(args[0], torch.Tensor)
                and id(args[0].untyped_storage()) in self.parameters)
        for tensor in tree_flatten(out)[0]:
            self.track(tensor, copy)
        return out


def make_optimizer(name: str, params):
    if name == "adamw":
        return torch.optim.AdamW(params, lr=1e-4)
    if name == "sgd":
        return torch.optim.SGD(params, lr=1e-2, momentum=0.9)
    raise AccelscopeError(f"--optimizer {name!r}: choose one of {', '.join(OPTIMIZERS)}")


def training_optimizer(training, optimizer: str, params):
    """``optimizer`` by name; "default" is a built-in workload's own (else AdamW)."""
    if optimizer == "default":
        return training.make_optimizer(params) if training.make_optimizer else make_optimizer("adamw", params)
    return make_optimizer(optimizer, params)


def _autocast(precision: str, device_type: str = "cpu"):
    if precision in ("bf16", "fp16"):
        return torch.autocast(device_type=device_type, dtype=torch.bfloat16 if precision == "bf16" else torch.float16)
    return contextlib.nullcontext()


def train_steps(training, optimizer, precision: str, steps: int, device_type: str = "cpu") -> None:
    """``steps`` real training steps: forward and loss under autocast, backward, optimizer step."""
    for _ in range(steps):
        with _autocast(precision, device_type):
            loss = training.forward_loss()
        loss.backward()
        del loss
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)


def analyze(spec: ModelSpec, batch: int, seq: int | None, precision: str, optimizer: str = "adamw",
            checkpointing: bool = False) -> ModelAnalysis:
    """Parameters, FLOPs per sample and training memory of ``spec`` at ``batch`` × ``seq``."""
    if precision not in ("fp32", "tf32", "bf16", "fp16"):
        raise AccelscopeError(f"--precision {precision!r}: choose fp32, tf32, bf16 or fp16")
    started = time.perf_counter()
    with FakeTensorMode(), LiveTensors() as live:
        training = build_training(spec, batch, seq, "cpu", initialise=False, checkpointing=checkpointing)
        model = training.model
        params = [p for p in model.parameters() if p.requires_grad]
        step_optimizer = training_optimizer(training, optimizer, params)
        live.watch_parameters(params)
        live.reset_peak()
        # FlopCounterMode's module hooks keep activation checkpointing's recomputed tensors alive until
        # the backward ends (measured: +12 GB on a Llama-3-8B-like step): with checkpointing, its FLOPs
        # are counted in a second pass, without recomputation.
        counter = FlopCounterMode(display=False)
        with (contextlib.nullcontext() if checkpointing else counter):
            before = live.current
            with _autocast(precision):
                loss = training.forward_loss()
            weight_copies = live.copies_bytes
            activations = live.current - before - weight_copies
            loss.backward()
        del loss
        forward_backward_peak = live.peak
        gradients = sum(p.grad.untyped_storage().nbytes() for p in params if p.grad is not None)
        live.reset_peak()
        step_optimizer.step()  # creates the optimizer state on this first step
        optimizer_peak = live.peak
        step_optimizer.zero_grad(set_to_none=True)
        weights = sum(p.untyped_storage().nbytes() for p in model.parameters())
        state = sum(t.untyped_storage().nbytes() for s in step_optimizer.state.values() for t in s.values()
                    if isinstance(t, torch.Tensor) and t.dim() > 0)
        # Every later step holds the optimizer state through its forward and backward too.
        peak = max(forward_backward_peak + state, optimizer_peak)
        n_params = sum(p.numel() for p in model.parameters())
        if checkpointing:  # the model's FLOPs, not the recomputation's
            model.activation_checkpointing_disable()
            with counter, _autocast(precision):
                training.forward_loss().backward()
            step_optimizer.zero_grad(set_to_none=True)
        flops = float(counter.get_total_flops()) or None
    return ModelAnalysis(
        model=spec.name, source=spec.source(), kind=training.kind, batch=batch, seq=training.seq, precision=precision,
        optimizer=optimizer, checkpointing=checkpointing, params=int(n_params), flops_per_sample=flops / batch if flops else None,
        memory=MemoryBreakdown(int(weights), int(gradients), int(state), int(activations), int(peak),
                               int(weight_copies)),
        method=METHOD, analysis_s=time.perf_counter() - started, overrides=dict(spec.overrides),
        versions={"torch": torch.__version__, "transformers": _version("transformers")})


def _version(package: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return None


def measure_step_memory(spec: ModelSpec, batch: int, seq: int | None, precision: str, optimizer: str = "adamw",
                        steps: int = 2) -> int:
    """Bytes the process grew by over ``steps`` real training steps on the CPU: its peak resident
    set (getrusage) minus the resident set before the model was built. Run it in a fresh process
    (``python -m core.measure.analysis``, with MEASURE_ENV): the peak covers the whole process's life."""
    import resource

    from core.measure.models import hf_config

    if not spec.is_builtin and not spec.is_custom:
        hf_config(spec)  # import the model's code first: the baseline holds the runtime, not the model
    baseline = _resident_bytes()
    training = build_training(spec, batch, seq, "cpu")
    params = [p for p in training.model.parameters() if p.requires_grad]
    train_steps(training, training_optimizer(training, optimizer, params), precision, steps)
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - baseline


# glibc keeps freed heap memory mapped once its mmap threshold has grown (up to 32 MiB), so a
# process's resident set keeps tensors it no longer holds; with the threshold fixed at 64 KiB every
# tensor's memory is mapped on allocation and unmapped on free, and the resident set tracks the live
# tensors — the CPU's nearest to CUDA's max_memory_allocated (measured: BENCHMARKS.md §9).
MEASURE_ENV = {"MALLOC_MMAP_THRESHOLD_": "65536"}


def _resident_bytes() -> int:
    import os

    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


if __name__ == "__main__":  # python -m core.measure.analysis MODEL BATCH SEQ PRECISION [OVERRIDES]: measured bytes
    import sys

    from core.measure.models import parse_overrides

    name, batch_text, seq_text, precision_text = sys.argv[1:5]
    overrides = parse_overrides(sys.argv[5] if len(sys.argv) > 5 else None)
    print(measure_step_memory(ModelSpec(name, overrides), int(batch_text), int(seq_text) if seq_text != "-" else None,
                              precision_text))
