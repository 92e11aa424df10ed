import base64
import dataclasses
import json
import re
import struct

import pytest

from core.errors import InvalidImport
from core.facts.bundle import BUNDLE_VERSION, bundle_json, parse_bundle, read_bundle, to_bundle, write_bundle
from core.facts.results import PACKED_STEP_TIMES, ProbeResult
from core.facts.store import Store, payload_of, result_of
from tests.core.factories import make_energy, make_result


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


def check_refused_and_nothing_written(db_url: str, folder, raw: str | bytes, message: str) -> None:
    """Reading the file ``raw`` raises InvalidImport matching ``message``; the store keeps only what it held."""
    store = Store(db_url)
    store.add(make_result())
    path = folder / "bad.json"
    path.write_bytes(raw if isinstance(raw, bytes) else raw.encode())
    with pytest.raises(InvalidImport, match=message):
        store.add_many(read_bundle(path))
    assert store.count() == 1


@pytest.mark.parametrize("name", BAD_FILES)
def test_bad_files_are_rejected_naming_the_problem(name, db_url, tmp_path):
    check_refused_and_nothing_written(db_url, tmp_path, *BAD_FILES[name])


def test_a_bare_list_of_results_is_accepted():
    results = [make_result()]
    assert parse_bundle(json.dumps([r.to_dict() for r in results])) == results


# --- version 2: step times packed (base64 of little-endian float64), as the store's payload keeps them ---

def test_export_writes_version_2_with_packed_step_times_and_reads_them_back_exactly(tmp_path):
    result = make_result(step_times_s=(0.1, 1 / 3, 2.5e-5, 0.01))
    path = tmp_path / "bundle.json"
    write_bundle(path, [result])
    data = json.loads(path.read_text())
    assert data["version"] == BUNDLE_VERSION == 2
    [record] = data["results"]
    assert "step_times_s" not in record and base64.b64decode(record[PACKED_STEP_TIMES]) == struct.pack(
        "<4d", 0.1, 1 / 3, 2.5e-5, 0.01)
    assert read_bundle(path) == [result]  # exact: float64, not a rounded copy


def test_a_version_1_bundle_with_step_times_as_lists_still_imports(db_url):
    results = [make_result(step_times_s=(0.01, 0.02, 0.03)),
               make_result(step_times_s=(1, 2), samples_per_s=500.0)]  # whole numbers too
    old = json.dumps({"format": "accelscope-results", "version": 1, "results": [r.to_dict() for r in results]})
    assert parse_bundle(old) == results
    assert Store(db_url).add_many(parse_bundle(old)) == 2


def test_the_store_payload_is_the_version_2_record():
    from core.facts.store import COMPACT_STEP_TIMES

    assert COMPACT_STEP_TIMES == PACKED_STEP_TIMES
    result = make_result(energy=make_energy())
    from_bundle = parse_bundle(bundle_json([result]))[0]
    assert json.loads(payload_of(from_bundle)) == json.loads(bundle_json([result]))["results"][0]
    assert result_of(payload_of(from_bundle)) == result == from_bundle


def _packed_bundle(packed, **more) -> str:
    record = make_result(id="bad-times").to_dict(packed_step_times=True) | more
    record[PACKED_STEP_TIMES] = packed
    return json.dumps(to_bundle([make_result()]) | {"results": [make_result().to_dict(packed_step_times=True), record]})


def _packed(*values: float) -> str:
    return base64.b64encode(struct.pack(f"<{len(values)}d", *values)).decode()


BAD_PACKED = {
    "not base64": (_packed(0.01, 0.02)[:-4] + "%%%=", r"not valid base64"),
    "a character flipped to one base64 has not": ("!" + _packed(0.01, 0.02)[1:], r"not valid base64"),
    "truncated": (_packed(0.01, 0.02, 0.03)[:-4], (r"field 'step_times_f64_b64' holds 21 bytes, not a whole number "
                                                   r"of 8-byte float64 step times: the file was truncated or damaged")),
    "bad padding": (_packed(0.01, 0.02)[:-1], r"not valid base64"),
    "not text": (12345, r"must be base64 text"),
    "not ASCII": ("é" + _packed(0.01, 0.02)[1:], r"not valid base64"),
    "NaN": (_packed(0.01, float("nan")), (r"'step_times_s' holds 1 value\(s\) that are not positive finite numbers "
                                          r"\(first: nan\)")),
    "infinite": (_packed(float("inf"), 0.01), r"'step_times_s' holds 1 value\(s\) .*\(first: inf\)"),
    "negative": (_packed(0.01, -0.01, -1.0), r"'step_times_s' holds 2 value\(s\) .*\(first: -0.01\)"),
    "zero": (_packed(0.0, 0.01), r"'step_times_s' holds 1 value\(s\) .*\(first: 0.0\)"),
}


@pytest.mark.parametrize("name", BAD_PACKED)
def test_bad_packed_step_times_are_refused_naming_the_result_and_field_and_nothing_is_written(name, db_url, tmp_path):
    packed, message = BAD_PACKED[name]
    check_refused_and_nothing_written(db_url, tmp_path, _packed_bundle(packed),
                                      r"1 of 2 record\(s\) are invalid\. Nothing was imported\.\n"
                                      r"- record 2 \(id bad-times\): .*" + message)


def test_step_times_given_twice_are_refused():
    with pytest.raises(InvalidImport, match=r"record 2 \(id bad-times\): fields 'step_times_s' and "
                                            r"'step_times_f64_b64' both hold step times"):
        parse_bundle(_packed_bundle(_packed(0.01), step_times_s=[0.01]))


def test_packed_and_listed_step_times_are_refused_with_the_same_words():
    listed = json.dumps([make_result(id="a").to_dict() | {"step_times_s": [0.01, -2.0]}])
    with pytest.raises(InvalidImport) as from_list:
        parse_bundle(listed)
    with pytest.raises(InvalidImport) as from_packed:
        parse_bundle(_packed_bundle(_packed(0.01, -2.0)))
    words = "'step_times_s' holds 1 value(s) that are not positive finite numbers (first: -2.0)"
    assert words in str(from_list.value) and words in str(from_packed.value)


@pytest.mark.parametrize("times,message", [
    ([0.01, True], "field 'step_times_s' must be a list of numbers"),
    ([0.01, "0.02"], "field 'step_times_s' must be a list of numbers"),
    ([0.01, None], "field 'step_times_s' must be a list of numbers"),
    ("0.01", "field 'step_times_s' must be a list of numbers"),
    ([0.01, 10 ** 400], "field 'step_times_s' holds a number too large for a float64"),
])
def test_listed_step_times_of_another_type_are_refused(times, message):
    with pytest.raises(InvalidImport, match=re.escape(message)):
        parse_bundle(json.dumps([make_result().to_dict() | {"step_times_s": times}]))


def test_finite_step_times_whose_sum_overflows_are_not_called_infinite():
    from core.facts.validation import result_problems

    huge = make_result(step_times_s=(1e308, 1e308), step_time_s=1e308, step_time_p10_s=1e308, samples_per_s=1e-300)
    assert not [p for p in result_problems(huge) if "step_times_s" in p]


def test_export_refuses_a_step_time_that_is_not_finite_though_packing_could_hold_it():
    with pytest.raises(InvalidImport, match="cannot export: result\\(s\\) nan-times hold a NaN"):
        bundle_json([make_result(), make_result(id="nan-times", step_times_s=(0.01, float("nan")))])


def test_a_result_read_from_a_record_equals_one_constructed_with_its_defaults():
    minimal = {"id": "m", "run_id": "r", "created_at": "2026-11-22T10:00:00+00:00", "status": "failed",
               "workload": "mlp", "size": "S", "device": "cpu", "precision": "fp32"}
    first, second = ProbeResult.from_dict(minimal), ProbeResult.from_dict(minimal)
    assert first == ProbeResult(**minimal) and repr(first) == repr(ProbeResult(**minimal))
    assert first.env == {} and first.env is not second.env  # each its own default
    full = make_result(energy=make_energy())
    assert ProbeResult.from_dict(full.to_dict()) == full
    assert dataclasses.replace(ProbeResult.from_dict(full.to_dict()), step_times_s=(0.5,)).packed_step_times == \
        _packed(0.5)


@pytest.mark.parametrize("patch,names", [
    ({"samples_per_s": 10 ** 400}, "field 'samples_per_s' must be a finite number"),
    ({"params": 10 ** 400}, "'params' is a 1329-bit integer; at most 9,223,372,036,854,775,807 fits the store"),
    ({"batch_size": 2 ** 63}, "'batch_size' is a 64-bit integer; at most 9,223,372,036,854,775,807 fits the store"),
    ({"world_size": 10 ** 30}, "'world_size' is a 100-bit integer"),
    ({"loss_curve": [[1, 10 ** 400, 1.0]]}, "field 'loss_curve' must be a list"),
    ({"energy": make_energy().to_dict() | {"window_s": 10 ** 400}}, "field 'energy' holds a number too large"),
])
def test_integers_beyond_the_store_or_float64_are_refused_naming_the_field_not_a_traceback(patch, names, db_url):
    with pytest.raises(InvalidImport, match=names):
        parse_bundle(json.dumps([make_result().to_dict() | patch]))


def test_an_integer_of_more_digits_than_python_reads_is_refused_not_a_traceback():
    with pytest.raises(InvalidImport, match="not a results bundle .*4300 digits"):
        parse_bundle('[{"params": ' + "9" * 5000 + "}]")


def test_the_cycle_collector_pause_resumes_it_as_it_was_even_after_a_refusal():
    import gc

    from core.facts.bundle import cycle_collector_paused

    assert gc.isenabled()
    with pytest.raises(InvalidImport), cycle_collector_paused():
        assert not gc.isenabled()
        parse_bundle(_packed_bundle("%%%"))
    assert gc.isenabled()
    gc.disable()
    try:
        with cycle_collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
