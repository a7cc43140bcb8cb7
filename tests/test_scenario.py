"""Scenario: the PM's choice and economics, round-tripped through the query string."""

from __future__ import annotations

import pytest

from churn.decisions import Choice
from churn.economics import Action, Economics, default_economics
from churn.errors import ChurnInputError
from churn.scenario import Scenario, default_scenario

COLUMNS = ["monthly_charges", "tenure_months"]


@pytest.mark.parametrize(
    "choice",
    [
        Choice("max_profit"),
        Choice("threshold", 0.35),
        Choice("top_share", 0.125),
        Choice("precision", 0.6),
        Choice("recall", 0.8),
        Choice("top_n", 300),
    ],
)
def test_round_trip_through_the_query_string(choice):
    economics = Economics(
        (
            Action('Call, with "quotes" & commas', 12.5, 40, 0.3, max_share=0.1),
            Action("SMS", 0.2, 0, 0.05),
        ),
        value_column="monthly_charges",
        value_multiplier=24,
    )
    scenario = Scenario(choice, economics)
    params = scenario.to_query()
    assert all(isinstance(v, str) for v in params.values())
    back = Scenario.from_query(params, COLUMNS)
    assert back == scenario and back.problems == ()


def test_constant_value_round_trip():
    scenario = Scenario(Choice("threshold", 0.5), Economics(default_economics().actions, 750.0))
    assert Scenario.from_query(scenario.to_query(), COLUMNS) == scenario


def test_empty_query_gives_the_default():
    assert Scenario.from_query({}, COLUMNS) == default_scenario(COLUMNS)


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        ({"method": "threshold", "value": "abc"}, "policy choice"),
        ({"method": "threshold", "value": "1.7"}, "policy choice"),
        ({"method": "sideways"}, "policy choice"),
        ({"actions": "not json"}, "actions"),
        ({"actions": '[["x", -1, 0, 0.5]]'}, "actions"),
        ({"actions": '[["x", 1, 0, 2]]'}, "actions"),
        ({"value_col": "no_such_column", "mult": "12"}, "customer value"),
        ({"const": "-5"}, "customer value"),
        ({"actions": "[]"}, "actions"),
        ({"actions": '[["a", 1, 0, 0.5], ["a", 2, 0, 0.5]]'}, "actions"),
        ({"actions": '[["a", 1]]'}, "actions"),
        ({"actions": '[["None", 1, 0, 0.5]]'}, "actions"),
    ],
)
def test_a_mangled_link_falls_back_and_says_why(params, problem):
    scenario = Scenario.from_query(params, COLUMNS)
    default = default_scenario(COLUMNS)
    assert any(problem in p for p in scenario.problems)
    if "method" in params:
        assert scenario.choice == default.choice
    if "actions" in params:
        assert scenario.economics.actions == default.economics.actions


def test_money_and_choices_survive_the_link_exactly():
    scenario = Scenario(
        Choice("threshold", 0.123456789), Economics(default_economics().actions, 1234567.0)
    )
    back = Scenario.from_query(scenario.to_query(), COLUMNS)
    assert back.economics.value_constant == 1234567.0
    assert back.choice.value == 0.123456789


def test_a_scenario_that_targets_by_uplift_round_trips_and_bad_links_fall_back():
    base = default_scenario()
    scenario = Scenario(
        choice=Choice("top_share", 0.2),
        economics=base.economics,
        target="uplift",
        tested_action="Email offer",
    )
    query = scenario.to_query()
    assert query["target"] == "uplift" and query["tested"] == "Email offer"
    back = Scenario.from_query(query)
    assert back == scenario and not back.problems
    assert "target" not in base.to_query()  # churn-risk links are as before
    with pytest.raises(ChurnInputError, match="chosen by max_profit, threshold"):
        Scenario(choice=Choice("precision", 0.5), economics=base.economics, target="uplift")
    with pytest.raises(ChurnInputError, match="no action 'Letter'"):
        Scenario(choice=Choice("max_profit"), economics=base.economics, tested_action="Letter")
    odd = Scenario.from_query({**query, "method": "recall", "value": "0.5"})
    assert odd.target == "churn_probability" and odd.tested_action is None
    assert any("target (uplift)" in p for p in odd.problems)
    unknown = Scenario.from_query({**query, "tested": "Letter"})
    assert unknown.target == "uplift" and unknown.tested_action is None
    assert any("tested action (Letter)" in p for p in unknown.problems)
