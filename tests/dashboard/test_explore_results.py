"""Explore and Results under AppTest: the cards follow the workload the charts show, the Results table
has human headers and "—" for missing figures, a noisy result carries a badge and its reason, and
deleting a run asks first and then says what it deleted."""

import base64
import json
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from core.facts.store import Store
from tests.core.factories import make_result
from tests.dashboard.helpers import as_shown

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")
CVS = (0.08, 0.09, 0.07, 0.317)  # the last: over twice this machine's noise floor (the median, 8.5%)


@pytest.fixture
def store_url(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'ui.db'}"
    monkeypatch.setenv("ACCELSCOPE_DB", url)
    monkeypatch.setenv("ACCELSCOPE_LOCK_DIR", str(tmp_path / "locks"))
    return url


@pytest.fixture
def noisy_store(store_url):
    Store(store_url).add_many([make_result(step_time_cv=cv, samples_per_s=50_000.0 + 1000 * i,
                                           created_at=f"2026-11-22T10:0{i}:00+00:00") for i, cv in enumerate(CVS)])
    return store_url


def open_page(page: str, **state) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90)
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    if page != "explore":
        at.switch_page(f"views/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def array(values) -> list:
    """A figure spec's array: a list, or plotly's typed array ({"bdata": base64, "dtype": …})."""
    if isinstance(values, dict) and "bdata" in values:
        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"]).tolist()
    return list(values)


def chart_titles(at: AppTest) -> list[str]:
    return [json.loads(chart.proto.spec)["layout"]["title"]["text"] for chart in at.get("plotly_chart")]


@pytest.mark.parametrize("view", ["Speed", "Trade-off"])
def test_the_cards_are_for_the_workload_the_charts_show(view, store_url):
    at = open_page("explore", view=view, focus="mlp/S")
    for workload in ("mlp/S", "cnn/M"):
        at.selectbox(key="focus").set_value(workload).run()
        assert not at.exception, [e.value for e in at.exception]
        card_captions = [c.value for c in at.caption if " · " in c.value][:3]
        assert len(card_captions) == 3 and all(workload in as_shown(c).split(" · ") for c in card_captions), card_captions
        assert all(title.endswith(workload) for title in chart_titles(at)), chart_titles(at)
        labels = [m.label for m in at.metric][:3]  # "(estimated)" unless the winner's energy was measured
        assert labels[:2] == ["Fastest", "Cheapest per 1M samples"] and labels[2].startswith("Most efficient")


def test_results_show_human_headers_with_units_and_a_dash_for_missing(store_url):
    at = open_page("results")
    (table,) = at.dataframe
    assert table.proto.placeholder == "—"
    shown = list(table.proto.column_order)
    config = json.loads(table.proto.columns)
    labels = [config[column]["label"] for column in shown]
    assert labels[:5] == ["status", "workload", "precision", "samples/s", "step-time CV"]
    assert {"tokens/s", "step time (ms)", "energy (J)", "when (UTC)", "notes"} <= set(labels)
    assert not any("_" in label for label in labels), labels  # no raw column names
    assert table.value["tokens_per_s"].isna().any()  # the missing figures the placeholder shows as "—"


def test_a_noisy_result_carries_a_badge_and_its_reason(noisy_store):
    at = open_page("results")
    (badge,) = [m.value for m in at.markdown if "badge[" in m.value]
    noisy = [n for n in at.dataframe[0].value["notes"] if "noisy" in n]  # the bundled samples have one too
    assert "noisy" in badge and f"**{len(noisy)} results**" in badge and "noise floor" in badge
    assert "⚠ noisy: CV 31.7% > 2 × 8.5% floor" in noisy

    at = open_page("explore", view="Speed", focus="mlp/S")
    badges = [as_shown(m.value) for m in at.markdown if "badge[" in m.value]
    assert len(badges) == 1 and "31.7%" in badges[0]
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    runs = [x for trace in spec["data"] if trace["type"] == "scatter" for x in array(trace["x"])]
    assert sorted(runs) == [50_000.0, 51_000.0, 52_000.0, 53_000.0]  # every run beside the median


def test_deleting_a_run_asks_first_then_says_what_it_deleted(noisy_store):
    at = open_page("results")
    assert not [b for b in at.button if b.label.startswith("Yes, delete")]
    next(b for b in at.button if b.label == "Delete run").click().run()
    assert Store(noisy_store).count() == 4  # asking deletes nothing
    (question,) = [w.value for w in at.warning if "cannot be undone" in as_shown(w.value)]
    assert "run-1" in as_shown(question) and "4 result(s)" in as_shown(question)
    next(b for b in at.button if b.label == "Cancel").click().run()
    assert not [b for b in at.button if b.label.startswith("Yes, delete")] and Store(noisy_store).count() == 4

    next(b for b in at.button if b.label == "Delete run").click().run()
    next(b for b in at.button if b.label == "Yes, delete 4 result(s)").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert Store(noisy_store).count() == 0
    assert [as_shown(s.value) for s in at.success] == ["Deleted run run-1: 4 result(s)."]
