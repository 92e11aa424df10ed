"""GPU-only checks for the protocol in bench/gpu.sh: the CUDA-event step timer against a host
synchronisation after every step, and GPU energy by NVML counter vs integrated power samples.
On a machine without CUDA each says so and returns."""

from __future__ import annotations

import statistics
import time

from bench.common import header, ratio, table


def _cuda_backend():
    import torch

    if not torch.cuda.is_available():
        print("no CUDA device here: skipped\n")
        return None
    from core.measure import backends

    return backends.open_backend(backends.find("cuda:0", backends.discover()))


def timer(workload: str = "gemm", size: str = "L", precision: str = "bf16", seconds: float = 3.0,
          rounds: int = 3) -> None:
    """The same training step timed two ways, interleaved: CUDA events with one sync per window
    (what probes use) vs a host clock with a sync after every step (the old way)."""
    from core.facts.spec import ProbeSpec
    from core.measure.probe import prepare
    from core.measure.stats import LoopPolicy, WallClockTimer, timed_window, warm_up

    header(f"Step timer on CUDA: events + one sync per window vs host sync per step ({workload}/{size} {precision})")
    backend = _cuda_backend()
    if backend is None:
        return
    spec = ProbeSpec(workload=workload, size=size, device=backend.device.id, precision=precision, seconds=seconds)
    training = prepare(spec, backend, time.perf_counter)
    policy = LoopPolicy(seconds=seconds)
    warm_up(training.step, backend.synchronize, policy)
    rows = []
    for round_ in range(1, rounds + 1):
        for name in (("events", "host sync") if round_ % 2 else ("host sync", "events")):
            chosen = backend.step_timer() if name == "events" else WallClockTimer(time.perf_counter,
                                                                                   backend.synchronize)
            steps, window_s = timed_window(training.step, chosen, policy)
            rows.append({"round": round_, "timer": name, "steps": len(steps),
                         "step ms (median)": statistics.median(steps) * 1e3,
                         "samples/s (window)": training.workload.samples_per_step * len(steps) / window_s})
    table(rows)
    events = statistics.median(r["samples/s (window)"] for r in rows if r["timer"] == "events")
    synced = statistics.median(r["samples/s (window)"] for r in rows if r["timer"] == "host sync")
    print(f"events ÷ host sync throughput: {ratio(events, synced):.3f}\n")


def energy(seconds: float = 5.0, n: int = 8192) -> None:
    """One window of bf16 matmuls measured at once by the NVML energy counter and by integrated
    NVML power samples (20 ms), after an idle window of the same length."""
    header(f"GPU energy: NVML counter vs integrated power samples ({seconds:g} s of {n}² bf16 matmuls)")
    backend = _cuda_backend()
    if backend is None:
        return
    import torch

    from core.measure.meters.gpu import NvmlGpuMeter, PowerSampler, integrate_trapezoid
    from core.measure.meters.nvml import open_nvml

    nvml = open_nvml()
    if nvml is None:
        print("NVML not available: skipped\n")
        return
    handle = nvml.handle_for(0)
    counter = NvmlGpuMeter(nvml, handle, "gpu:0")
    a = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    rows = []
    for label, busy in (("idle", False), ("matmul", True)):
        sampler = PowerSampler(lambda: nvml.power_w(handle))
        counter.begin()
        sampler.start()
        started = time.perf_counter()
        while time.perf_counter() - started < seconds:
            if busy:
                a @ a
            else:
                time.sleep(0.05)
        torch.cuda.synchronize()
        samples = sampler.stop()
        (reading,) = counter.end()
        sampled_j = integrate_trapezoid(samples)
        rows.append({"window": label, "counter J": reading.energy_j, "sampled J": sampled_j,
                     "sampled ÷ counter": ratio(sampled_j, reading.energy_j), "samples": len(samples),
                     "avg W (counter)": reading.avg_power_w, "counter method": reading.method})
    nvml.close()
    table(rows)


ZOO_MEMORY = (("bert-base", 8, 128), ("vit-base", 32, None), ("gpt2-small", 4, 1024))


def zoo_memory(models=ZOO_MEMORY, precision: str = "bf16") -> None:
    """Issue 12's GPU check: the fake-tensor memory estimate against torch.cuda.max_memory_allocated
    over two real training steps (AdamW, mixed precision as the probe runs it), per zoo model. The
    estimate is made with attention dropout off, as GPU attention kernels keep no attention matrix
    for it (the CPU's do)."""
    import torch

    from core.measure.analysis import analyze, make_optimizer, train_steps
    from core.measure.models import ModelSpec, build_training, without_attention_dropout

    header(f"Memory estimate vs torch.cuda.max_memory_allocated (zoo models, {precision}, AdamW, 2 steps)")
    if not torch.cuda.is_available():
        print("no CUDA device here: skipped\n")
        return
    rows = []
    for name, batch, seq in models:
        spec = without_attention_dropout(ModelSpec(name))
        estimate = analyze(spec, batch, seq, precision).memory.peak_bytes
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
        before = torch.cuda.memory_allocated()
        training = build_training(spec, batch, seq, "cuda")
        optimizer = make_optimizer("adamw", [p for p in training.model.parameters() if p.requires_grad])
        train_steps(training, optimizer, precision, steps=2, device_type="cuda")
        torch.cuda.synchronize()
        measured = torch.cuda.max_memory_allocated() - before
        rows.append({"model": name, "batch × seq": f"{batch} × {seq or '-'}", "estimate GB": f"{estimate / 1e9:.3f}",
                     "max_memory_allocated GB": f"{measured / 1e9:.3f}", "estimate ÷ measured − 1":
                     f"{estimate / measured - 1:+.1%}"})
        del training, optimizer
    table(rows)


def _events_timer(device: str):
    """(start, stop) → seconds between them: CUDA events on CUDA, the host clock elsewhere."""
    import torch

    if device.startswith("cuda"):
        def timed(fn, repeat: int) -> list[float]:
            times = []
            for _ in range(repeat):
                begin, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                begin.record()
                fn()
                end.record()
                end.synchronize()
                times.append(begin.elapsed_time(end) / 1e3)
            return times
    else:
        def timed(fn, repeat: int) -> list[float]:
            times = []
            for _ in range(repeat):
                started = time.perf_counter()
                fn()
                times.append(time.perf_counter() - started)
            return times
    return timed


def _tight_mm(device: str, n: int) -> None:
    import torch

    dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
    x, w, g = (torch.randn(n, n, device=device, dtype=dtype) for _ in range(3))

    def two_products() -> None:
        torch.mm(x, w.T)
        torch.mm(g.T, x)

    timed = _events_timer(device)
    timed(two_products, 3)
    per_pair_s = statistics.median(timed(lambda: [two_products() for _ in range(10)], 3)) / 10
    print(f"tight torch.mm ({dtype}): {4 * n ** 3 / per_pair_s / 1e12:.1f} TFLOP/s "
          f"(median of 3 windows of 10 forward+weight-gradient pairs; CUDA events on a GPU)\n")


def fidelity(device: str = "cuda:0", n: int = 8192, seconds: float = 3.0, rounds: int = 2,
             workloads=(("cnn", "M", "bf16"), ("transformer", "M", "bf16"), ("gemm", "XL", "bf16"))) -> None:
    """GPU.md step 4: the probe against a bare training loop over the same model (A/B interleaved,
    in this process), and a tight torch.mm loop of the gemm step's two matmuls at n³ bf16 (CUDA
    events around 20 products) against the gemm probe."""
    import torch

    from bench.probes import _bare_loop_samples_per_s, _probe_samples_per_s

    header(f"Fidelity on {device}: probe vs bare loop, and tight torch.mm at {n}³ bf16")
    if device.startswith("cuda") and not torch.cuda.is_available():
        print("no CUDA device here: skipped\n")
        return
    _tight_mm(device, n)
    rows = []
    for workload, size, precision in workloads:
        bare, probe = [], []
        for round_ in range(rounds):
            order = ("bare", "probe") if round_ % 2 == 0 else ("probe", "bare")
            for side in order:
                if side == "bare":
                    bare.append(_bare_loop_samples_per_s(workload, size, precision, seconds, device))
                else:
                    probe.append(_probe_samples_per_s(workload, size, precision, seconds, device))
        rows.append({"workload": f"{workload}/{size}", "precision": precision,
                     "bare samples/s": statistics.median(bare), "probe samples/s": statistics.median(probe),
                     "probe ÷ bare": ratio(statistics.median(probe), statistics.median(bare))})
    table(rows)


def infer_bare(device: str = "cuda:0", size: str = "resnet50", batches=(1, 256), compiled=(False, True),
               latency_iterations: int = 200, precision: str = "bf16") -> None:
    """Issue 15's reference: ResNet-50 inference as a bare loop (eval, inference_mode, bf16
    autocast, channels-last), each batch timed alone by CUDA events: latency percentiles per
    batch and throughput, eager and with torch.compile."""
    import torch

    from core.facts.spec import ProbeSpec
    from core.measure.probe import build_workload
    from core.measure.stats import percentile

    header(f"Bare inference loop on {device}: cnn/{size}, {precision} autocast, channels-last")
    if device.startswith("cuda") and not torch.cuda.is_available():
        print("no CUDA device here: skipped\n")
        return
    device_type = device.split(":")[0]
    timed = _events_timer(device)
    rows = []
    for compile_ in compiled:
        for batch in batches:
            spec = ProbeSpec(workload="cnn", size=size, precision=precision, channels_last=True)
            w = build_workload(spec, device, batch)
            model = w.model.to(device).to(memory_format=torch.channels_last).eval()
            runner = torch.compile(model) if compile_ else model
            x = w.batches[0][0]
            with torch.inference_mode(), torch.autocast(device_type, dtype=torch.bfloat16,
                                                         enabled=precision == "bf16"):
                started = time.perf_counter()
                runner(x)
                first_s = time.perf_counter() - started
                timed(lambda: runner(x), 10)
                iterations = latency_iterations if batch == 1 else max(10, latency_iterations // 10)
                times = sorted(timed(lambda: runner(x), iterations))
            rows.append({"compile": compile_, "batch": batch, "first call s": f"{first_s:.2f}",
                         "p50 ms": times[len(times) // 2] * 1e3, "p90 ms": percentile(times, 90) * 1e3,
                         "p99 ms": percentile(times, 99) * 1e3,
                         "samples/s (median)": batch / statistics.median(times), "iterations": iterations})
    table(rows)
