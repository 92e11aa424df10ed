"""`python -m core import` streams the bundle: a batch at a time inside one transaction, never the whole
file in memory, with the same checks and the same all-or-nothing as parse_bundle."""

import contextlib
import dataclasses
import json
import multiprocessing
import os
import sqlite3
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from core.errors import AccelscopeError, InvalidImport, StoreError, StoreUnavailable
from core.facts import bundle
from core.facts import store as store_module
from core.facts.bundle import bundle_json, import_file, parse_bundle
from core.facts.store import Store, payload_of, results_table
from tests.core.factories import make_energy, make_result


@pytest.fixture(autouse=True)
def tiny_chunks(monkeypatch):
    monkeypatch.setattr(bundle, "READ_CHUNK_CHARS", 7)  # every record, key and number cut across reads


REAL_CAN_FORK = bundle._can_fork


PROCESSES = ("reader process", "line readers")


READERS = ("reader process", "line readers", "one process")


def only(*readers: str):
    """Run the test with these readers alone: what it checks is theirs (the others would test nothing more)."""
    def mark(test):
        test.readers = readers
        return test
    return mark


def pytest_generate_tests(metafunc):
    if "reader" in metafunc.fixturenames:
        metafunc.parametrize("reader", getattr(metafunc.function, "readers", READERS), indirect=True)


@pytest.fixture(autouse=True)
def reader(request, monkeypatch):
    """Every import here runs each way (but a test marked @only): read in a forked process while this one
    writes (Linux); a bundle written a record a line read by two forked processes, each its share of the
    records; and read and written in one process (elsewhere)."""
    monkeypatch.setattr(bundle, "_can_fork", lambda: request.param in PROCESSES)
    monkeypatch.setattr(bundle, "_line_reader_count", lambda: 2 if request.param == "line readers" else 1)
    return request.param


@only("one process")
def test_a_process_with_other_threads_or_a_daemon_is_not_forked(monkeypatch, reader):
    monkeypatch.setattr(bundle, "_CAN_FORK", True)
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert not REAL_CAN_FORK()
    finally:
        stop.set()
        other.join()

    class Daemon:
        daemon = True

    monkeypatch.setattr(threading, "active_count", lambda: 1)
    assert REAL_CAN_FORK()
    monkeypatch.setattr(multiprocessing, "current_process", Daemon)
    assert not REAL_CAN_FORK()


def results(count: int = 5):
    return [make_result(created_at=f"2026-11-22T10:0{i}:00+00:00", samples_per_s=100.0 + i) for i in range(count)]


@pytest.mark.parametrize("indent", [None, 1])
def test_a_streamed_bundle_imports_the_same_results_as_a_parsed_one(tmp_path, db_url, indent):
    path = tmp_path / "b.json"
    path.write_text(bundle_json(results()) if indent is None else json.dumps(json.loads(bundle_json(results())),
                                                                              indent=indent))
    assert import_file(path, Store(db_url), batch=2) == (5, 5)
    assert Store(db_url).results() == sorted(parse_bundle(path.read_text()), key=lambda r: r.created_at)
    assert import_file(path, Store(db_url), batch=2) == (0, 5)  # already there: nothing new


def test_a_line_of_a_bundle_is_stored_as_it_is_and_any_other_record_compactly(tmp_path, db_url):
    """bundle_json writes a result a line, as the store keeps it: import stores that text without
    writing its JSON again. An indented record, or step times as a list (version 1), are written anew."""
    written = [dataclasses.replace(r, energy=make_energy(10.0 + i)) for i, r in enumerate(results(2))]
    lines = bundle_json(written).splitlines()
    assert len(lines) == 4 and lines[1].rstrip(",") == payload_of(written[0]) and lines[2] == payload_of(written[1])
    spaced = json.dumps(written[0].to_dict(packed_step_times=True))  # one line, default separators: kept as is
    listed = dict(written[1].to_dict(), id="listed")  # step times as a list of numbers
    indented = json.dumps(dict(written[1].to_dict(packed_step_times=True), id="indented"), indent=1)
    forged = written[1].to_dict(packed_step_times=True)
    forged = dict(forged, id="forged", energy=dict(forged["energy"], total_j=999999.0))  # from_dict recomputes it
    path = tmp_path / "mixed.json"
    path.write_text('{"format": "accelscope-results", "version": 2, "results": [' + ", ".join(
        [spaced, json.dumps(listed), indented, json.dumps(forged)]) + "]}")
    store = Store(db_url)
    assert import_file(path, store) == (4, 4)
    with store._engine.connect() as conn:
        stored = dict(conn.execute(sa.select(results_table.c.id, results_table.c.payload)).all())
    assert stored[written[0].id] == spaced
    assert stored["listed"] == payload_of(dataclasses.replace(written[1], id="listed"))
    assert stored["indented"] == payload_of(dataclasses.replace(written[1], id="indented"))
    assert stored["forged"] == payload_of(dataclasses.replace(written[1], id="forged"))  # its true total stored
    assert {r.id: r for r in store.results()} == {written[0].id: written[0], **{
        name: dataclasses.replace(written[1], id=name) for name in ("listed", "indented", "forged")}}


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
        assert list(bundle.iter_records(path, header)) == [({"a": 1.5}, '{"a": 1.5}'), ({"b": "c"}, '{"b": "c"}')], size
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


@pytest.mark.parametrize("where", ["between messages", "in a message"])
@only(*PROCESSES)
def test_a_reader_process_that_dies_fails_the_import_and_writes_nothing(tmp_path, db_url, monkeypatch, reader, where):
    path = tmp_path / "b.json"
    path.write_text(bundle_json(results(6)))

    def dying(function, args, receiving, sending, earlier=()):
        for item in function(*args):
            sending.send(item)
            if where == "in a message":  # a length that promises 100,000 bytes, then 10 of them
                os.write(sending.fileno(), struct.pack("!i", 100_000) + b"x" * 10)
            os._exit(9)  # killed after its first batch (the out-of-memory killer, say)

    monkeypatch.setattr(bundle, "_reader", dying)
    with pytest.raises(AccelscopeError, match=r"ended unexpectedly \(exit code 9.*Nothing was imported"):
        import_file(path, Store(db_url), batch=2)
    assert Store(db_url).count() == 0 and multiprocessing.active_children() == []


def test_a_bug_in_the_reader_is_raised_with_its_traceback(tmp_path, db_url, monkeypatch, reader):
    path = tmp_path / "b.json"
    path.write_text(bundle_json(results(3)))

    def broken(result, payload=None):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(Store, "rows_of", staticmethod(broken))
    expected = RuntimeError if reader in PROCESSES else ZeroDivisionError
    with pytest.raises(expected) as raised:
        import_file(path, Store(db_url))
    if reader in PROCESSES:
        assert "Traceback" in str(raised.value) and "ZeroDivisionError: a bug" in str(raised.value)
    assert Store(db_url).count() == 0


def test_a_failed_write_stops_the_reader(tmp_path, db_url, monkeypatch, reader):
    path = tmp_path / "b.json"
    path.write_text(bundle_json([make_result() for _ in range(200)]))  # more than the pipe holds: readers wait
    monkeypatch.setattr(bundle, "READ_CHUNK_CHARS", 1 << 20)
    killed = []
    kill = multiprocessing.context.ForkProcess.kill
    monkeypatch.setattr(multiprocessing.context.ForkProcess, "kill", lambda self: killed.append(1) or kill(self))
    store = Store(db_url)
    original = store.bulk_writer

    @contextlib.contextmanager
    def failing_writer(**options):
        with original(**options) as write:
            def write_once(rows):
                if write_once.done:
                    raise sa.exc.OperationalError("INSERT", {}, Exception("disk I/O error"))
                write_once.done = True
                return write(rows)
            write_once.done = False
            yield write_once

    monkeypatch.setattr(store, "bulk_writer", failing_writer)
    with pytest.raises(StoreUnavailable, match="disk I/O error"):
        import_file(path, store, batch=2)
    assert Store(db_url).count() == 0 and multiprocessing.active_children() == []
    assert (killed != []) == (reader in PROCESSES)  # each reader still running is stopped


@only("reader process")
def test_a_reader_whose_writer_is_killed_ends_too(tmp_path, reader):
    """The out-of-memory killer takes the writer: its reader must not wait forever to send a batch."""
    import psutil

    path = tmp_path / "big.json"
    path.write_text(bundle_json([make_result() for _ in range(20_000)]))  # seconds of reading
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    writer = subprocess.Popen([sys.executable, "-m", "core", "import", str(path), "--db",
                               f"sqlite:///{tmp_path / 'k.db'}"], env=env, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while not psutil.Process(writer.pid).children() and time.monotonic() < deadline:
            time.sleep(0.05)
        children = psutil.Process(writer.pid).children()  # one reader, or one per CPU (line readers)
        assert children
        writer.kill()
        writer.wait()
        gone, alive = psutil.wait_procs(children, timeout=30)
        assert len(gone) == len(children) and not alive, "a reader outlived its writer"
    finally:
        writer.kill()


def never_read_as_json(monkeypatch) -> None:
    """The line readers must not give up on what export writes."""
    monkeypatch.setattr(bundle, "_rows_from_reader", lambda *args: pytest.fail("read as any JSON"))


@only("line readers")
def test_line_readers_import_an_exported_bundle_each_record_once(tmp_path, db_url, reader, monkeypatch):
    written = results(9)
    path = tmp_path / "exported.json"
    path.write_text(bundle_json(written))
    never_read_as_json(monkeypatch)
    assert import_file(path, Store(db_url), batch=2) == (9, 9)
    assert Store(db_url).results() == written
    assert import_file(path, Store(db_url), batch=2) == (0, 9)
    path.write_text(bundle_json([]))
    assert import_file(path, Store(db_url)) == (0, 0)


def _one_process_error(path) -> str:
    """What the one-process reader says of a bundle (the line readers must say the same)."""
    with pytest.raises(InvalidImport) as caught:
        list(bundle.checked_rows(path, 5))
    return str(caught.value)


@pytest.mark.parametrize("bad", [[1, 4, 8], list(range(0, 60, 2))])
@only("line readers")
def test_line_readers_list_every_problem_in_record_order_as_one_reader_does(tmp_path, db_url, reader, bad,
                                                                          monkeypatch):
    """Each line reader checks its share of the records; their problems are merged in record order (the
    first 25 listed, the rest counted), word for word what one reader says."""
    written = results(9) + [make_result(created_at="2026-11-22T11:00:00+00:00") for _ in range(51)]
    for index in bad:
        written[index] = dataclasses.replace(written[index], samples_per_s=-1.0)
    path = tmp_path / "bad-lines.json"
    path.write_text(bundle_json(written))  # export refuses only what JSON cannot say: the check is the import's
    never_read_as_json(monkeypatch)
    with pytest.raises(InvalidImport) as caught:
        import_file(path, Store(db_url), batch=2)
    assert str(caught.value) == _one_process_error(path)
    assert f"{len(bad)} of 60 record(s) are invalid" in str(caught.value)
    assert Store(db_url).count() == 0


@only("line readers")
def test_line_readers_find_a_duplicate_id_anywhere_in_the_bundle(tmp_path, db_url, reader, monkeypatch):
    written = results(9)
    path = tmp_path / "twice.json"
    path.write_text(bundle_json([*written, dataclasses.replace(written[1], created_at="2026-11-22T12:00:00+00:00")]))
    never_read_as_json(monkeypatch)
    with pytest.raises(InvalidImport, match=r"record 10 \(id \w+\): duplicate id") as caught:
        import_file(path, Store(db_url), batch=2)
    assert str(caught.value) == _one_process_error(path)
    assert Store(db_url).count() == 0


@pytest.mark.parametrize("line", [
    b'{"id":"a","n":18446744073709551616,"m":-9223372036854775809,"k":123456789012345678901234567890}',
    b'{"id":"a","x":NaN,"y":Infinity,"z":1e400}', b'{"id":"a","s":"\\ud800"}', b'{"id":"a","a":1,"a":2.5}',
    b'{"id":"a","f":-0.0,"g":0.1,"h":1.7976931348623157e308,"i":5e-324,"j":9223372036854775807,"t":"1234567890"}',
])
@only("line readers")
def test_a_record_line_reads_as_json_reads_it(line, reader):
    """The line readers parse with orjson where it reads a line as json does, and with json elsewhere: the
    same values of the same types (an integer past 64 bits stays an integer, not a float)."""
    assert repr(bundle._record_of_line(line)) == repr(json.loads(line))


@only("line readers")
def test_a_record_with_an_integer_past_64_bits_is_stored_as_one_reader_stores_it(tmp_path, db_url, reader,
                                                                                  monkeypatch):
    written = [dataclasses.replace(r, env={**r.env, "cpu": 10**25, "gpu": -(2**70)}) for r in results(4)]
    path = tmp_path / "long-integer.json"
    path.write_text(bundle_json(written))
    never_read_as_json(monkeypatch)
    assert import_file(path, Store(db_url), batch=2) == (4, 4)
    assert [(row["cpu"], row["gpu"]) for row in Store(db_url).summaries()] == [(str(10**25), str(-(2**70)))] * 4


@pytest.mark.parametrize("edit", ["id not first", "a record over two lines", "broken JSON", "no last line",
                                  "text after the end", "not UTF-8", "its id twice", "a comma after the last record",
                                  "a space after a record", "CRLF line ends", "a record over the size limit"])
def test_a_bundle_edited_by_hand_is_read_as_any_json_after_the_line_readers_give_up(tmp_path, db_url, reader, edit,
                                                                                     monkeypatch):
    """Line readers read only what export writes. Anything else (after rows were written) is rolled back
    and read by the general reader: the same results, or the same error, as if it had been read so first."""
    written = results(8)
    lines = bundle_json(written).encode().split(b"\n")  # header, 8 records, "]}", ""
    record = json.loads(lines[5].rstrip(b","))
    if edit == "id not first":
        lines[5] = json.dumps(dict(reversed(list(record.items()))), separators=(",", ":")).encode() + b","
    elif edit == "a record over two lines":
        lines[5] = json.dumps(record, indent=1).encode() + b","
    elif edit == "broken JSON":
        lines[5] = lines[5].replace(b'"status":"ok"', b'"status":"ok",,')
    elif edit == "no last line":
        lines[-2:] = [b"]}"]
    elif edit == "text after the end":
        lines[-1] = b"extra"
    elif edit == "not UTF-8":
        lines[5] = lines[5].replace(b'"status":"ok"', b'"status":"\xff"')
    elif edit == "its id twice":  # JSON keeps the last
        lines[5] = lines[5].replace(b'"run_id"', b'"id":"other","run_id"')
    elif edit == "a comma after the last record":  # not JSON
        lines[-3] += b","
    elif edit == "a space after a record":
        lines[5] = lines[5][:-1] + b" ,"
    elif edit == "CRLF line ends":
        lines = [line + b"\r" for line in lines[:-1]] + [b""]
    else:  # the general reader refuses a record over MAX_RECORD_CHARS, whatever its shape
        monkeypatch.setattr(bundle, "MAX_RECORD_CHARS", len(lines[5]) - 100)
    path = tmp_path / "edited.json"
    path.write_bytes(b"\n".join(lines))
    fails = edit in ("broken JSON", "text after the end", "not UTF-8", "a comma after the last record",
                     "a record over the size limit")
    if fails:
        with pytest.raises(InvalidImport) as caught:
            import_file(path, Store(db_url), batch=2)
        assert str(caught.value) == _one_process_error(path)
        assert Store(db_url).count() == 0
    else:
        assert import_file(path, Store(db_url), batch=2) == (8, 8)
        expected = {r.id for r in written} - ({record["id"]} if edit == "its id twice" else set())
        assert {r.id for r in Store(db_url).results()} == expected | ({"other"} if edit == "its id twice" else set())
        with Store(db_url)._engine.connect() as conn:  # each payload is the record alone, as the general reader cuts it
            assert all(p.endswith("}") for p in conn.execute(sa.select(results_table.c.payload)).scalars())


def test_a_bundle_from_a_pipe_is_read_once_by_one_reader(tmp_path, db_url, reader):
    """A pipe (``import <(…)``, /dev/stdin) can be read once, by one process: never by line readers."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    feeder = threading.Thread(target=lambda: fifo.write_text(bundle_json(results(4))))
    feeder.start()
    try:
        assert import_file(fifo, Store(db_url), batch=2) == (4, 4)
    finally:
        feeder.join()


def journal_mode(db_path: Path) -> str:
    with contextlib.closing(sqlite3.connect(db_path)) as conn:
        return conn.execute("PRAGMA journal_mode").fetchone()[0]


def watch_the_write(monkeypatch, store: Store, db_path: Path, seen: list) -> None:
    """Record, at each batch written, which journal files the store has."""
    insert = store._insert_new

    def watched(conn, rows, new_hosts):
        added = insert(conn, rows, new_hosts)
        seen.append({"journal": Path(f"{db_path}-journal").exists(), "wal": Path(f"{db_path}-wal").exists()})
        return added

    monkeypatch.setattr(store, "_insert_new", watched)


@only("line readers")
def test_a_big_import_into_a_store_nobody_has_open_writes_its_pages_once(tmp_path, reader, monkeypatch):
    """A bundle over PAGES_ONCE_BYTES, into a SQLite store no other connection has open: written with a
    rollback journal (no WAL, whose checkpoint would write every page a second time), and the store is in
    WAL mode again after it."""
    monkeypatch.setattr(bundle, "PAGES_ONCE_BYTES", 1)
    db_path = tmp_path / "once.db"
    store = Store(f"sqlite:///{db_path}")
    path = tmp_path / "big.json"
    written = results(9)
    path.write_text(bundle_json(written))
    seen: list = []
    watch_the_write(monkeypatch, store, db_path, seen)
    assert import_file(path, store, batch=2) == (9, 9)
    assert seen and all(s == {"journal": True, "wal": False} for s in seen)
    assert journal_mode(db_path) == "wal" and not Path(f"{db_path}-journal").exists()
    assert Store(f"sqlite:///{db_path}").results() == written


@only("line readers")
def test_a_big_import_into_a_store_open_elsewhere_goes_through_the_wal(tmp_path, reader, monkeypatch):
    """Another connection (a dashboard's) has the store open: the import keeps WAL, and that connection
    reads the store as it was throughout."""
    monkeypatch.setattr(bundle, "PAGES_ONCE_BYTES", 1)
    db_path = tmp_path / "shared.db"
    url = f"sqlite:///{db_path}"
    Store(url).add_many(results(2))
    dashboard = Store(url)
    assert dashboard.count() == 2  # its connection stays open in the pool
    store = Store(url)
    path = tmp_path / "big.json"
    path.write_text(bundle_json([make_result(created_at="2026-11-22T11:00:00+00:00") for _ in range(8)]))
    seen: list = []
    watch_the_write(monkeypatch, store, db_path, seen)
    insert = store._insert_new
    monkeypatch.setattr(store, "_insert_new", lambda *args: (insert(*args), seen.append(dashboard.count()))[0])
    assert import_file(path, store, batch=2) == (8, 8)
    assert [s for s in seen if isinstance(s, dict)] and all(s == {"journal": False, "wal": True}
                                                              for s in seen if isinstance(s, dict))
    read_meanwhile = [s for s in seen if isinstance(s, int)]
    assert read_meanwhile and set(read_meanwhile) == {2}
    assert dashboard.count() == 10 and journal_mode(db_path) == "wal"


def test_a_big_import_that_fails_writes_nothing_and_leaves_the_store_in_wal(tmp_path, reader, monkeypatch):
    monkeypatch.setattr(bundle, "PAGES_ONCE_BYTES", 1)
    db_path = tmp_path / "failed.db"
    written = results(6)
    written[5] = dataclasses.replace(written[5], samples_per_s=-1.0)
    path = tmp_path / "bad.json"
    path.write_text(bundle_json(written))
    store = Store(f"sqlite:///{db_path}")
    switched: list = []
    try_rollback_journal = store_module._try_rollback_journal
    monkeypatch.setattr(store_module, "_try_rollback_journal",
                        lambda driver: switched.append(try_rollback_journal(driver)) or switched[-1])
    seen: list = []  # empty when a reader reports the bad record before the first batch is written
    watch_the_write(monkeypatch, store, db_path, seen)
    with pytest.raises(InvalidImport, match="1 of 6 record"):
        import_file(path, store, batch=2)
    assert switched == [True] and all(s == {"journal": True, "wal": False} for s in seen)  # the rollback journal
    assert Store(f"sqlite:///{db_path}").count() == 0
    assert journal_mode(db_path) == "wal" and not Path(f"{db_path}-journal").exists()


@only("line readers")
def test_a_big_import_killed_midway_is_rolled_back_by_the_next_opener(tmp_path, reader):
    """kill -9 of the importer while it writes with a rollback journal: the journal it leaves is rolled
    back when the store is next opened, which is in WAL mode again."""
    db_path = tmp_path / "killed.db"
    url = f"sqlite:///{db_path}"
    with Store(url) as before:  # closed: no connection of this process keeps the store in WAL
        before.add_many(results(2))
    file_before = db_path.read_bytes()
    path = tmp_path / "big.json"
    path.write_text(bundle_json([make_result(created_at="2026-11-22T11:00:00+00:00") for _ in range(40)]))
    script = f"""
import os, sys
from core.facts import bundle
from core.facts.store import Store
bundle.PAGES_ONCE_BYTES = 1
store = Store({url!r})
insert = store._insert_new
def insert_then_die(conn, rows, new_hosts):
    added = insert(conn, rows, new_hosts)
    if os.path.exists({str(db_path)!r} + "-journal"):
        conn.exec_driver_sql("PRAGMA cache_size=1")  # its pages written to the file, uncommitted
        conn.exec_driver_sql("PRAGMA shrink_memory")
        os._exit(9)
    return added
store._insert_new = insert_then_die
bundle.import_file({str(path)!r}, store, batch=4)
sys.exit(3)
"""
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    finished = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert finished.returncode == 9, finished.stderr
    assert Path(f"{db_path}-journal").exists()  # what the killed import left, its pages in the file
    assert db_path.read_bytes() != file_before
    assert Store(url).count() == 2
    assert journal_mode(db_path) == "wal" and not Path(f"{db_path}-journal").exists()


@only("line readers")
def test_a_store_opened_during_a_big_import_says_it_is_locked_and_why(tmp_path, reader, monkeypatch):
    """Written with a rollback journal, the store is closed to others until the import ends: one that
    opens it meanwhile waits the busy timeout, then is told so (never a traceback, never damage)."""
    monkeypatch.setattr(bundle, "PAGES_ONCE_BYTES", 1)
    monkeypatch.setenv("ACCELSCOPE_BUSY_TIMEOUT_S", "0.2")
    db_path = tmp_path / "busy.db"
    url = f"sqlite:///{db_path}"
    with Store(url) as before:
        before.add_many(results(2))
    store = Store(url)
    path = tmp_path / "big.json"
    path.write_text(bundle_json([make_result(created_at="2026-11-22T11:00:00+00:00") for _ in range(8)]))
    told = []
    insert = store._insert_new

    def insert_then_look(conn, rows, new_hosts):
        added = insert(conn, rows, new_hosts)
        conn.exec_driver_sql("PRAGMA cache_size=1")  # its pages go to the file now: the store is locked
        conn.exec_driver_sql("PRAGMA shrink_memory")
        with pytest.raises(StoreError) as caught:
            Store(url).count()
        told.append(str(caught.value))
        return added

    monkeypatch.setattr(store, "_insert_new", insert_then_look)
    assert import_file(path, store, batch=2) == (8, 8)
    assert told and all("database is locked: another process held it past the busy timeout of 0.2 s (a write "
                        "holds it while it writes; a big import, until it ends)" in text for text in told), told
    assert Store(url).count() == 10 and journal_mode(db_path) == "wal"
