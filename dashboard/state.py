"""Session-state keys and their defaults, in one place."""

from __future__ import annotations

import streamlit as st

DEFAULTS = {
    "sheet": "aws",
    "region": "USA",
    "spot": False,
    "electricity_usd_per_kwh": 0.15,
    "lifetime_years": 4.0,
    "hours_per_year": 4380.0,
    "purchase_price_usd": 0.0,  # 0: use the catalog's typical price
    "intensity_override": 0.0,  # 0: use the region's grid intensity
    "custom_sheets": {},  # name -> PriceSheet uploaded or edited in this session
    "slide": 0,
}

# Filters shared by Explore and Present, mirrored in the URL so a link reopens the view.
FILTER_KEYS = ("workload", "size", "precision", "device_label", "host", "run_id")
URL_KEYS = (*FILTER_KEYS, "sheet", "region", "spot", "slide", "focus", "view")


def init() -> None:
    for key, value in DEFAULTS.items():
        if key not in st.session_state:
            st.session_state[key] = dict(value) if isinstance(value, dict) else value


def load_query_params() -> None:
    """Once per session: take the view state from the URL."""
    if st.session_state.get("_url_loaded"):
        return
    st.session_state["_url_loaded"] = True
    params = st.query_params
    for key in FILTER_KEYS:
        if key in params:
            st.session_state[f"filter_{key}"] = params.get_all(key)
    for key in ("sheet", "region", "focus", "view"):
        if key in params:
            st.session_state[key] = params[key]
    if "spot" in params:
        st.session_state["spot"] = params["spot"] == "1"
    if "slide" in params and params["slide"].isdigit():
        st.session_state["slide"] = int(params["slide"])


def save_query_params() -> None:
    """Write the current view state into the URL (st.query_params)."""
    values: dict[str, object] = {}
    for key in FILTER_KEYS:
        chosen = st.session_state.get(f"filter_{key}") or []
        if chosen:
            values[key] = [str(v) for v in chosen]
    for key in ("sheet", "region", "focus", "view"):
        if st.session_state.get(key):
            values[key] = str(st.session_state[key])
    values["spot"] = "1" if st.session_state.get("spot") else "0"
    values["slide"] = str(st.session_state.get("slide", 0))
    if dict(st.query_params.to_dict()) != {k: (v[-1] if isinstance(v, list) else v) for k, v in values.items()}:
        st.query_params.from_dict(values)
