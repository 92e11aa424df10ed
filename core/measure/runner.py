"""Run a plan of probes, each in its own subprocess with a timeout, storing each result as it lands.

An out-of-memory error, a crash, a hang or a kill costs one failed result (status ``oom``,
``failed`` or ``timeout`` with the reason), never the plan or what is already stored.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Sequence

from core.errors import DeviceBusy
from core.paths import REPO_ROOT
from core.facts.results import ProbeResult, failed_result, new_id
from core.facts.spec import ProbeSpec

STDERR_TAIL_CHARS = 2000
GLIBC_MALLOC_TUNING = {"MALLOC_MMAP_THRESHOLD_": str(32 * 2**20), "MALLOC_TRIM_THRESHOLD_": str(2**40)}


def default_timeout_s(spec: ProbeSpec) -> float:
    """Generous: process start, model build, bounded warm-up, the window, a FLOP-count step."""
    return 300.0 + 10.0 * spec.seconds + (600.0 if spec.compile else 0.0)


OOM_MARKERS = ("out of memory", "can't allocate memory", "cannot allocate memory")


def mentions_out_of_memory(text: str) -> bool:
    return any(marker in text.lower() for marker in OOM_MARKERS)


def is_out_of_memory(exc: BaseException) -> bool:
    return isinstance(exc, MemoryError) or type(exc).__name__ == "OutOfMemoryError" or mentions_out_of_memory(str(exc))


@dataclass(frozen=True)
class ProbeEvent:
    """Progress of a plan: ``kind`` is ``start`` (result None) or ``done``."""

    kind: str
    index: int
    total: int
    spec: ProbeSpec
    elapsed_s: float
    result: ProbeResult | None = None

    def to_dict(self) -> dict:
        return {"event": self.kind, "index": self.index, "total": self.total,
                "spec": self.spec.to_dict(), "label": self.spec.label, "elapsed_s": self.elapsed_s,
                "result": self.result.to_dict() if self.result else None}


def _signal_name(returncode: int) -> str:
    try:
        return signal.Signals(-returncode).name
    except ValueError:
        return f"signal {-returncode}"


def _child_env() -> dict:
    env = dict(os.environ)
    paths = [str(REPO_ROOT), os.getcwd()]
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env.setdefault("PYTHONUNBUFFERED", "1")
    if sys.platform.startswith("linux"):
        # glibc would return big activations to the OS after every step and fault them back in,
        # adding page-zeroing time and jitter to CPU step times (PyTorch's CPU tuning guide
        # recommends a caching allocator for the same reason). Keep freed memory instead.
        for name, value in GLIBC_MALLOC_TUNING.items():
            env.setdefault(name, value)
    return env


def run_isolated(spec: ProbeSpec, run_id: str, *, timeout_s: float | None = None,
                 memory_limit_bytes: int | None = None, meters: str = "auto",
                 idle_w: dict | None = None) -> ProbeResult:
    """Run one probe in a fresh ``python -m core _probe`` process; always return a result."""
    timeout_s = timeout_s or default_timeout_s(spec)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="accelscope-probe-") as tmp:
        out_path = Path(tmp) / "result.json"
        err_path = Path(tmp) / "stderr.txt"
        command = [sys.executable, "-m", "core", "_probe", "--spec", spec.to_json(),
                   "--run-id", run_id, "--out", str(out_path), "--meters", meters]
        if memory_limit_bytes:
            command += ["--memory-limit-bytes", str(memory_limit_bytes)]
        if idle_w:
            command += ["--idle-w", json.dumps(idle_w)]
        with open(err_path, "wb") as err:
            process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=err,
                                       stdin=subprocess.DEVNULL, env=_child_env(),
                                       start_new_session=True)
            try:
                returncode = process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                _kill_group(process)
                return failed_result(spec, run_id, "timeout",
                                     f"no result after {timeout_s:.0f} s; the probe process was killed. "
                                     "Give a longer --timeout or a smaller size/batch.",
                                     wall_time_s=time.monotonic() - started)
            except BaseException:
                _kill_group(process)  # cancelled (Ctrl-C, SIGTERM): leave no probe running
                raise
        wall_s = time.monotonic() - started
        if out_path.exists():
            try:
                return ProbeResult.from_dict(json.loads(out_path.read_text(encoding="utf-8")))
            except (ValueError, OSError) as exc:
                return failed_result(spec, run_id, "failed", f"the probe wrote an unreadable result: {exc}",
                                     wall_time_s=wall_s)
        stderr_tail = err_path.read_text(encoding="utf-8", errors="replace")[-STDERR_TAIL_CHARS:].strip()
        if returncode < 0:
            name = _signal_name(returncode)
            hint = " (SIGKILL often means the kernel's out-of-memory killer)" if name == "SIGKILL" else ""
            return failed_result(spec, run_id, "failed", f"the probe process was killed by {name}{hint}",
                                 wall_time_s=wall_s)
        status = "oom" if mentions_out_of_memory(stderr_tail) else "failed"
        return failed_result(spec, run_id, status,
                             f"the probe process exited with code {returncode}: {stderr_tail or 'no output'}",
                             wall_time_s=wall_s)


def _kill_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    process.wait()


def lock_dir() -> Path:
    path = Path(os.environ.get("ACCELSCOPE_LOCK_DIR", Path(tempfile.gettempdir()) / "accelscope-locks"))
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextlib.contextmanager
def device_locks(device_ids: Sequence[str]) -> Iterator[None]:
    """Hold an exclusive lock on each device for the whole plan, or raise DeviceBusy at once.
    Locks are flock()s: the OS releases them if the holder dies."""
    held = []
    try:
        for device_id in sorted(set(device_ids)):
            path = lock_dir() / (device_id.replace(":", "_") + ".lock")
            handle = open(path, "a+")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.seek(0)
                holder = handle.read().strip() or "another process"
                handle.close()
                raise DeviceBusy(
                    f"{device_id} is being measured by another probe run ({holder}); running now would "
                    "corrupt both measurements. Wait for it to finish or cancel it, then try again."
                ) from None
            handle.seek(0)
            handle.truncate()
            handle.write(f"pid {os.getpid()}, since {time.strftime('%H:%M:%S')}")
            handle.flush()
            held.append(handle)
        yield
    finally:
        for handle in held:
            handle.close()


def measure_idle_isolated(device_id: str, seconds: float) -> dict[str, float]:
    """Idle power per component of one device, measured in its own process; {} if it failed
    (results then carry gross energy only, and say so with a null above-idle figure)."""
    command = [sys.executable, "-m", "core", "_idle", "--device", device_id, "--seconds", str(seconds)]
    try:
        proc = subprocess.run(command, capture_output=True, text=True, env=_child_env(),
                              timeout=seconds + 120, stdin=subprocess.DEVNULL)
        return json.loads(proc.stdout.strip().splitlines()[-1])["idle_w"] if proc.returncode == 0 else {}
    except (subprocess.TimeoutExpired, ValueError, IndexError, KeyError):
        return {}


def run_plan(specs: Sequence[ProbeSpec], store, *, run_id: str | None = None,
             timeout_s: float | None = None, memory_limit_bytes: int | None = None,
             meters: str = "auto", on_event: Callable[[ProbeEvent], None] = lambda e: None,
             idle_seconds: float = 3.0, clock: Callable[[], float] = time.monotonic) -> list[ProbeResult]:
    """Run each spec in its own process, store each result as it lands, return them all.
    With meters on, each device's idle power is measured first (``idle_seconds``)."""
    run_id = run_id or new_id()
    results: list[ProbeResult] = []
    started = clock()
    with device_locks([s.device for s in specs]):
        idle_by_device: dict[str, dict] = {}
        if meters != "none" and idle_seconds > 0:
            for device_id in dict.fromkeys(s.device for s in specs):
                idle_by_device[device_id] = measure_idle_isolated(device_id, idle_seconds)
        for index, spec in enumerate(specs):
            on_event(ProbeEvent("start", index, len(specs), spec, clock() - started))
            result = run_isolated(spec, run_id, timeout_s=timeout_s, memory_limit_bytes=memory_limit_bytes,
                                  meters=meters, idle_w=idle_by_device.get(spec.device))
            store.add(result)
            results.append(result)
            on_event(ProbeEvent("done", index, len(specs), spec, clock() - started, result))
    return results


def quick_plan(devices, seconds: float = 2.0) -> list[ProbeSpec]:
    """mlp, cnn S and transformer S in fp32 and bf16 on each device that supports them."""
    specs = []
    for device in devices:
        for workload in ("mlp", "cnn", "transformer"):
            for precision in ("fp32", "bf16"):
                if precision in device.precisions:
                    specs.append(ProbeSpec(workload=workload, size="S", device=device.id,
                                           precision=precision, seconds=seconds))
    return specs
