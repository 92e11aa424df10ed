"""Dashboard latency in a real headless Chromium against `streamlit run`, and store timings.

Cold start: from launching `streamlit run` to the first plotly chart visible, for the dashboard and
for a trivial one-chart app started the same way. Filter change: from selecting a workload in the
sidebar filter to the re-rendered chart, with N stored results (synthetic copies of the bundled
sample results on 7 hosts, in a temporary store: load data, never shipped), in rounds interleaved
with the same measurement on a trivial one-filter, one-chart app (the floor of Streamlit and the
browser on this machine).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from bench.common import header, table
from core.measure.stats import percentile

REPO = Path(__file__).resolve().parent.parent
TRIVIAL_APP = '''
import plotly.graph_objects as go
import streamlit as st
st.title("Trivial")
st.plotly_chart(go.Figure(go.Bar(x=["a", "b"], y=[1, 2])))
'''
TRIVIAL_FILTER_APP = '''
import plotly.graph_objects as go
import streamlit as st
chosen = st.sidebar.multiselect("Workload", ["cnn", "mlp", "transformer"])
labels = [f"{w}/{s}" for w in (chosen or ["cnn", "mlp", "transformer"]) for s in ("S", "M")]
st.plotly_chart(go.Figure(go.Bar(y=labels, x=list(range(1, len(labels) + 1)), orientation="h")))
'''
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(app: Path, env: dict) -> tuple[subprocess.Popen, int]:
    port = _free_port()
    process = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(app), "--server.port", str(port),
                                "--server.address", "127.0.0.1", "--server.headless", "true",
                                "--browser.gatherUsageStats", "false"],
                               cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    return process, port


def _stop(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(process.pid, signal.SIGKILL)


def _wait_http(port: int, deadline: float) -> None:
    while time.perf_counter() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1)
            return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError("streamlit did not start")


def _browser(playwright):
    chromium = os.environ.get("BROWSER_PATH") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        raise SystemExit("the dashboard benchmark needs Chromium: apt-get install chromium")
    return playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)


@contextlib.contextmanager
def first_chart(app: Path, env: dict, playwright, start_timeout_s: float, chart_timeout_s: float):
    """Launch `streamlit run app`, open it in Chromium, wait for the first rendered plotly chart;
    yield (page, seconds from launch to that chart); stop everything afterwards."""
    start = time.perf_counter()
    process, port = _start(app, env)
    try:
        _wait_http(port, start + start_timeout_s)
        browser = _browser(playwright)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(f"http://127.0.0.1:{port}/")
            page.wait_for_selector(".js-plotly-plot .main-svg", timeout=chart_timeout_s * 1000)
            yield page, time.perf_counter() - start
        finally:
            browser.close()
    finally:
        _stop(process)


def cold_start(app: Path, env: dict, playwright) -> float:
    """Seconds from launching `streamlit run` to a rendered plotly chart in the browser."""
    with first_chart(app, env, playwright, start_timeout_s=120, chart_timeout_s=120) as (_, elapsed):
        return elapsed


def filter_change_ms(env: dict, playwright, repeats: int = 5,
                     app: Path = REPO / "dashboard" / "app.py") -> tuple[float, list[float]]:
    """(seconds from launch to the first chart, filter-change times in ms) for an app on env's store."""
    with first_chart(app, env, playwright, start_timeout_s=300, chart_timeout_s=600) as (page, first_load):
        _settle(page)
        times = []
        for i in range(repeats * 2):
            choose = i % 2 == 0  # select "mlp", then clear it again
            if choose:  # open the dropdown first: the timed part is the choice and the re-render
                page.locator('[data-testid="stSidebar"] [data-testid="stMultiSelect"]').first.click()
                option = page.get_by_role("option", name="mlp", exact=True)
                option.wait_for()
            t0 = time.perf_counter()
            if choose:
                option.click()
                page.wait_for_function("() => { const e = document.querySelector('.js-plotly-plot');"
                                       " return e && e.textContent.includes('mlp/S') && !e.textContent.includes('cnn/S'); }",
                                       timeout=60_000)
            else:
                page.locator('[data-testid="stSidebar"] [data-testid="stMultiSelect"]').first \
                    .get_by_role("button", name="Clear all").click()
                page.wait_for_function("() => { const e = document.querySelector('.js-plotly-plot');"
                                       " return e && e.textContent.includes('cnn/S'); }", timeout=60_000)
            times.append((time.perf_counter() - t0) * 1000)
            page.keyboard.press("Escape")
            _settle(page)
        return first_load, times


def _settle(page) -> None:
    try:
        page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=30_000)
    except Exception:
        pass
    time.sleep(0.3)


def fill_store(url: str, count: int) -> tuple[float, float]:
    """Insert ``count`` synthetic copies of the sample results; return (insert s, summaries query s)."""
    from core.facts.bundle import read_bundle
    from core.facts.results import new_id
    from core.facts.store import Store

    base = read_bundle(next((REPO / "data" / "samples").glob("*.json")))
    store = Store(url)
    start = time.perf_counter()
    batch = []
    for i in range(count):
        r = base[i % len(base)]
        batch.append(dataclasses.replace(r, id=new_id(), run_id=f"load-{i // 100}",
                                         env={**r.env, "host": f"load-host-{i % 7}"}))
        if len(batch) == 10_000:
            store.add_many(batch)
            batch = []
    if batch:
        store.add_many(batch)
    insert_s = time.perf_counter() - start
    start = time.perf_counter()
    store.summaries()
    query_s = time.perf_counter() - start
    store.close()
    return insert_s, query_s


def run(sizes=(10_000, 100_000), rounds: int = 3) -> None:
    from playwright.sync_api import sync_playwright

    header("Dashboard latency: headless Chromium against `streamlit run`")
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        tmp = Path(tmp)
        trivial = tmp / "trivial_app.py"
        trivial.write_text(TRIVIAL_APP)
        env = dict(os.environ, ACCELSCOPE_DB=f"sqlite:///{tmp / 'empty.db'}", PYTHONPATH=str(REPO))
        trivial_s, dashboard_s = [], []
        for _ in range(3):  # interleaved
            trivial_s.append(cold_start(trivial, env, playwright))
            dashboard_s.append(cold_start(REPO / "dashboard" / "app.py", env, playwright))
        ratio = statistics.median(dashboard_s) / statistics.median(trivial_s)
        table([{"app": "trivial one-chart app", "cold start to first chart (s, median of 3)": statistics.median(trivial_s)},
               {"app": "Accelscope dashboard (bundled samples)", "cold start to first chart (s, median of 3)":
                statistics.median(dashboard_s)}])
        print(f"dashboard ÷ trivial: {ratio:.2f} (target ≤ 1.5: {'met' if ratio <= 1.5 else 'NOT met'})\n")
        trivial_filter = tmp / "trivial_filter_app.py"
        trivial_filter.write_text(TRIVIAL_FILTER_APP)
        rows = []
        for count in sizes:
            url = f"sqlite:///{tmp / f'load-{count}.db'}"
            insert_s, query_s = fill_store(url, count)
            floor, times, first_loads = [], [], []
            for _ in range(rounds):  # interleaved with the floor: the VM's speed drifts over minutes
                floor += filter_change_ms(env, playwright, app=trivial_filter)[1]
                first_load_s, app_times = filter_change_ms(dict(env, ACCELSCOPE_DB=url), playwright)
                times += app_times
                first_loads.append(first_load_s)
            rows.append({"stored results": count, "insert s": insert_s, "summaries query s": query_s,
                         "start to first chart s": statistics.median(first_loads),
                         "floor ms (median)": statistics.median(floor),
                         "filter change ms (median)": statistics.median(times),
                         "p90 ms": percentile(times, 90), "changes": len(times),
                         "≤300 ms": "met" if statistics.median(times) <= 300 else "NOT met"})
        table(rows)
