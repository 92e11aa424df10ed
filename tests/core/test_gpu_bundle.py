"""The first real accelerator results: the H200 bundle measured by bench/gpu.sh on 2026-11-27.
It must load as shipped, and the projection made without it (held out) must bracket it."""

import json
from pathlib import Path

import pytest

from core.facts.bundle import read_bundle
from core.facts.store import Store
from tests.core.test_cli import cli

BUNDLE = Path(__file__).resolve().parents[2] / "data" / "samples" / "nvidia-h200-2026-11-27.json"


def test_the_h200_bundle_imports_whole_with_every_figure_labelled(tmp_path):
    results = read_bundle(BUNDLE)
    store = Store(f"sqlite:///{tmp_path / 'h200.db'}")
    store.add_many(results)
    stored = store.results()
    assert len(stored) == len(results) == 18
    gpu = [r for r in stored if r.device == "cuda:0"]
    assert gpu and all(r.device_name == "NVIDIA H200" and r.status == "ok" for r in gpu)
    assert {r.env["torch"] for r in gpu} == {"2.11.0+cu130"}
    for r in gpu:  # the GPU's energy is measured by the NVML counter; what was not measured says why
        by_component = {c.component: c for c in r.energy.components}
        assert by_component["gpu:0"].kind == "measured" and by_component["gpu:0"].method == "nvml-total-energy-counter"
        assert all(c.reason for c in r.energy.components if c.kind == "unavailable")


@pytest.mark.parametrize("precision", ["bf16", "tf32"])
def test_the_held_out_projection_brackets_the_measured_resnet50(precision, tmp_path):
    measured = next(r for r in read_bundle(BUNDLE) if (r.workload, r.size, r.precision) == ("cnn", "resnet50",
                                                                                            precision))
    out = cli("project", "--workload", "cnn", "--size", "resnet50", "--precision", precision, "--to", "H200",
              "--holdout", "--json", db_url=f"sqlite:///{tmp_path / 'empty.db'}", check_rc=0)
    projected = json.loads(out.stdout)
    assert projected["kind"] == "projected"
    assert projected["low"] <= measured.samples_per_s <= projected["high"]
