"""Step-time statistics and the warm-up/measurement loop, with an injectable clock."""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from typing import Callable, Sequence


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile, q in [0, 100]."""
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100.0
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


@dataclass(frozen=True)
class StepStats:
    median_s: float
    mean_s: float
    p10_s: float
    p90_s: float
    cv: float  # standard deviation / mean

    @classmethod
    def of(cls, times: Sequence[float]) -> "StepStats":
        mean = statistics.fmean(times)
        stdev = statistics.stdev(times) if len(times) > 1 else 0.0
        return cls(median_s=statistics.median(times), mean_s=mean, p10_s=percentile(times, 10),
                   p90_s=percentile(times, 90), cv=stdev / mean if mean > 0 else 0.0)


@dataclass(frozen=True)
class LoopPolicy:
    """How long to warm up and measure. Warm-up ends when the last ``settle_window`` step times
    lie within ``settle_tolerance`` of their median, or at the warm-up bounds (then
    ``settled`` is False and the result says so)."""

    seconds: float = 3.0
    min_warmup_steps: int = 2
    settle_window: int = 5
    settle_tolerance: float = 0.10
    max_warmup_s: float = 5.0
    max_warmup_steps: int = 200
    min_steps: int = 5
    max_steps: int = 1_000_000


@dataclass(frozen=True)
class LoopTimes:
    warmup_s: tuple[float, ...]
    steps_s: tuple[float, ...]
    settled: bool
    window_s: float = 0.0  # wall time of the timed window, first step's start to last step's end

    @property
    def stats(self) -> StepStats:
        return StepStats.of(self.steps_s)


def _settled(window: Sequence[float], tolerance: float) -> bool:
    median = statistics.median(window)
    return median > 0 and (max(window) - min(window)) / median <= tolerance


def measure_loop(step: Callable[[], object], sync: Callable[[], None], policy: LoopPolicy,
                 clock: Callable[[], float] = time.perf_counter,
                 on_window_start: Callable[[], None] = lambda: None,
                 on_window_end: Callable[[], None] = lambda: None) -> LoopTimes:
    """Warm up until step times settle (bounded), then time steps for ``policy.seconds``.
    Every step is synchronized with the device before its end time is read. The two callbacks
    bracket the timed window (the energy meters use them)."""
    warmup: list[float] = []
    settled = False
    warmup_started = clock()
    while True:
        start = clock()
        step()
        sync()
        end = clock()
        warmup.append(end - start)
        if len(warmup) >= max(policy.min_warmup_steps, policy.settle_window) and _settled(
                warmup[-policy.settle_window:], policy.settle_tolerance):
            settled = True
            break
        if len(warmup) >= policy.min_warmup_steps and (
                end - warmup_started >= policy.max_warmup_s or len(warmup) >= policy.max_warmup_steps):
            break
    steps: list[float] = []
    on_window_start()
    window_start = end = clock()
    try:
        while len(steps) < policy.max_steps:
            start = clock()
            step()
            sync()
            end = clock()
            steps.append(end - start)
            if len(steps) >= policy.min_steps and end - window_start >= policy.seconds:
                break
    finally:
        on_window_end()
    return LoopTimes(tuple(warmup), tuple(steps), settled, end - window_start)
