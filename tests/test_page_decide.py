"""The Decide page, driven with AppTest: the shown figures are the library's."""

from __future__ import annotations

import json

import pandas as pd
import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest

from churn import charts, targeting
from churn.decisions import Choice
from churn.economics import Action, Economics
from churn.formatting import percent
from churn.policy import (
    baseline_profits,
    decide_on_holdout,
    on_customers,
    review_on_customers,
)
from churn.scenario import Scenario, default_scenario

TIMEOUT = 120


def _open(params: dict[str, str] | None = None) -> AppTest:
    app = AppTest.from_file("../app.py", default_timeout=TIMEOUT)
    for key, value in (params or {}).items():
        app.query_params[key] = value
    app.run()
    app.switch_page("app_pages/decide.py")
    app.run()
    assert not app.exception, app.exception
    return app


def _shown(app: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in app.metric}


def _expected(choice: Choice) -> dict[str, str]:
    from app_pages.common import sample_artifact

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
    from app_pages.common import sample_artifact

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


def _curve_data(app: AppTest) -> pd.DataFrame:
    for chart in app.get("vega_lite_chart"):
        for dataset in chart.proto.datasets:
            frame = pa.ipc.open_stream(dataset.data.data).read_pandas()
            if "profit_per_customer_low" in frame.columns:
                return frame
    raise AssertionError("no chart sends the profit curve")


def _expected_curve(decision) -> pd.DataFrame:
    spec = charts.profit_curve_chart(decision.curve, decision.row, decision.best_row).to_dict()
    (rows,) = [v for v in spec["datasets"].values() if "profit_per_customer_low" in v[0]]
    return pd.DataFrame(rows)


def _app_decision(app: AppTest):
    from app_pages.common import sample_artifact

    artifact = sample_artifact()
    params = {k: app.query_params[k] for k in app.query_params}
    scenario = Scenario.from_query(params, list(artifact.holdout_data.columns))
    return decide_on_holdout(artifact, scenario.economics, scenario.choice)


def test_the_charts_follow_the_economics_and_capacities():
    """A new customer value or an action's capacity changes the curve: no stale chart."""
    from app_pages.common import sample_artifact

    columns = list(sample_artifact().holdout_data.columns)
    actions = json.loads(default_scenario(columns).to_query()["actions"])
    capped = json.dumps([[*a[:4], 0.1] for a in actions])
    app = _open({"method": "top_share", "value": "0.3", "actions": capped})
    for step in ("capacity", "value", "share"):
        if step == "value":
            app.radio(key="decide_value_kind").set_value("The same for every customer").run()
            app.number_input(key="decide_value_constant").set_value(450.0).run()
        if step == "share":
            app.slider(key="decide_share").set_value(15).run()
        assert not app.exception
        decision = _app_decision(app)
        shown, expected = _curve_data(app), _expected_curve(decision)
        assert shown["profit_per_customer"].tolist() == pytest.approx(
            expected["profit_per_customer"].tolist()
        )
        points = _chart_data(app, charts.PROFIT_POINTS).to_dict("records")
        assert points == charts.profit_points(decision.curve, decision.row, decision.best_row)
    assert app.query_params["const"] == "450.0"


def test_query_string_restores_a_scenario():
    app = _open(
        {"method": "top_share", "value": "0.15", "const": "900", "actions": '[["Call",5,20,0.25]]'}
    )
    assert app.radio(key="decide_method").value == "top_share"
    shown = _shown(app)
    from app_pages.common import sample_artifact

    artifact = sample_artifact()
    economics = Economics((Action("Call", 5, 20, 0.25),), 900.0)
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
    app.switch_page("app_pages/decide.py")
    app.run()
    assert not app.exception
    assert app.radio(key="decide_method").value == "max_profit"  # the default, shown


def _sample_base_and_default_decision():
    """The sample's latest snapshot, scored, and the default (maximum-profit) decision."""
    from churn.data import read_table
    from churn.sample import NEW_BATCH_PATH
    from churn.training import scored_customers
    from app_pages.common import sample_artifact

    artifact = sample_artifact()
    base = scored_customers(artifact, read_table(NEW_BATCH_PATH, text_columns=("customer_id",)))
    scenario = Scenario.from_query({}, list(artifact.holdout_data.columns))
    decision = decide_on_holdout(artifact, scenario.economics, Choice("max_profit"))
    return base, scenario.economics, decision


def test_review_count_is_the_librarys():
    app = _open()
    base, economics, decision = _sample_base_and_default_decision()
    ahead = on_customers(decision, economics, base, "customer_id")
    texts = " ".join(m.value for m in app.markdown)
    assert f"{ahead['review']:,} of the {len(base):,} customers in the current base" in texts
    contacted = ahead["estimated"]["contacted"]
    assert f"contacts exactly {contacted:,}" in " ".join(i.value for i in app.info)


def test_the_review_list_is_ranked_by_worth_and_cut_where_the_team_says():
    from churn.formatting import money

    app = _open()
    base, economics, decision = _sample_base_and_default_decision()
    doubtful = review_on_customers(decision, economics, base, "customer_id")
    assert len(doubtful) == on_customers(decision, economics, base, "customer_id")["review"]
    assert app.number_input(key="decide_review_n").value == 100
    app.number_input(key="decide_review_n").set_value(40).run()
    worth = targeting.review_worth(doubtful, 40)
    texts = " ".join(m.value for m in app.markdown)
    assert (
        f"Reviewing the **40** with the most at stake is worth about **{money(worth['worth'])}**"
        in texts
    )
    (table,) = [d.value for d in app.dataframe if "worth" in d.value.columns]
    assert table["customer_id"].tolist() == doubtful["customer_id"].head(40).tolist()
    assert table["worth"].is_monotonic_decreasing
