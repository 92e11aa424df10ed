"""Shared helpers: the machine line every benchmark prints, simple statistics, and the figures of
rounds in which a probe may have failed (a failed probe is reported in the table, never a crash)."""

from __future__ import annotations

import datetime
import os
import platform
import statistics


def machine() -> str:
    from core.measure.backends.cpu import cpu_model_name, cpuinfo, isa_class

    try:
        import torch

        torch_version = torch.__version__
    except ImportError:
        torch_version = "no torch"
    return (f"{cpu_model_name()} ({isa_class(cpuinfo()) or 'ISA unknown'}), {os.cpu_count()} logical CPUs, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}, torch {torch_version}, "
            f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC")


def header(title: str) -> None:
    print(f"\n## {title}\n\nmachine: {machine()}\n", flush=True)


def cv(values) -> float | None:
    """Coefficient of variation; None for fewer than two values (no spread to measure) or a zero mean."""
    values = list(values)
    if len(values) < 2:
        return None
    mean = statistics.fmean(values)
    return statistics.stdev(values) / mean if mean else None


# A round's outcome is its figure (a number) or why it has none (a string, "failed: <reason>").
Outcome = float | str
REASON_CHARS = 160


def one_line(text: str, limit: int = REASON_CHARS) -> str:
    """``text`` on one line, at most ``limit`` characters: fit for a Markdown table cell."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def outcome(result, attribute: str) -> Outcome:
    """The figure ``attribute`` of a probe result, or why there is none: "failed: <reason>" (or
    "oom: …", "timeout: …": the probe's status and its error)."""
    value = getattr(result, attribute, None)
    if result.status == "ok" and value is not None:
        return value
    if result.status == "ok":
        return f"ok, but no {attribute}"
    return f"{result.status}: {one_line(result.error or 'no reason given')}"


def attempt(measure, *args, **kwargs) -> Outcome:
    """``measure(*args, **kwargs)``, a measurement that raises when it fails: its figure, or "failed: <reason>"."""
    try:
        value = measure(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - any failure is one failed round, reported in the table
        return f"failed: {_describe(exc)}"
    return value if value is not None else "failed: no figure"


def _describe(exc: Exception) -> str:
    stderr = getattr(exc, "stderr", None)  # subprocess.CalledProcessError: the child's last words say why
    if isinstance(stderr, bytes):
        stderr = stderr.decode(errors="replace")
    if stderr and stderr.strip():
        return one_line(f"{type(exc).__name__}: {stderr.strip().splitlines()[-1]}")
    return one_line(f"{type(exc).__name__}: {exc}")


def figures(outcomes) -> list[float]:
    """The numbers among ``outcomes`` (failed rounds left out)."""
    return [value for value in outcomes if value is not None and not isinstance(value, str)]


def median(outcomes) -> float | None:
    """Median of the rounds that gave a figure; None when none did."""
    values = figures(outcomes)
    return statistics.median(values) if values else None


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """numerator ÷ denominator; None when either is missing (a failed probe) or the denominator is 0."""
    if numerator is None or denominator is None or denominator == 0:
        return None
    return numerator / denominator


def verdict(value: float | None, target: float, *, at_most: bool = False) -> str:
    """ "met" / "NOT met" against ``target`` (≥ target, or ≤ with ``at_most``); "no figure" without one."""
    if value is None:
        return "no figure"
    return "met" if (value <= target if at_most else value >= target) else "NOT met"


def failures(**sides) -> str:
    """"ok" when every round of every side gave a figure; else each side's distinct reasons, e.g.
    "probe failed: <reason> (2 of 3 rounds)"."""
    parts = []
    for side, outcomes in sides.items():
        outcomes = list(outcomes)
        reasons = [value if isinstance(value, str) else "failed: no figure"
                   for value in outcomes if value is None or isinstance(value, str)]
        for reason in dict.fromkeys(reasons):
            count = f" ({reasons.count(reason)} of {len(outcomes)} rounds)" if len(outcomes) > 1 else ""
            parts.append(f"{side.replace('_', ' ')} {reason}{count}")
    return "; ".join(parts) or "ok"


def table(rows: list[dict]) -> None:
    if not rows:
        print("(no rows)")
        return
    columns = list(rows[0])
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for row in rows:
        print("| " + " | ".join(_fmt(row.get(c)) for c in columns) + " |")
    print(flush=True)


def _fmt(value) -> str:
    """A table cell: numbers to 4 significant figures, None (no figure: a failed probe) as "—"."""
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e5 else f"{value:,.0f}"
    return one_line(value, limit=10 * REASON_CHARS).replace("|", "\\|")
