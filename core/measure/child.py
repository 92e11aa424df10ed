"""The probe subprocess: ``python -m core _probe --spec JSON --run-id ID --out FILE``.

Writes exactly one result (ok or failed) to ``--out``; the parent classifies a missing file
(crash, kill, hang) itself.
"""

from __future__ import annotations

import json
import os
import resource
import traceback
from pathlib import Path

from core.facts.results import failed_result
from core.facts.spec import ProbeSpec


def _limit_memory(limit_bytes: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (limit_bytes, limit_bytes))


def _write(path: str, data: dict) -> None:
    tmp = Path(path + ".tmp")
    tmp.write_text(json.dumps(data), encoding="utf-8")
    os.replace(tmp, path)  # atomic: the parent never reads a half-written result


def _fingerprint_or_empty(device) -> dict:
    """The environment of a failed probe, as far as it can still be read (a successful result
    carries its own)."""
    if device is None:
        return {}
    try:
        from core.measure.env import fingerprint

        return fingerprint(device)
    except Exception:
        return {}


def main(args) -> int:
    from core.measure.runner import is_out_of_memory

    spec = ProbeSpec.from_dict(json.loads(args.spec))
    if args.memory_limit_bytes:
        _limit_memory(args.memory_limit_bytes)
    device = None
    try:
        from core.measure.devices import discover, find
        from core.measure.meters.factory import open_meters
        from core.measure.probe import run_probe

        device = find(spec.device, discover())
        with open_meters(device, args.meters) as meters:
            idle_w = json.loads(args.idle_w) if args.idle_w else None
            result = run_probe(spec, device, args.run_id, meters=meters, idle_w=idle_w)
    except BaseException as exc:  # every failure becomes a stored, explained result
        status = "oom" if is_out_of_memory(exc) else "failed"
        detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        if status == "oom":
            detail = f"out of memory: {detail}. Try a smaller --batch-size or size."
        try:
            _write(args.out, failed_result(spec, args.run_id, status, detail, device_name=device and device.name,
                                           env=_fingerprint_or_empty(device)).to_dict())
        except BaseException:
            traceback.print_exc()
        traceback.print_exc()
        return 1
    _write(args.out, result.to_dict())
    return 0


def idle_main(args) -> int:
    """``python -m core _idle --device ID --seconds S``: print the idle power of each component."""
    from core.measure.devices import discover, find
    from core.measure.meters.factory import measure_idle, open_meters

    device = find(args.device, discover())
    with open_meters(device, "auto") as meters:
        idle_w = measure_idle(meters, args.seconds)
    print(json.dumps({"device": device.id, "idle_w": idle_w}))
    return 0
