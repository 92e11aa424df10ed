"""Every session-state and URL key of the dashboard, their defaults, and the URL round trip, in one place.

Pages and widgets name keys through this module (``state.SHEET``, ``state.filter_key("workload")``),
never as string literals, so a key has one spelling and one home.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import streamlit as st

from core.views.cost import CostSettings
from dashboard.fmt import plain

# Pricing and grid (sidebar, Hardware & prices)
SHEET = "sheet"
REGION = "region"
SPOT = "spot"
ELECTRICITY_USD_PER_KWH = "electricity_usd_per_kwh"
LIFETIME_YEARS = "lifetime_years"
HOURS_PER_YEAR = "hours_per_year"
PURCHASE_PRICE_USD = "purchase_price_usd"
INTENSITY_OVERRIDE = "intensity_override"
CUSTOM_SHEETS = "custom_sheets"  # name -> PriceSheet uploaded or edited in this session

# Views
VIEW = "view"  # Explore's chart
FOCUS = "focus"  # the workload (config) Explore's cards and measured charts show
LOG_SCALE = "log"  # Explore: value axes on a log scale (linear from zero unless asked)
HARDWARE_CONFIG = "hw_workload"  # Speed-up, Cost and Present: the workload compared on every accelerator
HARDWARE_PRECISION = "hw_precision"  # … its precision on the accelerators
JOB_SAMPLES = "job_samples"  # … and the job (samples to train on) their time and cost are given for
SLIDE = "slide"  # Present's slide index
INFER_CONFIG = "infer_workload"  # Explore's Inference and Serving cost: the workload served
SERVING_P99_MS = "p99_ms"  # … the serving target: p99 latency bound
SERVING_RPS = "rps"  # … and requests per second
QUALITY_CONFIG = "quality_workload"  # Explore's Time to quality: the workload trained to its target
MODEL = "model"  # Your model: a preset, hf:<class> or workload/size
MODEL_CONFIG = "model_config"  # … its config overrides (key=value,…)
MODEL_SEQ = "model_seq"  # … sequence length (0: the model's default)
MODEL_BATCH = "model_batch"  # … samples per device per step
MODEL_PRECISION = "model_precision"
MODEL_CHECKPOINTING = "model_checkpointing"
RUN_AMOUNT = "run_amount"  # … the training run to plan: tokens (language and speech models) or samples

# Page-local widgets and bookkeeping
URL_LOADED = "_url_loaded"  # the URL was read into the session once
PLAN_RUN = "plan_run"  # Run probes: the session's runs.PlanRun
UPLOADED_SHEET_FILE = "uploaded_sheet_file"  # Hardware & prices: (name, size) of the price sheet last uploaded
IMPORTED_FILE = "imported_file"  # Results: (name, size) of the bundle last imported
DELETE_PENDING = "_delete_pending"  # Results: the run whose deletion waits for "Yes, delete"
DELETED = "_deleted"  # Results: the message of a deletion, shown once after the rerun that follows it
RESULTS_ALL_COLUMNS = "results_all_columns"  # Results: every stored column, not only the main ones
SHEET_TO_VIEW = "sheet_to_view"  # Hardware & prices: the sheet shown in the editor
SHEET_UPLOAD = "sheet_upload"  # Hardware & prices: the price sheet uploader (see sheet_upload_key)
SHEET_UPLOADS_SAVED = "_sheet_uploads_saved"  # … how many uploads were saved for the team (a fresh uploader each)
SHEET_TO_VIEW_NEXT = "_sheet_to_view_next"  # … the sheet to show after a save (its picker is drawn already)
SHEET_SAVED = "_sheet_saved"  # … the message of a team-sheet save, shown once after the rerun that follows it
PREVIOUS_SLIDE = "present_previous"  # Present: "Previous" (its shortcut: ←)
NEXT_SLIDE = "present_next"  # Present: "Next" (its shortcut: →)
DECK_DOWNLOAD = "present_deck"  # Present: the HTML deck's download button

# Links: what the URL asked for, and the values of it that could not be honoured (shown once)
URL_ASKED = "_url_asked"  # session key -> (URL parameter, value the link gave it), until reported or changed
URL_FALLBACKS = "_url_fallbacks"  # Fallback records not shown yet
LINK_NOTICE = "_link_notice"  # this run's (placeholder at the top of the page, fallbacks shown in it)

# Roles (auth.py): who may change shared data. Never in the URL.
EDITOR_SIGNED_IN = "editor_signed_in"  # signed in with the shared editor password (the password form only)
EDITOR_PASSWORD = "editor_password_field"  # the sidebar's password field (its form clears it on submit)

_COST = CostSettings()  # the cost defaults live in core; the widgets start from them
DEFAULTS = {
    SHEET: _COST.sheet,
    REGION: _COST.region,
    SPOT: _COST.spot,
    ELECTRICITY_USD_PER_KWH: _COST.electricity_usd_per_kwh,
    LIFETIME_YEARS: _COST.lifetime_years,
    HOURS_PER_YEAR: _COST.hours_per_year,
    PURCHASE_PRICE_USD: 0.0,  # 0 in the widget: None in CostSettings, the catalog's typical price
    INTENSITY_OVERRIDE: 0.0,  # 0 in the widget: None in CostSettings, the region's grid intensity
    CUSTOM_SHEETS: {},
    EDITOR_SIGNED_IN: False,
    SLIDE: 0,
    LOG_SCALE: False,
    JOB_SAMPLES: 1_281_167 * 90,  # 90 epochs of ImageNet-1k (1,281,167 images)
    MODEL: "gpt2-small",
    MODEL_CONFIG: "",
    MODEL_SEQ: 0,  # the model's own context (at most 2048)
    MODEL_BATCH: 8,
    MODEL_PRECISION: "bf16",
    MODEL_CHECKPOINTING: False,
    RUN_AMOUNT: 10_000_000_000,  # 10B tokens (for an image model: that many samples; the page says which)
    SERVING_P99_MS: 20,  # "p99 ≤ 20 ms for 500 requests/s" (issue 15's example)
    SERVING_RPS: 500,
}

# Filters shared by Explore and Present, mirrored in the URL so a link reopens the view.
FILTER_KEYS = ("workload", "size", "precision", "device_label", "host", "run_id", "launch_id")
# URL parameters, in the order they are written. A filter's parameter is its column name; every
# other parameter has the name of its session-state key.
URL_TEXT_KEYS = (SHEET, REGION, FOCUS, VIEW, HARDWARE_CONFIG, HARDWARE_PRECISION, MODEL, MODEL_CONFIG,
                 MODEL_PRECISION, INFER_CONFIG, QUALITY_CONFIG)
URL_INT_KEYS = (SLIDE, MODEL_SEQ, MODEL_BATCH, JOB_SAMPLES, SERVING_P99_MS, SERVING_RPS)
POSITIVE_INT_KEYS = (MODEL_BATCH, JOB_SAMPLES, SERVING_P99_MS, SERVING_RPS)  # their widgets refuse 0
URL_BOOL_KEYS = (SPOT, MODEL_CHECKPOINTING, LOG_SCALE)  # "1" or "0" in the URL
URL_KEYS = (*FILTER_KEYS, *URL_TEXT_KEYS, *URL_BOOL_KEYS, *URL_INT_KEYS)


def filter_key(column: str) -> str:
    """The session-state key (and multiselect key) of the filter on ``column``."""
    return f"filter_{column}"


def editor_key(sheet_name: str) -> str:
    """The data editor of one price sheet on Hardware & prices."""
    return f"editor_{sheet_name}"


def prepare_key(fmt: str) -> str:
    """Present's "Prepare PNG/SVG" button."""
    return f"prepare_{fmt}"


def export_key(fmt: str) -> str:
    """Present's prepared image: (what the slide showed, bytes)."""
    return f"export_{fmt}"


def download_key(fmt: str) -> str:
    """Present's "Download PNG/SVG" button."""
    return f"download_{fmt}"


def sign_in_key(provider: str | None) -> str:
    """The sidebar's "Sign in" button for one OIDC provider (``None``: the default provider)."""
    return f"sign_in_{provider or 'default'}"


def sheet_upload_key() -> str:
    """The price sheet uploader: a new one after each upload saved for the team, so the saved file is
    not taken again as this session's sheet on the next rerun."""
    return f"{SHEET_UPLOAD}_{st.session_state.get(SHEET_UPLOADS_SAVED, 0)}"


def team_sheet_name_key(where: str) -> str:
    """Hardware & prices: the name field of "Save as team sheet" (``where``: "editor" or "upload")."""
    return f"team_sheet_name_{where}"


def team_sheet_save_key(where: str) -> str:
    """Hardware & prices: the "Save as team sheet" button."""
    return f"team_sheet_save_{where}"


def _session_key(url_key: str) -> str:
    return filter_key(url_key) if url_key in FILTER_KEYS else url_key


# Widget values other pages read: Streamlit forgets a widget's value on a run that does not draw
# it (another page), so every run re-assigns them (the documented way to keep them).
KEPT_WIDGET_KEYS = (HARDWARE_CONFIG, HARDWARE_PRECISION, JOB_SAMPLES, MODEL, MODEL_CONFIG, MODEL_SEQ, MODEL_BATCH,
                    MODEL_PRECISION, MODEL_CHECKPOINTING, RUN_AMOUNT, SHEET, REGION, SPOT, LOG_SCALE)


def init() -> None:
    for key, value in DEFAULTS.items():
        if key not in st.session_state:
            st.session_state[key] = dict(value) if isinstance(value, dict) else value
    for key in KEPT_WIDGET_KEYS:
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]


def load_query_params() -> None:
    """Once per session: take the view state from the URL. What each parameter asked for is kept
    (URL_ASKED), so a page that cannot honour it says so (``choose``, ``keep_known``)."""
    if st.session_state.get(URL_LOADED):
        return
    st.session_state[URL_LOADED] = True
    params = st.query_params
    asked: dict[str, tuple[str, Any]] = {}
    for key in URL_KEYS:
        if key not in params:
            continue
        if key in FILTER_KEYS:
            value = params.get_all(key)
        elif key in URL_BOOL_KEYS:
            if params[key] not in ("0", "1"):
                _report(Fallback(key, params[key], _shown(st.session_state.get(key)), "which is not 0 or 1"),
                        draw=False)
                continue
            value = params[key] == "1"
        elif key == VIEW and params[key] == "Every instance":
            value = "Cost"  # the view of every instance was folded into Cost: old links still open it
        elif key in URL_INT_KEYS:
            if not params[key].isdigit() or (key in POSITIVE_INT_KEYS and int(params[key]) < 1):
                _report(Fallback(key, params[key], _shown(st.session_state.get(key, 0)),
                                 "which is not a whole number" + (" above 0" if key in POSITIVE_INT_KEYS else "")),
                        draw=False)
                continue
            value = int(params[key])
        else:
            value = params[key]
        st.session_state[_session_key(key)] = value
        asked[_session_key(key)] = (key, value)
    st.session_state[URL_ASKED] = asked


# --- a link whose parameters cannot be honoured says so ------------------------------------------

PARAMETER_LABELS = {
    SHEET: "price sheet", REGION: "grid region", VIEW: "view", FOCUS: "workload", HARDWARE_CONFIG: "workload",
    HARDWARE_PRECISION: "precision", MODEL: "model", MODEL_CONFIG: "config overrides", MODEL_PRECISION: "precision",
    SLIDE: "slide", MODEL_SEQ: "sequence length", MODEL_BATCH: "batch per device", SPOT: "spot prices",
    MODEL_CHECKPOINTING: "activation checkpointing", LOG_SCALE: "log scale",
    "workload": "workload filter", "size": "size filter",
    "precision": "precision filter", "device_label": "device filter", "host": "host filter", "run_id": "run filter",
}


@dataclass(frozen=True)
class Fallback:
    """A value a link asked for that this app could not honour: ``parameter`` (the URL's name),
    ``asked`` (its value there), ``used`` (what is shown instead, as a phrase) and ``why``."""

    parameter: str
    asked: str
    used: str
    why: str = "which does not exist here"

    def message(self) -> str:
        """Plain text (not Markdown): "The link asked for price sheet 'mycloud', which does not
        exist here; showing 'aws'." """
        label = PARAMETER_LABELS.get(self.parameter, self.parameter)
        return f"The link asked for {label} '{self.asked}', {self.why}; showing {self.used}."


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "'1'" if value else "'0'"
    return f"'{value}'"


def choose(key: str, allowed: Sequence, fallback: Any = None) -> Any:
    """The session's value of ``key`` if it is one of ``allowed``; else ``fallback`` (default: the
    first allowed value), stored in the session. Replacing a value the link asked for is reported."""
    value = st.session_state.get(key)
    if value in allowed:
        honoured(key)
        return value
    used = allowed[0] if fallback is None else fallback
    st.session_state[key] = used
    replaced(key, value, _shown(used))
    return used


def keep_known(column: str, options: Sequence) -> None:
    """Drop the values of the filter on ``column`` that no longer exist (a deleted run, a link from
    another store); the ones the link asked for are reported."""
    key = filter_key(column)
    if key not in st.session_state:
        return
    chosen = list(st.session_state[key])
    kept = [v for v in chosen if v in options]
    if kept == chosen:
        honoured(key)
        return
    st.session_state[key] = kept
    dropped = [str(v) for v in chosen if v not in options]
    used = ", ".join(f"'{v}'" for v in kept) if kept else f"every {PARAMETER_LABELS[column].removesuffix(' filter')}"
    replaced(key, chosen, used, asked_text="', '".join(dropped),
             why="which does not exist here" if len(dropped) == 1 else "which do not exist here")


def honoured(key: str) -> None:
    """The link's value of ``key`` was found and used: a later change (a deleted run) is not the link's."""
    (st.session_state.get(URL_ASKED) or {}).pop(key, None)


def replaced(key: str, value: Any, used: str, *, asked_text: str | None = None,
             why: str = "which does not exist here") -> None:
    """Session value ``value`` of ``key`` was replaced by ``used`` (a phrase): reported when
    ``value`` is still what the link asked for (not a choice the user made since), once."""
    asked = st.session_state.get(URL_ASKED) or {}
    if key not in asked or asked[key][1] != value:
        return
    parameter, _ = asked.pop(key)
    _report(Fallback(parameter, str(value) if asked_text is None else asked_text, used, why))


def _report(fallback: Fallback, *, draw: bool = True) -> None:
    """Keep ``fallback`` to be shown; with ``draw``, show it now (in this run's link_notice place)."""
    st.session_state.setdefault(URL_FALLBACKS, []).append(fallback)
    if not draw:  # load_query_params: this run's place at the top of the page is made right after it
        return
    notice = st.session_state.get(LINK_NOTICE)
    if notice is not None:
        _draw(*notice)
    else:  # no placeholder (a page run on its own, as in a test): right here
        _draw(st, [])


def link_notice() -> None:
    """Once per run, at the top of the page (app.py): the place where the values of the link that
    could not be honoured are named, in one warning, as the page finds them."""
    placeholder = st.empty()
    st.session_state[LINK_NOTICE] = (placeholder, [])
    if st.session_state.get(URL_FALLBACKS):
        _draw(placeholder, st.session_state[LINK_NOTICE][1])


def _draw(where, shown: list) -> None:
    shown.extend(st.session_state.pop(URL_FALLBACKS, []))
    if not shown:
        return
    lines = [plain(f.message()) for f in shown]
    body = lines[0] if len(lines) == 1 else "This link could not be opened exactly as it was shared:\n\n" + "\n".join(
        f"- {line}" for line in lines)
    where.warning(body, icon=":material/link_off:")


def save_query_params() -> None:
    """Write the current view state into the URL (st.query_params)."""
    values: dict[str, object] = {}
    for key in URL_KEYS:
        if key in FILTER_KEYS:
            chosen = st.session_state.get(_session_key(key)) or []
            if chosen:
                values[key] = [str(v) for v in chosen]
        elif key in URL_BOOL_KEYS:
            values[key] = "1" if st.session_state.get(key) else "0"
        elif key in URL_INT_KEYS:
            values[key] = str(st.session_state.get(key, 0))
        elif st.session_state.get(key):
            values[key] = str(st.session_state[key])
    if dict(st.query_params.to_dict()) != {k: (v[-1] if isinstance(v, list) else v) for k, v in values.items()}:
        st.query_params.from_dict(values)
