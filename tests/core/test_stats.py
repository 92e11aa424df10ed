import pytest

from core.measure.stats import LoopPolicy, StepStats, measure_loop, percentile


class FakeClock:
    """Advances only when a scripted step runs: no test sleeps."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def scripted_step(clock, durations):
    it = iter(durations)

    def step():
        clock.now += next(it)
    return step


def test_percentile_interpolates():
    assert percentile([1, 2, 3, 4, 5], 50) == 3
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile([10, 20], 10) == pytest.approx(11)


def test_step_stats():
    stats = StepStats.of([1.0, 1.0, 1.0, 1.0])
    assert stats.cv == 0 and stats.median_s == 1.0
    stats = StepStats.of([1.0, 3.0])
    assert stats.mean_s == 2.0 and stats.cv == pytest.approx(1.41421356 / 2)


def test_warmup_runs_until_step_times_settle_then_times_the_window():
    clock = FakeClock()
    # 3 slow warm-up steps, then steady 0.125 s steps (exact in binary floating point).
    durations = [2.0, 1.0, 0.5] + [0.125] * 1000
    policy = LoopPolicy(seconds=1.0, settle_window=5, settle_tolerance=0.1, warmup_bound_s=100)
    times = measure_loop(scripted_step(clock, durations), lambda: None, policy, clock)
    assert times.settled
    assert times.warmup_s[:3] == (2.0, 1.0, 0.5)
    assert len(times.warmup_s) == 8  # the slow three, then five steady ones to confirm
    assert all(t == 0.125 for t in times.steps_s)
    assert len(times.steps_s) == 8  # 1 s window of 0.125 s steps
    assert times.window_s == 1.0
    assert times.stats.median_s == 0.125


def test_warmup_is_bounded_when_times_never_settle():
    clock = FakeClock()
    durations = [0.1, 0.3] * 1000
    policy = LoopPolicy(seconds=0.5, warmup_bound_s=2.0, min_steps=3)
    times = measure_loop(scripted_step(clock, durations), lambda: None, policy, clock)
    assert not times.settled
    assert sum(times.warmup_s) == pytest.approx(2.0, abs=0.31)
    assert len(times.steps_s) >= 3


def test_min_steps_even_when_one_step_outlasts_the_window():
    clock = FakeClock()
    policy = LoopPolicy(seconds=1.0, min_steps=5, warmup_bound_s=0.0, min_warmup_steps=1)
    times = measure_loop(scripted_step(clock, [3.0] * 100), lambda: None, policy, clock)
    assert len(times.steps_s) == 5


def test_window_callbacks_bracket_only_the_timed_steps():
    clock = FakeClock()
    marks = []
    policy = LoopPolicy(seconds=0.3, min_warmup_steps=1, settle_window=1, min_steps=1)
    measure_loop(scripted_step(clock, [0.1] * 100), lambda: None, policy, clock,
                 on_window_start=lambda: marks.append(("start", clock.now)),
                 on_window_end=lambda: marks.append(("end", clock.now)))
    assert marks[0] == ("start", pytest.approx(0.1))
    assert marks[1][0] == "end" and marks[1][1] == pytest.approx(0.4)


def test_sync_is_called_before_each_end_time():
    clock = FakeClock()
    calls = []
    policy = LoopPolicy(seconds=0.2, min_warmup_steps=1, settle_window=1, min_steps=1)

    def sync():
        calls.append(clock.now)
        clock.now += 0.05  # device work finishing only at sync
    times = measure_loop(scripted_step(clock, [0.05] * 100), sync, policy, clock)
    assert all(t == pytest.approx(0.1) for t in times.steps_s)


def test_warmup_bound_grows_with_slow_steps_so_they_can_settle():
    """Steps of 1 s under a 2 s bound could never show five settled steps; the bound makes room."""
    clock = FakeClock()
    durations = [1.6, 1.3] + [1.0] * 100
    policy = LoopPolicy(seconds=2.0, warmup_bound_s=2.0, warmup_bound_cap_s=60.0)
    times = measure_loop(scripted_step(clock, durations), lambda: None, policy, clock)
    assert times.settled and len(times.warmup_s) == 7


def test_warmup_bound_is_capped():
    clock = FakeClock()
    policy = LoopPolicy(seconds=1.0, warmup_bound_s=2.0, warmup_bound_cap_s=10.0, min_steps=1)
    times = measure_loop(scripted_step(clock, [4.0, 8.0] * 20), lambda: None, policy, clock)
    assert not times.settled and sum(times.warmup_s) <= 10.0 + 8.0


def test_event_timer_reads_device_events_after_one_sync():
    from core.measure.stats import EventTimer

    class Event:
        clock = 0.0

        def record(self):
            self.at = Event.clock

        def elapsed_time(self, end):
            return (end.at - self.at) * 1000.0  # ms, as torch.cuda.Event

    syncs = []
    timer = EventTimer(Event, lambda: syncs.append(Event.clock))
    for step_s in (0.5, 0.25):
        timer.start()
        Event.clock += step_s
        timer.stop()
    assert syncs == []  # no host sync per step
    assert timer.collect() == [0.5, 0.25] and len(syncs) == 1


def test_event_timer_records_on_the_given_stream():
    from core.measure.stats import EventTimer

    streams = []

    class Event:
        def record(self, stream=None):
            streams.append(stream)

        def elapsed_time(self, end):
            return 1.0

    timer = EventTimer(Event, lambda: None, stream="cuda:1 stream")
    timer.start()
    timer.stop()
    assert timer.collect() == [0.001] and streams == ["cuda:1 stream", "cuda:1 stream"]
