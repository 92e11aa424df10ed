"""A link whose parameters cannot be honoured says so: each value the URL asked for that a page has to
replace is named, with what is shown instead, once, in one warning; a user's own later choices are not."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.facts.store import Store
from dashboard import data, state
from tests.core.factories import make_result
from tests.dashboard.helpers import as_shown

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")


@pytest.fixture(autouse=True)
def store_url(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'links.db'}"
    monkeypatch.setenv("ACCELSCOPE_DB", url)
    return url


def warnings(at: AppTest) -> list[str]:
    """The link's warnings (a page has others: a projection across vendors, say)."""
    return [as_shown(w.value) for w in at.warning if w.icon == ":material/link_off:"]


def test_every_value_the_link_asked_for_and_did_not_get_is_named_once():
    at = AppTest.from_file(APP, default_timeout=90)
    at.query_params.update({"sheet": "mycloud", "region": "Atlantis", "workload": ["mlp", "nonexistent"],
                            "view": "Speed-up", "hw_workload": "cnn/resnet9000", "slide": "two"})
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    (warning,) = warnings(at)
    assert warning.startswith("This link could not be opened exactly as it was shared:")
    for line in ("The link asked for price sheet 'mycloud', which does not exist here; showing 'aws'.",
                 "The link asked for grid region 'Atlantis', which does not exist here; showing 'USA'.",
                 "The link asked for workload filter 'nonexistent', which does not exist here; showing 'mlp'.",
                 "The link asked for workload 'cnn/resnet9000', which does not exist here; showing 'cnn/resnet50'.",
                 "The link asked for slide 'two', which is not a whole number; showing '0'."):
        assert f"- {line}" in warning.splitlines(), (line, warning)
    assert at.session_state[state.SHEET] == "aws" and at.session_state[state.REGION] == "USA"
    assert at.session_state[state.filter_key("workload")] == ["mlp"], "what could be honoured is kept"
    assert at.session_state[state.VIEW] == "Speed-up"

    at.run()  # said once: not again on the next rerun
    assert not warnings(at)


def test_a_link_honoured_once_is_not_reported_when_its_value_goes_away_later(store_url):
    """The run a link filtered on is deleted after the page opened: the filter drops it quietly (it is
    no longer the link's value that failed, but a change made since)."""
    Store(store_url).add_many([make_result(run_id="run-a"), make_result(run_id="run-b")])
    at = AppTest.from_file(APP, default_timeout=90)
    at.query_params.update({"run_id": "run-a", "view": "Cost", "region": "FRA"})
    at.run()
    assert not at.exception and not warnings(at), warnings(at)
    assert at.session_state[state.filter_key("run_id")] == ["run-a"]
    Store(store_url).delete_run("run-a")
    data.store_stamp.clear()
    at.run()
    assert not at.exception and not warnings(at), warnings(at)
    assert at.session_state[state.filter_key("run_id")] == []
