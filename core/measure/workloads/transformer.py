"""transformer: a GPT-2-style decoder-only language model (pre-LayerNorm, GELU MLP, tied
embeddings). The "L"/"gpt2-small" size is GPT-2 small: 12 layers, d=768, 12 heads, context 1024,
vocabulary 50257, 124M parameters.

Sequences are arithmetic progressions modulo the vocabulary with a random start and stride: the
next token is predictable from the context, so the loss falls.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from core.measure.workloads.base import Workload, generator, to_device

POOL = 4


class CausalSelfAttention(nn.Module):
    def __init__(self, d_model: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.proj = nn.Linear(d_model, d_model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        q, k, v = self.qkv(x).split(d, dim=2)
        q, k, v = (z.view(b, t, self.heads, d // self.heads).transpose(1, 2) for z in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.proj(y.transpose(1, 2).reshape(b, t, d))


class Block(nn.Module):
    def __init__(self, d_model: int, heads: int) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(d_model)
        self.attn = CausalSelfAttention(d_model, heads)
        self.ln2 = nn.LayerNorm(d_model)
        self.mlp = nn.Sequential(nn.Linear(d_model, 4 * d_model), nn.GELU(approximate="tanh"),
                                 nn.Linear(4 * d_model, d_model))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln1(x))
        return x + self.mlp(self.ln2(x))


class GPT(nn.Module):
    def __init__(self, layers: int, d_model: int, heads: int, context: int, vocab: int) -> None:
        super().__init__()
        self.token_embedding = nn.Embedding(vocab, d_model)
        self.position_embedding = nn.Embedding(context, d_model)
        self.blocks = nn.Sequential(*[Block(d_model, heads) for _ in range(layers)])
        self.ln_f = nn.LayerNorm(d_model)
        self.lm_head = nn.Linear(d_model, vocab, bias=False)
        self.lm_head.weight = self.token_embedding.weight
        self.apply(_init_weights)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(idx.shape[1], device=idx.device)
        x = self.token_embedding(idx) + self.position_embedding(positions)
        return self.lm_head(self.ln_f(self.blocks(x)))


def _init_weights(module: nn.Module) -> None:
    if isinstance(module, (nn.Linear, nn.Embedding)):
        nn.init.normal_(module.weight, mean=0.0, std=0.02)
    if isinstance(module, nn.Linear) and module.bias is not None:
        nn.init.zeros_(module.bias)


def make_model(params: dict) -> GPT:
    return GPT(int(params["layers"]), int(params["d_model"]), int(params["heads"]),
               int(params["context"]), int(params["vocab"]))


def lm_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))


def build(params: dict, batch_size: int, device: str, seed: int = 0) -> Workload:
    context, vocab = int(params["context"]), int(params["vocab"])
    gen = generator(seed)
    batches = []
    steps = torch.arange(context + 1)
    for _ in range(POOL):
        start = torch.randint(0, vocab, (batch_size, 1), generator=gen)
        stride = torch.randint(1, 8, (batch_size, 1), generator=gen)
        seq = (start + stride * steps) % vocab
        batches.append((seq[:, :-1].contiguous(), seq[:, 1:].contiguous()))
    torch.manual_seed(seed)
    return Workload(
        model=make_model(params),
        batches=to_device(batches, device),
        loss_fn=lm_loss,
        make_optimizer=lambda p: torch.optim.AdamW(p, lr=1e-3, weight_decay=0.0),
        samples_per_step=batch_size,
        tokens_per_step=batch_size * context,
    )
