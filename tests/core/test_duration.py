"""A plan's duration before it starts, from how long the same probes took here before."""

import pytest

from core.views.duration import NO_HISTORY_OVERHEAD_S, plan_duration, probe_overheads_s

CPU = "AMD EPYC · AVX-512-BF16 · 2 logical CPUs · 24 GiB"
OTHER = "Intel Xeon · AVX2 · 8 logical CPUs · 32 GiB"


def row(created_at, workload="mlp", size="S", precision="fp32", run_id="r1", identity=CPU, seconds=2.0):
    return {"created_at": f"2026-11-27T10:{created_at}+00:00", "workload": workload, "size": size,
            "precision": precision, "run_id": run_id, "device": "cpu", "device_identity": identity,
            "seconds_requested": seconds}


HISTORY = [
    row("00:00"), row("00:12"), row("00:30", workload="cnn"),  # mlp took 12 s (10 beyond its window), cnn 18 s
    row("05:00", run_id="r2"), row("05:14", run_id="r2"),  # mlp again: 14 s (12 beyond)
    row("00:00", run_id="r3", identity=OTHER), row("09:00", run_id="r3", identity=OTHER),  # another CPU class
]


def spec(workload="mlp", size="S", precision="fp32", seconds=2.0):
    return {"workload": workload, "size": size, "precision": precision, "device": "cpu", "seconds": seconds}


def test_gaps_between_results_of_one_run_are_each_probes_time_beyond_its_window():
    overheads = probe_overheads_s(HISTORY)
    assert sorted(overheads[(CPU, "mlp", "S", "fp32")]) == [10.0, 12.0]
    assert overheads[(CPU, "cnn", "S", "fp32")] == [16.0]


def test_a_plan_uses_the_same_probe_then_the_device_then_the_rule():
    duration = plan_duration([spec(), spec(workload="transformer", seconds=5.0)], HISTORY, {"cpu": CPU})
    # mlp: median 11 s + 2 s; transformer: the device's median over mlp and cnn (10, 12, 16 -> 12) + 5 s
    assert duration.total_s == pytest.approx(13.0 + 17.0)
    assert (duration.from_same_probe, duration.from_device, duration.from_rule) == (1, 1, 0)
    assert "measured" in duration.describe() and "estimated" in duration.describe()


def test_the_same_model_in_another_precision_comes_before_the_whole_device():
    duration = plan_duration([spec(workload="cnn", precision="bf16")], HISTORY, {"cpu": CPU})
    assert duration.total_s == pytest.approx(16.0 + 2.0) and duration.from_device == 1


def test_history_of_another_device_class_does_not_count():
    duration = plan_duration([spec()], HISTORY, {"cpu": "a new CPU"}, idle_seconds=3.0)
    assert duration.total_s == pytest.approx(NO_HISTORY_OVERHEAD_S + 2.0 + 3.0)
    assert duration.from_rule == 1 and duration.idle_s == 3.0
