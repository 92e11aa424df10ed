"""Run a plan of probes, each in its own subprocess with a timeout, storing each result as it lands.

An out-of-memory error, a crash, a hang or a kill costs one failed result (status ``oom``,
``failed`` or ``timeout`` with the reason), never the plan or what is already stored.
"""

from __future__ import annotations

import dataclasses

import contextlib
import fcntl
import functools
import os
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Sequence

from core.errors import DeviceBusy, InvalidResult, StoreError
from core.facts import spool
from core.facts.results import ProbeResult, failed_result, new_id
from core.facts.rows import flat_row
from core.facts.spec import ProbeSpec
from core.facts.store import DB_ENV_VAR
from core.measure import backends, child
from core.measure.backends import Device
from core.paths import REPO_ROOT

STDERR_TAIL_CHARS = 2000
GLIBC_MALLOC_TUNING = {"MALLOC_MMAP_THRESHOLD_": str(32 * 2**20), "MALLOC_TRIM_THRESHOLD_": str(2**40)}


def default_timeout_s(spec: ProbeSpec) -> float:
    """Generous: process start, model build, bounded warm-up, the window, a FLOP-count step."""
    return 300.0 + 10.0 * spec.seconds + (600.0 if spec.compile else 0.0)


@dataclass(frozen=True)
class ProbeEvent:
    """Progress of a plan: ``kind`` is ``start``, ``progress`` (a phase inside the running probe,
    in ``detail``) or ``done`` (with the result)."""

    kind: str
    index: int
    total: int
    spec: ProbeSpec
    elapsed_s: float
    result: ProbeResult | None = None
    detail: dict | None = None

    def to_dict(self) -> dict:
        return {"event": self.kind, "index": self.index, "total": self.total,
                "spec": self.spec.to_dict(), "label": self.spec.label, "elapsed_s": self.elapsed_s,
                "detail": self.detail, "result": self.result.to_dict() if self.result else None,
                "row": flat_row(self.result) if self.result else None}


def _child_env() -> dict:
    env = {k: v for k, v in os.environ.items() if k != DB_ENV_VAR}  # a child never writes a store
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


def run_isolated(spec: ProbeSpec, run_id: str, *, device: Device | None = None, timeout_s: float | None = None,
                 memory_limit_bytes: int | None = None, meters: str = "auto", idle_w: dict | None = None,
                 on_progress: Callable[[dict], None] = lambda detail: None) -> ProbeResult:
    """Run one probe in a fresh ``python -m core _probe`` process and always return a result. The
    child's progress lines are passed to ``on_progress`` as they arrive. ``device`` is the one the
    caller discovered (None: discover it here)."""
    device = device or backends.find(spec.device, backends.discover())
    timeout_s = timeout_s or default_timeout_s(spec)
    started = time.monotonic()
    fail = functools.partial(failed_result, spec, run_id, device_name=device.name, device_identity=device.identity)
    messages: list = []
    command = child.probe_command(spec, device, run_id, meters=meters, memory_limit_bytes=memory_limit_bytes,
                                  idle_w=idle_w, timeout_s=timeout_s)
    with tempfile.TemporaryFile() as err:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=err, stdin=subprocess.DEVNULL,
                                   env=_child_env(), start_new_session=True, text=True, encoding="utf-8")
        reader = threading.Thread(target=_read_messages, args=(process.stdout, messages, on_progress), daemon=True)
        reader.start()
        try:
            returncode = process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            _kill_group(process)
            return fail("timeout", f"no result after {timeout_s:.0f} s; the probe process was killed. "
                                   "Give a longer --timeout or a smaller size/batch.",
                        wall_time_s=time.monotonic() - started)
        except BaseException:
            _kill_group(process)  # cancelled (Ctrl-C, SIGTERM): leave no probe running
            raise
        _kill_group(process)  # what the probe started and left (torch's compile workers) ends with it
        reader.join(timeout=10)
        wall_s = time.monotonic() - started
        results = [m.body.get("result") for m in messages if m.type == child.RESULT]
        if results:
            try:
                return ProbeResult.from_dict(results[-1])
            except (ValueError, TypeError) as exc:
                return fail("failed", f"the probe sent an unreadable result: {exc}", wall_time_s=wall_s)
        err.seek(0)
        stderr_tail = err.read().decode("utf-8", errors="replace")[-STDERR_TAIL_CHARS:].strip()
    status, reason = child.classify_exit(returncode, stderr_tail)
    return fail(status, reason, wall_time_s=wall_s)


def _read_messages(stream, messages: list, on_progress: Callable[[dict], None]) -> None:
    for line in stream:
        message = child.parse_line(line)
        if message is None:
            continue
        messages.append(message)
        if message.type == child.PROGRESS:
            on_progress(message.body)


def _kill_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    process.wait()


LOCK_DIR_ENV_VAR = "ACCELSCOPE_LOCK_DIR"


def lock_dir() -> Path:
    """One fixed folder per user, whatever ``TMPDIR`` says (two runs with different TMPDIRs once
    measured one CPU at the same time). ``$ACCELSCOPE_LOCK_DIR`` overrides it, for tests that must
    not contend with a real run; a run that bypasses the lock that way is still caught: the probe
    looks for other probes on its device (core.measure.contention) and flags the result."""
    if os.environ.get(LOCK_DIR_ENV_VAR):
        path = Path(os.environ[LOCK_DIR_ENV_VAR])
        path.mkdir(parents=True, exist_ok=True)
        return path
    path = Path("/tmp") / f"accelscope-{os.getuid()}" / "locks"
    for folder in (path.parent, path):
        _private_folder(folder)
    return path


def _private_folder(folder: Path) -> None:
    """Create ``folder`` for this user alone, or refuse one that another user made or can write
    (in /tmp anyone could plant it, with a link in it that our lock file would truncate)."""
    try:
        os.mkdir(folder, 0o700)
    except FileExistsError:
        pass
    info = os.lstat(folder)
    if stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid() and info.st_mode & 0o077:
        os.chmod(folder, 0o700)  # ours, but others could enter it: close it
        info = os.lstat(folder)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise DeviceBusy(f"the lock folder {folder} is not a private folder of this user (owner uid {info.st_uid}, "
                         f"mode {oct(info.st_mode & 0o777)}); someone else may have made it. Remove it, or set "
                         f"{LOCK_DIR_ENV_VAR} to a folder of your own.")


@contextlib.contextmanager
def device_locks(device_ids: Sequence[str]) -> Iterator[None]:
    """Hold an exclusive lock on each device for the whole plan, or raise DeviceBusy at once.
    Locks are flock()s: the OS releases them if the holder dies."""
    held = []
    try:
        for device_id in sorted(set(device_ids)):
            path = lock_dir() / (device_id.replace(":", "_") + ".lock")
            try:  # never through a link: a planted one would make us truncate its target
                handle = os.fdopen(os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600), "r+")
            except OSError as exc:
                raise DeviceBusy(f"cannot open the lock file {path} ({exc.strerror}); if it is a link, someone "
                                 "else planted it: remove it") from None
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


def measure_idle_isolated(device: Device, seconds: float) -> dict[str, float]:
    """Idle power per component of one device, measured in its own process; {} if it failed
    (results then carry gross energy only, and say so with a null above-idle figure)."""
    try:
        proc = subprocess.run(child.idle_command(device, seconds, seconds + 120), capture_output=True, text=True,
                              env=_child_env(), timeout=seconds + 120, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return {}
    messages = [child.parse_line(line) for line in proc.stdout.splitlines()]
    idle = [m.body.get("idle_w") for m in messages if m is not None and m.type == child.IDLE]
    return idle[-1] if proc.returncode == 0 and idle and isinstance(idle[-1], dict) else {}


def run_plan(specs: Sequence[ProbeSpec], store, *, devices: Sequence[Device] | None = None,
             run_id: str | None = None, timeout_s: float | None = None, memory_limit_bytes: int | None = None,
             meters: str = "auto", on_event: Callable[[ProbeEvent], None] = lambda e: None,
             idle_seconds: float = 3.0, clock: Callable[[], float] = time.monotonic) -> list[ProbeResult]:
    """Run each spec in its own process, store each result as it lands, return them all.
    ``devices`` are the ones the caller discovered and checked the plan against (None: discover).
    With meters on, each device's idle power is measured first (``idle_seconds``)."""
    run_id = run_id or new_id()
    devices = devices if devices is not None else backends.discover()
    by_id = {spec.device: backends.find(spec.device, devices) for spec in specs}
    results: list[ProbeResult] = []
    started = clock()
    with device_locks([device.id for device in by_id.values()]):  # canonical ids: cuda and cuda:0 are one lock
        idle_by_device: dict[str, dict] = {}
        if meters != "none" and idle_seconds > 0:
            for device_id, device in by_id.items():
                idle_by_device[device_id] = measure_idle_isolated(device, idle_seconds)
        for index, spec in enumerate(specs):
            on_event(ProbeEvent("start", index, len(specs), spec, clock() - started))

            def relay(detail: dict, index: int = index, spec: ProbeSpec = spec) -> None:
                on_event(ProbeEvent("progress", index, len(specs), spec, clock() - started, detail=detail))

            result = run_isolated(spec, run_id, device=by_id[spec.device], timeout_s=timeout_s,
                                  memory_limit_bytes=memory_limit_bytes, meters=meters,
                                  idle_w=idle_by_device.get(spec.device), on_progress=relay)
            result = dataclasses.replace(result, launch_id=launch_id()) if launch_id() else result
            results.append(result)
            on_event(ProbeEvent("done", index, len(specs), spec, clock() - started, result,
                                detail=store_or_spool(result, store)))
    return results


LAUNCH_ID_ENV = "ACCELSCOPE_LAUNCH_ID"  # set by a fleet task (python -m core fleet): which launch made a result


def launch_id() -> str | None:
    """The fleet launch this process belongs to, if any (at most 64 characters, as stored)."""
    value = os.environ.get(LAUNCH_ID_ENV, "").strip()
    return value[:64] or None


def store_or_spool(result: ProbeResult, store) -> dict | None:
    """Store a finished result; if the store cannot take it, spool it for the next run (see
    core.facts.spool) and say so. None when stored."""
    try:
        store.add(result)
        return None
    except InvalidResult as exc:  # cannot be stored anywhere: say so, and go on with the plan
        return {"refused": str(exc)}
    except StoreError as exc:
        try:
            path = spool.spool(result, store.url)
        except OSError as spool_error:
            return {"refused": f"{exc}; and it could not be spooled either ({spool_error})"}
        return {"spooled": str(path), "reason": str(exc)}


def quick_inference_plan(devices, seconds: float = 2.0, batches: tuple[int, ...] = (1, 32)) -> list[ProbeSpec]:
    """The quick plan's workloads and precisions as inference probes, one per batch size: batch 1 for
    a single request's latency, a larger one for throughput."""
    return [dataclasses.replace(spec, mode="infer", batch_size=batch)
            for spec in quick_plan(devices, seconds) for batch in batches]


def quick_plan(devices, seconds: float = 2.0) -> list[ProbeSpec]:
    """mlp, cnn S and transformer S in fp32 and bf16 on each device that runs them natively
    (an emulated bf16 measures the emulation, not the hardware: ask for it explicitly)."""
    specs = []
    for device in devices:
        for workload in ("mlp", "cnn", "transformer"):
            for precision in ("fp32", "bf16"):
                if precision in device.precisions and precision not in device.emulated_precisions:
                    specs.append(ProbeSpec(workload=workload, size="S", device=device.id,
                                           precision=precision, seconds=seconds))
    return specs
