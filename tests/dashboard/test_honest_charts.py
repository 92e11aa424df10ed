"""Honest, consistent charts, checked on the figure objects: value axes from zero unless a log scale
is asked for (and then labelled), one precision palette in every chart, hover text of at most six
lines with units, no overlapping labels or markers on the trade-off, repeated runs beside their
median, noisy results named with the reason, and a break-even that is a date or says why not."""

import datetime as dt
import itertools

import pandas as pd
import pytest

from core.views import catalog, cost, estimates, notes
from core.views.projection import Point
from dashboard import charts, fmt, frames
from tests.dashboard.test_frames_and_charts import SHEET, cpu, gpu

WORKLOAD = "mlp/S"


@pytest.fixture(scope="module")
def measured():
    """One workload on a CPU and a GPU, each in fp32 and bf16; the GPU fp32 repeated three times, once noisy."""
    results = [cpu(step_time_cv=0.08), cpu(precision="bf16", samples_per_s=150.0, step_time_cv=0.09),
               gpu(step_time_cv=0.01), gpu(samples_per_s=2100.0, step_time_cv=0.012),
               gpu(samples_per_s=1500.0, step_time_cv=0.3), gpu(precision="bf16", samples_per_s=5000.0)]
    rows = frames.with_noise(frames.results_frame(results))
    agg = frames.with_speedup(frames.aggregate(rows))
    runs = frames.repeat_runs(rows, agg)
    costs, missing = frames.cost_frame(agg, SHEET, cost.CostSettings(purchase_price_usd=30_000),
                                       catalog.load_catalog())
    return agg, runs, costs, missing


def accelerator_tables():
    cat = catalog.load_catalog()
    points = [Point("H100 SXM", "fp16", 2600.0, "published", "lambda", "lab"),
              Point("A100 80GB", "fp16", 1500.0, "measured", "result x", "accelscope"),
              Point("L4", "fp16", 400.0, "published", "lambda", "lab")]
    throughputs = estimates.catalog_throughputs("cnn", "resnet50", "fp16", points, cat)
    speedups = frames.hardware_frame(throughputs, cat, 10.0)
    sheet_costs = estimates.instance_costs(SHEET.rows, "cnn", "resnet50", "fp16", points, cat)
    return speedups, frames.instance_frame(sheet_costs, 1e6)


def every_chart(measured, log=False) -> dict:
    agg, runs, costs, missing = measured
    speedups, instances = accelerator_tables()
    baseline = {"samples_per_s": 10.0, "label": "AMD EPYC · fp32"}
    return {
        "speed": charts.speed_chart(agg, runs=runs, log=log),
        "efficiency": charts.efficiency_chart(agg, log=log),
        "cost": charts.cost_chart(costs, missing, log=log),
        "trade-off": charts.tradeoff_chart(costs, log=log),
        "carbon": charts.carbon_chart(frames.carbon_frame(agg, ["USA", "FRA"]), log=log),
        "speed-up": charts.hardware_speedup_chart(speedups, baseline, "cnn/resnet50 fp16", log=log),
        "every instance": charts.instance_cost_chart(instances, "cnn/resnet50 fp16", log=log),
        "precision gain": charts.precision_gain_chart(frames.precision_gain_frame(agg)),
    }


def value_axes(name: str, fig) -> list:
    """The axes that carry a figure (not the rows' categories)."""
    if name == "efficiency":
        return [fig.layout.xaxis, fig.layout.xaxis2]  # energy panels (power stays linear)
    if name == "trade-off":
        return [fig.layout.xaxis, fig.layout.yaxis]
    return [fig.layout.xaxis]


def test_value_axes_are_linear_from_zero_unless_a_log_scale_is_asked_for_and_then_say_so(measured):
    for name, fig in every_chart(measured).items():
        for axis in value_axes(name, fig):
            assert axis.type == "linear", (name, axis.type)
            assert axis.range is not None and axis.range[0] == 0, (name, axis.range)
            assert "log" not in (axis.title.text or ""), name
    for name, fig in every_chart(measured, log=True).items():
        if name == "precision gain":  # a ratio around 1×: always linear
            continue
        for axis in value_axes(name, fig):
            assert axis.type == "log", (name, axis.type)
            assert "log scale" in (axis.title.text or "") or "log scale" in fig.layout.title.text, name


def precision_of(trace) -> str | None:
    for part in reversed(str(trace.name).replace("·", " ").split()):
        if part in charts.PRECISION_COLORS:
            return part
    return None


def colour_of(trace) -> str:
    """The colour a trace shows its precision in: its fill, or its outline where the fill is empty."""
    fill = trace.marker.color
    if isinstance(fill, str) and fill.startswith("rgba(255,255,255,0") and trace.marker.line.color:
        return trace.marker.line.color
    if isinstance(fill, str) and fill.startswith("rgba("):  # projected: translucent fill, solid outline
        return trace.marker.line.color
    return fill


def test_every_chart_colours_a_precision_the_same_way(measured):
    seen = {}
    for name, fig in every_chart(measured).items():
        for trace in fig.data:
            precision = precision_of(trace)
            if trace.type not in ("bar", "scatter") or precision is None or getattr(trace, "mode", "") == "lines":
                continue
            if name == "carbon" and "H100" in trace.name:  # the second device: a lighter shade of the same hue
                assert trace.marker.color == charts.precision_color(precision, 1)
                continue
            seen.setdefault(precision, set()).add((name, colour_of(trace)))
    speed_up = every_chart(measured)["speed-up"]
    seen.setdefault("fp16", set()).update(("speed-up", colour_of(t)) for t in speed_up.data if t.type == "bar")
    assert {"fp32", "bf16", "fp16"} <= set(seen)
    for precision, pairs in seen.items():
        assert {colour for _, colour in pairs} == {charts.PRECISION_COLORS[precision]}, (precision, pairs)
    assert len({charts.PRECISION_COLORS[p] for p in charts.PRECISION_COLORS}) == len(charts.PRECISION_COLORS)
    assert not set(charts.MEMORY_COLORS) & set(charts.PRECISION_COLORS.values())


UNITS = ("samples/s", "$", " J", "W", "g CO2e", "×", "per 1M", "h ", "kJ")


def test_hover_text_is_at_most_six_lines_each_with_its_unit(measured):
    for name, fig in every_chart(measured).items():
        hovered = [t for t in fig.data if t.hovertemplate and t.hoverinfo != "skip"]
        assert hovered, name
        for trace in hovered:
            lines = trace.hovertemplate.removesuffix("<extra></extra>").split("<br>")
            assert len(lines) <= charts.HOVER_MAX_LINES, (name, trace.hovertemplate)
            for row in trace.customdata:
                assert not any("<br>" in str(cell) for cell in row), (name, row)  # no hidden extra lines
                assert not any(str(cell) in ("None", "nan") or "None" in str(cell).split() for cell in row), row
                assert any(unit in " ".join(map(str, row)) + " " for unit in UNITS), (name, row)


def test_repeated_runs_are_points_beside_their_median_and_noisy_ones_are_marked(measured):
    agg, runs, _, _ = measured
    fig = charts.speed_chart(agg, runs=runs)
    assert fig.layout.scattermode == "group"
    points = [t for t in fig.data if t.type == "scatter"]
    assert sorted(x for t in points for x in t.x) == [1500.0, 2000.0, 2100.0]  # the GPU fp32's three runs only
    assert all(t.offsetgroup == "fp32" for t in points)  # beside the fp32 bar of their row
    (noisy,) = [t for t in points if "noisy" in t.name]
    assert list(noisy.x) == [1500.0] and "over 2× this machine's noise floor" in " ".join(noisy.customdata[0])
    (bar,) = [t for t in fig.data if t.type == "bar" and t.name == "fp32" and any("H100" in y for y in t.y)] or [
        next(t for t in fig.data if t.type == "bar" and t.name == "fp32")]
    assert 2000.0 in list(bar.x)  # the median of 1500, 2000 and 2100


def test_a_result_is_noisy_over_twice_its_machines_noise_floor():
    steady = [0.08, 0.09, 0.07]
    rows = frames.with_noise(frames.results_frame([cpu(step_time_cv=cv) for cv in [*steady, 0.317]]))
    assert rows["noisy_reason"].notna().tolist() == [False, False, False, True]
    reason = rows["noisy_reason"].iloc[-1]
    assert "31.7%" in reason and "2× this machine's noise floor of 8.5%" in reason
    floor, basis = notes.noise_floor([0.3, 0.2])  # too few results: the floor is assumed, and says so
    assert floor == notes.NOISY_CV and "assumed" in basis
    # the CLI's table and notes use the same definition
    flat = rows.drop(columns=["noisy_reason", "noise_floor_cv"]).to_dict("records")
    floors = notes.noise_floors(flat)
    assert [notes.is_noisy(r, floors) for r in flat] == [False, False, False, True]


def test_trade_off_labels_and_markers_never_overlap():
    points = [(100.0, 50.0 + 3 * i) for i in range(8)] + [(104.0, 52.0), (300.0, 200.0)]
    moved = charts.separate_points(points, charts.MARKER_PX + 1)
    for (ax, ay), (bx, by) in itertools.combinations(moved, 2):
        assert abs(ax - bx) >= charts.MARKER_PX + 1 or abs(ay - by) >= charts.MARKER_PX + 1 - 1e-6
    texts = [f"aws option-{i}.xlarge" for i in range(len(moved))]
    placed = charts.place_labels(moved, texts, 360, 300, 12)
    half = charts.MARKER_PX / 2
    boxes = [(x - half, y - half, x + half, y + half) for x, y in moved]
    for (x, y), text, where in zip(moved, texts, placed):
        if where is None:
            continue
        dx, dy, anchor = where
        w, h = len(text) * 12 * charts.CHAR_PX + 4, 12 * 1.25
        left = x + dx if anchor == "left" else x + dx - w if anchor == "right" else x - w / 2
        box = (left, y + dy - h / 2, left + w, y + dy + h / 2)
        assert 0 <= box[0] and box[2] <= 360 and 0 <= box[1] and box[3] <= 300
        assert not any(charts.overlap(box, other) for other in boxes), text
        boxes.append(box)
    assert any(p is not None for p in placed) and any(p is None for p in placed)
    # nor across the frontier's line, in a narrow plot or one five times as wide
    front = [(10.0, 200.0), (60.0, 120.0), (200.0, 100.0), (340.0, 20.0)]
    for (x, y), where in zip(front, charts.place_labels(front, ["p5.48xlarge"] * 4, 360, 300, 12, line=front)):
        if where is None:
            continue
        dx, dy, anchor = where
        w, h = len("p5.48xlarge") * 12 * charts.CHAR_PX + 4, 12 * 1.25
        for k in (1, 2, 5):
            left = x * k + (dx if anchor == "left" else dx - w if anchor == "right" else -w / 2)
            box = (left, y + dy - h / 2, left + w, y + dy + h / 2)
            for (x0, y0), (x1, y1) in zip(front, front[1:]):
                for t in [i / 200 for i in range(201)]:
                    px, py = (x0 + (x1 - x0) * t) * k, y0 + (y1 - y0) * t
                    assert not (box[0] < px < box[2] and box[1] < py < box[3]), (k, box, (px, py))


def test_crowded_trade_off_says_what_it_moved_and_left_unlabelled(measured):
    _, _, costs, _ = measured
    crowded = pd.concat([costs] * 3, ignore_index=True)  # every option three times: on top of each other
    fig = charts.tradeoff_chart(crowded)
    note = " ".join(a.text for a in fig.layout.annotations if "Hover" in a.text)
    assert "moved apart" in note and "left out" in note
    drawn = [(x, y) for t in fig.data if getattr(t, "mode", "") == "markers" for x, y in zip(t.x, t.y)]
    assert len(set(drawn)) == len(drawn)  # no two markers drawn on the same spot


def test_break_even_is_a_date_or_never_because(measured):
    agg, _, costs, _ = measured
    today = dt.date(2026, 11, 27)
    plan = frames.plan_job(agg[agg["device_kind"] == "cuda"], costs, 7.2e6, 400)
    texts = [fmt.break_even(h, why, 4380, 4, today) for h, why in zip(plan["break_even_h"], plan["break_even_why"])]
    assert all(t and t != "None" for t in texts)
    rented = [t for t, option in zip(texts, plan["option"]) if option.startswith("aws p5")]
    assert rented and all(t[:4].isdigit() and "h of use" in t for t in rented)  # a date
    assert fmt.break_even(None, frames.break_even_why("on-demand", None, 1.0, 0.1, "H100"), 4380, 4,
                          today).startswith("unknown, because no purchase price")
    assert fmt.break_even(None, frames.break_even_why("on-demand", 30_000.0, 0.05, 0.1, "H100"), 4380, 4,
                          today).startswith("never, because its electricity")
    assert fmt.break_even(200_000.0, None, 4380, 4, today).startswith("never within the device's 4-year life")
    assert fmt.break_even(4380.0, None, 4380, 4, today) == "2027-11-27 (after 4,380 h of use)"
