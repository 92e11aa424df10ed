"""Scaling probes (issue 16): the same training probe over several devices with
torch.distributed, launched by ``torch.distributed.run`` (torchrun) — never a home-made launcher.

The parent (``python -m core scale``) runs one torchrun per world size; torchrun starts that many
copies of :func:`worker_main` (``python -m core.measure.scale``). Every rank builds the workload
on its own device, wraps it in DistributedDataParallel (gloo on CPUs, NCCL on CUDA GPUs), warms up
for a fixed number of steps, and then all ranks time the same number of steps (rank 0 turns the
asked seconds into steps from its warm-up and broadcasts them: collectives need every rank to take
every step). The share of a step spent on gradient communication is measured after the window by
timing the same number of steps under ``no_sync`` (no all-reduce): 1 − no_sync ÷ synced. Each
rank's energy meters cover its window: the device's own (NVML) on every rank, the host's (RAPL or
CodeCarbon) on each node's local rank 0 only, so nothing is counted twice. Rank 0 gathers everything
and writes one JSON summary for the parent, which makes the result. A rank that fails fails its
world size, with torchrun's reason; the other world sizes still run.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Sequence

WARMUP_STEPS = 5  # at least, then more until WARMUP_MIN_S have passed on rank 0 (at most WARMUP_MAX_STEPS)
WARMUP_MIN_S = 1.0
WARMUP_MAX_STEPS = 200
MIN_STEPS = 5
MAX_STEPS = 100_000
STRATEGIES = ("ddp", "fsdp")


def worker_command(spec, device_kind: str, nproc: int, out_path: str, *, run_id: str, meters: str,
                   strategy: str = "ddp", nnodes: int = 1, node_rank: int = 0, master_addr: str | None = None,
                   master_port: int = 29500) -> list[str]:
    """The torchrun command line for one world size (``nproc`` processes on this node)."""
    if nnodes == 1:
        launch = ["--standalone", "--nnodes", "1"]
    else:
        launch = ["--nnodes", str(nnodes), "--node-rank", str(node_rank), "--master-addr", master_addr or "",
                  "--master-port", str(master_port)]
    return [sys.executable, "-m", "torch.distributed.run", *launch, "--nproc-per-node", str(nproc),
            "-m", "core.measure.scale", "--spec", spec.to_json(), "--device-kind", device_kind, "--out", out_path,
            "--run-id", run_id, "--meters", meters, "--strategy", strategy]


def interconnect(device_kind: str, world_size: int, nodes: int) -> str:
    """What links the ranks, as far as this machine can tell."""
    if world_size == 1:
        return "none (one device)"
    if nodes > 1:
        return "network between nodes"
    if device_kind == "cpu":
        return "shared memory (processes on one host)"
    from core.measure.meters.nvml import open_nvml

    nvml = open_nvml()
    if nvml is None:
        return "unknown (NVML unavailable)"
    try:
        links = nvml.active_nvlinks(nvml.handle_for(0))
        return f"NVLink ({links} links up on GPU 0, NVML)" if links else "PCIe (no NVLink up on GPU 0, NVML)"
    except Exception as exc:  # noqa: BLE001 - the link type is a label, not a measurement to fail on
        return f"unknown ({type(exc).__name__})"
    finally:
        nvml.close()


# --- the worker (one rank) --------------------------------------------------------------------------

def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core.measure.scale", description="internal: one scaling rank")
    parser.add_argument("--spec", required=True)
    parser.add_argument("--device-kind", required=True, choices=("cpu", "cuda"))
    parser.add_argument("--out", required=True)
    parser.add_argument("--run-id", required=True)
    parser.add_argument("--meters", default="auto", choices=("auto", "none"))
    parser.add_argument("--strategy", default="ddp", choices=STRATEGIES)
    return parser


def worker_main(argv: Sequence[str]) -> int:
    import torch
    import torch.distributed as dist

    from core.facts.spec import ProbeSpec
    from core.measure import backends
    from core.measure.env import fingerprint
    from core.measure.probe import count_flops, prepare

    args = _parser().parse_args(argv)
    local_rank, local_world = int(os.environ["LOCAL_RANK"]), int(os.environ["LOCAL_WORLD_SIZE"])
    if args.device_kind == "cuda":
        torch.cuda.set_device(local_rank)
        device_id, dist_backend = f"cuda:{local_rank}", "nccl"
    else:  # the host's cores shared fairly between its ranks
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // local_world))
        device_id, dist_backend = "cpu", "gloo"
    dist.init_process_group(dist_backend)
    rank, world = dist.get_rank(), dist.get_world_size()
    spec = dataclasses.replace(ProbeSpec.from_dict(json.loads(args.spec)), device=device_id)
    backend = backends.open_backend(backends.find(device_id, backends.discover()))

    def wrap(model):
        if args.strategy == "fsdp":  # FSDP2: parameters sharded across ranks (CPU ranks too, with gloo)
            from torch.distributed.device_mesh import init_device_mesh
            from torch.distributed.fsdp import fully_shard

            return fully_shard(model, mesh=init_device_mesh(args.device_kind, (world,)))
        from torch.nn.parallel import DistributedDataParallel

        return DistributedDataParallel(model, device_ids=[local_rank] if args.device_kind == "cuda" else None)

    training = prepare(spec, backend, time.perf_counter, wrap=wrap)
    warmup, first_loss = [], None

    def warm(count: int) -> None:
        nonlocal first_loss
        for _ in range(count):
            started = time.perf_counter()
            loss = training.step()
            backend.synchronize()
            warmup.append(time.perf_counter() - started)
            first_loss = float(loss.detach().float().item()) if first_loss is None else first_loss

    # Every rank must take every step (each all-reduces), so rank 0 decides the counts for all.
    warm(WARMUP_STEPS)
    recent_s = statistics.median(warmup[1:])  # the first step builds kernels and caches
    plan = [min(WARMUP_MAX_STEPS, math.ceil(max(0.0, WARMUP_MIN_S - sum(warmup)) / recent_s)), 0]
    dist.broadcast_object_list(plan, src=0)
    warm(plan[0])
    plan = [max(MIN_STEPS, min(MAX_STEPS, math.ceil(spec.seconds / statistics.median(warmup[-WARMUP_STEPS:]))))]
    dist.broadcast_object_list(plan, src=0)
    steps = plan[0]
    from core.measure.meters.factory import host_meters

    # every rank reads its own device's meter; the host's (CPU, RAM) is read once per node
    meters = [] if args.meters == "none" else [*backend.device_meters(), *(host_meters() if local_rank == 0 else [])]
    try:
        dist.barrier()
        for meter in meters:
            meter.begin()
        timer = backend.step_timer()
        window_start = time.perf_counter()
        for _ in range(steps):
            timer.start()
            last_loss = training.step()
            timer.stop()
        step_times = timer.collect()
        window_s = time.perf_counter() - window_start
        readings = [dataclasses.asdict(r) for m in meters for r in m.end()]
    finally:
        for meter in meters:
            getattr(meter, "close", lambda: None)()
    memory, memory_method = backend.peak_memory()
    comm_share = None
    if args.strategy == "ddp" and world > 1:
        model = training.model
        dist.barrier()
        no_sync_steps = max(MIN_STEPS, steps // 2)
        started = time.perf_counter()
        with model.no_sync():
            for _ in range(no_sync_steps):
                training.step()
        backend.synchronize()
        no_sync_s = (time.perf_counter() - started) / no_sync_steps
        comm_share = max(0.0, 1.0 - no_sync_s / statistics.fmean(step_times))
    flops, flops_method = count_flops(training.uncompiled)  # every rank: its step's all-reduce needs them all
    mine = {"rank": rank, "device_name": backend.device.name, "device_identity": backend.device.identity,
            "step_times_s": step_times, "window_s": window_s, "readings": readings, "peak_memory_bytes": memory,
            "peak_memory_method": memory_method, "comm_share": comm_share, "host": os.uname().nodename,
            "loss_last": float(last_loss.detach().float().item())}
    gathered = [None] * world
    dist.all_gather_object(gathered, mine)
    if rank == 0:
        summary = {"ranks": gathered, "steps": steps, "warmup_s": warmup, "batch_size": training.batch_size,
                   "samples_per_step": training.workload.samples_per_step,
                   "tokens_per_step": training.workload.tokens_per_step, "flops_per_step": flops,
                   "flops_method": flops_method, "params": sum(p.numel() for p in training.model.parameters()),
                   "loss_first": first_loss,
                   "world_size": world, "nodes": world // local_world, "dist_backend": dist_backend,
                   "emulated_precisions": list(backend.device.emulated_precisions),
                   "env": fingerprint(backend)}
        with open(args.out, "w", encoding="utf-8") as out:
            json.dump(summary, out)
    dist.barrier()  # every rank leaves together, no collective in flight
    dist.destroy_process_group()
    return 0


# --- the parent: one world size at a time ----------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Launch:
    """How the world sizes are launched: nodes, this node's rank, the rendezvous, the strategy."""

    nnodes: int = 1
    node_rank: int = 0
    master_addr: str | None = None
    master_port: int = 29500
    strategy: str = "ddp"
    meters: str = "auto"
    timeout_s: float = 600.0


def run_world_size(spec, device_kind: str, nproc: int, run_id: str, launch: Launch, env: dict):
    """One world size: torchrun, then its result (ok, or failed with torchrun's reason); None on a node
    other than node 0 when its ranks finished (node 0 has the job's result)."""
    from core.facts.results import failed_result

    with tempfile.TemporaryDirectory(prefix="accelscope-scale-") as folder:
        out_path = os.path.join(folder, "summary.json")
        command = worker_command(spec, device_kind, nproc, out_path, run_id=run_id, meters=launch.meters,
                                 strategy=launch.strategy, nnodes=launch.nnodes, node_rank=launch.node_rank,
                                 master_addr=launch.master_addr, master_port=launch.master_port)
        started = time.monotonic()
        # its own process group: on a timeout (or Ctrl-C) torchrun and every rank it started go, not only torchrun
        process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            stdout, stderr = process.communicate(timeout=launch.timeout_s)
        except subprocess.TimeoutExpired:
            _stop_group(process)
            return dataclasses.replace(
                failed_result(spec, run_id, "timeout", f"world size {nproc * launch.nnodes}: no result after "
                              f"{launch.timeout_s:.0f} s; torchrun and its ranks were stopped",
                              wall_time_s=time.monotonic() - started),
                world_size=nproc * launch.nnodes, nodes=launch.nnodes, strategy=launch.strategy)
        except BaseException:
            _stop_group(process)
            raise
        done = subprocess.CompletedProcess(command, process.returncode, stdout, stderr)
        wall_s = time.monotonic() - started
        if done.returncode == 0 and launch.node_rank != 0:
            return None  # this node's ranks finished; global rank 0 (on node 0) wrote and stores the result
        if done.returncode != 0 or not os.path.exists(out_path):
            text = (done.stderr or "") + (done.stdout or "")
            status = "oom" if "out of memory" in text.lower() else "failed"
            return dataclasses.replace(
                failed_result(spec, run_id, status, f"world size {nproc * launch.nnodes}: "
                              f"{failure_reason(text, done.returncode)}", wall_time_s=wall_s),
                world_size=nproc * launch.nnodes, nodes=launch.nnodes, strategy=launch.strategy)
        with open(out_path, encoding="utf-8") as handle:
            summary = json.load(handle)
    return result_of_summary(spec, run_id, summary, launch, device_kind, wall_s)


def _stop_group(process: subprocess.Popen) -> None:
    """SIGTERM to torchrun's whole process group (it stops its ranks), SIGKILL after 10 s."""
    import signal

    for sig, wait_s in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait_s)
            return
        except subprocess.TimeoutExpired:
            continue


def failure_reason(text: str, returncode: int) -> str:
    """Which rank failed and its exception, from torchrun's output (its "Root Cause" block and the
    rank's traceback); the output's end where neither can be found."""
    errors = [m for m in re.findall(r"^(?:\[rank\d+\]:\s*)?\s*([A-Za-z_][\w.]*(?:Error|Exception|Interrupt): .+)$",
                                      text, re.MULTILINE) if "ChildFailedError" not in m]
    rank = re.search(r"Root Cause.*?rank\s*:\s*(\d+)", text, re.DOTALL)
    who = f"rank {rank.group(1)} failed" if rank else f"a rank failed (torchrun exit {returncode})"
    if errors:
        return f"{who}: {errors[0][:600]}"
    return f"{who}: {text.strip()[-800:] or 'no output'}"


def result_of_summary(spec, run_id: str, summary: dict, launch: Launch, device_kind: str, wall_s: float):
    """The job's result from rank 0's summary: throughput summed over ranks, rank 0's step times."""
    from core.facts.energy import EnergyReading, EnergyRecord
    from core.facts.results import ProbeResult, new_id, utc_now_iso
    from core.measure.runner import launch_id
    from core.measure.stats import StepStats

    ranks = summary["ranks"]
    first = ranks[0]
    steps, world = summary["steps"], summary["world_size"]
    samples_per_s = sum(summary["samples_per_step"] * steps / r["window_s"] for r in ranks)
    stats = StepStats.of(first["step_times_s"])
    # each rank's device is its own component (every rank's GPU is "gpu:0" to itself); the host's once
    readings = [EnergyReading(**{**reading, "component": f"gpu:rank{r['rank']}"})
                if reading["component"].startswith("gpu") and world > 1 else EnergyReading(**reading)
                for r in ranks for reading in r["readings"]]
    samples = summary["samples_per_step"] * steps * world
    flops = summary["flops_per_step"]
    energy = EnergyRecord.from_readings(readings, samples=samples, flops=(flops or 0) * steps * world,
                                        window_s=max(r["window_s"] for r in ranks)) if readings else None
    comm = [r["comm_share"] for r in ranks if r["comm_share"] is not None]
    return ProbeResult(
        id=new_id(), run_id=run_id, created_at=utc_now_iso(), status="ok", workload=spec.workload, size=spec.size,
        device=device_kind, precision=spec.precision, device_name=first["device_name"],
        precision_emulated=spec.precision in summary.get("emulated_precisions", ()),
        device_identity=first["device_identity"], batch_size=summary["batch_size"], compile=spec.compile,
        channels_last=spec.channels_last, seconds_requested=spec.seconds, steps=steps,
        warmup_steps=len(summary["warmup_s"]), warmup_settled=None, step_time_s=stats.median_s,
        step_time_p10_s=stats.p10_s, step_time_p90_s=stats.p90_s, step_time_cv=stats.cv,
        step_times_s=tuple(first["step_times_s"]), samples_per_s=samples_per_s,
        tokens_per_s=samples_per_s * summary["tokens_per_step"] / summary["samples_per_step"]
        if summary["tokens_per_step"] else None,
        flops_per_step=flops, flops_method=summary["flops_method"],
        achieved_tflops=flops / stats.mean_s / 1e12 if flops else None, params=summary["params"],
        loss_first=summary["loss_first"], loss_last=first["loss_last"],
        peak_memory_bytes=max(r["peak_memory_bytes"] or 0 for r in ranks) or None,
        peak_memory_method=f"{first['peak_memory_method']} (the largest rank)", wall_time_s=wall_s,
        env=summary["env"], energy=energy, world_size=world, nodes=summary["nodes"],
        dist_backend=summary["dist_backend"], strategy=launch.strategy, per_device_samples_per_s=samples_per_s / world,
        comm_share=statistics.median(comm) if comm else None,
        interconnect=interconnect(device_kind, world, summary["nodes"]),
        launch_id=launch_id())


def with_efficiency(results: list) -> list:
    """Scaling efficiency of each world size against the world size 1 measured in the same launch:
    throughput(n) ÷ (n × throughput(1)); None where there is no successful world size 1."""
    single = next((r for r in results if r.ok and r.world_size == 1), None)
    if single is None:
        return results
    return [dataclasses.replace(r, scaling_efficiency=r.samples_per_s / (r.world_size * single.samples_per_s))
            if r.ok else r for r in results]


if __name__ == "__main__":
    code = worker_main(sys.argv[1:])
    # A rank ends here without the interpreter's teardown: its result is written and its process group
    # destroyed, and C++ objects torch leaves to static destruction (gloo's threads) intermittently ended a
    # finished rank with "terminate called without an active exception" (SIGABRT), failing its world size.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
