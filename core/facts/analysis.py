"""What analysing a model without running it found (pure, torch-free): its parameters, FLOPs per
sample and the memory one training step holds, split by what holds it. Produced by
core.measure.analysis on fake (meta-backed) tensors; read by core.views.fit and the dashboard.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

ESTIMATED = "estimated"


@dataclass(frozen=True)
class MemoryBreakdown:
    """Bytes of one training step: weights, gradients and optimizer state (kept between steps),
    activations (saved by the forward pass for the backward, at the end of the forward), the
    half-precision copies of the weights mixed precision makes in the forward (autocast keeps them
    for the backward), and the step's peak of all live tensors together."""

    weights_bytes: int
    gradients_bytes: int
    optimizer_state_bytes: int
    activations_bytes: int
    peak_bytes: int
    weight_copies_bytes: int = 0

    @property
    def states_bytes(self) -> int:
        """What ZeRO-3 / FSDP can shard across devices: weights, gradients, optimizer state, and the
        weights' half-precision copies (FSDP gathers them one layer at a time)."""
        return self.weights_bytes + self.gradients_bytes + self.optimizer_state_bytes + self.weight_copies_bytes

    @property
    def peak_activations_bytes(self) -> int:
        """What one device holds at the peak beyond the shardable states (activations and
        temporaries), at least the saved activations."""
        return max(self.peak_bytes - self.states_bytes, self.activations_bytes)


@dataclass(frozen=True)
class ModelAnalysis:
    model: str
    source: str
    kind: str
    batch: int
    seq: int | None
    precision: str
    optimizer: str
    checkpointing: bool
    params: int
    flops_per_sample: float | None
    memory: MemoryBreakdown
    method: str
    analysis_s: float
    overrides: dict = field(default_factory=dict)
    versions: dict = field(default_factory=dict)

    @property
    def tokens_per_sample(self) -> int | None:
        return self.seq if self.kind in ("causal-lm", "masked-lm", "seq2seq", "sequence-classification") else None

    def to_dict(self) -> dict:
        out = asdict(self)
        out["memory_train_bytes"] = {"weights": self.memory.weights_bytes, "gradients": self.memory.gradients_bytes,
                                     "optimizer_state": self.memory.optimizer_state_bytes,
                                     "activations": self.memory.activations_bytes,
                                     "weight_copies": self.memory.weight_copies_bytes, "peak": self.memory.peak_bytes,
                                     "kind": ESTIMATED, "method": self.method}
        del out["memory"]
        out["tokens_per_sample"] = self.tokens_per_sample
        return out
