"""The CLI's commands: each takes the parsed arguments and returns an exit code.

Commands that only read or write stored facts (results, export, import, delete-run, prices) never
import torch; probe and suite discover devices once and hand them to the runner.
"""

from __future__ import annotations

import json
import sys

from core.errors import AccelscopeError

EXIT_OK, EXIT_PROBE_FAILED, EXIT_USAGE = 0, 1, 2
DEFAULT_PRECISIONS = ("fp32", "bf16")


def cmd_devices(args) -> int:
    from core.measure.backends import discover

    devices = discover()
    if args.json:
        print(json.dumps([d.to_dict() for d in devices], indent=1))
        return EXIT_OK
    from core.cli.display import console, devices_table

    console().print(devices_table(devices))
    if not any(d.kind != "cpu" for d in devices):
        console().print("No GPU or other accelerator found here (only the CPU).")
    return EXIT_OK


def _checked(specs, devices) -> list:
    """The specs with each device named as discovered (``cuda`` → ``cuda:0``: one lock, one label).
    Refuses the whole plan if any spec cannot run; prints what a user must know before it runs."""
    import dataclasses

    from core.measure.backends import check_spec, find

    specs = [dataclasses.replace(spec, device=find(spec.device, devices).id) for spec in specs]
    warnings = [w for spec in specs for w in check_spec(spec, find(spec.device, devices))]
    for warning in dict.fromkeys(warnings):
        print(f"warning: {warning}", file=sys.stderr)
    return specs


def _run(specs, devices, args, *, show_progress: bool) -> int:
    from core.cli.display import console, print_results_table, progress_printer
    from core.facts.rows import flat_row
    from core.facts.store import Store
    from core.measure.runner import run_plan

    specs = _checked(specs, devices)
    if args.timeout is not None and args.timeout <= 0:
        raise AccelscopeError(f"--timeout must be a positive number of seconds, got {args.timeout:g}")
    store = Store(args.db)
    try:
        store.check_writable()  # a damaged or read-only store is refused before minutes of measuring
        _recover_spooled(store)
    except BaseException:
        store.close()
        raise
    events_file = open(args.events, "a", encoding="utf-8") if getattr(args, "events", None) else None
    try:
        with progress_printer(len(specs), enabled=show_progress) as on_progress:
            def on_event(event) -> None:
                on_progress(event)
                if events_file:
                    events_file.write(json.dumps(event.to_dict()) + "\n")
                    events_file.flush()
                if event.kind == "done" and args.json:
                    print(json.dumps(event.result.to_dict()), flush=True)

            results = run_plan(specs, store, devices=devices, timeout_s=args.timeout, meters=args.meters,
                               on_event=on_event, idle_seconds=args.idle_seconds)
    finally:
        if events_file:
            events_file.close()
        store.close()
    if not args.json:
        print_results_table([flat_row(r) for r in results])
        for result in results:
            if not result.ok:
                console().print(f"[red]{result.status}[/red] {result.workload}/{result.size} {result.precision} "
                                f"on {result.device}: {result.error}")
    return EXIT_OK if all(r.ok for r in results) else EXIT_PROBE_FAILED


def _recover_spooled(store) -> None:
    """Results an earlier run could not store are written first (see core.facts.spool)."""
    from core.facts import spool

    if spool.spooled(store.url):
        print(f"recovered: {spool.recover(store).summary()}", file=sys.stderr)


def cmd_recover(args) -> int:
    from core.facts import spool
    from core.facts.store import Store

    with Store(args.db) as store:
        if not spool.spooled(store.url):
            print(f"nothing spooled for {store.safe_url}")
            return EXIT_OK
        recovery = spool.recover(store)
    print(recovery.summary())
    return EXIT_OK if not recovery.left else EXIT_PROBE_FAILED


def cmd_probe(args) -> int:
    from core.facts.spec import ProbeSpec
    from core.measure.backends import discover

    if args.mode != "converge" and (args.target_loss is not None or args.max_seconds is not None):
        raise AccelscopeError("--target-loss and --max-seconds belong to --mode converge; drop them or add "
                              "--mode converge")
    if args.mode == "converge" and args.target_loss is None:
        raise AccelscopeError("--mode converge needs --target-loss, e.g. --target-loss 0.5")
    seconds = (args.max_seconds if args.max_seconds is not None else 60.0) if args.mode == "converge" else args.seconds
    specs = [ProbeSpec(workload=args.workload, size=args.size, device=args.device, precision=args.precision,
                       batch_size=batch, seconds=seconds, compile=args.compile, channels_last=args.channels_last,
                       mode=args.mode, target_loss=args.target_loss)
             for batch in _batch_sizes(args)]
    return _run(specs, discover(), args, show_progress=True)


def _batch_sizes(args) -> tuple:
    if args.batch and args.batch_size:
        raise AccelscopeError("give either --batch (a list) or --batch-size, not both")
    return args.batch or (args.batch_size,)


def cmd_suite(args) -> int:
    from core.facts.spec import ProbeSpec
    from core.measure.backends import discover, find
    from core.measure.runner import quick_inference_plan, quick_plan

    devices = discover()
    chosen = [find(d, devices) for d in args.devices] if args.devices else devices
    if args.plan:
        if args.devices or args.workloads:
            raise AccelscopeError("--plan names its own devices and workloads; drop --devices/--workloads")
        specs = _read_plan(args.plan)
    elif args.workloads:
        # An emulated precision runs only when asked for by name (--precisions), never by default.
        batches = args.batch or ((1, 32) if args.mode == "infer" else (None,))
        specs = [ProbeSpec(workload=w, size=s, device=d.id, precision=p, seconds=args.seconds, mode=args.mode,
                           batch_size=batch)
                 for d in chosen for w in args.workloads for s in args.sizes for p in args.precisions or DEFAULT_PRECISIONS
                 if p in d.precisions and (args.precisions or p not in d.emulated_precisions) for batch in batches]
    elif args.mode == "infer":
        specs = quick_inference_plan(chosen, seconds=args.seconds, batches=args.batch or (1, 32))
    else:
        specs = quick_plan(chosen, seconds=args.seconds)
    if not specs:
        raise AccelscopeError("the plan is empty: no device supports the chosen precisions")
    return _run(specs, devices, args, show_progress=True)


def cmd_scale(args) -> int:
    """One torchrun per world size; each result stored as it lands (spooled if the store cannot take it),
    with its efficiency against world size 1 when that came first (list --nproc from 1)."""
    from core.cli.display import console, print_results_table, scaling_lines
    from core.facts.results import new_id
    from core.facts.rows import flat_row
    from core.facts.spec import ProbeSpec
    from core.facts.store import Store
    from core.measure.runner import _child_env, device_locks, store_or_spool
    from core.measure.scale import Launch, run_world_size, with_efficiency

    if args.nnodes < 1 or not 0 <= args.node_rank < args.nnodes:
        raise AccelscopeError(f"--node-rank must be in 0…{args.nnodes - 1} for --nnodes {args.nnodes}")
    if args.nnodes > 1 and not args.master_addr:
        raise AccelscopeError("--nnodes > 1 needs --master-addr (rank 0's node address, reachable from every node)")
    from core.measure.backends import discover

    devices = discover()
    if args.device == "cuda":
        gpus = [d for d in devices if d.kind == "cuda"]
        if max(args.nproc) > len(gpus):
            raise AccelscopeError(f"--nproc {max(args.nproc)} needs that many CUDA GPUs on this node; "
                                  f"{len(gpus)} found (python -m core devices)")
    spec = ProbeSpec(workload=args.workload, size=args.size, device=args.device, precision=args.precision,
                     batch_size=args.batch_size, seconds=args.seconds)
    _checked([spec], devices)  # what a probe would refuse (tf32 on a CPU), a scaling run refuses too
    launch = Launch(nnodes=args.nnodes, node_rank=args.node_rank, master_addr=args.master_addr,
                    master_port=args.master_port, strategy=args.strategy, meters=args.meters, timeout_s=args.timeout)
    store = Store(args.db)
    run_id, results = new_id(), []
    try:
        store.check_writable()
        locks = ["cpu"] if args.device == "cpu" else [f"cuda:{i}" for i in range(max(args.nproc))]
        with device_locks(locks):
            for nproc in args.nproc:
                print(f"  scaling: world size {nproc * args.nnodes} ({nproc} per node, {args.strategy}) on "
                      f"{args.device} …", file=sys.stderr, flush=True)
                result = run_world_size(spec, args.device, nproc, run_id, launch, _child_env())
                if result is None:  # another node's share of the job: node 0 stores the result
                    print(f"  world size {nproc * args.nnodes}: done here; node 0 stores the result", file=sys.stderr)
                    continue
                result = with_efficiency([*results, result])[-1]  # against world size 1, when it came first
                results.append(result)
                refused = store_or_spool(result, store)  # as it lands: a later crash loses nothing stored
                if refused:
                    print(f"  not stored: {refused}", file=sys.stderr)
                if args.json:
                    print(json.dumps(result.to_dict()), flush=True)
    finally:
        store.close()
    if not args.json:
        print_results_table([flat_row(r) for r in results])
        for line in scaling_lines([flat_row(r) for r in results]):
            console().print(line)
    return EXIT_OK if all(r.ok for r in results) else EXIT_PROBE_FAILED


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
    from core.cli.parser import cost_settings
    from core.facts.rows import FLAT_COLUMNS, flat_row
    from core.facts.store import Store
    from core.views import catalog, cost

    settings = cost_settings(args)
    sheet = None
    if settings is not None:  # bad settings are refused before anything is read
        sheet = cost.resolve_sheet(settings.sheet)
        cost.grid_intensity(settings)
    with Store(args.db) as store:
        results = store.results(run_id=args.run, workload=args.workload, device=args.device, status=args.status)
    rows = [flat_row(result) for result in results]
    accelerators = catalog.load_catalog()
    figures = [cost.cost_figures(cost.WorkRate.of_row(row), settings, sheet, accelerators=accelerators)
               for row in rows] if settings else [None] * len(rows)
    for row in rows:
        row["mfu"], row["mfu_basis"] = catalog.mfu(row["achieved_tflops"], row["device_name"], row["precision"],
                                                   accelerators)
    fmt = "json" if args.json else args.format
    if fmt == "json":
        for row, priced in zip(rows, figures):
            print(json.dumps({**row, "cost": priced.to_dict()} if priced else row))
    elif fmt == "csv":
        from core.facts.tables import write_csv

        priced_rows = [{**row, **priced.columns()} if priced else row for row, priced in zip(rows, figures)]
        columns = list(priced_rows[0]) if priced_rows else [*FLAT_COLUMNS, "mfu", "mfu_basis"]
        write_csv(priced_rows, columns, sys.stdout)
    else:
        if not results:
            print("No results stored yet. Run `python -m core suite --quick` or import a bundle.")
            return EXIT_OK
        print_results_table(rows, [priced.columns() if priced else None for priced in figures])
    return EXIT_OK


def cmd_export(args) -> int:
    from core.facts.bundle import write_bundle
    from core.facts.store import Store

    with Store(args.db) as store:
        results, unreadable = store.readable_results(run_id=args.run)  # a damaged store: rescue what reads
    try:
        write_bundle(args.file, results)
    except OSError as exc:
        raise AccelscopeError(f"cannot write {args.file}: {exc.strerror}") from None
    print(f"exported {len(results)} result(s) to {args.file}")
    if unreadable:
        print(f"warning: {len(unreadable)} stored result(s) could not be read and were left out: "
              + "; ".join(unreadable[:5]), file=sys.stderr)
        return EXIT_PROBE_FAILED
    return EXIT_OK


def cmd_import(args) -> int:
    from core.facts.bundle import cycle_collector_paused, import_file
    from core.facts.store import Store

    with cycle_collector_paused():  # millions of objects, no reference cycles: see its docstring
        with Store(args.db) as store:
            added, total = import_file(args.file, store)  # streamed: a batch at a time, one transaction
            if added:
                store.host_summaries()  # the written hosts summarised now, not by the dashboard's first reader
    print(f"imported {added} result(s) from {args.file}"
          + (f"; {total - added} already present" if added < total else ""))
    return EXIT_OK


def cmd_delete_run(args) -> int:
    from core.facts.store import Store

    with Store(args.db) as store:
        deleted = store.delete_run(args.run_id)
    if not deleted:
        raise AccelscopeError(f"no results with run id {args.run_id!r}; see `python -m core results`")
    print(f"deleted {deleted} result(s) of run {args.run_id}")
    return EXIT_OK


def cmd_project(args) -> int:
    from core.cli.display import console, projections_table
    from core.facts.references import load_references
    from core.facts.rows import flat_row
    from core.facts.store import Store
    from core.views import catalog, projection

    accelerators = catalog.load_catalog()
    if args.to == "all":
        targets = [a for a in accelerators if a.type != "CPU"]
    else:
        target = catalog.match(args.to, accelerators)
        if target is None:
            names = ", ".join(a.model for a in accelerators if a.type != "CPU")
            raise AccelscopeError(f"no catalog accelerator matches {args.to!r}; choose one of: {names}, or all")
        targets = [target]
    with Store(args.db) as store:
        rows = [flat_row(r) for r in store.results(workload=args.workload, status="ok")]
    points = projection.known_points(load_references(), rows, args.workload, args.size, accelerators)
    shape = projection.workload_shape(rows, args.workload, args.size)
    projections = [projection.project(target, args.workload, args.size, args.precision, points, accelerators,
                                      flops_per_sample=shape.flops_per_sample, parameters=shape.parameters,
                                      holdout=args.holdout) for target in targets]
    if args.json:
        for projected in projections:
            print(json.dumps(projected.to_dict()))
    else:
        console().print(projections_table(projections))
    return EXIT_OK


def cmd_analyze(args) -> int:
    from core.facts.references import load_references
    from core.facts.rows import flat_row
    from core.facts.store import Store
    from core.measure.analysis import analyze
    from core.measure.models import ModelSpec, parse_overrides
    from core.views import catalog, fit, projection

    spec = ModelSpec(args.model, parse_overrides(args.config))
    analysis = analyze(spec, args.batch, args.seq, args.precision, args.optimizer, args.activation_checkpointing)
    accelerators = catalog.load_catalog()
    family = fit.reference_family(analysis)
    points = []
    if family:
        with Store(args.db) as store:
            rows = [flat_row(r) for r in store.results(workload=family[0], status="ok")]
        points = projection.known_points(load_references(), rows, *family, accelerators)
    devices = fit.device_fits(analysis, accelerators, points)
    notes = analysis_notes(analysis, spec)
    plan = _plan(args, analysis, devices, accelerators)
    if args.json:
        print(json.dumps({**analysis.to_dict(), "notes": notes, "devices": [d.to_dict() for d in devices],
                          **({"plan": [p.to_dict() for p in plan]} if plan is not None else {})}))
    else:
        from core.cli.display import analysis_table, console

        for line in (f"{analysis.model} ({analysis.kind}; {analysis.source}): {analysis.params:,} parameters, "
                     f"{(analysis.flops_per_sample or 0) / 1e9:,.4g} GFLOP per training sample"
                     + (f" of {analysis.seq} tokens" if analysis.tokens_per_sample else ""),
                     f"training memory at batch {analysis.batch}, {analysis.precision}, {analysis.optimizer} "
                     f"(estimated): {analysis.memory.peak_bytes / 1e9:,.2f} GB peak = weights "
                     f"{analysis.memory.weights_bytes / 1e9:,.2f} + gradients {analysis.memory.gradients_bytes / 1e9:,.2f}"
                     f" + optimizer state {analysis.memory.optimizer_state_bytes / 1e9:,.2f} + activations and "
                     f"temporaries {analysis.memory.peak_activations_bytes / 1e9:,.2f} "
                     f"(saved activations {analysis.memory.activations_bytes / 1e9:,.2f}); "
                     f"analysed in {analysis.analysis_s:.1f} s", *notes):
            console().print(line)
        console().print(analysis_table(devices))
        if plan is not None:
            from core.cli.display import plan_table

            console().print(plan_table(plan))
    return EXIT_OK


def _plan(args, analysis, devices, accelerators):
    """The training run --samples/--tokens asks for, on every instance of the sheet; None if not asked."""
    from core.views import cost, fit

    if args.samples is None and args.tokens is None:
        return None
    if args.tokens is not None and not analysis.tokens_per_sample:
        raise AccelscopeError(f"--tokens: {analysis.model} does not train on token sequences; give --samples")
    samples = args.samples if args.samples is not None else args.tokens / analysis.tokens_per_sample
    if not samples or samples <= 0:
        raise AccelscopeError("--samples/--tokens must be a positive number")
    settings = cost.CostSettings(**{key: value for key, value in (("sheet", args.price_sheet), ("region", args.region))
                                    if value}, spot=args.spot)
    sheet = cost.resolve_sheet(settings.sheet)
    intensity, _ = cost.grid_intensity(settings)
    return fit.plan_run(devices, sheet.rows, samples, accelerators, spot=args.spot, g_co2_per_kwh=intensity)


def analysis_notes(analysis, spec) -> list[str]:
    """What a reader of the memory figure must be told about this model."""
    from core.measure.models import attention_dropout, hf_config

    notes = []
    dropout = {} if spec.is_builtin or spec.is_custom else attention_dropout(hf_config(spec)[1])
    if dropout:
        names = ", ".join(f"{key}={value:g}" for key, value in dropout.items())
        notes.append(f"attention dropout ({names}): PyTorch's CPU attention kernels materialise the attention "
                     "matrix for it, GPU flash and memory-efficient kernels do not — activations here are an upper "
                     "bound for GPUs; set it to 0 with --config to see the other figure")
    return notes


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


def cmd_fleet(args) -> int:
    from core.cli.fleet import run

    return run(args)
