"""Loading results, sheets and the catalog, cached. The store is read again only when it changed.

A store that cannot be opened or read never raises here: the pages go on with the bundled sample
results and bundled price sheets, and ``store_health`` says what is wrong (shown once per page)."""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass
from typing import Sequence

import pandas as pd
import streamlit as st

from core.errors import InvalidPriceSheet, StoreError
from core.facts import bundle
from core.facts.rows import FLAT_COLUMNS, flat_row
from core.facts.store import ROW_KINDS, RUN_SCAN_ROWS, Store, default_url, masked
from core.facts.summary import CONFIG_KEYS, INPUT_COLUMNS, scope_of
from core.facts.summary import summarise as summary_of
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
    error = stamp[1] if stamp and stamp[0] == "unreadable" else _loaded(url, stamp, samples_stamp()).problem
    return StoreHealth(store.safe_url, error=error, read_only=store.read_only, damage=store.damage)


def samples_stamp() -> tuple:
    return tuple(sorted((p.name, p.stat().st_mtime_ns) for p in SAMPLES_DIR.glob("*.json")))


@dataclass(frozen=True)
class Loaded:
    """What every page starts from, read once per change of the store or of the bundled samples:
    the results summarised per configuration (core.facts.summary), never every stored row. Rows are
    read per question (:func:`rows_frame`). Shared and read-only: callers filter into new frames."""

    configs: pd.DataFrame  # one row per (scope, configuration): samples and store together
    floors: pd.DataFrame  # every machine's noise floor: host, device_kind, noise_floor_cv, noise_basis
    run_ids: tuple[str, ...]  # the newest RUN_CHOICES stored runs (newest first), then the samples'
    more_runs: bool  # the store holds older runs than these
    launches: tuple[str, ...]
    samples: tuple[tuple, ...]  # the bundled sample results not in the store: flat rows in FLAT_COLUMNS order
    sample_sources: tuple[str, ...]  # each sample row's "sample: FILE"
    stored: int  # how many results the store holds
    problem: str | None  # why the store's results could not be read (None: they could)


@st.cache_resource(show_spinner="Reading the results…", max_entries=2)
def _loaded(url: str, stamp: tuple, sample_stamp: tuple) -> Loaded:
    """The store's per-host summaries (core.facts.store.Store.host_summaries: a few hundred rows at a
    million results; a host written since is summarised again there) and the bundled samples. A
    sample result also in the store is the store's; a host with results in both is summarised from
    both (its medians and noise floor are of all its results)."""
    samples, sources = [], []
    for name, _ in sample_stamp:
        rows = sample_rows(SAMPLES_DIR / name)
        samples += rows
        sources += [f"sample: {name}"] * len(rows)
    store = open_store(url) if stamp != UNAVAILABLE else None
    problem, summaries, run_ids, stored_ids, stored = None, {}, [], set(), 0
    if store is not None:
        try:
            summaries = store.host_summaries()
            run_ids = store.run_ids(newest=RUN_CHOICES + 1)  # one more: whether there are more
            stored_ids = store.stored_ids([row[ID] for row in samples])
            stored = sum(c["results"] for summary in summaries.values() for c in summary["configs"])
        except StoreError as exc:
            problem, summaries, run_ids, stored_ids, stored = str(exc), {}, [], set(), 0
    kept = [(row, source) for row, source in zip(samples, sources) if row[ID] not in stored_ids]
    sample_dicts = [dict(zip(FLAT_COLUMNS, row)) for row, _ in kept]
    sample_hosts = {row["host"] for row in sample_dicts}
    parts = []
    for host, summary in summaries.items():
        if host in sample_hosts:  # one machine in both: one summary of all its results
            continue
        parts.append(summary)
    both = sample_hosts & set(summaries)
    if sample_dicts:
        stored_rows = (dict(zip(INPUT_COLUMNS, row)) for chunk in store.row_chunks(
            INPUT_COLUMNS, where={"host": sorted(both, key=str)}) for row in chunk) if both and store is not None else ()
        try:
            parts.append(summary_of(itertools.chain(sample_dicts, stored_rows)))
        except StoreError as exc:
            problem = str(exc)
            parts.append(summary_of(sample_dicts))
    configs = [c for part in parts for c in part["configs"]]
    floors = [f for part in parts for f in part["floors"]]
    launches = sorted({launch for part in parts for launch in part["launches"]})
    return Loaded(configs=pd.DataFrame(configs, columns=list(dict.fromkeys([*CONFIG_COLUMNS, *(k for c in configs for k in c)]))),
                  floors=pd.DataFrame(floors, columns=FLOOR_COLUMNS),
                  run_ids=tuple(dict.fromkeys([*run_ids[:RUN_CHOICES], *sorted({row["run_id"] for row in sample_dicts})])),
                  more_runs=len(run_ids) > RUN_CHOICES or stored > RUN_SCAN_ROWS,
                  launches=tuple(launches), samples=tuple(row for row, _ in kept),
                  sample_sources=tuple(source for _, source in kept), stored=stored, problem=problem)


ID = FLAT_COLUMNS.index("id")
RUN_CHOICES = 500  # the Run filter offers the newest runs (and any run a link names)
CONFIG_COLUMNS = ("scope", *CONFIG_KEYS, "results", "failed", "repeats")
FLOOR_COLUMNS = ["host", "device_kind", "noise_floor_cv", "noise_basis"]


def sample_rows(path) -> list[tuple]:
    """A bundled sample file's results as typed flat rows (tuples in FLAT_COLUMNS order)."""
    return [tuple(row[c] for c in FLAT_COLUMNS) for row in map(flat_row, bundle.read_bundle(path))]


def loaded(url: str, stamp: tuple, sample_stamp: tuple) -> Loaded:
    return _loaded(url, stamp, sample_stamp)


def current() -> Loaded:
    """The summaries of the bundled samples and the store (only the samples when the store cannot be read)."""
    url = db_url()
    return _loaded(url, store_stamp(url), samples_stamp())


def _sample_matches(row: dict, where: dict, scope: str | None, ok: bool | None) -> bool:
    if any(values and row.get(column) not in values for column, values in where.items()):
        return False
    if scope is not None and scope_of(row) != scope:
        return False
    return ok is None or (row.get("status") == "ok") == ok


@st.cache_resource(show_spinner=False, max_entries=32)
def _rows(url: str, stamp: tuple, sample_stamp: tuple, where: tuple, scope: str | None, ok: bool | None,
          newest: int | None) -> pd.DataFrame:
    found = _loaded(url, stamp, sample_stamp)
    chosen = {column: set(values) for column, values in where}
    samples = [(row, source) for row, source in zip(found.samples, found.sample_sources)
               if _sample_matches(dict(zip(FLAT_COLUMNS, row)), chosen, scope, ok)]
    chunks = [([row for row, s in samples if s == source], source) for source in dict.fromkeys(s for _, s in samples)]
    store = open_store(url) if stamp != UNAVAILABLE and found.problem is None else None
    stored = []
    if store is not None:
        try:
            stored = [(rows, "store") for rows in store.row_chunks(FLAT_COLUMNS, where=dict(where), scope=scope, ok=ok,
                                                                      newest=newest)]
        except StoreError:
            stored = []  # store_health says why, once per page
    frame = typed_frame(itertools.chain(chunks, stored), ROW_KINDS)
    if newest is not None:
        frame = frame.sort_values(["created_at", "id"], ascending=False, kind="stable").head(newest)
    return frame.reset_index(drop=True)


@st.cache_data(show_spinner=False, max_entries=16)
def _count(url: str, stamp: tuple, sample_stamp: tuple, where: tuple) -> int:
    found = _loaded(url, stamp, sample_stamp)
    chosen = {column: set(values) for column, values in where}
    samples = sum(_sample_matches(dict(zip(FLAT_COLUMNS, row)), chosen, None, None) for row in found.samples)
    store = open_store(url) if stamp != UNAVAILABLE and found.problem is None else None
    try:
        return samples + (store.count(where=dict(where)) if store is not None else 0)
    except StoreError:
        return samples


def count(*, where: dict | None = None) -> int:
    """How many results (samples and store) match ``where`` (column -> values; empty: any). Without a
    condition, from the summaries (a count of the whole store is a table scan on PostgreSQL)."""
    url = db_url()
    key = tuple((column, tuple(values)) for column, values in sorted((where or {}).items()) if values)
    if not key:
        found = current()
        return found.stored + len(found.samples)
    return _count(url, store_stamp(url), samples_stamp(), key)


def run_choices(newest: Sequence[str], chosen: Sequence[str] | None) -> tuple[str, ...]:
    """The Run filter's options: the newest runs, then each chosen run that is not among them but
    exists (an older run a link names stays chosen)."""
    older = [run for run in chosen or () if run not in newest and count(where={"run_id": [run]})]
    return (*newest, *older)


def rows_frame(*, where: dict | None = None, scope: str | None = None, ok: bool | None = None,
               newest: int | None = None) -> pd.DataFrame:
    """Flat result rows (samples and store, one per result), only those asked for: ``where`` (column ->
    values; empty: any), ``scope`` (core.facts.summary.SCOPES), ``ok``, ``newest`` (the newest N, newest
    first; else oldest first, samples before the store). Read from the store per question and cached
    on it; a shared frame, read-only by contract."""
    url = db_url()
    key = tuple((column, tuple(values)) for column, values in sorted((where or {}).items()) if values)
    return _rows(url, store_stamp(url), samples_stamp(), key, scope, ok, newest)


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
