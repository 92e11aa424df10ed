"""Every probe runs in its own process: failures become stored results and the plan goes on."""

import pytest

from core.errors import DeviceBusy
from core.facts.spec import ProbeSpec
from core.facts.store import Store
from core.measure.runner import device_locks, run_isolated, run_plan
from tests.core.factories import make_result

FAULTY = "tests.core.faulty_workloads"


def spec(workload, **kwargs):
    return ProbeSpec(workload=workload, size="S", seconds=0.3, **kwargs)


def test_a_plan_survives_raise_hang_oom_and_kill(db_url):
    store = Store(db_url)
    good = spec(f"{FAULTY}:tiny_mlp", batch_size=32)
    store.add(make_result(run_id="earlier"))  # something already stored must survive the plan
    plan = [
        spec(f"{FAULTY}:raises"),
        spec(f"{FAULTY}:hangs"),
        # A real workload whose batch needs ~8 GB, in a child capped at 3 GiB of address space.
        spec("gemm", batch_size=4_000_000),
        spec(f"{FAULTY}:killed"),
        good,
    ]
    events = []
    # The hang costs the whole timeout: 12 s is 2.5 times the slowest other probe's 4.7 s on this machine under load.
    results = run_plan(plan, store, run_id="plan", timeout_s=12, memory_limit_bytes=3 * 2**30,
                       meters="none", on_event=events.append)
    statuses = [r.status for r in results]
    assert statuses == ["failed", "timeout", "oom", "failed", "ok"]
    assert "planted failure" in results[0].error
    assert "12 s" in results[1].error and "killed" in results[1].error
    assert "out of memory" in results[2].error and "batch-size" in results[2].error
    assert "SIGKILL" in results[3].error
    assert results[1].wall_time_s < 24
    stored = store.results()
    assert len(stored) == 6
    assert {r.status for r in store.results(run_id="earlier")} == {"ok"}
    assert [r.status for r in store.results(run_id="plan")] == statuses
    assert [(e.kind, e.index) for e in events if e.kind != "progress"][:2] == [("start", 0), ("done", 0)]
    assert len([e for e in events if e.kind != "progress"]) == 10
    phases = [e.detail["phase"] for e in events if e.kind == "progress" and e.index == 4]
    assert phases[0] == "build" and "warmup" in phases and "window" in phases and phases[-1] == "done"
    assert results[4].device_identity and results[0].device_identity == results[4].device_identity


def test_isolated_probe_result_has_the_fingerprint():
    result = run_isolated(spec(f"{FAULTY}:tiny_mlp", batch_size=32), "r", meters="none")
    assert result.ok, result.error
    assert result.env["malloc_tuning"]  # the child ran with the allocator tuning it records
    assert result.env["cpu_isa"] and result.env["torch_cpu_capability"] and result.host_other_cpus is not None
    # (that the loss falls is tested in-process with enough steps: tests/core/test_workloads.py; a
    # 0.3 s window on a busy machine may hold only 5 steps of a tiny model)


def test_a_busy_device_is_refused_with_a_clear_message(db_url):
    with device_locks(["cpu"]):
        with pytest.raises(DeviceBusy, match="cpu is being measured by another probe run"):
            run_plan([spec("mlp")], Store(db_url))
    assert Store(db_url).count() == 0


@pytest.mark.parametrize("workload", [f"{FAULTY}:tiny_mlp", f"{FAULTY}:raises"])
def test_a_probe_process_ends_as_soon_as_its_result_is_out(workload):
    """The runner waits for the probe process to end before the next probe starts: the child ends right
    after its result line (ok or failed), without the interpreter's teardown (about a second of freeing
    torch before)."""
    import subprocess
    import threading
    import time

    from core.measure import backends, child
    from core.measure.runner import _child_env

    device = backends.find("cpu", backends.discover())
    command = child.probe_command(spec(workload, batch_size=32), device, "ends", meters="none")
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_child_env(), text=True)
    errors = []
    reading = threading.Thread(target=lambda: errors.append(process.stderr.read()))
    reading.start()
    result_at = None
    for line in process.stdout:
        if child.parse_line(line).type == child.RESULT:
            result_at = time.monotonic()
    code = process.wait()
    assert result_at is not None and time.monotonic() - result_at < 0.6
    reading.join()
    if workload.endswith("tiny_mlp"):
        assert code == 0
    else:  # what it printed before its result (the traceback) still arrives
        assert code == 1 and "planted failure" in errors[0]
