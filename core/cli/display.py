"""Terminal output for the CLI (rich tables and a progress bar)."""

from __future__ import annotations

import contextlib
from typing import Iterator

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table


def console() -> Console:
    import sys

    return Console(width=None if sys.stdout.isatty() else 220)


def _fmt(value, spec: str = ".3g", missing: str = "–") -> str:
    return missing if value is None else format(value, spec)


def _bytes(value) -> str:
    if value is None:
        return "–"
    return f"{value / 2**30:.1f} GiB" if value >= 2**30 else f"{value / 2**20:.0f} MiB"


def devices_table(devices) -> Table:
    table = Table(title="Devices")
    for column in ("id", "kind", "name", "memory", "precisions", "details"):
        table.add_column(column)
    for d in devices:
        details = []
        if d.cores:
            details.append(f"{d.cores} cores, {d.threads} torch threads")
        if d.compute_capability:
            details.append(f"sm_{d.compute_capability.replace('.', '')}, {d.sm_count} SMs")
        if d.driver_version:
            details.append(f"driver {d.driver_version}")
        if d.power_limit_w:
            details.append(f"power limit {d.power_limit_w:.0f} W")
        details.extend(d.notes)
        table.add_row(d.id, d.kind, d.name, _bytes(d.memory_bytes), " ".join(d.precisions), "; ".join(details))
    return table


NOISY_CV = 0.05


def _cv_cell(cv) -> str:
    if cv is None:
        return "–"
    text = f"{cv * 100:.1f}"
    return f"[yellow]{text}[/yellow]" if cv > NOISY_CV else text


def print_results_table(results, costing=None) -> None:
    table = Table(title=f"{len(results)} result(s)")
    columns = ["workload", "size", "device", "prec", "status", "batch", "steps", "step ms", "cv %",
               "samples/s", "tokens/s", "TFLOP/s", "loss first→last", "peak mem", "energy J"]
    if costing:
        columns += ["$ / 1M samples", "g CO2e / 1M"]
    for column in columns:
        table.add_column(column, justify="right" if column not in ("workload", "device", "status") else "left")
    for r in results:
        energy = (r.energy or {}).get("total_j") if r.energy else None
        row = [r.workload, r.size, r.device, r.precision,
               r.status if r.ok else f"[red]{r.status}[/red]", _fmt(r.batch_size, "d"), _fmt(r.steps, "d"),
               _fmt(r.step_time_s and r.step_time_s * 1e3, ".1f"), _cv_cell(r.step_time_cv),
               _fmt(r.samples_per_s, ",.0f"), _fmt(r.tokens_per_s, ",.0f"), _fmt(r.achieved_tflops, ".3f"),
               "–" if r.loss_first is None else f"{r.loss_first:.3f}→{r.loss_last:.3f}",
               _bytes(r.peak_memory_bytes), _fmt(energy, ".1f")]
        if costing:
            view = costing.flat_view(r)
            row += [_fmt(view.get("cost_usd_per_1m_samples"), ".4g"), _fmt(view.get("g_co2_per_1m_samples"), ".4g")]
        table.add_row(*row)
    console().print(table)
    if any(r.step_time_cv and r.step_time_cv > NOISY_CV for r in results):
        console().print("[yellow]cv % over 5[/yellow]: step times were noisy: another program competing for the "
                        "device, or a shared virtual machine (`python -m bench noise` measures this machine's own "
                        "step-time CV for identical work). Compare medians, not single steps.")
    estimated = [r for r in results if (r.energy or {}).get("total_kind") == "estimated"]
    if estimated:
        console().print("energy J: estimated where no meter could read a component "
                        "(see each result's energy.components for the method).")


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
            if event.kind == "start":
                progress.update(task, description=f"[{event.index + 1}/{total}] {event.spec.label}")
            else:
                progress.advance(task)
                mark = "ok" if event.result.ok else event.result.status
                progress.console.print(f"  {mark:7} {event.spec.label}"
                                       + (f"  {event.result.samples_per_s:,.0f} samples/s"
                                          if event.result.ok else f"  ({event.result.error[:100]})"))
        yield on_event
