"""Hosting entry point: ``streamlit run serve.py`` serves the app of ``app.py``, faster to
start.

Streamlit runs ``app.py`` for the first time only when the first visitor's browser has
loaded Streamlit's scripts and connected; the imports the first page needs (pandas, Altair
and the library: about 0.7 s on 2 cores) then delay that visitor's first page. Here
the app is served through ``st.App`` (Streamlit's ASGI entry point, experimental in
Streamlit 1.67), whose start-up hook imports the library in a background thread while the
server starts and the browser loads its scripts. Everything else is ``app.py``, which
``streamlit run app.py`` (and AppTest) still runs directly.
"""

from __future__ import annotations

import runpy
import threading
from contextlib import asynccontextmanager
from pathlib import Path

import streamlit as st


def _import_library() -> None:
    import app_pages.common  # noqa: F401  (what app.py imports for the first page)


@asynccontextmanager
async def _lifespan(_app):
    threading.Thread(target=_import_library, name="import the library", daemon=True).start()
    yield


if hasattr(st, "App"):
    app = st.App("app.py", lifespan=_lifespan)
else:  # pragma: no cover - a Streamlit without st.App runs this file as the script (untried)
    runpy.run_path(str(Path(__file__).with_name("app.py")), run_name="__main__")
