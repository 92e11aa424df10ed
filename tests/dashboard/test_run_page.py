"""Run probes: the plan is built from core's ProbeSpec, a refused spec starts nothing, and a
cancelled plan reads as cancelled. Device discovery and the plan process are faked."""

import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from core.errors import UnsupportedSpec
from core.facts.spec import ProbeSpec
from tests.dashboard.helpers import as_shown

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")
CPU = {"id": "cpu", "name": "Test CPU", "precisions": ["fp32", "bf16"]}


class Starts(list):
    """The specs of each plan started; ``returncode`` is how the fake plan ends."""

    returncode = 0


@pytest.fixture
def plan(tmp_path, monkeypatch):
    """Fake devices and plan process; returns the specs each start received."""
    monkeypatch.setenv("ACCELSCOPE_DB", f"sqlite:///{tmp_path / 'ui.db'}")
    monkeypatch.setattr("dashboard.data.torch_installed", lambda: True)
    monkeypatch.setattr("dashboard.runs.discover_devices", lambda timeout_s=120: ([CPU], None))
    st.cache_data.clear()  # the page caches device discovery
    started = Starts()

    def start_plan(specs, db_url, *, meters="auto", idle_seconds=3.0):
        started.append(specs)
        return SimpleNamespace(running=False, returncode=started.returncode, total=len(specs),
                               started_at=time.time(), events=list, stderr=lambda: "", cleanup=lambda: None)

    monkeypatch.setattr("dashboard.runs.start_plan", start_plan)
    yield started
    st.cache_data.clear()


def start(at: AppTest) -> AppTest:
    at.run()
    at.switch_page("views/run.py").run()
    assert not at.exception, [e.value for e in at.exception]
    next(b for b in at.button if b.label == "Start").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_the_plan_is_made_of_probe_specs(plan):
    at = start(AppTest.from_file(APP, default_timeout=90))
    (specs,) = plan
    assert specs and all(ProbeSpec.from_dict(s).to_dict() == s for s in specs)
    assert {s["precision"] for s in specs} == {"fp32", "bf16"} and {s["seconds"] for s in specs} == {2.0}
    assert any(s.value.startswith("Done:") for s in at.success)


def test_a_refused_spec_starts_nothing(plan, monkeypatch):
    def refuse(self):
        raise UnsupportedSpec("unknown workload 'x'")

    monkeypatch.setattr(ProbeSpec, "__post_init__", refuse)
    at = start(AppTest.from_file(APP, default_timeout=90))
    assert plan == []
    assert any(as_shown(e.value) == "Nothing started: unknown workload 'x'" for e in at.error)


@pytest.mark.parametrize("code", [143, 130, -15])
def test_a_cancelled_plan_says_so(plan, code):
    plan.returncode = code
    at = start(AppTest.from_file(APP, default_timeout=90))
    assert any(w.value.startswith("Cancelled after") for w in at.warning)


def test_an_emulated_precision_is_announced_before_it_runs(plan, monkeypatch):
    avx2_cpu = {**CPU, "isa": "AVX2", "emulated_precisions": ["bf16"]}
    monkeypatch.setattr("dashboard.runs.discover_devices", lambda timeout_s=120: ([avx2_cpu], None))
    at = start(AppTest.from_file(APP, default_timeout=90))
    (warning,) = [as_shown(w.value) for w in at.warning if "emulated" in w.value]
    assert warning.startswith("bf16 on cpu (Test CPU, AVX2) is emulated in software") and "slower than fp32" in warning


def test_the_plan_says_how_long_it_will_take_before_it_starts(plan):
    at = AppTest.from_file(APP, default_timeout=90)
    at.run()
    at.switch_page("views/run.py").run()

    def estimate() -> str:
        return next(m.value for m in at.markdown if "probes, about" in m.value)

    first = estimate()  # no history on this test CPU: the stated rule, called an estimate
    assert first.startswith("**6 probes, about 2 min**") and "estimated" in first
    at.slider[0].set_value(30.0).run()
    assert estimate().startswith("**6 probes, about 5 min**")
    assert plan == []  # nothing started


@pytest.mark.parametrize("what, mode", [("inference", "infer"), ("time to target", "converge")])
def test_an_inference_or_time_to_target_plan_is_made_of_such_specs(plan, what, mode):
    at = AppTest.from_file(APP, default_timeout=90)
    at.run()
    at.switch_page("views/run.py").run()
    at.session_state["run_mode"] = what
    at.run()
    if what == "inference":
        next(m for m in at.multiselect if m.label == "Batch sizes").set_value([1, 8, 64]).run()
    next(b for b in at.button if b.label == "Start").click().run()
    assert not at.exception, [e.value for e in at.exception]
    (specs,) = plan
    assert specs and {s["mode"] for s in specs} == {mode}
    if mode == "infer":
        assert {s["batch_size"] for s in specs} == {1, 8, 64} and len(specs) % 3 == 0
    else:
        assert {s["target_loss"] for s in specs} == {0.05} and {s["seconds"] for s in specs} == {60.0}
