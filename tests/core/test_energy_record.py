"""The energy record is typed and validated on load; older records (the bundled samples) still load."""

import copy

import pytest

from core.facts.bundle import read_bundle
from core.facts.energy import EnergyRecord
from core.facts.results import ProbeResult
from core.paths import DATA_DIR
from tests.core.factories import make_energy, make_result


def test_round_trip_recomputes_derived_figures():
    record = make_energy(100.0, samples=1000, window_s=2.0, flops=5e12, idle_w=10.0)
    data = record.to_dict()
    assert data["j_per_sample"] == 0.1 and data["avg_power_w"] == 50.0 and data["j_per_tflop"] == 20.0
    assert data["total_above_idle_j"] == 80.0 and data["uncertainty"] == 0.05
    data["j_per_sample"] = 999.0  # a stored derived figure is never trusted
    assert EnergyRecord.from_dict(data) == record


@pytest.mark.parametrize("change,message", [
    (lambda d: d.update(window_s=-1), "'window_s' must be a finite, non-negative number"),
    (lambda d: d.update(samples="many"), "'samples' must be a non-negative integer"),
    (lambda d: d["components"][0].update(energy_j=float("nan")), "component 1 (cpu-package:0): 'energy_j'"),
    (lambda d: d["components"][0].update(energy_j=-100.0), "component 1 (cpu-package:0): 'energy_j'"),
    (lambda d: d["components"][0].update(energy_j=float("inf")), "'energy_j' must be a finite"),
    (lambda d: d["components"][0].pop("component"), "component 1: 'component' must be a non-empty string"),
    (lambda d: d["components"][0].update(kind="guessed"), "'kind' must be one of measured, estimated, unavailable"),
    (lambda d: d["components"][0].update(energy_j=None), "an unread component is 'unavailable'"),
    (lambda d: d.update(components="none"), "'components' must be a list"),
])
def test_impossible_records_are_refused_naming_the_field(change, message):
    data = make_energy().to_dict()
    change(data)
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        EnergyRecord.from_dict(data)
    result = make_result(energy=make_energy()).to_dict()
    result["energy"] = data
    with pytest.raises(ValueError, match="field 'energy'"):
        ProbeResult.from_dict(result)


def test_records_written_before_the_typed_record_still_load():
    (sample,) = sorted((DATA_DIR / "samples").glob("*.json"))[:1]
    results = read_bundle(sample)
    with_energy = [r for r in results if r.energy is not None]
    assert with_energy
    legacy = with_energy[0]
    raw = copy.deepcopy(legacy.to_dict()["energy"])
    assert legacy.energy.kind == "estimated" and legacy.energy.j_per_sample > 0
    assert legacy.energy.flops > 0  # recovered from the stored J/TFLOP
    assert raw["j_per_tflop"] == pytest.approx(legacy.energy.j_per_tflop)
    assert legacy.warmup_settled is True  # read from env, where older results kept it
