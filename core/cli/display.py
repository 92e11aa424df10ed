"""Terminal output for the CLI (rich tables and a progress bar)."""

from __future__ import annotations

import contextlib
from typing import Iterator

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from rich.markup import escape
from rich.table import Table

from core.units import BYTES_PER_GIB
from core.views import notes


def console() -> Console:
    import sys

    return Console(width=None if sys.stdout.isatty() else 220)


def _fmt(value, spec: str = ".3g", missing: str = "–") -> str:
    return missing if value is None else format(value, spec)


def _bytes(value) -> str:
    if value is None:
        return "–"
    return f"{value / BYTES_PER_GIB:.1f} GiB" if value >= BYTES_PER_GIB else f"{value / 2**20:.0f} MiB"


def devices_table(devices) -> Table:
    table = Table(title="Devices")
    for column in ("id", "kind", "name", "memory", "precisions", "details"):
        table.add_column(column)
    for d in devices:
        details = []
        if d.isa:
            details.append(d.isa)
        if d.cores:
            details.append(f"{d.cores} cores, {d.logical_cpus} logical CPUs")
        if d.compute_capability:
            details.append(f"sm_{d.compute_capability.replace('.', '')}" + (f", {d.sm_count} SMs" if d.sm_count else ""))
        if d.driver_version:
            details.append(f"driver {d.driver_version}")
        if d.power_limit_w:
            details.append(f"power limit {d.power_limit_w:.0f} W")
        details.extend(d.notes)
        precisions = " ".join(p + (" (emulated)" if p in d.emulated_precisions else "") for p in d.precisions)
        table.add_row(d.id, d.kind, d.name, _bytes(d.memory_bytes), precisions, "; ".join(details))
    return table


def _cv_cell(row: dict, floors: dict) -> str:
    cv = row["step_time_cv"]
    if cv is None:
        return "–"
    text = f"{cv * 100:.1f}"
    return f"[yellow]{text}[/yellow]" if notes.is_noisy(row, floors) else text


def _status_cell(row: dict) -> str:
    if row["status"] != "ok":
        return f"[red]{row['status']}[/red]"
    flags = []
    if row.get("warmup_settled") is False:
        flags.append("unsettled*")
    if notes.is_contended(row.get("host_other_cpus")) or row.get("concurrent_probes"):
        flags.append("contended†")
    return f"[yellow]ok, {', '.join(flags)}[/yellow]" if flags else "ok"


def print_results_table(rows: list[dict], costs: list[dict | None] | None = None) -> None:
    """Flat rows (core.facts.rows.flat_row), with cost columns (CostFigures.columns) where given."""
    costs = costs or [None] * len(rows)
    priced = any(c is not None for c in costs)
    table = Table(title=f"{len(rows)} result(s)")
    columns = ["workload", "size", "device", "prec", "status", "batch", "steps", "step ms", "cv %",
               "samples/s", "tokens/s", "TFLOP/s", "loss first→last", "peak mem", "energy J"]
    if priced:
        columns += ["cloud $/1M", "own hw $/1M", "gCO2e/1M"]
    for column in columns:
        table.add_column(column, justify="right" if column not in ("workload", "device", "status") else "left")
    floors = notes.noise_floors(rows)
    for r, cost in zip(rows, costs):
        precision = r["precision"] + ("[yellow] (emulated)[/yellow]" if r.get("precision_emulated") else "")
        step_ms = r["step_time_s"] * 1e3 if r["step_time_s"] is not None else None
        loss = "–" if r["loss_first"] is None else f"{r['loss_first']:.3f}→{r['loss_last']:.3f}"
        energy = _fmt(r["energy_j"], ".1f") + (" est." if r["energy_kind"] == "estimated" else "")
        workload = r["workload"] + (f" ({r['mode']})" if r.get("mode", "train") != "train" else "") + (
            f" ×{r['world_size']}" if r.get("world_size") else "")
        cells = [workload, r["size"], r["device_label"], precision, _status_cell(r), _fmt(r["batch_size"], "d"),
                 _fmt(r["steps"], "d"), _fmt(step_ms, ".1f"), _cv_cell(r, floors),
                 _fmt(r["samples_per_s"], ",.0f"), _fmt(r["tokens_per_s"], ",.0f"), _fmt(r["achieved_tflops"], ".3f"),
                 loss, _bytes(r["peak_memory_bytes"]), energy]
        if priced:
            cost = cost or {}
            cells += [_fmt(cost.get("cloud_usd_per_1m_samples"), ".4g"),
                      _fmt(cost.get("own_hardware_usd_per_1m_samples"), ".4g"),
                      _fmt(cost.get("g_co2_per_1m_samples"), ".4g")]
        table.add_row(*cells)
    out = console()
    out.print(table)
    if priced:
        out.print("$/1M and gCO2e/1M: per 1M samples; cloud = the cheapest matching instance "
                  "(`--json` lists every one); own hw = electricity + amortized purchase price.")
    for line in mode_lines(rows):
        out.print(line)
    for note in result_notes(rows):
        out.print(note)


def mode_lines(rows: list[dict]) -> list[str]:
    """What an inference or time-to-target result answers, one line each (the table shows steps)."""
    lines = []
    for r in rows:
        what = escape(f"{r['workload']}/{r['size']} {r['precision']} on {r['device_label']}")
        if r.get("mode") == "infer" and r["step_time_s"] is not None:
            per_1000 = r["j_per_sample"] * 1000 if r.get("j_per_sample") is not None else None
            energy = "" if per_1000 is None else (f", {per_1000:.3g} J per 1,000 inferences"
                                                  + (" (estimated)" if r["energy_kind"] == "estimated" else ""))
            lines.append(f"infer: {what}, batch {r['batch_size']}: latency per request p50 "
                         f"{r['step_time_s'] * 1e3:.3g} ms, p90 {r['step_time_p90_s'] * 1e3:.3g} ms, p99 "
                         f"{r['step_time_p99_s'] * 1e3:.3g} ms; {r['samples_per_s']:,.0f} inferences/s{energy}")
        elif r.get("mode") == "converge" and r["status"] == "ok":
            energy = "" if r["energy_j"] is None else f", {r['energy_j']:.3g} J" + (
                " (estimated)" if r["energy_kind"] == "estimated" else "")
            verdict = "reached" if r["reached"] else "NOT reached"
            lines.append(f"converge: {what}: target loss {r['target_loss']:g} {verdict} — {r['steps_to_target']:,} "
                         f"steps, {r['time_to_target_s']:.3g} s; the run of {r['steps']:,} steps{energy}; "
                         f"{escape(r['stop_reason'] or '')}")
    return lines


def scaling_lines(rows: list[dict]) -> list[str]:
    """One line per world size: throughput, per device, efficiency, communication share, energy."""
    lines = []
    for r in rows:
        if r.get("world_size") is None:
            continue
        if r["status"] != "ok":
            lines.append(f"scale: world size {r['world_size']}: [red]{r['status']}[/red] {escape(r['error'] or '')[:300]}")
            continue
        efficiency = "–" if r["scaling_efficiency"] is None else f"{r['scaling_efficiency']:.0%}"
        comm = "–" if r["comm_share"] is None else f"{r['comm_share']:.0%}"
        energy = "–" if r["energy_j"] is None else f"{r['energy_j']:.3g} J" + (
            " (estimated)" if r["energy_kind"] == "estimated" else "")
        lines.append(escape(f"scale: world size {r['world_size']} ({r['dist_backend']}, {r['strategy']}, "
                            f"{r['interconnect']}): {r['samples_per_s']:,.0f} samples/s, "
                            f"{r['per_device_samples_per_s']:,.0f} per device, efficiency {efficiency}, "
                            f"exposed communication {comm} of a step, energy {energy}"))
    return lines


def result_notes(rows: list[dict]) -> list[str]:
    return [f"[yellow]{tag}[/yellow]: {text}" for tag, text in notes.result_notes(rows)]


def projections_table(projections) -> Table:
    """Projected samples/s per device with the interval, the points it stands on, or the reason."""
    table = Table(title="Projected training throughput (a model's estimate, not a measurement)")
    for column in ("device", "workload", "precision", "samples/s", "interval", "points", "reason or caveat"):
        table.add_column(column, justify="right" if column in ("samples/s", "interval", "points") else "left")
    for p in projections:
        interval = "–" if p.low is None else f"{p.low:,.0f}–{p.high:,.0f}"
        table.add_row(p.device, f"{p.workload}/{p.size}", p.precision, _fmt(p.samples_per_s, ",.0f"), interval,
                      str(len(p.basis)) if p.basis else "–", p.reason or p.caveat or "")
    return table


def analysis_table(devices) -> Table:
    """Per accelerator: fits on one, devices needed with sharding, samples/s and where it came from."""
    table = Table(title="Your model on every catalog accelerator (memory estimated; speed projected or estimated)")
    for column in ("device", "memory GB", "fits on one", "devices needed", "samples/s per device", "range", "kind",
                   "reason or caveat"):
        table.add_column(column, justify="right" if column in ("memory GB", "devices needed", "samples/s per device",
                                                               "range") else "left")
    for d in devices:
        fits = "–" if d.fits is None else ("yes" if d.fits else "no")
        interval = "–" if d.low is None else f"{d.low:,.3g}–{d.high:,.3g}"
        table.add_row(d.device, _fmt(d.memory_gb, "g"), fits, "–" if d.devices_needed is None else str(d.devices_needed),
                      _fmt(d.samples_per_s, ",.3g"), interval, d.kind or "–", d.reason or d.caveat or "")
    return table


def plan_table(plans) -> Table:
    """The run on every instance of the sheet, cheapest first; those it cannot run on, with why."""
    table = Table(title="Your training run on every instance (speed projected or estimated; energy estimated from "
                        "TDP; communication not modelled)")
    for column in ("instance", "accelerators", "needs", "$/h", "hours", "$", "kWh", "kg CO2e", "speed is",
                   "reason or caveat"):
        table.add_column(column, justify="left" if column in ("instance", "speed is", "reason or caveat") else "right")
    for p in plans:
        table.add_row(p.option, f"{p.accelerator_count}× {p.accelerator or '?'}",
                      "–" if p.devices_needed is None else str(p.devices_needed), _fmt(p.usd_per_h, ",.2f"),
                      _fmt(p.hours, ",.3g"), _fmt(p.usd, ",.0f"), _fmt(p.kwh, ",.3g"), _fmt(p.co2_kg, ",.3g"),
                      p.speed_kind or "–", p.reason or p.caveat or "")
    return table


def prices_table(sheets) -> Table:
    table = Table(title="Price sheets")
    for column in ("sheet", "provider", "rows", "accelerators", "regions", "retrieved"):
        table.add_column(column)
    for sheet in sheets:
        s = sheet.summary()
        table.add_row(s["name"], s["provider"], str(s["rows"]), ", ".join(s["accelerators"]) or "CPU only",
                      ", ".join(s["regions"]), s["retrieved_on"])
    return table


@contextlib.contextmanager
def progress_printer(total: int, enabled: bool = True) -> Iterator:
    """A rich progress bar on stderr; yields the event callback."""
    if not enabled:
        yield lambda event: None
        return
    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TimeElapsedColumn(), console=Console(stderr=True), refresh_per_second=2)
    with progress:
        task = progress.add_task("starting", total=total)

        def on_event(event) -> None:
            prefix = f"[{event.index + 1}/{total}] {event.spec.label}"
            if event.kind == "start":
                progress.update(task, description=f"{prefix} · starting")
            elif event.kind == "progress":
                progress.update(task, description=f"{prefix} · {notes.phase_text(event.detail or {})}")
            else:
                progress.advance(task)
                result = event.result
                mark = "ok" if result.ok else result.status
                if result.ok and result.warmup_settled is False:
                    mark = "ok*"
                contended = result.ok and notes.is_contended(result.host_other_cpus)
                beside = result.ok and result.concurrent_probes
                if (event.detail or {}).get("refused"):
                    progress.console.print(f"  [red]not stored: {event.detail['refused'][:300]}[/red]")
                if (event.detail or {}).get("spooled"):
                    progress.console.print(f"  [yellow]not stored now ({event.detail['reason'][:160]}); kept in "
                                           f"{event.detail['spooled']} and written on the next run or by "
                                           "`python -m core recover`[/yellow]")
                progress.console.print(f"  {mark:7} {event.spec.label}"
                                       + (f"  {result.samples_per_s:,.0f} samples/s" if result.ok
                                          else f"  ({result.error[:100]})")
                                       + ("  [yellow]warm-up did not settle[/yellow]" if mark == "ok*" else "")
                                       + (f"  [yellow]contended: {result.host_other_cpus:.1f} CPUs busy with other "
                                          "work[/yellow]" if contended else "")
                                       + ("  [yellow]contended: another probe measured this device at the same "
                                          "time[/yellow]" if beside else ""))
        yield on_event
