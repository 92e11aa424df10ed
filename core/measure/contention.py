"""Other Accelscope probes on the same device, seen from the process table (Linux /proc).

The device lock (core.measure.runner.device_locks) keeps two runs of one user apart; this catches
what a lock cannot: another user, another lock folder, another checkout. A probe counts the other
probe processes whose ``--device`` names its device at the start and the end of its timed window,
and a result measured beside one is flagged contended.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

PROC = Path("/proc")
CHILD_COMMANDS = (b"_probe", b"_idle")


def _device_of(argv: list[bytes]) -> str | None:
    """The device id a probe child's command line names (its ``--device`` JSON)."""
    try:
        raw = argv[argv.index(b"--device") + 1]
        return json.loads(raw.decode()).get("id")
    except (ValueError, IndexError, AttributeError, UnicodeDecodeError):
        return None


def _session(pid: int) -> int | None:
    try:
        return os.getsid(pid)
    except OSError:
        return None


def other_probes(device_id: str, proc: Path = PROC, own_pid: int | None = None) -> list[int]:
    """Pids of other probe processes measuring ``device_id`` (``[]`` where /proc is not readable)."""
    own_pid = own_pid if own_pid is not None else os.getpid()
    own_session = _session(own_pid)  # a probe runs in its own session: its forked workers are not others
    found = []
    try:
        entries = list(proc.glob("[0-9]*"))
    except OSError:
        return []
    for entry in entries:
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:  # gone, or not ours to read
            continue
        if int(entry.name) == own_pid or b"core" not in argv or not any(c in argv for c in CHILD_COMMANDS):
            continue
        if _device_of(argv) == device_id and (own_session is None or _session(int(entry.name)) != own_session):
            found.append(int(entry.name))
    return sorted(found)
