"""Shared helpers: the machine line every benchmark prints, and simple statistics."""

from __future__ import annotations

import datetime
import os
import platform
import statistics


def machine() -> str:
    from core.devices import cpu_model_name

    try:
        import torch

        torch_version = torch.__version__
    except ImportError:
        torch_version = "no torch"
    return (f"{cpu_model_name()}, {os.cpu_count()} logical CPUs, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}, torch {torch_version}, "
            f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC")


def header(title: str) -> None:
    print(f"\n## {title}\n\nmachine: {machine()}\n", flush=True)


def cv(values) -> float:
    values = list(values)
    return statistics.stdev(values) / statistics.fmean(values) if len(values) > 1 else 0.0


def table(rows: list[dict]) -> None:
    if not rows:
        print("(no rows)")
        return
    columns = list(rows[0])
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for row in rows:
        print("| " + " | ".join(_fmt(row[c]) for c in columns) + " |")
    print(flush=True)


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e5 else f"{value:,.0f}"
    return str(value)
