"""Export and import of results as a JSON bundle, validated whole before anything is imported."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Sequence

from core.errors import InvalidImport
from core.facts.results import ProbeResult
from core.facts.store import ValidatedResults
from core.facts.validation import result_problems

BUNDLE_FORMAT = "accelscope-results"
BUNDLE_VERSION = 1


MAX_LISTED_PROBLEMS = 25


def to_bundle(results: Sequence[ProbeResult]) -> dict:
    return {"format": BUNDLE_FORMAT, "version": BUNDLE_VERSION,
            "results": [r.to_dict() for r in results]}


def bundle_json(results: Sequence[ProbeResult], indent: int | None = 1) -> str:
    """The bundle as standard JSON: a NaN or infinity (which JSON has no words for) is refused,
    never written as the non-standard ``NaN`` other readers choke on."""
    try:
        return json.dumps(to_bundle(results), indent=indent, allow_nan=False)
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
    if isinstance(data, dict):
        if data.get("format") != BUNDLE_FORMAT:
            raise InvalidImport(f"{name}: not an Accelscope results bundle (expected \"format\": "
                                f"\"{BUNDLE_FORMAT}\")")
        version = data.get("version")
        if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= BUNDLE_VERSION:
            raise InvalidImport(f"{name}: bundle version {version!r} is not supported: this Accelscope reads "
                                f"version {BUNDLE_VERSION}" + (" (upgrade Accelscope for newer bundles)"
                                                               if isinstance(version, int) and version > 1 else "")
                                + ". Nothing was imported.")
        records = data.get("results")
    else:
        records = data
    if not isinstance(records, list):
        raise InvalidImport(f"{name}: expected a list of results. Nothing was imported.")
    results, seen, problems = [], set(), []
    for index, record in enumerate(records, start=1):
        label = f"record {index}"
        if isinstance(record, dict) and isinstance(record.get("id"), str):
            label += f" (id {record['id'][:64]})"
        try:
            result = ProbeResult.from_dict(record)
        except (ValueError, TypeError) as exc:
            problems.append(f"{label}: {exc}")
            continue
        found = result_problems(result)
        if result.id in seen:
            found.append("duplicate id")
        seen.add(result.id)
        if found:
            problems.append(f"{label}: " + "; ".join(found))
        results.append(result)
    if problems:
        listed = problems[:MAX_LISTED_PROBLEMS]
        more = len(problems) - len(listed)
        raise InvalidImport(f"{name}: {len(problems)} of {len(records)} record(s) are invalid. Nothing was imported.\n"
                            + "\n".join(f"- {p}" for p in listed) + (f"\n- … and {more} more" if more else ""))
    return ValidatedResults(results)


def read_bundle(path: str | Path) -> list[ProbeResult]:
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InvalidImport(f"{path}: cannot read ({exc.strerror})") from None
    return parse_bundle(raw, str(path))
