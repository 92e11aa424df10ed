"""Your model without running it (python -m bench analysis): how long the fake-tensor analysis takes,
from GPT-2 small to a 70B Llama-like decoder, and how its memory estimate compares with the
resident-set growth of real training steps on this CPU for the models that fit here."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from bench.common import header, table

TIMED = (("gpt2-small", 8, 1024), ("bert-base", 8, 512), ("vit-base", 8, None), ("whisper-small", 2, 448),
         ("llama-3-8b-like", 1, 2048), ("mistral-7b-like", 1, 2048), ("llama-3-70b-like", 1, 2048))
# (model, overrides, batch, seq): small enough to train two real steps on a 2-vCPU VM in seconds
MEASURED = (("hf:GPT2LMHeadModel", "n_layer=6,n_embd=384,n_head=6,n_positions=256", 8, 256),
            ("gpt2-small", "", 2, 512),
            ("bert-base", "", 4, 128),
            ("vit-base", "", 4, None),
            ("resnet-50", "", 8, None),
            ("t5-base", "", 2, 128))


def run() -> None:
    from core.measure.analysis import MEASURE_ENV, analyze
    from core.measure.models import ModelSpec, parse_overrides

    header("Analysis without running: time per model (fake tensors, bf16, AdamW)")
    analyze(ModelSpec("gpt2-small", {"n_layer": 1}), 1, 32, "bf16")  # imports and first-use set-up, not timed
    rows = []
    for name, batch, seq in TIMED:
        started = time.perf_counter()
        result = analyze(ModelSpec(name), batch, seq, "bf16")
        rows.append({"model": name, "batch × seq": f"{batch} × {result.seq or '-'}",
                     "parameters": f"{result.params / 1e6:,.1f}M",
                     "GFLOP / sample": f"{result.flops_per_sample / 1e9:,.1f}",
                     "peak GB (estimated)": f"{result.memory.peak_bytes / 1e9:,.2f}",
                     "seconds": f"{time.perf_counter() - started:.2f}"})
    table(rows)

    header("Memory estimate vs two real training steps on this CPU (fp32, AdamW): resident-set growth, "
           "with glibc's default heap and with freed tensors returned (MALLOC_MMAP_THRESHOLD_=65536)")
    rows = []
    for name, overrides, batch, seq in MEASURED:
        estimate = analyze(ModelSpec(name, parse_overrides(overrides)), batch, seq, "fp32").memory.peak_bytes
        row = {"model": name + (f" ({overrides})" if overrides else ""), "batch × seq": f"{batch} × {seq or '-'}",
               "estimate GB": f"{estimate / 1e9:.3f}"}
        for label, env in (("default heap", {}), ("tensors returned", MEASURE_ENV)):
            measured = _measured(name, overrides, batch, seq, env)
            row[f"measured GB, {label}"] = f"{measured / 1e9:.3f}" if isinstance(measured, int) else measured
            row[f"error, {label}"] = f"{estimate / measured - 1:+.1%}" if isinstance(measured, int) else "—"
        rows.append(row)
    table(rows)


def _measured(name: str, overrides: str, batch: int, seq: int | None, env: dict) -> int | str:
    out = subprocess.run([sys.executable, "-m", "core.measure.analysis", name, str(batch),
                          "-" if seq is None else str(seq), "fp32", overrides],
                         capture_output=True, text=True, timeout=900, env={**os.environ, **env})
    return int(out.stdout.strip().splitlines()[-1]) if out.returncode == 0 else f"failed: {out.stderr[-200:]}"
