"""Run a probe plan in a background ``python -m core suite`` process and follow its events.

The dashboard process never imports torch: probes run in that subprocess (and each probe in its
own child of it). No streamlit here.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from core.facts.store import DB_ENV_VAR
from core.paths import REPO_ROOT

# How the suite CLI exits when it is cancelled (Cancel sends SIGTERM; Ctrl-C in a terminal is SIGINT).
CANCELLED_EXIT_CODES = (128 + signal.SIGTERM, 128 + signal.SIGINT)


@dataclass
class PlanRun:
    """A running (or finished) plan. Holds the process handle, so it lives in session state."""

    process: subprocess.Popen
    folder: Path
    total: int
    started_at: float = field(default_factory=time.time)

    @property
    def events_path(self) -> Path:
        return self.folder / "events.jsonl"

    @property
    def stderr_path(self) -> Path:
        return self.folder / "stderr.txt"

    @property
    def returncode(self) -> int | None:
        return self.process.poll()

    @property
    def running(self) -> bool:
        return self.returncode is None

    def events(self) -> list[dict]:
        if not self.events_path.exists():
            return []
        lines = self.events_path.read_text(encoding="utf-8").splitlines()
        out = []
        for line in lines:
            try:
                out.append(json.loads(line))
            except ValueError:  # a line still being written
                break
        return out

    def stderr(self) -> str:
        if not self.stderr_path.exists():
            return ""
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    def cleanup(self) -> None:
        """Remove the run's folder (plan, events, stderr) once it is finished and shown."""
        if not self.running:
            shutil.rmtree(self.folder, ignore_errors=True)

    def cancel(self) -> None:
        """SIGTERM the plan: the CLI kills its running probe and stops; stored results stay."""
        if self.running:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass


IDLE_SECONDS = 3.0  # idle-power baseline per device before a plan with meters on


def start_plan(specs: list[dict], db_url: str, *, meters: str = "auto", idle_seconds: float = IDLE_SECONDS) -> PlanRun:
    folder = Path(tempfile.mkdtemp(prefix="accelscope-run-"))
    (folder / "plan.json").write_text(json.dumps(specs), encoding="utf-8")
    command = [sys.executable, "-m", "core", "suite", "--plan", str(folder / "plan.json"),
               "--events", str(folder / "events.jsonl"), "--json", "--meters", meters,
               "--idle-seconds", str(idle_seconds)]
    # The store URL goes through the environment, never the command line: a URL's password would
    # be readable by every local user in the process list.
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
               **{DB_ENV_VAR: db_url})
    with open(folder / "stderr.txt", "wb") as stderr:
        process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=stderr,
                                   stdin=subprocess.DEVNULL, env=env, start_new_session=True)
    return PlanRun(process, folder, len(specs))


def discover_devices(timeout_s: float = 120) -> tuple[list[dict], str | None]:
    """Devices as ``python -m core devices --json`` sees them (in a subprocess: no torch here)."""
    try:
        proc = subprocess.run([sys.executable, "-m", "core", "devices", "--json"], cwd=REPO_ROOT,
                              capture_output=True, text=True, timeout=timeout_s, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return [], f"device discovery took longer than {timeout_s:.0f} s"
    if proc.returncode != 0:
        return [], proc.stderr.strip()[-500:] or f"device discovery failed (exit {proc.returncode})"
    return json.loads(proc.stdout), None
