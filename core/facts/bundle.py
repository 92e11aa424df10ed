"""Export and import of results as a JSON bundle, validated whole before anything is imported."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

from core.errors import InvalidImport
from core.facts.results import ProbeResult

BUNDLE_FORMAT = "accelscope-results"
BUNDLE_VERSION = 1


def to_bundle(results: Sequence[ProbeResult]) -> dict:
    return {"format": BUNDLE_FORMAT, "version": BUNDLE_VERSION,
            "results": [r.to_dict() for r in results]}


def write_bundle(path: str | Path, results: Sequence[ProbeResult]) -> None:
    Path(path).write_text(json.dumps(to_bundle(results), indent=1), encoding="utf-8")


def parse_bundle(raw: bytes | str, name: str = "import file") -> list[ProbeResult]:
    """Parse and validate a whole bundle; raise InvalidImport naming the record and field."""
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
    if isinstance(data, dict):
        if data.get("format") != BUNDLE_FORMAT:
            raise InvalidImport(f"{name}: not an Accelscope results bundle (expected \"format\": "
                                f"\"{BUNDLE_FORMAT}\")")
        if not isinstance(data.get("version"), int) or data["version"] > BUNDLE_VERSION:
            raise InvalidImport(f"{name}: bundle version {data.get('version')!r} is not supported "
                                f"(this Accelscope reads up to {BUNDLE_VERSION}); upgrade Accelscope")
        records = data.get("results")
    else:
        records = data
    if not isinstance(records, list):
        raise InvalidImport(f"{name}: expected a list of results")
    results, seen = [], set()
    for index, record in enumerate(records, start=1):
        label = f"record {index}"
        if isinstance(record, dict) and isinstance(record.get("id"), str):
            label += f" (id {record['id']})"
        try:
            result = ProbeResult.from_dict(record)
        except (ValueError, TypeError) as exc:
            raise InvalidImport(f"{name}: {label}: {exc}. Nothing was imported.") from None
        if result.id in seen:
            raise InvalidImport(f"{name}: {label}: duplicate id. Nothing was imported.")
        seen.add(result.id)
        results.append(result)
    return results


def read_bundle(path: str | Path) -> list[ProbeResult]:
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InvalidImport(f"{path}: cannot read ({exc.strerror})") from None
    return parse_bundle(raw, str(path))
