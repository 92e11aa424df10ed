"""Every page under streamlit's AppTest: runs cleanly, reacts to filters, rejects bad files."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.facts.store import Store
from tests.core.factories import make_result
from tests.dashboard.helpers import as_shown

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")
PAGES = ["explore", "model", "run", "hardware", "results", "present"]
# A two-layer GPT-2: the Your model page renders in full, from a quicker analysis subprocess.
SMALL_MODEL = {"model": "gpt2-small", "model_config": "n_layer=2,n_embd=128,n_head=2", "model_seq": 128,
               "model_batch": 2}


@pytest.fixture
def store_url(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'ui.db'}"
    monkeypatch.setenv("ACCELSCOPE_DB", url)
    return url


def open_page(page: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90)
    at.run()
    if page != "explore":
        at.switch_page(f"views/{page}.py").run()
    return at


def chart_specs(at: AppTest) -> list[dict]:
    return [json.loads(element.proto.spec) for element in at.get("plotly_chart")]


@pytest.mark.parametrize("page", PAGES)
def test_every_page_runs_without_an_exception(page, store_url):
    at = open_page(page)
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert at.title, "every page has a title"


@pytest.mark.parametrize("view", ["Speed", "Speed-up", "Precision gain", "Efficiency", "Cost", "Trade-off", "Carbon",
                                  "Plan a job"])
def test_every_explore_view_renders_from_the_bundled_samples(view, store_url):
    at = open_page("explore")
    assert any(m.label.startswith("Fastest") for m in at.metric)
    at.session_state["view"] = view
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    if view == "Plan a job":
        assert at.dataframe, "the job plan table"
    else:
        spec = chart_specs(at)[0]  # Cost adds your measured options' chart under the instances'
        assert spec["data"], f"{view} chart has data"
    assert at.query_params["view"] in (view, [view])


def test_cost_prices_every_instance_including_hardware_nobody_here_measured(store_url):
    """ResNet-50 on the aws sheet: A100, H100 and L4 instances priced from published or projected
    throughput, each bar labelled with where its figure came from; on the gcp sheet in bf16, TPUs."""
    at = open_page("explore")
    at.session_state["view"] = "Cost"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    spec = chart_specs(at)[0]
    names = {trace["name"] for trace in spec["data"]}
    assert {"published (source on hover)", "projected (interval as error bar)"} <= names
    options = {label for trace in spec["data"] for label in trace["y"]}
    assert any("p4d" in o for o in options) and any("p5." in o for o in options) and any("g6." in o for o in options)
    assert any(m.label == "On the measured CPU" for m in at.metric)  # the bundled CPU ResNet-50 sample
    at.session_state["sheet"] = "gcp"
    at.session_state["hw_precision"] = "bf16"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    accelerators = {label.split("× ", 1)[1] for trace in chart_specs(at)[0]["data"] if trace["type"] == "bar"
                    for label in trace["y"]}  # each bar's row: "instance · 4× TPU v4"
    assert {"TPU v4", "TPU v5p", "A100 40GB", "L4"} <= accelerators


def test_speed_up_compares_accelerators_with_the_measured_cpu(store_url):
    at = open_page("explore")
    at.session_state["view"] = "Speed-up"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    spec = chart_specs(at)[0]
    bars = {label: text for trace in spec["data"] for label, text in zip(trace["y"], trace.get("text") or [])}
    assert float(bars["H100 SXM"].rstrip("×").replace(",", "")) > 50  # × the bundled CPU's ResNet-50
    assert not any("EPYC" in label or "CPU" in label for label in bars)  # no CPU-vs-CPU bars
    assert "measured" in spec["layout"]["xaxis"]["title"]["text"]


def test_a_filter_change_changes_the_figures(store_url):
    """The filter narrows the workloads on offer; the chart shows the one picked (one workload at a time)."""
    at = open_page("explore")
    before = at.selectbox(key="focus").options
    at.multiselect(key="filter_workload").set_value(["mlp"]).run()
    assert not at.exception
    assert at.selectbox(key="focus").options == ["mlp/M", "mlp/S"] and len(before) > 2
    workloads = lambda: {label.split(" · ")[0] for trace in chart_specs(at)[0]["data"] for label in trace["y"]}  # noqa: E731
    assert workloads() == {"mlp/M"}
    at.selectbox(key="focus").set_value("mlp/S").run()
    assert workloads() == {"mlp/S"}
    assert at.query_params["workload"] in ("mlp", ["mlp"])  # the view is in the URL


def test_new_store_results_appear_without_a_restart(store_url):
    import re

    def shown(at) -> int:
        (count,) = [int(m.group(1).replace(",", "")) for c in at.caption if (m := re.match(r"([\d,]+) results", c.value))]
        return count

    at = open_page("explore")
    before = shown(at)
    Store(store_url).add(make_result(workload="gemm", size="S", samples_per_s=1e6, step_time_s=0.0005,
                                             step_time_p10_s=0.0005, step_times_s=(0.0005, 0.0005)))
    from dashboard import data

    data.store_stamp.clear()  # the app re-reads the store's stamp at most every 0.5 s
    at.run()
    assert shown(at) == before + 1


def test_a_bad_price_sheet_upload_shows_the_error_and_is_not_used(store_url):
    at = open_page("hardware")
    bad = b"provider,instance_type,region\naws,x,us-east-1\n"
    at.get("file_uploader")[0].set_value(("mine.csv", bad, "text/csv"))
    at.run()
    assert any("mine.csv: missing column(s)" in as_shown(e.value) for e in at.error)
    assert at.session_state["custom_sheets"] == {}


def test_a_good_price_sheet_upload_becomes_pickable(store_url):
    at = open_page("hardware")
    good = Path("data/price_sheets/lambda.csv").read_bytes()
    at.get("file_uploader")[0].set_value(("mine.csv", good, "text/csv"))
    at.run()
    assert "mine" in at.session_state["custom_sheets"]
    assert at.session_state["sheet"] == "mine"  # a valid upload becomes the sheet cost is priced on
    assert not at.error
    at.session_state["sheet"] = "gcp"  # a later choice is kept, though the uploader still holds the file
    at.run()
    assert at.session_state["sheet"] == "gcp" and not at.exception


def test_a_bad_import_leaves_the_store_unchanged(store_url):
    Store(store_url).add(make_result())
    at = open_page("results")
    bundle = {"format": "accelscope-results", "version": 1,
              "results": [make_result().to_dict(), {**make_result().to_dict(), "steps": "many"}]}
    at.get("file_uploader")[0].set_value(("bad.json", json.dumps(bundle).encode(), "application/json"))
    at.run()
    assert any("Nothing imported" in as_shown(e.value) and "record 2" in as_shown(e.value) for e in at.error)
    assert Store(store_url).count() == 1


def test_a_good_import_adds_everything(store_url):
    at = open_page("results")
    bundle = {"format": "accelscope-results", "version": 1, "results": [make_result().to_dict() for _ in range(3)]}
    at.get("file_uploader")[0].set_value(("good.json", json.dumps(bundle).encode(), "application/json"))
    at.run()
    assert any("Imported 3" in s.value for s in at.success)
    assert Store(store_url).count() == 3


def test_run_page_explains_itself_where_torch_is_missing(store_url, monkeypatch):
    monkeypatch.setattr("dashboard.data.torch_installed", lambda: False)
    at = open_page("run")
    assert any("Probes run where the hardware is" in i.value for i in at.info)


def test_present_steps_through_slides_and_keeps_the_slide_in_the_url(store_url):
    at = open_page("present")
    first = at.title[0].value
    next_button = [b for b in at.button if "Next" in b.label][0]
    next_button.click().run()
    assert at.title[0].value != first
    assert at.query_params["slide"] in ("1", ["1"])
    assert not at.exception


def test_the_dashboard_never_imports_torch(tmp_path):
    code = f"""
import sys, os
os.environ["ACCELSCOPE_DB"] = "sqlite:///{tmp_path / 'ui.db'}"
from streamlit.testing.v1 import AppTest
for page in {PAGES!r}:
    at = AppTest.from_file({APP!r}, default_timeout=90)
    if page == "model":
        for key, value in {SMALL_MODEL!r}.items():
            at.session_state[key] = value
    at.run()
    if page != "explore":
        at.switch_page(f"views/{{page}}.py").run()
    assert not at.exception, (page, [e.value for e in at.exception])
assert "torch" not in sys.modules, "the dashboard imported torch"
print("ok")
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                         cwd=Path(APP).parents[1])
    assert out.returncode == 0 and out.stdout.strip().endswith("ok"), out.stderr[-2000:]


def test_your_model_page_analyses_a_model_without_importing_torch_here(store_url):
    """A two-layer GPT-2 (fast): parameters, the memory breakdown chart and a row per accelerator;
    a bad override shows the analysis's own error, not a traceback."""
    at = AppTest.from_file(APP, default_timeout=240)
    for key, value in SMALL_MODEL.items():
        at.session_state[key] = value
    at.run()
    at.switch_page("views/model.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(m.label == "Parameters" for m in at.metric)
    (spec,) = chart_specs(at)
    assert {trace["name"].split(":")[0] for trace in spec["data"]} >= {"weights", "gradients", "optimizer state"}
    assert len(at.dataframe[0].value) > 20  # one row per catalog accelerator
    assert any(h.value == "Plan a training run" for h in at.subheader) and len(at.dataframe[1].value) > 5
    at.session_state["model_config"] = "n_lawyer=2"
    at.run()
    assert any("has no field 'n_lawyer'" in as_shown(e.value) for e in at.error)
