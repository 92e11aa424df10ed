"""Validation of the projection (python -m bench projection): leave one device out over every
reference point, against two naive baselines, in one run."""

from __future__ import annotations

import math
import statistics

from bench.common import header, table


def _baseline(points, target, precision, by_model, attribute: str) -> float | None:
    """Naive: every other device's samples/s scaled by the ratio of a catalog figure (dense peak or
    memory bandwidth), geometric mean over those devices."""
    estimates = []
    for point in points:
        if point.device == target.model:
            continue
        source = by_model[point.device]
        if attribute == "peak":
            ours, theirs = target.peak_tflops(precision), source.peak_tflops(point.precision)
        else:
            ours, theirs = target.memory_bandwidth_gbps, source.memory_bandwidth_gbps
        if ours and theirs:
            estimates.append(math.log(point.samples_per_s * ours / theirs))
    return math.exp(statistics.fmean(estimates)) if estimates else None


def run(workloads=(("cnn", "resnet50"), ("transformer", "gpt2-small"))) -> None:
    from core.facts.references import load_references
    from core.views import catalog, projection

    header("Projection: leave one device out over every published point, vs naive baselines")
    accelerators = catalog.load_catalog()
    by_model = {a.model: a for a in accelerators}
    references = load_references()
    summary = []
    for workload, size in workloads:
        points = projection.published_points(references, workload, size, accelerators)
        errors = {"model": [], "peak scaling": [], "bandwidth scaling": []}
        same_stack: list[tuple[float, bool]] = []  # (|error|, inside) of points from the stack the fit used
        other_stack: list[tuple[float, bool]] = []
        covered, predicted, rows = 0, 0, []
        for point in points:
            target = by_model[point.device]
            projected = projection.project(target, workload, size, point.precision, points, accelerators, holdout=True)
            guesses = {"model": projected.samples_per_s,
                       "peak scaling": _baseline(points, target, point.precision, by_model, "peak"),
                       "bandwidth scaling": _baseline(points, target, point.precision, by_model, "bandwidth")}
            for name, guess in guesses.items():
                if guess and projected.samples_per_s:  # every method on the same points
                    errors[name].append(abs(guess / point.samples_per_s - 1))
            inside = projected.low is not None and projected.low <= point.samples_per_s <= projected.high
            covered += inside
            predicted += bool(projected.samples_per_s)
            if projected.samples_per_s:
                fitted_stacks = {p.stack for p in projected.basis}
                group = same_stack if fitted_stacks == {point.stack} else other_stack
                group.append((abs(projected.samples_per_s / point.samples_per_s - 1), inside))
            rows.append({"device": point.device, "precision": point.precision, "stack": point.stack,
                         "published samples/s": point.samples_per_s,
                         "projected": projected.samples_per_s, "interval": None if projected.low is None else
                         f"{projected.low:,.0f}–{projected.high:,.0f}", "inside": inside,
                         "error": None if not projected.samples_per_s else projected.samples_per_s / point.samples_per_s - 1,
                         "reason": projected.reason or ""})
        print(f"### {workload}/{size}: {len(points)} published points (each predicted from the other devices' points; "
              "refused where the catalog has no peak to scale)\n")
        table(rows)
        for name, values in errors.items():
            summary.append({"workload": f"{workload}/{size}", "method": name, "points predicted": len(values),
                            "median |error|": statistics.median(values) if values else None,
                            "p90 |error|": statistics.quantiles(values, n=10, method="inclusive")[-1]
                            if len(values) >= 2 else None,
                            "interval coverage": covered / predicted if name == "model" and predicted else None,
                            "refused": len(points) - predicted if name == "model" else None})
        for name, group in (("model, points of the one stack it was fitted on", same_stack),
                            ("model, points of other stacks", other_stack)):
            values = [error for error, _ in group]
            summary.append({"workload": f"{workload}/{size}", "method": name, "points predicted": len(values),
                            "median |error|": statistics.median(values) if values else None,
                            "p90 |error|": statistics.quantiles(values, n=10, method="inclusive")[-1]
                            if len(values) >= 2 else None,
                            "interval coverage": sum(inside for _, inside in group) / len(group) if group else None,
                            "refused": None})
    print("### Summary (goal: model median |error| ≤ 0.15, coverage ≥ 0.8, better than both baselines)\n")
    table(summary)
