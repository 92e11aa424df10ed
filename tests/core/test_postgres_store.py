"""The team store on a real PostgreSQL server, started on loopback in a temporary directory."""

import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

from core.errors import StoreError
from core.facts.store import Store
from tests.core.factories import make_result

# Debian keeps the server binaries out of PATH, under /usr/lib/postgresql/<version>/bin.
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
    assert store.delete_run("pg") == 2


def test_a_failing_import_on_postgres_writes_nothing(postgres_url):
    store = Store(postgres_url)
    before = store.count()
    good = make_result()
    with pytest.raises(Exception):
        store.add_many([good, make_result(id=good.id * 3)])  # an id too long for the column fails mid-way
    assert store.count() == before


def test_unreachable_server_says_so():
    with pytest.raises(StoreError, match="cannot open results store"):
        Store("postgresql+psycopg2://nobody@127.0.0.1:1/none")
