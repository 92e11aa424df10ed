"""Issue 15 on the CPU, end to end through the CLI: inference probes (one result per batch size,
latency percentiles), time-to-target probes (reached, or stopped by the cap with a reason), clear
errors that store nothing, and bundles from before the modes loading as training results."""

import json
from pathlib import Path

import pytest

from core.facts.bundle import read_bundle
from core.facts.store import Store
from tests.core.test_cli import cli

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "samples"


def _results(out) -> list[dict]:
    return [json.loads(line) for line in out.stdout.strip().splitlines()]


def test_inference_probe_stores_one_result_per_batch_with_latency_percentiles(db_url, tmp_path):
    out = cli("probe", "--mode", "infer", "--workload", "mlp", "--size", "S", "--batch", "1,4", "--seconds", "0.3",
              "--json", "--meters", "none", "--idle-seconds", "0", db_url=db_url, check_rc=0)
    results = _results(out)
    assert [r["batch_size"] for r in results] == [1, 4] and {r["mode"] for r in results} == {"infer"}
    for r in results:
        assert r["status"] == "ok" and r["loss_first"] is None and r["steps"] >= 5
        assert 0 < r["step_time_s"] <= r["step_time_p90_s"] <= r["step_time_p99_s"]
        assert r["samples_per_s"] == pytest.approx(r["batch_size"] / (sum(r["step_times_s"]) / r["steps"]), rel=1e-6)
    bundle = tmp_path / "infer.json"
    cli("export", str(bundle), db_url=db_url, check_rc=0)
    other = f"sqlite:///{tmp_path / 'other.db'}"
    cli("import", str(bundle), db_url=other, check_rc=0)
    with Store(other) as store:
        assert {(r.mode, r.batch_size, r.step_time_p99_s) for r in store.results()} == {
            ("infer", r["batch_size"], r["step_time_p99_s"]) for r in results}


def test_converge_reaches_a_reachable_target_and_records_the_curve(db_url):
    out = cli("probe", "--mode", "converge", "--workload", "mlp", "--size", "S", "--target-loss", "2.0",
              "--max-seconds", "60", "--json", "--meters", "none", "--idle-seconds", "0", db_url=db_url, check_rc=0)
    (r,) = _results(out)
    assert r["mode"] == "converge" and r["reached"] is True and r["target_loss"] == 2.0
    assert 0 < r["steps_to_target"] <= r["steps"] and 0 < r["time_to_target_s"] < 60
    assert "reached 2" in r["stop_reason"]
    curve = r["loss_curve"]
    steps = [point[0] for point in curve]
    assert steps == sorted(steps) and curve[-1][2] <= 2.0 < curve[0][2] or curve[0][2] <= 2.0


def test_converge_with_an_unreachable_target_stops_at_the_cap_with_a_reason(db_url):
    out = cli("probe", "--mode", "converge", "--workload", "mlp", "--size", "S", "--target-loss", "1e-9",
              "--max-seconds", "1.5", "--json", "--meters", "none", "--idle-seconds", "0", db_url=db_url, check_rc=0)
    (r,) = _results(out)
    assert r["status"] == "ok" and r["reached"] is False
    assert "1.5 s cap stopped it" in r["stop_reason"] and "--max-seconds" in r["stop_reason"]
    assert r["time_to_target_s"] == pytest.approx(1.5, abs=1.0) and r["steps_to_target"] == r["steps"]


@pytest.mark.parametrize("args, message", [
    (["--mode", "infer", "--batch", "1,x"], "not a list of batch sizes"),
    (["--mode", "infer", "--batch", "0"], "not a list of batch sizes"),
    (["--mode", "infer", "--batch", "1,8", "--batch-size", "4"], "either --batch"),
    (["--mode", "converge", "--target-loss", "-1"], "--target-loss must be a positive number"),
    (["--mode", "converge", "--target-loss", "nan"], "--target-loss must be a positive number"),
    (["--mode", "converge"], "needs --target-loss"),
    (["--target-loss", "0.5"], "belong to --mode converge"),
])
def test_bad_batch_or_target_is_a_clear_error_that_stores_nothing(args, message, db_url):
    out = cli("probe", "--workload", "mlp", "--size", "S", "--seconds", "0.2", "--meters", "none", *args,
              db_url=db_url)
    assert out.returncode == 2 and message in out.stderr, out.stderr
    with Store(db_url) as store:
        assert store.count() == 0


@pytest.mark.parametrize("name", ["cpu-amd-epyc-2vcpu-2026-11-22.json", "cpu-amd-epyc-avx512bf16-2vcpu-2026-11-27.json",
                                  "nvidia-h200-2026-11-27.json"])
def test_bundles_written_before_the_modes_load_as_training_results(name):
    raw = json.loads((SAMPLES / name).read_text())
    assert all("mode" not in record for record in raw["results"])  # written before the field existed
    assert {r.mode for r in read_bundle(SAMPLES / name)} == {"train"}


def test_the_h200_inference_and_time_to_target_bundle_loads():
    results = read_bundle(SAMPLES / "nvidia-h200-2026-11-27-infer-converge.json")
    assert {(r.mode, r.batch_size, r.compile) for r in results if r.mode == "infer"} == {
        ("infer", 1, False), ("infer", 256, False), ("infer", 1, True), ("infer", 256, True)}
    converge = [r for r in results if r.mode == "converge"]
    assert {r.precision for r in converge} == {"fp32", "bf16"} and all(r.reached and r.loss_curve for r in converge)
