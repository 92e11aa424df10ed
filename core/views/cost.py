"""Cost and CO2 of a measured rate of work: the one pricing entry point of the CLI and the dashboard.

A :class:`WorkRate` (what a result, or the median of repeated results, achieved) and the user's
:class:`CostSettings` go in; :class:`CostFigures` come out: $ per 1M samples on every matching
instance of the price sheet, on own hardware (electricity + amortized purchase), and g CO2e per
1M samples on the chosen grid. A view: nothing here changes a stored measurement.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

from core.errors import AccelscopeError, InvalidCostSettings
from core.units import H_PER_YEAR, J_PER_KWH, S_PER_H, SAMPLES_PER_MILLION
from core.views import carbon, catalog, pricing

# The range each numeric setting may take: (lowest, highest, what it is). The dashboard's widgets
# use the same bounds.
LIMITS = {
    "electricity_usd_per_kwh": (0.0, 10.0, "an electricity price in $/kWh"),
    "purchase_price_usd": (0.0, 10_000_000.0, "a purchase price per device in $"),
    "lifetime_years": (0.1, 30.0, "a hardware lifetime in years"),
    "hours_per_year": (1.0, H_PER_YEAR, "hours of use per year"),
    "g_co2_per_kwh": (0.0, 2000.0, "a grid intensity in g CO2e/kWh"),
}


@dataclass(frozen=True)
class CostSettings:
    """Everything a cost or CO2 figure depends on besides the measurement. Defaults are shown and
    editable in the dashboard and on the CLI."""

    sheet: str = "aws"  # a bundled sheet's name, an uploaded/edited sheet's name, or a CSV path
    region: str = "USA"  # grid region for CO2: a country ISO code or provider:region
    spot: bool = False
    electricity_usd_per_kwh: float = 0.15
    purchase_price_usd: float | None = None  # None: the catalog's typical price for the device
    lifetime_years: float = 4.0
    hours_per_year: float = H_PER_YEAR * 0.5  # used half of the time
    g_co2_per_kwh: float | None = None  # None: the region's grid intensity

    def __post_init__(self) -> None:
        for name, (low, high, what) in LIMITS.items():
            value = getattr(self, name)
            if value is None and name in ("purchase_price_usd", "g_co2_per_kwh"):
                continue
            if (isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value)
                    or not low <= value <= high):
                raise InvalidCostSettings(name, f"{name} must be {what} from {low:g} to {high:,g}; got {value!r}")

    def amortized_usd_per_h(self, purchase_price_usd: float) -> float:
        return purchase_price_usd / (self.lifetime_years * self.hours_per_year)


@dataclass(frozen=True)
class WorkRate:
    """What cost needs from a measurement: which device, how fast, how much energy per sample."""

    device_kind: str
    device_name: str | None
    samples_per_s: float | None
    j_per_sample: float | None = None
    energy_kind: str | None = None
    vcpus_used: int | None = None

    @classmethod
    def of_row(cls, row: Mapping) -> "WorkRate":
        """From a flat row (core.facts.rows.flat_row) or an aggregated dashboard row."""
        return cls(device_kind=row["device_kind"], device_name=_text(row.get("device_name")),
                   samples_per_s=_number(row.get("samples_per_s")), j_per_sample=_number(row.get("j_per_sample")),
                   energy_kind=_text(row.get("energy_kind")),
                   vcpus_used=None if _number(row.get("logical_cpus")) is None else int(row["logical_cpus"]))


@dataclass(frozen=True)
class OwnHardwareCost:
    """Buying instead of renting: electricity (settings' $/kWh × measured energy) plus the purchase
    price amortized over lifetime × hours of use, per 1M samples. None parts say why in ``missing``."""

    usd_per_1m_samples: float | None
    electricity_usd_per_1m_samples: float | None
    amortization_usd_per_1m_samples: float | None
    purchase_price_usd: float | None
    basis: str
    missing: tuple[str, ...] = ()


@dataclass(frozen=True)
class CostFigures:
    settings: CostSettings
    cloud: tuple[pricing.CostLine, ...]
    cloud_missing: str | None
    own_hardware: OwnHardwareCost
    g_co2_per_kwh: float
    grid: str
    g_co2_per_1m_samples: float | None
    co2_missing: str | None

    @property
    def cheapest_cloud(self) -> pricing.CostLine | None:
        return self.cloud[0] if self.cloud else None

    def columns(self) -> dict:
        """Flat cost columns for one row (CSV, tables): the cheapest cloud option and own hardware."""
        cheapest, own = self.cheapest_cloud, self.own_hardware
        return {
            "cloud_usd_per_1m_samples": cheapest.usd_per_1m_samples if cheapest else None,
            "cloud_option": cheapest.option if cheapest else None,
            "cloud_pricing": "spot" if self.settings.spot else "on-demand",
            "cloud_missing": self.cloud_missing,
            "own_hardware_usd_per_1m_samples": own.usd_per_1m_samples,
            "own_hardware_electricity_usd_per_1m_samples": own.electricity_usd_per_1m_samples,
            "own_hardware_amortization_usd_per_1m_samples": own.amortization_usd_per_1m_samples,
            "own_hardware_purchase_price_usd": own.purchase_price_usd,
            "own_hardware_missing": "; ".join(own.missing) or None,
            "g_co2_per_1m_samples": self.g_co2_per_1m_samples,
            "grid_g_co2_per_kwh": self.g_co2_per_kwh,
        }

    def to_dict(self) -> dict:
        """Every matching instance (cheapest first), own hardware and CO2, with the settings used."""
        return {"settings": dataclasses.asdict(self.settings),
                "cloud": [dataclasses.asdict(line) for line in self.cloud],
                "own_hardware_basis": self.own_hardware.basis, "grid": self.grid, **self.columns()}


def cost_figures(rate: WorkRate, settings: CostSettings, sheet: pricing.PriceSheet, *,
                 accelerators: Sequence[catalog.Accelerator] | None = None,
                 regions: Sequence[carbon.GridRegion] | None = None) -> CostFigures:
    """The cost and CO2 of ``rate`` under ``settings``, each figure with its basis or the reason it
    is missing. ``sheet`` is the resolved sheet named by ``settings.sheet`` (see :func:`resolve_sheet`)."""
    accelerators = tuple(accelerators if accelerators is not None else catalog.load_catalog())
    outcome = pricing.cloud_costs(device_kind=rate.device_kind, device_name=rate.device_name,
                                  samples_per_s=rate.samples_per_s, vcpus_used=rate.vcpus_used, rows=sheet.rows,
                                  catalog=accelerators, spot=settings.spot)
    cloud, cloud_missing = ((), outcome.reason) if isinstance(outcome, pricing.NoPrice) else (tuple(outcome), None)
    model = catalog.match(rate.device_name, accelerators)
    own = own_hardware_cost(rate, settings, model.purchase_price_usd if model else None)
    intensity, grid = grid_intensity(settings, regions)
    co2 = carbon.g_co2_per_1m_samples(rate.j_per_sample, intensity) if rate.j_per_sample is not None else None
    return CostFigures(settings, cloud, cloud_missing, own, intensity, grid, co2,
                       None if co2 is not None else "no energy measurement for this result")


def own_hardware_cost(rate: WorkRate, settings: CostSettings, catalog_price_usd: float | None) -> OwnHardwareCost:
    missing = []
    electricity = None
    if rate.j_per_sample is None:
        missing.append("no energy measurement for this result")
    else:
        electricity = rate.j_per_sample * SAMPLES_PER_MILLION / J_PER_KWH * settings.electricity_usd_per_kwh
    price = settings.purchase_price_usd if settings.purchase_price_usd is not None else catalog_price_usd
    amortization = None
    if price is None:
        missing.append("no purchase price for this device (enter one)")
    elif not rate.samples_per_s:
        missing.append("no measured throughput")
    else:
        amortization = settings.amortized_usd_per_h(price) / S_PER_H / rate.samples_per_s * SAMPLES_PER_MILLION
    total = electricity + amortization if electricity is not None and amortization is not None else None
    basis = (f"electricity {settings.electricity_usd_per_kwh:g} $/kWh × measured energy; purchase "
             f"{'?' if price is None else f'{price:,.0f}'} $ over {settings.lifetime_years:g} years × "
             f"{settings.hours_per_year:,.0f} h/year")
    return OwnHardwareCost(total, electricity, amortization, price, basis, tuple(missing))


def electricity_usd_per_h(rate: WorkRate, settings: CostSettings) -> float | None:
    """What running the device costs in electricity per hour at the measured power."""
    if rate.j_per_sample is None or not rate.samples_per_s:
        return None
    return rate.j_per_sample * rate.samples_per_s * S_PER_H / J_PER_KWH * settings.electricity_usd_per_kwh


def break_even_hours(purchase_price_usd: float, rent_usd_per_h: float, own_running_usd_per_h: float) -> float | None:
    """Hours of use after which buying (price + running cost) is cheaper than renting."""
    saving = rent_usd_per_h - own_running_usd_per_h
    return purchase_price_usd / saving if saving > 0 else None


def grid_intensity(settings: CostSettings, regions: Sequence[carbon.GridRegion] | None = None) -> tuple[float, str]:
    """(g CO2e per kWh, a label saying where it comes from)."""
    if settings.g_co2_per_kwh is not None:
        return settings.g_co2_per_kwh, f"{settings.g_co2_per_kwh:g} g/kWh (your override)"
    region = carbon.find_region(settings.region, tuple(regions) if regions else None)
    return region.g_co2_per_kwh, f"{region.label}: {region.g_co2_per_kwh:g} g/kWh ({region.source})"


def resolve_sheet(name: str, extra: Mapping[str, pricing.PriceSheet] | None = None) -> pricing.PriceSheet:
    """A sheet by name (bundled, or one of ``extra``: uploaded or edited) or by CSV path."""
    extra = extra or {}
    if name in extra:
        return extra[name]
    path = Path(name)
    if path.suffix == ".csv" or path.exists():
        return pricing.load_sheet(path)
    by_name = {s.name: s for s in pricing.bundled_sheets()}
    if name not in by_name:
        raise AccelscopeError(f"unknown price sheet {name!r}; bundled: {', '.join(by_name)} (or give a CSV path)")
    return by_name[name]


def _number(value) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    number = float(value)
    return None if math.isnan(number) else number


def _text(value) -> str | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)
