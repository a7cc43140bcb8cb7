"""The Customers page, driven headless with AppTest.

AppTest keeps a download button's payload in an in-memory media store that it
discards after each run; the proto only carries the file's URL. These tests
record what the page hands to that store, so they check the exact bytes a user
would download.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import PurePosixPath

import numpy as np
import pandas as pd
import pytest
import streamlit as st
from apptest_downloads import open_page, record_downloads
from streamlit.testing.v1 import AppTest

from churn import customers
from churn.customers import FORMULA_PREFIXES, SCORE_COLUMNS
from churn.data import read_table
from churn.explain import top_reasons
from churn.formatting import money
from churn.policy import DEFAULT_ACTION, decide_on_holdout
from churn.sample import NEW_BATCH_PATH
from churn.training import score_frame

TIMEOUT = 120


def _payload(button, store: dict[str, bytes]) -> bytes:
    return store[PurePosixPath(button.proto.url).stem]


@pytest.fixture(scope="module")
def page() -> Iterator[tuple[AppTest, dict[str, bytes]]]:
    with open_page("app_pages/customers.py") as opened:
        yield opened


def _expected_table(at: AppTest, base: pd.DataFrame | None = None) -> pd.DataFrame:
    """The action list computed straight from the library, with the page's scenario."""
    from app_pages.common import sample_artifact

    artifact = sample_artifact()
    scenario = at.session_state["scenario"]
    decision = decide_on_holdout(artifact, scenario.economics, scenario.choice)
    if base is None:
        base = read_table(NEW_BATCH_PATH, text_columns=("customer_id",))
    scored = pd.concat(
        [base, score_frame(artifact, base).drop(columns=["customer_id", "score_note"])], axis=1
    )
    return customers.action_list(
        scored,
        "customer_id",
        decision.rules,
        DEFAULT_ACTION,
        scenario.economics,
        reasons=top_reasons(artifact, base),
        segments=customers.segment_columns(scored, exclude=("customer_id", "churned")),
    )


def test_renders_without_exceptions(page):
    at, _ = page
    assert not at.exception
    assert at.title[0].value == "Customers"
    assert len(at.dataframe) == 1


def test_shown_counts_and_total_equal_the_library(page):
    at, _ = page
    table = _expected_table(at)
    scenario = at.session_state["scenario"]
    from app_pages.common import sample_artifact

    rules = decide_on_holdout(sample_artifact(), scenario.economics, scenario.choice).rules
    summary = customers.action_summary(table, customers.action_order(rules, DEFAULT_ACTION))
    shown = {m.label: m.value for m in at.metric}
    label = {DEFAULT_ACTION: "No action"}
    for row in summary.itertuples(index=False):
        assert shown[label.get(row.action, row.action)] == f"{row.customers:,}"
    assert shown["Total expected value"] == money(float(summary["expected_value"].sum()))
    labels = [label.get(a, a) for a in summary["action"]]
    assert sum(int(shown[a].replace(",", "")) for a in labels) == 5000


def test_table_is_the_ranked_list_of_contacted_customers(page):
    at, _ = page
    shown = at.dataframe[0].value
    table = _expected_table(at)
    contacted = table[table["action"] != DEFAULT_ACTION]
    assert shown["customer_id"].tolist() == contacted["customer_id"].tolist()
    assert {"reasons", "plan", "region"} <= set(shown.columns)
    # the three reasons in one column, so the table fits the page
    assert shown["reasons"].tolist() == customers.joined_reasons(contacted).tolist()
    np.testing.assert_allclose(shown["expected_value"], contacted["expected_value"])
    # shown as percentage points
    np.testing.assert_allclose(shown["churn_probability"], 100 * contacted["churn_probability"])


def test_download_is_the_sanitised_filtered_list(page):
    at, store = page
    (button,) = at.get("download_button")
    data = _payload(button, store)
    table = _expected_table(at)
    contacted = table[table["action"] != DEFAULT_ACTION]
    assert data == customers.to_safe_csv(contacted)
    back = pd.read_csv(io.BytesIO(data))
    assert len(back) == len(at.dataframe[0].value) == len(contacted)
    assert back["churn_probability"].between(0, 1).all()  # the file keeps probabilities in [0, 1]
    assert button.label == f"Download these {len(contacted):,} customers (CSV)"


def test_filters_change_the_table_and_the_download(page):
    at, store = page
    at.multiselect[0].set_value(["Email offer"]).run()
    at.selectbox[0].set_value("region").run()
    at.multiselect[1].set_value(["North"]).run()
    assert not at.exception
    shown = at.dataframe[0].value
    assert set(shown["action"]) == {"Email offer"}
    assert set(shown["region"]) == {"North"}
    table = _expected_table(at)
    expected = customers.filter_action_list(table, ["Email offer"], "region", ["North"])
    assert shown["customer_id"].tolist() == expected["customer_id"].tolist()
    (button,) = at.get("download_button")
    assert _payload(button, store) == customers.to_safe_csv(expected)


@pytest.mark.slow
def test_formula_text_in_the_data_is_neutralised_in_the_download(tmp_path):
    """A snapshot whose text cells look like formulas downloads with them neutralised."""
    import churn.sample

    base = read_table(NEW_BATCH_PATH, text_columns=("customer_id",))
    risky = base.index % 7 == 0
    base.loc[risky, "region"] = '=HYPERLINK("http://evil","x")'
    base.loc[base.index % 11 == 0, "signup_channel"] = "@SUM(1+1)"
    base.loc[base.index % 13 == 0, "customer_id"] = (
        "-" + base.loc[base.index % 13 == 0, "customer_id"]
    )
    path = tmp_path / "risky.csv"
    base.to_csv(path, index=False)
    with pytest.MonkeyPatch.context() as mp:
        store = record_downloads(mp)
        mp.setattr(churn.sample, "NEW_BATCH_PATH", path)  # other ids: scored, not read
        st.cache_data.clear()
        try:
            at = AppTest.from_file("../app.py", default_timeout=TIMEOUT)
            at.run()
            at.switch_page("app_pages/customers.py")
            at.run()
            assert not at.exception
            (button,) = at.get("download_button")
            data = _payload(button, store)
            displayed = at.dataframe[0].value
        finally:
            st.cache_data.clear()
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"))))
    header, body = rows[0], rows[1:]
    assert '\'=HYPERLINK("http://evil","x")' in {r[header.index("region")] for r in body}
    assert "'@SUM(1+1)" in {r[header.index("signup_channel")] for r in body}
    assert any(r[header.index("customer_id")].startswith("'-C") for r in body)
    for row in body:
        for cell in row:
            if cell.startswith(FORMULA_PREFIXES):
                float(cell)  # only numbers (negative expected values) may start with "-"
    # the table on screen is sanitised too (its toolbar can save it as CSV)
    assert not displayed["region"].str.startswith("=").any()
    assert displayed["region"].str.startswith("'=").any()
    expected = _expected_table(at, base=read_table(path, text_columns=("customer_id",)))
    contacted = expected[expected["action"] != DEFAULT_ACTION]
    assert data == customers.to_safe_csv(contacted)
    assert len(body) == len(contacted)
    assert not set(SCORE_COLUMNS) - set(header)
