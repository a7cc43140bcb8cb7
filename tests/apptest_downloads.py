"""Reading what a page offers for download in AppTest.

AppTest drops its in-memory file store after each run and the download button
only carries a URL, so the tests record what the app registers with the store.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

TIMEOUT = 120


def record_downloads(mp: pytest.MonkeyPatch) -> dict[str, bytes]:
    """Keep every file the app registers with the media store, by file id."""
    store: dict[str, bytes] = {}
    original = MemoryMediaFileStorage.load_and_get_id

    def load_and_get_id(self, path_or_data, mimetype, kind, filename=None):
        file_id = original(self, path_or_data, mimetype, kind, filename)
        if isinstance(path_or_data, bytes):
            store[file_id] = path_or_data
        return file_id

    mp.setattr(MemoryMediaFileStorage, "load_and_get_id", load_and_get_id)
    return store


@contextmanager
def open_page(page: str) -> Iterator[tuple[AppTest, dict[str, bytes]]]:
    """The app opened on ``page`` (e.g. ``"app_pages/export.py"``), recording its downloads."""
    with pytest.MonkeyPatch.context() as mp:
        store = record_downloads(mp)
        at = AppTest.from_file("../app.py", default_timeout=TIMEOUT)
        at.run()
        at.switch_page(page)
        at.run()
        yield at, store
