"""The spool: finished results whose store write failed wait here, one JSON file each, until the
next run (or ``python -m core recover``) writes them. A measurement is never lost to a locked or
unreachable store.

The spool lives in a fixed per-user folder (``$ACCELSCOPE_STATE_DIR``, else
``$XDG_STATE_HOME/accelscope``, else ``~/.local/state/accelscope``), one sub-folder per store,
named by a hash of the store's URL: no URL (or password) is written to disk.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from core.errors import InvalidResult, StoreError
from core.facts.results import ProbeResult

STATE_ENV_VAR = "ACCELSCOPE_STATE_DIR"


def state_dir() -> Path:
    if os.environ.get(STATE_ENV_VAR):
        return Path(os.environ[STATE_ENV_VAR])
    base = os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state"
    return Path(base) / "accelscope"


def store_identity(store_url: str) -> str:
    """What names one store however its URL is spelled: a SQLite file's resolved path (a relative
    path means the file in the folder it was given from); otherwise the URL without any password."""
    from core.facts.store import masked, sqlite_file

    path = sqlite_file(store_url)
    return f"sqlite:{path.resolve()}" if path is not None else masked(store_url)


def spool_dir(store_url: str) -> Path:
    return state_dir() / "spool" / hashlib.sha256(store_identity(store_url).encode()).hexdigest()[:16]


def spool(result: ProbeResult, store_url: str) -> Path:
    """Keep one result for a later write (atomically: a crash leaves no torn file)."""
    folder = spool_dir(store_url)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{result.id}.json"
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(result.to_dict(), allow_nan=False), encoding="utf-8")
    os.replace(partial, path)
    return path


def spooled(store_url: str) -> list[Path]:
    folder = spool_dir(store_url)
    return sorted(folder.glob("*.json")) if folder.is_dir() else []


@dataclass(frozen=True)
class Recovery:
    written: int = 0
    already_stored: int = 0
    unreadable: tuple[str, ...] = ()  # files kept aside (renamed *.bad), with why
    left: int = 0  # still spooled: the store could not take them now

    def summary(self) -> str:
        parts = [f"wrote {self.written} spooled result(s) to the store"]
        if self.already_stored:
            parts.append(f"{self.already_stored} were already there")
        if self.left:
            parts.append(f"{self.left} still wait (the store could not take them)")
        if self.unreadable:
            parts.append(f"{len(self.unreadable)} unreadable, kept as *.bad: {'; '.join(self.unreadable[:3])}")
        return ", ".join(parts)


def _set_aside(path: Path) -> None:
    """Keep an unusable spool file as *.bad (never over an earlier one), out of the next recover."""
    try:
        path.rename(path.with_name(f"{path.stem}.{os.getpid()}.bad"))
    except FileNotFoundError:
        pass


def recover(store) -> Recovery:
    """Write every result spooled for this store; each file goes once its result is stored."""
    files = spooled(store.url)
    written = already = 0
    unreadable: list[str] = []
    for index, path in enumerate(files):
        try:
            result = ProbeResult.from_dict(json.loads(path.read_text(encoding="utf-8")))
        except FileNotFoundError:  # a parallel recover took it
            continue
        except (OSError, ValueError, TypeError) as exc:
            _set_aside(path)
            unreadable.append(f"{path.name}: {exc}")
            continue
        try:
            if store.add(result):
                written += 1
            else:
                already += 1
        except InvalidResult as exc:
            _set_aside(path)
            unreadable.append(f"{path.name}: {exc}")
            continue
        except StoreError:  # locked, unreachable, read-only: they wait for the next time
            return Recovery(written, already, tuple(unreadable), left=len(files) - index)
        path.unlink(missing_ok=True)
    return Recovery(written, already, tuple(unreadable))
