"""``python -m core fleet``: write one SkyPilot task per instance type, print the estimate, launch if asked.

The tasks and estimates come from :mod:`core.views.fleet` (pure); this module reads the sheet and
the plan, writes the files and hands them to the ``sky`` CLI. SkyPilot is optional
(requirements-fleet.txt): without it, ``--launch`` says what to install and launches nothing.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

from core.errors import AccelscopeError
from core.paths import REPO_ROOT
from core.views import catalog
from core.views import fleet as fleet_view
from core.views.cost import resolve_sheet

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
INSTALL_HINT = ("SkyPilot is not installed here: install it with `pip install -r requirements-fleet.txt` (it names "
                "the cloud extras: AWS, GCP, Lambda, RunPod; for Azure `pip install \"skypilot[azure]==0.14.1\"`), "
                "then run `sky check` to enable your cloud credentials")


def new_fleet_id(now: datetime | None = None) -> str:
    now = now or datetime.now(timezone.utc)
    return f"fleet-{now:%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


def _plan(args) -> fleet_view.FleetPlan:
    if args.seconds <= 0:
        raise AccelscopeError(f"--seconds must be positive; got {args.seconds:g}")
    if args.plan in fleet_view.PLANS:
        return fleet_view.FleetPlan(args.plan, args.seconds, scale=not args.no_scale)
    from core.cli.commands import _read_plan

    path = Path(args.plan).resolve()
    try:
        relative = path.relative_to(REPO_ROOT)
    except ValueError:
        raise AccelscopeError(f"--plan {args.plan}: a plan file must be inside the repository ({REPO_ROOT}), which "
                              "the task's workdir syncs to each instance; or use --plan quick|infer") from None
    specs = tuple(spec.to_dict() for spec in _read_plan(str(path)))
    return fleet_view.FleetPlan(relative.as_posix(), args.seconds, specs, scale=not args.no_scale)


def _out_dir(text: str) -> Path:
    out = Path(text)
    if out.exists() and not out.is_dir():
        raise AccelscopeError(f"--out {text}: exists and is not a directory; name a directory for the task files")
    return out


def run(args) -> int:
    if args.launch_id and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", args.launch_id):
        raise AccelscopeError(f"--launch-id {args.launch_id!r}: use letters, digits, '.', '_' and '-' (at most 64)")
    sheet = resolve_sheet(args.price_sheet or "aws")
    rows = fleet_view.select_rows(sheet, [name.strip() for name in args.instances.split(",") if name.strip()])
    plan = _plan(args)
    out = _out_dir(args.out)
    fleet_id = args.launch_id or new_fleet_id()
    tasks = fleet_view.fleet_tasks(plan, rows, catalog.load_catalog(), spot=args.spot, fleet_id=fleet_id,
                                   sheet_name=sheet.name, out_dir=args.out)
    out.mkdir(parents=True, exist_ok=True)
    for task in tasks:
        (out / task.filename).write_text(task.yaml_text, encoding="utf-8")
    if args.json:
        total = fleet_view.fleet_total(tasks)
        print(json.dumps({"fleet_id": fleet_id, "out": str(out), "tasks": [t.to_dict() for t in tasks],
                          "total": {"wall_s": total.wall_s, "instance_s": total.instance_s, "usd": total.usd,
                                    "unpriced": list(total.unpriced)},
                          "note": fleet_view.ESTIMATE_NOTE}, indent=1))
    else:
        print(f"fleet {fleet_id}: {len(tasks)} SkyPilot task(s) in {out}/ (results carry launch id "
              f"{fleet_id}/<cloud>/<instance type>)")
        for line in fleet_view.summary_lines(tasks):
            print(f"  {line}")
    if not args.launch:
        if not args.json:
            print(f"Launch them with --launch, or one by one from {REPO_ROOT}: "
                  f"sky launch -y --down -c CLUSTER {out.resolve()}/FILE --secret {fleet_view.SECRET_DB}")
        return EXIT_OK
    return launch(tasks, out)


def _store_problem() -> str | None:
    url = os.environ.get(fleet_view.SECRET_DB)
    if not url:
        return (f"{fleet_view.SECRET_DB} is not set: set it in this shell to the shared store's URL (a PostgreSQL "
                "server every instance can reach); it is passed to the tasks as a SkyPilot secret")
    if url.startswith("sqlite"):
        return (f"{fleet_view.SECRET_DB} names a SQLite file: the instances cannot write to it; set it to a "
                "PostgreSQL URL every instance can reach")
    return None


def launch(tasks, out: Path) -> int:
    sky = shutil.which("sky")
    if sky is None:
        print(f"error: {INSTALL_HINT}. Nothing was launched; the task files are in {out}/.", file=sys.stderr)
        return EXIT_USAGE
    problem = _store_problem()
    if problem:
        print(f"error: {problem}. Nothing was launched.", file=sys.stderr)
        return EXIT_USAGE
    failed = []
    for task in tasks:
        # --secret NAME (no value): SkyPilot reads it from this environment, so the URL is on no command line.
        command = [sky, "launch", "-y", "--down", "--detach-run", "-c", task.cluster,
                   str((out / task.filename).resolve()), "--secret", fleet_view.SECRET_DB]
        print(f"launching {task.row.option} as {task.cluster} …", file=sys.stderr, flush=True)
        code = subprocess.run(command, cwd=REPO_ROOT).returncode
        if code != 0:
            failed.append(f"{task.row.option} (sky exit {code})")
    if failed:
        print(f"error: SkyPilot could not launch {', '.join(failed)}. If no cloud is enabled, run `sky check`; "
              "SkyPilot's message above says more.", file=sys.stderr)
        return EXIT_FAILED
    print(f"launched {len(tasks)} task(s); follow them with `sky status` and `sky logs CLUSTER`; each is torn down "
          "when its run ends", file=sys.stderr)
    return EXIT_OK
