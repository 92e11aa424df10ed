"""The probe-child protocol, both sides: ``python -m core _probe`` (one probe) and ``_idle`` (idle
power), their arguments, the JSON lines they print, and how a parent classifies how one ended.

The child prints one JSON object per line on stdout: ``{"type": "progress", "phase": ...}`` as
the probe goes (build, warm-up, window, flops, done) and exactly one ``{"type": "result",
"result": {...}}`` (ok or failed) at the end. Anything else the probe prints goes to stderr, so
stdout carries only the protocol. A parent that reads no result line classifies the end itself
(:func:`classify_exit`): out of memory, killed by a signal, crashed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import signal
import sys
import threading
import time
import traceback
from dataclasses import dataclass
from typing import IO, Callable, NoReturn, Sequence

OOM_MARKERS = ("out of memory", "can't allocate memory", "cannot allocate memory")
RESULT, PROGRESS, IDLE = "result", "progress", "idle"
PR_SET_PDEATHSIG = 1  # linux/prctl.h
EXIT_ORPHANED = 125
DEADLINE_GRACE_S = 30.0  # the child's own deadline comes after the runner's timeout, which classifies it first


def mentions_out_of_memory(text: str) -> bool:
    return any(marker in text.lower() for marker in OOM_MARKERS)


def is_out_of_memory(exc: BaseException) -> bool:
    return isinstance(exc, MemoryError) or type(exc).__name__ == "OutOfMemoryError" or mentions_out_of_memory(str(exc))


# --- the parent's side ---------------------------------------------------------------------------

def probe_command(spec, device, run_id: str, *, meters: str = "auto", memory_limit_bytes: int | None = None,
                  idle_w: dict | None = None, timeout_s: float | None = None) -> list[str]:
    """The command line that runs one probe in a child process. It names no store: a child never
    writes one (and a store URL may hold a password, which a process list would show)."""
    command = [sys.executable, "-m", "core", "_probe", "--spec", spec.to_json(), "--device",
               json.dumps(device.to_dict()), "--run-id", run_id, "--meters", meters,
               "--parent-pid", str(os.getpid())]
    if timeout_s:
        command += ["--deadline-s", f"{timeout_s + DEADLINE_GRACE_S:.0f}"]
    if memory_limit_bytes:
        command += ["--memory-limit-bytes", str(memory_limit_bytes)]
    if idle_w:
        command += ["--idle-w", json.dumps(idle_w)]
    return command


def idle_command(device, seconds: float, timeout_s: float) -> list[str]:
    return [sys.executable, "-m", "core", "_idle", "--device", json.dumps(device.to_dict()), "--seconds", str(seconds),
            "--parent-pid", str(os.getpid()), "--deadline-s", f"{timeout_s + DEADLINE_GRACE_S:.0f}"]


@dataclass(frozen=True)
class Message:
    type: str
    body: dict


def parse_line(line: str) -> Message | None:
    """One protocol line, or None for anything else (a torn last line of a killed child)."""
    try:
        data = json.loads(line)
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("type"), str):
        return None
    return Message(data["type"], data)


def signal_name(returncode: int) -> str:
    try:
        return signal.Signals(-returncode).name
    except ValueError:
        return f"signal {-returncode}"


def classify_exit(returncode: int, stderr_tail: str) -> tuple[str, str]:
    """(status, reason) of a child that ended without a result line."""
    if returncode < 0:
        name = signal_name(returncode)
        hint = " (SIGKILL often means the kernel's out-of-memory killer)" if name == "SIGKILL" else ""
        return "failed", f"the probe process was killed by {name}{hint}"
    status = "oom" if mentions_out_of_memory(stderr_tail) else "failed"
    return status, f"the probe process exited with code {returncode}: {stderr_tail or 'no output'}"


# --- the child's side ----------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core", description="internal: the probe child process")
    sub = parser.add_subparsers(dest="command", required=True)
    probe = sub.add_parser("_probe")
    probe.add_argument("--spec", required=True, help="the ProbeSpec as JSON")
    probe.add_argument("--device", required=True, help="the Device as JSON, as the parent discovered it")
    probe.add_argument("--run-id", required=True)
    probe.add_argument("--meters", default="auto", choices=("auto", "none"))
    probe.add_argument("--memory-limit-bytes", type=int)
    probe.add_argument("--idle-w", help="JSON: idle power per component, measured before the plan")
    idle = sub.add_parser("_idle")
    idle.add_argument("--device", required=True, help="the Device as JSON")
    idle.add_argument("--seconds", type=float, default=3.0)
    for command in (probe, idle):
        command.add_argument("--parent-pid", type=int, help="die when this process (the runner) is gone")
        command.add_argument("--deadline-s", type=float, help="die after this many seconds, whatever happens")
    return parser


def die_with_parent(parent_pid: int | None, deadline_s: float | None) -> None:
    """A probe child never outlives its runner or its timeout: on Linux the kernel kills it when
    the runner dies (PR_SET_PDEATHSIG, even after ``kill -9``); everywhere a watchdog thread
    checks the runner's pid and the deadline twice a second."""
    if parent_pid is None and deadline_s is None:
        return
    if parent_pid is not None and sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        except (OSError, AttributeError):
            pass
    if parent_pid is not None and os.getppid() != parent_pid:  # the runner died before the line above
        os._exit(EXIT_ORPHANED)
    started = time.monotonic()

    def watch() -> None:
        while True:
            time.sleep(0.5)
            if parent_pid is not None and os.getppid() != parent_pid:
                os._exit(EXIT_ORPHANED)
            if deadline_s is not None and time.monotonic() - started > deadline_s:
                os.kill(os.getpid(), signal.SIGKILL)

    threading.Thread(target=watch, name="accelscope-watchdog", daemon=True).start()


def protocol_stream() -> IO[str]:
    """A private handle on stdout for protocol lines; fd 1 then points at stderr, so whatever else
    the probe (torch, a custom workload, CodeCarbon) prints cannot corrupt the protocol."""
    sys.stdout.flush()
    stream = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)
    return stream


def emitter(stream: IO[str]) -> Callable[..., None]:
    def emit(message_type: str, **body) -> None:
        stream.write(json.dumps({"type": message_type, **body}) + "\n")
        stream.flush()
    return emit


def main(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(argv)
    die_with_parent(args.parent_pid, args.deadline_s)
    emit = emitter(protocol_stream())
    return probe_main(args, emit) if args.command == "_probe" else idle_main(args, emit)


def end_now(code: int) -> NoReturn:
    """End the child once its last protocol line is out (flushed as it was written), its output and log
    handlers flushed, without the interpreter's teardown: after a probe, freeing torch's modules and
    objects took about a second that the runner waited for before the next probe could start (see
    BENCHMARKS.md). Other exit hooks do not run (a custom workload's own atexit functions); whatever the
    probe started and left running (torch's compile workers) the runner ends with the child's session."""
    if "logging" in sys.modules:
        sys.modules["logging"].shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):  # closed, or its reader gone: nothing more to tell
            stream.flush()
    os._exit(code)


def probe_main(args, emit: Callable[..., None]) -> int:
    from core.facts.results import failed_result
    from core.facts.spec import ProbeSpec
    from core.measure.backends import Device

    spec = ProbeSpec.from_dict(json.loads(args.spec))
    device = Device.from_dict(json.loads(args.device))
    if args.memory_limit_bytes:
        resource.setrlimit(resource.RLIMIT_AS, (args.memory_limit_bytes, args.memory_limit_bytes))
    backend = None
    try:
        from core.measure.backends import open_backend
        from core.measure.probe import run_probe

        backend = open_backend(device)
        with backend.meters(args.meters) as meters:
            idle_w = json.loads(args.idle_w) if args.idle_w else None
            result = run_probe(spec, backend, args.run_id, meters=meters, idle_w=idle_w,
                               on_phase=lambda phase, **detail: emit(PROGRESS, phase=phase, **detail))
    except BaseException as exc:  # every failure becomes a stored, explained result
        status = "oom" if is_out_of_memory(exc) else "failed"
        detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        if status == "oom":
            detail = f"out of memory: {detail}. Try a smaller --batch-size or size."
        traceback.print_exc()
        emit(RESULT, result=failed_result(spec, args.run_id, status, detail, device_name=device.name,
                                          device_identity=device.identity, env=_fingerprint_or_empty(backend)).to_dict())
        return 1
    emit(RESULT, result=result.to_dict())
    return 0


def _fingerprint_or_empty(backend) -> dict:
    """The environment of a failed probe, as far as it can still be read (nothing if even the
    device's backend could not be opened)."""
    if backend is None:
        return {}
    try:
        from core.measure.env import fingerprint

        return fingerprint(backend)
    except Exception:
        return {}


def idle_main(args, emit: Callable[..., None]) -> int:
    """Print the idle power of each component of the device's meters."""
    from core.measure.backends import Device, open_backend
    from core.measure.meters.factory import measure_idle

    device = Device.from_dict(json.loads(args.device))
    with open_backend(device).meters("auto") as meters:
        emit(IDLE, device=device.id, idle_w=measure_idle(meters, args.seconds))
    return 0
