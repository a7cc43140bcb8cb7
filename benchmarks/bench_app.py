"""The app in a real browser: cold start, warm landing, page switches, server memory.

Targets: cold start (fresh server process, the sample model loaded on the first visit) to
the rendered landing page <= 5 s (``bench_cold_start.py`` measures it over several
starts); a new session's landing page with the server warm <= 3 s; peak resident memory of
the server through a click-through of every page <= 700 MB.

"Rendered" means: the page's ``h1`` is visible, the script run is over, the status widget
is gone and no chart is still a loading skeleton. For the landing page it also means the
reliability chart (under the subheader "Gains and reliability on the holdout") is drawn.

Drives Debian's Chromium (``/usr/bin/chromium``) with Playwright through ``_browser.py``
(the harness shared with ``tests/test_browser.py``); the browser is started before the
server, so its own start-up is not in the cold-start time. Times are wall clock on a
possibly shared machine: the load average is reported next to them, and so is a reference
measured in the same run, alternating with the warm landings: a new session of an app
that only draws a title (Streamlit's own fixed cost on this machine, now).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from _browser import (
    PAGES,
    ROOT,
    SCRIPT_IDLE,
    SIDEBAR_LINK,
    STATUS_WIDGET,
    VIEWPORT,
    ServerNotReady,
    free_port,
    launch_chromium,
    start_server,
    status_mb,
    stop_server,
    tree_pids,
    wait_healthy,
    wait_rendered,
)
from _browser import wait_landing as wait_rendered_landing
from _common import emit
from playwright.sync_api import expect, sync_playwright

TIMEOUT_MS = 120_000
WARM_REPEATS = 5
EMPTY_APP = 'import streamlit as st\n\nst.title("Empty page")\n'


def wait_landing(page, start: float) -> dict[str, float]:
    """Wait for the rendered landing page; seconds from ``start`` to each stage on the way."""
    return wait_rendered_landing(page, start, TIMEOUT_MS)


def switch(page, link: str, title: str) -> float:
    start = time.perf_counter()
    page.locator(SIDEBAR_LINK, has_text=link).click()
    wait_rendered(page, title, TIMEOUT_MS)
    return time.perf_counter() - start


def move_threshold(page, before_keys=lambda: None) -> float:
    """Choose by probability, then move the cut-off five steps with the keyboard
    (``before_keys`` is called just before the first key press)."""
    page.locator('[data-testid="stRadioOption"]', has_text="Probability cut-off").click()
    slider = page.locator('[data-testid="stSlider"]').get_by_role("slider").first
    slider.wait_for(timeout=TIMEOUT_MS)
    wait_rendered(page, "Decide", TIMEOUT_MS)
    value = page.locator('[data-testid="stMetric"]', has_text="Contacted").first
    value = value.locator('[data-testid="stMetricValue"]')
    before = value.inner_text()
    slider.focus()
    before_keys()
    start = time.perf_counter()
    for _ in range(5):
        page.keyboard.press("ArrowRight")
    expect(value).not_to_have_text(before, timeout=TIMEOUT_MS)
    wait_rendered(page, "Decide", TIMEOUT_MS)
    return time.perf_counter() - start


def single_steps(page, run_log: Path, steps: int = 5) -> list[tuple[float, list[float]]]:
    """Move the (focused) cut-off one step at a time, each time waiting for the page.

    One step's server run then has the machine to itself (the browser is idle until the
    answer comes). Returns, per step, the seconds to the rendered page and the logged
    seconds of the server's run(s).
    """
    slider = page.locator('[data-testid="stSlider"]').get_by_role("slider").first
    slider.focus()
    found = []
    for _ in range(steps):
        seen = len(script_runs(run_log))
        start = time.perf_counter()
        page.keyboard.press("ArrowRight")
        while len(script_runs(run_log)) == seen:
            if time.perf_counter() - start > TIMEOUT_MS / 1000:
                raise TimeoutError("the cut-off step started no script run")
            time.sleep(0.01)
        wait_rendered(page, "Decide", TIMEOUT_MS)
        found.append((time.perf_counter() - start, script_runs(run_log)[seen:]))
    return found


def script_runs(run_log: Path) -> list[tuple[float, float]]:
    """(wall, CPU) seconds of each script run the server has logged so far (oldest first)."""
    if not run_log.exists():
        return []
    lines = run_log.read_text().splitlines()
    return [(float(w), float(c)) for w, c in (line.split() for line in lines)]


def median(values: list[float]) -> float | None:
    return sorted(values)[len(values) // 2] if values else None


def wait_empty(page, start: float) -> float:
    page.locator("h1", has_text="Empty page").wait_for(timeout=TIMEOUT_MS)
    page.wait_for_selector(SCRIPT_IDLE, timeout=TIMEOUT_MS)
    page.wait_for_selector(STATUS_WIDGET, state="detached", timeout=TIMEOUT_MS)
    return time.perf_counter() - start


def main() -> None:
    port = free_port()
    url = f"http://localhost:{port}"
    load_before = os.getloadavg()[0]
    empty_dir = tempfile.TemporaryDirectory()
    (Path(empty_dir.name) / "empty.py").write_text(EMPTY_APP)
    (Path(empty_dir.name) / ".streamlit").mkdir()  # the same settings (theme, toolbar) as the app
    shutil.copy(ROOT / ".streamlit" / "config.toml", Path(empty_dir.name) / ".streamlit")
    empty_port = free_port()
    empty_url = f"http://localhost:{empty_port}"
    with tempfile.TemporaryFile("w+") as log, sync_playwright() as p, empty_dir:
        browser = launch_chromium(p)
        start = time.perf_counter()
        run_log = Path(empty_dir.name) / "script-runs.log"
        server = start_server("app.py", ROOT, port, log, run_log)
        empty_server = None
        try:
            try:
                wait_healthy(server, url, 120)
            except ServerNotReady:
                log.seek(0)
                sys.exit(f"streamlit did not start:\n{log.read()[-3000:]}")
            health_s = time.perf_counter() - start

            context = browser.new_context(viewport=VIEWPORT)
            page = context.new_page()
            page.goto(url)
            cold = wait_landing(page, start)
            context.close()

            empty_server = start_server("empty.py", Path(empty_dir.name), empty_port, log)
            try:
                wait_healthy(empty_server, empty_url, 120)
            except ServerNotReady:
                log.seek(0)
                sys.exit(f"the reference app did not start:\n{log.read()[-3000:]}")

            # Warm server, new Streamlit session. "Returning": a new tab of a browser that has
            # the app's scripts cached; "first visit": a new browser profile, empty cache.
            warm, empty_cache = [], []
            runs_before_landings = len(script_runs(run_log))
            returning = browser.new_context(viewport=VIEWPORT)
            filler = returning.new_page()  # fills the browser cache (not timed)
            filler.goto(url)
            wait_landing(filler, time.perf_counter())
            filler.goto(empty_url)
            wait_empty(filler, time.perf_counter())
            filler.close()
            empty_app, empty_app_empty_cache = [], []
            # alternating: the reference app, then the app, each in both browser states
            visits = (
                (empty_url, wait_empty, empty_app, empty_app_empty_cache),
                (url, wait_landing, warm, empty_cache),
            )
            for _ in range(WARM_REPEATS):
                for target, wait, returning_runs, new_profile_runs in visits:
                    for runs, returning_user in ((returning_runs, True), (new_profile_runs, False)):
                        context = returning
                        if not returning_user:
                            context = browser.new_context(viewport=VIEWPORT)
                        page = context.new_page()
                        t = time.perf_counter()
                        page.goto(target)
                        runs.append(wait(page, t))
                        page.close()
                        if not returning_user:
                            context.close()
            returning.close()
            landing_runs = script_runs(run_log)[runs_before_landings:]
            stop_server(empty_server)
            empty_cache.sort(key=lambda stages: stages["rendered"])
            warm.sort(key=lambda stages: stages["rendered"])

            context = browser.new_context(viewport=VIEWPORT)
            page = context.new_page()
            page.goto(url)
            wait_landing(page, time.perf_counter())
            first_visit, repeat_visit = {}, {}
            mark: list[int] = []

            def before_keys() -> None:
                mark.append(len(script_runs(run_log)))

            threshold_s = None
            for link, title, _ in PAGES[1:]:
                first_visit[link] = switch(page, link, title)
                if link == "Decide":
                    threshold_s = move_threshold(page, before_keys)
                    threshold_runs = script_runs(run_log)[mark[0] :]
                    steps = single_steps(page, run_log)
            for link, title, _ in [*PAGES[1:], PAGES[0]]:
                repeat_visit[link] = switch(page, link, title)
            context.close()

            pids = tree_pids(server.pid)
            hwm = {pid: status_mb(pid, "VmHWM") for pid in pids}
            rss = {pid: status_mb(pid, "VmRSS") for pid in pids}
        finally:
            stop_server(server)
            if empty_server is not None:
                stop_server(empty_server)
            browser.close()

    r = lambda x: round(x, 2)  # noqa: E731
    emit(
        "app_in_browser",
        {
            "cold_start_to_rendered_landing_s": r(cold["rendered"]),
            "cold_start_stages_s": {"server_health_ok": r(health_s)}
            | {k: r(v) for k, v in cold.items()},
            "cold_target_s": 5,
            "warm_landing_new_session_s": r(warm[len(warm) // 2]["rendered"]),
            "warm_landing_median_stages_s": {k: r(v) for k, v in warm[len(warm) // 2].items()},
            "warm_landing_runs_s": [r(x["rendered"]) for x in warm],
            "warm_landing_empty_browser_cache_s": r(empty_cache[len(empty_cache) // 2]["rendered"]),
            "warm_landing_empty_browser_cache_median_stages_s": {
                k: r(v) for k, v in empty_cache[len(empty_cache) // 2].items()
            },
            "warm_target_s": 3,
            "reference_empty_app_landing_s": r(sorted(empty_app)[len(empty_app) // 2]),
            "reference_empty_app_runs_s": [r(x) for x in sorted(empty_app)],
            "reference_empty_app_empty_browser_cache_s": r(
                sorted(empty_app_empty_cache)[len(empty_app_empty_cache) // 2]
            ),
            "page_switch_first_visit_s": {k: r(v) for k, v in first_visit.items()},
            "page_switch_warm_s": {k: r(v) for k, v in repeat_visit.items()},
            "decide_threshold_move_to_rendered_s": r(threshold_s),
            "server_script_run_landing_median_s": {
                "wall": median([w for w, _ in landing_runs]),
                "cpu": median([c for _, c in landing_runs]),
            },
            "server_script_runs_threshold_sweep_s": {
                "wall": [w for w, _ in threshold_runs],
                "cpu": [c for _, c in threshold_runs],
            },
            "decide_single_step_to_rendered_s": [r(t) for t, _ in steps],
            "server_script_run_single_step_s": {
                "wall": [round(sum(w for w, _ in runs), 4) for _, runs in steps],
                "cpu": [round(sum(c for _, c in runs), 4) for _, runs in steps],
            },
            "server_peak_rss_mb": round(hwm[server.pid], 1),
            "server_processes": len(pids),
            "server_tree_peak_rss_sum_mb": round(sum(hwm.values()), 1),
            "server_rss_after_click_through_mb": round(sum(rss.values()), 1),
            "memory_target_mb": 700,
            "load_average_1min_before_after": [r(load_before), r(os.getloadavg()[0])],
        },
    )


if __name__ == "__main__":
    main()
