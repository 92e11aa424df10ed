"""The command line: python -m core devices|probe|suite|results|export|import|delete-run|prices.

Exit codes: 0 success, 1 a probe failed (its failed result is still stored), 2 bad usage.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from typing import Sequence

from core.errors import AccelscopeError

EXIT_OK, EXIT_PROBE_FAILED, EXIT_USAGE = 0, 1, 2


def _add_db(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", help="SQLAlchemy URL of the results store "
                                     "(default: $ACCELSCOPE_DB or the SQLite file accelscope.db)")


def build_parser() -> argparse.ArgumentParser:
    from core.facts.spec import PRECISIONS
    from core.measure.workloads import WORKLOADS

    parser = argparse.ArgumentParser(prog="python -m core",
                                     description="Accelscope: measure training speed, energy and cost per device.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    devices = sub.add_parser("devices", help="list the devices found on this machine")
    devices.add_argument("--json", action="store_true", help="print a JSON list")

    probe = sub.add_parser("probe", help="run one training probe (in its own process) and store it")
    probe.add_argument("--workload", required=True,
                       help=f"{', '.join(WORKLOADS)} or a custom 'package.module:function'")
    probe.add_argument("--size", default="S", help="size preset: S, M, L or a named one (resnet50, gpt2-small)")
    probe.add_argument("--device", default="cpu", help="cpu, cuda:0, mps, xpu:0 (see `devices`)")
    probe.add_argument("--precision", default="fp32", choices=PRECISIONS)
    probe.add_argument("--batch-size", type=int, help="override the size preset's batch size")
    probe.add_argument("--seconds", type=float, default=3.0, help="length of the timed window (default 3)")
    probe.add_argument("--compile", action="store_true", help="train through torch.compile")
    probe.add_argument("--channels-last", action="store_true", help="channels-last memory format (cnn)")
    _add_run_options(probe)

    suite = sub.add_parser("suite", help="run a plan of probes over devices; progress bar; table at the end")
    suite.add_argument("--quick", action="store_true",
                       help="mlp, cnn S, transformer S in fp32 and bf16 on each device (the default plan)")
    suite.add_argument("--workloads", nargs="+", choices=list(WORKLOADS), help="instead of the quick plan")
    suite.add_argument("--sizes", nargs="+", default=["S"])
    suite.add_argument("--precisions", nargs="+", choices=PRECISIONS, default=["fp32", "bf16"])
    suite.add_argument("--devices", nargs="+", help="device ids (default: all found)")
    suite.add_argument("--seconds", type=float, default=2.0, help="timed window per probe (default 2)")
    suite.add_argument("--plan", help="a JSON file with a list of probe specs (as `ProbeSpec.to_dict`)")
    suite.add_argument("--events", help="append one JSON line per progress event to this file")
    _add_run_options(suite)

    results = sub.add_parser("results", help="show stored results")
    results.add_argument("--format", choices=("table", "csv", "json"), default="table")
    results.add_argument("--json", action="store_true", help="same as --format json")
    results.add_argument("--run", help="only this run id")
    results.add_argument("--workload")
    results.add_argument("--device")
    results.add_argument("--status")
    _add_db(results)
    _add_cost_options(results)

    export = sub.add_parser("export", help="write stored results to a JSON bundle")
    export.add_argument("file")
    export.add_argument("--run", help="only this run id")
    _add_db(export)

    import_ = sub.add_parser("import", help="import a JSON bundle (validated whole: all or nothing)")
    import_.add_argument("file")
    _add_db(import_)

    delete = sub.add_parser("delete-run", help="delete every result of one run")
    delete.add_argument("run_id")
    _add_db(delete)

    prices = sub.add_parser("prices", help="list the bundled price sheets, or validate one")
    prices.add_argument("--validate", metavar="FILE", help="check a price sheet CSV against the schema")
    prices.add_argument("--json", action="store_true")

    child = sub.add_parser("_probe", help=argparse.SUPPRESS)
    child.add_argument("--spec", required=True)
    child.add_argument("--run-id", required=True)
    child.add_argument("--out", required=True)
    child.add_argument("--meters", default="auto")
    child.add_argument("--memory-limit-bytes", type=int)
    child.add_argument("--idle-w", help="JSON: idle power per component, measured before the plan")

    idle = sub.add_parser("_idle", help=argparse.SUPPRESS)
    idle.add_argument("--device", required=True)
    idle.add_argument("--seconds", type=float, default=3.0)
    return parser


def _add_run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON object per result")
    parser.add_argument("--timeout", type=float, help="seconds before a probe is killed (default: generous)")
    parser.add_argument("--meters", choices=("auto", "none"), default="auto",
                        help="energy meters: auto (NVML, RAPL, CodeCarbon as available) or none")
    parser.add_argument("--idle-seconds", type=float, default=3.0,
                        help="measure each device's idle power this long before the plan (0: skip)")
    _add_db(parser)


def _add_cost_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--price-sheet", help="price sheet name (e.g. aws) or CSV path: adds cost columns")
    parser.add_argument("--region", help="grid region for CO2: country ISO code (e.g. USA, FRA) or "
                                         "provider:region (e.g. aws:us-east-1)")
    parser.add_argument("--spot", action="store_true", help="price with spot instead of on-demand rates")


def cmd_devices(args) -> int:
    from core.measure.devices import discover

    devices = discover()
    if args.json:
        print(json.dumps([d.to_dict() for d in devices], indent=1))
        return EXIT_OK
    from core.cli.display import devices_table, console

    console().print(devices_table(devices))
    if not any(d.kind != "cpu" for d in devices):
        console().print("No GPU or other accelerator found here (torch sees only the CPU).")
    return EXIT_OK


def _check_plan(specs, devices) -> None:
    from core.measure.devices import find
    from core.facts.spec import check_spec_on_device

    for spec in specs:
        check_spec_on_device(spec, find(spec.device, devices))


def _run(specs, args, *, show_progress: bool) -> int:
    from core.cli.display import console, print_results_table, progress_printer
    from core.measure.runner import run_plan
    from core.facts.store import Store

    store = Store(args.db)
    events_file = open(args.events, "a", encoding="utf-8") if getattr(args, "events", None) else None
    try:
        with progress_printer(len(specs), enabled=show_progress and not args.json) as on_progress:
            def on_event(event) -> None:
                on_progress(event)
                if events_file:
                    events_file.write(json.dumps(event.to_dict()) + "\n")
                    events_file.flush()
                if event.kind == "done" and args.json:
                    print(json.dumps(event.result.to_dict()), flush=True)

            results = run_plan(specs, store, timeout_s=args.timeout, meters=args.meters, on_event=on_event,
                               idle_seconds=args.idle_seconds)
    finally:
        if events_file:
            events_file.close()
        store.close()
    if not args.json:
        print_results_table(results)
        failed = [r for r in results if not r.ok]
        for result in failed:
            console().print(f"[red]{result.status}[/red] {result.workload}/{result.size} {result.precision} "
                            f"on {result.device}: {result.error}")
    return EXIT_OK if all(r.ok for r in results) else EXIT_PROBE_FAILED


def cmd_probe(args) -> int:
    from core.measure.devices import discover
    from core.facts.spec import ProbeSpec

    spec = ProbeSpec(workload=args.workload, size=args.size, device=args.device, precision=args.precision,
                     batch_size=args.batch_size, seconds=args.seconds, compile=args.compile,
                     channels_last=args.channels_last)
    _check_plan([spec], discover())
    return _run([spec], args, show_progress=False)


def cmd_suite(args) -> int:
    from core.measure.devices import discover, find
    from core.measure.runner import quick_plan
    from core.facts.spec import ProbeSpec

    devices = discover()
    if args.devices:
        devices = [find(d, devices) for d in args.devices]
    if args.plan:
        specs = _read_plan(args.plan)
    elif args.workloads:
        specs = [ProbeSpec(workload=w, size=s, device=d.id, precision=p, seconds=args.seconds)
                 for d in devices for w in args.workloads for s in args.sizes for p in args.precisions
                 if p in d.precisions]
    else:
        specs = quick_plan(devices, seconds=args.seconds)
    if not specs:
        raise AccelscopeError("the plan is empty: no device supports the chosen precisions")
    _check_plan(specs, devices)
    return _run(specs, args, show_progress=True)


def _read_plan(path: str) -> list:
    from core.errors import UnsupportedSpec
    from core.facts.spec import ProbeSpec

    try:
        with open(path, encoding="utf-8") as handle:
            entries = json.load(handle)
    except (OSError, ValueError) as exc:
        raise UnsupportedSpec(f"cannot read plan {path}: {exc}") from None
    if not isinstance(entries, list) or not entries:
        raise UnsupportedSpec(f"plan {path} must be a non-empty JSON list of probe specs")
    specs = []
    for number, entry in enumerate(entries, start=1):
        try:
            specs.append(ProbeSpec.from_dict(entry))
        except (UnsupportedSpec, TypeError) as exc:
            raise UnsupportedSpec(f"plan {path}, probe {number}: {exc}") from None
    return specs


def cmd_results(args) -> int:
    from core.cli.display import print_results_table
    from core.facts.store import Store

    with Store(args.db) as store:
        results = store.results(run_id=args.run, workload=args.workload, device=args.device,
                                status=args.status)
    fmt = "json" if args.json else args.format
    costing = None
    if args.price_sheet or args.region:
        from core.views.cost import CostOptions

        costing = CostOptions.from_cli(args.price_sheet, args.region, args.spot)
    if fmt == "json":
        for result in results:
            row = result.to_dict()
            if costing:
                row["cost"] = costing.view(result)
            print(json.dumps(row))
    elif fmt == "csv":
        import csv

        from core.facts.results import ROW_COLUMNS, to_rows

        rows = to_rows(results)
        if costing:
            for row, result in zip(rows, results):
                row.update(costing.flat_view(result))
        columns = list(rows[0]) if rows else list(ROW_COLUMNS)
        writer = csv.DictWriter(sys.stdout, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    else:
        if not results:
            print("No results stored yet. Run `python -m core suite --quick` or import a bundle.")
            return EXIT_OK
        print_results_table(results, costing=costing)
    return EXIT_OK


def cmd_export(args) -> int:
    from core.facts.bundle import write_bundle
    from core.facts.store import Store

    with Store(args.db) as store:
        results = store.results(run_id=args.run)
    write_bundle(args.file, results)
    print(f"exported {len(results)} result(s) to {args.file}")
    return EXIT_OK


def cmd_import(args) -> int:
    from core.facts.bundle import read_bundle
    from core.facts.store import Store

    results = read_bundle(args.file)
    with Store(args.db) as store:
        added = store.add_many(results)
    print(f"imported {added} result(s) from {args.file}"
          + (f"; {len(results) - added} already present" if added < len(results) else ""))
    return EXIT_OK


def cmd_delete_run(args) -> int:
    from core.facts.store import Store

    with Store(args.db) as store:
        deleted = store.delete_run(args.run_id)
    if not deleted:
        raise AccelscopeError(f"no results with run id {args.run_id!r}; see `python -m core results`")
    print(f"deleted {deleted} result(s) of run {args.run_id}")
    return EXIT_OK


def cmd_prices(args) -> int:
    from core.views import pricing

    if args.validate:
        sheet = pricing.load_sheet(args.validate)
        print(f"{args.validate}: valid, {len(sheet.rows)} row(s) from {sheet.provider}")
        return EXIT_OK
    sheets = pricing.bundled_sheets()
    if args.json:
        print(json.dumps([s.summary() for s in sheets], indent=1))
        return EXIT_OK
    from core.cli.display import console, prices_table

    console().print(prices_table(sheets))
    return EXIT_OK


def cmd_child_probe(args) -> int:
    from core.measure.child import main as child_main

    return child_main(args)


def cmd_child_idle(args) -> int:
    from core.measure.child import idle_main

    return idle_main(args)


COMMANDS = {
    "devices": cmd_devices, "probe": cmd_probe, "suite": cmd_suite, "results": cmd_results,
    "export": cmd_export, "import": cmd_import, "delete-run": cmd_delete_run, "prices": cmd_prices,
    "_probe": cmd_child_probe, "_idle": cmd_child_idle,
}


def _exit_on_sigterm(signum, frame) -> None:
    raise SystemExit(128 + signum)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        return COMMANDS[args.command](args)
    except AccelscopeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
