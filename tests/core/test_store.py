import pytest
import sqlalchemy as sa

from core.errors import StoreError
from core.facts.results import ProbeResult
from core.facts.store import SCHEMA_VERSION, Store
from tests.core.factories import make_energy, make_result


def test_round_trip_keeps_every_field(db_url):
    result = make_result(energy=make_energy(12.5), step_times_s=(0.01, 0.02, 0.03))
    with Store(db_url) as store:
        store.add(result)
    with Store(db_url) as store:
        (loaded,) = store.results()
    assert loaded == result
    assert ProbeResult.from_dict(result.to_dict()) == result


def test_sqlite_store_uses_wal(db_url):
    store = Store(db_url)
    with store._engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_change_stamp_moves_when_results_are_added_or_deleted(db_url):
    store = Store(db_url)
    stamps = [store.change_stamp()]
    first = make_result(run_id="a", created_at="2026-11-22T07:00:00+00:00")
    store.add(first)
    stamps.append(store.change_stamp())
    store.add(make_result(run_id="b", created_at="2026-11-22T06:00:00+00:00"))  # older: the stamp moves still
    stamps.append(store.change_stamp())
    store.host_summaries()  # summarising changes no result: the stamp stays
    assert store.change_stamp() == stamps[-1]
    store.delete_run("b")
    stamps.append(store.change_stamp())
    assert len(set(stamps)) == 4


def test_filters_runs_and_delete(db_url):
    store = Store(db_url)
    store.add(make_result(run_id="a", workload="mlp"))
    store.add(make_result(run_id="a", workload="cnn", device="cuda:0"))
    store.add(make_result(run_id="b", workload="cnn", status="oom", step_time_s=None))
    assert store.count() == 3
    assert len(store.results(workload="cnn")) == 2
    assert len(store.results(device="cuda:0")) == 1
    assert [r["run_id"] for r in store.runs()] == ["a", "b"]
    assert store.delete_run("a") == 2
    assert [r.run_id for r in store.results()] == ["b"]


def test_add_many_is_one_transaction_and_skips_known_ids(db_url):
    store = Store(db_url)
    first = make_result()
    store.add(first)
    assert store.add_many([first, make_result(), make_result()]) == 2
    assert store.count() == 3


def test_a_newer_schema_is_refused_and_left_unchanged(db_url):
    Store(db_url).add(make_result())
    engine = sa.create_engine(db_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE accelscope_meta SET value='99' WHERE key='schema_version'")
    with pytest.raises(StoreError, match="schema version 99, newer than this Accelscope"):
        Store(db_url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM results").scalar() == 1


def test_bad_url_says_what_to_do():
    with pytest.raises(StoreError, match="SQLAlchemy URL"):
        Store("not a url")


def test_a_version_1_store_is_migrated_in_place(db_url):
    """Stores written before the summary column existed keep working."""
    import json

    result = make_result()
    engine = sa.create_engine(db_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE results (id VARCHAR(64) PRIMARY KEY, run_id VARCHAR(64) NOT NULL, "
                             "created_at VARCHAR(40) NOT NULL, status VARCHAR(16) NOT NULL, workload VARCHAR(200) "
                             "NOT NULL, size VARCHAR(64) NOT NULL, device VARCHAR(64) NOT NULL, precision VARCHAR(16) "
                             "NOT NULL, host VARCHAR(64), payload TEXT NOT NULL)")
        conn.exec_driver_sql("CREATE TABLE accelscope_meta (key VARCHAR(64) PRIMARY KEY, value VARCHAR(200) NOT NULL)")
        conn.exec_driver_sql("INSERT INTO accelscope_meta VALUES ('schema_version', '1')")
        conn.exec_driver_sql("INSERT INTO results VALUES (?,?,?,?,?,?,?,?,?,?)", (
            result.id, result.run_id, result.created_at, result.status, result.workload, result.size, result.device,
            result.precision, "h", json.dumps(result.to_dict())))
    store = Store(db_url)
    assert store.results() == [result]
    assert store.summaries()[0]["id"] == result.id
    store.add(make_result())
    assert store.count() == 2
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT value FROM accelscope_meta").scalar() == str(SCHEMA_VERSION)


def test_step_times_are_packed_exactly_and_old_payloads_still_read(db_url):
    import json

    from core.facts.store import COMPACT_STEP_TIMES, payload_of, result_of, results_table, rows_table

    result = make_result(step_times_s=(0.1, 1 / 3, 2.5e-5, 0.01))
    payload = payload_of(result)
    assert COMPACT_STEP_TIMES in json.loads(payload) and "step_times_s" not in json.loads(payload)
    assert result_of(payload) == result  # exact: float64, not a rounded copy
    store = Store(db_url)
    store.add(result)
    old = make_result()
    with store._engine.begin() as conn:  # a row written before the packing: the times as a JSON list
        row, typed = Store.rows_of(old, payload=json.dumps(old.to_dict()))
        conn.execute(results_table.insert().values(row))
        conn.execute(rows_table.insert().values(typed))
    assert {r.id: r for r in store.results()} == {result.id: result, old.id: old}


NEW_STORE_WRITER = """
import sys, time
from core.facts.store import Store
from tests.core.factories import make_result
time.sleep(max(float(sys.argv[2]) - time.time(), 0))  # all start at once
Store(sys.argv[1]).add(make_result())
"""


def test_processes_that_open_a_new_store_at_once_all_write_to_it(db_url):
    """The nodes of a job open one new SQLite store at the same moment: each may find a table missing,
    and each may switch the new file to WAL; none fails (a table made meanwhile, a file being written)."""
    import os
    import subprocess
    import sys
    import time
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    start = str(time.time() + 1.5)
    writers = [subprocess.Popen([sys.executable, "-c", NEW_STORE_WRITER, db_url, start], cwd=repo, text=True,
                                env=dict(os.environ, PYTHONPATH=str(repo)), stderr=subprocess.PIPE)
               for _ in range(4)]
    errors = [w.communicate(timeout=120)[1] for w in writers]
    assert [w.returncode for w in writers] == [0] * 4, errors
    assert Store(db_url).count() == 4
