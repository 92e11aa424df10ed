"""The team store on a real PostgreSQL server, started on loopback in a temporary directory."""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from core.errors import InvalidResult, StoreError
from core.facts.bundle import bundle_json
from core.facts.store import Store
from tests.core.factories import make_result

# Debian keeps the server binaries out of PATH, under /usr/lib/postgresql/<version>/bin.
REPO = Path(__file__).resolve().parents[2]
PG_PATH = os.pathsep.join([os.environ.get("PATH", ""), *sorted(map(str, Path("/usr/lib/postgresql").glob("*/bin")))])
INITDB = shutil.which("initdb", path=PG_PATH)
PG_CTL = shutil.which("pg_ctl", path=PG_PATH)
pytestmark = pytest.mark.skipif(not (INITDB and PG_CTL), reason="PostgreSQL server binaries (initdb, pg_ctl) not installed")


def _as_postgres_user(command: list[str]) -> list[str]:
    """initdb refuses to run as root: run the server as the 'postgres' user when we are root."""
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", "postgres", "--", *command]


@pytest.fixture(scope="module")
def postgres_url():
    # Not under pytest's private tmp dir: the server user must be able to reach the folder.
    base = Path(tempfile.mkdtemp(prefix="accelscope-pg-"))
    base.chmod(0o777)
    data = base / "data"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    subprocess.run(_as_postgres_user([INITDB, "-D", str(data), "-A", "trust", "-U", "accelscope"]),
                   check=True, capture_output=True)
    log = data.parent / "log.txt"
    subprocess.run(_as_postgres_user([PG_CTL, "-D", str(data), "-l", str(log), "-w", "-o",
                                      f"-p {port} -k {data.parent} -c listen_addresses=127.0.0.1", "start"]),
                   check=True, capture_output=True)
    try:
        yield f"postgresql+psycopg2://accelscope@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(_as_postgres_user([PG_CTL, "-D", str(data), "-m", "immediate", "stop"]), capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


def test_round_trip_and_runs_on_postgres(postgres_url):
    store = Store(postgres_url)
    results = [make_result(run_id="pg"), make_result(run_id="pg", workload="cnn")]
    assert store.add_many(results) == 2
    assert {r.id for r in Store(postgres_url).results(run_id="pg")} == {r.id for r in results}
    assert Store(postgres_url).summaries()[0]["run_id"] == "pg"
    summary = Store(postgres_url).host_summaries()["abcdef123456"]  # summarised, kept, marked stale on PostgreSQL
    assert sorted(c["workload"] for c in summary["configs"]) == ["cnn", "mlp"]
    assert Store(postgres_url).host_summaries()["abcdef123456"] == summary
    assert store.delete_run("pg") == 2
    assert "abcdef123456" not in Store(postgres_url).host_summaries()


def test_a_too_long_id_is_refused_before_postgres_sees_it(postgres_url):
    store = Store(postgres_url)
    before = store.count()
    good = make_result()
    with pytest.raises(InvalidResult, match="at most 64"):
        store.add_many([good, make_result(id="x" * 5000)])  # once a traceback from the server
    assert store.count() == before


def test_parallel_overlapping_imports_on_postgres_lose_nothing_and_fail_none(postgres_url, tmp_path):
    # a host no other test writes: the first import to commit stores its summary, the others mark it stale
    results = [make_result(run_id="parallel-pg", env={"host": "parallel-pg-host"}) for _ in range(40)]
    paths = []
    for index in range(4):  # each bundle overlaps the next by half
        paths.append(tmp_path / f"part{index}.json")
        paths[-1].write_text(bundle_json(results[index * 10:index * 10 + 20]))
    env = dict(os.environ, PYTHONPATH=str(REPO), ACCELSCOPE_DB=postgres_url)
    procs = [subprocess.Popen([sys.executable, "-m", "core", "import", str(p)], cwd=REPO, env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for p in paths]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], outputs
    assert len(Store(postgres_url).results(run_id="parallel-pg")) == 40
    assert sum(int(out.split("imported ")[1].split()[0]) for out, _ in outputs) == 40
    assert sum(c["results"] for c in Store(postgres_url).host_summaries()["parallel-pg-host"]["configs"]) == 40


def test_an_import_into_postgres_writes_in_the_files_order(postgres_url, tmp_path, monkeypatch):
    """Line readers' rows come in no set order: two such imports of overlapping bundles could each wait for
    an id the other holds (a deadlock). Into PostgreSQL one reader reads, in the file's order."""
    from core.facts import bundle

    monkeypatch.setattr(bundle, "_line_reader_count", lambda: 4)
    monkeypatch.setattr(bundle, "_rows_from_readers", lambda *args: pytest.fail("line readers on PostgreSQL"))
    path = tmp_path / "ordered.json"
    path.write_text(bundle_json([make_result(run_id="ordered-pg") for _ in range(3)]))
    assert bundle.import_file(path, Store(postgres_url)) == (3, 3)


def test_unreachable_server_says_so_without_the_password():
    with pytest.raises(StoreError, match="cannot open results store") as refused:
        Store("postgresql+psycopg2://nobody:Pa55word@127.0.0.1:1/none")
    assert "Pa55word" not in str(refused.value) and "***" in str(refused.value)


def test_inference_and_time_to_target_results_round_trip_through_postgres(postgres_url):
    infer = make_result(mode="infer", step_time_p99_s=0.02, loss_first=None, loss_last=None)
    converge = make_result(mode="converge", target_loss=0.5, reached=False, steps_to_target=100,
                           time_to_target_s=3.0, stop_reason="the 3 s cap stopped it",
                           loss_curve=((10, 0.3, 2.0), (100, 3.0, 0.9)))
    with Store(postgres_url) as store:
        store.add_many([infer, converge])
        by_id = {r.id: r for r in store.results()}
    assert by_id[infer.id] == infer and by_id[converge.id] == converge


FLEET_WRITER = """
import sys
from core.facts.store import Store
from tests.core.factories import make_result
launch, host, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
with Store() as store:  # ACCELSCOPE_DB: the fleet's one store
    for _ in range(count):  # one result at a time, as a probe plan stores them
        store.add(make_result(run_id=f"run-{launch}", launch_id=launch,
                              env={"host": host, "torch": "2.13.0", "cpu": "Test CPU", "gpu": None}))
"""


def test_a_fleet_of_machines_writing_one_store_at_once_loses_nothing(postgres_url):
    """Eight writers (a fleet's machines, each with its launch id and host) add results one by one into one
    PostgreSQL store at the same time: every result arrives, with its launch id and host."""
    env = dict(os.environ, PYTHONPATH=str(REPO), ACCELSCOPE_DB=postgres_url)
    writers = [subprocess.Popen([sys.executable, "-c", FLEET_WRITER, f"launch-{k}", f"host-{k}", "100"], cwd=REPO,
                                env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for k in range(8)]
    outputs = [w.communicate(timeout=240) for w in writers]
    assert [w.returncode for w in writers] == [0] * 8, outputs
    with Store(postgres_url) as store:
        fleet = [r for r in store.results() if (r.launch_id or "").startswith("launch-")]
    assert len(fleet) == 800
    by_launch = {}
    for result in fleet:
        by_launch.setdefault(result.launch_id, set()).add(result.env["host"])
    assert by_launch == {f"launch-{k}": {f"host-{k}"} for k in range(8)}
    with Store(postgres_url) as store:  # each writer's host summarised from all 100 of its results
        summaries = store.host_summaries()
    assert all(sum(c["results"] for c in summaries[f"host-{k}"]["configs"]) == 100 for k in range(8))
    assert {launch for k in range(8) for launch in summaries[f"host-{k}"]["launches"]} == {
        f"launch-{k}" for k in range(8)}


def test_a_schema_5_store_is_narrowed_in_place_on_postgres(postgres_url):
    """PostgreSQL drops the columns in place (SQLite copies the table): the same migration, checked alike."""
    import sqlalchemy as sa

    from tests.core.test_scale_store import check_schema_5_migrates

    server = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        conn.execute(sa.text("CREATE DATABASE schema_5"))
    server.dispose()
    check_schema_5_migrates(postgres_url.rsplit("/", 1)[0] + "/schema_5")


def _new_database(postgres_url: str, name: str) -> str:
    import sqlalchemy as sa

    server = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        conn.execute(sa.text(f"CREATE DATABASE {name}"))
    server.dispose()
    return postgres_url.rsplit("/", 1)[0] + "/" + name


def test_processes_opening_a_schema_5_store_at_once_all_open_it(postgres_url):
    """The fleet's machines start together: each opens the team store, and one upgrades it."""
    from tests.core.test_scale_store import as_schema_5

    url = _new_database(postgres_url, "schema_5_race")
    Store(url).add_many([make_result() for _ in range(3)])
    as_schema_5(url)
    code = ("import sys; from core.facts.store import Store; s = Store(sys.argv[1]); print(s.count())")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    procs = [subprocess.Popen([sys.executable, "-c", code, url], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(4)]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, [err for _, err in outputs]
    assert [out.strip() for out, _ in outputs] == ["3"] * 4


def test_a_role_that_may_only_read_reads_a_schema_5_store(postgres_url):
    """A viewer's role (SELECT only, as a shared dashboard might use) cannot upgrade the store: it reads
    it as it is, and a write is refused with the reason."""
    import sqlalchemy as sa

    from tests.core.test_scale_store import as_schema_5

    url = _new_database(postgres_url, "schema_5_viewer")
    results = [make_result(created_at=f"2026-11-22T10:0{i}:00+00:00") for i in range(2)]
    Store(url).add_many(results)
    as_schema_5(url)
    owner = sa.create_engine(url)
    with owner.begin() as conn:
        conn.execute(sa.text("CREATE ROLE viewer LOGIN"))
        conn.execute(sa.text("GRANT SELECT ON ALL TABLES IN SCHEMA public TO viewer"))
    owner.dispose()
    store = Store(url.replace("accelscope@", "viewer@"))
    assert store.read_only and store.results() == results
    with pytest.raises(StoreError, match="cannot upgrade it to schema 6"):
        store.add(make_result())
