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
    assert verdict["headline"] in banners
    assert artifact.info["rule_text"] in [t.value for t in overview.text]
