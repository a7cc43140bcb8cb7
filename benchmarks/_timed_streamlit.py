"""``python _timed_streamlit.py run app.py ...``: Streamlit, logging each script run's duration.

``bench_app.py`` starts the app through this to report the server's share of a page: every
full or fragment run appends a line ``<wall seconds> <CPU seconds of the script's thread>``
to the file named by ``CHURN_BENCH_RUN_LOG``. The wall time includes waiting for the GIL
while the server's event loop sends the run's messages; the CPU time is the run's own work.
It wraps ``ScriptRunner._run_script``, a Streamlit internal; if that is missing the server
runs unlogged and the benchmark reports no server figures.
"""

from __future__ import annotations

import os
import sys
import time

from streamlit.web.cli import main

try:
    from streamlit.runtime.scriptrunner.script_runner import ScriptRunner
except ImportError:  # pragma: no cover - another Streamlit layout
    ScriptRunner = None

LOG = os.environ.get("CHURN_BENCH_RUN_LOG")

if ScriptRunner is not None and LOG and hasattr(ScriptRunner, "_run_script"):
    _run_script = ScriptRunner._run_script

    def _timed(self, *args, **kwargs):
        start, cpu = time.perf_counter(), time.thread_time()
        try:
            return _run_script(self, *args, **kwargs)
        finally:
            with open(LOG, "a", encoding="utf-8") as log:
                log.write(f"{time.perf_counter() - start:.4f} {time.thread_time() - cpu:.4f}\n")

    ScriptRunner._run_script = _timed

if __name__ == "__main__":
    sys.argv = ["streamlit", *sys.argv[1:]]
    sys.exit(main())
