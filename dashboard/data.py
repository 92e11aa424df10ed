"""Loading results, sheets and the catalog, cached. The store is read again only when it changed.

A store that cannot be opened or read never raises here: the pages go on with the bundled sample
results and bundled price sheets, and ``store_health`` says what is wrong (shown once per page)."""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass

import pandas as pd
import streamlit as st

from core.errors import InvalidPriceSheet, StoreError
from core.facts import bundle
from core.facts.rows import FLAT_COLUMNS, flat_row
from core.facts.store import ROW_KINDS, Store, default_url, masked
from core.paths import DATA_DIR
from core.views import carbon, catalog, pricing
from dashboard import state
from dashboard.frames import typed_frame

SAMPLES_DIR = DATA_DIR / "samples"
OPEN_RETRY_S = 15.0  # a store that could not be opened is tried again after this long, not on every rerun
UNAVAILABLE = ("unavailable",)  # the stamp of a store that cannot be opened


def db_url() -> str:
    """The store: Streamlit secrets (a deployed team app), then $ACCELSCOPE_DB, then local SQLite."""
    try:
        secret = st.secrets.get("ACCELSCOPE_DB")
    except Exception:  # no secrets file: fine locally
        secret = None
    return secret or os.environ.get("ACCELSCOPE_DB") or default_url()


@st.cache_resource(show_spinner=False)
def store_handle(url: str) -> Store:
    """One SQLAlchemy engine per URL for the whole app (a thread-safe handle). Raises StoreError;
    pages use ``open_store``, which does not."""
    return Store(url)


@st.cache_data(ttl=OPEN_RETRY_S, show_spinner=False)
def _open_problem(url: str) -> str | None:
    """Why the store cannot be opened (None: it can). Cached for OPEN_RETRY_S, so an unreachable
    server is not dialled on every rerun; a handle that opened stays open (store_handle)."""
    try:
        store_handle(url)
    except StoreError as exc:
        return str(exc)
    return None


def open_store(url: str) -> Store | None:
    """The store, or None when it cannot be opened (``store_health`` says why)."""
    if _open_problem(url) is not None:
        return None
    try:
        return store_handle(url)
    except StoreError:  # opened a moment ago, failing now: _open_problem will say so when it is asked again
        _open_problem.clear()
        return None


def _stamp(url: str, read) -> tuple:
    """``read(store)``, or a stamp saying the store cannot be opened or read (and why): never an exception."""
    store = open_store(url)
    if store is None:
        return UNAVAILABLE
    try:
        return read(store)
    except StoreError as exc:
        return ("unreadable", str(exc))


@st.cache_data(ttl=0.5, show_spinner=False)
def store_stamp(url: str) -> tuple:
    """Changes whenever results are added or deleted; a cheap indexed query, re-read at most
    every 0.5 s (a page calls it several times per run). Writers call ``store_stamp.clear()``.
    A store that cannot be opened or read has a stamp saying so (and why), never an exception."""
    return _stamp(url, lambda store: store.change_stamp())


@dataclass(frozen=True)
class StoreHealth:
    """What the pages say about the results store: ``error`` (it cannot be used at all: the pages
    show the bundled samples only), ``damage`` (the integrity check failed: reads go on, writes are
    refused) and ``read_only`` (reads work, writes are refused)."""

    safe_url: str
    error: str | None = None
    read_only: bool = False
    damage: str | None = None

    @property
    def usable(self) -> bool:
        return self.error is None

    @property
    def writable(self) -> bool:
        return self.error is None and self.damage is None and not self.read_only


def store_health(url: str | None = None) -> StoreHealth:
    url = url or db_url()
    problem = _open_problem(url)
    store = open_store(url) if problem is None else None
    if store is None:
        return StoreHealth(masked(url), error=problem or "it could not be opened")
    stamp = store_stamp(url)
    error = stamp[1] if stamp and stamp[0] == "unreadable" else _loaded(url, stamp, samples_stamp())[1]
    return StoreHealth(store.safe_url, error=error, read_only=store.read_only, damage=store.damage)


def samples_stamp() -> tuple:
    return tuple(sorted((p.name, p.stat().st_mtime_ns) for p in SAMPLES_DIR.glob("*.json")))


@st.cache_resource(show_spinner="Loading results…", max_entries=2)
def _loaded(url: str, stamp: tuple, sample_stamp: tuple) -> tuple[pd.DataFrame, str | None]:
    """(the frame, why the store's results could not be read, or None).

    The store's typed rows (core.facts.store.Store.row_chunks: one SELECT of typed columns, no JSON
    parsing), a chunk at a time, after the bundled samples; the frame is built column by column
    (frames.typed_frame), so a million results cost their typed columns and no Python row objects."""
    samples = [(sample_rows(SAMPLES_DIR / name), f"sample: {name}") for name, _ in sample_stamp]
    store = open_store(url) if stamp != UNAVAILABLE else None
    problem = None
    try:
        stored = ((rows, "store") for rows in (store.row_chunks(FLAT_COLUMNS) if store is not None else ()))
        frame = typed_frame(itertools.chain(samples, stored), ROW_KINDS)
    except StoreError as exc:
        problem = str(exc)
        frame = typed_frame(samples, ROW_KINDS)
    duplicated = frame["id"].duplicated(keep="last")  # a stored copy of a sample result: the store's wins
    if duplicated.any():
        frame = frame[~duplicated.to_numpy()].reset_index(drop=True)
    return frame, problem


def sample_rows(path) -> list[tuple]:
    """A bundled sample file's results as typed flat rows (tuples in FLAT_COLUMNS order)."""
    return [tuple(row[c] for c in FLAT_COLUMNS) for row in map(flat_row, bundle.read_bundle(path))]


def load_frame(url: str, stamp: tuple, sample_stamp: tuple) -> pd.DataFrame:
    """Bundled sample results plus the store, one row per result (store wins on duplicate ids); only
    the samples when the store cannot be read.

    Cached as a shared resource, not copied per call: at 100k results a copy costs ~0.25 s. It is
    read-only by contract: every caller filters into a new frame and never mutates this one."""
    return _loaded(url, stamp, sample_stamp)[0]


def current_frame() -> pd.DataFrame:
    """The bundled samples plus the store's results (only the samples when the store cannot be read)."""
    url = db_url()
    return load_frame(url, store_stamp(url), samples_stamp())


@st.cache_data(show_spinner=False)
def bundled_sheets() -> dict[str, pricing.PriceSheet]:
    return {sheet.name: sheet for sheet in pricing.bundled_sheets()}


@dataclass(frozen=True)
class TeamSheet:
    """A price sheet kept in the store for the whole team: its latest version and who saved it."""

    sheet: pricing.PriceSheet
    version: int
    saved_by: str
    saved_at: str  # ISO 8601, UTC


@st.cache_data(ttl=0.5, show_spinner=False)
def sheets_stamp(url: str) -> tuple:
    """Changes whenever a team sheet is saved (re-read at most every 0.5 s); the save action clears it."""
    return _stamp(url, lambda store: store.price_sheets_stamp())


@st.cache_resource(show_spinner=False, max_entries=4)
def _team_sheets(url: str, stamp: tuple) -> tuple[dict[str, TeamSheet], tuple[str, ...]]:
    """(the team sheets by name, why some could not be used). Shared and frozen: never mutated."""
    store = open_store(url) if stamp != UNAVAILABLE else None
    if store is None:
        return {}, ()
    try:
        rows = store.price_sheets()
    except StoreError as exc:
        return {}, (str(exc),)
    sheets, problems = {}, []
    for row in rows:
        try:
            parsed = pricing.parse_sheet(row["csv"], f"{row['name']}.csv", origin="team")
        except InvalidPriceSheet as exc:  # saved by an Accelscope with another schema: named, not used
            problems.append(f"team sheet {row['name']} v{row['version']} is not used: {exc}")
            continue
        sheets[row["name"]] = TeamSheet(pricing.PriceSheet(row["name"], parsed.rows, "team"), int(row["version"]),
                                        row["saved_by"], row["saved_at"])
    return sheets, tuple(problems)


def team_sheets() -> dict[str, TeamSheet]:
    """The store's team sheets (latest version of each), re-read when one is saved; none when the
    store cannot be used."""
    url = db_url()
    return _team_sheets(url, sheets_stamp(url))[0]


def team_sheet_problems() -> tuple[str, ...]:
    url = db_url()
    return _team_sheets(url, sheets_stamp(url))[1]


def all_sheets() -> dict[str, pricing.PriceSheet]:
    """Every sheet one may price with: bundled, then the team's (store), then this session's own
    uploads and edits (a name used twice: the later one wins)."""
    team = {name: kept.sheet for name, kept in team_sheets().items()}
    return {**bundled_sheets(), **team, **st.session_state.get(state.CUSTOM_SHEETS, {})}


def sheet_origin(name: str) -> str:
    """Where a sheet comes from, for pickers: "bundled", "team v3 by ann@example.com, 2026-11-27
    08:13 UTC", "this session (uploaded)"."""
    session = st.session_state.get(state.CUSTOM_SHEETS, {})
    if name in session:
        return f"this session ({session[name].origin})"
    kept = team_sheets().get(name)
    if kept is not None:
        return f"team v{kept.version} by {kept.saved_by}, {utc_minute(kept.saved_at)}"
    return "bundled"


def utc_minute(iso: str) -> str:
    """'2026-11-27T08:13:08+00:00' -> '2026-11-27 08:13 UTC' (a stored text that does not parse: as it is)."""
    from datetime import datetime, timezone

    try:
        moment = datetime.fromisoformat(iso)
    except (TypeError, ValueError):
        return str(iso)
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


@st.cache_data(show_spinner=False)
def accelerators() -> tuple[catalog.Accelerator, ...]:
    return catalog.load_catalog()


@st.cache_data(show_spinner=False)
def grid_regions() -> tuple[carbon.GridRegion, ...]:
    return carbon.load_regions()


def torch_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("torch") is not None
