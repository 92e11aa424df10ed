"""Fixtures for the browser tests: Debian's Chromium, a Streamlit server on a fresh store, pages.

The server runs ``streamlit run dashboard/app.py`` from the repository root, exactly as a person
would, on a free loopback port with a temporary SQLite store and lock folder, so a test run never
touches ``accelscope.db`` and never contends with a real probe run. Chromium is found on PATH or
through ``BROWSER_PATH`` and is never downloaded; without one, the browser tests are skipped.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO_ROOT / "artifacts" / "browser"
STARTUP_TIMEOUT_S = 60.0
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
VIEWPORT = {"width": 1400, "height": 900}


def find_chromium() -> str | None:
    """Debian's Chromium: ``$BROWSER_PATH`` if it names an executable, else ``chromium`` on PATH."""
    candidate = os.environ.get("BROWSER_PATH")
    if candidate:
        resolved = shutil.which(candidate) or (candidate if os.access(candidate, os.X_OK) else None)
        if resolved:
            return resolved
    return shutil.which("chromium")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _processes_mentioning(marker: str) -> list[int]:
    """Ids of processes whose command line holds ``marker`` (the test's unique temp folder)."""
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if marker in cmdline and int(entry.name) != os.getpid():
            found.append(int(entry.name))
    return found


def _stop_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        pass


@pytest.fixture(scope="module")
def chromium_path() -> str:
    path = find_chromium()
    if path is None:
        pytest.skip("no Chromium found (install Debian's `chromium`, or set BROWSER_PATH); browser tests skipped")
    return path


@contextlib.contextmanager
def dashboard_server(folder: Path, extra_args: tuple[str, ...] = ()) -> Iterator[str]:
    """Serve the dashboard on the store ``folder``/ui.db; yields its base URL, stops it (and any plan
    it started) on exit. ``extra_args`` go to ``streamlit run`` (e.g. ``--secrets.files``)."""
    port = _free_port()
    env = dict(os.environ,
               ACCELSCOPE_DB=f"sqlite:///{folder / 'ui.db'}",
               ACCELSCOPE_LOCK_DIR=str(folder / "locks"),
               PYTHONUNBUFFERED="1")
    log_path = folder / "streamlit.log"
    command = [sys.executable, "-m", "streamlit", "run", "dashboard/app.py", "--server.port", str(port),
               "--server.address", "127.0.0.1", "--server.headless", "true",
               "--browser.gatherUsageStats", "false",
               # Other people edit dashboard/ while tests run: no "source changed, rerun?" prompts.
               "--server.fileWatcherType", "none", "--server.runOnSave", "false", *extra_args]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not _healthy(f"{base}/_stcore/health"):
            if process.poll() is not None:
                pytest.fail(f"streamlit exited with code {process.returncode} before answering:\n"
                            f"{log_path.read_text(errors='replace')[-3000:]}")
            if time.monotonic() > deadline:
                pytest.fail(f"streamlit did not answer {base}/_stcore/health within {STARTUP_TIMEOUT_S:.0f} s:\n"
                            f"{log_path.read_text(errors='replace')[-3000:]}")
            time.sleep(0.25)  # polling the server, not waiting for time to pass
        yield base
    finally:
        _stop_group(process.pid)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)
        # A probe plan started from the Run page runs in its own session (it outlives a rerun by
        # design); end the ones this server started: they name this test's temp store.
        for pid in _processes_mentioning(str(folder)):
            try:
                if os.getpgid(pid) == pid:
                    os.killpg(pid, signal.SIGTERM)
                else:
                    os.kill(pid, signal.SIGTERM)
            except (ProcessLookupError, PermissionError):
                pass


@pytest.fixture(scope="module")
def app_url(tmp_path_factory, chromium_path) -> str:
    """Base URL of a Streamlit server running the dashboard on a fresh, empty store."""
    with dashboard_server(tmp_path_factory.mktemp("accelscope-ui")) as base:
        yield base


@pytest.fixture(scope="module")
def browser(chromium_path):
    sync_api = pytest.importorskip("playwright.sync_api", reason="the `playwright` package is not installed")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@contextlib.contextmanager
def browser_page(browser, base_url: str, viewport: dict = VIEWPORT, **options) -> Iterator:
    """A page in a fresh browser context (its own Streamlit session); ``page.js_errors`` collects
    uncaught JavaScript errors."""
    context = browser.new_context(viewport=viewport, base_url=base_url, **options)
    context.set_default_timeout(30_000)
    page = context.new_page()
    page.js_errors = []
    page.on("pageerror", lambda error: page.js_errors.append(str(error)))
    try:
        yield page
    finally:
        context.close()


@pytest.fixture
def page(browser, app_url):
    """A fresh page at the default viewport per test."""
    with browser_page(browser, app_url) as page:
        yield page


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
