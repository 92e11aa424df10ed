"""Results summarised per configuration (core.facts.summary) and kept per host in the store (schema 5):
what a dashboard over a million results reads instead of every row."""

import math
import os
from pathlib import Path

import pytest
import sqlalchemy as sa

from core.facts.rows import NO_IDENTITY, flat_row
from core.facts.store import SCHEMA_VERSION, Store, rows_table, summaries_table
from core.facts.summary import CONVERGE, INFER, INPUT_COLUMNS, SCALE, TRAIN, summarise
from core.views import notes
from tests.core.factories import make_energy, make_result


def train(**overrides) -> dict:
    return flat_row(make_result(**overrides))


def only(configs: list[dict], **keys) -> dict:
    (found,) = [c for c in configs if all(c.get(k) == v for k, v in keys.items())]
    return found


def test_a_configuration_is_the_median_of_its_successful_repeats():
    rows = [train(samples_per_s=v, created_at=f"2026-11-22T10:0{i}:00+00:00", energy=make_energy(kind=kind))
            for i, (v, kind) in enumerate([(100.0, "measured"), (300.0, "estimated"), (200.0, "measured"),
                                           (400.0, "measured")])]
    rows.append(train(status="failed", error="boom", samples_per_s=None, step_time_s=None))
    rows.append(train(tokens_per_s=None) | {"tokens_per_s": math.nan})  # a DataFrame's missing value
    (config,) = summarise(rows)["configs"]
    assert (config["results"], config["failed"], config["repeats"]) == (6, 1, 5)
    assert config["samples_per_s"] == 300.0  # 100 200 300 400 51200: the middle one
    assert config["energy_kind"] == "estimated"  # one estimated repeat makes the median's energy estimated
    assert config["device_identity"] == NO_IDENTITY
    assert config["latest_id"] == max((r for r in rows if r["status"] == "ok"),
                                      key=lambda r: (r["created_at"], r["id"]))["id"]


def test_an_even_number_of_repeats_takes_the_mean_of_the_middle_two_and_skips_missing_values():
    rows = [train(samples_per_s=v, achieved_tflops=t) for v, t in [(1.0, None), (2.0, 0.5), (3.0, None), (10.0, 1.5)]]
    (config,) = summarise(rows)["configs"]
    assert config["samples_per_s"] == 2.5 and config["achieved_tflops"] == 1.0


def test_scopes_are_kept_apart_and_only_training_has_medians():
    rows = [train(), train(mode="infer"), train(mode="converge"), train(world_size=2)]
    configs = summarise(rows)["configs"]
    assert sorted(c["scope"] for c in configs) == sorted([TRAIN, INFER, CONVERGE, SCALE])
    assert "samples_per_s" in only(configs, scope=TRAIN) and "samples_per_s" not in only(configs, scope=INFER)


def test_noisy_repeats_are_counted_against_their_machines_floor():
    rows = [train(step_time_cv=cv, created_at=f"2026-11-22T10:0{i}:00+00:00")
            for i, cv in enumerate([0.02, 0.02, 0.03, 0.2])]
    summary = summarise(rows)
    (floor,) = summary["floors"]
    assert floor["noise_floor_cv"] == pytest.approx(0.025)
    (config,) = summary["configs"]
    assert config["noisy_runs"] == 1 and "20.0%" in config["noisy_reason"]
    # a selection's floor is its machine's, given: none of these is noisy against a 15% floor
    (config,) = summarise(rows, {("abcdef123456", "cpu"): (0.15, "given")})["configs"]
    assert config["noisy_runs"] == 0


def test_the_store_keeps_each_hosts_summary_until_the_host_is_written_again(db_url, monkeypatch):
    store = Store(db_url)
    store.add_many([make_result(samples_per_s=v) for v in (10.0, 30.0)] + [make_result(env={"host": "other"})])
    first = store.host_summaries()
    assert set(first) == {"abcdef123456", "other"}
    assert first["abcdef123456"]["configs"][0]["samples_per_s"] == 20.0  # the median of 10 and 30
    read = []
    original = Store.row_chunks
    monkeypatch.setattr(Store, "row_chunks", lambda self, *a, **k: read.append(k.get("where")) or original(self, *a, **k))
    assert Store(db_url).host_summaries() == first and read == []  # kept: no row read
    store.add(make_result(samples_per_s=20.0, env={"host": "other"}))
    again = Store(db_url).host_summaries()
    assert read == [{"host": ["other"]}]  # only the written host is summarised again
    assert again["abcdef123456"] == first["abcdef123456"]
    assert again["other"]["configs"][0]["repeats"] == 2


def test_a_write_while_a_host_is_summarised_is_not_lost(db_url, monkeypatch):
    Store(db_url).add(make_result(samples_per_s=10.0))  # the host's first result: its summary is stored with it
    Store(db_url).add(make_result(samples_per_s=20.0))  # a second: the host is stale
    original = Store.row_chunks

    def write_meanwhile(self, *args, **kwargs):
        yield from original(self, *args, **kwargs)
        Store(db_url).add(make_result(samples_per_s=99.0))  # after the rows were read, before the summary is kept

    monkeypatch.setattr(Store, "row_chunks", write_meanwhile)
    assert Store(db_url).host_summaries()["abcdef123456"]["configs"][0]["repeats"] == 2
    monkeypatch.setattr(Store, "row_chunks", original)
    with sa.create_engine(db_url).connect() as conn:
        assert conn.execute(sa.select(summaries_table.c.body)).scalar_one() is None  # still stale
    assert Store(db_url).host_summaries()["abcdef123456"]["configs"][0]["repeats"] == 3


def test_deleting_a_run_updates_the_summaries(db_url):
    store = Store(db_url)
    store.add_many([make_result(run_id="keep"), make_result(run_id="drop", workload="cnn")])
    assert len(store.host_summaries()["abcdef123456"]["configs"]) == 2
    store.delete_run("drop")
    assert [c["workload"] for c in store.host_summaries()["abcdef123456"]["configs"]] == ["mlp"]
    store.delete_run("keep")
    assert store.host_summaries() == {}


def test_a_schema_4_store_gains_indexes_and_summaries(db_url):
    store = Store(db_url)
    store.add_many([make_result(), make_result(env={"host": None})])
    expected = store.host_summaries()
    store.close()
    engine = sa.create_engine(db_url)
    with engine.begin() as conn:  # as Accelscope wrote it before schema 5
        conn.execute(sa.text("DROP TABLE host_summaries"))
        for index in rows_table.indexes:
            conn.execute(sa.text(f"DROP INDEX {index.name}"))
        conn.execute(sa.text("UPDATE accelscope_meta SET value='4' WHERE key='schema_version'"))
    Store(db_url).close()
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT value FROM accelscope_meta")).scalar_one() == str(SCHEMA_VERSION)
        assert {i["name"] for i in sa.inspect(conn).get_indexes("result_rows")} >= {i.name for i in rows_table.indexes}
    engine.dispose()
    assert Store(db_url).host_summaries() == expected
    assert set(expected) == {"abcdef123456", None}


def test_a_read_only_store_summarises_in_memory_and_writes_nothing(tmp_path, monkeypatch):
    path = tmp_path / "r.db"
    Store(f"sqlite:///{path}").add_many([make_result()])
    Store(f"sqlite:///{path}").add(make_result())  # the host's second write leaves it stale
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if (Path(p) == path and mode == os.W_OK)
                        else real_access(p, mode, **kw))  # as root, permissions cannot make a file read-only
    path.chmod(0o444)
    store = Store(f"sqlite:///{path}")
    assert store.read_only and store.host_summaries()["abcdef123456"]["configs"][0]["repeats"] == 2
    with sa.create_engine(f"sqlite:///{path}").connect() as conn:
        assert conn.execute(sa.select(summaries_table.c.body)).scalar_one() is None


def test_rows_are_selected_by_column_scope_status_and_newest(db_url):
    store = Store(db_url)
    store.add_many([make_result(created_at=f"2026-11-22T10:0{i}:00+00:00", run_id=f"r{i % 2}") for i in range(6)]
                   + [make_result(mode="infer", created_at="2026-11-22T11:00:00+00:00"),
                      make_result(status="failed", error="boom", samples_per_s=None, step_time_s=None,
                                  created_at="2026-11-22T12:00:00+00:00")])

    def ids(**kwargs):
        return [row[1] for chunk in store.row_chunks(["created_at", "id", "run_id"], **kwargs) for row in chunk]

    assert len(ids(where={"run_id": ["r1"]})) == 3
    assert len(ids(scope=TRAIN)) == 7 and len(ids(scope=INFER)) == 1 and len(ids(scope=SCALE)) == 0
    assert len(ids(ok=False)) == 1
    newest = [row for chunk in store.row_chunks(["created_at"], newest=2) for row in chunk]
    assert [r[0][11:13] for r in newest] == ["12", "11"]
    assert store.count(scope=TRAIN, ok=True) == 6 and store.count(where={"run_id": ["r0", "r1"]}) == 6
    with pytest.raises(ValueError, match="not a typed column"):
        list(store.row_chunks(["id"], where={"payload": ["x"]}))


def test_floor_of_is_the_one_definition_of_a_machines_floor():
    rows = [train(step_time_cv=0.04), train(step_time_cv=0.06)]  # two results: too few to estimate
    (floor,) = summarise(rows)["floors"]
    assert (floor["noise_floor_cv"], floor["noise_basis"]) == notes.floor_of(0.05, 2)


def test_a_large_sqlite_store_is_not_read_whole_on_every_open(db_url, monkeypatch):
    from core.facts import store as store_module

    Store(db_url).add(make_result())
    checked = []
    monkeypatch.setattr(Store, "_quick_check", lambda self: checked.append(self.url))
    Store(db_url)
    assert checked == [db_url]  # a small store: checked at open
    monkeypatch.setattr(store_module, "QUICK_CHECK_MAX_BYTES", 0)
    assert Store(db_url).count() == 1 and checked == [db_url]  # over the limit: opened without the whole-file read


def test_the_newest_runs_are_found_without_reading_every_run(db_url):
    store = Store(db_url)
    store.add_many([make_result(run_id=f"run-{i}", created_at=f"2026-11-22T10:{i:02d}:00+00:00") for i in range(12)])
    assert store.run_ids(newest=3) == ["run-11", "run-10", "run-9"]
    assert len(store.run_ids()) == 12


def test_writing_results_already_stored_leaves_the_summaries_and_the_stamp(db_url):
    store = Store(db_url)
    results = [make_result(), make_result(env={"host": None})]
    store.add_many(results)
    store.host_summaries()
    stamp = store.change_stamp()
    assert store.add_many(results) == 0
    assert store.change_stamp() == stamp
    with sa.create_engine(db_url).connect() as conn:
        assert None not in conn.execute(sa.select(summaries_table.c.body)).scalars().all()


def test_an_empty_host_name_is_refused_not_summarised_apart():
    from core.facts.validation import result_problems

    assert any("env.host" in p for p in result_problems(make_result(env={"host": "  "})))


def _bodies(db_url) -> dict:
    with sa.create_engine(db_url).connect() as conn:
        return dict(conn.execute(sa.select(summaries_table.c.host_key, summaries_table.c.body)).all())


def _from_rows(store: Store, host) -> dict:
    """A host's summary as a reader makes it: from its rows read back from the store."""
    return summarise(dict(zip(INPUT_COLUMNS, row)) for chunk in store.row_chunks(INPUT_COLUMNS, where={"host": [host]})
                     for row in chunk)


def test_a_write_that_is_a_hosts_first_stores_its_summary_with_its_results(db_url, monkeypatch):
    """The summary made as the rows are written is the one a reader would make from the store: the same
    JSON, for every scope, status and kind of value (an int in a REAL column reads back as a float)."""
    monkeypatch.setattr("core.facts.store.WRITE_BATCH", 3)  # a host's rows arrive in several batches
    results = [make_result(samples_per_s=float(v), step_time_cv=0.01 * v, created_at=f"2026-11-22T10:0{v}:00+00:00",
                           seconds_requested=10, warmup_settled=v != 2, energy=make_energy(kind=kind))
               for v, kind in zip(range(1, 8), ["measured", "estimated"] * 4)]
    results += [make_result(status="failed", error="boom", samples_per_s=None, step_time_s=None),
                make_result(mode="infer"), make_result(mode="converge"), make_result(world_size=2, launch_id="l-1"),
                make_result(env={"host": "other"}, device_identity="GPU-1"), make_result(env={"host": None}),
                # a hand-made bundle's environment: free-form JSON, stored as text (and a count only if it is one)
                make_result(env={"host": "odd", "torch": 2.13, "gpu": {"count": 2}, "cpu": True, "logical_cpus": "4"}),
                make_result(step_time_cv=-0.0, host_other_cpus=-0.0, env={"host": "odd", "logical_cpus": 2**70})]
    store = Store(db_url)
    assert store.add_many(results) == len(results)
    bodies = _bodies(db_url)
    assert None not in bodies.values() and len(bodies) == 4
    import json

    read = []
    original = Store.row_chunks
    monkeypatch.setattr(Store, "row_chunks", lambda self, *a, **k: read.append(k) or original(self, *a, **k))
    kept = Store(db_url).host_summaries()
    assert read == []  # nothing summarised again on the first read
    monkeypatch.setattr(Store, "row_chunks", original)
    for host in ("abcdef123456", "other", None, "odd"):
        assert json.dumps(kept[host]) == json.dumps(_from_rows(store, host))
    (odd,) = kept["odd"]["configs"]
    assert odd["repeats"] == 2 and odd["logical_cpus"] is None  # not a count, and beyond 64 bits
    assert {c["scope"] for c in kept["abcdef123456"]["configs"]} == {TRAIN, INFER, CONVERGE, SCALE}


def test_a_result_made_in_memory_with_a_value_of_another_type_leaves_its_host_stale(db_url):
    """The summary made while writing is kept only where it is known to be what the store gives back."""
    store = Store(db_url)
    store.add_many([make_result(params=1000.0, env={"host": "float-params"}), make_result(launch_id=5)])
    bodies = _bodies(db_url)
    assert bodies["float-params"] is None and bodies["abcdef123456"] is None  # summarised from their rows
    import json

    for host in ("float-params", "abcdef123456"):
        assert json.dumps(store.host_summaries()[host]) == json.dumps(_from_rows(store, host))


def test_a_host_name_that_could_be_the_key_of_no_host_is_refused():
    from core.facts.validation import result_problems

    assert any("env.host" in p for p in result_problems(make_result(env={"host": "<no host>"})))


def test_a_write_to_a_host_with_results_or_with_ids_already_stored_leaves_it_stale(db_url):
    store = Store(db_url)
    first = make_result(samples_per_s=10.0)
    store.add_many([first])
    assert _bodies(db_url)["abcdef123456"] is not None
    store.add_many([make_result(samples_per_s=30.0)])  # the host had results: summarised from all of them
    assert _bodies(db_url)["abcdef123456"] is None
    assert store.host_summaries()["abcdef123456"]["configs"][0]["samples_per_s"] == 20.0
    # a new host in a batch that also holds an id already stored: which rows were skipped is not known
    store.add_many([first, make_result(samples_per_s=50.0, env={"host": "new"})])
    assert _bodies(db_url)["new"] is None
    assert store.host_summaries()["new"]["configs"][0]["repeats"] == 1
    assert store.host_summaries()["abcdef123456"]["configs"][0]["repeats"] == 2
