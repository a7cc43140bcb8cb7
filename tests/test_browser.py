"""The running app in a real browser: every page, the Decide slider, the policy download, a
shared link.

Starts ``streamlit run app.py`` on a free port and drives Debian's Chromium
(``/usr/bin/chromium``) with Playwright; no browser is downloaded (the harness,
``benchmarks/_browser.py``, is shared with ``bench_app.py``). Screenshots of every
page and the downloaded policy go to ``test-artifacts/`` (git-ignored), with the server's
log, so a failure can be looked at afterwards.

The browser session starts right after collection, in a thread, and runs beside the other
tests (it mostly waits on the server and the browser); the test reports its outcome.
"""

from __future__ import annotations

import contextlib
import json
import re
import sys
from pathlib import Path

import pytest
from _beside import ThreadJob
from playwright.sync_api import expect, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from _browser import (  # noqa: E402  (the harness shared with benchmarks/bench_app.py)
    CHROMIUM,
    PAGES,
    SIDEBAR_LINK,
    START_TIMEOUT_S,
    VIEWPORT,
    ServerNotReady,
    free_port,
    launch_chromium,
    main_h1,
    start_server,
    stop_server,
    wait_healthy,
    wait_settled,
)

pytestmark = pytest.mark.browser

ARTIFACTS = ROOT / "test-artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"
SERVER_LOG = ARTIFACTS / "streamlit-server.log"
RUN_TIMEOUT_MS = 60_000

EXCEPTION = '[data-testid="stException"]'
ERROR_ALERT = '[data-testid="stAlertContentError"]'
WARNING_ALERT = '[data-testid="stAlertContentWarning"]'


def _screenshot_name(number: int, path: str) -> str:
    """``1-overview``, ``2-decide``, ...: the page's place in the sidebar and its URL path."""
    return f"{number}-{path.strip('/') or 'overview'}"


def _log_tail(n: int = 40) -> str:
    try:
        return "\n".join(SERVER_LOG.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return "(no server log)"


_SESSION: ThreadJob | None = None


def start_beside() -> ThreadJob:
    """Start the browser session right after collection (``conftest.py``, ``_beside.py``).

    It mostly waits on the server and Chromium, so it runs in a thread of the test process
    beside the other tests; :func:`test_every_page_in_a_real_browser` waits for it.
    """
    global _SESSION
    if _SESSION is None:
        _SESSION = ThreadJob(_browser_session, "browser session")
    return _SESSION


def _browser_session(job: ThreadJob) -> str | None:
    """``streamlit run app.py`` on a free port, from the repository root, and Chromium on
    it: the click-through. Returns why it was skipped, if it was."""
    if not CHROMIUM.exists():
        return (
            f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium; "
            ".ci/run does it). The test never downloads a browser of its own."
        )
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for old in SCREENSHOTS.glob("failure-*.png"):
        old.unlink()
    port = free_port()
    url = f"http://localhost:{port}"
    with SERVER_LOG.open("w") as log:
        server = start_server("app.py", ROOT, port, log)
    job.on_stop(lambda: stop_server(server))
    try:
        try:
            wait_healthy(server, url, START_TIMEOUT_S)
        except ServerNotReady as exc:
            pytest.fail(f"{exc}:\n{_log_tail()}")
        with sync_playwright() as p:
            browser = launch_chromium(p)
            try:
                _every_page(browser, url)
            finally:
                browser.close()
    finally:
        stop_server(server)
    return None


def wait_until_idle(page) -> None:
    """The script run is over, the status widget is gone and every chart has loaded, twice
    in a row a short while apart (see ``_browser.wait_settled``)."""
    wait_settled(page, RUN_TIMEOUT_MS)


def assert_no_errors(page, where: str) -> None:
    """No exception box (its details are redacted on screen: see the server log) or error."""
    for selector, what in ((EXCEPTION, "an exception"), (ERROR_ALERT, "an error")):
        shown = page.locator(selector)
        assert shown.count() == 0, (
            f"{where} shows {what}: {shown.first.inner_text()!r}\nserver log:\n{_log_tail()}"
        )


def screenshot(page, name: str) -> Path:
    """A full screenshot; the viewport grows to the main area's height if that is taller."""
    path = SCREENSHOTS / f"{name}.png"
    height = page.evaluate(
        "() => { const m = document.querySelector('[data-testid=\"stMain\"]');"
        " return m ? m.scrollHeight : document.body.scrollHeight; }"
    )
    if height > VIEWPORT["height"]:
        page.set_viewport_size({"width": VIEWPORT["width"], "height": int(height) + 40})
        page.wait_for_timeout(300)
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size(VIEWPORT)
    return path


def open_from_sidebar(page, link: str, title: str, path: str) -> None:
    page.locator(SIDEBAR_LINK, has_text=link).click()
    page.wait_for_url(re.compile(rf"^[^?#]*//[^/]+{re.escape(path)}(\?.*)?$"))
    main_h1(page, title).wait_for(timeout=RUN_TIMEOUT_MS)
    wait_until_idle(page)


def metric_value(page, label: str):
    metric = page.locator('[data-testid="stMetric"]', has_text=label).first
    return metric.locator('[data-testid="stMetricValue"]')


def percent_value(text: str) -> float:
    match = re.fullmatch(r"(-?\d+(?:\.\d+)?)%", text.strip().replace(",", ""))
    assert match, f"not a percentage: {text!r}"
    return float(match.group(1))


def exercise_overview(page) -> None:
    """The detail tables are drawn when their expander opens (they are not sent before)."""
    expander = page.locator('[data-testid="stExpander"]', has_text="All metrics with intervals")
    assert expander.locator('[data-testid="stTable"]').count() == 0
    expander.locator("summary").click()
    table = expander.locator('[data-testid="stTable"]')
    expect(table).to_contain_text("95% interval", timeout=RUN_TIMEOUT_MS)
    expect(table).to_contain_text("Readable rule")
    wait_until_idle(page)


def exercise_decide(page) -> None:
    """Choose by probability, move the cut-off with the keyboard: the figures and URL follow."""
    page.locator('[data-testid="stRadioOption"]', has_text="Probability cut-off").click()
    # Streamlit 1.67 draws the thumb as <input type="range">: role "slider" without the attribute.
    slider = page.locator('[data-testid="stSlider"]').get_by_role("slider").first
    slider.wait_for(timeout=RUN_TIMEOUT_MS)
    wait_until_idle(page)
    contacted = metric_value(page, "Contacted")
    before, start = contacted.inner_text().strip(), slider.input_value()
    slider.focus()
    for _ in range(5):
        page.keyboard.press("ArrowRight")
    assert slider.input_value() != start, "the slider did not move with the keyboard"
    expect(contacted).not_to_have_text(before, timeout=RUN_TIMEOUT_MS)
    wait_until_idle(page)
    after = metric_value(page, "Contacted").inner_text().strip()
    assert after != before, f"moving the cut-off from {start} left 'Contacted' at {before}"
    page.wait_for_url(re.compile(r"[?&]method=threshold(&|$)"), timeout=RUN_TIMEOUT_MS)
    assert "method=threshold" in page.url


def exercise_export(page) -> None:
    """The policy download is a valid policy file for the choice made on Decide."""
    button = page.locator('[data-testid="stDownloadButton"] button', has_text="policy")
    with page.expect_download(timeout=RUN_TIMEOUT_MS) as download_info:
        button.click()
    download = download_info.value
    saved = ARTIFACTS / (download.suggested_filename or "policy.json")
    download.save_as(saved)
    policy = json.loads(saved.read_text(encoding="utf-8"))
    assert {"schema_version", "model_fingerprint", "rules"} <= policy.keys()
    assert re.fullmatch(r"[0-9a-f]{64}", policy["model_fingerprint"])
    assert isinstance(policy["rules"], list)
    assert policy["choice"]["method"] == "threshold"  # the scenario is shared across pages
    exercise_memo(page, policy)


def exercise_memo(page, policy: dict) -> None:
    """The decision memo downloads (drawn on the click) for the exported policy, and opens
    from the file as a page with no script and nothing fetched (the context's request
    watch would catch any other host)."""
    button = page.locator('[data-testid="stDownloadButton"] button', has_text="decision memo")
    with page.expect_download(timeout=RUN_TIMEOUT_MS) as download_info:
        button.click()
    download = download_info.value
    saved = ARTIFACTS / (download.suggested_filename or "memo.html")
    download.save_as(saved)
    text = saved.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and "<script" not in text
    assert policy["model_fingerprint"] in text and text.count("<svg ") == 2
    memo = page.context.new_page()
    memo.goto(saved.as_uri())
    memo.get_by_role("heading", name="The decision", exact=True).wait_for(timeout=RUN_TIMEOUT_MS)
    memo.screenshot(path=str(SCREENSHOTS / "8-decision-memo.png"), full_page=True)
    memo.close()


def test_every_page_in_a_real_browser() -> None:
    """Every page, the Decide slider, the policy and memo downloads and a shared link, in Chromium.

    The session itself started right after collection (:func:`start_beside`); this waits
    for it and reports what it found.
    """
    skipped = start_beside().result(timeout=900)
    if skipped:
        pytest.skip(skipped)


def _every_page(browser, app_url: str) -> None:
    context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
    # everything the app shows comes from its own server (no font host, no CDN)
    elsewhere: list[str] = []
    origin = app_url.split("://", 1)[1].split("/", 1)[0]

    def outside(request) -> None:
        host = request.url.split("://", 1)[-1].split("/", 1)[0]
        if request.url.startswith(("http://", "https://")) and host != origin:
            elsewhere.append(request.url)

    context.on("request", outside)
    try:
        _click_through(context, app_url)
        assert not elsewhere, f"the app asked other hosts for {sorted(set(elsewhere))[:5]}"
    except Exception:
        for i, open_page in enumerate(context.pages):  # what the browser showed when it failed
            with contextlib.suppress(Exception):
                open_page.screenshot(path=str(SCREENSHOTS / f"failure-{i}.png"), full_page=True)
        raise
    finally:
        context.close()


def _click_through(context, app_url: str) -> None:
    page = context.new_page()
    page.goto(app_url)
    # The first visit trains the model.
    main_h1(page, "Can we rely on it?").wait_for(timeout=START_TIMEOUT_S * 1000)
    wait_until_idle(page)
    for number, (link, title, path) in enumerate(PAGES, start=1):
        if path != "/":
            open_from_sidebar(page, link, title, path)
        assert_no_errors(page, link)
        # the sample's new batch has drifted significantly: the banner is above every page
        drift_banner = page.locator(WARNING_ALERT, has_text="differ significantly")
        assert drift_banner.count() == 1, f"{link} does not show the drift banner"
        if path == "/":
            exercise_overview(page)
        if path == "/decide":
            exercise_decide(page)
            assert_no_errors(page, "Decide, after moving the cut-off")
        screenshot(page, _screenshot_name(number, path))
        if path == "/export":
            exercise_export(page)

    shared = context.new_page()  # a new tab is a new session: the link alone sets the choice
    shared.goto(f"{app_url}/decide?method=top_share&value=0.1")
    main_h1(shared, "Decide").wait_for(timeout=RUN_TIMEOUT_MS)
    wait_until_idle(shared)
    assert_no_errors(shared, "the shared link")
    assert "method=top_share" in shared.url
    capacity = shared.get_by_role("radio", name="Capacity (share or number of customers)")
    assert capacity.is_checked()
    assert percent_value(metric_value(shared, "Contacted").inner_text()) <= 10.0
    screenshot(shared, "6-decide-shared-link")
