"""The individual runs behind the medians, and which of them are noisy (step-time CV over twice their
machine's noise floor, core.views.notes): cached on the store's stamp and the filters, like the
analysis in pipeline.py. No widgets here."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import data, frames, pipeline


@st.cache_resource(show_spinner=False, max_entries=2)
def _floors(url: str, stamp: tuple, sample_stamp: tuple) -> pd.DataFrame:
    """Every machine's noise floor, from all its results (a floor does not change with the filters)."""
    return frames.noise_floors(pipeline.training_rows(data.load_frame(url, stamp, sample_stamp)))


def noise_floors() -> pd.DataFrame:
    url = data.db_url()
    return _floors(url, data.store_stamp(url), data.samples_stamp())


@st.cache_data(show_spinner=False, max_entries=32)
def _runs(url: str, stamp: tuple, sample_stamp: tuple, filters: tuple, config: str) -> pd.DataFrame:
    frame = pipeline.training_rows(data.load_frame(url, stamp, sample_stamp))
    workload, size = config.split("/", 1)
    chosen = frames.apply_filters(frame, {**dict(filters), "workload": [workload], "size": [size]})
    agg = pipeline.analysis(url, stamp, sample_stamp, filters)[0]
    focus = agg[agg["config"] == config] if not agg.empty else agg
    return frames.repeat_runs(frames.with_noise(chosen, _floors(url, stamp, sample_stamp)), focus)


def current_runs(config: str) -> pd.DataFrame:
    """Every successful run of ``config`` in the current selection (frames.RUN_COLUMNS), noisy ones
    with their reason."""
    url = data.db_url()
    return _runs(url, data.store_stamp(url), data.samples_stamp(), pipeline.current_filters(), config)


def with_noise(frame: pd.DataFrame) -> pd.DataFrame:
    """Flat result rows with ``noisy_reason`` (and ``noise_floor_cv``), against every machine's floor."""
    return frames.with_noise(frame, noise_floors())
