"""Use your own data: upload a messy file, map its columns, train, reach Decide; privacy.

The upload is a messy export made from the sample (semicolons, Latin-1, money as
text with decimal commas, a row-number column and a leaky column), so the test needs
nothing outside the repository.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from churn.policy import decide_on_holdout

TIMEOUT = 300
ROOT = Path(__file__).resolve().parent.parent


def _messy_export(sample: pd.DataFrame) -> bytes:
    frame = sample.head(1500).copy()
    frame = frame.rename(columns={"churned": "Status", "customer_id": "Kundennummer"})
    frame["Status"] = np.where(frame["Status"] == 1, "Gekündigt", "Aktiv")
    frame["monthly_charges"] = frame["monthly_charges"].map(lambda v: f"{v:.2f}".replace(".", ","))
    frame["row"] = np.arange(1, len(frame) + 1)
    frame["cancel_note"] = np.where(frame["Status"] == "Gekündigt", "Kündigung", "")
    text = frame.to_csv(sep=";", index=False)
    return text.encode("cp1252")


def _open(page: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.run()
    at.switch_page(page)
    at.run()
    return at


@pytest.fixture(scope="module")
def uploaded(sample_frame: pd.DataFrame) -> Iterator[AppTest]:
    at = _open("app_pages/data.py")
    assert not at.exception
    at.file_uploader[0].set_value(("export.csv", _messy_export(sample_frame), "text/csv"))
    at.run()
    yield at


def _select(at: AppTest, label: str):
    return next(s for s in at.selectbox if s.label.startswith(label))


def test_upload_is_read_and_the_columns_are_suggested(uploaded: AppTest) -> None:
    at = uploaded
    assert not at.exception and not at.error
    assert _select(at, "Churn column").value == "Status"
    assert _select(at, "Customer id").value == "Kundennummer"
    # "Gekündigt" is not a word the checks know: the user says which value means churned
    assert set(_select(at, "Which value").options) == {"Aktiv", "Gekündigt"}


def test_the_data_checks_are_shown_before_training(uploaded: AppTest) -> None:
    at = uploaded
    _select(at, "Which value").set_value("Gekündigt")
    at.run()
    messages = " ".join(m.value for m in [*at.info, *at.warning])
    assert "numbers stored as text were converted" in messages
    assert "row: left out of the features: sequential row numbers" in messages.replace("**", "")
    assert "cancel_note" in messages and "possible leak" in messages
    shown = {m.label: m.value for m in at.metric}
    assert shown["Customers"] == "1,500"


def test_training_reaches_decide_with_the_uploaded_model(
    uploaded: AppTest, sample_frame: pd.DataFrame
) -> None:
    at = uploaded
    _select(at, "Which value").set_value("Gekündigt")
    at.run()
    next(b for b in at.button if b.label == "Train on this table").click()
    at.run()
    assert not at.exception and not at.error
    artifact = at.session_state["user_artifact"]
    assert artifact.info.source == "export.csv"
    assert artifact.info.positive_label == "Gekündigt"
    assert artifact.info.rows == 1500
    assert set(artifact.info.left_out) == {"row", "cancel_note"}
    assert artifact.metrics["model"]["roc_auc"] > 0.7
    at.switch_page("app_pages/decide.py")
    at.run()
    assert not at.exception
    scenario = at.session_state["scenario"]
    decision = decide_on_holdout(artifact, scenario.economics, scenario.choice)
    shown = {m.label: m.value for m in at.metric}
    assert shown["Contacted"] == f"{decision.share_targeted:.1%}"
    assert artifact.holdout.shape[0] == 300  # 20% of the upload, not the sample's 2,000


def test_another_session_never_sees_the_upload(uploaded: AppTest) -> None:
    at = uploaded
    if "user_artifact" not in at.session_state:
        pytest.skip("needs the training test first")
    mine = at.session_state["user_artifact"]
    for page in (
        "app_pages/customers.py",
        "app_pages/why.py",
        "app_pages/campaign.py",
        "app_pages/overview.py",
    ):
        at.switch_page(page)
        at.run()
        assert not at.exception
        if page == "app_pages/campaign.py":  # the sample's campaign is not about this table
            assert any("not about your table" in i.value for i in at.info)
    at.switch_page("app_pages/decide.py").run()  # nor are its success rate and uplift offered
    assert not [w for w in [*at.radio, *at.selectbox] if w.key and "measured" in w.key]
    assert not [r for r in at.radio if r.key == "decide_target"]
    assert at.session_state["_upload_cache"], "uploaded results are kept in the session"

    other = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    other.run()  # a second visitor's landing page
    assert not other.exception
    assert "user_artifact" not in other.session_state
    assert "upload" not in other.session_state
    from app_pages.common import sample_artifact

    sidebar = " ".join(m.value for m in other.sidebar.markdown)
    assert "sample_customers.csv" in sidebar and "export.csv" not in sidebar
    other.switch_page("app_pages/customers.py")
    other.run()
    assert not other.exception
    assert sample_artifact().fingerprint != mine.fingerprint
    other.switch_page("app_pages/data.py")
    other.run()
    assert not [s for s in other.success if "your table" in s.value]


def test_back_to_the_sample_forgets_the_upload(uploaded: AppTest) -> None:
    at = uploaded
    if "user_artifact" not in at.session_state:
        pytest.skip("needs the training test first")
    at.switch_page("app_pages/data.py")
    at.run()
    next(b for b in at.button if b.label == "Back to the sample data").click()
    at.run()
    assert "user_artifact" not in at.session_state
    assert "_upload_cache" not in at.session_state
    assert "upload" not in at.session_state


def test_unreadable_upload_is_a_sentence() -> None:
    at = _open("app_pages/data.py")
    at.file_uploader[0].set_value(("book.xlsx", b"PK\x03\x04 not excel", "application/zip"))
    at.run()
    assert not at.exception
    assert "valid Excel" in at.error[0].value


def test_a_churn_column_with_more_than_two_values_is_a_sentence(sample_frame: pd.DataFrame) -> None:
    frame = sample_frame.head(200).copy()
    at = _open("app_pages/data.py")
    at.file_uploader[0].set_value(("plans.csv", frame.to_csv(index=False).encode(), "text/csv"))
    at.run()
    _select(at, "Churn column").set_value("region")
    at.run()
    assert not at.exception
    values = sorted(frame["region"].unique())
    assert at.error[0].value == (
        f"'region' has {len(values)} values ({', '.join(values)}); the churn column must have "
        "two. Pick another."
    )
    assert not [s for s in at.selectbox if s.label.startswith("Which value")]


def test_upload_writes_nothing_to_the_project(sample_frame: pd.DataFrame) -> None:
    before = {p for p in ROOT.rglob("*") if ".git" not in p.parts and "__pycache__" not in p.parts}
    at = _open("app_pages/data.py")
    at.file_uploader[0].set_value(("export.csv", _messy_export(sample_frame), "text/csv"))
    at.run()
    after = {p for p in ROOT.rglob("*") if ".git" not in p.parts and "__pycache__" not in p.parts}
    assert after == before


def test_float_targets_and_leading_zero_ids(sample_frame: pd.DataFrame) -> None:
    frame = sample_frame.head(600).copy()
    frame["churned"] = frame["churned"].astype(float)  # 1.0 / 0.0, as many exports have it
    frame["customer_id"] = [f"{i:05d}" for i in range(len(frame))]  # leading zeros
    at = _open("app_pages/data.py")
    at.file_uploader[0].set_value(("floats.csv", frame.to_csv(index=False).encode(), "text/csv"))
    at.run()
    assert not at.exception and not at.error
    assert _select(at, "Which value").value == "1"
    assert _select(at, "Customer id").value == "customer_id"
    next(b for b in at.button if b.label == "Train on this table").click()
    at.run()
    assert not at.exception and not at.error
    artifact = at.session_state["user_artifact"]
    assert artifact.info.positive_label == "1"
    assert at.session_state["user_table"]["customer_id"].iloc[:3].tolist() == [
        "00000",
        "00001",
        "00002",
    ]
    next(b for b in at.button if b.label == "Back to the sample data").click()
    at.run()
    assert not at.exception
    assert "upload" not in at.session_state  # the file is not read back in from the widget


def test_a_telco_export_gets_sensible_suggestions_with_reasons(telco_frame: pd.DataFrame) -> None:
    """The lifetime value, not the monthly charge, nor the copy of the target; no constant
    segment; each suggestion says why; the places are flagged and the sparse ones left out."""
    at = _open("app_pages/data.py")
    data = telco_frame.to_csv(index=False).encode()
    at.file_uploader[0].set_value(("telco.csv", data, "text/csv"))
    at.run()
    assert not at.exception and not at.error
    assert _select(at, "Churn column").value == "Churn Label"
    value = _select(at, "Value column")
    assert value.value == "CLTV"
    assert "Churn Value" not in value.options and "Monthly Charges" in value.options
    segments = next(m for m in at.multiselect if m.label.startswith("Segment attributes"))
    assert segments.value == ["Gender", "Senior Citizen"]
    assert not {"Churn Value", "Churn Reason"} & set(segments.options)
    captions = " ".join(c.value for c in at.caption)
    for reason in (
        "Suggested: two values; the name says churn.",
        "Suggested: unique for every row, named like an id.",
        "Suggested: named like a customer lifetime value.",
        "Gender (named like a personal attribute (gender); 2 values)",
    ):
        assert reason in captions, reason
    messages = " ".join(m.value for m in [*at.info, *at.warning]).replace("**", "")
    assert "Latitude: a place (coordinates)" in messages and "proxy" in messages
    assert "City: left out of the features: 1,1" in messages
    assert "Zip Code: postal codes stored as numbers are read as categories" in messages
    # another target: the leaks are judged against it
    _select(at, "Churn column").set_value("Churn Value")
    at.run()
    assert not at.exception
    segments = next(m for m in at.multiselect if m.label.startswith("Segment attributes"))
    assert not {"Churn Label", "Churn Reason"} & set(segments.options)


def test_the_session_memo_keeps_what_is_used_and_drops_the_least_recently_used(monkeypatch):
    """An upload's expensive results (its scored table) survive many cheap new entries."""
    import streamlit as st

    import app_pages.common as common

    artifact = object()
    monkeypatch.setattr(st, "session_state", {"user_artifact": artifact})
    calls = []

    @common.model_cache()
    def compute(_artifact, fingerprint: str, key: int) -> int:
        calls.append(key)
        return key * 2

    assert compute(artifact, "f", 0) == 0  # e.g. the scored base
    for key in range(1, 200):  # e.g. one decision per slider step
        compute(artifact, "f", key)
        assert compute(artifact, "f", 0) == 0  # used on every run
    assert calls.count(0) == 1
    assert len(st.session_state["_upload_cache"]) == 64
    compute(artifact, "f", 1)  # long gone: computed again
    assert calls.count(1) == 2
