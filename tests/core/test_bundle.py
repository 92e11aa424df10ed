import json

import pytest

from core.errors import InvalidImport
from core.facts.bundle import parse_bundle, read_bundle, to_bundle, write_bundle
from core.facts.store import Store
from tests.core.factories import make_result


def test_export_import_round_trip(tmp_path, db_url):
    results = [make_result(), make_result(status="timeout", error="no result after 10 s", step_time_s=None)]
    path = tmp_path / "bundle.json"
    write_bundle(path, results)
    assert read_bundle(path) == results


def _bundle_with(record_patch=None, drop=None):
    record = make_result().to_dict()
    record.update(record_patch or {})
    if drop:
        del record[drop]
    return json.dumps(to_bundle([make_result()]) | {"results": [make_result().to_dict(), record]})


BAD_FILES = {
    "empty": ("", "empty"),
    "not json": ("{nope", "not valid JSON"),
    "not utf-8": (b"\xff\xfe\x00bad", "not UTF-8"),
    "wrong format": (json.dumps({"format": "other", "results": []}), "not an Accelscope results bundle"),
    "newer version": (json.dumps({"format": "accelscope-results", "version": 9, "results": []}), "version 9"),
    "results not a list": (json.dumps({"format": "accelscope-results", "version": 1, "results": {}}), "list"),
    "missing field": (_bundle_with(drop="workload"), "record 2 .*missing field 'workload'"),
    "wrong type": (_bundle_with({"steps": "many"}), "record 2 .*field 'steps' must be a non-negative integer"),
    "bad status": (_bundle_with({"status": "great"}), "record 2 .*field 'status'"),
    "bad timestamp": (_bundle_with({"created_at": "yesterday"}), "record 2 .*created_at"),
    "nan": (_bundle_with({"samples_per_s": float("nan")}), "record 2 .*samples_per_s"),
    "unknown field": (_bundle_with({"colour": "red"}), "record 2 .*unknown field"),
    "duplicate id": (json.dumps([make_result(id="x").to_dict(), make_result(id="x").to_dict()]), "duplicate id"),
}


@pytest.mark.parametrize("name", BAD_FILES)
def test_bad_files_are_rejected_naming_the_problem(name, db_url, tmp_path):
    raw, message = BAD_FILES[name]
    store = Store(db_url)
    store.add(make_result())
    path = tmp_path / "bad.json"
    path.write_bytes(raw if isinstance(raw, bytes) else raw.encode())
    with pytest.raises(InvalidImport, match=message):
        store.add_many(read_bundle(path))
    assert store.count() == 1


def test_a_bare_list_of_results_is_accepted():
    results = [make_result()]
    assert parse_bundle(json.dumps([r.to_dict() for r in results])) == results
