"""Sentences and tables of the "Did it work?" page, and the campaign's column suggestions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from churn.campaign import AverageEffect, average_effect, balance
from churn.campaign_report import (
    assumption_table,
    balance_display,
    balance_sentence,
    direction,
    treated_flags,
    verdict,
    with_success_rate,
)
from churn.economics import DEFAULT_ACTIONS, Economics
from churn.errors import ChurnInputError
from churn.sample import CAMPAIGN_PATH
from churn.suggest import suggest_campaign_roles


@pytest.fixture(scope="module")
def campaign() -> pd.DataFrame:
    return pd.read_csv(CAMPAIGN_PATH, dtype={"customer_id": str})


def _effect(control: float, contacted: float, low: float, high: float) -> AverageEffect:
    success = 1 - contacted / control
    return AverageEffect(
        contacted_rate=contacted,
        control_rate=control,
        ate=contacted - control,
        ate_low=low,
        ate_high=high,
        success_rate=max(success, 0.0),
        success_low=0.0,
        success_high=max(success, 0.0) + 0.05,
        success_unclipped=success,
    )


def test_verdict_on_the_sample_campaign_says_reduced_with_its_interval(campaign):
    effect = average_effect(campaign["churned"], campaign["contacted"])
    assert direction(effect) == "reduced"
    assert verdict(effect) == (
        "Contacting reduced churn by 5.7 percentage points, from 24.5% in the control group "
        "to 18.9% among the contacted customers (95% interval: 3.9 to 7.5 points)."
    )


@pytest.mark.parametrize(
    ("effect", "how", "start"),
    [
        (_effect(0.20, 0.26, 0.03, 0.09), "raised", "Contacting raised churn by 6.0 percentage"),
        (_effect(0.20, 0.19, -0.03, 0.01), "unclear", "The campaign shows no clear effect"),
    ],
)
def test_verdict_when_contact_backfires_or_shows_nothing(effect, how, start):
    assert direction(effect) == how
    text = verdict(effect)
    assert text.startswith(start) and text.endswith(".") and ". " not in text
    if how == "raised":
        assert "(95% interval: 3.0 to 9.0 points)" in text
    else:
        assert "change of -1.0 points" in text and "(-3.0 to +1.0 points)" in text


def test_assumed_success_rates_are_placed_against_the_measured_interval(campaign):
    effect = average_effect(campaign["churned"], campaign["contacted"])  # 23.1% (16.4-29.3)
    table = assumption_table(effect, Economics(DEFAULT_ACTIONS))
    assert list(table.index) == ["Email offer", "Call + discount"]
    assert table["assumed"].tolist() == [0.10, 0.35]
    assert table["position"].tolist() == ["below", "above"]
    assert (table["measured"] == effect.success_rate).all()
    assert "Call + discount assumes 35.0%" in table.loc["Call + discount", "sentence"]
    assert "too optimistic" in table.loc["Call + discount", "sentence"]
    within = with_success_rate(Economics(DEFAULT_ACTIONS), "Email offer", 0.2)
    assert assumption_table(effect, within).loc["Email offer", "position"] == "within"


def test_with_success_rate_replaces_one_action_and_keeps_the_rest():
    economics = Economics(DEFAULT_ACTIONS, value_column="monthly_charges", value_multiplier=12.0)
    changed = with_success_rate(economics, "Call + discount", 0.2314)
    assert changed.actions[1].success_rate == 0.2314
    assert changed.actions[0] == economics.actions[0]
    assert (changed.value_column, changed.value_multiplier) == ("monthly_charges", 12.0)
    with pytest.raises(ChurnInputError, match="no action 'Letter'"):
        with_success_rate(economics, "Letter", 0.2)
    with pytest.raises(ChurnInputError, match="between 0 and 1"):
        with_success_rate(economics, "Email offer", 1.5)


def test_balance_sentence_and_table_on_a_random_and_on_a_targeted_split(campaign):
    features = campaign.drop(columns=["customer_id", "contacted", "churned"])
    fair = balance(features, campaign["contacted"])
    assert balance_sentence(fair).startswith("The split looks random")
    shown = balance_display(fair, n=5)
    assert list(shown.columns) == ["Feature", "Largest difference", "|SMD|", "Balanced"]
    assert len(shown) == 5 and (shown["Balanced"] == "yes").all()
    assert shown["Feature"].iloc[0] == fair.table.index[0]
    assert shown["|SMD|"].is_monotonic_decreasing
    level = fair.table["level"].iloc[0]
    assert shown["Largest difference"].iloc[0] == f"{fair.table['smd'].iloc[0]:+.2f}" + (
        f" ({level})" if level else ""
    )
    # contact given to the month-to-month customers first: not a random split
    targeted = (campaign["contract_type"] == "Month-to-month").astype(int)
    skewed = balance(features, targeted)
    assert balance_sentence(skewed) == skewed.message != ""
    assert balance_display(skewed)["Balanced"].iloc[0] == "no"


def test_treated_flags_with_a_named_value_and_without():
    arm = pd.Series(["call", "control", "letter", None, "call"], name="arm")
    flags = treated_flags(arm, "call")
    assert flags.tolist()[:3] == [1.0, 0.0, 0.0] and np.isnan(flags.iloc[3])
    assert flags.iloc[4] == 1.0
    same = pd.Series([1, 0, 1], name="contacted")
    assert treated_flags(same) is same
    with pytest.raises(ChurnInputError, match="no value 'email'"):
        treated_flags(arm, "email")
    with pytest.raises(ChurnInputError, match="no control group"):
        treated_flags(pd.Series(["call", "call"], name="arm"), "call")
    numbers = treated_flags(pd.Series([2.0, 1.0, 0.0], name="arm"), "2")
    assert numbers.tolist() == [1.0, 0.0, 0.0]


def test_campaign_roles_are_suggested_on_the_sample(campaign):
    roles = suggest_campaign_roles(campaign)
    assert roles["target"][0] == "churned"
    assert roles["treatment"] == ["contacted"]
    assert roles["treated"] == {"contacted": "1"}
    assert roles["id_column"] == ["customer_id"]
    assert "contacted" not in roles["target"]
    assert roles["why"]["treatment"]["contacted"].startswith("2 values; the name says contact")


def test_campaign_roles_of_a_multi_arm_export(campaign):
    frame = campaign.rename(columns={"churned": "Left", "customer_id": "Account Number"})
    frame["Test Group"] = np.where(frame.pop("contacted") == 1, "Retention call", "Control")
    frame.loc[:99, "Test Group"] = "Letter"
    frame["age_group"] = pd.cut(frame["age"], [0, 30, 50, 120]).astype(str)
    roles = suggest_campaign_roles(frame)
    assert roles["target"][0] == "Left"
    assert roles["treatment"][0] == "Test Group"  # weak name, but a value says control
    assert roles["treated"]["Test Group"] is None  # three values: the user names it
    assert roles["id_column"] == ["Account Number"]
    two = frame.assign(**{"Test Group": frame["Test Group"].replace("Letter", "Control")})
    assert suggest_campaign_roles(two)["treated"]["Test Group"] == "Retention call"
