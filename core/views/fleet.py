"""Fleet probing: one SkyPilot task per cloud instance type, and what the fleet will cost (pure).

A :class:`FleetPlan` (the probes to run) and price-sheet rows go in; :class:`FleetTask` s come out,
each with its SkyPilot task YAML text and a stated estimate of how long it runs and what it costs.
Nothing here reads the environment, writes a file or launches anything (see ``core.cli.fleet``).

The store's URL never enters a task: the task declares ``ACCELSCOPE_DB`` as a SkyPilot *secret*
with no value, so it is passed at launch (``--secret ACCELSCOPE_DB`` reads it from the launching
shell) and SkyPilot redacts it in its logs and YAML outputs.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Sequence

from core.errors import AccelscopeError
from core.units import S_PER_H
from core.views.catalog import Accelerator, match
from core.views.duration import NO_HISTORY_OVERHEAD_S, plan_duration
from core.views.pricing import PriceRow, PriceSheet

# Price-sheet providers SkyPilot can launch on, as SkyPilot names the cloud.
SKYPILOT_CLOUDS = {"aws": "aws", "gcp": "gcp", "azure": "azure", "lambda": "lambda", "runpod": "runpod"}
# SkyPilot's accelerator names where they differ from the sheets' (used where the instance type does
# not imply its GPUs: GCP attaches GPUs to a machine type).
SKYPILOT_ACCELERATORS = {"A100 40GB": "A100", "A100 80GB": "A100-80GB", "H100 PCIe": "H100", "H100 NVL": "H100-NVL"}

# The duration model (an estimate, stated wherever it is shown):
PROVISION_S = 240.0  # instance start, image boot, SkyPilot runtime, workdir sync (assumed)
INSTALL_S = {"GPU": 420.0, "CPU": 180.0}  # pip install of the project; the CUDA torch is ~3 GB (assumed)
SCALE_OVERHEAD_S = 45.0  # per world size: torchrun start, process-group init, model build, warm-up (assumed)
IDLE_SECONDS = 3.0  # the suite's default idle-power baseline per device
SECRET_DB = "ACCELSCOPE_DB"
LAUNCH_ID_ENV = "ACCELSCOPE_LAUNCH_ID"
PLANS = ("quick", "infer")
SCALE_WORKLOAD = ("transformer", "S")


@dataclass(frozen=True)
class FleetPlan:
    """What each instance runs. ``name`` is quick or infer (the suite's own plans, on the instance's
    first GPU, or its CPU on a CPU-only instance) or the repository-relative path of a JSON plan
    file (``suite --plan``), whose ``specs`` (ProbeSpec dicts) are given for the estimate."""

    name: str = "quick"
    seconds: float = 2.0
    specs: tuple[dict, ...] = ()
    scale: bool = True  # multi-GPU instances also run `scale` over 1, 2, 4… GPUs

    @property
    def from_file(self) -> bool:
        return self.name not in PLANS


@dataclass(frozen=True)
class Estimate:
    """How long one instance runs and what it costs: an estimate from a stated model, not history."""

    provision_s: float
    install_s: float
    probes: int
    probes_s: float
    scale_sizes: tuple[int, ...]
    scale_s: float
    usd_per_h: float | None  # None: the sheet has no price of this kind (spot) for the instance
    pricing: str  # on-demand | spot

    @property
    def total_s(self) -> float:
        return self.provision_s + self.install_s + self.probes_s + self.scale_s

    @property
    def usd(self) -> float | None:
        return None if self.usd_per_h is None else self.usd_per_h * self.total_s / S_PER_H

    def describe(self) -> str:
        scale = (f" + scaling over {','.join(map(str, self.scale_sizes))} GPUs {_minutes(self.scale_s)}"
                 if self.scale_sizes else "")
        return (f"start {_minutes(self.provision_s)} + install {_minutes(self.install_s)} + {self.probes} probe(s) "
                f"{_minutes(self.probes_s)}{scale}")

    def to_dict(self) -> dict:
        return {"total_s": self.total_s, "usd": self.usd, "usd_per_h": self.usd_per_h, "pricing": self.pricing,
                "provision_s": self.provision_s, "install_s": self.install_s, "probes": self.probes,
                "probes_s": self.probes_s, "scale_world_sizes": list(self.scale_sizes), "scale_s": self.scale_s}


@dataclass(frozen=True)
class FleetTask:
    row: PriceRow
    cluster: str  # SkyPilot cluster and task name
    filename: str
    launch_id: str
    yaml_text: str
    estimate: Estimate

    def to_dict(self) -> dict:
        return {"instance": self.row.option, "provider": self.row.provider, "instance_type": self.row.instance_type,
                "region": self.row.region, "accelerator": self.row.accelerator,
                "accelerator_count": self.row.accelerator_count, "cluster": self.cluster, "file": self.filename,
                "launch_id": self.launch_id, "estimate": self.estimate.to_dict()}


ESTIMATE_NOTE = (f"estimate: {PROVISION_S / 60:g} min to start the instance, {INSTALL_S['GPU'] / 60:g} min "
                 f"({INSTALL_S['CPU'] / 60:g} on CPU) to install, each probe its timed window + "
                 f"{NO_HISTORY_OVERHEAD_S:g} s, each scaling world size its window + {SCALE_OVERHEAD_S:g} s; "
                 "billed per second until SkyPilot tears the instance down; spot prices vary")


def select_rows(sheet: PriceSheet, instances: Sequence[str]) -> list[PriceRow]:
    """The sheet rows for ``instances`` ("g5.xlarge", or "g5.xlarge@us-west-2" where a sheet prices one
    type in several regions). Unknown or ambiguous names are refused, naming what the sheet has."""
    chosen, unknown = [], []
    for name in instances:
        instance_type, _, region = name.partition("@")
        rows = [r for r in sheet.rows if r.instance_type == instance_type and (not region or r.region == region)]
        if not rows:
            unknown.append(name)
        elif len(rows) > 1:
            raise AccelscopeError(f"{instance_type} is priced in several regions of sheet {sheet.name!r}: name one, "
                                  f"e.g. {', '.join(f'{instance_type}@{r.region}' for r in rows)}")
        elif rows[0] not in chosen:
            chosen.append(rows[0])
    if unknown:
        known = ", ".join(dict.fromkeys(r.instance_type for r in sheet.rows))
        raise AccelscopeError(f"unknown instance type(s) {', '.join(unknown)} in price sheet {sheet.name!r}; "
                              f"it has: {known}")
    if not chosen:
        raise AccelscopeError("no instance types given: --instances g5.xlarge,p4d.24xlarge")
    return chosen


def check_launchable(row: PriceRow, accelerators: Sequence[Accelerator]) -> None:
    """Fleet probes run where the probes can: CPU-only and NVIDIA GPU instances on SkyPilot's clouds."""
    if row.provider not in SKYPILOT_CLOUDS:
        raise AccelscopeError(f"{row.option}: SkyPilot cannot launch on {row.provider!r}; fleet probing supports "
                              f"{', '.join(SKYPILOT_CLOUDS)}")
    if row.accelerator_type not in ("CPU", "GPU"):
        raise AccelscopeError(f"{row.option}: its {row.accelerator} ({row.accelerator_type}) has no probe backend "
                              "here; fleet probing runs on CPU-only and NVIDIA GPU instances")
    if row.accelerator_type == "GPU":
        model = match(row.accelerator, tuple(accelerators))
        if model is None or model.vendor.lower() != "nvidia":
            raise AccelscopeError(f"{row.option}: {row.accelerator} is not an NVIDIA GPU in the catalog; the task "
                                  "installs CUDA torch, so fleet probing runs on NVIDIA GPU instances only")


def bf16_native(row: PriceRow, accelerators: Sequence[Accelerator]) -> bool:
    """Whether the quick plan will add bf16 on this instance: an NVIDIA GPU of Ampere or newer (a bf16 or TF32
    peak in the catalog, or released in 2020 or later: the A10G has no published peaks). CPUs are counted
    as fp32 only (an estimate: AMX/AVX-512-BF16 CPUs add bf16)."""
    if row.accelerator_type != "GPU":
        return False
    model = match(row.accelerator, tuple(accelerators))
    return bool(model and (model.bf16_tflops or model.tf32_tflops or (model.release_year or 0) >= 2020))


def scale_sizes(accelerator_count: int) -> tuple[int, ...]:
    """World sizes for the scaling probe: 1, 2, 4… up to the GPU count (and the count itself)."""
    if accelerator_count < 2:
        return ()
    sizes, n = [], 1
    while n <= accelerator_count:
        sizes.append(n)
        n *= 2
    if sizes[-1] != accelerator_count:
        sizes.append(accelerator_count)
    return tuple(sizes)


def probe_specs(plan: FleetPlan, row: PriceRow, accelerators: Sequence[Accelerator]) -> list[dict]:
    """The probes the plan runs on this instance (for the estimate; the suite builds the real ones there)."""
    if plan.from_file:
        return [dict(spec) for spec in plan.specs]
    device = "cuda:0" if row.accelerator_type == "GPU" else "cpu"
    precisions = ("fp32", "bf16") if bf16_native(row, accelerators) else ("fp32",)
    batches = (1, 32) if plan.name == "infer" else (None,)
    return [{"workload": w, "size": "S", "device": device, "precision": p, "seconds": plan.seconds, "batch_size": b}
            for w in ("mlp", "cnn", "transformer") for p in precisions for b in batches]


def estimate(plan: FleetPlan, row: PriceRow, accelerators: Sequence[Accelerator], spot: bool) -> Estimate:
    specs = probe_specs(plan, row, accelerators)
    # No history from these instances exists yet: plan_duration's stated no-history rule, for every probe.
    probes = plan_duration(specs, rows=(), identities={}, idle_seconds=IDLE_SECONDS)
    sizes = scale_sizes(row.accelerator_count) if plan.scale and row.accelerator_type == "GPU" else ()
    kind = "GPU" if row.accelerator_type == "GPU" else "CPU"
    return Estimate(provision_s=PROVISION_S, install_s=INSTALL_S[kind], probes=len(specs), probes_s=probes.total_s,
                    scale_sizes=sizes, scale_s=len(sizes) * (plan.seconds + SCALE_OVERHEAD_S),
                    usd_per_h=row.price_usd_per_h(spot), pricing="spot" if spot else "on-demand")


def cluster_name(row: PriceRow) -> str:
    """A SkyPilot cluster name: lower-case letters, digits and hyphens, starting with a letter."""
    slug = re.sub(r"[^a-z0-9]+", "-", f"{row.provider}-{row.instance_type}".lower()).strip("-")
    return f"accelscope-{slug}"[:60].rstrip("-")


def file_name(row: PriceRow) -> str:
    return re.sub(r"[^A-Za-z0-9._+-]+", "_", f"{row.provider}-{row.instance_type}") + ".yaml"


def task_launch_id(fleet_id: str, row: PriceRow) -> str:
    """The launch id every result of this task carries: the fleet's id, the cloud and the instance type,
    so results group by fleet (the prefix) and by instance type (the rest)."""
    return f"{fleet_id}/{row.provider}/{row.instance_type}"


def _scalar(value) -> str:
    """A YAML scalar: bare where it cannot be read as anything else, else a JSON (YAML-compatible) string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    if re.fullmatch(r"[A-Za-z][A-Za-z0-9_.+/-]*", text) and text.lower() not in (
            "true", "false", "yes", "no", "on", "off", "null", "y", "n"):
        return text
    return json.dumps(text)


def _block(text: str, indent: str = "  ") -> str:
    return "".join(f"{indent}{line}\n" if line else "\n" for line in text.splitlines())


def setup_script(row: PriceRow) -> str:
    gpu = row.accelerator_type == "GPU"
    index = ("" if gpu else "https://download.pytorch.org/whl/cpu")
    assumption = (
        "# Assumed: the image has python3 >= 3.10 and, on GPU instances, an NVIDIA driver recent enough for the\n"
        "# torch CUDA build (SkyPilot's default images do). PyPI's Linux x86_64 torch wheel is the CUDA build,\n"
        "# with its CUDA runtime bundled: the same torch version as requirements.txt pins, with CUDA.\n"
        "# Set TORCH_INDEX_URL (--env) to take another build, e.g. https://download.pytorch.org/whl/cu126.\n"
        if gpu else
        "# Assumed: the image has python3 >= 3.10. A CPU-only instance takes torch's CPU build (no CUDA download).\n")
    return (
        f"{assumption}set -e\n"
        "python3 -m venv ~/accelscope-venv\n"
        ". ~/accelscope-venv/bin/activate\n"
        "python -m pip install -q --upgrade pip\n"
        "TORCH_PIN=$(grep -E '^torch==' requirements.txt | cut -d' ' -f1)\n"
        "pip install -q \"$TORCH_PIN\" ${TORCH_INDEX_URL:+--index-url \"$TORCH_INDEX_URL\"}\n"
        "pip install -q -r requirements.txt\n"
        + ("python -c 'import torch; assert torch.cuda.is_available(), \"no CUDA device seen by torch\"; "
           "print(torch.__version__, torch.version.cuda, torch.cuda.device_count(), \"GPU(s)\")'\n" if gpu else "")
    ), index


def run_script(plan: FleetPlan, row: PriceRow, accelerators: Sequence[Accelerator]) -> str:
    gpu = row.accelerator_type == "GPU"
    device = "cuda:0" if gpu else "cpu"
    seconds = f"{plan.seconds:g}"
    if plan.name == "quick":
        suite = f"python -m core suite --quick --devices {device} --seconds {seconds}"
    elif plan.name == "infer":
        suite = f"python -m core suite --mode infer --devices {device} --seconds {seconds}"
    else:
        suite = f"python -m core suite --plan {_shell_word(plan.name)}"
    lines = [
        "# Results go to the shared store named by the ACCELSCOPE_DB secret, each carrying ACCELSCOPE_LAUNCH_ID.",
        ': "${ACCELSCOPE_DB:?pass the shared store URL at launch: --secret ACCELSCOPE_DB}"',
        ". ~/accelscope-venv/bin/activate",
        "status=0",
        "python -m core devices",
        f"{suite} || status=$?",
    ]
    sizes = scale_sizes(row.accelerator_count) if plan.scale and gpu else ()
    if sizes:
        workload, size = SCALE_WORKLOAD
        precision = "bf16" if bf16_native(row, accelerators) else "fp32"
        lines.append(f"# {row.accelerator_count} GPUs: the scaling probe (torchrun inside), one result per world size.")
        lines.append(f"python -m core scale --workload {workload} --size {size} --device cuda --precision {precision} "
                     f"--nproc {','.join(map(str, sizes))} --seconds {seconds} || status=$?")
    lines.append("exit $status")
    return "\n".join(lines) + "\n"


def _shell_word(text: str) -> str:
    return text if re.fullmatch(r"[A-Za-z0-9_./+-]+", text) else "'" + text.replace("'", "'\\''") + "'"


def task_yaml(plan: FleetPlan, row: PriceRow, accelerators: Sequence[Accelerator], *, spot: bool,
              launch_id: str, est: Estimate, sheet_name: str, out_dir: str = "fleet") -> str:
    """The SkyPilot task YAML for one instance type (schema: skypilot-org/skypilot sky/utils/schemas.py)."""
    cluster = cluster_name(row)
    instance_type, accelerator = row.instance_type, None
    if row.provider == "gcp" and row.accelerator_type == "GPU":
        # GCP attaches GPUs to a machine type: SkyPilot wants them as accelerators (n1-standard-4+1xT4 in the sheet).
        instance_type = instance_type.split("+")[0]
        accelerator = f"{SKYPILOT_ACCELERATORS.get(row.accelerator, row.accelerator.replace(' ', '-'))}:" \
                      f"{row.accelerator_count}"
    setup, cpu_index = setup_script(row)
    cost = "price unknown" if est.usd is None else f"≈ ${est.usd:,.2f}"
    price = "no price in the sheet" if est.usd_per_h is None else f"{est.usd_per_h:g} $/h"
    header = [
        f"# Accelscope fleet probe: {row.option}, {row.accelerator or 'CPU only'}"
        + (f" × {row.accelerator_count}" if row.accelerator_count > 1 else ""),
        f"# Generated by `python -m core fleet` from price sheet {sheet_name!r} ({row.retrieved_on}); plan {plan.name}.",
        f"# Estimate: ≈ {_minutes(est.total_s)}, {cost} ({est.pricing}, {price}): {est.describe()}.",
        "# Launch from the repository root (workdir: . syncs it), with the store's URL in your environment:",
        f"#   sky launch -y --down -c {cluster} {out_dir.rstrip('/')}/{file_name(row)} --secret {SECRET_DB}",
    ]
    resources = [f"  cloud: {_scalar(SKYPILOT_CLOUDS[row.provider])}", f"  region: {_scalar(row.region)}",
                 f"  instance_type: {_scalar(instance_type)}"]
    if accelerator:
        resources.append(f"  accelerators: {_scalar(accelerator)}")
    resources += [f"  use_spot: {_scalar(spot)}",
                  "  # A safety net: torn down after 10 idle minutes even if launched without --down.",
                  "  autostop:", "    idle_minutes: 10", "    down: true"]
    envs = [f"  {LAUNCH_ID_ENV}: {_scalar(launch_id)}", f"  TORCH_INDEX_URL: {_scalar(cpu_index)}"]
    text = "\n".join(header) + "\n" + "\n".join([
        f"name: {_scalar(cluster)}",
        "workdir: .",
        "resources:", *resources,
        "# The store's URL (it may hold a password) is a secret with no value here: pass it at launch.",
        "secrets:", f"  {SECRET_DB}: null",
        "envs:", *envs,
    ]) + "\nsetup: |\n" + _block(setup) + "run: |\n" + _block(run_script(plan, row, accelerators))
    return text


def fleet_tasks(plan: FleetPlan, rows: Sequence[PriceRow], accelerators: Sequence[Accelerator], *, spot: bool,
                fleet_id: str, sheet_name: str, out_dir: str = "fleet") -> list[FleetTask]:
    """One task per row, each with its YAML text and estimate. Refuses (AccelscopeError) an instance the fleet
    cannot probe before producing anything."""
    for row in rows:
        check_launchable(row, accelerators)
    tasks = []
    for row in rows:
        est = estimate(plan, row, accelerators, spot)
        launch_id = task_launch_id(fleet_id, row)
        text = task_yaml(plan, row, accelerators, spot=spot, launch_id=launch_id, est=est, sheet_name=sheet_name,
                         out_dir=out_dir)
        tasks.append(FleetTask(row, cluster_name(row), file_name(row), launch_id, text, est))
    return tasks


@dataclass(frozen=True)
class FleetTotal:
    wall_s: float  # the longest instance
    instance_s: float
    usd: float | None  # None when no instance has a price
    unpriced: tuple[str, ...]

    def describe(self) -> str:
        cost = "no price known" if self.usd is None else f"≈ ${self.usd:,.2f}"
        extra = f" (without {', '.join(self.unpriced)}: no price in the sheet)" if self.unpriced and self.usd else ""
        return (f"≈ {_minutes(self.instance_s)} of instance time (the longest instance ≈ {_minutes(self.wall_s)}), "
                f"{cost}{extra}")


def fleet_total(tasks: Sequence[FleetTask]) -> FleetTotal:
    priced = [t.estimate.usd for t in tasks if t.estimate.usd is not None]
    return FleetTotal(wall_s=max((t.estimate.total_s for t in tasks), default=0.0),
                      instance_s=sum(t.estimate.total_s for t in tasks),
                      usd=sum(priced) if priced else None,
                      unpriced=tuple(t.row.instance_type for t in tasks if t.estimate.usd is None))


def summary_lines(tasks: Sequence[FleetTask]) -> list[str]:
    """What is printed before anything launches: per instance and in total, and how it was estimated."""
    lines = []
    for task in tasks:
        est = task.estimate
        cost = "price unknown (the sheet has none)" if est.usd is None else f"≈ ${est.usd:,.2f}"
        price = "" if est.usd_per_h is None else f" at {est.usd_per_h:g} $/h {est.pricing}"
        lines.append(f"{task.row.option}: ≈ {_minutes(est.total_s)}, {cost}{price} — {est.describe()} → {task.filename}")
    lines.append(f"total: {fleet_total(tasks).describe()}")
    lines.append(f"({ESTIMATE_NOTE})")
    return lines


def _minutes(seconds: float) -> str:
    minutes = seconds / 60
    return f"{minutes:.0f} min" if minutes >= 10 else f"{minutes:.1f} min"
