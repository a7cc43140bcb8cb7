"""Cold start as a stakeholder meets it: a fresh server to the rendered landing page.

Target: <= 5 s on 2 cores from starting ``streamlit run app.py`` to the landing page fully
rendered (its ``h1`` visible, the script run over, the status widget gone, no chart still
a loading skeleton, the reliability chart drawn) in Debian's headless Chromium, which
opens the app as soon as ``/_stcore/health`` answers, in a new browser profile (nothing
cached). The browser is started before the server, so its own start-up is not counted.

Each start also records every list of sidebar links shown while the page loaded and once
it was rendered: the app's own navigation is the only one allowed (Streamlit's legacy
``pages/`` listing, "common", "overview", ..., must never show). Run ``--starts N`` cold
starts (5 by default); the machine's load average is printed with the figures.

``--script serve.py`` starts the hosting entry point instead of ``app.py``. ``--compare DIR``
alternates each start with one of the app in DIR (another version, e.g. ``git archive main |
tar -x -C DIR``), ``--compare-script app.py`` with another entry point of this folder, so
that both see the same load on a shared machine.

Usage::

    python benchmarks/bench_cold_start.py [--starts N] [--script serve.py]
        [--compare DIR] [--compare-script app.py]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from _browser import NAV_TITLES, ROOT, cold_start, launch_chromium
from _common import emit
from playwright.sync_api import sync_playwright

TARGET_S = 5.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=5, help="cold starts (default 5)")
    parser.add_argument("--compare", type=Path, help="another version's folder, alternated")
    parser.add_argument(
        "--script", default="app.py", help="the entry point: app.py (default) or serve.py"
    )
    parser.add_argument(
        "--compare-script", help="alternate with this entry point of the same folder"
    )
    args = parser.parse_args()
    load_before = os.getloadavg()
    runs, other = [], []
    with tempfile.TemporaryFile("w+") as log, sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            for _ in range(args.starts):
                log.seek(0)
                log.truncate()
                try:
                    runs.append(cold_start(browser, log, script=args.script))
                    if args.compare is not None or args.compare_script:
                        other.append(
                            cold_start(
                                browser,
                                log,
                                app_dir=(args.compare or ROOT).resolve(),
                                script=args.compare_script or args.script,
                            )
                        )
                except Exception:
                    log.seek(0)
                    print(log.read()[-3000:], file=sys.stderr)
                    raise
        finally:
            browser.close()
    rendered = sorted(run["rendered_s"] for run in runs)
    wrong = [[links for links in run["sidebars_seen"] if links != list(NAV_TITLES)] for run in runs]
    r = lambda x: round(x, 2)  # noqa: E731
    emit(
        "cold_start",
        {
            "cold_start_to_rendered_landing_s": [r(x) for x in rendered],
            "median_s": r(rendered[len(rendered) // 2]),
            "slowest_s": r(rendered[-1]),
            "target_s": TARGET_S,
            "stages_s": [
                {k[:-2]: r(v) for k, v in run.items() if k.endswith("_s")} for run in runs
            ],
            "starts_with_a_wrong_sidebar": sum(bool(w) for w in wrong),
            "wrong_sidebars_seen": [w for w in wrong if w],
            "sidebar_rendered_as_expected": [
                run["sidebar_rendered"] == list(NAV_TITLES) for run in runs
            ],
            "server_cpu_to_rendered_s": [r(run["server_cpu_to_rendered_cpu_s"]) for run in runs],
            "server_rss_after_landing_mb": [r(run["server_rss_after_landing_mb"]) for run in runs],
            **(
                {
                    "script": args.script,
                    "compared_with": f"{args.compare or ROOT}/{args.compare_script or args.script}",
                    "compared_cold_start_s": [r(run["rendered_s"]) for run in other],
                    "compared_server_cpu_to_rendered_s": [
                        r(run["server_cpu_to_rendered_cpu_s"]) for run in other
                    ],
                }
                if other
                else {}
            ),
            "load_average_before": [r(x) for x in load_before],
            "load_average_after": [r(x) for x in os.getloadavg()],
        },
    )


if __name__ == "__main__":
    main()
