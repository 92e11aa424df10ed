"""Build realistic ProbeResults without running a probe (for store, bundle and view tests)."""

from core.facts.energy import ComponentEnergy, EnergyRecord
from core.facts.results import ProbeResult, new_id


def make_result(**overrides) -> ProbeResult:
    values = dict(
        id=new_id(), run_id="run-1", created_at="2026-11-22T10:00:00+00:00", status="ok",
        workload="mlp", size="S", device="cpu", precision="fp32", device_name="Test CPU",
        batch_size=512, steps=100, warmup_steps=5, step_time_s=0.01, step_time_p10_s=0.009,
        step_time_p90_s=0.011, step_time_cv=0.03, step_times_s=(0.01, 0.01), samples_per_s=51200.0,
        flops_per_step=1e9, flops_method="torch.utils.flop_counter.FlopCounterMode",
        achieved_tflops=0.1, params=1000, loss_first=2.3, loss_last=1.0,
        peak_memory_bytes=2**28, peak_memory_method="process peak RSS", wall_time_s=3.0,
        env={"host": "abcdef123456", "torch": "2.13.0", "cpu": "Test CPU", "gpu": None},
    )
    values.update(overrides)
    return ProbeResult(**values)


def make_energy(total_j: float = 12.5, *, samples: int = 12_500, kind: str = "measured", window_s: float = 2.0,
                flops: float = 0.0, idle_w: float | None = None) -> EnergyRecord:
    """An energy record of one component (cpu-package:0) with ``total_j`` joules over the window."""
    method = "rapl-powercap" if kind == "measured" else "codecarbon: CPU model"
    component = ComponentEnergy("cpu-package:0", total_j, window_s, method, kind, 0.05, None, idle_w)
    return EnergyRecord(window_s=window_s, samples=samples, flops=flops, components=(component,))
