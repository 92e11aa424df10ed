"""Issue 16's Scaling view (AppTest) from stored scaling results: throughput against devices with the
ideal line and efficiency labels, $ per 1M samples at each size; and the training views leave scaling
results out."""

import base64
import json
from pathlib import Path

import numpy as np

import pytest
from streamlit.testing.v1 import AppTest

from core.facts.store import Store
from tests.core.factories import make_result

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")


def scaling_result(world_size: int, samples_per_s: float, efficiency: float, **extra):
    return make_result(run_id="scale-1", workload="mlp", size="S", device="cuda", world_size=world_size, nodes=1,
                       dist_backend="nccl", strategy="ddp", samples_per_s=samples_per_s,
                       per_device_samples_per_s=samples_per_s / world_size, scaling_efficiency=efficiency,
                       comm_share=0.4 if world_size > 1 else None,
                       interconnect="NVLink (18 links up on GPU 0, NVML)" if world_size > 1 else "none (one device)",
                       env={"host": "abcdef123456", "torch": "2.11.0", "cpu": "Xeon", "gpu": "NVIDIA H100 80GB HBM3"},
                       device_name="NVIDIA H100 80GB HBM3", **extra)


@pytest.fixture
def scaling_store(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'ui.db'}"
    monkeypatch.setenv("ACCELSCOPE_DB", url)
    Store(url).add_many([scaling_result(1, 100_000.0, 1.0), scaling_result(2, 80_000.0, 0.4)])  # two H100s
    return url


def test_scaling_shows_throughput_against_devices_with_the_ideal_and_the_cost_at_each_size(scaling_store):
    at = AppTest.from_file(APP, default_timeout=90)
    at.query_params.update({"view": "Scaling", "run_id": "scale-1"})  # this run only (the samples hold one too)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    (chart,) = at.get("plotly_chart")
    fig = json.loads(chart.proto.spec)
    assert fig["layout"]["title"]["text"].startswith("Scaling: mlp/S")
    measured, ideal, cost = fig["data"]
    assert measured["x"] == [1, 2] and measured["y"] == [100_000.0, 80_000.0] and measured["text"] == ["100.0%", "40.0%"]
    assert ideal["y"] == [100_000.0, 200_000.0] and ideal["line"]["dash"] == "dash"
    assert cost["type"] == "bar" and len(cost["y"]) == 2 and cost["y"][1] > cost["y"][0]  # 2 GPUs at 40%: dearer
    (table,) = at.dataframe
    assert list(table.value["world_size"]) == [1, 2]


def test_the_training_views_leave_scaling_results_out(scaling_store):
    at = AppTest.from_file(APP, default_timeout=90)
    at.query_params.update({"view": "Speed", "focus": "mlp/S"})
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    shown = [x for trace in spec["data"] for x in values(trace.get("x"))]
    assert 80_000.0 not in shown and 100_000.0 not in shown


def test_a_fleet_launch_is_a_filter_and_its_results_sit_beside_the_others(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'ui.db'}"
    monkeypatch.setenv("ACCELSCOPE_DB", url)
    Store(url).add_many([
        make_result(workload="mlp", size="S", samples_per_s=51_000.0, launch_id="fleet-1/aws/g5.xlarge",
                    env={"host": "g5host", "torch": "2.13.0", "cpu": "Test CPU", "gpu": None}),
        make_result(workload="mlp", size="S", samples_per_s=52_000.0, launch_id="fleet-1/aws/c7i.large",
                    env={"host": "c7ihost", "torch": "2.13.0", "cpu": "Test CPU", "gpu": None})])
    at = AppTest.from_file(APP, default_timeout=90)
    at.query_params.update({"view": "Speed", "focus": "mlp/S", "launch_id": "fleet-1/aws/g5.xlarge"})
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    launch = next(m for m in at.multiselect if m.label == "Fleet launch (instance type)")
    assert launch.value == ["fleet-1/aws/g5.xlarge"]
    assert set(launch.options) >= {"fleet-1/aws/g5.xlarge", "fleet-1/aws/c7i.large"}
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    shown = [x for trace in spec["data"] for x in values(trace.get("x"))]
    assert 51_000.0 in shown and 52_000.0 not in shown


def values(field) -> list:
    """A trace's values, whether plotly wrote them as a list or as typed binary data."""
    if isinstance(field, dict) and "bdata" in field:
        return np.frombuffer(base64.b64decode(field["bdata"]), dtype=field["dtype"]).tolist()
    return list(field or [])


def test_cpu_ranks_sharing_one_host_get_no_ideal_line(tmp_path, monkeypatch):
    """The bundled CPU scaling run: its two ranks split two cores, so n × one rank is no ideal."""
    monkeypatch.setenv("ACCELSCOPE_DB", f"sqlite:///{tmp_path / 'empty.db'}")
    at = AppTest.from_file(APP, default_timeout=90)
    at.query_params["view"] = "Scaling"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    fig = json.loads(at.get("plotly_chart")[0].proto.spec)
    lines = [t for t in fig["data"] if t["type"] == "scatter"]
    assert len(lines) == 1 and lines[0]["name"].startswith("mlp/S · AMD EPYC")
