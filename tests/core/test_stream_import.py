"""`python -m core import` streams the bundle: a batch at a time inside one transaction, never the whole
file in memory, with the same checks and the same all-or-nothing as parse_bundle."""

import json

import pytest

from core.errors import InvalidImport
from core.facts import bundle
from core.facts.bundle import bundle_json, import_file, parse_bundle
from core.facts.store import Store
from tests.core.factories import make_result


@pytest.fixture(autouse=True)
def tiny_chunks(monkeypatch):
    monkeypatch.setattr(bundle, "READ_CHUNK_CHARS", 7)  # every record, key and number cut across reads


def results(count: int = 5):
    return [make_result(created_at=f"2026-11-22T10:0{i}:00+00:00", samples_per_s=100.0 + i) for i in range(count)]


def test_a_streamed_bundle_imports_the_same_results_as_a_parsed_one(tmp_path, db_url):
    path = tmp_path / "b.json"
    path.write_text(bundle_json(results(), indent=1))
    assert import_file(path, Store(db_url), batch=2) == (5, 5)
    assert Store(db_url).results() == sorted(parse_bundle(path.read_text()), key=lambda r: r.created_at)
    assert import_file(path, Store(db_url), batch=2) == (0, 5)  # already there: nothing new


def test_a_bare_list_of_records_streams_too(tmp_path, db_url):
    path = tmp_path / "list.json"
    path.write_text(json.dumps([r.to_dict() for r in results(3)]))
    assert import_file(path, Store(db_url)) == (3, 3)


def test_a_bad_record_after_written_batches_writes_nothing_and_every_problem_is_listed(tmp_path, db_url):
    records = [r.to_dict() for r in results(6)]
    records[3]["samples_per_s"] = -1.0
    records[5]["precision"] = 42
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"format": bundle.BUNDLE_FORMAT, "version": 1, "results": records}))
    with pytest.raises(InvalidImport) as caught:
        import_file(path, Store(db_url), batch=2)  # two batches were written before record 4
    assert "2 of 6 record(s) are invalid" in str(caught.value) and "record 4" in str(caught.value)
    assert "record 6" in str(caught.value) and "Nothing was imported" in str(caught.value)
    assert Store(db_url).count() == 0


@pytest.mark.parametrize("text, said", [
    ('{"format": "other", "version": 1, "results": []}', "not an Accelscope results bundle"),
    ('{"format": "accelscope-results", "version": 9, "results": []}', "version 9 is not supported"),
    ('{"format": "accelscope-results", "version": 1, "results": [{"id": ', "not valid JSON"),
    ('{"format": "accelscope-results", "version": 1}', "expected a list of results"),
    ("", "the file is empty"),
    ('[] trailing', "extra data after the bundle"),
    ('{1: 2, "results": []}', "expected a key in double quotes"),
    ('{"format": "accelscope-results", "version": 1, "results": [], "results": []}', "given twice"),
])
def test_what_is_not_a_bundle_is_refused_and_writes_nothing(tmp_path, db_url, text, said):
    path = tmp_path / "x.json"
    path.write_text(text)
    with pytest.raises(InvalidImport, match=said):
        import_file(path, Store(db_url))
    assert Store(db_url).count() == 0


def test_every_cut_of_the_text_across_reads_parses_the_same(tmp_path, monkeypatch):
    text = json.dumps({"format": bundle.BUNDLE_FORMAT, "x": [1.5e+3, -2, 3.25, "a\\\"b", {"k": [True, None]}],
                       "version": 2, "results": [{"a": 1.5}, {"b": "c"}]})
    path = tmp_path / "cut.json"
    path.write_text(text)
    for size in range(1, len(text) + 1):
        monkeypatch.setattr(bundle, "READ_CHUNK_CHARS", size)
        header = {}
        assert list(bundle.iter_records(path, header)) == [{"a": 1.5}, {"b": "c"}], size
        assert header["x"] == [1500.0, -2, 3.25, 'a\\"b', {"k": [True, None]}] and header["version"] == 2, size


def test_a_bundle_written_with_sorted_keys_imports(tmp_path, db_url):
    path = tmp_path / "sorted.json"
    path.write_text(json.dumps(json.loads(bundle_json(results(3))), sort_keys=True))  # format, results, version
    assert import_file(path, Store(db_url)) == (3, 3)


def test_a_malformed_record_is_reported_where_it_is_without_reading_the_rest(tmp_path, db_url, monkeypatch):
    monkeypatch.setattr(bundle, "READ_CHUNK_CHARS", 4096)
    path = tmp_path / "bad-early.json"
    path.write_text('{"format": "accelscope-results", "version": 2, "results": [{"id": "x",, }, '
                    + ", ".join(json.dumps(r.to_dict()) for r in results(200)) + "]}")
    reads = []
    original = bundle._JsonStream._fill
    monkeypatch.setattr(bundle._JsonStream, "_fill", lambda self: reads.append(1) or original(self))
    with pytest.raises(InvalidImport, match="character 71: Expecting property name"):
        import_file(path, Store(db_url))
    assert len(reads) <= 2  # the first chunk (and no more): the error is not the buffer's end


def test_a_header_after_the_results_is_still_checked(tmp_path, db_url):
    path = tmp_path / "late.json"
    path.write_text(json.dumps({"results": [r.to_dict() for r in results(2)], "format": "other", "version": 1}))
    with pytest.raises(InvalidImport, match="not an Accelscope results bundle"):
        import_file(path, Store(db_url))
    assert Store(db_url).count() == 0
