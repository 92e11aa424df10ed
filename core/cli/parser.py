"""The command line's arguments (``python -m core --help``). The probe child's own arguments live
with the child (:mod:`core.measure.child`)."""

from __future__ import annotations

import argparse

from core.errors import InvalidCostSettings
from core.facts.spec import MODES, PRECISIONS
from core.measure.workloads import WORKLOADS
from core.views.cost import CostSettings

PRICE_OPTIONS = ("price_sheet", "region", "spot", "electricity_usd_per_kwh", "purchase_price_usd", "lifetime_years",
                 "hours_per_year", "g_co2_per_kwh")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core",
                                     description="Accelscope: measure training speed, energy and cost per device.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    devices = sub.add_parser("devices", help="list the devices found on this machine")
    devices.add_argument("--json", action="store_true", help="print a JSON list")

    probe = sub.add_parser("probe", help="run one probe (training, inference or time-to-target; in its own process) "
                                         "and store it")
    probe.add_argument("--workload", required=True,
                       help=f"{', '.join(WORKLOADS)} or a custom 'package.module:function'")
    probe.add_argument("--size", default="S", help="size preset: S, M, L or a named one (resnet50, gpt2-small)")
    probe.add_argument("--device", default="cpu", help="cpu, cuda:0, mps, xpu:0 (see `devices`)")
    probe.add_argument("--precision", default="fp32", choices=PRECISIONS)
    probe.add_argument("--batch-size", type=int, help="override the size preset's batch size")
    probe.add_argument("--seconds", type=float, default=3.0, help="length of the timed window (default 3)")
    probe.add_argument("--compile", action="store_true", help="train through torch.compile")
    probe.add_argument("--channels-last", action="store_true", help="channels-last memory format (cnn)")
    _add_mode_options(probe)
    probe.add_argument("--target-loss", type=float,
                       help="--mode converge: train until the smoothed loss reaches this (e.g. 0.5)")
    probe.add_argument("--max-seconds", type=float,
                       help="--mode converge: stop at this many seconds if the target is not reached (default 60)")
    _add_run_options(probe)

    suite = sub.add_parser("suite", help="run a plan of probes over devices; progress bar; table at the end")
    suite.add_argument("--quick", action="store_true",
                       help="mlp, cnn S, transformer S on each device, in fp32 and, where the device has bf16 "
                            "units, bf16 (the default plan)")
    suite.add_argument("--workloads", nargs="+", choices=list(WORKLOADS), help="instead of the quick plan")
    suite.add_argument("--sizes", nargs="+", default=["S"])
    suite.add_argument("--precisions", nargs="+", choices=PRECISIONS,
                       help="default: fp32, and bf16 where the device has bf16 units (name bf16 to run it emulated)")
    suite.add_argument("--devices", nargs="+", help="device ids (default: all found)")
    suite.add_argument("--seconds", type=float, default=2.0, help="timed window per probe (default 2)")
    suite.add_argument("--plan", help="a JSON file with a list of probe specs (as `ProbeSpec.to_dict`)")
    suite.add_argument("--events", help="append one JSON line per progress event to this file")
    _add_mode_options(suite, converge=False)
    _add_run_options(suite)

    scale = sub.add_parser("scale", help="scaling probes: one training job over 1, 2, 4… devices with "
                                         "torch.distributed (torchrun), one result per world size")
    scale.add_argument("--workload", required=True, help=f"{', '.join(WORKLOADS)}")
    scale.add_argument("--size", default="S")
    scale.add_argument("--device", default="cpu", choices=("cpu", "cuda"),
                       help="cpu (gloo backend; the host's cores shared between ranks) or cuda (NCCL; one GPU each)")
    scale.add_argument("--precision", default="fp32", choices=PRECISIONS)
    scale.add_argument("--batch-size", type=int, help="per device (default: the size preset's)")
    scale.add_argument("--nproc", type=batch_list, default=(1, 2), metavar="N[,N…]",
                       help="processes (devices) per node for each world size, e.g. 1,2,4,8 (default 1,2)")
    scale.add_argument("--nnodes", type=int, default=1, help="nodes (each runs this command with its --node-rank)")
    scale.add_argument("--node-rank", type=int, default=0)
    scale.add_argument("--master-addr", help="rank 0's node address (with --nnodes > 1)")
    scale.add_argument("--master-port", type=int, default=29500)
    scale.add_argument("--strategy", default="ddp", choices=("ddp", "fsdp"),
                       help="DistributedDataParallel (default) or FullyShardedDataParallel")
    scale.add_argument("--seconds", type=float, default=3.0, help="timed window per world size (default 3)")
    scale.add_argument("--json", action="store_true", help="print one JSON object per result")
    scale.add_argument("--timeout", type=float, default=600.0, help="seconds before a world size is stopped")
    scale.add_argument("--meters", choices=("auto", "none"), default="auto")
    _add_db(scale)

    results = sub.add_parser("results", help="show stored results (one flat row each), priced if asked")
    results.add_argument("--format", choices=("table", "csv", "json"), default="table")
    results.add_argument("--json", action="store_true", help="same as --format json")
    results.add_argument("--run", help="only this run id")
    results.add_argument("--workload")
    results.add_argument("--device")
    results.add_argument("--status")
    _add_db(results)
    _add_cost_options(results)

    export = sub.add_parser("export", help="write stored results to a JSON bundle (version 2: step times packed, "
                                           "base64 of little-endian float64)")
    export.add_argument("file")
    export.add_argument("--run", help="only this run id")
    _add_db(export)

    import_ = sub.add_parser("import", help="import a JSON bundle of version 1 or 2 (validated whole: all or nothing)")
    import_.add_argument("file")
    _add_db(import_)

    delete = sub.add_parser("delete-run", help="delete every result of one run")
    delete.add_argument("run_id")
    _add_db(delete)

    recover = sub.add_parser("recover", help="write the results an earlier run could not store (the spool)")
    _add_db(recover)

    project = sub.add_parser("project", help="projected training throughput on catalog accelerators (no GPU needed)")
    project.add_argument("--workload", required=True, help="e.g. cnn, transformer")
    project.add_argument("--size", required=True, help="e.g. resnet50, gpt2-small")
    project.add_argument("--precision", default="bf16", choices=PRECISIONS)
    project.add_argument("--to", required=True, metavar="DEVICE",
                         help="a catalog model (e.g. 'A100 80GB', see `python -m core prices`) or 'all'")
    project.add_argument("--holdout", action="store_true",
                         help="ignore every measured and published point on the target device itself")
    project.add_argument("--json", action="store_true", help="one JSON object per device (JSON lines)")
    _add_db(project)

    analyze = sub.add_parser("analyze", help="your model without running it: parameters, FLOPs, training memory, "
                                            "and fit and speed on every catalog accelerator")
    analyze.add_argument("--model", required=True,
                         help="a preset (gpt2-small … gpt2-xl, llama-3-8b-like, llama-3-70b-like, mistral-7b-like, "
                              "bert-base, bert-large, vit-base, vit-large, resnet-50, whisper-small, t5-base), "
                              "hf:<transformers model class> (e.g. hf:GPT2LMHeadModel), a built-in workload/size "
                              "(e.g. cnn/resnet50), or your own package.module:function(batch, seq, device) returning "
                              "(model, inputs) with model(**inputs) giving the loss")
    analyze.add_argument("--config", help="config overrides, e.g. n_layer=24,n_embd=1024 (transformers field names)")
    analyze.add_argument("--seq", type=int, help="sequence length in tokens (default: the model's context, at most 2048)")
    analyze.add_argument("--batch", type=int, default=8, help="samples per device per step (default 8)")
    analyze.add_argument("--precision", default="bf16", choices=PRECISIONS,
                         help="training precision (bf16/fp16: mixed, with fp32 weights as the probe trains)")
    analyze.add_argument("--optimizer", default="adamw", choices=("adamw", "sgd", "default"),
                         help="optimizer whose state is counted (default adamw; 'default': a built-in workload's own)")
    analyze.add_argument("--activation-checkpointing", action="store_true",
                         help="recompute activations in the backward (transformers' activation checkpointing)")
    plan = analyze.add_argument_group("plan a training run on every instance of a price sheet")
    job = plan.add_mutually_exclusive_group()
    job.add_argument("--samples", type=float, help="samples (sequences, images) to train on, epochs included")
    job.add_argument("--tokens", type=float, help="tokens to train on (÷ --seq per sample)")
    plan.add_argument("--price-sheet", help="price sheet name (e.g. aws, gcp) or CSV path (default aws)")
    plan.add_argument("--spot", action="store_true", help="spot instead of on-demand prices")
    plan.add_argument("--region", help="grid region for CO2 (default USA)")
    analyze.add_argument("--json", action="store_true", help="one JSON object")
    _add_db(analyze)

    fleet = sub.add_parser("fleet", help="probe cloud instances through SkyPilot: one task YAML per instance type, "
                                         "with the estimated duration and cost printed before anything launches")
    fleet.add_argument("--price-sheet", help="price sheet name (e.g. aws, gcp) or CSV path (default aws)")
    fleet.add_argument("--instances", required=True, metavar="TYPE[,TYPE…]",
                       help="instance types of the sheet, e.g. g5.xlarge,p4d.24xlarge (TYPE@REGION where a sheet "
                            "prices one type in several regions)")
    fleet.add_argument("--plan", default="quick",
                       help="quick (default: the suite's quick plan), infer, or a JSON plan file inside the repository")
    fleet.add_argument("--seconds", type=float, default=2.0, help="timed window per probe (default 2)")
    fleet.add_argument("--spot", action="store_true", help="spot instances (and spot prices in the estimate)")
    fleet.add_argument("--no-scale", action="store_true", help="skip the scaling probe on multi-GPU instances")
    fleet.add_argument("--out", default="fleet", help="directory for the task YAMLs (default fleet/)")
    fleet.add_argument("--launch-id", help="the fleet's id in each result's launch id (default: fleet-<UTC time>-<hex>)")
    fleet.add_argument("--launch", action="store_true",
                       help="hand the tasks to SkyPilot (`sky launch`); the store URL comes from $ACCELSCOPE_DB")
    fleet.add_argument("--json", action="store_true", help="print the tasks and estimates as one JSON object")

    prices = sub.add_parser("prices", help="list the bundled price sheets, or validate one")
    prices.add_argument("--validate", metavar="FILE", help="check a price sheet CSV against the schema")
    prices.add_argument("--json", action="store_true")
    return parser


def _add_db(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", help="SQLAlchemy URL of the results store (default: $ACCELSCOPE_DB or the SQLite "
                                     "file accelscope.db). A URL with a password is visible in the process list: "
                                     "set $ACCELSCOPE_DB instead")


def batch_list(text: str) -> tuple[int, ...]:
    """'1,8,64' -> (1, 8, 64); anything else is an error naming the value and the form."""
    parts = [part.strip() for part in text.split(",")]
    if not all(part.isdigit() and int(part) > 0 for part in parts) or len(parts) > 32:
        raise argparse.ArgumentTypeError(f"{text!r} is not a list of batch sizes: give positive integers separated "
                                         "by commas, e.g. --batch 1,8,64 (at most 32)")
    return tuple(dict.fromkeys(int(part) for part in parts))


def _add_mode_options(parser: argparse.ArgumentParser, converge: bool = True) -> None:
    modes = MODES if converge else tuple(m for m in MODES if m != "converge")
    parser.add_argument("--mode", choices=modes, default="train",
                        help="train: training steps/s (default); infer: inference latency (p50/p90/p99 per request) "
                             "and throughput, eval mode under torch.inference_mode"
                        + ("; converge: time, steps and energy to reach --target-loss" if converge else ""))
    parser.add_argument("--batch", type=batch_list, metavar="N[,N…]",
                        help="batch sizes, one result each (e.g. 1,8,64); instead of --batch-size")


def _add_run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON object per result")
    parser.add_argument("--timeout", type=float, help="seconds before a probe is killed (default: generous)")
    parser.add_argument("--meters", choices=("auto", "none"), default="auto",
                        help="energy meters: auto (NVML, RAPL, CodeCarbon as available) or none")
    parser.add_argument("--idle-seconds", type=float, default=3.0,
                        help="measure each device's idle power this long before the plan (0: skip)")
    _add_db(parser)


def _add_cost_options(parser: argparse.ArgumentParser) -> None:
    defaults = CostSettings()
    group = parser.add_argument_group("cost and CO2 (a view: nothing stored changes)")
    group.add_argument("--price-sheet", help="price sheet name (e.g. aws) or CSV path (default aws). Any cost flag "
                                             "adds cost and CO2 columns")
    group.add_argument("--region", help="grid region for CO2: country ISO code (e.g. USA, FRA) or "
                                        f"provider:region (e.g. aws:us-east-1); default {defaults.region}")
    group.add_argument("--spot", action="store_true", help="price with spot instead of on-demand rates")
    group.add_argument("--electricity-usd-per-kwh", type=float,
                       help=f"own hardware: electricity price (default {defaults.electricity_usd_per_kwh:g})")
    group.add_argument("--purchase-price-usd", type=float,
                       help="own hardware: purchase price per device (default: the catalog's typical price)")
    group.add_argument("--lifetime-years", type=float,
                       help=f"own hardware: years to amortize over (default {defaults.lifetime_years:g})")
    group.add_argument("--hours-per-year", type=float,
                       help=f"own hardware: hours of use per year (default {defaults.hours_per_year:g})")
    group.add_argument("--g-co2-per-kwh", type=float, help="grid intensity override (default: the region's)")


def cost_settings(args: argparse.Namespace) -> CostSettings | None:
    """The cost settings the flags ask for, or None when no cost flag was given (then no cost columns)."""
    given = {name: getattr(args, name) for name in PRICE_OPTIONS
             if getattr(args, name) is not None and getattr(args, name) is not False}
    if not given:
        return None
    values = {("sheet" if name == "price_sheet" else name): value for name, value in given.items()}
    try:
        return CostSettings(**values)
    except InvalidCostSettings as exc:  # name the flag, not the field
        raise InvalidCostSettings(exc.field, f"--{exc.field.replace('_', '-')}: {exc}") from None
