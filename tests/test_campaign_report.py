"""Sentences and tables of the "Did it work?" page, and the campaign's column suggestions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from churn import charts
from churn.campaign import AverageEffect, average_effect, balance
from churn.campaign_report import (
    assumption_table,
    backfire_display,
    backfire_sentence,
    balance_display,
    balance_sentence,
    campaign_command,
    decile_display,
    describe_uplift_policy,
    direction,
    kept_display,
    kept_sentence,
    qini_frame,
    uplift_action_list,
    uplift_on_customers,
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


# ------------------------------------------------- the holdout comparison and backfire
def _qini(kept_at_full: float, ate: float) -> pd.DataFrame:
    share = np.linspace(0, 1, 5)
    kept = kept_at_full * np.sqrt(share)
    return pd.DataFrame(
        {
            "share": share,
            "contacted": (share * 1600).astype(int),
            "kept": kept,
            "kept_low": kept - 5,
            "kept_high": kept + 5,
            "random": ate * 1000 * share,
            "random_low": (ate - 0.01) * 1000 * share,
            "random_high": (ate + 0.01) * 1000 * share,
        }
    )


KEPT = pd.DataFrame(
    {
        "ranking": ["uplift"] * 2 + ["churn_risk"] * 2 + ["random"] * 2,
        "budget": [0.1, 0.2] * 3,
        "contacts": [160, 320] * 3,
        "kept_per_1000": [151.2, 120.0, 80.4, 70.0, 56.7, 56.7],
        "kept_low": [90.0, 80.0, 20.0, 30.0, 38.0, 38.0],
        "kept_high": [210.0, 160.0, 140.0, 110.0, 75.0, 75.0],
    }
)


def test_qini_frame_has_each_ranking_and_the_random_line_once():
    frame = qini_frame(
        {"uplift": _qini(57, 0.057), "churn_risk": _qini(57, 0.057).to_dict("records")}
    )
    assert list(frame.columns) == ["ranking", "share", "kept", "low", "high"]
    assert frame["ranking"].value_counts().to_dict() == {
        "By measured uplift": 5,
        "By churn risk": 5,
        "At random": 5,
    }
    random = frame[frame["ranking"] == "At random"]
    assert random["kept"].iloc[-1] == pytest.approx(57.0)
    assert (frame["low"] <= frame["kept"]).all() and (frame["kept"] <= frame["high"]).all()
    spec = charts.qini_chart(frame).to_dict()  # a valid Vega-Lite spec
    assert spec["layer"][2]["encoding"]["y"]["title"] == "Customers kept per 1,000 customers"
    assert qini_frame({}).empty


def test_kept_per_1000_contacts_table_and_sentence():
    shown = kept_display(KEPT)
    assert list(shown.columns) == ["Budget", "By measured uplift", "By churn risk", "At random"]
    assert shown["Budget"].tolist() == [
        "10% of the customers (160 contacts)",
        "20% of the customers (320 contacts)",
    ]
    assert shown.loc[1, "By measured uplift"] == "120 (80 to 160)"
    assert shown.loc[0, "By churn risk"] == "80 (20 to 140)"
    assert kept_display(KEPT.to_dict("records")).equals(shown)
    assert kept_sentence(KEPT) == (
        "Contacting 20% of the customers of the campaign's holdout, targeting by measured "
        "uplift keeps 120 (80 to 160) customers per 1,000 contacts; by churn risk 70 (30 to "
        "110), at random 57 (38 to 75) (95% intervals)."
    )
    assert kept_sentence(KEPT, budget=0.12).startswith("Contacting 10% of the customers")


def test_backfire_groups_for_people():
    groups = pd.DataFrame(
        {
            "group": ["contract_type is Two year and tenure_months > 23.5", "everybody else"],
            "customers": [917, 7083],
            "contacted": [460, 3540],
            "control": [457, 3543],
            "share": [0.115, 0.885],
            "estimated_uplift": [-0.03, 0.06],
            "contacted_rate": [0.081, 0.20],
            "control_rate": [0.035, 0.27],
            "effect": [0.046, -0.07],
            "effect_low": [0.017, -0.09],
            "effect_high": [0.076, -0.05],
            "backfires": [True, False],
        }
    )
    shown = backfire_display(groups)
    assert shown["Effect of contacting"].tolist() == [
        "+4.6 points (+1.7 to +7.6)",
        "-7.0 points (-9.0 to -5.0)",
    ]
    assert shown["Backfires"].tolist() == ["yes", "no"]
    assert backfire_sentence(groups) == (
        "Contacting raised churn in 1 group: contract_type is Two year and tenure_months > 23.5 "
        "(917 customers: 8.1% churned when contacted against 3.5% when not, +4.6 points, 95% "
        "interval +1.7 to +7.6)."
    )
    calm = groups.assign(backfires=False)
    assert backfire_sentence(calm).startswith("No group of customers shows churn measurably")


# ------------------------------------------------------------ acting on customers by uplift
@pytest.fixture(scope="module")
def campaign_model(campaign_trained):
    """The sample campaign's model (shared with the other test modules; read-only)."""
    return campaign_trained


def _uplift_policy(model, choice):
    from churn.uplift_decisions import build_uplift_policy, decide_on_campaign

    economics = Economics(DEFAULT_ACTIONS, value_column="monthly_charges", value_multiplier=12.0)
    decision = decide_on_campaign(model, economics, choice)
    return economics, build_uplift_policy(decision, economics, model.fingerprint)


def test_uplift_on_customers_and_the_uplift_action_list(campaign_model):
    from churn.campaign_model import score_campaign_frame
    from churn.decisions import Choice
    from churn.sample import NEW_BATCH_PATH

    batch = pd.read_csv(NEW_BATCH_PATH, dtype={"customer_id": str}).head(1000)
    economics, policy = _uplift_policy(campaign_model, Choice("top_share", 0.1))
    scored = uplift_on_customers(campaign_model, batch, policy)
    assert scored["customer_id"].tolist() == batch["customer_id"].tolist()  # input order
    plain = score_campaign_frame(campaign_model, batch)
    pd.testing.assert_frame_equal(scored.drop(columns="action"), plain)
    contacted = scored["action"] != "none"
    assert contacted.sum() == 100  # exactly the capacity: 10% of 1,000
    assert scored.loc[contacted, "uplift"].min() >= scored.loc[~contacted, "uplift"].max()
    assert "action" not in uplift_on_customers(campaign_model, batch).columns

    table = uplift_action_list(
        scored, batch, economics, "Call + discount", "customer_id", "none", ["plan"]
    )
    assert len(table) == 1000 and table["rank"].tolist() == list(range(1, 1001))
    assert (table["action"].head(100) == "Call + discount").all()
    assert (table["action"].iloc[100:] == "none").all()
    assert table["uplift"].head(100).is_monotonic_decreasing
    assert set(table["customer_id"]) == set(batch["customer_id"])
    first = table.iloc[0]
    row = scored.set_index("customer_id").loc[first["customer_id"]]
    value = 12.0 * batch.set_index("customer_id").loc[first["customer_id"], "monthly_charges"]
    call = DEFAULT_ACTIONS[1]
    gain = (
        row["uplift"] * value
        - call.contact_cost
        - (1 - row["churn_probability_if_contacted"]) * call.incentive_cost
    )
    assert first["expected_value"] == pytest.approx(gain)
    assert (table.loc[table["action"] == "none", "expected_value"] == 0).all()
    assert "plan" in table.columns


def test_campaign_command_and_policy_in_words(campaign_model):
    from churn.decisions import Choice

    roles = campaign_model.results["roles"]
    command = campaign_command("data/sample_campaign.csv", roles)
    assert command == (
        "python -m churn campaign --data data/sample_campaign.csv --target churned "
        "--positive 1 --treatment contacted --treated 1 --id customer_id --out models/campaign"
    )
    assert campaign_command("x.csv", {**roles, "treated_label": "-1"}, seed=3).endswith(
        "--treated=-1 --id customer_id --out models/campaign --seed 3"
    )
    _, capped = _uplift_policy(campaign_model, Choice("top_share", 0.2))
    assert describe_uplift_policy(capped, "No action") == [
        "Call + discount: the 20% of each batch with the highest measured uplift",
        "No action: everyone else",
    ]
    _, cut = _uplift_policy(campaign_model, Choice("threshold", 0.05))
    assert describe_uplift_policy(cut, "No action")[0] == (
        "Call + discount: measured uplift +5.0 points or more"
    )


def test_measured_effect_by_tenth_for_people(campaign_model):
    deciles = campaign_model.results["holdout"]["uplift_by_decile"]
    shown = decile_display(deciles)
    assert list(shown.columns) == [
        "Tenth", "Customers", "Predicted uplift", "Measured uplift", "95% interval"
    ]  # fmt: skip
    assert shown["Tenth"].tolist() == ["1 (highest uplift)", *map(str, range(2, 11))]
    assert shown["Customers"].sum() == campaign_model.results["holdout"]["customers"]
    first = deciles[0]
    assert shown["Measured uplift"].iloc[0] == pytest.approx(100 * first["measured_uplift"])
    assert shown["95% interval"].iloc[0] == (
        f"{first['uplift_low'] * 100:+.1f} to {first['uplift_high'] * 100:+.1f}"
    )
    # on the sample the first tenth gains more than the last
    assert shown["Measured uplift"].iloc[0] > shown["Measured uplift"].iloc[-1]
