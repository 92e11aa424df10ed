"""Published training results (data/references/*.csv): throughput other people measured on hardware
we may not have, each row with its source, software stack and a note on comparability.

A published figure is a fact about someone else's run, never ours: it keeps the label
``published`` and its source wherever it is shown. Rows are validated whole (core.facts.tables):
an unknown device, a missing figure or a formula-looking cell rejects the file with its row.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from core.errors import InvalidPriceSheet
from core.facts.tables import Column, parse_csv
from core.paths import DATA_DIR

REFERENCES_DIR = DATA_DIR / "references"
PUBLISHED = "published"
PRECISIONS = ("fp32", "tf32", "bf16", "fp16")

REFERENCE_COLUMNS = (
    Column("device", "text"), Column("device_count", "integer"), Column("workload", "text"), Column("size", "text"),
    Column("precision", "choice", choices=PRECISIONS), Column("batch_size_per_device", "integer", False),
    Column("samples_per_s", "number", False), Column("tokens_per_s", "number", False),
    Column("context", "integer", False), Column("software", "text"), Column("published_on", "date"),
    Column("source_url", "url"), Column("retrieved_on", "date"), Column("comparability", "text"),
)


@dataclass(frozen=True)
class Reference:
    """One published figure, as printed (over ``device_count`` devices)."""

    device: str  # a catalog model name (data/accelerators.csv)
    device_count: int
    workload: str
    size: str
    precision: str
    batch_size_per_device: int | None
    samples_per_s: float | None
    tokens_per_s: float | None
    context: int | None
    software: str
    published_on: str
    source_url: str
    retrieved_on: str
    comparability: str

    @property
    def samples_per_s_per_device(self) -> float:
        """Samples (images, sequences) per second on one device: the published total ÷ the devices
        that produced it (data-parallel scaling is assumed, and the note says when it was not 1)."""
        total = self.samples_per_s if self.samples_per_s is not None else self.tokens_per_s / self.context
        return total / self.device_count

    @property
    def label(self) -> str:
        count = f"{self.device_count}× " if self.device_count > 1 else ""
        return f"{count}{self.device}, {self.precision}, {self.software} ({self.published_on})"


def _check_row(row: dict, known_devices: frozenset[str]) -> None:
    if row["device"] not in known_devices:
        raise ValueError(f"column 'device': {row['device']!r} is not a catalog model (data/accelerators.csv)")
    if row["device_count"] < 1:
        raise ValueError("column 'device_count': at least 1")
    if row["samples_per_s"] is None and row["tokens_per_s"] is None:
        raise ValueError("columns 'samples_per_s', 'tokens_per_s': one of them must hold the published figure")
    if row["samples_per_s"] is None and not row["context"]:
        raise ValueError("column 'context': a tokens/s figure needs the sequence length")
    if any(row[name] is not None and row[name] <= 0 for name in ("samples_per_s", "tokens_per_s")):
        raise ValueError("a published throughput must be positive")


def parse_references(raw: bytes | str, name: str, known_devices: frozenset[str]) -> tuple[Reference, ...]:
    rows = parse_csv(raw, name, REFERENCE_COLUMNS, row_check=lambda row: _check_row(row, known_devices))
    return tuple(Reference(**row) for row in rows)


def _read_folder(directory: Path, parse) -> tuple:
    """Every CSV of ``directory`` (not its subfolders) through ``parse(raw, name, catalog models)``, in
    name order. Raises InvalidPriceSheet (the CSV-schema error) naming file and row."""
    from core.views.catalog import load_catalog

    known = frozenset(accelerator.model for accelerator in load_catalog())
    found: list = []
    for path in sorted(Path(directory).glob("*.csv")):
        try:
            found.extend(parse(path.read_bytes(), path.name, known))
        except OSError as exc:
            raise InvalidPriceSheet(f"{path}: cannot read ({exc.strerror})") from None
    return tuple(found)


@lru_cache(maxsize=2)
def load_references(directory: Path = REFERENCES_DIR) -> tuple[Reference, ...]:
    """Every bundled reference. Raises InvalidPriceSheet (the CSV-schema error) naming file and row."""
    return _read_folder(directory, parse_references)


# --- published inference results (data/references/inference/*.csv) ----------------------------------

INFERENCE_DIR = REFERENCES_DIR / "inference"
SCENARIOS = ("Server", "Offline")  # MLPerf Inference: queries/s within a p99 bound; samples/s with no bound
INFERENCE_COLUMNS = (
    Column("device", "text"), Column("device_count", "integer"), Column("workload", "text"), Column("size", "text"),
    Column("precision", "text"), Column("scenario", "choice", choices=SCENARIOS),
    Column("latency_bound_ms", "number", False), Column("samples_per_s", "number"), Column("submitter", "text"),
    Column("system", "text"), Column("round", "text"), Column("source_url", "url"), Column("retrieved_on", "date"),
    Column("note", "text"),
)


@dataclass(frozen=True)
class InferenceReference:
    """One published inference figure (MLPerf Inference), as printed over ``device_count`` devices:
    for the Server scenario, queries per second with p99 latency within ``latency_bound_ms``."""

    device: str
    device_count: int
    workload: str
    size: str
    precision: str
    scenario: str
    latency_bound_ms: float | None
    samples_per_s: float
    submitter: str
    system: str
    round: str
    source_url: str
    retrieved_on: str
    note: str

    @property
    def samples_per_s_per_device(self) -> float:
        return self.samples_per_s / self.device_count

    @property
    def label(self) -> str:
        return f"MLPerf Inference {self.round} {self.scenario}, {self.submitter}: {self.system}"


def _check_inference_row(row: dict, known_devices: frozenset[str]) -> None:
    if row["device"] not in known_devices:
        raise ValueError(f"column 'device': {row['device']!r} is not a catalog model (data/accelerators.csv)")
    if row["device_count"] < 1 or row["samples_per_s"] <= 0:
        raise ValueError("columns 'device_count', 'samples_per_s': a positive count and figure")
    if row["scenario"] == "Server" and not (row["latency_bound_ms"] or 0) > 0:
        raise ValueError("column 'latency_bound_ms': a Server figure holds only within its latency bound")


def parse_inference_references(raw: bytes | str, name: str, known_devices: frozenset[str]
                                ) -> tuple[InferenceReference, ...]:
    rows = parse_csv(raw, name, INFERENCE_COLUMNS, row_check=lambda row: _check_inference_row(row, known_devices))
    return tuple(InferenceReference(**row) for row in rows)


@lru_cache(maxsize=2)
def load_inference_references(directory: Path = INFERENCE_DIR) -> tuple[InferenceReference, ...]:
    """Every bundled published inference figure, validated whole (InvalidPriceSheet names file and row)."""
    return _read_folder(directory, parse_inference_references)
