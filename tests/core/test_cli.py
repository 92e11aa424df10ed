"""The command line end to end on the CPU, as a user runs it."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def cli(*args, db_url=None, check_rc=None):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    if db_url:
        env["ACCELSCOPE_DB"] = db_url
    proc = subprocess.run([sys.executable, "-m", "core", *args], capture_output=True, text=True,
                          cwd=REPO, env=env, timeout=300)
    if check_rc is not None:
        assert proc.returncode == check_rc, proc.stdout + proc.stderr
    return proc


def test_devices_json_lists_the_cpu():
    devices = json.loads(cli("devices", "--json", check_rc=0).stdout)
    cpu = devices[0]
    assert cpu["id"] == "cpu" and cpu["kind"] == "cpu" and cpu["name"]
    assert cpu["cores"] >= 1 and "fp32" in cpu["precisions"] and cpu["identity"].startswith(cpu["name"])


def test_probe_json_results_csv_export_import(db_url, tmp_path):
    out = cli("probe", "--workload", "transformer", "--size", "S", "--precision", "fp32",
              "--seconds", "0.5", "--batch-size", "4", "--json", "--meters", "none", db_url=db_url, check_rc=0)
    (line,) = out.stdout.strip().splitlines()
    result = json.loads(line)
    for key in ("id", "run_id", "created_at", "status", "error", "workload", "size", "device", "device_name",
                "precision", "batch_size", "steps", "step_time_s", "step_time_cv", "samples_per_s",
                "flops_per_step", "achieved_tflops", "params", "loss_first", "loss_last",
                "peak_memory_bytes", "env", "energy"):
        assert key in result
    assert result["status"] == "ok" and result["tokens_per_s"] > 0

    csv_text = cli("results", "--format", "csv", db_url=db_url, check_rc=0).stdout
    header, row = csv_text.strip().splitlines()
    assert header.startswith("id,run_id,created_at,status") and result["id"] in row

    bundle = tmp_path / "results.json"
    cli("export", str(bundle), db_url=db_url, check_rc=0)
    other_db = f"sqlite:///{tmp_path / 'other.db'}"
    assert "imported 1 result" in cli("import", str(bundle), db_url=other_db, check_rc=0).stdout
    assert "already present" in cli("import", str(bundle), db_url=other_db, check_rc=0).stdout
    imported = [json.loads(line) for line in cli("results", "--json", db_url=other_db).stdout.splitlines()]
    original = [json.loads(line) for line in cli("results", "--json", db_url=db_url).stdout.splitlines()]
    assert imported == original and imported[0]["id"] == result["id"]
    assert imported[0]["samples_per_s"] == result["samples_per_s"] and imported[0]["warmup_settled"] is not None


@pytest.mark.parametrize("args,message", [
    (["--workload", "cnn", "--precision", "fp16"], "fp16 training on CPU is not supported"),
    (["--workload", "mlp", "--precision", "tf32"], "tf32 is a CUDA tensor-core mode"),
    (["--workload", "nope"], "unknown workload 'nope'"),
    (["--workload", "mlp", "--size", "XXL"], "unknown size 'XXL'"),
    (["--workload", "mlp", "--device", "cuda:7"], "no device 'cuda:7'"),
    (["--workload", "mlp", "--batch-size", "0"], "batch size must be a positive integer"),
    (["--workload", "mlp", "--timeout", "-5"], "--timeout must be a positive number of seconds"),
])
def test_bad_usage_exits_2_and_stores_nothing(args, message, db_url):
    proc = cli("probe", *args, db_url=db_url)
    assert proc.returncode == 2 and message in proc.stderr
    assert cli("results", "--json", db_url=db_url).stdout == ""


def test_a_failed_probe_exits_1_and_is_stored(db_url):
    proc = cli("probe", "--workload", "tests.core.faulty_workloads:raises", "--json", "--meters", "none",
               db_url=db_url)
    assert proc.returncode == 1
    stored = json.loads(cli("results", "--json", db_url=db_url).stdout)
    assert stored["status"] == "failed" and "planted failure" in stored["error"]


def test_bad_import_exits_2_and_changes_nothing(db_url, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "accelscope-results", "version": 1, "results": [{"id": 1}]}')
    proc = cli("import", str(bad), db_url=db_url)
    assert proc.returncode == 2 and "record 1" in proc.stderr
    assert cli("results", "--json", db_url=db_url).stdout == ""


def test_quick_suite_runs_every_probe_and_prints_a_table(db_url):
    from core.measure.backends import discover

    cpu = discover()[0]
    precisions = [p for p in ("fp32", "bf16") if p not in cpu.emulated_precisions]  # bf16 only where native
    proc = cli("suite", "--quick", "--seconds", "0.3", "--meters", "none", db_url=db_url, check_rc=0)
    assert f"{3 * len(precisions)} result(s)" in proc.stdout
    for workload in ("mlp", "cnn", "transformer"):
        assert workload in proc.stdout
    rows = [json.loads(line) for line in cli("results", "--json", db_url=db_url).stdout.splitlines()]
    assert sorted((r["workload"], r["precision"]) for r in rows) == sorted(
        (w, p) for w in ("mlp", "cnn", "transformer") for p in precisions)
    assert all(r["device_identity"] == cpu.identity for r in rows)
    assert all(r["status"] == "ok" for r in rows)
    assert len({r["run_id"] for r in rows}) == 1


def test_probe_with_meters_records_labelled_energy(db_url):
    out = cli("probe", "--workload", "mlp", "--batch-size", "512", "--seconds", "1", "--idle-seconds", "1",
              "--json", db_url=db_url, check_rc=0)
    energy = json.loads(out.stdout)["energy"]
    assert energy["total_j"] > 0 and energy["samples"] > 0 and energy["j_per_sample"] > 0
    for component in energy["components"]:
        assert component["kind"] in ("measured", "estimated", "unavailable")
        assert (component["energy_j"] is None) == (component["kind"] == "unavailable")
        if component["energy_j"] is not None:
            assert component["method"] and component["uncertainty"] and component["idle_w"] is not None
    assert energy["window_s"] >= 1.0


def test_prices_list_and_validate(tmp_path):
    sheets = json.loads(cli("prices", "--json", check_rc=0).stdout)
    assert {"aws", "gcp", "azure", "lambda", "runpod"} <= {s["name"] for s in sheets}
    bad = tmp_path / "mine.csv"
    bad.write_text("provider,instance_type\naws,x\n")
    proc = cli("prices", "--validate", str(bad))
    assert proc.returncode == 2 and "mine.csv: missing column(s)" in proc.stderr


def test_results_show_cloud_and_own_hardware_cost_and_co2(db_url):
    from core.facts.store import Store
    from tests.core.factories import make_energy, make_result

    Store(db_url).add(make_result(env={"host": "h", "logical_cpus": 2}, device_name="AMD EPYC",
                                  energy=make_energy(10.0, samples=10_000, kind="estimated")))
    row = json.loads(cli("results", "--json", "--price-sheet", "aws", "--region", "FRA",
                         "--electricity-usd-per-kwh", "0.30", "--purchase-price-usd", "2000", db_url=db_url,
                         check_rc=0).stdout)
    assert row["energy_j"] == 10.0 and row["j_per_sample"] == 0.001 and row["device_label"]
    cost = row["cost"]
    assert cost["cloud"] and all(line["usd_per_1m_samples"] > 0 for line in cost["cloud"])
    assert cost["cloud_usd_per_1m_samples"] == min(line["usd_per_1m_samples"] for line in cost["cloud"])
    # own hardware: 0.001 J/sample × 1e6 / 3.6e6 × 0.30 $/kWh; 2000 $ over 4 years × 4380 h at 51,200 samples/s
    assert cost["own_hardware_electricity_usd_per_1m_samples"] == pytest.approx(1e3 / 3.6e6 * 0.30)
    assert cost["own_hardware_amortization_usd_per_1m_samples"] == pytest.approx(
        2000 / (4 * 4380) / 3600 / 51200 * 1e6)
    assert cost["g_co2_per_1m_samples"] > 0 and cost["settings"]["region"] == "FRA"
    csv_text = cli("results", "--format", "csv", "--price-sheet", "aws", db_url=db_url, check_rc=0).stdout
    header = csv_text.splitlines()[0].split(",")
    assert {"own_hardware_usd_per_1m_samples", "cloud_usd_per_1m_samples", "energy_j", "j_per_sample"} <= set(header)
    table = cli("results", "--price-sheet", "aws", "--region", "FRA", db_url=db_url, check_rc=0).stdout
    assert "own hw $/1M" in table and "cloud $/1M" in table
    proc = cli("results", "--price-sheet", "nope", db_url=db_url)
    assert proc.returncode == 2 and "unknown price sheet 'nope'" in proc.stderr
    proc = cli("results", "--price-sheet", "aws", "--lifetime-years", "0", db_url=db_url)
    assert proc.returncode == 2 and "--lifetime-years: lifetime_years must be a hardware lifetime in years from 0.1 to 30" in proc.stderr
    proc = cli("results", "--price-sheet", "aws", "--electricity-usd-per-kwh", "inf", db_url=db_url)
    assert proc.returncode == 2 and "--electricity-usd-per-kwh" in proc.stderr


def test_commands_on_stored_facts_never_import_torch(db_url, tmp_path):
    """results, prices, export, import and delete-run read or write stored facts only."""
    bundle = tmp_path / "b.json"
    for args in (["results", "--price-sheet", "aws"], ["prices"], ["export", str(bundle)], ["import", str(bundle)],
                 ["delete-run", "nope"], ["devices"], ["project", "--workload", "cnn", "--size", "resnet50", "--to", "all"]):
        env = dict(os.environ, PYTHONPATH=str(REPO), ACCELSCOPE_DB=db_url)
        proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "core", *args], capture_output=True,
                              text=True, cwd=REPO, env=env, timeout=120)
        imported = {line.split("|")[-1].strip() for line in proc.stderr.splitlines() if "|" in line}
        assert "torch" not in imported, f"`python -m core {' '.join(args)}` imported torch"


def test_a_device_alias_is_recorded_as_the_device_it_names(capsys):
    """`--device cuda` is cuda:0: one device lock and one chart row, whichever name was typed."""
    from core.cli.commands import _checked
    from core.facts.spec import ProbeSpec
    from core.measure.backends.base import Device

    gpu = Device(id="cuda:0", kind="cuda", name="NVIDIA H100 80GB HBM3", precisions=("fp32", "bf16"))
    (spec,) = _checked([ProbeSpec(workload="mlp", device="cuda", precision="bf16")], [gpu])
    assert spec.device == "cuda:0" and capsys.readouterr().err == ""


def test_project_gives_a_number_or_a_reason_for_every_catalog_accelerator(db_url):
    from core.views.catalog import load_catalog

    out = cli("project", "--workload", "cnn", "--size", "resnet50", "--precision", "bf16", "--to", "all", "--json",
              db_url=db_url, check_rc=0).stdout
    rows = [json.loads(line) for line in out.splitlines()]
    assert {r["device"] for r in rows} == {a.model for a in load_catalog() if a.type != "CPU"}
    for row in rows:
        assert row["kind"] == "projected"
        assert (row["samples_per_s"] is None) == bool(row["reason"])
        if row["samples_per_s"] is not None:
            assert row["low"] <= row["samples_per_s"] <= row["high"] and row["basis"]
    (v100,) = [r for r in rows if r["device"] == "V100"]
    assert "no dense bf16 peak" in v100["reason"]
    proc = cli("project", "--workload", "cnn", "--size", "resnet50", "--to", "A999", db_url=db_url)
    assert proc.returncode == 2 and "no catalog accelerator matches 'A999'" in proc.stderr
