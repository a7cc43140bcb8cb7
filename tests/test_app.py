"""The Streamlit app, driven headless with AppTest."""

from __future__ import annotations

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from churn import formatting, report

TIMEOUT = 120


#: What the "Did it work?" page computes, which the landing page must never pay for.
CAMPAIGN_WORK = ("_campaign_model", "_campaign_effect", "_campaign_balance")


def _refuse(name: str):
    def refused(*args, **kwargs):
        raise AssertionError(f"the landing page called {name}")

    return refused


@pytest.fixture(scope="module")
def overview() -> AppTest:
    import app_pages.common as common

    with pytest.MonkeyPatch.context() as mp:  # the landing page never touches the campaign
        for name in CAMPAIGN_WORK:
            mp.setattr(common, name, _refuse(name))
        app = AppTest.from_file("../app.py", default_timeout=TIMEOUT)
        app.run()
    return app


def test_overview_renders_without_exceptions(overview):
    assert not overview.exception  # (nor the campaign's work: see the fixture)
    assert "campaign_model_ready" not in overview.session_state
    assert overview.title[0].value == "Can we rely on it?"


def test_overview_shows_the_library_figures(overview):
    from app_pages.common import sample_artifact

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
    assert artifact.info.rule_text in [t.value for t in overview.text]


def test_imported_libraries_are_frozen_but_session_data_is_collected(overview):
    """The libraries are left out of Streamlit's post-run gc.collect(); nothing a visitor
    brings after the warm-up is: data alive during later runs, even in a reference cycle,
    is still freed."""
    import gc
    import sys
    import types
    import weakref

    import altair
    import lightgbm
    import sklearn.linear_model
    import streamlit

    import app_pages.common

    assert not app_pages.common._WARM_UP, "a warm-up timer ran in the tests' process"
    # the first page's libraries were frozen when the app imported app_pages.common; the
    # warm-up freezes LightGBM and scikit-learn once imported (run here, not on a timer)
    app_pages.common._build_and_import(app_pages.common.sample_artifact())

    def collectable(*objects: object) -> list[bool]:
        """Whether each object is in the collector's generations (frozen ones are not)."""
        seen = {id(o) for o in gc.get_objects()}
        return [id(o) in seen for o in objects]

    library = [
        pd.DataFrame,
        pd.read_csv,
        sklearn.linear_model.LogisticRegression,
        lightgbm.Booster,
        altair.Chart,
        streamlit.cache_data,
    ]
    assert all(gc.is_tracked(o) for o in library)
    assert collectable(*library) == [False] * len(library)  # frozen

    class SessionData:  # a page's namespace holds its data in a cycle like this one
        pass

    data = SessionData()
    data.self = data
    data.frame = pd.DataFrame({"x": range(1000)})
    probe = weakref.ref(data)
    # a run that sees a module it has not seen before (an import on a page) freezes nothing
    new_module = types.ModuleType("_churn_test_new_module")
    sys.modules["_churn_test_new_module"] = new_module
    try:
        app = AppTest.from_file("../app.py", default_timeout=TIMEOUT)
        app.run()
        app.switch_page("app_pages/decide.py")
        app.run()
        assert not app.exception
        assert collectable(data, new_module, app) == [True, True, True]
    finally:
        del sys.modules["_churn_test_new_module"]
    del data
    gc.collect()
    assert probe() is None


def test_overview_detail_tables_are_drawn_only_when_opened(overview):
    """Closed, the expanders send nothing (a new visitor's browser has less to draw)."""
    from app_pages.common import sample_artifact

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
    assert emp["EMP per customer"].tolist() == [formatting.money(x, 2) for x in emp_expected["emp"]]
