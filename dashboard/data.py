"""Loading results, sheets and the catalog, cached. The store is read again only when it changed."""

from __future__ import annotations

import os

import pandas as pd
import streamlit as st

from core.facts import bundle
from core.facts.store import Store, default_url
from core.paths import DATA_DIR
from core.views import carbon, catalog, pricing
from dashboard import state
from dashboard.frames import as_categories, results_frame, summaries_frame

SAMPLES_DIR = DATA_DIR / "samples"


def db_url() -> str:
    """The store: Streamlit secrets (a deployed team app), then $ACCELSCOPE_DB, then local SQLite."""
    try:
        secret = st.secrets.get("ACCELSCOPE_DB")
    except Exception:  # no secrets file: fine locally
        secret = None
    return secret or os.environ.get("ACCELSCOPE_DB") or default_url()


@st.cache_resource(show_spinner=False)
def store_handle(url: str) -> Store:
    """One SQLAlchemy engine per URL for the whole app (a thread-safe handle)."""
    return Store(url)


@st.cache_data(ttl=0.5, show_spinner=False)
def store_stamp(url: str) -> tuple[int, str]:
    """Changes whenever results are added or deleted; a cheap indexed query, re-read at most
    every 0.5 s (a page calls it several times per run). Writers call ``store_stamp.clear()``."""
    return store_handle(url).change_stamp()


def samples_stamp() -> tuple:
    return tuple(sorted((p.name, p.stat().st_mtime_ns) for p in SAMPLES_DIR.glob("*.json")))


@st.cache_resource(show_spinner="Loading results…", max_entries=2)
def load_frame(url: str, stamp: tuple, sample_stamp: tuple) -> pd.DataFrame:
    """Bundled sample results plus the store, one row per result (store wins on duplicate ids).

    Cached as a shared resource, not copied per call: at 100k results a copy costs ~0.25 s. It is
    read-only by contract: every caller filters into a new frame and never mutates this one."""
    frames = []
    for name, _ in sample_stamp:
        frames.append(results_frame(bundle.read_bundle(SAMPLES_DIR / name), source=f"sample: {name}"))
    frames.append(summaries_frame(store_handle(url).summaries(), source="store"))
    frame = pd.concat(frames, ignore_index=True) if frames else results_frame([])
    return as_categories(frame.drop_duplicates(subset="id", keep="last").reset_index(drop=True))


def current_frame() -> pd.DataFrame:
    url = db_url()
    return load_frame(url, store_stamp(url), samples_stamp())


@st.cache_data(show_spinner=False)
def bundled_sheets() -> dict[str, pricing.PriceSheet]:
    return {sheet.name: sheet for sheet in pricing.bundled_sheets()}


def all_sheets() -> dict[str, pricing.PriceSheet]:
    return {**bundled_sheets(), **st.session_state.get(state.CUSTOM_SHEETS, {})}


@st.cache_data(show_spinner=False)
def accelerators() -> tuple[catalog.Accelerator, ...]:
    return catalog.load_catalog()


@st.cache_data(show_spinner=False)
def grid_regions() -> tuple[carbon.GridRegion, ...]:
    return carbon.load_regions()


def torch_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("torch") is not None
