"""The CLI and the dashboard price the same result with the same numbers (one pricing entry point)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.facts.store import Store
from core.views import catalog, cost
from dashboard import frames
from tests.core.factories import make_energy, make_result

REPO = Path(__file__).resolve().parents[2]
H100 = "NVIDIA H100 80GB HBM3"


def test_cli_and_dashboard_give_the_same_cloud_and_own_hardware_cost(db_url):
    results = [
        make_result(device="cuda:0", device_name=H100, samples_per_s=2000.0, env={"host": "h", "gpu": H100},
                    energy=make_energy(700.0, samples=2000, window_s=1.0)),
        make_result(device="cpu", device_name="AMD EPYC", samples_per_s=100.0, env={"host": "h", "logical_cpus": 2},
                    energy=make_energy(50.0, samples=100, kind="estimated", window_s=1.0)),
    ]
    with Store(db_url) as store:
        store.add_many(results)
    settings = cost.CostSettings(sheet="aws", region="FRA", spot=False, electricity_usd_per_kwh=0.31,
                                 purchase_price_usd=25_000, lifetime_years=3, hours_per_year=6000)
    env = dict(os.environ, PYTHONPATH=str(REPO), ACCELSCOPE_DB=db_url)
    out = subprocess.run([sys.executable, "-m", "core", "results", "--json", "--price-sheet", "aws", "--region", "FRA",
                          "--electricity-usd-per-kwh", "0.31", "--purchase-price-usd", "25000", "--lifetime-years",
                          "3", "--hours-per-year", "6000"], capture_output=True, text=True, cwd=REPO, env=env,
                         timeout=120, check=True).stdout
    cli = {row["device"]: row["cost"] for row in map(json.loads, out.splitlines())}

    agg = frames.aggregate(frames.results_frame(results))
    costs, _ = frames.cost_frame(agg, cost.resolve_sheet("aws"), settings, catalog.load_catalog())
    for device, device_kind in (("cuda:0", "cuda"), ("cpu", "cpu")):
        shown = costs[costs["device_kind"] == device_kind]
        cloud_shown = dict(zip(shown.loc[shown["kind"] != "own", "option"],
                               shown.loc[shown["kind"] != "own", "usd_per_1m_samples"]))
        cloud_cli = {line["option"]: line["usd_per_1m_samples"] for line in cli[device]["cloud"]}
        assert cloud_shown and cloud_shown == pytest.approx(cloud_cli)
        own_shown = shown.loc[shown["kind"] == "own", "usd_per_1m_samples"].item()
        assert own_shown == pytest.approx(cli[device]["own_hardware_usd_per_1m_samples"])
