"""Export and import of results as a JSON bundle, validated whole before anything is imported."""

from __future__ import annotations

import contextlib
import gc
import json
import math
import multiprocessing
import multiprocessing.connection
import os
import re
import stat
import sys
import threading
import traceback
import zlib
from pathlib import Path
from typing import Sequence

from core.errors import AccelscopeError, InvalidImport
from core.facts.results import PACKED_STEP_TIMES, ProbeResult, all_finite
from core.facts.store import Store, ValidatedResults
from core.facts.validation import result_problems

BUNDLE_FORMAT = "accelscope-results"
# 1: step times as JSON lists of numbers ("step_times_s"); 2: packed, as the store keeps them (base64 of
# little-endian float64 under core.facts.results.PACKED_STEP_TIMES). Both are read, and a record of either
# version may carry either form (from_dict takes both); export writes 2.
BUNDLE_VERSION = 2


MAX_LISTED_PROBLEMS = 25


def to_bundle(results: Sequence[ProbeResult]) -> dict:
    return {"format": BUNDLE_FORMAT, "version": BUNDLE_VERSION,
            "results": [r.to_dict(packed_step_times=True) for r in results]}


def bundle_json(results: Sequence[ProbeResult]) -> str:
    """The bundle as standard JSON, one result a line, each as the store keeps it (compact, step times
    packed): grep and diff see a result a line, and an import stores each line as it is instead of
    writing its JSON again (core.facts.bundle.import_file). A NaN or infinity (which JSON has no words
    for) is refused, never written as the non-standard ``NaN`` other readers choke on (nor hidden in
    packed step times)."""
    try:
        if not all(all_finite(r.step_times_s) for r in results):
            raise ValueError("a step time is not finite")
        lines = ",\n".join(json.dumps(r.to_dict(packed_step_times=True), separators=(",", ":"), allow_nan=False)
                           for r in results)
        return (f'{{"format": "{BUNDLE_FORMAT}", "version": {BUNDLE_VERSION}, "results": [\n'
                + (lines + "\n" if lines else "") + "]}\n")
    except ValueError:
        bad = [r.id for r in results if _not_finite(r.to_dict())]
        raise InvalidImport(f"cannot export: result(s) {', '.join(bad[:5])} hold a NaN or infinite number, which "
                            "JSON cannot represent; delete or re-measure them") from None


def _not_finite(value) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(_not_finite(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_not_finite(v) for v in value)
    return False


def write_bundle(path: str | Path, results: Sequence[ProbeResult]) -> None:
    text = bundle_json(results)
    Path(path).write_text(text, encoding="utf-8")


def parse_bundle(raw: bytes | str, name: str = "import file") -> list[ProbeResult]:
    """Parse and validate a whole bundle: every record's structure (ProbeResult.from_dict) and
    physics (core.facts.validation). Raises InvalidImport listing every bad record and field.
    Returns a core.facts.store.ValidatedResults: the store does not validate them a second time."""
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidImport(f"{name}: not UTF-8 text ({exc}); export it again with "
                                "`python -m core export`") from None
    if not raw.strip():
        raise InvalidImport(f"{name}: the file is empty")
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise InvalidImport(f"{name}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    except RecursionError:
        raise InvalidImport(f"{name}: nested too deeply to be a results bundle. Nothing was imported.") from None
    except ValueError as exc:  # a number of more than 4,300 digits (Python's limit for turning text into an int)
        raise InvalidImport(f"{name}: not a results bundle ({exc}). Nothing was imported.") from None
    if isinstance(data, dict):
        _check_header(data, name)
        records = data.get("results")
    else:
        records = data
    if not isinstance(records, list):
        raise InvalidImport(f"{name}: expected a list of results. Nothing was imported.")
    checker = _RecordChecker(name)
    results = [result for result in map(checker.check, records) if result is not None]
    checker.raise_problems()
    return ValidatedResults(results)


def _check_header(data: dict, name: str) -> None:
    if data.get("format") != BUNDLE_FORMAT:
        raise InvalidImport(f"{name}: not an Accelscope results bundle (expected \"format\": "
                            f"\"{BUNDLE_FORMAT}\")")
    version = data.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= BUNDLE_VERSION:
        raise InvalidImport(f"{name}: bundle version {version!r} is not supported: this Accelscope reads "
                            f"versions 1 to {BUNDLE_VERSION}"
                            + (" (upgrade Accelscope for newer bundles)"
                               if isinstance(version, int) and version > BUNDLE_VERSION else "")
                            + ". Nothing was imported.")


class _RecordChecker:
    """Each record of a bundle checked in turn (structure, physics, a duplicate id); the problems are
    kept (every one counted, the first MAX_LISTED_PROBLEMS listed) and raised together at the end."""

    def __init__(self, name: str) -> None:
        self.name, self.count, self.seen, self.problems = name, 0, set(), []

    def check(self, record) -> ProbeResult | None:
        """The record's result, or None when it is not a result at all (its problem kept)."""
        self.count += 1
        label = f"record {self.count}"
        if isinstance(record, dict) and isinstance(record.get("id"), str):
            label += f" (id {record['id'][:64]})"
        try:
            result = ProbeResult.from_dict(record)
        except (ValueError, TypeError) as exc:
            self.problems.append(f"{label}: {exc}")
            return None
        found = result_problems(result)
        if result.id in self.seen:
            found.append("duplicate id")
        self.seen.add(result.id)
        if found:
            self.problems.append(f"{label}: " + "; ".join(found))
        return result

    def raise_problems(self) -> None:
        if self.problems:
            raise _invalid_records(self.name, self.problems[:MAX_LISTED_PROBLEMS], len(self.problems), self.count)


def _invalid_records(name: str, listed: list[str], problems: int, records: int) -> InvalidImport:
    more = problems - len(listed)
    return InvalidImport(f"{name}: {problems} of {records} record(s) are invalid. Nothing was imported.\n"
                         + "\n".join(f"- {p}" for p in listed) + (f"\n- … and {more} more" if more else ""))


READ_CHUNK_CHARS = 1 << 20  # a streamed bundle is read a MiB of text at a time
CUT_MARGIN = 16  # an error this near the buffer's end may be a cut word ("tr" of "true", "1.5e" of "1.5e3")
MAX_RECORD_CHARS = 64 << 20  # one record bigger than this is not a result (a result is kilobytes)
OBJECT = "\0object"  # set in a streamed bundle's header when the file is an object (not a bare list)


def iter_records(path: str | Path, header: dict):
    """(record, its JSON text as the file holds it) of each record of a bundle file, one at a time, never
    the whole file in memory (a million results are gigabytes of JSON). ``header`` receives the bundle's
    other keys (format, version) as they are read; a bare list of records leaves it empty. Raises
    InvalidImport on text that is not a bundle."""
    path = Path(path)
    try:
        file = path.open("r", encoding="utf-8")
    except OSError as exc:
        raise InvalidImport(f"{path}: cannot read ({exc.strerror})") from None
    with file:
        yield from _JsonStream(file, str(path)).records(header)


class _JsonStream:
    """Just enough of a streaming JSON reader for a bundle: the top-level object's small values whole,
    the "results" list one record at a time (json's raw_decode on a buffer refilled as needed)."""

    def __init__(self, file, name: str) -> None:
        self.file, self.name, self.buffer, self.pos, self.offset, self.eof = file, name, "", 0, 0, False
        self.decoder = json.JSONDecoder()

    def _fill(self) -> bool:
        if self.eof:
            return False
        try:
            text = self.file.read(READ_CHUNK_CHARS)
        except UnicodeDecodeError as exc:
            raise InvalidImport(f"{self.name}: not UTF-8 text ({exc}); export it again with "
                                "`python -m core export`") from None
        if not text:
            self.eof = True
            return False
        if self.pos > len(self.buffer) // 2:  # drop what was read
            self.offset += self.pos
            self.buffer, self.pos = self.buffer[self.pos:], 0
        self.buffer += text
        return True

    def _next_char(self) -> str:
        """The next character that is not white space (not consumed; "" at the end)."""
        while True:
            while self.pos < len(self.buffer) and self.buffer[self.pos] in " \t\r\n":
                self.pos += 1
            if self.pos < len(self.buffer) or not self._fill():
                return self.buffer[self.pos:self.pos + 1]

    def _expect(self, chars: str) -> str:
        char = self._next_char()
        if not char or char not in chars:
            self._invalid(f"expected {' or '.join(repr(c) for c in chars)}")
        self.pos += 1
        return char

    def _value(self):
        self._next_char()
        while True:
            try:
                value, end = self.decoder.raw_decode(self.buffer, self.pos)
            except json.JSONDecodeError as exc:
                # cut off by the buffer's end (an error there, or a string that runs on): read on and try
                # again; an error before the end is the file's own, said at once
                cut = exc.pos >= len(self.buffer) - CUT_MARGIN or exc.msg.startswith("Unterminated string")
                if cut and len(self.buffer) - self.pos > MAX_RECORD_CHARS:
                    raise InvalidImport(f"{self.name}: a record of more than {MAX_RECORD_CHARS:,} characters "
                                        f"(character {self.offset + self.pos + 1:,}): not a result. Nothing was "
                                        "imported.") from None
                if cut and self._fill():
                    continue
                self._invalid(exc.msg, self.offset + exc.pos)
            except RecursionError:
                raise InvalidImport(f"{self.name}: nested too deeply to be a results bundle. Nothing was "
                                    "imported.") from None
            except ValueError as exc:  # a number of more than 4,300 digits
                raise InvalidImport(f"{self.name}: not a results bundle ({exc}). Nothing was imported.") from None
            number = isinstance(value, (int, float)) and not isinstance(value, bool)
            if (end == len(self.buffer) or number and len(self.buffer) - end < 3) and self._fill():
                continue  # a number may go on in the next chunk ("1" of "1.5", "1.5e+" of "1.5e+3")
            self.pos = end
            return value

    def _invalid(self, what: str, at: int | None = None):
        at = self.offset + self.pos if at is None else at
        raise InvalidImport(f"{self.name}: not valid JSON (character {at + 1:,}: {what}). Nothing was imported.")

    def records(self, header: dict):
        first = self._next_char()
        if not first:
            raise InvalidImport(f"{self.name}: the file is empty")
        if first == "[":
            yield from self._list()
            if self._next_char():
                self._invalid("extra data after the bundle")
            return
        self._expect("{")
        header[OBJECT] = True  # an object must be a bundle's: its format and version are checked
        if self._next_char() == "}":
            self.pos += 1
            raise InvalidImport(f"{self.name}: expected a list of results. Nothing was imported.")
        found = False
        while True:
            if self._next_char() != '"':
                self._invalid("expected a key in double quotes")
            key = self._value()
            self._expect(":")
            if key == "results":
                if found:
                    raise InvalidImport(f"{self.name}: \"results\" given twice. Nothing was imported.")
                if self._next_char() != "[":
                    raise InvalidImport(f"{self.name}: expected a list of results. Nothing was imported.")
                found = True
                yield from self._list()
            else:
                header[key] = self._value()
            if self._expect(",}") == "}":
                break
        if not found:
            raise InvalidImport(f"{self.name}: expected a list of results. Nothing was imported.")
        if self._next_char():
            self._invalid("extra data after the bundle")

    def _list(self):
        """(value, its text) of each value of a list."""
        self._expect("[")
        if self._next_char() == "]":
            self.pos += 1
            return
        while True:
            self._next_char()
            start = self.offset + self.pos  # the buffer may be refilled (and its read part dropped) meanwhile
            value = self._value()
            yield value, self.buffer[start - self.offset:self.pos]
            if self._expect(",]") == "]":
                return


def import_file(path: str | Path, store, batch: int = 5_000) -> tuple[int, int]:
    """Import a bundle file into ``store`` a batch at a time inside one transaction (all or nothing: a
    bad record anywhere, or a header that is not a bundle's, writes nothing), never holding the whole
    bundle: a million results import in bounded memory. The records are checked as parse_bundle checks
    them, with every problem listed. Returns (results added, results in the bundle).

    On Linux, from a process with one thread (the CLI), forked processes read, check and turn the
    records into rows (over half the work) while this one writes: a bundle as export writes it (a record a
    line), imported into SQLite, is shared among a process per CPU (_rows_from_readers); any other JSON,
    and any import into PostgreSQL (which needs the file's order), is read by one. Elsewhere both happen
    here, one after the other."""
    pages_once = _file_bytes(path) >= PAGES_ONCE_BYTES
    if (_can_fork() and store.one_writer_at_a_time and (readers := _line_reader_count()) > 1
            and _written_a_record_a_line(path)):  # readers' rows come in no set order: see one_writer_at_a_time
        try:
            return _write_all(store, _rows_from_readers(path, batch, readers), pages_once)
        except _NotARecordALine:
            pass  # rolled back, nothing written: read the way any JSON is read
    return _write_all(store, _rows_from_reader(path, batch) if _can_fork() else checked_rows(path, batch), pages_once)


# A bundle this big (about 40,000 results) is written with SQLite's rollback journal when nobody else has the
# store open (Store._rollback_journal_if_alone): its pages written once, the store closed to readers meanwhile.
# A smaller one goes through the WAL, whose second write costs it a second or less.
PAGES_ONCE_BYTES = 256 << 20


def _file_bytes(path: str | Path) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0  # the reader says why it cannot read it


def _write_all(store, batches, pages_once: bool = False) -> tuple[int, int]:
    """Write the batches (a reader's messages) in one transaction. The reader is closed as this ends, however
    it ends: its processes are stopped before the error is raised (a traceback keeps this frame)."""
    added = 0
    with contextlib.closing(batches), store.bulk_writer(pages_once=pages_once) as write:
        for kind, value in batches:
            if kind == "rows":
                added += write(value)
            else:  # "done": every record was read and checked
                return added, value
    raise AssertionError("unreachable: the reader ends with 'done' or raises")


_CAN_FORK = sys.platform == "linux"  # fork is the default there and safe for a reader that only reads a file


def _can_fork() -> bool:
    """Fork only a process with one thread (the CLI's): a thread of another (a web server's) may hold a
    lock that the forked copy would wait on forever. A daemonic process (a pool's worker) may not fork."""
    return _CAN_FORK and threading.active_count() == 1 and not multiprocessing.current_process().daemon


def checked_rows(path: str | Path, batch: int):
    """("rows", the store's rows of up to ``batch`` checked results) for each batch of a bundle file,
    then ("done", how many records it held); raises InvalidImport listing every problem, or naming the
    first one a stream cannot read past. A batch is only given while no record has failed: after a
    problem the rest is still checked (every problem listed) but nothing more is written."""
    name = str(path)
    header: dict = {}
    checker = _RecordChecker(name)
    checked = False
    pending = []
    for record, text in iter_records(path, header):
        if not checked and "format" in header and "version" in header:
            _check_header(header, name)  # before the results in our bundles: a wrong file stops at once
            checked = True
        row = _checked_row(checker, record, text)
        if row is None:
            pending.clear()
            continue
        pending.append(row)
        if len(pending) >= batch:
            yield "rows", pending
            pending = []
    if header:
        _check_header(header, name)
    checker.raise_problems()
    yield "rows", pending
    yield "done", checker.count


def _checked_row(checker: _RecordChecker, record, text: str) -> tuple | None:
    """The store's rows of a record, checked in turn by ``checker``; None once any record has failed
    (nothing more is written: the import will be rolled back)."""
    result = checker.check(record)
    if result is None or checker.problems:
        return None
    return Store.rows_of(result, text if _stored_as_is(record, text, result) else None)


def _rows_from_reader(path: str | Path, batch: int):
    """checked_rows run in a forked process, its batches sent back through a pipe (the next batch is
    read while this process writes the last). Its InvalidImport is raised here; so is its end. Where
    the fork fails (no memory for it), the rows are made here instead.

    The messages: ("rows", rows) and ("done", count) as checked_rows gives them; ("invalid", the
    InvalidImport's text); ("failed", a traceback)."""
    try:
        yield from _from_processes(path, [(checked_rows, (path, batch))])
    except _ForkFailed:
        yield from checked_rows(path, batch)


class _ForkFailed(Exception):
    """No reader process could be started (no memory for a fork)."""


def _from_processes(path: str | Path, readers: list[tuple]):
    """The messages of reader processes (each ``(function, args)``: a generator of messages, run forked),
    as they come: their rows, then one ("done", …) per reader. An "invalid" or "failed" message is raised
    here, and so is a reader's unexpected end; the others are then stopped."""
    context = multiprocessing.get_context("fork")
    running = []
    try:
        for function, args in readers:
            receiving, sending = context.Pipe(duplex=False)
            earlier = [end for end, _ in running]  # a reader keeps no other reader's pipe open (see _reader)
            process = context.Process(target=_reader, args=(function, args, receiving, sending, earlier),
                                      daemon=True, name="accelscope-import-reader")
            try:
                process.start()
            except OSError:
                receiving.close()
                sending.close()
                if not running:
                    raise _ForkFailed() from None
                raise AccelscopeError(f"{path}: cannot start a process to read the bundle (out of memory?). "
                                      "Nothing was imported.") from None
            sending.close()  # the reader's end: its exit closes the pipe, and recv says so (EOFError)
            running.append((receiving, process))
        open_ends = {receiving: process for receiving, process in running}
        while open_ends:
            for receiving in multiprocessing.connection.wait(list(open_ends)):
                process = open_ends[receiving]
                try:
                    kind, value = receiving.recv()
                except (EOFError, OSError):  # it ended, or was killed in the middle of a message
                    process.join()
                    raise AccelscopeError(f"{path}: the process reading the bundle ended unexpectedly (exit "
                                          f"code {process.exitcode}: killed, or out of memory?). Nothing was "
                                          "imported.") from None
                if kind == "invalid":
                    raise InvalidImport(value)
                if kind == "failed":
                    raise RuntimeError(f"reading {path} failed in the reader process:\n{value}")
                if kind == "done":
                    del open_ends[receiving]
                yield kind, value
    finally:
        for receiving, process in running:
            if process.is_alive():  # done and ending, or this side stopped first (a write failed, an interrupt)
                process.kill()
            receiving.close()
            process.join()


def _reader(function, args: tuple, receiving, sending, earlier=()) -> None:
    """A forked reader: ``function(*args)``'s messages sent as they come, then how it ended. It closes its
    copies of the reading ends (its pipe's, and earlier readers' that the fork gave it) first: if the writer
    dies, a send then fails (EPIPE) instead of waiting forever for a reader. An interrupt (Ctrl-C reaches
    every process of the terminal) ends it quietly: the writer says so."""
    for end in (receiving, *earlier):
        end.close()
    try:
        for item in function(*args):
            sending.send(item)
    except KeyboardInterrupt:
        pass
    except InvalidImport as exc:
        _send_last(sending, ("invalid", str(exc)))
    except Exception:  # a bug (or the writer gone): its traceback goes to the writer, which raises it
        _send_last(sending, ("failed", traceback.format_exc()))
    finally:
        sending.close()


# The first line of a bundle that export wrote (bundle_json): a record a line follows, each line but the last
# record's ending in a comma, then "]}".
BUNDLE_HEADER_LINE = f'{{"format": "{BUNDLE_FORMAT}", "version": {BUNDLE_VERSION}, "results": [\n'.encode()
_LAST_LINE = b"]}\n"
_LEADING_ID = re.compile(rb'\{"id":"([^"\\]*)"')  # a record line as export writes it starts with its id
MAX_LINE_READERS = 4
LINE_READ_BUFFER_BYTES = 1 << 16  # a line reader's file buffer: a record line (6 kB) read at the default 8 kB
# took 6.1 µs, a memory copy and a refill or two; at 64 kB, 1.3 µs (each reader reads every line)


class _NotARecordALine(Exception):
    """A line of the bundle is not one whole record as export writes it: read it as any JSON instead."""


def _line_reader_count() -> int:
    """How many processes read a bundle written a record a line: one per CPU this process may use, up to
    MAX_LINE_READERS (on 2 CPUs, two readers and the writer imported 100,000 results in 11.0 s instead of
    16.8 s with one reader: the writer waits for a single reader most of the time)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return min(cpus, MAX_LINE_READERS)


def _written_a_record_a_line(path: str | Path) -> bool:
    """Whether the file is a regular file (not a pipe, which only one process can read, once) that starts
    as export writes a bundle: its lines are then read by several processes."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return False
        with open(path, "rb") as file:
            return file.readline() == BUNDLE_HEADER_LINE
    except OSError:
        return False


def _rows_from_readers(path: str | Path, batch: int, readers: int):
    """The rows of a bundle written a record a line, read by ``readers`` forked processes: each reads every
    line, and checks and makes the rows of the records whose id is its share (so that one process sees
    every record of an id, and finds a duplicate). Their problems are merged in record order, as one
    reader lists them. Raises _NotARecordALine (after which nothing may be kept) where a line is not one
    whole record with its id first."""
    finished, failing = [], False
    for kind, value in _from_processes(path, [(_line_rows, (path, batch, share, readers))
                                              for share in range(readers)]):
        if kind == "fallback":
            raise _NotARecordALine(value)
        if kind == "stop":  # a reader found a problem: nothing more is written (the import fails)
            failing = True
        elif kind == "rows":
            if not failing:
                yield kind, value
        else:  # "done": (records, problems, the first MAX_LISTED_PROBLEMS as (index, text))
            finished.append(value)
    records = finished[0][0]  # every reader counted every line
    problems = sum(total for _, total, _ in finished)
    if problems:
        listed = sorted(item for _, _, first in finished for item in first)[:MAX_LISTED_PROBLEMS]
        raise _invalid_records(str(path), [text for _, text in listed], problems, records)
    yield "done", records


def _line(file) -> bytes:
    """The next line, or as much of it as a record may hold (then without its end: not a record a line)."""
    return file.readline(MAX_RECORD_CHARS + 2)


def _line_rows(path: str | Path, batch: int, share: int, shares: int):
    """One line reader's messages: ("rows", rows) of its records as checked_rows makes them, then ("done",
    (records in the bundle, its problems, its first problems as (record index, text))), or ("fallback",
    why) at the first line that is not a whole record with its id first."""
    name = str(path)
    checker = _RecordChecker(name)
    pending, listed = [], []
    index = 0
    with open(path, "rb", buffering=LINE_READ_BUFFER_BYTES) as file:
        file.readline()  # the header, checked by the writer before
        line, after_comma = _line(file), False
        while line and not (line == _LAST_LINE and not after_comma):
            if line.endswith(b",\n"):
                text, after_comma = line[:-2], True
            elif line.endswith(b"\n") and _line(file) == _LAST_LINE:
                text, line, after_comma = line[:-1], _LAST_LINE, False  # the last record
            else:
                yield "fallback", f"line {index + 2} is not a record followed by a comma, nor the last one"
                return
            found = _LEADING_ID.match(text)
            if found is None or not text.endswith(b"}"):
                yield "fallback", f"line {index + 2} is not a record that starts with its id, as export writes it"
                return
            if zlib.crc32(found.group(1)) % shares == share:
                try:
                    record = _record_of_line(text)
                    text = text.decode()
                except (ValueError, RecursionError):  # not UTF-8, not JSON: the general reader says where
                    yield "fallback", f"line {index + 2} is not one JSON record"
                    return
                if not isinstance(record, dict) or record.get("id") != found.group(1).decode():
                    yield "fallback", f"line {index + 2} names its id twice"  # the last one counts in JSON
                    return
                checker.count = index  # its number in the whole bundle
                before = len(checker.problems)
                row = _checked_row(checker, record, text)
                if len(checker.problems) > before:
                    if not before:
                        yield "stop", None  # the import will fail: the writer writes nothing more
                    if len(listed) < MAX_LISTED_PROBLEMS:
                        listed.append((index, checker.problems[-1]))
                if row is None:
                    pending.clear()
                else:
                    pending.append(row)
                    if len(pending) >= batch:
                        yield "rows", pending
                        pending = []
            index += 1
            if line != _LAST_LINE:
                line = _line(file)
        if line != _LAST_LINE or after_comma or file.read(1):
            yield "fallback", "the bundle does not end with ']}' on a line of its own after its last record"
            return
    yield "rows", pending
    yield "done", (index, len(checker.problems), listed)


_DIGITS_AS_ZEROS = bytes.maketrans(b"123456789", b"000000000")
_LONG_NUMBER = b"0" * 19  # orjson reads an integer beyond 64 bits (19 digits and more) as a float; json, as an int


def _record_of_line(line: bytes):
    """A record line's JSON, as json.loads reads it. orjson parses a 6.1 kB line in 6 µs where json takes
    25; with the digit check below, this takes about half json's time. orjson reads the same values
    wherever it reads the text at all, but for two things: it refuses what standard JSON has no words for
    (NaN, 1e400, a lone surrogate), and it reads an integer too large for 64 bits as a float. Those lines
    are read by json, as before: a line orjson refuses, and a line with a run of 19 digits or more (a long
    integer, rarely a run of digits in a text or in the packed step times). Imported here, not with the
    module: the dashboard, which never reads a bundle a line at a time, does not need orjson."""
    import orjson

    if _LONG_NUMBER not in line.translate(_DIGITS_AS_ZEROS):
        try:
            return orjson.loads(line)
        except orjson.JSONDecodeError:
            pass
    return json.loads(line.decode())


def _send_last(sending, message: tuple) -> None:
    with contextlib.suppress(OSError):  # the writer is gone: nobody to tell
        sending.send(message)


def _stored_as_is(record: dict, text: str, result: ProbeResult) -> bool:
    """Whether a valid record's text can be the store's payload as it is: one line with the step times
    packed (bundle_json writes every record so), whose energy figures are the ones its components give
    (from_dict recomputes them and never trusts the file's: a payload that says otherwise would tell a
    plain JSON reader another total). It reads back as the same result: the record is that text's JSON.
    Any other record is written again, compactly, as the store writes a result."""
    return (PACKED_STEP_TIMES in record and "\n" not in text
            and record.get("energy") == (result.energy.to_dict() if result.energy is not None else None))


@contextlib.contextmanager
def cycle_collector_paused():
    """For an import: parsing a bundle and writing it make millions of objects and no reference cycles,
    and CPython's cycle collector walks the objects made so far again and again meanwhile (at 20,000
    results: a third of the parse, a tenth of the import). Paused inside, resumed as it was after.
    Pausing the parse alone does not help: the collector walks its objects during the write instead."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def read_bundle(path: str | Path) -> list[ProbeResult]:
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InvalidImport(f"{path}: cannot read ({exc.strerror})") from None
    return parse_bundle(raw, str(path))
