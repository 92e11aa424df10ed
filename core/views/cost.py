"""Cost and CO2 of stored results for one price sheet, pricing mode and grid region (a view)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core.views import carbon, catalog, pricing
from core.errors import AccelscopeError


def device_kind(device_id: str) -> str:
    return device_id.split(":")[0]


def vcpus_used(env: dict) -> int | None:
    return (env or {}).get("logical_cpus") or (env or {}).get("threads")


@dataclass(frozen=True)
class CostOptions:
    sheet: pricing.PriceSheet | None
    region: carbon.GridRegion | None
    spot: bool = False
    own: pricing.OwnHardware = pricing.OwnHardware()

    @classmethod
    def from_cli(cls, sheet: str | None, region: str | None, spot: bool) -> "CostOptions":
        loaded = None
        if sheet:
            path = Path(sheet)
            if path.suffix == ".csv" or path.exists():
                loaded = pricing.load_sheet(path)
            else:
                by_name = {s.name: s for s in pricing.bundled_sheets()}
                if sheet not in by_name:
                    raise AccelscopeError(f"unknown price sheet {sheet!r}; bundled: {', '.join(by_name)} "
                                          "(or give a CSV path)")
                loaded = by_name[sheet]
        return cls(loaded, carbon.find_region(region) if region else None, spot)

    def view(self, result) -> dict:
        """Cost lines, CO2 and MFU for one result, each with its basis or the reason it is missing."""
        energy = result.energy or {}
        j_per_sample = energy.get("j_per_sample")
        out: dict = {"pricing": "spot" if self.spot else "on-demand"}
        cat = catalog.load_catalog()
        value, why = catalog.mfu(result.achieved_tflops, result.device_name, result.precision, cat)
        out["mfu"], out["mfu_basis"] = value, why
        if self.sheet is not None:
            costs = pricing.cloud_costs(device_kind=device_kind(result.device), device_name=result.device_name,
                                        samples_per_s=result.samples_per_s, vcpus_used=vcpus_used(result.env),
                                        rows=self.sheet.rows, catalog=cat, spot=self.spot)
            if isinstance(costs, pricing.NoPrice):
                out["cloud"], out["cloud_missing"] = [], costs.reason
            else:
                out["cloud"] = [line.__dict__ for line in costs]
        if self.region is not None:
            out["grid_region"] = self.region.key
            out["g_co2_per_kwh"] = self.region.g_co2_per_kwh
            if j_per_sample is None:
                out["g_co2_per_1m_samples"] = None
                out["co2_missing"] = "no energy measurement for this result"
            else:
                out["g_co2_per_1m_samples"] = carbon.g_co2_per_1m_samples(j_per_sample, self.region.g_co2_per_kwh)
                out["g_co2_probe"] = carbon.g_co2(energy.get("total_j") or 0.0, self.region.g_co2_per_kwh)
                out["co2_kind"] = energy.get("total_kind")
        return out

    def flat_view(self, result) -> dict:
        view = self.view(result)
        cheapest = (view.get("cloud") or [None])[0]
        return {
            "cost_usd_per_1m_samples": cheapest["usd_per_1m_samples"] if cheapest else None,
            "cost_option": cheapest["option"] if cheapest else view.get("cloud_missing"),
            "g_co2_per_1m_samples": view.get("g_co2_per_1m_samples"),
            "mfu": view.get("mfu"),
        }
