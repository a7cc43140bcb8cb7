"""Reading what a page offers for download in AppTest.

AppTest drops its in-memory file store after each run and the download button
only carries a URL, so the tests record what the app registers with the store. A
button whose file is made when clicked (``data=callable``) registers the callable
under its ``deferred_file_id``: the tests record it and call it as a click would.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

TIMEOUT = 120


def record_downloads(mp: pytest.MonkeyPatch) -> dict:
    """Keep every file the app registers with the media store, by file id (bytes), and
    every callable a deferred download registers, by its deferred file id."""
    store: dict = {}
    original = MemoryMediaFileStorage.load_and_get_id

    def load_and_get_id(self, path_or_data, mimetype, kind, filename=None):
        file_id = original(self, path_or_data, mimetype, kind, filename)
        if isinstance(path_or_data, bytes):
            store[file_id] = path_or_data
        return file_id

    mp.setattr(MemoryMediaFileStorage, "load_and_get_id", load_and_get_id)
    add_deferred = MediaFileManager.add_deferred

    def record_deferred(self, data_callable, *args, **kwargs):
        file_id = add_deferred(self, data_callable, *args, **kwargs)
        store[file_id] = data_callable
        return file_id

    mp.setattr(MediaFileManager, "add_deferred", record_deferred)
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
