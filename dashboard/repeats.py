"""The individual runs behind the medians, and which of them are noisy (step-time CV over twice their
machine's noise floor, core.views.notes): read per workload and cached on the store's stamp and the
filters, like the analysis in pipeline.py. No widgets here."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.facts.summary import TRAIN
from dashboard import data, frames, pipeline

RUNS_SHOWN = 600  # a workload's newest successful runs read for the points beside its medians (a chart draws 60 a bar)


def noise_floors() -> pd.DataFrame:
    """Every machine's noise floor, from all its results (a floor does not change with the filters)."""
    return data.current().floors


@st.cache_data(show_spinner=False, max_entries=32)
def _runs(url: str, stamp: tuple, sample_stamp: tuple, filters: tuple, config: str) -> pd.DataFrame:
    workload, size = config.split("/", 1)
    chosen = data.rows_frame(where={**dict(filters), "workload": [workload], "size": [size]}, scope=TRAIN, ok=True,
                             newest=RUNS_SHOWN)
    agg = pipeline.analysis(url, stamp, sample_stamp, filters)[0]
    focus = agg[agg["config"] == config] if not agg.empty else agg
    return frames.repeat_runs(frames.with_noise(chosen, data.loaded(url, stamp, sample_stamp).floors), focus)


def current_runs(config: str) -> pd.DataFrame:
    """The successful runs of ``config`` in the current selection (frames.RUN_COLUMNS), the newest
    RUNS_SHOWN of them, noisy ones with their reason (every run counts in the medians and noisy counts
    of the summaries)."""
    url = data.db_url()
    return _runs(url, data.store_stamp(url), data.samples_stamp(), pipeline.current_filters(), config)


def with_noise(frame: pd.DataFrame) -> pd.DataFrame:
    """Flat result rows with ``noisy_reason`` (and ``noise_floor_cv``), against every machine's floor."""
    return frames.with_noise(frame, noise_floors())
