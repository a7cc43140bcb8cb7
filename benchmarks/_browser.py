"""The app in a real browser, for ``tests/test_browser.py`` and ``bench_app.py``.

Starts ``streamlit run`` on a free port (its own process group, stopped as a whole),
waits until the server answers, opens Debian's Chromium (``/usr/bin/chromium``) through
Playwright (no browser is downloaded) and waits until a page has settled.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1400, "height": 2400}
START_TIMEOUT_S = 120

# (sidebar link, h1 title, URL path) of the app's pages, in the sidebar's order
PAGES = [
    ("Can we rely on it?", "Can we rely on it?", "/"),
    ("Decide", "Decide", "/decide"),
    ("Why?", "Why does it say that?", "/why"),
    ("Customers", "Customers", "/customers"),
    ("Export", "Export", "/export"),
    ("Is it still working?", "Is it still working?", "/monitor"),
    ("Did it work?", "Did it work?", "/campaign"),
]

MAIN_H1 = '[data-testid="stMain"] h1'
SIDEBAR_LINK = '[data-testid="stSidebarNav"] a'
STATUS_WIDGET = '[data-testid="stStatusWidget"]'
SCRIPT_IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
SKELETON = '[data-testid="stSkeleton"]'


class ServerNotReady(RuntimeError):
    """The server exited or did not answer in time (the message says which)."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            return response.read().decode().strip() == "ok"
    except OSError:
        return False


def start_server(
    script: str, cwd: Path, port: int, log: IO, run_log: Path | None = None
) -> subprocess.Popen:
    """``streamlit run script`` (headless, no file watcher, no usage stats) on ``port``, its
    output to ``log``; with ``run_log``, each script run's seconds are logged there
    (``_timed_streamlit.py``)."""
    launcher = ["-m", "streamlit"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    if run_log is not None:
        launcher = [str(Path(__file__).with_name("_timed_streamlit.py"))]
        env["CHURN_BENCH_RUN_LOG"] = str(run_log)
    return subprocess.Popen(
        [
            sys.executable,
            *launcher,
            "run",
            script,
            "--server.headless",
            "true",
            "--server.port",
            str(port),
            "--browser.gatherUsageStats",
            "false",
            # Source edits while it runs must not put "source changed" in the status widget.
            "--server.fileWatcherType",
            "none",
        ],
        cwd=cwd,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, stopped as a whole
    )


def wait_healthy(
    server: subprocess.Popen, url: str, timeout_s: float = START_TIMEOUT_S, poll_s: float = 0.05
) -> None:
    """Return once ``url`` answers its health check; :class:`ServerNotReady` if the server
    exits first or ``timeout_s`` passes."""
    deadline = time.monotonic() + timeout_s
    while not healthy(url):
        if server.poll() is not None:
            raise ServerNotReady(f"streamlit exited with code {server.returncode}")
        if time.monotonic() > deadline:
            raise ServerNotReady(f"streamlit not healthy after {timeout_s} s")
        time.sleep(poll_s)


def stop_server(server: subprocess.Popen) -> None:
    """SIGTERM to the server's process group, SIGKILL if it is still there after 10 s."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)
        server.wait()


def launch_chromium(playwright):
    """Debian's headless Chromium, through a started ``sync_playwright()``."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


def main_h1(page, title: str):
    return page.locator(MAIN_H1, has_text=title)


def wait_idle(page, timeout_ms: int) -> None:
    """The script run is over, the status widget is gone and no chart is still loading."""
    page.wait_for_selector(SCRIPT_IDLE, timeout=timeout_ms)
    page.wait_for_selector(STATUS_WIDGET, state="detached", timeout=timeout_ms)
    page.wait_for_selector(SKELETON, state="detached", timeout=timeout_ms)


def wait_rendered(page, title: str, timeout_ms: int) -> None:
    """The page titled ``title`` is shown and idle (:func:`wait_idle`): what a user sees."""
    main_h1(page, title).wait_for(timeout=timeout_ms)
    wait_idle(page, timeout_ms)


def wait_settled(page, timeout_ms: int, pause_ms: int = 300) -> None:
    """Idle twice in a row, ``pause_ms`` apart: a rerun can follow right after an idle
    moment (a widget's debounced value, the URL sync), so a test sees the final page."""
    for _ in range(2):
        wait_idle(page, timeout_ms)
        page.wait_for_timeout(pause_ms)
