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
#: The sidebar links the app's ``st.navigation`` draws (every page, in order).
NAV_TITLES = (
    "Can we rely on it?",
    "Decide",
    "Why?",
    "Customers",
    "Export",
    "Is it fair?",
    "Is it still working?",
    "Did it work?",
    "Use your own data",
)
LANDING_TITLE = PAGES[0][1]
RELIABILITY_CHART = (
    'xpath=//*[@data-testid="stElementContainer"]'
    '[.//h3[contains(., "Gains and reliability on the holdout")]]'
    '/following-sibling::*[.//*[@data-testid="stVegaLiteChart"]][1]'
    '//*[@data-testid="stVegaLiteChart"]//*[local-name()="svg" or local-name()="canvas"]'
)
#: Records, from the first byte of the page on, every list of sidebar links the page ever
#: shows (a MutationObserver: a sidebar that flashes for one frame is caught too).
SIDEBAR_RECORDER = r"""
(() => {
  window.__sidebarSeen = [];
  const read = () => {
    const links = Array.from(document.querySelectorAll('[data-testid="stSidebarNav"] a'));
    if (!links.length) return;
    // a link's text is its icon's name, then its label: keep the label (the last line)
    const label = (a) => a.innerText.trim().split("\n").pop().trim();
    const texts = JSON.stringify(links.map(label));
    if (!window.__sidebarSeen.includes(texts)) window.__sidebarSeen.push(texts);
  };
  new MutationObserver(read).observe(document, {childList: true, subtree: true,
                                                characterData: true});
})();
"""


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


def tree_pids(pid: int) -> list[int]:
    """``pid`` and all its descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        todo.extend(children.get(p, []))
    return found


def status_mb(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024.0
    return 0.0


def sidebar_lists(page) -> list[list[str]]:
    """Every distinct list of sidebar links the page has shown (needs ``SIDEBAR_RECORDER``
    added to the context with ``add_init_script``)."""
    import json

    return [json.loads(texts) for texts in page.evaluate("window.__sidebarSeen || []")]


def wait_landing(page, start: float, timeout_ms: int) -> dict[str, float]:
    """Wait for the rendered landing page, its reliability chart drawn; seconds from
    ``start`` (a ``time.perf_counter()``) to each stage on the way."""
    stages = {}
    main_h1(page, LANDING_TITLE).wait_for(timeout=timeout_ms)
    stages["title_visible"] = time.perf_counter() - start
    page.wait_for_selector(SCRIPT_IDLE, timeout=timeout_ms)
    stages["script_run_over"] = time.perf_counter() - start
    page.get_by_text("Gains and reliability on the holdout").wait_for(timeout=timeout_ms)
    page.locator(RELIABILITY_CHART).first.wait_for(timeout=timeout_ms)
    stages["reliability_chart_drawn"] = time.perf_counter() - start
    wait_rendered(page, LANDING_TITLE, timeout_ms)
    stages["rendered"] = time.perf_counter() - start
    return stages


def cpu_seconds(pid: int) -> float:
    """User and system CPU seconds of ``pid`` and its descendants so far."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for p in tree_pids(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def cold_start(
    browser,
    log: IO,
    timeout_ms: int = START_TIMEOUT_S * 1000,
    on_server=None,
    app_dir: Path = ROOT,
    script: str = "app.py",
) -> dict:
    """One cold start as a visitor meets it: ``streamlit run app.py`` in a fresh process,
    the landing page opened in a new browser profile as soon as the health check answers.

    Returns the seconds from starting the server to its health check and to each stage of
    the rendered landing page (:func:`wait_landing`), and the sidebars seen: ``while
    loading`` (every list of links shown before the page was rendered, recorded from the
    first byte on) and ``rendered`` (the links once it was, after a short settle).
    ``on_server`` is called with the server's process right after it is started;
    ``app_dir`` is the folder ``app.py`` is run from (another version, to compare). Also
    returns the server's CPU seconds up to the rendered page (what a quiet machine's wall
    time is mostly made of, less sensitive to other work on a shared one).
    """
    port = free_port()
    url = f"http://localhost:{port}"
    start = time.perf_counter()
    server = start_server(script, app_dir, port, log)
    if on_server is not None:
        on_server(server)
    try:
        wait_healthy(server, url, timeout_ms / 1000, poll_s=0.02)
        health_s = time.perf_counter() - start
        context = browser.new_context(viewport=VIEWPORT)
        context.add_init_script(SIDEBAR_RECORDER)
        try:
            page = context.new_page()
            page.goto(url, wait_until="commit")
            stages = wait_landing(page, start, timeout_ms)
            server_cpu = cpu_seconds(server.pid)
            while_loading = sidebar_lists(page)
            wait_settled(page, timeout_ms)
            rendered = page.locator(SIDEBAR_LINK).all_inner_texts()
            rss = sum(status_mb(pid, "VmRSS") for pid in tree_pids(server.pid))
            return {
                "server_health_ok_s": health_s,
                **{f"{k}_s": v for k, v in stages.items()},
                "sidebars_while_loading": while_loading,
                "sidebar_rendered": [t.strip().split("\n")[-1].strip() for t in rendered],
                "sidebars_seen": sidebar_lists(page),
                "server_rss_after_landing_mb": rss,
                "server_cpu_to_rendered_cpu_s": server_cpu,
            }
        finally:
            context.close()
    finally:
        stop_server(server)
