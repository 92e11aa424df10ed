"""Strict CSV schemas shared by the bundled data and the files a user uploads.

A file that breaks the schema raises InvalidPriceSheet naming the file, row and column; nothing
of it is used.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from datetime import date
from typing import IO, Callable, Mapping, Sequence

from core.errors import InvalidPriceSheet

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
MAX_LISTED_PROBLEMS = 50  # a file with more problems lists the first 50 and counts the rest


def spreadsheet_safe(value):
    """A CSV cell a spreadsheet will not run: text starting like a formula (=, +, -, @, tab, CR)
    gets a leading ' (OWASP's CSV-injection advice); numbers, booleans and None stay as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def write_csv(rows: Sequence[Mapping], columns: Sequence[str], stream: IO[str]) -> None:
    """The one CSV writer of the product (CLI and dashboard): a header, then the rows, every text
    cell made spreadsheet-safe."""
    writer = csv.DictWriter(stream, fieldnames=list(columns), lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows({key: spreadsheet_safe(value) for key, value in row.items()} for row in rows)


def frame_csv(frame) -> str:
    """A pandas frame as spreadsheet-safe CSV text (NaN as an empty cell)."""
    safe = frame.astype(object).where(frame.notna(), None)
    buffer = io.StringIO()
    write_csv(safe.to_dict("records"), list(frame.columns), buffer)
    return buffer.getvalue()


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # text | number | integer | date | choice | url
    required: bool = True
    choices: tuple[str, ...] = ()


def _number(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("not a finite number")
    return value


NUMERIC_PARSERS = {"number": (_number, "a number"), "integer": (int, "a whole number")}


def _convert(column: Column, text: str):
    if column.kind == "text":
        return text
    if column.kind in NUMERIC_PARSERS:
        parse, what = NUMERIC_PARSERS[column.kind]
        try:
            value = parse(text)
        except ValueError:
            raise ValueError(f"{text!r} is not {what}") from None
        if value < 0:
            raise ValueError(f"{text!r} is negative")
        return value
    if column.kind == "date":
        try:
            return date.fromisoformat(text).isoformat()
        except ValueError:
            raise ValueError(f"{text!r} is not a date as YYYY-MM-DD") from None
    if column.kind == "choice":
        if text not in column.choices:
            raise ValueError(f"{text!r} is not one of {', '.join(column.choices)}")
        return text
    if column.kind == "url":
        if not text.startswith(("https://", "http://")):
            raise ValueError(f"{text!r} is not an http(s) URL")
        return text
    raise AssertionError(column.kind)


def parse_csv(raw: bytes | str, name: str, columns: tuple[Column, ...], *,
              key: tuple[str, ...] = (), row_check: Callable[[dict], None] | None = None) -> list[dict]:
    """Parse and validate a whole CSV file; raise InvalidPriceSheet at the first problem."""
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InvalidPriceSheet(f"{name}: not UTF-8 text (byte {exc.start}); save it as CSV UTF-8") from None
    if not raw.strip():
        raise InvalidPriceSheet(f"{name}: the file is empty; it needs a header row and at least one row")
    reader = csv.reader(io.StringIO(raw))
    try:
        header = [h.strip() for h in next(reader)]
        records = list(reader)
    except csv.Error as exc:
        raise InvalidPriceSheet(f"{name}: not a readable CSV file ({exc})") from None
    expected = [c.name for c in columns]
    missing = [c for c in expected if c not in header]
    if missing:
        raise InvalidPriceSheet(f"{name}: missing column(s) {', '.join(missing)}; the header must have "
                                f"{', '.join(expected)}")
    unknown = [h for h in header if h not in expected]
    if unknown:
        raise InvalidPriceSheet(f"{name}: unknown column(s) {', '.join(unknown)}; allowed: {', '.join(expected)}")
    rows, seen, problems = [], {}, []
    for number, record in enumerate(records, start=1):
        if not any(cell.strip() for cell in record):
            continue
        where = f"row {number} (line {number + 1})"
        if len(record) != len(header):
            problems.append(f"{where}: has {len(record)} cells, the header has {len(header)}")
            continue
        cells = dict(zip(header, (cell.strip() for cell in record)))
        row, row_problems = {}, []
        for column in columns:
            text = cells[column.name]
            if text.startswith(FORMULA_PREFIXES) and not _is_plain_negative_number(text):
                row_problems.append(f"{where}, column '{column.name}': {text[:40]!r} looks like a "
                                    "spreadsheet formula; only plain values are accepted")
                continue
            if not text:
                if column.required:
                    row_problems.append(f"{where}, column '{column.name}': empty, but required")
                row[column.name] = None
                continue
            try:
                row[column.name] = _convert(column, text)
            except ValueError as exc:
                row_problems.append(f"{where}, column '{column.name}': {exc}")
        if not row_problems and row_check:
            try:
                row_check(row)
            except ValueError as exc:
                row_problems.append(f"{where}: {exc}")
        if not row_problems and key:
            identity = tuple(row[k] for k in key)
            if identity in seen:
                row_problems.append(f"{where}: duplicate of row {seen[identity]} (same {', '.join(key)})")
            seen[identity] = number
        problems += row_problems
        rows.append(row)
    if problems:
        raise InvalidPriceSheet(_problems_message(name, problems))
    if not rows:
        raise InvalidPriceSheet(f"{name}: no data rows under the header")
    return rows


def _problems_message(name: str, problems: list[str]) -> str:
    """One problem on one line; several as a list (at most MAX_LISTED_PROBLEMS), all found at once."""
    if len(problems) == 1:
        return f"{name}: {problems[0]}"
    listed = problems[:MAX_LISTED_PROBLEMS]
    more = f"\n- … and {len(problems) - len(listed)} more" if len(problems) > len(listed) else ""
    return (f"{name}: {len(problems)} problems; nothing of the file is used:\n"
            + "\n".join(f"- {problem}" for problem in listed) + more)


def _is_plain_negative_number(text: str) -> bool:
    """'-1.5' is a (negative) number the type check will reject with a clearer message."""
    try:
        float(text)
        return True
    except ValueError:
        return False
