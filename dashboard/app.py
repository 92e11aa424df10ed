"""Accelscope dashboard entry point: page config, who is signed in, and the router."""

import sys
from pathlib import Path

import streamlit as st

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `streamlit run dashboard/app.py` from anywhere, and on Community Cloud
    sys.path.insert(0, str(ROOT))

from dashboard import auth, notices, state  # noqa: E402

st.set_page_config(page_title="Accelscope", page_icon="⚡", layout="wide")
state.init()
state.load_query_params()
auth.sidebar()  # who you are and your role, on every page
notices.store_panel()  # a store that cannot be used, or is damaged: said once, at the top of every page
state.link_notice()  # where the values of a link that cannot be honoured are named, as the page finds them

VIEWS = Path(__file__).resolve().parent / "views"
st.navigation([
    st.Page(VIEWS / "explore.py", title="Explore", icon=":material/monitoring:", default=True),
    st.Page(VIEWS / "model.py", title="Your model", icon=":material/neurology:"),
    st.Page(VIEWS / "run.py", title="Run probes", icon=":material/play_arrow:"),
    st.Page(VIEWS / "hardware.py", title="Hardware & prices", icon=":material/sell:"),
    st.Page(VIEWS / "results.py", title="Results", icon=":material/table_rows:"),
    st.Page(VIEWS / "present.py", title="Present", icon=":material/slideshow:"),
]).run()
