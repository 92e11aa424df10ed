"""Grid carbon intensity (bundled, offline; from CodeCarbon's data, see data/SOURCES.md) and CO2."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from core.errors import AccelscopeError
from core.facts.tables import Column, parse_csv
from core.paths import DATA_DIR
from core.units import J_PER_KWH, SAMPLES_PER_MILLION

CARBON_DIR = DATA_DIR / "carbon"


@dataclass(frozen=True)
class GridRegion:
    key: str  # "FRA" or "gcp:europe-west1"
    label: str
    g_co2_per_kwh: float
    source: str


@lru_cache(maxsize=2)
def load_regions(directory: Path = CARBON_DIR) -> tuple[GridRegion, ...]:
    countries = parse_csv((directory / "countries.csv").read_bytes(), "countries.csv", (
        Column("country_iso_code", "text"), Column("country_name", "text"),
        Column("g_co2_per_kwh", "number"), Column("source", "text"), Column("year", "integer", False)),
        key=("country_iso_code",))
    clouds = parse_csv((directory / "cloud_regions.csv").read_bytes(), "cloud_regions.csv", (
        Column("provider", "text"), Column("region", "text"), Column("country_name", "text"),
        Column("g_co2_per_kwh", "number"), Column("source", "text")), key=("provider", "region"))
    regions = [GridRegion(r["country_iso_code"], f"{r['country_name']} ({r['country_iso_code']})",
                          r["g_co2_per_kwh"], r["source"]) for r in countries]
    regions += [GridRegion(f"{r['provider']}:{r['region']}", f"{r['provider']} {r['region']} ({r['country_name']})",
                           r["g_co2_per_kwh"], r["source"]) for r in clouds]
    return tuple(regions)


def find_region(key: str, regions: tuple[GridRegion, ...] | None = None) -> GridRegion:
    regions = regions or load_regions()
    for region in regions:
        if region.key.lower() == key.lower():
            return region
    raise AccelscopeError(f"unknown grid region {key!r}; use a country ISO code such as USA, FRA, DEU or "
                          "a cloud region such as gcp:europe-west1 (see data/carbon/)")


def g_co2(energy_j: float, g_co2_per_kwh: float) -> float:
    return energy_j / J_PER_KWH * g_co2_per_kwh


def g_co2_per_1m_samples(j_per_sample: float, g_co2_per_kwh: float) -> float:
    return g_co2(j_per_sample * SAMPLES_PER_MILLION, g_co2_per_kwh)
