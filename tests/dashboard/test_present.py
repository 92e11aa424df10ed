"""Present under AppTest: the workload and precision picked on the slide, kept in the URL; each slide's
takeaway computed from its data; a link the page cannot honour says so."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import state
from tests.dashboard.helpers import as_shown

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")


@pytest.fixture(autouse=True)
def store_url(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'present.db'}"
    monkeypatch.setenv("ACCELSCOPE_DB", url)
    return url


def present(**params: str) -> AppTest:
    """Present opened from a link with ``params`` (the bundled sample results: a CPU, ResNet-50 among them)."""
    at = AppTest.from_file(APP, default_timeout=90)
    at.query_params.update(params)
    at.run()
    at.switch_page("views/present.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def takeaway(at: AppTest) -> str:
    """The slide's sentence: the first Markdown of the main area (the heading is a title, pickers are widgets)."""
    return as_shown(at.main.markdown[0].value)


def picker(at: AppTest, label: str):
    (found,) = [box for box in at.selectbox if box.label == label]
    return found


def test_the_workload_and_precision_are_picked_on_the_slide_and_kept_in_the_url():
    at = present(slide="1", hw_workload="cnn/resnet50", hw_precision="bf16")
    assert at.title[0].value == "How much faster than a CPU?"
    assert picker(at, "Workload").value == "cnn/resnet50"
    assert picker(at, "Precision on the accelerators").value == "bf16"
    sentence = takeaway(at)
    assert sentence.startswith("The ") and " trains cnn/resnet50 in bf16 " in sentence
    assert "faster (measured)" in sentence  # the H200 bundle (bench/gpu.sh, 2026-11-27)
    assert "samples/s (measured) on the AMD EPYC" in sentence

    picker(at, "Workload").set_value("cnn/M").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.query_params[state.HARDWARE_CONFIG] in ("cnn/M", ["cnn/M"])
    assert "cnn/M" in takeaway(at)

    [b for b in at.button if b.label.startswith("◀")][0].click().run()
    assert at.title[0].value == "How fast does it train?"
    assert at.query_params[state.SLIDE] in ("0", ["0"])
    assert [box.label for box in at.selectbox if box.label != "Price sheet" and "Grid" not in box.label] == [
        "Workload"], "the speed slide is about the measured results: no precision on the accelerators to pick"
    sentence = takeaway(at)
    assert sentence.startswith("On cnn/M, the ") and "samples/s (measured)" in sentence
    shown = " ".join(as_shown(m.value) for m in at.markdown) + " ".join(c.value for c in at.caption)
    assert "URL holds" not in shown and "Slide 1 of 10" in shown


def test_a_workload_without_a_cpu_measurement_says_what_is_missing_and_a_bad_slide_falls_back():
    at = present(slide="99", hw_workload="zoo/gpt2-small")  # measured on the H200 only
    assert at.title[0].value == "How long to reach a target loss?"  # the last slide
    warnings = [as_shown(w.value) for w in at.warning if w.icon == ":material/link_off:"]
    assert any("slide '99'" in w for w in warnings), warnings
    at.session_state[state.SLIDE] = 1
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert takeaway(at).startswith("No CPU was measured on zoo/gpt2-small, so there is nothing to compare")


def test_the_job_size_is_kept_in_the_link_and_a_zero_one_falls_back():
    at = present(slide="2", hw_workload="cnn/resnet50", job_samples="5000000")
    (job,) = [n for n in at.number_input if n.label == "Job: samples to train on"]
    assert job.value == 5_000_000 and at.query_params[state.JOB_SAMPLES] in ("5000000", ["5000000"])
    at = present(slide="2", job_samples="0")
    (job,) = [n for n in at.number_input if n.label == "Job: samples to train on"]
    assert job.value == state.DEFAULTS[state.JOB_SAMPLES]  # named in the link's notice (test_link_fallbacks)


def test_the_serving_and_time_to_target_slides_say_what_the_h200_results_support():
    at = present(slide="7")
    assert at.title[0].value == "How fast does it answer?"
    assert picker(at, "Workload served").value == "cnn/resnet50"
    assert "answers a request in 7.29 ms p99 (measured)" in takeaway(at)
    at = present(slide="8", p99_ms="50", rps="5000")
    sentence = takeaway(at)
    assert sentence.startswith("Serving cnn/resnet50 at p99 ≤ 50 ms at 5,000 requests/s can cost $")
    assert "(published: an MLPerf Inference int8 Server figure" in sentence
    assert "the cheapest measured here is $" in sentence and "(measured) on 27 ×" in sentence
    at = present(slide="9")
    assert takeaway(at).startswith("The H200 [cuda:0] trains cnn/S to loss 0.05 in 0.918 s (measured) in fp32")
