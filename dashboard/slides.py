"""The Present deck: which question each slide asks, the frames it draws, its chart in the room's
styling and the sentence those frames support. Pure (frames in, export.Slide out; no streamlit), so
the page, its PNG/SVG exports and the offline HTML deck show the same slides, and the deck can be built
on the download's own thread.

Every slide is about one workload (picked on the slide); the slides about accelerators one cannot
measure here (speed-up, every instance) also about one precision on them. The serving slides are
about a workload with inference results, the last slide about one with time-to-target results
(each picked on its slide).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from dashboard import charts, room, takeaways
from dashboard.export import Slide

HEADINGS = (
    "How fast does it train?",
    "How much faster than a CPU?",
    "Hours on a CPU, minutes on a GPU",
    "How much energy per unit of work?",
    "What does 1M samples cost?",
    "Time vs cost",
    "CO2 by grid region",
    "How fast does it answer?",
    "What does serving cost?",
    "How long to reach a target loss?",
)
SPEED, SPEEDUP, JOB, ENERGY, COST, TRADEOFF, CARBON, INFERENCE, SERVING, QUALITY = range(len(HEADINGS))
# the slides about every accelerator: the precision on them matters there (and the job on JOB)
PRECISION_SLIDES = (SPEEDUP, JOB)


@dataclass(frozen=True, eq=False)
class DeckData:
    """What the slides show, for one workload, gathered once per page run from the session's selection,
    price sheet and settings (``measured``: the selection's aggregated results of the workload; the other
    frames as dashboard.frames builds them)."""

    workload: str
    precision: str
    samples: float  # the job the "hours on a CPU" slide trains
    sheet: str
    measured: pd.DataFrame
    costs: pd.DataFrame
    missing: pd.DataFrame
    speedups: pd.DataFrame
    baseline: dict | None
    instances: pd.DataFrame
    carbon: pd.DataFrame
    infer_workload: str = ""  # the serving slides: the workload served, its inference rows and the target
    inference: pd.DataFrame = field(default_factory=pd.DataFrame)
    serving_target_ms: float | None = None
    serving_text: str = ""
    serving_options: tuple = ()
    serving_refused: tuple = ()
    quality_workload: str = ""  # the last slide: the workload trained to its target, its curves
    quality_target: float | None = None
    curves: tuple = ()


def for_room(measured: pd.DataFrame) -> pd.DataFrame:
    """One workload's rows labelled by device (and what tells two rows of a device apart): the slide
    names the workload once, not on every bar."""
    if measured.empty:
        return measured
    return measured.assign(row_label=measured["device_label"] + measured["variant"].fillna(""))


def build(data: DeckData, index: int, height: int | None = room.SLIDE_HEIGHT_PX) -> Slide:
    """Slide ``index``: its heading, room-styled chart, takeaway and a note on rows left out."""
    workload, precision = data.workload, data.precision
    have_measured = not data.measured.empty
    note = ""
    if index == SPEED:
        figure, takeaway = charts.speed_chart(data.measured), takeaways.speed(data.measured, workload)
    elif index == SPEEDUP:
        have = data.speedups.dropna(subset=["speedup"]) if not data.speedups.empty else data.speedups
        shown = room.top_rows(have, "speedup", largest=True)
        note = room.rows_note(len(shown), len(have), "accelerators with a figure", "fastest", "Explore › Speed-up")
        figure = charts.hardware_speedup_chart(shown, data.baseline, f"{workload} {precision}")
        takeaway = takeaways.speedup(shown, data.baseline, workload, precision)
    elif index == JOB:
        priced = data.instances.dropna(subset=["usd_per_1m_samples"])
        shown = room.top_rows(priced, "usd_per_1m_samples", largest=False)
        note = room.rows_note(len(shown), len(priced), "priced instances", "cheapest", "Explore › Cost")
        figure = charts.instance_cost_chart(shown, f"{workload} {precision}")
        takeaway = takeaways.job(shown, data.baseline, workload, precision, data.samples)
    elif index == ENERGY:
        figure, takeaway = charts.efficiency_chart(data.measured), takeaways.efficiency(data.measured, workload)
    elif index == COST:
        shown = room.top_rows(data.costs, "usd_per_1m_samples", largest=False)
        note = room.rows_note(len(shown), len(data.costs), "priced options", "cheapest", "Explore › Cost")
        figure = charts.cost_chart(shown, data.missing)
        takeaway = takeaways.cost(shown, data.missing, workload, data.sheet, measured=have_measured)
    elif index == TRADEOFF:
        figure, takeaway = (charts.tradeoff_chart(data.costs, big=True),
                            takeaways.tradeoff(data.costs, workload, measured=have_measured))
    elif index == CARBON:
        figure, takeaway = (charts.carbon_chart(data.carbon),
                            takeaways.carbon(data.carbon, workload, measured=have_measured))
    elif index == INFERENCE:
        figure = charts.inference_chart(data.inference, data.serving_target_ms)
        takeaway = takeaways.inference(data.inference, data.infer_workload or "this workload", data.serving_target_ms)
    elif index == SERVING:
        figure = charts.serving_cost_chart(list(data.serving_options), data.serving_text, limit=room.MAX_ROWS)
        takeaway = takeaways.serving(list(data.serving_options), list(data.serving_refused),
                                     data.infer_workload or "this workload", data.serving_text, data.sheet)
    elif index == QUALITY:
        figure = charts.time_to_quality_chart(list(data.curves), data.quality_target)
        takeaway = takeaways.quality(list(data.curves), data.quality_workload or "this workload", data.quality_target)
    else:
        raise IndexError(f"no slide {index}: there are {len(HEADINGS)}")
    return Slide(HEADINGS[index], room.room_figure(figure, height), takeaway.text, note, takeaway.missing)


def build_all(data: DeckData, height: int | None = None) -> list[Slide]:
    """Every slide (the HTML deck: ``height`` None, each chart fills its screen)."""
    return [build(data, index, height) for index in range(len(HEADINGS))]

