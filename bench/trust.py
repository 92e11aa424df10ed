"""What the trust guarantees cost and how fast they act: ``python -m bench trust``.

- opening a store (``PRAGMA quick_check`` on SQLite) at 10k and 100k results;
- validating an import (parse + core.facts.validation) per result;
- a parallel import of overlapping bundles (4 processes) on SQLite;
- how long a probe child outlives a ``kill -9`` of its suite.
"""

from __future__ import annotations

import dataclasses
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _results(count: int):
    from core.facts.bundle import read_bundle
    from core.facts.results import new_id

    base = read_bundle(next((REPO / "data" / "samples").glob("*.json")))
    return [dataclasses.replace(base[i % len(base)], id=new_id(), run_id=f"trust-{i // 100}") for i in range(count)]


def store_open(sizes=(10_000, 100_000)) -> None:
    from core.facts.store import Store

    print("| results | store open (quick_check) s | without the check s |\n|---:|---:|---:|")
    for size in sizes:
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite:///{folder}/s.db"
            store = Store(url)
            results = _results(size)
            for start in range(0, size, 10_000):
                store.add_many(results[start:start + 10_000])
            store.close()
            started = time.perf_counter()
            Store(url).close()
            with_check = time.perf_counter() - started
            original = Store._quick_check
            Store._quick_check = lambda self: None
            try:
                started = time.perf_counter()
                Store(url).close()
                without = time.perf_counter() - started
            finally:
                Store._quick_check = original
            print(f"| {size:,} | {with_check:.3f} | {without:.3f} |")


def import_validation(count: int = 10_000) -> None:
    from core.facts.bundle import bundle_json, parse_bundle

    text = bundle_json(_results(count))
    started = time.perf_counter()
    parse_bundle(text)
    parse_s = time.perf_counter() - started
    print(f"\nparse + validate a {count:,}-result bundle ({len(text) / 1e6:.1f} MB): {parse_s:.2f} s "
          f"({parse_s / count * 1e6:.0f} µs per result)")


def import_throughput(count: int = 20_000, steps: int = 300, rounds: int = 2, baseline: str | None = None,
                      version_1: bool = True) -> None:
    """``python -m core import`` of one bundle end to end, results with ``steps`` step times each (a
    3 s window of 10 ms steps); ``baseline``: another checkout to compare with, interleaved. Each checkout
    imports the newest bundle version it reads (this one: version 2, step times packed); ``version_1``:
    this checkout imports the same results as a version-1 bundle (step times as JSON lists) too."""
    from core.facts.bundle import BUNDLE_FORMAT, bundle_json

    noise = random.Random(0)  # step times as a clock measures them: full float64 precision, not round decimals
    results = [dataclasses.replace(r, step_times_s=tuple(0.01 * noise.lognormvariate(0, 0.05) for _ in range(steps)))
               for r in _results(count)]
    runs = [("this", REPO, 2)] + ([("this", REPO, 1)] if version_1 else [])
    if baseline:
        runs.append(("baseline", Path(baseline), _bundle_version(Path(baseline))))
    print(f"\n| round | checkout | bundle version (MB) | import of {count:,} results ({steps} step times each) s "
          "| results/s | store MB |\n|---:|---|---|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as folder:
        bundles = {2: Path(folder) / "bundle-v2.json", 1: Path(folder) / "bundle-v1.json"}
        bundles[2].write_text(bundle_json(results))
        if any(version == 1 for _, _, version in runs):
            bundles[1].write_text(json.dumps({"format": BUNDLE_FORMAT, "version": 1,
                                              "results": [r.to_dict() for r in results]}, allow_nan=False))
        for round_index in range(rounds):
            for name, checkout, version in runs:
                db = Path(folder) / f"{name}-v{version}-{round_index}.db"
                env = dict(os.environ, PYTHONPATH=str(checkout))
                started = time.perf_counter()
                subprocess.run([sys.executable, "-m", "core", "import", str(bundles[version]),
                                "--db", f"sqlite:///{db}"], cwd=checkout, env=env, check=True, capture_output=True)
                elapsed = time.perf_counter() - started
                size_mb = sum(p.stat().st_size for p in Path(folder).glob(f"{db.name}*")) / 1e6
                print(f"| {round_index + 1} | {name} | {version} ({bundles[version].stat().st_size / 1e6:,.0f}) | "
                      f"{elapsed:.1f} | {count / elapsed:,.0f} | {size_mb:,.0f} |")


def _bundle_version(checkout: Path) -> int:
    """The newest bundle version a checkout reads (its core.facts.bundle.BUNDLE_VERSION)."""
    code = "from core.facts.bundle import BUNDLE_VERSION; print(BUNDLE_VERSION)"
    found = subprocess.run([sys.executable, "-c", code], cwd=checkout, env=dict(os.environ, PYTHONPATH=str(checkout)),
                           check=True, capture_output=True, text=True)
    return min(int(found.stdout), 2)  # the versions written here


def parallel_import(processes: int = 4, per_bundle: int = 2_000) -> None:
    from core.facts.bundle import bundle_json
    from core.facts.store import Store

    results = _results(per_bundle // 2 * (processes + 1))
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/p.db"
        Store(url).close()
        paths = []
        for index in range(processes):
            path = Path(folder) / f"{index}.json"
            path.write_text(bundle_json(results[index * per_bundle // 2:index * per_bundle // 2 + per_bundle]))
            paths.append(path)
        env = dict(os.environ, PYTHONPATH=str(REPO))
        started = time.perf_counter()
        procs = [subprocess.Popen([sys.executable, "-m", "core", "import", str(p), "--db", url], env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for p in paths]
        codes = [p.wait() for p in procs]
        elapsed = time.perf_counter() - started
        stored = Store(url).count()
    print(f"\n{processes} parallel imports of {per_bundle:,} results each, overlapping by half: exit codes {codes}, "
          f"{stored:,} stored of {len(results):,} distinct, {elapsed:.1f} s")


def orphan_after_kill(rounds: int = 3) -> None:
    print("\n| round | probe child gone after the suite's kill -9 (s) |\n|---:|---:|")
    for round_index in range(rounds):
        with tempfile.TemporaryDirectory() as folder:
            plan = Path(folder) / "plan.json"
            plan.write_text(json.dumps([{"workload": "mlp", "size": "S", "seconds": 120}]))
            env = dict(os.environ, PYTHONPATH=str(REPO), ACCELSCOPE_DB=f"sqlite:///{folder}/k.db",
                       ACCELSCOPE_LOCK_DIR=f"{folder}/locks", ACCELSCOPE_STATE_DIR=f"{folder}/state")
            suite = subprocess.Popen([sys.executable, "-m", "core", "suite", "--plan", str(plan), "--meters", "none"],
                                     env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            child = None
            for _ in range(300):
                child = probe_child_of(suite.pid)
                if child:
                    break
                time.sleep(0.1)
            time.sleep(3)
            os.kill(suite.pid, signal.SIGKILL)
            suite.wait()
            killed = time.perf_counter()
            while child and Path(f"/proc/{child}").exists() and not is_zombie(child):
                time.sleep(0.01)
            print(f"| {round_index + 1} | {time.perf_counter() - killed:.3f} |")


def probe_child_of(pid: int) -> int | None:
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid and \
                    b"_probe" in (entry / "cmdline").read_bytes():
                return int(entry.name)
        except (OSError, IndexError, ValueError):
            continue
    return None


def is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return True


def run() -> None:
    store_open()
    import_validation()
    import_throughput()
    parallel_import()
    orphan_after_kill()
