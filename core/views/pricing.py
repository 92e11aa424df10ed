"""Price sheets: load and validate, match measured devices to instances, cost (pure functions).

Cost is a view: nothing here changes a stored measurement.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from core.errors import InvalidPriceSheet
from core.facts.tables import Column, parse_csv
from core.paths import DATA_DIR
from core.units import S_PER_H, SAMPLES_PER_MILLION
from core.views.catalog import Accelerator, match

SHEETS_DIR = DATA_DIR / "price_sheets"
CURRENCIES = ("USD",)

SHEET_COLUMNS = (
    Column("provider", "text"), Column("instance_type", "text"), Column("region", "text"),
    Column("accelerator", "text", False),
    Column("accelerator_type", "choice", choices=("CPU", "GPU", "TPU", "ASIC", "FPGA")),
    Column("accelerator_count", "integer"), Column("vcpus", "integer", False),
    Column("memory_gb", "number", False), Column("on_demand_usd_per_h", "number"),
    Column("spot_usd_per_h", "number", False), Column("currency", "text"),
    Column("source_url", "url"), Column("retrieved_on", "date"), Column("note", "text", False),
)


@dataclass(frozen=True)
class PriceRow:
    provider: str
    instance_type: str
    region: str
    accelerator: str | None
    accelerator_type: str
    accelerator_count: int
    vcpus: int | None
    memory_gb: float | None
    on_demand_usd_per_h: float
    spot_usd_per_h: float | None
    currency: str
    source_url: str
    retrieved_on: str
    note: str | None

    @property
    def option(self) -> str:
        """How an instance is named wherever it is shown: "aws p5.48xlarge (us-east-1)"."""
        return f"{self.provider} {self.instance_type} ({self.region})"

    def price_usd_per_h(self, spot: bool) -> float | None:
        return self.spot_usd_per_h if spot else self.on_demand_usd_per_h


@dataclass(frozen=True)
class PriceSheet:
    name: str
    rows: tuple[PriceRow, ...]
    origin: str = "bundled"  # bundled | uploaded | edited

    @property
    def provider(self) -> str:
        return ", ".join(sorted({r.provider for r in self.rows}))

    def summary(self) -> dict:
        return {"name": self.name, "provider": self.provider, "rows": len(self.rows),
                "accelerators": sorted({r.accelerator for r in self.rows if r.accelerator}),
                "regions": sorted({r.region for r in self.rows}),
                "retrieved_on": max(r.retrieved_on for r in self.rows), "origin": self.origin}


def _check_row(row: dict) -> None:
    if row["currency"] not in CURRENCIES:
        raise ValueError(f"column 'currency': unknown currency {row['currency']!r} (supported: "
                         f"{', '.join(CURRENCIES)}); convert the prices to USD")
    if row["accelerator_type"] == "CPU":
        if row["accelerator_count"] != 0:
            raise ValueError("column 'accelerator_count': a CPU-only instance has 0 accelerators")
        if not row["vcpus"]:
            raise ValueError("column 'vcpus': a CPU-only instance needs its vCPU count")
    else:
        if not row["accelerator"]:
            raise ValueError("column 'accelerator': empty for a non-CPU instance")
        if row["accelerator_count"] < 1:
            raise ValueError("column 'accelerator_count': must be at least 1 for an accelerator instance")


def parse_sheet(raw: bytes | str, name: str, origin: str = "uploaded") -> PriceSheet:
    rows = parse_csv(raw, name, SHEET_COLUMNS, key=("provider", "instance_type", "region"),
                     row_check=_check_row)
    return PriceSheet(name=Path(name).stem, rows=tuple(PriceRow(**row) for row in rows), origin=origin)


def load_sheet(path: str | Path, origin: str = "uploaded") -> PriceSheet:
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InvalidPriceSheet(f"{path}: cannot read ({exc.strerror})") from None
    return parse_sheet(raw, path.name, origin)


def bundled_sheets(directory: Path = SHEETS_DIR) -> list[PriceSheet]:
    return [load_sheet(path, "bundled") for path in sorted(directory.glob("*.csv"))]


# --- cost model (pure) ---------------------------------------------------------------------

def usd_per_s_per_accelerator(price_usd_per_h: float, accelerator_count: int) -> float:
    """P $/h for an instance with k accelerators: P / k / 3600 $/s for one of them."""
    return price_usd_per_h / accelerator_count / S_PER_H


def usd_per_1m_samples(usd_per_s: float, samples_per_s: float) -> float:
    return usd_per_s / samples_per_s * SAMPLES_PER_MILLION


@dataclass(frozen=True)
class CostLine:
    """The cost of 1M samples on one priced option, with where its price came from."""

    option: str  # "aws g5.xlarge (us-east-1)", "own hardware"
    kind: str  # on-demand | spot | own
    usd_per_h: float  # for the measured share (one accelerator, or the vCPUs used)
    usd_per_1m_samples: float
    basis: str
    provider: str | None = None
    instance_type: str | None = None
    region: str | None = None
    accelerator: str | None = None
    source_url: str | None = None
    retrieved_on: str | None = None


@dataclass(frozen=True)
class NoPrice:
    reason: str


def device_model(device_name: str | None, catalog: Sequence[Accelerator]) -> Accelerator | None:
    return match(device_name, tuple(catalog))


def matching_rows(device_kind: str, device_name: str | None, rows: Sequence[PriceRow],
                  catalog: Sequence[Accelerator]) -> list[PriceRow]:
    """Sheet rows that rent the measured device: same catalog model for accelerators (an
    "NVIDIA H100 80GB HBM3" matches a sheet's "H100"); CPU-only rows for a CPU result."""
    if device_kind == "cpu":
        arch = cpu_arch(device_name)
        return [r for r in rows if r.accelerator_type == "CPU" and r.vcpus
                and (arch is None or instance_arch(r) == arch)]
    model = device_model(device_name, catalog)
    if model is None:
        return []
    return [r for r in rows if r.accelerator and device_model(r.accelerator, catalog) == model]


ARM_MARKERS = ("graviton", "arm64", "aarch64", "ampere", "axion", "neoverse", "cobalt")


def cpu_arch(cpu_name: str | None) -> str | None:
    """'x86' or 'arm' from a CPU model string; None when it does not say."""
    text = (cpu_name or "").lower()
    if any(marker in text for marker in ARM_MARKERS) or text.startswith("apple"):
        return "arm"
    if any(marker in text for marker in ("intel", "amd", "xeon", "epyc", "x86")):
        return "x86"
    return None


def instance_arch(row: PriceRow) -> str:
    """'arm' for instances whose name or note says Graviton/Ampere/Axion/Cobalt; else 'x86'."""
    text = f"{row.instance_type} {row.note or ''}".lower()
    return "arm" if any(marker in text for marker in ARM_MARKERS) else "x86"


def cloud_costs(*, device_kind: str, device_name: str | None, samples_per_s: float | None,
                vcpus_used: int | None, rows: Sequence[PriceRow], catalog: Sequence[Accelerator],
                spot: bool = False) -> list[CostLine] | NoPrice:
    """$ per 1M samples on each matching instance. A CPU result is priced by vCPU: the probe
    used ``vcpus_used`` vCPUs, so its share of an instance is vcpus_used / instance vCPUs."""
    if not samples_per_s:
        return NoPrice("no measured throughput (the probe did not succeed)")
    matches = matching_rows(device_kind, device_name, rows, catalog)
    if not matches:
        what = "CPU-only instance" if device_kind == "cpu" else f"instance with {device_name!r}"
        return NoPrice(f"no price for this device: the sheet has no {what}")
    if device_kind == "cpu":
        matches = one_size_per_vcpu_price(matches, vcpus_used or 1, spot)
    lines = []
    kind = "spot" if spot else "on-demand"
    for row in matches:
        price = row.price_usd_per_h(spot)
        if price is None:
            continue
        if device_kind == "cpu":
            used = vcpus_used or 1
            usd_per_s = price / row.vcpus * used / S_PER_H
            basis = (f"{price:g} $/h ÷ {row.vcpus} vCPUs × {used} vCPUs used ÷ {samples_per_s:,.0f} samples/s "
                     "(priced by vCPU share; the instance's CPU model may differ from the measured one)")
        else:
            usd_per_s = usd_per_s_per_accelerator(price, row.accelerator_count)
            basis = (f"{price:g} $/h ÷ {row.accelerator_count} accelerator(s) ÷ {samples_per_s:,.0f} "
                     "samples/s (measured)")
        lines.append(CostLine(
            option=row.option, kind=kind, usd_per_h=usd_per_s * S_PER_H,
            usd_per_1m_samples=usd_per_1m_samples(usd_per_s, samples_per_s), basis=basis,
            provider=row.provider, instance_type=row.instance_type, region=row.region,
            accelerator=row.accelerator, source_url=row.source_url, retrieved_on=row.retrieved_on))
    if not lines:
        return NoPrice(f"no {kind} price for this device in the sheet")
    return sorted(lines, key=lambda line: line.usd_per_1m_samples)


def one_size_per_vcpu_price(rows: Sequence[PriceRow], vcpus_used: int, spot: bool) -> list[PriceRow]:
    """CPU instances of one family cost the same per vCPU: keep, per provider, region and $/vCPU,
    the smallest size that has the vCPUs the probe used (else the largest)."""
    groups: dict[tuple, list[PriceRow]] = {}
    for row in rows:
        price = row.price_usd_per_h(spot)
        if price is None:
            continue
        groups.setdefault((row.provider, row.region, round(price / row.vcpus, 6)), []).append(row)
    chosen = []
    for group in groups.values():
        big_enough = [r for r in group if r.vcpus >= vcpus_used]
        chosen.append(min(big_enough, key=lambda r: r.vcpus) if big_enough else max(group, key=lambda r: r.vcpus))
    return chosen
