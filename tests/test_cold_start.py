"""The first visitor after a start: the app's own sidebar, never Streamlit's legacy one.

A folder named ``pages/`` next to ``app.py`` put Streamlit 1.x in its legacy multipage mode
until ``st.navigation`` first ran in the process: the first visitor after every start saw a
sidebar listing the files of that folder ("common", "overview", ...), whose links led to
"Page not found". The pages now live in ``app_pages/``. This starts the server
:data:`COLD_STARTS` times (``app.py`` and ``serve.py`` in turn) and opens the app in a new
browser profile as soon as the health check answers, recording every list of sidebar links
the page shows from its first byte (a MutationObserver) until it is rendered, and the links
once it is.

The cold starts run in a thread beside the other tests (see ``_beside.py``); they time
nothing (``benchmarks/bench_cold_start.py`` does).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import pytest
from _beside import ThreadJob
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from _browser import (  # noqa: E402  (the harness shared with the benchmarks)
    CHROMIUM,
    NAV_TITLES,
    cold_start,
    launch_chromium,
    stop_server,
)

pytestmark = pytest.mark.browser

COLD_STARTS = 4
#: Both entry points, alternately: ``app.py`` and the hosting one, ``serve.py``.
SCRIPTS = ("app.py", "serve.py")

_JOB: ThreadJob | None = None


def start_beside() -> ThreadJob:
    """Start the cold starts right after collection (``conftest.py``, ``_beside.py``)."""
    global _JOB
    if _JOB is None:
        _JOB = ThreadJob(_cold_starts, "cold starts")
    return _JOB


def _cold_starts(job: ThreadJob) -> list[dict] | str:
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing: install Debian's chromium (.ci/run does it)."
    runs = []
    with tempfile.TemporaryFile("w+") as log, sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            for number in range(COLD_STARTS):
                on_server = lambda server: job.on_stop(lambda: stop_server(server))  # noqa: E731
                script = SCRIPTS[number % len(SCRIPTS)]
                runs.append(
                    {
                        "script": script,
                        **cold_start(browser, log, on_server=on_server, script=script),
                    }
                )
        finally:
            browser.close()
    return runs


def test_every_cold_start_shows_only_the_apps_own_sidebar() -> None:
    runs = start_beside().result(timeout=900)
    if isinstance(runs, str):
        pytest.skip(runs)
    assert len(runs) == COLD_STARTS
    for number, run in enumerate(runs, start=1):
        where = f"cold start {number} ({run['script']})"
        wrong = [links for links in run["sidebars_while_loading"] if links != list(NAV_TITLES)]
        assert not wrong, f"{where}: a wrong sidebar while loading: {wrong}"
        assert run["sidebar_rendered"] == list(NAV_TITLES), (
            f"{where}: the rendered page's sidebar is {run['sidebar_rendered']}"
        )
        # the recorder saw the sidebar at all (a recorder that sees nothing proves nothing)
        assert run["sidebars_seen"] == [list(NAV_TITLES)]
