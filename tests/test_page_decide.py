"""The Decide page, driven with AppTest: the shown figures are the library's."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest

from churn import charts, decisions
from churn.decisions import Choice
from churn.policy import baseline_profits, decide_on_holdout
from churn.report import percent
from churn.scenario import Scenario

TIMEOUT = 120


def _open(params: dict[str, str] | None = None) -> AppTest:
    app = AppTest.from_file("../app.py", default_timeout=TIMEOUT)
    for key, value in (params or {}).items():
        app.query_params[key] = value
    app.run()
    app.switch_page("pages/decide.py")
    app.run()
    assert not app.exception, app.exception
    return app


def _shown(app: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in app.metric}


def _expected(choice: Choice) -> dict[str, str]:
    from pages.common import sample_artifact

    artifact = sample_artifact()
    scenario = Scenario.from_query({}, list(artifact.holdout_data.columns))
    decision = decide_on_holdout(artifact, scenario.economics, choice)
    return {
        "Contacted": percent(decision.share_targeted),
        "Precision": percent(decision.precision),
        "Recall": percent(decision.recall),
    }


def test_default_is_maximum_profit_with_the_library_figures():
    app = _open()
    shown = _shown(app)
    expected = _expected(Choice("max_profit"))
    assert {k: shown[k] for k in expected} == expected


def test_moving_the_threshold_changes_the_counts_to_the_library_values():
    app = _open()
    app.radio(key="decide_method").set_value("threshold").run()
    for value in (0.25, 0.6):
        app.slider(key="decide_threshold").set_value(value).run()
        assert not app.exception
        shown = _shown(app)
        expected = _expected(Choice("threshold", value))
        assert {k: shown[k] for k in expected} == expected
    assert app.query_params["method"] == "threshold"
    assert app.query_params["value"] == "0.6"


def _chart_data(app: AppTest, name: str) -> pd.DataFrame:
    """A named dataset of one of the page's Vega-Lite charts, as the browser receives it."""
    for chart in app.get("vega_lite_chart"):
        for dataset in chart.proto.datasets:
            if dataset.name == name:
                return pa.ipc.open_stream(dataset.data.data).read_pandas()
    raise AssertionError(f"no chart sends a dataset named {name}")


def test_the_charts_follow_the_threshold():
    """Built once per economics, the charts still show the chosen policy after each move."""
    from pages.common import sample_artifact

    artifact = sample_artifact()
    scenario = Scenario.from_query({}, list(artifact.holdout_data.columns))
    app = _open()
    app.radio(key="decide_method").set_value("threshold").run()
    for value in (0.25, 0.6):
        app.slider(key="decide_threshold").set_value(value).run()
        decision = decide_on_holdout(artifact, scenario.economics, Choice("threshold", value))
        points = _chart_data(app, charts.PROFIT_POINTS)
        expected = charts.profit_points(decision.curve, decision.row, decision.best_row)
        assert points.to_dict("records") == expected
        bars = _chart_data(app, charts.COMPARISON).set_index("option")["profit"]
        chosen = baseline_profits(artifact, scenario.economics, decision)["chosen"]
        assert bars["Your policy"] == pytest.approx(chosen)


def test_query_string_restores_a_scenario():
    app = _open(
        {"method": "top_share", "value": "0.15", "const": "900", "actions": '[["Call",5,20,0.25]]'}
    )
    assert app.radio(key="decide_method").value == "top_share"
    shown = _shown(app)
    from pages.common import sample_artifact

    artifact = sample_artifact()
    economics = decisions.Economics((decisions.Action("Call", 5, 20, 0.25),), 900.0)
    decision = decide_on_holdout(artifact, economics, Choice("top_share", 0.15))
    assert shown["Contacted"] == percent(decision.share_targeted)
    assert shown["Precision"] == percent(decision.precision)
    assert decision.share_targeted <= 0.15


def test_a_mangled_link_is_a_sentence_not_a_traceback():
    app = AppTest.from_file("../app.py", default_timeout=TIMEOUT)
    app.query_params["method"] = "threshold"
    app.query_params["value"] = "lots"
    app.query_params["actions"] = "[[broken"
    app.run()
    assert not app.exception
    warnings = " ".join(w.value for w in app.warning)
    assert "could not be used in full" in warnings
    app.switch_page("pages/decide.py")
    app.run()
    assert not app.exception
    assert app.radio(key="decide_method").value == "max_profit"  # the default, shown


def test_review_count_is_the_librarys():
    from pages.common import sample_artifact

    app = _open()
    artifact = sample_artifact()
    from pages.common import _scored_base

    base = _scored_base(artifact, artifact.fingerprint)
    scenario = Scenario.from_query({}, list(artifact.holdout_data.columns))
    decision = decide_on_holdout(artifact, scenario.economics, Choice("max_profit"))
    ahead = decisions.outlook(
        base["churn_probability"].to_numpy(),
        scenario.economics.customer_value(base, len(base)),
        decision.rules,
        scenario.economics,
        low=base["probability_low"].to_numpy(),
        high=base["probability_high"].to_numpy(),
    )
    texts = " ".join(m.value for m in app.markdown)
    assert f"{ahead['review']:,} of the {len(base):,} customers in the current base" in texts
    assert f"contacts {ahead['contacted']:,}" in " ".join(i.value for i in app.info)
