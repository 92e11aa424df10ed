"""Energy meters with NVML, RAPL and CodeCarbon faked at their boundary."""

import os

import pytest

from core.facts.energy import (
    ESTIMATED,
    MEASURED,
    UNAVAILABLE,
    EnergyReading,
    EnergyRecord,
)
from core.measure.meters.codecarbon_meter import CodeCarbonMeter
from core.measure.meters.factory import host_meters, measure_idle
from core.measure.meters.gpu import NvmlGpuMeter, PowerSampler, integrate_trapezoid
from core.measure.meters.rapl import RaplMeter, delta_uj, find_zones


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


class FakeNvml:
    """NVML's counter advances in coarse steps (``period_s``) at ``power_w``."""

    def __init__(self, clock, power_w=300.0, period_s=0.1, has_counter=True):
        self.clock, self.power, self.period_s, self.has_counter = clock, power_w, period_s, has_counter

    def total_energy_mj(self, handle):
        if not self.has_counter:
            raise RuntimeError("NVML_ERROR_NOT_SUPPORTED")
        ticks = int(self.clock() / self.period_s)
        return int(ticks * self.period_s * self.power * 1000)

    def power_w(self, handle):
        return self.power


def test_nvml_counter_measures_joules_over_the_window():
    clock = Clock()
    meter = NvmlGpuMeter(FakeNvml(clock), "h", "gpu:0", clock=clock)
    assert meter.has_counter and meter.min_window_s == 1.0
    meter.begin()
    clock.now += 2.0
    (reading,) = meter.end()
    assert reading.kind == MEASURED and reading.method == "nvml-total-energy-counter"
    assert reading.energy_j == pytest.approx(600.0, rel=0.01)
    assert reading.avg_power_w == pytest.approx(300.0, rel=0.01)


def test_a_window_shorter_than_the_counter_period_is_flagged_never_zero():
    clock = Clock()
    clock.now = 100.01
    meter = NvmlGpuMeter(FakeNvml(clock, period_s=0.1), "h", "gpu:0", clock=clock)
    meter.begin()
    clock.now += 0.02  # the counter does not tick
    (reading,) = meter.end()
    assert reading.energy_j is None and reading.kind == UNAVAILABLE
    assert "did not advance" in reading.reason and "--seconds" in reading.reason


class ScriptedSampler:
    def __init__(self, samples):
        self.samples = samples

    def start(self):
        pass

    def stop(self):
        return self.samples


def test_missing_counter_falls_back_to_power_sampling_labelled_estimated():
    clock = Clock()
    samples = [(0.0, 100.0), (1.0, 200.0), (2.0, 200.0)]
    meter = NvmlGpuMeter(FakeNvml(clock, has_counter=False), "h", "gpu:0", clock=clock,
                         sampler=ScriptedSampler(samples))
    assert not meter.has_counter
    meter.begin()
    (reading,) = meter.end()
    assert reading.kind == ESTIMATED and reading.method == "nvml-power-sampling"
    assert reading.energy_j == pytest.approx(150.0 + 200.0)


def test_power_sampler_thread_collects_samples():
    values = iter(range(10**6))
    sampler = PowerSampler(lambda: float(next(values)), interval_s=0.001)
    sampler.start()
    while len(sampler.samples) < 5:
        pass
    samples = sampler.stop()
    assert len(samples) >= 6 and [p for _, p in samples] == sorted(p for _, p in samples)


def test_trapezoid():
    assert integrate_trapezoid([(0, 0), (2, 10)]) == 10
    assert integrate_trapezoid([(0, 5)]) == 0


def make_rapl_tree(root, energy_uj, max_uj=262143328850, dram_uj=None):
    package = root / "intel-rapl:0"
    package.mkdir(parents=True)
    (package / "name").write_text("package-0\n")
    (package / "energy_uj").write_text(f"{energy_uj}\n")
    (package / "max_energy_range_uj").write_text(f"{max_uj}\n")
    if dram_uj is not None:
        dram = package / "intel-rapl:0:0"
        dram.mkdir()
        (dram / "name").write_text("dram\n")
        (dram / "energy_uj").write_text(f"{dram_uj}\n")
        (dram / "max_energy_range_uj").write_text(f"{max_uj}\n")
    return package


def test_rapl_reads_package_and_dram(tmp_path):
    package = make_rapl_tree(tmp_path, 1_000_000, dram_uj=500_000)
    zones, problem = find_zones(tmp_path)
    assert problem is None and [z.component for z in zones] == ["cpu-package:0", "dram:0"]
    clock = Clock()
    meter = RaplMeter(zones, clock)
    meter.begin()
    (package / "energy_uj").write_text("31000000\n")
    (package / "intel-rapl:0:0" / "energy_uj").write_text("5500000\n")
    clock.now += 1.0
    cpu, dram = meter.end()
    assert (cpu.energy_j, dram.energy_j) == (30.0, 5.0)
    assert cpu.kind == MEASURED and cpu.method == "rapl-powercap"


def test_rapl_wraparound(tmp_path):
    package = make_rapl_tree(tmp_path, 999_000_000, max_uj=999_999_999)
    zones, _ = find_zones(tmp_path)
    meter = RaplMeter(zones, Clock())
    meter.begin()
    (package / "energy_uj").write_text("1000000\n")  # wrapped past the range
    (reading,) = meter.end()
    assert reading.energy_j == pytest.approx(2.0, abs=1e-5)
    assert delta_uj(10, 30, 100) == 20 and delta_uj(90, 10, 99) == 20


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read any file")
def test_rapl_unreadable_says_how_to_fix(tmp_path):
    package = make_rapl_tree(tmp_path, 1)
    (package / "energy_uj").chmod(0)
    zones, problem = find_zones(tmp_path)
    assert zones == [] and "chmod" in problem


def test_nothing_readable_gives_null_with_the_reason(tmp_path, monkeypatch):
    monkeypatch.setattr("core.measure.meters.factory.codecarbon_available", lambda: (False, "CodeCarbon is not installed"))
    (meter,) = host_meters(tmp_path / "no-powercap")
    meter.begin()
    readings = meter.end()
    assert {r.component for r in readings} == {"cpu", "ram"}
    assert all(r.energy_j is None and r.kind == UNAVAILABLE for r in readings)
    assert "RAPL" in readings[0].reason and "CodeCarbon is not installed" in readings[0].reason
    record = EnergyRecord.from_readings(readings, samples=100, flops=1e12)
    assert record.total_j is None and record.j_per_sample is None and record.kind is None
    assert len(record.missing) == 2 and "ram" in record.reason


def test_codecarbon_readings_are_labelled_estimated_with_the_method():
    class Data:
        cpu_energy = 1e-5  # kWh
        ram_energy = 2e-5

    class Hardware:
        _mode = "cpu_load"

    Hardware.__name__ = "CPU"

    class Tracker:
        final_emissions_data = Data()
        _hardware = [Hardware()]

        def start(self):
            pass

        def stop(self):
            return 0.0

    clock = Clock()
    meter = CodeCarbonMeter(lambda: Tracker(), clock)
    meter.begin()
    clock.now += 2
    cpu, ram = meter.end()
    assert cpu.energy_j == pytest.approx(36.0) and ram.energy_j == pytest.approx(72.0)
    assert cpu.kind == ram.kind == ESTIMATED
    assert "cpu_load" in cpu.method and cpu.method.startswith("codecarbon")


def test_real_codecarbon_tracker_writes_nothing_to_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    meter = CodeCarbonMeter()
    meter.begin()
    sum(range(2_000_000))
    readings = meter.end()
    assert {r.component for r in readings} == {"cpu", "ram"}
    assert all(r.energy_j is not None and r.energy_j > 0 for r in readings)
    assert list(tmp_path.iterdir()) == []


def test_energy_record_derives_power_per_sample_and_idle():
    readings = [EnergyReading("gpu:0", 1000.0, 2.0, "nvml-total-energy-counter", MEASURED, 0.05),
                EnergyReading("cpu-package:0", 200.0, 2.0, "rapl-powercap", MEASURED, 0.05)]
    record = EnergyRecord.from_readings(readings, samples=10_000, flops=50e12,
                                        idle_w={"gpu:0": 60.0, "cpu-package:0": 40.0})
    assert record.total_j == 1200.0 and record.kind == MEASURED
    assert record.avg_power_w == 600.0
    assert record.j_per_sample == pytest.approx(0.12)
    assert record.samples_per_kj == pytest.approx(10_000 / 1.2)
    assert record.j_per_tflop == pytest.approx(24.0)
    assert record.total_above_idle_j == pytest.approx(1200 - 120 - 80)
    assert record.idle_w == 100.0 and record.reason is None
    assert EnergyRecord.from_dict(record.to_dict()) == record


def test_energy_record_scales_a_longer_meter_interval_to_the_window():
    reading = EnergyReading("cpu", 30.0, 3.0, "codecarbon", ESTIMATED, 0.3)
    record = EnergyRecord.from_readings([reading], samples=100, flops=0, window_s=2.0)
    assert record.total_j == pytest.approx(20.0) and record.kind == ESTIMATED
    assert "timed window" in record.components[0].reason


def test_measure_idle_averages_power():
    class Steady:
        min_window_s = 0

        def begin(self):
            pass

        def end(self):
            return [EnergyReading("gpu:0", 150.0, 3.0, "x", MEASURED)]
    assert measure_idle([Steady()], 3.0, sleep=lambda s: None) == {"gpu:0": 50.0}
