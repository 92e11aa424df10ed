"""The dashboard's frame from the store's typed rows (one SELECT, no JSON parsing) holds the same rows
and values as the frame from the JSON summaries, for the bundled sample results."""

import itertools
from pathlib import Path

import pandas as pd

from core.facts.bundle import read_bundle
from core.facts.rows import FLAT_COLUMNS
from core.facts.store import ROW_KINDS, Store
from dashboard.frames import as_categories, summaries_frame, typed_frame

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


def test_the_dashboard_loads_the_store_through_the_typed_rows(db_url, monkeypatch):
    from dashboard import data

    monkeypatch.setenv("ACCELSCOPE_DB", db_url)
    Store(db_url).add_many(read_bundle(SAMPLES[0]))
    monkeypatch.setattr(Store, "summaries", lambda self: (_ for _ in ()).throw(AssertionError("parsed JSON")))
    frame, problem = data._loaded(db_url, Store(db_url).change_stamp(), data.samples_stamp())
    assert problem is None
    stored = frame[frame["source"] == "store"]
    assert len(stored) == len(read_bundle(SAMPLES[0]))
    assert len(frame) == len(set(frame["id"]))  # a sample stored again is one row (the store's)
