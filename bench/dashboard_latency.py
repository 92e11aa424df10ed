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


def fill_store(url: str, count: int, batch: int = 20_000) -> tuple[float, float]:
    """Insert ``count`` synthetic copies of the sample results through the store's bulk path (each copy
    a new id, run and host, in batches of ``batch``, one transaction each); return (insert s, s to
    summarise the written hosts, as `python -m core import` does at its end). A copy's rows are the
    sample's rows with the id, run id and host replaced, in the payload too (a copy reads back as a
    result with its own id): no per-copy flat row or JSON encoding."""
    from core.facts.bundle import read_bundle
    from core.facts.store import ROW_COLUMNS, Store

    base = read_bundle(sorted((REPO / "data" / "samples").glob("*.json"))[0])  # the 2-vCPU CPU's 16 results
    store = Store(url)
    templates = [store.rows_of(r) for r in base]
    column = {name: index for index, name in enumerate(ROW_COLUMNS)}
    start = time.perf_counter()
    for first in range(0, count, batch):
        rows = []
        for i in range(first, min(first + batch, count)):
            ((_, payload), typed), original = templates[i % len(templates)], base[i % len(templates)]
            new_id, run_id, host = f"{i:032x}", f"load-{i // 100}", f"load-host-{i % 7}"
            payload = payload.replace(original.id, new_id, 1).replace(f'"run_id":"{original.run_id}"',
                                                                      f'"run_id":"{run_id}"', 1)
            payload = payload.replace(f'"host":"{typed[column["host"]]}"', f'"host":"{host}"', 1)
            typed = list(typed)
            typed[column["id"]], typed[column["run_id"]], typed[column["host"]] = new_id, run_id, host
            rows.append(((new_id, payload), tuple(typed)))
        with store.bulk_writer() as write:
            write(rows)
    insert_s = time.perf_counter() - start
    start = time.perf_counter()
    store.host_summaries()  # what `python -m core import` does at its end: the written hosts summarised
    summarise_s = time.perf_counter() - start
    store.close()
    return insert_s, summarise_s


class PeakRss:
    """The peak resident memory of a process and its children (psutil, sampled every 0.1 s in a thread)."""

    def __init__(self, pid: int) -> None:
        import threading

        self.pid, self.peak_bytes, self._stop = pid, 0, threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        import psutil

        try:
            process = psutil.Process(self.pid)
        except psutil.Error:
            return
        while not self._stop.is_set():
            try:
                rss = sum(p.memory_info().rss for p in [process, *process.children(recursive=True)])
            except psutil.Error:
                break
            self.peak_bytes = max(self.peak_bytes, rss)
            time.sleep(0.1)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak_bytes


def measure_app(app: Path, env: dict, playwright, filter_changes: bool, repeats: int = 5) -> dict:
    """One launch of ``app``: seconds from `streamlit run` to the first chart, the filter-change times (ms)
    and the server's peak RSS (MB) over the whole launch."""
    start = time.perf_counter()
    process, port = _start(app, env)
    memory = PeakRss(process.pid)
    try:
        _wait_http(port, start + 300)
        browser = _browser(playwright)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(f"http://127.0.0.1:{port}/")
            page.wait_for_selector(".js-plotly-plot .main-svg", timeout=600_000)
            first_chart_s = time.perf_counter() - start
            times = _filter_changes(page, repeats) if filter_changes else []
        finally:
            browser.close()
    finally:
        peak = memory.stop()
        _stop(process)
    return {"first_chart_s": round(first_chart_s, 3), "filter_change_ms": [round(t, 1) for t in times],
            "peak_rss_mb": round(peak / 1e6, 1)}


CHARTS_TEXT = "() => Array.from(document.querySelectorAll('.js-plotly-plot')).map(e => e.textContent).join('|')"


def _filter_changes(page, repeats: int) -> list[float]:
    """In the first sidebar filter, choose "mlp" alone, then "cnn" alone, ``repeats`` times each (the
    previous choice is cleared first, untimed): ms from the click on the option to the charts' text
    changing, whatever the page shows (the dashboard keeps its focus workload when a filter is cleared)."""
    _settle(page)
    times = []
    for i in range(repeats * 2):
        box = page.locator('[data-testid="stSidebar"] [data-testid="stMultiSelect"]').first
        clear = box.get_by_role("button", name="Clear all")
        if clear.count():
            clear.click()
            _settle(page)
        box.click()  # open the dropdown first: the timed part is the choice and the re-render
        option = page.get_by_role("option", name="mlp" if i % 2 == 0 else "cnn", exact=True)
        option.wait_for()
        before = page.evaluate(CHARTS_TEXT)
        t0 = time.perf_counter()
        option.click()
        page.wait_for_function(f"(before) => ({CHARTS_TEXT})() !== before", arg=before, polling=20, timeout=120_000)
        times.append((time.perf_counter() - t0) * 1000)
        page.keyboard.press("Escape")
        _settle(page)
    return times


def _holds(url: str, count: int) -> bool:
    from core.facts.store import Store

    with Store(url) as store:
        return store.count() == count


def run_json(sizes=(1_000_000,), rounds: int = 1, db: str | None = None, keep: bool = False) -> dict:
    """``python -m bench dashboard --sizes N --json``: for each size, the trivial one-chart app (cold start,
    peak RSS), the trivial one-filter app (filter-change floor) and the dashboard on a store of N results
    (cold start to first chart, filter change, peak RSS), in ``rounds`` interleaved rounds. ``db``: a
    PostgreSQL URL of an empty throwaway database to fill instead of a temporary SQLite file (emptied
    afterwards unless ``keep``; one that already holds N results is measured as it is, not filled)."""
    import json

    from playwright.sync_api import sync_playwright

    report = {"sizes": [], "goals": {"first_chart_ratio_max": 1.5, "filter_change_ms_max": 1000,
                                     "peak_rss_mb_max": 1000}}
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        tmp = Path(tmp)
        trivial, trivial_filter = tmp / "trivial_app.py", tmp / "trivial_filter_app.py"
        trivial.write_text(TRIVIAL_APP)
        trivial_filter.write_text(TRIVIAL_FILTER_APP)
        base_env = dict(os.environ, PYTHONPATH=str(REPO), ACCELSCOPE_DB=f"sqlite:///{tmp / 'empty.db'}")
        for count in sizes:
            url = db or f"sqlite:///{tmp / f'load-{count}.db'}"
            reused = bool(db) and _holds(db, count)  # a database this benchmark filled and kept before
            insert_s, summarise_s = (None, None) if reused else fill_store(url, count)
            env = dict(base_env, ACCELSCOPE_DB=url)
            runs = {"trivial": [], "trivial_filter": [], "app": []}
            for _ in range(rounds):
                runs["trivial"].append(measure_app(trivial, base_env, playwright, filter_changes=False))
                runs["trivial_filter"].append(measure_app(trivial_filter, base_env, playwright, filter_changes=True))
                runs["app"].append(measure_app(REPO / "dashboard" / "app.py", env, playwright, filter_changes=True))
            trivial_s = statistics.median(r["first_chart_s"] for r in runs["trivial"])
            app_s = statistics.median(r["first_chart_s"] for r in runs["app"])
            changes = [t for r in runs["app"] for t in r["filter_change_ms"]]
            floor = [t for r in runs["trivial_filter"] for t in r["filter_change_ms"]]
            peak = max(r["peak_rss_mb"] for r in runs["app"])
            report["sizes"].append({
                "stored_results": count, "store": url.split(":", 1)[0] if db else "sqlite",
                "insert_s": insert_s and round(insert_s, 1), "summarise_s": summarise_s and round(summarise_s, 2),
                "reused": reused,
                "trivial": {"first_chart_s": trivial_s,
                            "peak_rss_mb": max(r["peak_rss_mb"] for r in runs["trivial"])},
                "trivial_filter": {"filter_change_ms_median": round(statistics.median(floor), 1)},
                "app": {"first_chart_s": app_s, "first_chart_ratio": round(app_s / trivial_s, 2),
                        "filter_change_ms_median": round(statistics.median(changes), 1),
                        "filter_change_ms_p90": round(percentile(changes, 90), 1), "changes": len(changes),
                        "peak_rss_mb": peak},
                "met": {"first_chart": app_s / trivial_s <= 1.5, "filter_change": statistics.median(changes) <= 1000,
                        "peak_memory": peak <= 1000},
                "runs": runs})
            if db and not keep:
                from core.facts.store import Store
                with Store(db) as store, store._engine.begin() as conn:  # leave the throwaway database empty
                    conn.exec_driver_sql("DELETE FROM host_summaries")
                    conn.exec_driver_sql("DELETE FROM result_rows")
                    conn.exec_driver_sql("DELETE FROM results")
    print(json.dumps(report, indent=1))
    return report


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
            insert_s, summarise_s = fill_store(url, count)
            floor, times, first_loads = [], [], []
            for _ in range(rounds):  # interleaved with the floor: the VM's speed drifts over minutes
                floor += filter_change_ms(env, playwright, app=trivial_filter)[1]
                first_load_s, app_times = filter_change_ms(dict(env, ACCELSCOPE_DB=url), playwright)
                times += app_times
                first_loads.append(first_load_s)
            rows.append({"stored results": count, "insert s": insert_s, "summarise s": summarise_s,
                         "start to first chart s": statistics.median(first_loads),
                         "floor ms (median)": statistics.median(floor),
                         "filter change ms (median)": statistics.median(times),
                         "p90 ms": percentile(times, 90), "changes": len(times),
                         "≤300 ms": "met" if statistics.median(times) <= 300 else "NOT met"})
        table(rows)
