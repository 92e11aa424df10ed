"""The fault suite: every way a careless or hostile user, a crash or a broken store once lost,
corrupted or leaked data (issue 13), run against the real CLI, store and probe processes.

Bad bundles, ``kill -9`` of a running suite, a locked store, corrupt and read-only stores,
parallel imports (SQLite here; PostgreSQL in test_postgres_store.py), formula cells, passwords in
process lists and errors, and device locks that other lock folders or device spellings bypassed.
"""

import copy
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.trust import is_zombie, probe_child_of
from core.errors import DeviceBusy, InvalidImport, InvalidResult, StoreError
from core.facts.bundle import BUNDLE_FORMAT, BUNDLE_VERSION, bundle_json, parse_bundle
from core.facts.store import Store, masked
from core.measure import contention, runner
from core.measure.backends import Device
from core.facts.spec import ProbeSpec
from tests.core.factories import make_energy, make_result

REPO = Path(__file__).resolve().parents[2]
SECRET = "s3cr3t-Pa55"


def cli(*args, env_extra=None, timeout=300):
    env = dict(os.environ, PYTHONPATH=str(REPO), **(env_extra or {}))
    return subprocess.run([sys.executable, "-m", "core", *args], capture_output=True, text=True, cwd=REPO,
                          env=env, timeout=timeout)


def good_record() -> dict:
    return make_result(energy=make_energy()).to_dict()


def bundle_with(record: dict | None = None, **top) -> str:
    records = [good_record()] + ([record] if record is not None else [])
    return json.dumps({"format": BUNDLE_FORMAT, "version": 1, "results": records, **top})


def changed(**fields) -> dict:
    record = good_record()
    record.update(fields)
    return record


def energy_changed(path: tuple, value) -> dict:
    record = good_record()
    target = record["energy"]
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return record


# (name, bundle text, what the refusal must name)
BAD_BUNDLES = [
    ("negative throughput", bundle_with(changed(samples_per_s=-5000)), "samples_per_s"),
    ("zero throughput", bundle_with(changed(samples_per_s=0)), "samples_per_s"),
    ("throughput 1e30", bundle_with(changed(samples_per_s=1e30)), "samples_per_s"),
    ("negative component energy", bundle_with(energy_changed(("components", 0, "energy_j"), -100)), "energy_j"),
    ("negative total energy", bundle_with(energy_changed(("total_j",), -100)), "total_j"),
    ("NaN energy", bundle_with(energy_changed(("components", 0, "energy_j"), float("nan"))), "energy_j"),
    ("infinite energy", bundle_with(energy_changed(("components", 0, "energy_j"), float("inf"))), "energy_j"),
    ("negative step time", bundle_with(changed(step_time_s=-1)), "step_time_s"),
    ("step time 1e308", bundle_with(changed(step_times_s=[1e308, 1e308], step_time_s=1e308)), "samples_per_s"),
    ("negative step in the list", bundle_with(changed(step_times_s=[0.01, -1])), "step_times_s"),
    ("negative CV", bundle_with(changed(step_time_cv=-3)), "step_time_cv"),
    ("negative wall time", bundle_with(changed(wall_time_s=-10)), "wall_time_s"),
    ("zero batch", bundle_with(changed(batch_size=0)), "batch_size"),
    ("impossible FLOP/s", bundle_with(changed(achieved_tflops=1e9)), "achieved_tflops"),
    ("zero FLOPs", bundle_with(changed(flops_per_step=0)), "flops_per_step"),
    ("unknown precision", bundle_with(changed(precision="int3")), "precision"),
    ("unknown size", bundle_with(changed(size="ZZZ")), "size"),
    ("unknown workload", bundle_with(changed(workload="nosuch")), "workload"),
    ("year 9999", bundle_with(changed(created_at="9999-01-01T00:00:00+00:00")), "future"),
    ("ok without measurements", bundle_with(changed(step_time_s=None, samples_per_s=None, steps=None,
                                                    step_times_s=[])), "measurements"),
    ("5,000-character id", bundle_with(changed(id="x" * 5000)), "at most 64"),
    ("long host", bundle_with(changed(env={"host": "h" * 500})), "env.host"),
    ("missing entry without component", bundle_with(energy_changed(("missing",), [{"reason": "x"}])), "missing"),
    ("unknown status", bundle_with(changed(status="great")), "status"),
    ("duplicate id", None, "duplicate id"),
    ("bundle version -7", bundle_with(version=-7), "version"),
    ("bundle version true", bundle_with(version=True), "version"),
    ("bundle version 99", bundle_with(version=99), "upgrade"),
    ("no bundle version", json.dumps({"format": BUNDLE_FORMAT, "results": []}), "version"),
    ("not a bundle", json.dumps({"results": []}), "format"),
    ("100k-deep nesting", "[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ("not JSON", "{nope", "not valid JSON"),
    ("results not a list", json.dumps({"format": BUNDLE_FORMAT, "version": 1, "results": {}}), "list of results"),
]


def _duplicate_bundle() -> str:
    record = good_record()
    return json.dumps({"format": BUNDLE_FORMAT, "version": 1, "results": [record, copy.deepcopy(record)]})


@pytest.mark.parametrize("name,raw,names", BAD_BUNDLES, ids=[b[0] for b in BAD_BUNDLES])
def test_every_malformed_bundle_is_refused_naming_the_problem(name, raw, names):
    raw = _duplicate_bundle() if raw is None else raw
    with pytest.raises(InvalidImport, match=names) as refused:
        parse_bundle(raw, "bad.json")
    assert "Traceback" not in str(refused.value)


def test_a_bundle_with_several_bad_records_lists_every_one_and_imports_nothing(tmp_path, db_url):
    Store(db_url).add(make_result())
    records = [good_record(), changed(samples_per_s=-1), changed(precision="int3", step_time_cv=-3)]
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"format": BUNDLE_FORMAT, "version": 1, "results": records}))
    proc = cli("import", str(path), "--db", db_url)
    assert proc.returncode == 2, proc.stderr
    assert "2 of 3 record(s) are invalid" in proc.stderr
    assert "record 2" in proc.stderr and "record 3" in proc.stderr
    assert "precision" in proc.stderr and "step_time_cv" in proc.stderr and "Traceback" not in proc.stderr
    assert Store(db_url).count() == 1


def test_the_store_refuses_an_impossible_result_itself(db_url):
    store = Store(db_url)
    with pytest.raises(InvalidResult, match="samples_per_s"):
        store.add(make_result(samples_per_s=-5000))
    with pytest.raises(InvalidResult, match="at most 64"):
        store.add_many([make_result(), make_result(id="x" * 5000)])
    assert store.count() == 0


def test_export_never_writes_non_standard_json():
    text = bundle_json([make_result()])
    assert "NaN" not in text and json.loads(text)["version"] == BUNDLE_VERSION == 2
    poisoned = make_result(loss_last=float("nan"))  # built in code: no reader would accept it
    with pytest.raises(InvalidImport, match="NaN or infinite"):
        bundle_json([poisoned])


# --- formulas ------------------------------------------------------------------------------------

def test_csv_export_neutralises_formulas_and_keeps_numbers(db_url):
    hostile = make_result(status="failed", error='=HYPERLINK("http://evil.example","x")', device_name="+cmd|calc",
                          samples_per_s=None, step_time_s=None, step_times_s=(), steps=None,
                          env={"host": "@SUM(A1)", "cpu": "-2+3"})
    Store(db_url).add_many([hostile, make_result(loss_first=-1.5)])
    proc = cli("results", "--format", "csv", "--db", db_url)
    assert proc.returncode == 0, proc.stderr
    import csv
    import io

    rows = list(csv.DictReader(io.StringIO(proc.stdout)))
    bad = next(r for r in rows if r["status"] == "failed")
    assert bad["error"].startswith("'=HYPERLINK") and bad["device_name"] == "'+cmd|calc"
    assert bad["host"] == "'@SUM(A1)" and bad["cpu"] == "'-2+3"
    good = next(r for r in rows if r["status"] == "ok")
    assert good["loss_first"] == "-1.5"  # a number stays a number
    cells = [value for row in rows for value in row.values() if isinstance(value, str)]
    assert not [c for c in cells if c[:1] in ("=", "+", "@") or (c.startswith("-") and not _number(c))]


def test_the_dashboard_csv_neutralises_formulas_and_keeps_numbers():
    import pandas as pd

    from core.facts.tables import frame_csv

    frame = pd.DataFrame({"error": ["=1+1", None], "host": pd.Categorical(["@x", "plain"]), "loss": [-1.5, 2.0]})
    assert frame_csv(frame).splitlines() == ["error,host,loss", "'=1+1,'@x,-1.5", ",plain,2.0"]


def _number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


# --- nothing measured is lost ---------------------------------------------------------------------

def _wait_for(condition, timeout_s: float, step_s: float = 0.2):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(step_s)
    return condition()


def test_kill_9_of_the_suite_takes_its_probe_child_with_it(tmp_path, db_url):
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps([{"workload": "mlp", "size": "S", "seconds": 120, "seed": 0}]))
    env = dict(os.environ, PYTHONPATH=str(REPO), ACCELSCOPE_DB=db_url)
    suite = subprocess.Popen([sys.executable, "-m", "core", "suite", "--plan", str(plan), "--meters", "none"],
                             cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        child = _wait_for(lambda: probe_child_of(suite.pid), 60)
        time.sleep(2)  # into the build or warm-up
        assert child, "the probe child never started"
        os.kill(suite.pid, signal.SIGKILL)
        suite.wait()
        gone = _wait_for(lambda: not Path(f"/proc/{child}").exists() or is_zombie(child), 10)
        assert gone, f"probe child {child} outlived the killed suite"
    finally:
        if suite.poll() is None:
            suite.kill()


def test_a_probe_child_keeps_its_own_deadline():
    spec = ProbeSpec(workload="mlp", size="S", seconds=600)
    device = Device(id="cpu", kind="cpu", name="test cpu")
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "core", "_probe", "--spec", spec.to_json(), "--device",
                           json.dumps(device.to_dict()), "--run-id", "deadline", "--meters", "none",
                           "--deadline-s", "3"], cwd=REPO, env=dict(os.environ, PYTHONPATH=str(REPO)),
                          capture_output=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL
    assert time.monotonic() - started < 30


def test_a_result_the_locked_store_cannot_take_is_spooled_and_recovered(tmp_path, db_url):
    Store(db_url).close()
    holder = sqlite3.connect(db_url.removeprefix("sqlite:///"), timeout=1)
    holder.execute("BEGIN EXCLUSIVE")  # another writer holds the database for longer than the busy timeout
    try:
        proc = cli("probe", "--workload", "mlp", "--seconds", "0.5", "--meters", "none", "--db", db_url,
                   env_extra={"ACCELSCOPE_BUSY_TIMEOUT_S": "1"})  # the default 10 s would only slow the test
    finally:
        holder.rollback()
        holder.close()
    assert proc.returncode == 0, proc.stderr  # the plan went on and said so
    assert "not stored now" in proc.stderr and "python -m core recover" in proc.stderr
    assert Store(db_url).count() == 0
    recovered = cli("recover", "--db", db_url)
    assert recovered.returncode == 0 and "wrote 1 spooled result" in recovered.stdout
    assert Store(db_url).results()[0].ok
    assert "nothing spooled" in cli("recover", "--db", db_url).stdout


def test_parallel_overlapping_imports_lose_nothing_and_fail_none(tmp_path, db_url):
    results = [make_result() for _ in range(40)]
    Store(db_url).close()
    paths = []
    for index in range(4):  # each bundle overlaps the next by half
        path = tmp_path / f"part{index}.json"
        path.write_text(bundle_json(results[index * 10:index * 10 + 20]))
        paths.append(path)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    procs = [subprocess.Popen([sys.executable, "-m", "core", "import", str(p), "--db", db_url], cwd=REPO, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for p in paths]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], outputs
    assert Store(db_url).count() == 40
    assert sum(int(out.split("imported ")[1].split()[0]) for out, _ in outputs) == 40


# --- faulty stores ------------------------------------------------------------------------------------

def _populated(db_url: str, count: int = 200) -> Path:
    Store(db_url).add_many([make_result(run_id=f"run-{i % 4}") for i in range(count)])
    path = Path(db_url.removeprefix("sqlite:///"))
    sqlite3.connect(path).execute("PRAGMA wal_checkpoint(TRUNCATE)").close()
    return path


def test_a_store_with_garbage_mid_file_refuses_writes_and_never_shows_a_traceback(tmp_path, db_url):
    path = _populated(db_url)
    with open(path, "r+b") as handle:
        handle.seek(path.stat().st_size // 2)
        handle.write(os.urandom(8192))
    damaged = path.read_bytes()
    bundle = tmp_path / "more.json"
    bundle.write_text(bundle_json([make_result() for _ in range(3)]))
    for command in (("import", str(bundle)), ("delete-run", "run-1"),
                    ("probe", "--workload", "mlp", "--seconds", "0.5", "--meters", "none")):
        proc = cli(*command, "--db", db_url)
        assert proc.returncode == 2, proc.stdout + proc.stderr
        assert "damaged" in proc.stderr and ".recover" in proc.stderr and "Traceback" not in proc.stderr
    for command in (("results",), ("export", str(tmp_path / "out.json"))):
        proc = cli(*command, "--db", db_url)
        assert "Traceback" not in proc.stderr, proc.stderr
        assert proc.returncode in (0, 2)
    assert path.read_bytes() == damaged  # nothing was written into the damaged file


def test_a_file_that_is_not_a_database_is_named_and_not_used(tmp_path):
    path = tmp_path / "garbage.db"
    path.write_bytes(os.urandom(65536))
    proc = cli("results", "--db", f"sqlite:///{path}")
    assert proc.returncode == 2 and "not a readable SQLite database" in proc.stderr and ".recover" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_read_only_store_opens_read_only_and_reads_work(tmp_path, db_url, monkeypatch):
    path = _populated(db_url, 5)
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if (Path(p) == path and mode == os.W_OK)
                        else real_access(p, mode, **kw))  # as root, permissions cannot make a file read-only
    path.chmod(0o444)
    store = Store(db_url)
    assert store.read_only and store.count() == 5 and len(store.results()) == 5
    with pytest.raises(StoreError, match="read-only"):
        store.add(make_result())
    with pytest.raises(StoreError, match="read-only"):
        store.delete_run("run-1")
    with store._engine.begin() as conn:  # the connection itself is read-only (mode=ro), not just the checks
        with pytest.raises(Exception, match="readonly"):
            conn.exec_driver_sql("DELETE FROM results")
    assert Store(db_url).count() == 5


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes any file: the monkeypatched test above covers it")
def test_a_read_only_file_really_opens_read_only(db_url):
    path = _populated(db_url, 5)
    path.chmod(0o444)
    assert Store(db_url).read_only and Store(db_url).count() == 5


# --- secrets ---------------------------------------------------------------------------------------

def test_the_dashboard_passes_the_store_url_through_the_environment_never_argv(tmp_path):
    from dashboard import runs

    url = f"postgresql+psycopg2://user:{SECRET}@127.0.0.1:1/accelscope"
    run = runs.start_plan([], url, meters="none")
    try:
        run.process.wait(timeout=60)
        assert SECRET not in " ".join(map(str, run.process.args))
        assert SECRET not in run.stderr()  # the suite's error names the store masked
    finally:
        run.cancel()
        run.cleanup()


def test_no_error_names_a_password(tmp_path):
    for url in (f"postgresql+psycopg2://user:{SECRET}@127.0.0.1:1/accelscope",
                f"postgresql+nosuchdriver://user:{SECRET}@127.0.0.1:1/accelscope"):
        with pytest.raises(StoreError) as refused:
            Store(url)
        assert SECRET not in str(refused.value) and "***" in str(refused.value)
        proc = cli("results", "--db", url)
        assert proc.returncode == 2 and SECRET not in proc.stderr + proc.stdout
    assert SECRET not in masked(f"postgresql://u:{SECRET}@h/db")


# --- locks that hold --------------------------------------------------------------------------------

def test_the_device_lock_ignores_tmpdir(monkeypatch):
    monkeypatch.delenv("ACCELSCOPE_LOCK_DIR")
    device = f"test:{os.getpid()}"  # a device no real run locks
    script = ("import sys\nfrom core.errors import DeviceBusy\nfrom core.measure.runner import device_locks\n"
              f"try:\n    with device_locks([{device!r}]): pass\nexcept DeviceBusy: sys.exit(3)\n")
    with runner.device_locks([device]):
        other = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True,
                               env={k: v for k, v in os.environ.items() if k != "ACCELSCOPE_LOCK_DIR"}
                               | {"TMPDIR": "/var/tmp", "PYTHONPATH": str(REPO)}, timeout=60)
    assert other.returncode == 3, other.stderr


def test_cuda_and_cuda_0_take_one_lock():
    gpu = Device(id="cuda:0", kind="cuda", name="a GPU", precisions=("fp32",))
    with runner.device_locks(["cuda:0"]):
        with pytest.raises(DeviceBusy):
            runner.run_plan([ProbeSpec(workload="mlp", device="cuda")], store=None, devices=[gpu], meters="none")


def test_a_probe_measured_beside_another_probe_is_flagged_contended(tmp_path, db_url):
    # Another probe process on the CPU, seen through the process table as any other user's would be.
    squatter = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)", "core", "_probe", "--device",
                                 json.dumps({"id": "cpu"})], start_new_session=True)  # as every probe runs
    try:
        # (a real probe run beside the tests, as CI under load has, is another probe too)
        assert _wait_for(lambda: squatter.pid in contention.other_probes("cpu"), 10)
        proc = cli("probe", "--workload", "mlp", "--seconds", "0.5", "--meters", "none", "--json", "--db", db_url)
    finally:
        squatter.kill()
        squatter.wait()
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.splitlines()[-1])
    assert result["concurrent_probes"] >= 1
    assert "another probe measured this device" in " ".join(proc.stderr.split())
    assert squatter.pid not in contention.other_probes("cpu")


# --- what a review found ---------------------------------------------------------------------------

def test_a_result_whose_meters_could_not_be_read_is_stored(db_url):
    from core.facts.energy import ComponentEnergy, EnergyRecord

    unread = EnergyRecord(window_s=2.0, samples=100, flops=0.0, components=(
        ComponentEnergy("cpu-package", None, 2.0, None, "unavailable", reason="RAPL not readable"),))
    assert unread.total_j is None
    assert Store(db_url).add(make_result(energy=unread))
    assert parse_bundle(bundle_json([make_result(energy=unread)]))


def test_a_planted_link_in_the_lock_folder_is_refused_and_its_target_untouched(tmp_path, monkeypatch):
    folder = tmp_path / "locks"
    folder.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    (folder / "cpu.lock").symlink_to(victim)
    monkeypatch.setenv("ACCELSCOPE_LOCK_DIR", str(folder))
    with pytest.raises(DeviceBusy, match="planted"):
        with runner.device_locks(["cpu"]):
            pass
    assert victim.read_text() == "precious"


def test_a_lock_folder_another_user_made_or_can_write_is_refused(tmp_path):
    mine = tmp_path / "mine"
    runner._private_folder(mine)
    runner._private_folder(mine)  # ours, private: fine again
    opened = tmp_path / "opened"
    opened.mkdir()
    opened.chmod(0o777)
    runner._private_folder(opened)  # ours but open to others: closed
    assert opened.stat().st_mode & 0o777 == 0o700
    planted = tmp_path / "planted"
    planted.symlink_to(mine)
    with pytest.raises(DeviceBusy, match="not a private folder"):
        runner._private_folder(planted)
    if os.geteuid() == 0:
        foreign = tmp_path / "foreign"
        foreign.mkdir(mode=0o700)
        os.chown(foreign, 65534, 65534)
        with pytest.raises(DeviceBusy, match="owner uid 65534"):
            runner._private_folder(foreign)


def test_a_spooled_result_goes_back_to_its_own_store_however_the_url_is_spelled(tmp_path, monkeypatch):
    from core.facts import spool

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    monkeypatch.chdir(tmp_path / "a")
    spool.spool(make_result(), "sqlite:///results.db")  # relative: the file in folder a
    monkeypatch.chdir(tmp_path / "b")
    assert spool.spooled("sqlite:///results.db") == []  # b's results.db is another store
    assert len(spool.spooled(f"sqlite:///{tmp_path / 'a' / 'results.db'}")) == 1


def test_a_password_in_the_query_string_is_masked_too():
    url = f"postgresql+psycopg2://u@127.0.0.1:1/db?password={SECRET}"
    assert SECRET not in masked(url)
    with pytest.raises(StoreError) as refused:
        Store(url)
    assert SECRET not in str(refused.value)


def test_a_custom_workload_may_count_samples_its_own_way():
    from core.facts.validation import result_problems

    accumulating = make_result(workload="mypkg.models:accumulated", size="S", batch_size=8, samples_per_s=1280.0,
                               step_times_s=(0.1, 0.1), step_time_s=0.1, step_time_p10_s=0.1)
    assert result_problems(accumulating) == []
    assert any("samples_per_s" in p for p in result_problems(dataclasses_replace(accumulating, workload="mlp")))


def dataclasses_replace(result, **changes):
    import dataclasses

    return dataclasses.replace(result, **changes)


def test_export_rescues_every_result_that_still_reads(tmp_path, db_url):
    good = [make_result(run_id="rescue") for _ in range(3)]
    store = Store(db_url)
    store.add_many(good)
    with sqlite3.connect(db_url.removeprefix("sqlite:///")) as conn:  # one payload torn (a bad disk, a bad copy)
        conn.execute("UPDATE results SET payload = '{\"step_times_f64_b64\": \"%%%\"}' WHERE id = ?", (good[1].id,))
    with pytest.raises(StoreError, match="1 unreadable result"):
        Store(db_url).results()
    out = tmp_path / "rescued.json"
    proc = cli("export", str(out), "--db", db_url)
    assert proc.returncode == 1 and "1 stored result(s) could not be read" in proc.stderr, proc.stderr
    assert {r.id for r in parse_bundle(out.read_text())} == {good[0].id, good[2].id}
