"""After an upload, the pages act on customers who can still be kept, scored honestly."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import PurePosixPath

import numpy as np
import pandas as pd
import pytest
from apptest_downloads import record_downloads
from streamlit.testing.v1 import AppTest

from churn.sample import NEW_BATCH_PATH

ROWS = 1500


def _with_reason(sample: pd.DataFrame) -> pd.DataFrame:
    frame = sample.head(ROWS).copy()
    reasons = np.array(["Price", "Competitor", "Moved"], dtype=object)
    churned = frame["churned"].to_numpy() == 1
    frame["churn_reason"] = np.where(churned, reasons[np.arange(len(frame)) % 3], "")
    return frame


@pytest.fixture(scope="module")
def trained_upload(sample_frame: pd.DataFrame) -> Iterator[tuple[AppTest, dict, pd.DataFrame]]:
    frame = _with_reason(sample_frame)
    with pytest.MonkeyPatch.context() as mp:
        store = record_downloads(mp)
        at = AppTest.from_file("../app.py", default_timeout=300)
        at.run()
        at.switch_page("app_pages/data.py").run()
        data = frame.to_csv(index=False).encode("utf-8")
        at.file_uploader[0].set_value(("customers.csv", data, "text/csv")).run()
        next(b for b in at.button if b.label == "Train on this table").click().run()
        assert not at.exception, at.exception
        at.switch_page("app_pages/customers.py").run()
        assert not at.exception, at.exception
        yield at, store, frame


def _download(at: AppTest, store: dict, label_start: str) -> pd.DataFrame:
    (button,) = [b for b in at.get("download_button") if b.label.startswith(label_start)]
    return pd.read_csv(io.BytesIO(store[PurePosixPath(button.proto.url).stem]), dtype=str)


def test_customers_who_already_left_are_left_out_with_a_sentence(trained_upload):
    at, _, frame = trained_upload
    churned = int((frame["churned"] == 1).sum())
    caption = " ".join(c.value for c in at.caption)
    assert f"without the {churned:,} customers who already churned" in caption
    assert f"{ROWS - churned:,} customers" in caption


def test_a_leak_column_is_neither_a_filter_nor_in_the_list(trained_upload):
    at, store, _ = trained_upload
    left_out = at.session_state["user_artifact"].info.left_out
    assert left_out["churn_reason"].startswith("possible leak")
    segment = next(s for s in at.selectbox if s.label == "Segment")
    assert "churn_reason" not in segment.options
    listed = _download(at, store, "Download these")
    assert "churn_reason" not in listed.columns and len(listed) > 0
    assert "churn_reason" not in at.dataframe[0].value.columns


def test_a_fresh_snapshot_is_acted_on_instead(trained_upload):
    at, _, _ = trained_upload
    fresh = pd.read_csv(NEW_BATCH_PATH).head(400)
    at.file_uploader(key="act_on_file").set_value(
        ("snapshot.csv", fresh.to_csv(index=False).encode("utf-8"), "text/csv")
    ).run()
    assert not at.exception, at.exception
    caption = " ".join(c.value for c in at.caption)
    churned = int((fresh["churned"] == 1).sum())
    assert f"{400 - churned:,} customers" in caption and "snapshot.csv" in caption
    assert f"without the {churned:,} customers who already churned" in caption


def test_a_snapshot_that_cannot_be_used_is_refused_and_the_pages_keep_working(trained_upload):
    at, _, _ = trained_upload
    at.file_uploader(key="act_on_file").set_value(("wrong.csv", b"a,b\n1,2\n", "text/csv")).run()
    assert not at.exception, at.exception
    (refusal,) = [e.value for e in at.error]
    assert refusal.count(". ") == 0 and refusal.endswith(".")  # one sentence
    assert at.session_state["act_on_upload"][0] == "snapshot.csv"  # the last good one stays
    for page in ("app_pages/decide.py", "app_pages/why.py", "app_pages/customers.py"):
        at.switch_page(page).run()
        assert not at.exception, (page, at.exception)
        assert at.file_uploader(key="act_on_file") is not None  # still there to try again
