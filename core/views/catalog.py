"""The accelerator catalog (data/accelerators.csv): dense peak TFLOP/s by precision, memory,
bandwidth, TDP, price; and matching of measured device names to catalog models."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from core.facts.tables import Column, parse_csv
from core.paths import DATA_DIR

CATALOG_PATH = DATA_DIR / "accelerators.csv"
ACCELERATOR_TYPES = ("CPU", "GPU", "TPU", "ASIC", "FPGA")

CATALOG_COLUMNS = (
    Column("vendor", "text"), Column("model", "text"), Column("type", "choice", choices=ACCELERATOR_TYPES),
    Column("aliases", "text"), Column("fp32_tflops", "number", False), Column("tf32_tflops", "number", False),
    Column("bf16_tflops", "number", False), Column("fp16_tflops", "number", False),
    Column("int8_tops", "number", False), Column("memory_gb", "number", False),
    Column("memory_bandwidth_gbps", "number", False), Column("tdp_w", "number", False),
    Column("release_year", "integer", False), Column("purchase_price_usd", "number", False),
    Column("source_url", "url"), Column("note", "text", False),
)


@dataclass(frozen=True)
class Accelerator:
    vendor: str
    model: str
    type: str
    aliases: tuple[str, ...]
    fp32_tflops: float | None
    tf32_tflops: float | None
    bf16_tflops: float | None
    fp16_tflops: float | None
    int8_tops: float | None
    memory_gb: float | None
    memory_bandwidth_gbps: float | None
    tdp_w: float | None
    release_year: int | None
    purchase_price_usd: float | None
    source_url: str
    note: str | None

    def peak_tflops(self, precision: str) -> float | None:
        """Dense peak for a training precision (tf32 falls back to nothing: it is CUDA-only)."""
        return {"fp32": self.fp32_tflops, "tf32": self.tf32_tflops, "bf16": self.bf16_tflops,
                "fp16": self.fp16_tflops}.get(precision)


def normalize(name: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"[-_/(),]", " ", name.lower())).strip()


def parse_catalog(raw: bytes | str, name: str = "accelerators.csv") -> tuple[Accelerator, ...]:
    rows = parse_csv(raw, name, CATALOG_COLUMNS, key=("vendor", "model"))
    return tuple(Accelerator(**{**row, "aliases": tuple(
        normalize(a) for a in (row["aliases"] or "").split(";") if a.strip()) + (normalize(row["model"]),)})
        for row in rows)


@lru_cache(maxsize=4)
def load_catalog(path: Path = CATALOG_PATH) -> tuple[Accelerator, ...]:
    return parse_catalog(Path(path).read_bytes(), str(Path(path).name))


@lru_cache(maxsize=4096)
def match(name: str | None, catalog: tuple[Accelerator, ...]) -> Accelerator | None:
    """The catalog model whose longest alias appears in ``name`` as whole words
    ("NVIDIA H100 80GB HBM3" → H100 SXM; "A100" never matches inside "A100", only "A10" rows fail)."""
    if not name:
        return None
    text = f" {normalize(name)} "
    best, best_len = None, 0
    for accelerator in catalog:
        for alias in accelerator.aliases:
            if len(alias) > best_len and re.search(rf"(?<![a-z0-9]){re.escape(alias)}(?![a-z0-9])", text):
                best, best_len = accelerator, len(alias)
    return best


def mfu(achieved_tflops: float | None, device_name: str | None, precision: str,
        catalog: tuple[Accelerator, ...]) -> tuple[float | None, str]:
    """Model FLOPs utilization: achieved ÷ dense peak for the precision, with a reason when None."""
    accelerator = match(device_name, catalog)
    if accelerator is None:
        return None, f"{device_name!r} is not in the accelerator catalog"
    peak = accelerator.peak_tflops(precision)
    if not peak:
        return None, f"the catalog has no dense {precision} peak for {accelerator.model}"
    if achieved_tflops is None:
        return None, "no achieved TFLOP/s in this result"
    return achieved_tflops / peak, f"÷ {peak:g} TFLOP/s dense {precision} peak of {accelerator.model}"
