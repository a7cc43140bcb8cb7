"""The Monitor page ("Is it still working?") and the drift banner, driven headless with AppTest."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from churn import monitor
from churn.data import read_table
from churn.formatting import percent
from churn.policy import decide_on_holdout
from churn.sample import NEW_BATCH_PATH, generate_customers
from churn.scenario import default_scenario

TIMEOUT = 120


@pytest.fixture(scope="module")
def app() -> Iterator[tuple[AppTest, list[str]]]:
    """The app on its landing page (its warnings kept), then switched to the Monitor page."""
    at = AppTest.from_file("../app.py", default_timeout=TIMEOUT)
    at.run()
    landing_warnings = [w.value for w in at.warning]
    at.switch_page("app_pages/monitor.py")
    at.run()
    yield at, landing_warnings


@pytest.fixture(scope="module")
def expected() -> monitor.MonitorReport:
    """The library's report on the default batch with the session's default policy."""
    from app_pages.common import sample_artifact

    artifact = sample_artifact()
    scenario = default_scenario(list(artifact.holdout_data.columns))
    rules = decide_on_holdout(artifact, scenario.economics, scenario.choice).rules
    batch = read_table(NEW_BATCH_PATH, text_columns=("customer_id",))
    return monitor.monitor(artifact, batch, rules, scenario.economics)


def test_renders_without_exceptions(app):
    at, _ = app
    assert not at.exception
    assert at.title[0].value == "Is it still working?"


def test_the_shown_psi_values_are_the_librarys(app, expected):
    at, _ = app
    table = at.dataframe[0].value
    assert table["name"].tolist() == expected.drift.features["name"].tolist()
    assert np.allclose(table["psi"], expected.drift.features["psi"], rtol=0, atol=1e-12)
    assert table["status"].tolist() == expected.drift.features["status"].tolist()
    # a change in a share is a difference in points: 0.91% to 0.70% is -0.2 points
    library = expected.drift.features["missing_change"].to_numpy()
    assert np.allclose(table["missing_change"], 100 * library, rtol=0, atol=1e-9)
    shown = {m.label: m.value for m in at.metric}
    assert shown["Churn score PSI"] == f"{expected.drift.score_psi:.3f}"
    assert shown["Customers in the batch"] == "5,000"
    assert monitor.headline(expected) in [w.value for w in at.warning]  # significant
    assert not at.error


def test_the_drift_banner_shows_when_drift_is_significant(app, expected):
    """``app.py`` draws the banner above every page. AppTest drops what ``app.py`` itself
    draws (the sidebar too) after ``switch_page``, so the banner is checked on the page
    the app opens on; the Monitor page states the same drift in its headline."""
    from app_pages.common import BANNER_WHERE

    _, landing_warnings = app
    assert expected.status == "significant"
    (banner,) = monitor.banner_messages(expected, where=BANNER_WHERE, drift_by_design=True)
    assert banner in landing_warnings
    assert "payment_method" in banner and "recent_price_increase" in banner
    assert "drifted on purpose" in banner  # a first visitor of the sample is not alarmed


def test_estimated_and_realised_figures_are_the_librarys(app, expected):
    at, _ = app
    table = at.table[0].value
    perf = expected.performance
    assert table.loc["Precision", "Estimated from the probabilities"] == percent(
        perf["estimated"]["precision"]
    )
    assert table.loc["Recall", "Realised (labels)"] == percent(perf["realised"]["recall"])
    charts = [e for e in at.main if getattr(e, "type", "").endswith("vega_lite_chart")]
    assert len(charts) == 3  # PSI bars, distribution, calibration


def test_choosing_a_feature_draws_its_distribution(app):
    at, _ = app
    at.selectbox(key="monitor_feature").select("recent_price_increase").run()
    assert not at.exception
    at.selectbox(key="monitor_feature").select("churn_probability").run()
    assert not at.exception


def test_the_upload_option_waits_for_a_file(app):
    at, _ = app
    at.radio(key="monitor_source").set_value("Upload a file").run()
    assert not at.exception
    assert any("Upload a batch" in i.value for i in at.info)


def test_an_uploaded_batch_is_monitored(app):
    at, _ = app
    frame, _ = generate_customers(3_000, seed=9, id_offset=80_000)
    data = frame.drop(columns="churned").to_csv(index=False).encode()
    at.radio(key="monitor_source").set_value("Upload a file").run()
    at.file_uploader(key="monitor_upload").set_value(("fresh.csv", data, "text/csv")).run()
    assert not at.exception and not at.error
    assert at.success[0].value.startswith("Stable")  # same process: no drift
    assert {m.label: m.value for m in at.metric}["Customers in the batch"] == "3,000"
    assert "Realised (labels)" not in at.table[0].value.columns
    assert any("no 'churned' column" in i.value for i in at.info)
    # the uploaded batch's report is kept in this session only, not in a server-wide cache
    memo = at.session_state["_upload_cache"]
    assert any(key[0] == "_monitor_report" for key in memo)


def test_a_bad_upload_is_a_sentence(app):
    at, _ = app
    frame, _ = generate_customers(500, seed=10)
    data = frame.drop(columns=["age", "plan"]).to_csv(index=False).encode()
    at.radio(key="monitor_source").set_value("Upload a file").run()
    at.file_uploader(key="monitor_upload").set_value(("short.csv", data, "text/csv")).run()
    assert not at.exception
    (error,) = at.error
    assert "missing 2 column(s)" in error.value and "age" in error.value
