"""Step-time statistics and the warm-up/measurement loop, with an injectable clock."""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from typing import Callable, Protocol, Sequence


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
    ``settled`` is False and the result says so). The time bound grows with the step time, so
    that slow steps get room for ``settle_window`` of them (up to ``warmup_bound_cap_s``): a bound
    shorter than five steps could never see warm-up settle."""

    seconds: float = 3.0
    min_warmup_steps: int = 2
    settle_window: int = 5
    settle_tolerance: float = 0.10
    warmup_bound_s: float = 5.0
    warmup_bound_cap_s: float = 60.0
    warmup_bound_steps: int = 200
    min_steps: int = 5
    max_steps: int = 1_000_000


@dataclass(frozen=True)
class LoopTimes:
    warmup_s: tuple[float, ...]
    steps_s: tuple[float, ...]
    settled: bool
    window_s: float = 0.0  # wall time of the timed window, first step's start to the last step's end

    @property
    def stats(self) -> StepStats:
        return StepStats.of(self.steps_s)


class StepTimer(Protocol):
    """Times the steps of one window: ``start()``/``stop()`` around each step, ``collect()`` once
    at the end (an accelerator synchronises there, not after every step). A backend makes one."""

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def collect(self) -> list[float]: ...


class WallClockTimer:
    """Host-clock step times, the device synchronised at the end of every step: right for the
    CPU (its steps are synchronous anyway) and the fallback for any device."""

    def __init__(self, clock: Callable[[], float], sync: Callable[[], None]) -> None:
        self._clock, self._sync = clock, sync
        self._times: list[float] = []
        self._start = 0.0

    def start(self) -> None:
        self._start = self._clock()

    def stop(self) -> None:
        self._sync()
        self._times.append(self._clock() - self._start)

    def collect(self) -> list[float]:
        return list(self._times)


class EventTimer:
    """Device-event step times (CUDA/XPU events recorded on the stream before and after each step),
    read after one host synchronisation at the end of the window, as torch.utils.benchmark and
    optimum-benchmark do: no per-step host sync, so the host keeps the device's queue full."""

    def __init__(self, make_event: Callable[[], object], sync: Callable[[], None], stream=None) -> None:
        self._make_event, self._sync, self._stream = make_event, sync, stream
        self._pairs: list[tuple[object, object]] = []
        self._begin = None

    def start(self) -> None:
        self._begin = self._make_event()
        self._record(self._begin)

    def stop(self) -> None:
        end = self._make_event()
        self._record(end)
        self._pairs.append((self._begin, end))

    def collect(self) -> list[float]:
        self._sync()
        return [begin.elapsed_time(end) / 1000.0 for begin, end in self._pairs]  # ms -> s

    def _record(self, event) -> None:
        """On the device's own stream: the current device's would be another GPU's idle stream."""
        if self._stream is None:
            event.record()
        else:
            event.record(self._stream)


def _settled(window: Sequence[float], tolerance: float) -> bool:
    median = statistics.median(window)
    return median > 0 and (max(window) - min(window)) / median <= tolerance


def warm_up(step: Callable[[], object], sync: Callable[[], None], policy: LoopPolicy,
            clock: Callable[[], float] = time.perf_counter,
            on_step: Callable[[int, float], None] = lambda index, seconds: None) -> tuple[tuple[float, ...], bool]:
    """Run synchronised steps until the last ``settle_window`` step times agree within the
    tolerance (settled) or the warm-up bounds are reached (not settled). Returns (times, settled)."""
    times: list[float] = []
    started = clock()
    while True:
        begin = clock()
        step()
        sync()
        end = clock()
        times.append(end - begin)
        on_step(len(times), end - begin)
        if len(times) >= max(policy.min_warmup_steps, policy.settle_window) and _settled(
                times[-policy.settle_window:], policy.settle_tolerance):
            return tuple(times), True
        if len(times) >= policy.min_warmup_steps and (
                end - started >= current_warmup_bound_s(policy, times) or len(times) >= policy.warmup_bound_steps):
            return tuple(times), False


def current_warmup_bound_s(policy: LoopPolicy, times: Sequence[float]) -> float:
    """The warm-up's time bound so far: ``policy.warmup_bound_s`` at least, widened to room for
    1.5 × a settle window of steps as long as the median so far, up to ``policy.warmup_bound_cap_s``."""
    room_s = 1.5 * policy.settle_window * statistics.median(times)
    return max(policy.warmup_bound_s, min(room_s, policy.warmup_bound_cap_s))


def timed_window(step: Callable[[], object], timer, policy: LoopPolicy,
                 clock: Callable[[], float] = time.perf_counter) -> tuple[tuple[float, ...], float]:
    """Time steps for ``policy.seconds`` of host time (at least ``min_steps``); returns (step times,
    window wall time). The timer decides where the device is synchronised (see the timers above)."""
    count = 0
    window_start = clock()
    while count < policy.max_steps:
        timer.start()
        step()
        timer.stop()
        count += 1
        if count >= policy.min_steps and clock() - window_start >= policy.seconds:
            break
    times = timer.collect()
    return tuple(times), clock() - window_start


def measure_loop(step: Callable[[], object], sync: Callable[[], None], policy: LoopPolicy,
                 clock: Callable[[], float] = time.perf_counter,
                 on_window_start: Callable[[], None] = lambda: None,
                 on_window_end: Callable[[], None] = lambda: None, timer=None,
                 on_warmup_step: Callable[[int, float], None] = lambda index, seconds: None) -> LoopTimes:
    """Warm up until step times settle (bounded), then time steps for ``policy.seconds``. The two
    callbacks bracket the timed window (the energy meters use them). ``timer`` defaults to the
    host clock with a device sync after every step."""
    warmup, settled = warm_up(step, sync, policy, clock, on_warmup_step)
    timer = timer or WallClockTimer(clock, sync)
    on_window_start()
    try:
        steps, window_s = timed_window(step, timer, policy, clock)
    finally:
        on_window_end()
    return LoopTimes(warmup, steps, settled, window_s)
