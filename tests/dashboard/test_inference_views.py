"""Issue 15's Explore views (AppTest), from the bundled H200 inference and time-to-target results:
Inference, Serving cost (its target changes the answer; an impossible one says why) and Time to
quality; and the training views stay about training."""

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import state
from tests.dashboard.helpers import as_shown

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")


@pytest.fixture(autouse=True)
def empty_store(tmp_path, monkeypatch):
    monkeypatch.setenv("ACCELSCOPE_DB", f"sqlite:///{tmp_path / 'ui.db'}")


def explore(view: str, **params: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90)
    at.query_params.update({"view": view, **params})
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def figures(at: AppTest) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def test_inference_shows_latency_against_throughput_with_the_bound():
    (fig,) = figures(explore("Inference"))
    assert fig["layout"]["title"]["text"].startswith("Inference: cnn/resnet50")
    by_name = {trace["name"]: trace for trace in fig["data"]}
    assert set(by_name) == {"H200 [cuda:0] · bf16 · eager", "H200 [cuda:0] · bf16 · compiled",
                            "AMD EPYC · AVX-512-BF16 [cpu] · fp32 · eager"}
    assert by_name["H200 [cuda:0] · bf16 · compiled"]["text"] == ["batch 1", "batch 256"]
    assert by_name["AMD EPYC · AVX-512-BF16 [cpu] · fp32 · eager"]["text"] == ["batch 1", "batch 8"]
    assert fig["layout"]["xaxis"]["type"] == "log" and "log scale" in fig["layout"]["xaxis"]["title"]["text"]
    assert [shape["y0"] for shape in fig["layout"]["shapes"]] == [20]  # the p99 bound


def options_table(at: AppTest):
    return next(d.value for d in at.dataframe if "evidence" in d.value.columns)


def test_serving_cost_answers_the_target_and_changes_with_it():
    at = explore("Serving cost")
    cards = {m.label: m.value for m in at.metric}
    assert cards["Cheapest per 1M"].startswith("$")
    options = options_table(at)
    measured = options[options["evidence"] == "measured"]
    assert set(options["evidence"]) == {"measured", "published"}  # MLPerf Server figures beside our H200
    assert measured.iloc[0]["replicas"] == 3 and "batch 1, compiled" in measured.iloc[0]["configuration"]
    assert list(options["usd_per_1m_inferences"]) == sorted(options["usd_per_1m_inferences"])
    at.number_input(key=state.SERVING_RPS).set_value(5000).run()
    options = options_table(at)
    assert options[options["evidence"] == "measured"].iloc[0]["replicas"] == 27
    assert at.query_params[state.SERVING_RPS] in ("5000", ["5000"])
    at.number_input(key=state.SERVING_P99_MS).set_value(2).run()  # nothing measured or published is that fast
    assert not at.exception and not at.metric
    (fig,) = figures(at)
    assert "Nothing measured or published meets p99 ≤ 2 ms" in fig["layout"]["annotations"][0]["text"]
    reasons = at.dataframe[-1].value["reason"].tolist()
    assert any("p99 latency 7.29 ms is over the 2 ms bound" in r for r in reasons), reasons
    assert any("published at p99 ≤ 15 ms, looser than the 2 ms bound" in r for r in reasons), reasons


def test_time_to_quality_draws_each_device_and_precision_to_the_target():
    at = explore("Time to quality")
    (fig,) = figures(at)
    curves = [t for t in fig["data"] if t.get("mode") == "lines"]
    assert {c["name"] for c in curves} == {"H200 [cuda:0] · fp32", "H200 [cuda:0] · bf16",
                                           "AMD EPYC · AVX-512-BF16 [cpu] · fp32", "AMD EPYC · AVX-512-BF16 [cpu] · bf16"}
    assert [shape["y0"] for shape in fig["layout"]["shapes"]] == [0.05]
    (table,) = at.dataframe
    assert set(table.value["reached"]) == {"yes"} and table.value["time to target"].notna().all()
    shown = " ".join(as_shown(c.value) for c in at.caption)
    assert "No projected curve here" in shown  # cnn/S has no published or projected figure


def test_the_training_views_leave_inference_results_out():
    at = explore("Speed", focus="cnn/resnet50")
    (fig,) = figures(at)
    labels = " ".join(str(label) for trace in fig["data"] for label in trace.get("y", []))
    assert "batch 1" not in labels and "H200" in labels


def test_plan_a_job_can_train_to_a_measured_target_instead_of_epochs():
    at = explore("Plan a job", focus="cnn/S")
    at.radio[0].set_value("to a target loss").run()
    assert not at.exception, [e.value for e in at.exception]
    assert {m.label: m.value for m in at.metric}["Job"] == "1,696 samples"  # 53 steps × batch 32 (H200, fp32)
    (table,) = at.dataframe
    assert (table.value["wall_time_h"] > 0).all()
    at = explore("Plan a job", focus="mlp/S")  # no run of it reached a target: said, nothing planned
    at.radio[0].set_value("to a target loss").run()
    assert any("No measured run of mlp/S reached a target loss" in as_shown(w.value) for w in at.warning)
