"""How fast a big bundle imports: ``python -m bench import [--sizes N …] [--rounds R]``.

Writes a bundle of N results to a temporary folder, streamed (a million results are 6 GB; they are never
all in memory), then times ``python -m core import`` of it into a fresh SQLite store, and reads the
importer's peak memory. The results are the sample results with new ids, each with its own 300 step
times (lognormal around 10 ms, full float64 precision, as a clock measures them), its own ``created_at``
(10 s apart, increasing, as an export orders them) and one of 7 hosts.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
HOSTS = 7
STEPS = 300
_CHUNK = 10_000


def write_bundle_file(path: Path, count: int, steps: int = STEPS, hosts: int = HOSTS, seed: int = 0) -> None:
    """A version-2 bundle of ``count`` results, written a result a line as export writes it."""
    import numpy as np

    from core.facts.bundle import BUNDLE_FORMAT, BUNDLE_VERSION
    from core.facts.results import PACKED_STEP_TIMES, new_id
    from bench.trust import _results

    bases = [r.to_dict(packed_step_times=True) for r in _results(16)]
    noise = np.random.default_rng(seed)
    started_at = datetime(2026, 1, 1, tzinfo=timezone.utc)
    with open(path, "w", encoding="utf-8") as file:
        file.write(f'{{"format": "{BUNDLE_FORMAT}", "version": {BUNDLE_VERSION}, "results": [\n')
        for chunk_start in range(0, count, _CHUNK):
            chunk = min(_CHUNK, count - chunk_start)
            times = (0.01 * noise.lognormal(0.0, 0.05, size=(chunk, steps))).astype("<f8")
            lines = []
            for offset in range(chunk):
                index = chunk_start + offset
                record = dict(bases[index % len(bases)])
                record["id"] = new_id()
                record["run_id"] = f"scale-{index // 100}"
                record["created_at"] = (started_at + timedelta(seconds=10 * index)).isoformat()
                record["env"] = {**record["env"], "host": f"scale-host-{index % hosts}"}
                record[PACKED_STEP_TIMES] = base64.b64encode(times[offset].tobytes()).decode("ascii")
                lines.append(json.dumps(record, separators=(",", ":"), allow_nan=False))
            file.write(("" if chunk_start == 0 else ",\n") + ",\n".join(lines))
        file.write("\n]}\n")


def import_once(bundle: Path, db: Path, checkout: Path = REPO) -> tuple[float, float]:
    """(seconds, peak MB) of ``python -m core import`` of ``bundle`` into ``db``: the peak of the resident
    memory of the importer and its reader processes together, sampled every 0.1 s."""
    from bench.dashboard_latency import PeakRss

    started = time.perf_counter()
    importer = subprocess.Popen([sys.executable, "-m", "core", "import", str(bundle), "--db", f"sqlite:///{db}"],
                                cwd=checkout, env=dict(os.environ, PYTHONPATH=str(checkout)),
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    memory = PeakRss(importer.pid)
    _, errors = importer.communicate()
    elapsed = time.perf_counter() - started
    peak_bytes = memory.stop()
    if importer.returncode != 0:
        raise RuntimeError(f"the import failed ({importer.returncode}): {errors[-2000:]}")
    return elapsed, peak_bytes / 1e6


def run(sizes=(100_000,), rounds: int = 1, baseline: str | None = None) -> None:
    """``baseline``: another checkout imports the same bundle, interleaved, for a ratio within one run."""
    checkouts = [("this", REPO)] + ([("baseline", Path(baseline))] if baseline else [])
    print("| results | bundle MB | round | checkout | import s | results/s | peak RSS MB (all processes) | store MB |\n"
          "|---:|---:|---:|---|---:|---:|---:|---:|")
    for size in sizes:
        with tempfile.TemporaryDirectory(prefix="accelscope-import-") as folder:
            bundle = Path(folder) / "bundle.json"
            write_bundle_file(bundle, size)
            os.sync()  # the bundle on disk before the clock starts: an import does not wait on its writeback
            bundle_mb = bundle.stat().st_size / 1e6
            for round_index in range(rounds):
                for name, checkout in checkouts:
                    db = Path(folder) / f"{name}-{round_index}.db"
                    seconds, peak_mb = import_once(bundle, db, checkout)
                    store_mb = sum(p.stat().st_size for p in Path(folder).glob(f"{db.name}*")) / 1e6
                    print(f"| {size:,} | {bundle_mb:,.0f} | {round_index + 1} | {name} | {seconds:.1f} | "
                          f"{size / seconds:,.0f} | {peak_mb:,.0f} | {store_mb:,.0f} |", flush=True)
                    for stale in Path(folder).glob(f"{db.name}*"):
                        stale.unlink()
