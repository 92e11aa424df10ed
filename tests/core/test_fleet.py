"""Fleet probing through SkyPilot: the task YAMLs, the estimate printed before launch, the refusals.

Every generated YAML is checked against SkyPilot's published task schema (the keys and types of
skypilot-org/skypilot sky/utils/schemas.py, 0.14.1, written down below) in every run; where SkyPilot is
installed (requirements-fleet.txt) it is also parsed by SkyPilot itself: its task and resources schema
validation and ``sky.Task.from_yaml_config``. SkyPilot's check of an instance type against its cloud
catalog needs the internet (it downloads the catalog), so that one step is not run here.
"""

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from core.__main__ import main
from core.cli import fleet as fleet_cli
from core.paths import REPO_ROOT
from core.views import catalog, fleet
from core.views.cost import resolve_sheet

PASSWORD = "hunter2-not-for-files"
DB_URL = f"postgresql+psycopg2://fleet:{PASSWORD}@db.example.org:5432/accelscope"
LAUNCH_ID = "fleet-test-1"

# SkyPilot 0.14.1, sky/utils/schemas.py: get_task_schema() top-level properties, and
# get_resources_schema() properties (both with additionalProperties: False).
SKY_TASK_KEYS = {"_metadata", "api_server_access", "config", "envs", "event_callback", "file_mounts",
                 "file_mounts_mapping", "inputs", "managed_secrets", "name", "num_nodes", "outputs", "pool",
                 "resources", "run", "secrets", "service", "setup", "volume_mounts", "volumes", "workdir"}
SKY_RESOURCES_KEYS = {"_cluster_config_overrides", "_docker_login_config", "_is_image_managed",
                      "_no_missing_accel_warnings", "_requires_fuse", "accelerator_args", "accelerators", "any_of",
                      "autostop", "cloud", "cpus", "disk_size", "disk_tier", "ephemeral_storage", "image_id", "infra",
                      "instance_type", "job_recovery", "labels", "local_disk", "max_hourly_cost", "memory",
                      "network_tier", "ordered", "ports", "priority", "priority_class", "region", "use_spot",
                      "volumes", "zone"}
SKY_CLOUDS = {"aws", "gcp", "azure", "lambda", "runpod", "kubernetes", "oci", "ibm", "scp", "vsphere", "cudo",
              "fluidstack", "paperspace", "do", "nebius", "vast", "hyperbolic", "seeweb", "shadeform", "ssh",
              "primeintellect", "mithril", "slurm", "verda", "yotta"}
ENV_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")

CASES = [("aws", "g5.xlarge,p4d.24xlarge,m7g.2xlarge"), ("gcp", "n1-standard-4+1xT4,a3-highgpu-8g,n2-standard-8"),
         ("azure", "Standard_NC24ads_A100_v4,Standard_D8s_v5"), ("lambda", "gpu_8x_h100_sxm5"),
         ("runpod", "1x_H100-SXM_SECURE")]


def run_fleet(capsys, *args):
    code = main(["fleet", "--launch-id", LAUNCH_ID, *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def check_published_schema(config: dict) -> None:
    """The structural check against SkyPilot's published task schema (see SKY_TASK_KEYS)."""
    assert set(config) <= SKY_TASK_KEYS, set(config) - SKY_TASK_KEYS
    assert isinstance(config["name"], str) and re.fullmatch(r"[a-z][a-z0-9-]*", config["name"])
    assert config["workdir"] == "."
    assert isinstance(config["setup"], str) and isinstance(config["run"], str)
    resources = config["resources"]
    assert set(resources) <= SKY_RESOURCES_KEYS, set(resources) - SKY_RESOURCES_KEYS
    assert resources["cloud"] in SKY_CLOUDS
    assert isinstance(resources["instance_type"], str) and isinstance(resources["region"], str)
    assert isinstance(resources["use_spot"], bool)
    assert isinstance(resources.get("accelerators", ""), str)
    assert resources["autostop"] == {"idle_minutes": 10, "down": True}
    for section in ("envs", "secrets"):
        for name, value in config[section].items():
            assert ENV_NAME.match(name) and (value is None or isinstance(value, str)), (section, name, value)
    assert config["secrets"] == {"ACCELSCOPE_DB": None}
    assert "ACCELSCOPE_DB" not in config["envs"]


@pytest.fixture
def generated(tmp_path, capsys, monkeypatch):
    """Every bundled sheet's launchable kinds of instance, generated while ACCELSCOPE_DB holds a password."""
    monkeypatch.setenv("ACCELSCOPE_DB", DB_URL)
    files, outputs = [], []
    for sheet, instances in CASES:
        out = tmp_path / sheet
        code, stdout, stderr = run_fleet(capsys, "--price-sheet", sheet, "--instances", instances, "--out", str(out))
        assert code == 0, stderr
        outputs.append(stdout + stderr)
        written = sorted(out.glob("*.yaml"))
        assert len(written) == len(instances.split(","))
        files.extend(written)
    return files, outputs


def test_every_yaml_matches_skypilots_published_task_schema(generated):
    files, _ = generated
    for path in files:
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
        check_published_schema(config)
        assert config["envs"]["ACCELSCOPE_LAUNCH_ID"].startswith(f"{LAUNCH_ID}/{config['resources']['cloud']}/")


def test_every_yaml_is_accepted_by_skypilots_own_parser(generated, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # SkyPilot keeps its state under ~/.sky
    sky = pytest.importorskip("sky")
    from sky.utils import common_utils, registry, schemas

    files, _ = generated
    for path in files:
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
        common_utils.validate_schema(config, schemas.get_task_schema(), f"{path.name}: invalid task YAML: ")
        common_utils.validate_schema(config["resources"], schemas.get_resources_schema(),
                                     f"{path.name}: invalid resources: ")
        assert registry.CLOUD_REGISTRY.from_str(config["resources"]["cloud"]) is not None
        # The task itself (name, workdir, setup, run, envs, secrets); its resources need the cloud catalog (online).
        task = sky.Task.from_yaml_config({k: v for k, v in config.items() if k != "resources"},
                                         secrets_overrides=[("ACCELSCOPE_DB", "postgresql://store")])
        assert task.name == config["name"] and task.run == config["run"]
        assert task.envs["ACCELSCOPE_LAUNCH_ID"] == config["envs"]["ACCELSCOPE_LAUNCH_ID"]
        assert set(task.secrets) == {"ACCELSCOPE_DB"}  # the value given at launch (--secret), none in the file


def test_no_password_is_written_or_printed(generated):
    files, outputs = generated
    for path in files:
        assert PASSWORD not in path.read_text(encoding="utf-8")
        assert "db.example.org" not in path.read_text(encoding="utf-8")
    assert not any(PASSWORD in output for output in outputs)


def test_estimate_is_printed_per_instance_and_in_total(tmp_path, capsys):
    code, out, _ = run_fleet(capsys, "--price-sheet", "aws", "--instances", "g5.xlarge,p4d.24xlarge",
                             "--plan", "quick", "--out", str(tmp_path / "fleet"))
    assert code == 0
    # p4d.24xlarge: 240 s start + 420 s install + 6 probes × (2 s + 20 s) + 3 s idle + 4 world sizes × (2 s + 45 s)
    p4d_s = 240 + 420 + 6 * 22 + 3 + 4 * 47
    g5_s = 240 + 420 + 6 * 22 + 3
    assert f"aws p4d.24xlarge (us-east-1): ≈ {p4d_s / 60:.0f} min, ≈ ${32.7726 * p4d_s / 3600:,.2f}" in out
    assert f"aws g5.xlarge (us-east-1): ≈ {g5_s / 60:.0f} min, ≈ ${1.006 * g5_s / 3600:,.2f}" in out
    total_usd = (32.7726 * p4d_s + 1.006 * g5_s) / 3600
    assert f"total: ≈ {(p4d_s + g5_s) / 60:.0f} min of instance time" in out and f"≈ ${total_usd:,.2f}" in out
    assert "estimate:" in out and "spot prices vary" in out


def test_json_estimate_and_spot(tmp_path, capsys):
    code, out, _ = run_fleet(capsys, "--instances", "p4d.24xlarge", "--spot", "--json", "--out", str(tmp_path))
    assert code == 0
    report = json.loads(out)
    (task,) = report["tasks"]
    assert task["estimate"]["pricing"] == "spot" and task["estimate"]["usd_per_h"] == 5.0933
    assert task["estimate"]["scale_world_sizes"] == [1, 2, 4, 8]
    assert report["total"]["usd"] == pytest.approx(task["estimate"]["usd"])
    config = yaml.safe_load((tmp_path / task["file"]).read_text(encoding="utf-8"))
    assert config["resources"]["use_spot"] is True


def test_run_and_setup_commands(tmp_path, capsys):
    code, _, _ = run_fleet(capsys, "--instances", "p4d.24xlarge,g4dn.xlarge,c7i.xlarge", "--seconds", "3",
                           "--out", str(tmp_path))
    assert code == 0
    multi = yaml.safe_load((tmp_path / "aws-p4d.24xlarge.yaml").read_text())
    assert "python -m core suite --quick --devices cuda:0 --seconds 3" in multi["run"]
    assert "python -m core scale --workload transformer --size S --device cuda --precision bf16 --nproc 1,2,4,8" \
        in multi["run"]
    assert "pip install -q -r requirements.txt" in multi["setup"] and "torch.cuda.is_available()" in multi["setup"]
    assert multi["envs"]["TORCH_INDEX_URL"] == ""  # PyPI's CUDA build
    t4 = yaml.safe_load((tmp_path / "aws-g4dn.xlarge.yaml").read_text())
    assert "core scale" not in t4["run"] and "--devices cuda:0" in t4["run"]
    cpu = yaml.safe_load((tmp_path / "aws-c7i.xlarge.yaml").read_text())
    assert "--devices cpu" in cpu["run"] and "core scale" not in cpu["run"]
    assert cpu["envs"]["TORCH_INDEX_URL"] == "https://download.pytorch.org/whl/cpu"


def test_unknown_instance_is_refused_naming_the_sheets_types(tmp_path, capsys):
    out = tmp_path / "fleet"
    code, _, err = run_fleet(capsys, "--instances", "g5.xlarge,g9.huge", "--out", str(out))
    assert code == 2
    assert "g9.huge" in err and "g5.xlarge" in err and "p4d.24xlarge" in err
    assert not out.exists()


@pytest.mark.parametrize("sheet,instance,reason", [
    ("gcp", "v5litepod-8", "no probe backend"), ("runpod", "1x_MI300X_SECURE", "not an NVIDIA GPU"),
    ("free_tiers", "colab-free-t4", "SkyPilot cannot launch on 'colab'")])
def test_instances_the_fleet_cannot_probe_are_refused(tmp_path, capsys, sheet, instance, reason):
    code, _, err = run_fleet(capsys, "--price-sheet", sheet, "--instances", instance, "--out", str(tmp_path / "o"))
    assert code == 2 and reason in err and not (tmp_path / "o").exists()


def test_out_that_is_a_file_is_refused(tmp_path, capsys):
    target = tmp_path / "fleet"
    target.write_text("not a directory")
    code, _, err = run_fleet(capsys, "--instances", "g5.xlarge", "--out", str(target))
    assert code == 2 and "not a directory" in err
    assert target.read_text() == "not a directory"


def test_plan_file_outside_the_repository_is_refused(tmp_path, capsys):
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps([{"workload": "mlp", "size": "S", "device": "cuda:0", "precision": "fp32"}]))
    code, _, err = run_fleet(capsys, "--instances", "g5.xlarge", "--plan", str(plan), "--out", str(tmp_path / "o"))
    assert code == 2 and "inside the repository" in err


def test_plan_of_specs_runs_the_file_and_counts_its_probes():
    rows = fleet.select_rows(resolve_sheet("aws"), ["g5.xlarge"])
    specs = ({"workload": "mlp", "size": "S", "device": "cuda:0", "precision": "fp32", "seconds": 5.0},) * 4
    plan = fleet.FleetPlan("plans/mine.json", 2.0, specs)
    (task,) = fleet.fleet_tasks(plan, rows, catalog.load_catalog(), spot=False, fleet_id="f", sheet_name="aws")
    assert "python -m core suite --plan plans/mine.json" in task.yaml_text
    assert task.estimate.probes == 4 and task.estimate.probes_s == 4 * (5 + 20) + 3


def test_scale_sizes():
    assert fleet.scale_sizes(1) == () and fleet.scale_sizes(2) == (1, 2)
    assert fleet.scale_sizes(8) == (1, 2, 4, 8) and fleet.scale_sizes(12) == (1, 2, 4, 8, 12)


def test_launch_without_skypilot_says_what_to_install(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(fleet_cli.shutil, "which", lambda name: None)
    monkeypatch.setattr(fleet_cli.subprocess, "run", lambda *a, **k: pytest.fail("nothing may launch"))
    code, out, err = run_fleet(capsys, "--instances", "g5.xlarge", "--out", str(tmp_path), "--launch")
    assert code == 2
    assert "pip install -r requirements-fleet.txt" in err and "sky check" in err and "Nothing was launched" in err
    assert "≈ $" in out  # the estimate came first


def test_launch_passes_the_store_as_a_secret_by_name(tmp_path, capsys, monkeypatch):
    calls = []
    monkeypatch.setattr(fleet_cli.shutil, "which", lambda name: "/opt/bin/sky")
    monkeypatch.setattr(fleet_cli.subprocess, "run",
                        lambda command, cwd: calls.append((command, cwd)) or subprocess.CompletedProcess(command, 0))
    monkeypatch.setenv("ACCELSCOPE_DB", "sqlite:///local.db")
    code, _, err = run_fleet(capsys, "--instances", "g5.xlarge", "--out", str(tmp_path), "--launch")
    assert code == 2 and "SQLite" in err and not calls
    monkeypatch.setenv("ACCELSCOPE_DB", DB_URL)
    code, _, err = run_fleet(capsys, "--instances", "g5.xlarge,p4d.24xlarge", "--out", str(tmp_path), "--launch")
    assert code == 0, err
    assert [Path(command[-3]).name for command, _ in calls] == ["aws-g5.xlarge.yaml", "aws-p4d.24xlarge.yaml"]
    for command, cwd in calls:
        assert cwd == REPO_ROOT and command[:3] == ["/opt/bin/sky", "launch", "-y"] and "--down" in command
        assert command[-2:] == ["--secret", "ACCELSCOPE_DB"] and not any(PASSWORD in part for part in command)
