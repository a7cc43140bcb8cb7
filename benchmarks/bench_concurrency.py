"""Several visitors at once: 10 browser sessions clicking through every page together.

Targets (2 cores): no error anywhere, every page shown in every session, the server's
memory (resident memory of the ``streamlit`` process tree, sampled every 0.2 s) at most
1 GB; the slowest page view is stated. Uploads stay private under that load: two of the
sessions first upload a table of their own (``private-upload-A.csv``, 1,500 customers, and
``private-upload-B.csv``, 2,500) and train on it, then click through every page with their
model; the text of every page any other session shows is searched for those file names, and
each uploader's sidebar must name its own table on every page.

A fresh server (``streamlit run app.py``) is started; the sessions are new browser contexts
(separate cookies and storage: separate visitors) of one headless Chromium
(``/usr/bin/chromium``), opened together as soon as the health check answers, so the first
landing of each is a cold start shared by ten. "Shown" means the page's ``h1`` is visible,
the script run is over, the status widget is gone and no chart is a loading skeleton.
Times are wall clock on a possibly shared machine: the load average is printed with them.

Usage::

    python benchmarks/bench_concurrency.py [--sessions N] [--script serve.py]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import tempfile
import threading
import time

import pandas as pd
from _browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    MAIN_H1,
    NAV_TITLES,
    ROOT,
    SCRIPT_IDLE,
    SIDEBAR_LINK,
    SKELETON,
    STATUS_WIDGET,
    VIEWPORT,
    free_port,
    start_server,
    status_mb,
    stop_server,
    tree_pids,
    wait_healthy,
)
from _common import emit
from playwright.async_api import async_playwright

TIMEOUT_MS = 300_000
MEMORY_TARGET_MB = 1024
# (sidebar link, h1 title) of every page, in the sidebar's order
PAGES = [
    ("Can we rely on it?", "Can we rely on it?"),
    ("Decide", "Decide"),
    ("Why?", "Why does it say that?"),
    ("Customers", "Customers"),
    ("Export", "Export"),
    ("Is it fair?", "Is it fair?"),
    ("Is it still working?", "Is it still working?"),
    ("Did it work?", "Did it work?"),
    ("Use your own data", "Use your own data"),
]
# every page of the sidebar, so that a new page is not left out of the click-through
assert tuple(link for link, _ in PAGES) == NAV_TITLES, "PAGES must list every sidebar page"
UPLOADS = {0: ("private-upload-A.csv", 1500), 1: ("private-upload-B.csv", 2500)}
ERRORS = '[data-testid="stException"], [data-testid="stAlertContentError"]'


class MemorySampler(threading.Thread):
    """The resident memory of a process tree, sampled until stopped (MB)."""

    def __init__(self, pid: int, every_s: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.pid, self.every_s, self.peak_mb, self.samples = pid, every_s, 0.0, 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            total = 0.0
            for pid in tree_pids(self.pid):
                with contextlib.suppress(OSError):  # a process that just ended
                    total += status_mb(pid, "VmRSS")
            self.peak_mb = max(self.peak_mb, total)
            self.samples += 1
            self._stop_event.wait(self.every_s)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


async def shown(page, title: str) -> None:
    """The page titled ``title`` is shown and idle, twice in a row 0.3 s apart."""
    await page.locator(MAIN_H1, has_text=title).wait_for(timeout=TIMEOUT_MS)
    for _ in range(2):
        await page.wait_for_selector(SCRIPT_IDLE, timeout=TIMEOUT_MS)
        await page.wait_for_selector(STATUS_WIDGET, state="detached", timeout=TIMEOUT_MS)
        await page.wait_for_selector(SKELETON, state="detached", timeout=TIMEOUT_MS)
        await page.wait_for_timeout(300)


async def look(page, where: str, seen: dict) -> None:
    """Record the page's text and any error or exception box on it."""
    errors = page.locator(ERRORS)
    if await errors.count():
        seen["errors"].append(f"{where}: {(await errors.first.inner_text())[:300]}")
    seen["texts"].append((where, await page.locator("body").inner_text()))
    sidebar = await page.locator('[data-testid="stSidebarUserContent"]').inner_text()
    seen["sidebars"].append((where, sidebar))


async def upload_and_train(page, name: str, data: bytes, seen: dict) -> float:
    """On "Use your own data": upload ``data`` as ``name``, accept the suggested roles,
    train; seconds from the upload to the trained model's page."""
    await page.locator(SIDEBAR_LINK, has_text="Use your own data").click()
    await shown(page, "Use your own data")
    start = time.perf_counter()
    await page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(
        {"name": name, "mimeType": "text/csv", "buffer": data}
    )
    button = page.get_by_role("button", name="Train on this table")
    await button.wait_for(timeout=TIMEOUT_MS)
    await shown(page, "Use your own data")
    await button.click()
    await page.get_by_text("Model trained: holdout ROC-AUC").wait_for(timeout=TIMEOUT_MS)
    await shown(page, "Use your own data")
    await look(page, "after training", seen)
    return time.perf_counter() - start


async def visitor(browser, url: str, number: int, upload: tuple[str, bytes] | None) -> dict:
    """One visitor: the landing page, an upload (for some), then every page in turn."""
    seen: dict = {"errors": [], "texts": [], "sidebars": [], "views": {}, "number": number}
    context = await browser.new_context(viewport=VIEWPORT)
    try:
        page = await context.new_page()
        start = time.perf_counter()
        await page.goto(url)
        await shown(page, PAGES[0][1])
        seen["landing_s"] = time.perf_counter() - start
        await look(page, "landing", seen)
        if upload is not None:
            seen["upload"] = upload[0]
            seen["upload_and_train_s"] = await upload_and_train(page, *upload, seen)
        for link, title in [*PAGES[1:], PAGES[0]]:
            start = time.perf_counter()
            await page.locator(SIDEBAR_LINK, has_text=link).click()
            await shown(page, title)
            seen["views"][link] = time.perf_counter() - start
            await look(page, link, seen)
    except Exception as exc:  # reported, not raised: the other visitors go on
        seen["errors"].append(f"failed: {type(exc).__name__}: {str(exc)[:300]}")
    finally:
        await context.close()
    return seen


def upload_bytes(rows: int) -> bytes:
    frame = pd.read_csv(ROOT / "data" / "sample_customers.csv", dtype={"customer_id": str})
    return frame.head(rows).to_csv(index=False).encode()


async def run(url: str, sessions: int) -> list[dict]:
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            uploads = {
                i: (name, upload_bytes(rows)) for i, (name, rows) in UPLOADS.items() if i < sessions
            }
            return await asyncio.gather(
                *(visitor(browser, url, i, uploads.get(i)) for i in range(sessions))
            )
        finally:
            await browser.close()


def privacy(results: list[dict]) -> list[str]:
    """Where an upload showed outside its session, or its session lost it."""
    names = {r["upload"] for r in results if "upload" in r}
    leaks = []
    for r in results:
        for where, text in r["texts"]:
            for name in names - {r.get("upload")}:
                if name in text:
                    leaks.append(f"session {r['number']} ({where}) shows {name}")
        if "upload" in r:
            for where, sidebar in r["sidebars"]:
                if where != "landing" and r["upload"] not in sidebar:
                    leaks.append(f"session {r['number']} ({where}) lost its own upload")
    return leaks


def tracebacks(log: str, lines: int = 12) -> list[str]:
    """The last ``lines`` lines of each traceback in the server's log."""
    ends = []
    for part in log.split("Traceback (most recent call last):")[1:]:
        body = [line for line in part.splitlines() if line.strip()]
        stop = next(
            (i + 1 for i, line in enumerate(body) if not line.startswith((" ", "\t"))), len(body)
        )
        ends.append("\n".join(body[:stop][-lines:]))
    return ends


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=10, help="browser sessions (10)")
    parser.add_argument("--script", default="app.py", help="entry point: app.py or serve.py")
    args = parser.parse_args()
    load_before = os.getloadavg()
    port = free_port()
    url = f"http://localhost:{port}"
    with tempfile.TemporaryFile("w+") as log:
        start = time.perf_counter()
        server = start_server(args.script, ROOT, port, log)
        sampler = MemorySampler(server.pid)
        sampler.start()
        try:
            wait_healthy(server, url)
            results = asyncio.run(run(url, args.sessions))
            wall = time.perf_counter() - start
        except Exception:
            log.seek(0)
            print(log.read()[-3000:], file=sys.stderr)
            raise
        finally:
            sampler.stop()
            stop_server(server)
        log.seek(0)
        server_log = log.read()
    views = [(r["number"], link, s) for r in results for link, s in r["views"].items()]
    slowest = max(views, key=lambda v: v[2]) if views else None
    by_page = {link: sorted(s for _, name, s in views if name == link) for link, _ in PAGES}
    r2 = lambda x: round(x, 2)  # noqa: E731
    leaks = privacy(results)
    errors = [f"session {r['number']}: {e}" for r in results for e in r["errors"]]
    emit(
        "concurrency",
        {
            "sessions": args.sessions,
            "script": args.script,
            "uploading_sessions": sorted(r["number"] for r in results if "upload" in r),
            "errors": errors,
            "server_log_tracebacks": server_log.count("Traceback"),
            # the end of each (the exception and where it was raised), to look into
            "server_log_traceback_ends": tracebacks(server_log),
            "every_page_shown_in_every_session": all(
                len(r["views"]) == len(PAGES) for r in results
            ),
            "page_views": len(views),
            "slowest_page_view_s": r2(slowest[2]) if slowest else None,
            "slowest_page_view": f"session {slowest[0]}, {slowest[1]}" if slowest else None,
            "page_view_median_s": r2(sorted(s for *_, s in views)[len(views) // 2])
            if views
            else None,
            "page_view_s_by_page_min_median_max": {
                link: [r2(t[0]), r2(t[len(t) // 2]), r2(t[-1])] for link, t in by_page.items() if t
            },
            "landing_s_min_median_max": [
                r2(x)
                for x in (lambda t: (t[0], t[len(t) // 2], t[-1]) if t else ())(
                    sorted(r["landing_s"] for r in results if "landing_s" in r)
                )
            ],
            "upload_and_train_s": [
                r2(r["upload_and_train_s"]) for r in results if "upload_and_train_s" in r
            ],
            "uploads_private": not leaks,
            "privacy_problems": leaks[:10],
            "server_peak_rss_mb": r2(sampler.peak_mb),
            "memory_samples": sampler.samples,
            "memory_target_mb": MEMORY_TARGET_MB,
            "wall_s": r2(wall),
            "load_average_before": [r2(x) for x in load_before],
            "load_average_after": [r2(x) for x in os.getloadavg()],
        },
    )


if __name__ == "__main__":
    main()
