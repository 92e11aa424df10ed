"""The dashboard's pure pieces: number formatters, session/URL keys, cancellation exit codes, and
that the data pipeline and widgets modules never pull torch in."""

import subprocess
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import fmt, runs, state

REPO = Path(__file__).resolve().parents[2]
APP = str(REPO / "dashboard" / "app.py")


@pytest.mark.parametrize("value,text", [(12_345_678, "12.3M"), (328_972, "329k"), (41.23, "41.2"),
                                        (0.0000689, "6.89e-05"), (2.5e9, "2.5G"), (1234, "1,234")])
def test_compact(value, text):
    assert fmt.compact(value) == text


@pytest.mark.parametrize("value,text", [(12.5, "$12.50"), (0, "$0.00"), (0.00123, "$0.00123"), (1234.5, "$1,234.50")])
def test_usd(value, text):
    assert fmt.usd(value) == text


def test_every_url_parameter_has_one_session_key():
    assert len(set(state.URL_KEYS)) == len(state.URL_KEYS)
    assert set(state.FILTER_KEYS) <= set(state.URL_KEYS)
    assert state.filter_key("workload") == "filter_workload"
    assert set(state.DEFAULTS) >= {state.SHEET, state.REGION, state.SPOT, state.SLIDE, state.CUSTOM_SHEETS}


def test_cancellation_exit_codes_are_sigterm_and_sigint():
    assert set(runs.CANCELLED_EXIT_CODES) == {143, 130}


def test_a_link_reopens_its_view(tmp_path, monkeypatch):
    monkeypatch.setenv("ACCELSCOPE_DB", f"sqlite:///{tmp_path / 'ui.db'}")
    at = AppTest.from_file(APP, default_timeout=90)
    at.query_params.update({"workload": ["mlp"], "spot": "1", "view": "Cost", "slide": "2", "region": "FRA"})
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state[state.filter_key("workload")] == ["mlp"]
    assert at.session_state[state.SPOT] is True
    assert at.session_state[state.VIEW] == "Cost"
    assert at.session_state[state.SLIDE] == 2
    assert at.session_state[state.REGION] == "FRA"


def test_pipeline_widgets_and_fmt_import_without_torch():
    code = ("import sys\nimport dashboard.fmt\nassert 'streamlit' not in sys.modules\n"
            "import dashboard.pipeline, dashboard.widgets, dashboard.state, dashboard.runs, core.facts.spec\n"
            "assert 'torch' not in sys.modules, 'torch imported'\nprint('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         cwd=REPO, check=False)
    assert out.returncode == 0 and out.stdout.strip().endswith("ok"), out.stderr[-2000:]
