"""Scaling probes on the CPU with the gloo backend (issue 16), end to end through the CLI and torchrun."""

import json

from core.facts.store import Store
from tests.core.test_cli import cli


def _results(out) -> list[dict]:
    return [json.loads(line) for line in out.stdout.strip().splitlines()]


def test_one_result_per_world_size_with_efficiency_backend_and_energy_all_stored(db_url):
    out = cli("scale", "--workload", "mlp", "--size", "S", "--device", "cpu", "--nproc", "1,2", "--seconds", "1",
              "--timeout", "180", "--json", db_url=db_url, check_rc=0)
    one, two = _results(out)
    assert (one["world_size"], two["world_size"]) == (1, 2) and {one["dist_backend"], two["dist_backend"]} == {"gloo"}
    assert one["scaling_efficiency"] == 1.0 and 0 < two["scaling_efficiency"]
    assert two["scaling_efficiency"] == two["samples_per_s"] / (2 * one["samples_per_s"])
    assert two["per_device_samples_per_s"] == two["samples_per_s"] / 2
    assert two["interconnect"].startswith("shared memory") and 0 <= two["comm_share"] < 1
    for result in (one, two):
        assert result["status"] == "ok" and result["energy"] is not None and result["steps"] >= 5
        assert result["strategy"] == "ddp" and result["nodes"] == 1
    with Store(db_url) as store:
        assert sorted(r.world_size for r in store.results()) == [1, 2]


def test_a_failed_rank_fails_its_world_size_with_the_reason_and_the_others_still_run(db_url):
    out = cli("scale", "--workload", "tests.core.scale_fixtures:mlp_failing_on_rank_1", "--device", "cpu",
              "--nproc", "1,2", "--seconds", "0.5", "--timeout", "180", "--meters", "none", "--json", db_url=db_url)
    assert out.returncode == 1, out.stderr
    one, two = _results(out)
    assert one["status"] == "ok" and one["world_size"] == 1
    assert two["status"] == "failed" and two["world_size"] == 2 and "rank 1 cannot build" in two["error"]


def test_a_bad_launch_is_refused_before_anything_runs(db_url):
    out = cli("scale", "--workload", "mlp", "--nnodes", "2", db_url=db_url)
    assert out.returncode == 2 and "--master-addr" in out.stderr
    out = cli("scale", "--workload", "mlp", "--nproc", "1,x", db_url=db_url)
    assert out.returncode == 2 and "not a list" in out.stderr


def test_a_world_size_past_its_timeout_is_stopped_with_every_rank(db_url, tmp_path):
    marker = str(tmp_path)  # in every rank's command line (the store is not: ranks never get it)
    out = cli("scale", "--workload", "mlp", "--device", "cpu", "--nproc", "2", "--seconds", "30", "--timeout", "8",
              "--meters", "none", "--json", "--size", "S", "--db", f"sqlite:///{marker}/s.db")
    (result,) = _results(out)
    assert result["status"] == "timeout" and "its ranks were stopped" in result["error"]
    import subprocess

    left = subprocess.run(["pgrep", "-f", "core.measure.scale"], capture_output=True, text=True).stdout.split()
    assert not left, f"ranks left running: {left}"


def test_results_carry_the_fleet_launch_id(db_url, monkeypatch):
    monkeypatch.setenv("ACCELSCOPE_LAUNCH_ID", "sky-launch-7")
    out = cli("probe", "--workload", "mlp", "--size", "S", "--seconds", "0.3", "--meters", "none", "--json",
              "--idle-seconds", "0", db_url=db_url, check_rc=0)
    (result,) = _results(out)
    assert result["launch_id"] == "sky-launch-7"
    with Store(db_url) as store:
        assert [r.launch_id for r in store.results()] == ["sky-launch-7"]


def test_fsdp_shards_the_model_over_cpu_ranks_too(db_url):
    out = cli("scale", "--workload", "mlp", "--size", "S", "--device", "cpu", "--nproc", "2", "--seconds", "0.5",
              "--strategy", "fsdp", "--meters", "none", "--timeout", "180", "--json", db_url=db_url, check_rc=0)
    (result,) = _results(out)
    assert result["status"] == "ok" and result["strategy"] == "fsdp" and result["world_size"] == 2
    assert result["scaling_efficiency"] is None  # no world size 1 in this launch to compare with


def test_two_nodes_on_loopback_make_one_result_stored_by_node_0(db_url, tmp_path):
    """--nnodes 2 with both nodes on this machine: one job of world size 2; node 1 stores nothing."""
    import os
    import socket
    import subprocess
    import sys

    from tests.core.test_cli import REPO

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = str(probe.getsockname()[1])
    common = ["scale", "--workload", "mlp", "--size", "S", "--device", "cpu", "--nproc", "1", "--nnodes", "2",
              "--master-addr", "127.0.0.1", "--master-port", port, "--seconds", "0.5", "--meters", "none",
              "--timeout", "120", "--json"]
    env = dict(os.environ, PYTHONPATH=str(REPO), ACCELSCOPE_DB=db_url,
               ACCELSCOPE_LOCK_DIR=str(tmp_path / "node1-locks"))  # another "machine": its own device locks
    node1 = subprocess.Popen([sys.executable, "-m", "core", *common, "--node-rank", "1"], cwd=REPO, env=env,
                             text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    node0 = cli(*common, "--node-rank", "0", db_url=db_url)
    out1, err1 = node1.communicate(timeout=180)
    assert node0.returncode == 0 and node1.returncode == 0, node0.stderr + err1
    (result,) = _results(node0)
    assert result["status"] == "ok" and result["world_size"] == 2 and result["nodes"] == 2
    assert out1.strip() == "" and "node 0 stores the result" in err1
    with Store(db_url) as store:
        assert [(r.world_size, r.nodes) for r in store.results()] == [(2, 2)]


def test_a_precision_the_device_cannot_run_is_refused_before_any_rank_starts(db_url):
    out = cli("scale", "--workload", "mlp", "--device", "cpu", "--precision", "tf32", "--nproc", "1", db_url=db_url)
    assert out.returncode == 2 and "tf32" in out.stderr
    with Store(db_url) as store:
        assert store.count() == 0
