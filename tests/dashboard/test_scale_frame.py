"""The dashboard's frame from the store's typed rows (one SELECT, no JSON parsing) holds the same rows
and values as the frame from the JSON summaries, for the bundled sample results."""

import itertools
from pathlib import Path

import pandas as pd

from core.facts.bundle import read_bundle
from core.facts.rows import FLAT_COLUMNS
from core.facts.store import ROW_KINDS, Store
from dashboard.frames import as_categories, summaries_frame, typed_frame
from tests.core.factories import make_result

SAMPLES = sorted((Path(__file__).resolve().parents[2] / "data" / "samples").glob("*.json"))


def plain(frame: pd.DataFrame) -> list[list]:
    """Every cell as a Python value, a missing one (None or NaN) as None: the values, not the dtypes."""
    out = []
    for column in frame.columns:
        values = frame[column].astype(object).tolist()
        out.append([None if v is None or (isinstance(v, float) and v != v) else v for v in values])
    return out


def test_the_typed_frame_equals_the_summaries_frame_for_the_samples(db_url):
    store = Store(db_url)
    for path in SAMPLES:
        store.add_many(read_bundle(path))
    expected = as_categories(summaries_frame(store.summaries(), source="store"))
    got = typed_frame(((rows, "store") for rows in store.row_chunks(FLAT_COLUMNS, chunk_rows=7)), ROW_KINDS)
    assert list(got.columns) == list(expected.columns) and len(got) == len(expected) > 30
    assert plain(got) == plain(expected)
    for column in expected.columns:  # the same dtypes, but for integers with a gap: ints and None, not NaN
        if not (ROW_KINDS.get(column) == "int" and expected[column].isna().any()):
            assert got[column].dtype == expected[column].dtype, column
    assert got["concurrent_probes"].isna().any() and not any(
        isinstance(v, float) for v in got["concurrent_probes"])  # a missing count is None: falsy


def test_the_typed_frame_of_several_sources_keeps_their_order_and_names():
    rows = [tuple(range(len(FLAT_COLUMNS)))]  # any values: only the source column is looked at
    frame = typed_frame(itertools.chain([(rows, "sample: a.json")], [(rows * 2, "store")]), {})
    assert frame["source"].tolist() == ["sample: a.json", "store", "store"]
    assert isinstance(frame["source"].dtype, pd.CategoricalDtype)


def test_the_dashboard_reads_the_stores_summaries_not_its_rows(db_url, monkeypatch):
    from dashboard import data

    monkeypatch.setenv("ACCELSCOPE_DB", db_url)
    stored = [r for path in SAMPLES for r in read_bundle(path)]
    Store(db_url).add_many(stored)
    Store(db_url).host_summaries()  # the first reader summarises the written host and keeps it
    monkeypatch.setattr(Store, "summaries", lambda self: (_ for _ in ()).throw(AssertionError("parsed JSON")))
    original = Store.row_chunks

    def run_ids_only(self, columns, *args, **kwargs):  # the newest runs' ids are read, no other column
        assert list(columns) == ["run_id"], "read rows"
        return original(self, columns, *args, **kwargs)

    monkeypatch.setattr(Store, "row_chunks", run_ids_only)
    found = data._loaded(db_url, Store(db_url).change_stamp(), data.samples_stamp())
    assert found.problem is None and found.stored == len(stored) and not found.samples  # each sample is stored
    assert int(found.configs["results"].sum()) == len(stored)


def test_a_machine_in_both_the_samples_and_the_store_is_summarised_once_from_all_its_results(db_url, monkeypatch):
    from core.facts.rows import flat_row
    from core.facts.summary import summarise
    from dashboard import data

    monkeypatch.setenv("ACCELSCOPE_DB", db_url)
    Store(db_url).add_many(read_bundle(SAMPLES[0]))  # the samples' machine, partly stored
    found = data._loaded(db_url, Store(db_url).change_stamp(), data.samples_stamp())
    every = {r.id: r for path in SAMPLES for r in read_bundle(path)}
    expected = summarise(flat_row(r) for r in every.values())
    assert int(found.configs["results"].sum()) == len(every)  # a sample stored again counts once
    assert len(found.samples) == len(every) - len(read_bundle(SAMPLES[0]))
    def comparable(configs: pd.DataFrame) -> pd.DataFrame:
        configs = configs.astype(object).where(configs.notna(), None)
        return configs.sort_values(sorted(configs.columns), key=lambda v: v.astype(str)).reset_index(drop=True)

    expected_frame = pd.DataFrame(expected["configs"])
    pd.testing.assert_frame_equal(comparable(found.configs[expected_frame.columns]), comparable(expected_frame))


def test_the_run_filter_offers_the_newest_runs_and_keeps_an_older_chosen_one(db_url, monkeypatch):
    from dashboard import data

    monkeypatch.setenv("ACCELSCOPE_DB", db_url)
    monkeypatch.setattr(data, "RUN_CHOICES", 2)
    Store(db_url).add_many([make_result(run_id=f"run-{i}", created_at=f"2026-11-22T10:{i:02d}:00+00:00")
                            for i in range(5)])
    found = data.current()
    assert found.run_ids[:2] == ("run-4", "run-3") and found.more_runs
    assert data.run_choices(found.run_ids, ["run-0", "no-such-run"])[-1] == "run-0"
    assert "no-such-run" not in data.run_choices(found.run_ids, ["no-such-run"])
