"""The Streamlit app, driven headless with AppTest."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from churn import report

TIMEOUT = 120


@pytest.fixture(scope="module")
def overview() -> AppTest:
    app = AppTest.from_file("../app.py", default_timeout=TIMEOUT)
    app.run()
    return app


def test_overview_renders_without_exceptions(overview):
    assert not overview.exception
    assert overview.title[0].value == "Can we rely on it?"


def test_overview_shows_the_library_figures(overview):
    from pages.common import sample_artifact

    artifact = sample_artifact()
    summary = report.data_summary(artifact)
    shown = {m.label: m.value for m in overview.metric}
    assert shown["Customers"] == f"{summary['rows']:,}"
    assert shown["Churn rate (base rate)"] == f"{summary['churn_rate']:.1%}"
    assert shown["Holdout customers"] == f"{summary['holdout_rows']:,}"
    verdict = report.verdict(artifact)
    banners = [e.value for e in overview.success] + [e.value for e in overview.warning]
    assert any(b.startswith(verdict["headline"]) for b in banners)
    assert all(any(line in b for b in banners) for line in verdict["details"])
    assert artifact.info["rule_text"] in [t.value for t in overview.text]


def test_a_run_freezes_the_long_lived_objects(overview):
    """Streamlit's gc.collect() after each run skips what the server keeps for good."""
    import gc

    assert gc.get_freeze_count() > 100_000


def test_overview_detail_tables_are_drawn_only_when_opened(overview):
    """Closed, the expanders send nothing (a new visitor's browser has less to draw)."""
    from pages.common import sample_artifact

    assert [e.label for e in overview.expander] == [
        "All metrics with intervals",
        "Expected maximum profit (EMP) per customer",
    ]
    assert not overview.table
    app = AppTest.from_file("../app.py", default_timeout=TIMEOUT)
    app.session_state["overview_all_metrics"] = True
    app.session_state["overview_emp"] = True
    app.run()
    assert not app.exception
    metrics, emp = (t.value for t in app.table)
    artifact = sample_artifact()
    expected = report.metrics_table(artifact)
    assert metrics["Value"].tolist() == expected["value"].map("{:.3f}".format).tolist()
    first = expected.iloc[0]
    assert metrics["95% interval"].iloc[0] == f"{first['low']:.3f} – {first['high']:.3f}"
    emp_expected = report.emp_table(artifact)
    assert emp["EMP per customer"].tolist() == [report.money(x, 2) for x in emp_expected["emp"]]
