"""The store at scale: the typed rows (schema 4), their migration from a schema-3 store, and the bulk
import (all or nothing, validated once, already-stored results counted)."""

import json
import os
from pathlib import Path

import pytest
import sqlalchemy as sa

from core.errors import InvalidImport, InvalidResult, StoreError
from core.facts import store as store_module
from core.facts.bundle import bundle_json, parse_bundle
from core.facts.rows import FLAT_COLUMNS, flat_row
from core.facts.store import ROW_KINDS, SCHEMA_VERSION, Store, ValidatedResults, payload_of, result_of
from tests.core.factories import make_energy, make_result


def test_every_flat_row_column_is_typed():
    assert set(FLAT_COLUMNS) == set(ROW_KINDS), "a new flat_row key needs a typed column (and a migration)"


def schema_3_store(url: str, results) -> None:
    """A store as Accelscope wrote it before the typed rows: `results` with a JSON summary that has
    no `mode` key (summaries written before it existed), schema version 3."""
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE results (id VARCHAR(64) PRIMARY KEY, run_id VARCHAR(64) NOT NULL, "
                             "created_at VARCHAR(40) NOT NULL, status VARCHAR(16) NOT NULL, workload VARCHAR(200) "
                             "NOT NULL, size VARCHAR(64) NOT NULL, device VARCHAR(64) NOT NULL, precision VARCHAR(16) "
                             "NOT NULL, host VARCHAR(64), payload TEXT NOT NULL, summary TEXT NOT NULL)")
        conn.exec_driver_sql("CREATE TABLE accelscope_meta (key VARCHAR(64) PRIMARY KEY, value VARCHAR(200) NOT NULL)")
        conn.exec_driver_sql("INSERT INTO accelscope_meta VALUES ('schema_version', '3')")
        for r in results:
            old_summary = {k: v for k, v in flat_row(r).items() if k != "mode"}
            conn.exec_driver_sql("INSERT INTO results VALUES (?,?,?,?,?,?,?,?,?,?,?)", (
                r.id, r.run_id, r.created_at, r.status, r.workload, r.size, r.device, r.precision,
                (r.env or {}).get("host"), payload_of(r), json.dumps(old_summary)))
    engine.dispose()


def test_a_schema_3_store_is_migrated_in_place_keeping_every_result(db_url, monkeypatch):
    monkeypatch.setattr(store_module, "WRITE_BATCH", 3)  # several batches
    results = [make_result(run_id=f"r{i % 3}", workload="cnn" if i % 2 else "mlp", energy=make_energy(10.0 + i),
                           created_at=f"2026-11-22T10:{i:02d}:00+00:00") for i in range(8)]
    results.append(make_result(status="failed", error="boom", samples_per_s=None, step_time_s=None,
                               created_at="2026-11-22T11:00:00+00:00"))
    schema_3_store(db_url, results)
    store = Store(db_url)
    assert store.results() == results
    summaries = store.summaries()
    assert [s["mode"] for s in summaries] == ["train"] * len(results)  # recomputed: the new keys are there
    with store._engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT value FROM accelscope_meta").scalar() == str(SCHEMA_VERSION) == "6"
    chunks = list(store.row_chunks(FLAT_COLUMNS, chunk_rows=4))
    assert [len(c) for c in chunks] == [4, 4, 1]
    typed = [dict(zip(FLAT_COLUMNS, row)) for chunk in chunks for row in chunk]
    assert typed == [flat_row(r) for r in results]  # every column, in created_at order
    assert typed[-1]["error"] == "boom" and typed[0]["energy_j"] == 10.0


def as_schema_5(url: str) -> None:
    """Turn a store written now into one as schema 5 wrote it: `results` also holding the columns that
    result_rows types and a JSON summary of each result, indexed on run and time."""
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        payloads = conn.execute(sa.text("SELECT payload FROM results")).scalars().all()
        conn.execute(sa.text("DROP TABLE results"))
        conn.execute(sa.text(
            "CREATE TABLE results (id VARCHAR(64) NOT NULL PRIMARY KEY, run_id VARCHAR(64) NOT NULL, created_at "
            "VARCHAR(40) NOT NULL, status VARCHAR(16) NOT NULL, workload VARCHAR(200) NOT NULL, size VARCHAR(64) NOT "
            "NULL, device VARCHAR(64) NOT NULL, precision VARCHAR(16) NOT NULL, host VARCHAR(64), payload TEXT NOT "
            "NULL, summary TEXT NOT NULL)"))
        conn.execute(sa.text("CREATE INDEX ix_results_run_id ON results (run_id)"))
        conn.execute(sa.text("CREATE INDEX ix_results_created_at ON results (created_at)"))
        for payload in payloads:
            r = result_of(payload)
            conn.execute(sa.text("INSERT INTO results VALUES (:id, :run_id, :created_at, :status, :workload, :size, "
                                 ":device, :precision, :host, :payload, :summary)"),
                         {**{k: getattr(r, k) for k in ("id", "run_id", "created_at", "status", "workload", "size",
                                                         "device", "precision")},
                          "host": r.env.get("host"), "payload": payload, "summary": json.dumps(flat_row(r))})
        conn.execute(sa.text("UPDATE accelscope_meta SET value='5' WHERE key='schema_version'"))
    engine.dispose()


def check_schema_5_migrates(url: str) -> None:
    """A schema-5 store opened now: `results` narrowed in place (PostgreSQL drops the other columns; SQLite,
    which would copy the table to drop one, keeps them and fills them on insert), its indexes gone, every
    result and every kept summary as it was, and it takes new results."""
    results = [make_result(run_id=f"r{i % 2}", created_at=f"2026-11-22T10:{i:02d}:00+00:00") for i in range(5)]
    store = Store(url)
    store.add_many(results)
    summaries = store.host_summaries()
    store.close()
    as_schema_5(url)
    store = Store(url)
    sqlite = store._engine.dialect.name == "sqlite"
    with store._engine.connect() as conn:
        columns = [c["name"] for c in sa.inspect(conn).get_columns("results")]
        assert columns == (["id", "run_id", "created_at", "status", "workload", "size", "device", "precision",
                            "host", "payload", "summary"] if sqlite else ["id", "payload"])
        assert sa.inspect(conn).get_indexes("results") == []
        assert conn.execute(sa.text("SELECT value FROM accelscope_meta")).scalar_one() == str(SCHEMA_VERSION)
        assert conn.execute(sa.text("SELECT count(*) FROM host_summaries WHERE body IS NULL")).scalar_one() == 0
    assert store.results() == results and store.host_summaries() == summaries
    assert [r.id for r in store.results(run_id="r1")] == [results[1].id, results[3].id]
    added = make_result(run_id="new")
    assert store.delete_run("r1") == 2 and store.add(added) and store.add_many([make_result()]) == 1
    assert store.count() == 5 and store.results(run_id="new") == [added]
    if sqlite:  # the kept columns are filled as schema 5 filled them; the summary is an empty object
        with store._engine.connect() as conn:
            row = conn.execute(sa.text("SELECT run_id, status, host, summary FROM results WHERE id = :id"),
                               {"id": added.id}).one()
        assert tuple(row) == ("new", "ok", added.env["host"], "{}")


def test_a_schema_5_store_is_narrowed_in_place(db_url):
    check_schema_5_migrates(db_url)


def test_a_read_only_schema_5_store_is_read_as_it_is(tmp_path, monkeypatch):
    """A store this Accelscope may not upgrade (its file read-only, say a mounted snapshot) is read at
    schema 5: its reads need nothing schema 6 added. Writes are refused, as on any read-only store."""
    path = tmp_path / "old.db"
    url = f"sqlite:///{path}"
    results = [make_result(created_at=f"2026-11-22T10:0{i}:00+00:00") for i in range(3)]
    Store(url).add_many(results)
    as_schema_5(url)
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if (Path(p) == path and mode == os.W_OK)
                        else real_access(p, mode, **kw))  # as root, permissions cannot make a file read-only
    store = Store(url)
    assert store.read_only and store.results() == results and store.count() == 3
    assert [c["repeats"] for c in store.host_summaries()[results[0].env["host"]]["configs"]] == [3]
    with pytest.raises(StoreError, match="read-only"):
        store.add(make_result())
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT value FROM accelscope_meta")).scalar_one() == "5"
    engine.dispose()


def test_a_migration_that_fails_leaves_the_store_as_it_was(db_url, monkeypatch):
    """SQLite's driver begins a transaction only before a DML statement: the migration begins its own, so
    its DDL (DROP INDEX here) is undone with the rest."""
    store = Store(db_url)
    store.add(make_result())
    store.close()
    as_schema_5(db_url)
    original = Store._narrow_results

    def narrow_then_fail(self, conn):
        original(self, conn)
        raise sa.exc.OperationalError("ALTER TABLE", {}, Exception("disk I/O error"))

    monkeypatch.setattr(Store, "_narrow_results", narrow_then_fail)
    with pytest.raises(StoreError, match="disk I/O error"):
        Store(db_url)
    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        assert {i["name"] for i in sa.inspect(conn).get_indexes("results")} == {"ix_results_run_id",
                                                                                "ix_results_created_at"}
        assert conn.execute(sa.text("SELECT value FROM accelscope_meta")).scalar_one() == "5"
    engine.dispose()
    monkeypatch.undo()
    assert Store(db_url).count() == 1


def test_typed_rows_follow_adds_and_deletes(db_url):
    store = Store(db_url)
    store.add_many([make_result(run_id="a"), make_result(run_id="b")])
    store.delete_run("a")
    rows = [row for chunk in store.row_chunks(["run_id", "mode"]) for row in chunk]
    assert rows == [("b", "train")]


def test_a_column_that_is_not_a_result_column_is_refused(db_url):
    with pytest.raises(ValueError, match="not a result column: speed"):
        next(Store(db_url).row_chunks(["id", "speed"]))


def test_a_bundle_with_a_duplicate_id_imports_nothing(db_url):
    results = [make_result(), make_result()]
    text = json.dumps([r.to_dict() for r in [*results, results[0]]])
    with pytest.raises(InvalidImport, match="duplicate id"):
        parse_bundle(text)
    assert Store(db_url).count() == 0


def test_reimport_counts_what_was_already_stored(db_url, monkeypatch):
    monkeypatch.setattr(store_module, "WRITE_BATCH", 2)
    store = Store(db_url)
    first = [make_result() for _ in range(5)]
    assert store.add_many(parse_bundle(bundle_json(first))) == 5
    again = parse_bundle(bundle_json([*first[:3], make_result(), make_result()]))
    assert store.add_many(again) == 2  # 3 already present
    assert store.count() == 7
    assert sum(len(c) for c in store.row_chunks(["id"])) == 7


def test_an_import_that_fails_in_a_later_batch_writes_nothing(db_url, monkeypatch):
    monkeypatch.setattr(store_module, "WRITE_BATCH", 2)
    store = Store(db_url)
    results = [make_result() for _ in range(6)]
    original = Store.rows_of

    def failing(result, payload=None):
        if result is results[4]:
            raise sa.exc.OperationalError("INSERT", {}, Exception("disk I/O error"))
        return original(result, payload)

    monkeypatch.setattr(Store, "rows_of", staticmethod(failing))
    with pytest.raises(Exception, match="disk I/O error"):
        store.add_many(results)
    assert store.count() == 0 and [c for c in store.row_chunks(["id"])] == []


def test_a_parsed_bundle_is_validated_once(db_url, monkeypatch):
    parsed = parse_bundle(bundle_json([make_result(), make_result()]))
    assert isinstance(parsed, ValidatedResults)

    def again(_result):
        raise AssertionError("validated a second time")

    monkeypatch.setattr(store_module, "result_problems", again)
    assert Store(db_url).add_many(parsed) == 2
    with pytest.raises(AssertionError):  # a plain list is still validated by the store
        Store(db_url).add_many([make_result()])


def test_an_invalid_result_in_a_plain_list_writes_nothing(db_url):
    with pytest.raises(InvalidResult):
        Store(db_url).add_many([make_result(), make_result(samples_per_s=-1.0)])
    assert Store(db_url).count() == 0


def test_an_interrupt_during_a_bulk_write_is_raised_as_itself(db_url):
    """Ctrl-C in the middle of an import: SQLAlchemy invalidates the connection, so setting SQLite's page
    cache back fails; that failure must not replace the interrupt (the CLI says 'interrupted', exit 130)."""
    store = Store(db_url)
    rows = [store.rows_of(make_result()) for _ in range(3)]

    def interrupt(conn, cursor, statement, *_):
        if statement.startswith("INSERT INTO results"):
            raise KeyboardInterrupt

    sa.event.listen(store._engine, "before_cursor_execute", interrupt)
    with pytest.raises(KeyboardInterrupt):
        with store.bulk_writer() as write:
            write(rows)
    sa.event.remove(store._engine, "before_cursor_execute", interrupt)
    assert Store(db_url).count() == 0
