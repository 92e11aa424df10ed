"""One validation of a result, shared by the probe, the store and import.

:meth:`ProbeResult.from_dict` checks a record's structure (fields and their JSON types); this
module checks that what it says is physically possible: every figure finite and in its range,
achieved FLOP/s below what any catalogued device can do, known enumerations, text that fits the
store's columns on every database, and a timestamp that is not in the future. A result with a
problem is never stored: the probe turns it into a failed result that says why, the store and
import refuse it naming each field.
"""

from __future__ import annotations

import functools
import math
from datetime import datetime, timedelta, timezone

from core.facts.results import FLOAT_MAX, INT_LIMIT, STATUSES, ProbeResult, all_finite, finite
from core.facts.spec import PRECISIONS
from core.measure.workloads import WORKLOADS, is_custom_workload

# Text sizes: id and created_at are keys of the store's tables (PostgreSQL refuses longer text); the others
# were columns of `results` up to schema 5, which a SQLite store upgraded in place still has.
TEXT_LIMITS = {"id": 64, "run_id": 64, "created_at": 40, "status": 16, "workload": 200, "size": 64,
               "device": 64, "precision": 16}
HOST_LIMIT = 64
PEAK_MARGIN = 2.0  # achieved FLOP/s may exceed the highest catalogued dense peak by this factor (sparsity), no more
FALLBACK_MAX_TFLOPS = 10_000.0  # if the catalog cannot be read: no device today does 10 PFLOP/s dense
MIN_STEP_S = 1e-6  # no training step (forward, backward, optimizer) takes less than a microsecond
CLOCK_SKEW = timedelta(minutes=10)  # a result from a machine whose clock runs a little ahead is fine
THROUGHPUT_SLACK = 10.0  # samples/s may exceed batch / fastest step by this factor, no more

POSITIVE = ("step_time_s", "step_time_p10_s", "step_time_p90_s", "samples_per_s", "tokens_per_s", "flops_per_step",
            "achieved_tflops", "seconds_requested")
NON_NEGATIVE = ("step_time_cv", "compile_time_s", "wall_time_s", "host_other_cpus", "peak_memory_bytes", "params",
                "warmup_steps")
AT_LEAST_ONE = ("batch_size", "steps")
REQUIRED_WHEN_OK = ("steps", "step_time_s", "samples_per_s", "batch_size")
INTEGERS = ("batch_size", "steps", "warmup_steps", "params", "peak_memory_bytes", "concurrent_probes",
            "steps_to_target", "world_size", "nodes")


@functools.lru_cache(maxsize=1)
def max_catalog_tflops() -> float:
    """The highest dense peak of any catalogued accelerator, in TFLOP/s."""
    try:
        from core.views.catalog import load_catalog

        peaks = [peak for a in load_catalog() for p in PRECISIONS if (peak := a.peak_tflops(p))]
    except Exception:
        return FALLBACK_MAX_TFLOPS
    return max(peaks, default=FALLBACK_MAX_TFLOPS)


def result_problems(result: ProbeResult, *, now: datetime | None = None,
                    max_tflops: float | None = None) -> list[str]:
    """Every reason the result cannot be true, each naming its field ([] if it can)."""
    problems: list[str] = []
    for name, limit in TEXT_LIMITS.items():
        value = getattr(result, name)
        if not isinstance(value, str) or not value.strip():
            problems.append(f"'{name}' must be non-empty text")
        elif len(value) > limit:
            problems.append(f"'{name}' is {len(value):,} characters; at most {limit} fit the store")
    for name in INTEGERS:
        value = getattr(result, name)
        if isinstance(value, int) and not -INT_LIMIT - 1 <= value <= INT_LIMIT:
            problems.append(f"'{name}' is a {value.bit_length()}-bit integer; at most {INT_LIMIT:,} fits the store"
                            + (" (either sign)" if value < 0 else ""))
    host = (result.env or {}).get("host")
    if host is not None and (not isinstance(host, str) or not host.strip() or len(host) > HOST_LIMIT
                             or "<" in host or ">" in host):
        problems.append(f"'env.host' must be non-empty text of at most {HOST_LIMIT} characters, without < or > "
                        "(or absent)")
    if result.status not in STATUSES:
        problems.append(f"'status' {result.status!r} is not one of {', '.join(STATUSES)}")
    if result.precision not in PRECISIONS:
        problems.append(f"'precision' {result.precision!r} is not one of {', '.join(PRECISIONS)}")
    problems += _workload_problems(result.workload, result.size)
    problems += _timestamp_problems(result.created_at, now or datetime.now(timezone.utc))
    fastest_step_s = min(result.step_times_s, default=None)  # one C pass, for both checks below
    problems += _range_problems(result, fastest_step_s)
    if result.ok:
        missing = [name for name in REQUIRED_WHEN_OK if getattr(result, name) is None]
        if missing:
            problems.append(f"an ok result must carry its measurements; missing {', '.join(missing)}")
        if not result.step_times_s:
            problems.append("an ok result must carry its step times ('step_times_s' is empty)")
        problems += _plausibility_problems(result, max_tflops if max_tflops is not None else max_catalog_tflops(),
                                           fastest_step_s)
    total_j = result.energy.total_j if result.energy is not None else None  # None: no meter could be read
    if total_j is not None and not math.isfinite(total_j):
        problems.append("'energy' totals are not finite")
    return problems


def _workload_problems(workload: str, size: str) -> list[str]:
    if not isinstance(workload, str) or is_custom_workload(workload):
        return []
    if workload not in WORKLOADS:
        return [f"'workload' {workload!r} is neither one of {', '.join(WORKLOADS)} nor a custom "
                "'package.module:function'"]
    if WORKLOADS[workload].sizes and size not in WORKLOADS[workload].sizes and workload != "zoo":
        return [f"'size' {size!r} is not a size of {workload} ({', '.join(WORKLOADS[workload].sizes)})"]
    return []


def _timestamp_problems(text: str, now: datetime) -> list[str]:
    try:
        stamp = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return [f"'created_at' {text!r} is not an ISO 8601 timestamp"]
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=timezone.utc)
    if stamp > now + CLOCK_SKEW:
        return [f"'created_at' {text} is in the future (now is {now.isoformat(timespec='seconds')})"]
    return []


# (fields, the lowest value allowed, whether that value itself is allowed, what they must be)
RANGES = ((POSITIVE, 0, False, "a finite number above 0"), (NON_NEGATIVE, 0, True, "a finite number, 0 or more"),
          (AT_LEAST_ONE, 1, True, "a whole number, 1 or more"), (("loss_first", "loss_last"), -math.inf, False,
                                                                 "a finite number"))


def _range_problems(result: ProbeResult, fastest_step_s: float | None) -> list[str]:
    problems = []
    values = vars(result)
    for names, lowest, inclusive, needs in RANGES:
        for name in names:
            value = values[name]
            if value is None or type(value) is float and value <= FLOAT_MAX and (
                    value >= lowest if inclusive else value > lowest):  # most: a float in range (a NaN is not)
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not finite(value) or not (
                    value >= lowest if inclusive else value > lowest):
                problems.append(f"'{name}' is {value!r}; it must be {needs}")
    times = result.step_times_s
    if times and not (all_finite(times) and fastest_step_s > 0):  # C passes; each value is looked at only if one fails
        bad_steps = [t for t in times if not (finite(t) and t > 0)]
        problems.append(f"'step_times_s' holds {len(bad_steps)} value(s) that are not positive finite numbers "
                        f"(first: {bad_steps[0]!r})")
    for name in ("step_time_s", "step_time_p10_s"):
        value = values[name]
        if isinstance(value, (int, float)) and finite(value) and 0 < value < MIN_STEP_S:
            problems.append(f"'{name}' is {value!r} s; no training step takes less than {MIN_STEP_S:g} s")
    return problems


def _plausibility_problems(result: ProbeResult, max_tflops: float, fastest_step_s: float | None) -> list[str]:
    problems = []
    ceiling = max_tflops * PEAK_MARGIN
    if result.achieved_tflops and result.achieved_tflops > ceiling:
        problems.append(f"'achieved_tflops' is {result.achieved_tflops:,.4g}; no catalogued device exceeds "
                        f"{max_tflops:,.0f} TFLOP/s (× {PEAK_MARGIN:g} margin)")
    fastest = fastest_step_s or result.step_time_p10_s or result.step_time_s
    # built-in workloads train batch_size samples a step; a custom one may count samples its own way
    # (gradient accumulation, tokens as samples), so only the FLOP/s ceiling bounds it
    if result.samples_per_s and result.batch_size and fastest and fastest > 0 and not is_custom_workload(result.workload):
        try:
            bound = THROUGHPUT_SLACK * result.batch_size * (result.world_size or 1) / fastest  # a job of n devices
        except OverflowError:  # a size beyond float64's range: the store's integer limit names it
            bound = math.inf
        if result.samples_per_s > bound:
            problems.append(f"'samples_per_s' is {result.samples_per_s:,.4g}, more than batch {result.batch_size} "
                            f"over the fastest step ({fastest:.3g} s) allows")
    return problems


def check_result(result: ProbeResult, where: str = "result") -> None:
    """Raise ValueError listing every problem of the result (see :func:`result_problems`)."""
    problems = result_problems(result)
    if problems:
        raise ValueError(f"{where} (id {result.id[:64]}): " + "; ".join(problems))
