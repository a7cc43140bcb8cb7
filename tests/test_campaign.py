"""Campaign analysis against the generator's truth: arms, balance, average effect."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from churn.campaign import MIN_ARM_SIZE, arms, average_effect, balance
from churn.economics import Action
from churn.errors import ChurnInputError
from churn.sample import (
    CAMPAIGN_PATH,
    CAMPAIGN_SEED,
    SAMPLE_PATH,
    generate_campaign,
    true_contact_effect,
)

FEATURES = list(pd.read_csv(SAMPLE_PATH, nrows=1).columns.drop(["customer_id", "churned"]))


@pytest.fixture(scope="module")
def campaign() -> tuple[pd.DataFrame, pd.DataFrame]:
    return generate_campaign(8_000, CAMPAIGN_SEED)


def _truth(truth: pd.DataFrame) -> tuple[float, float]:
    """True average effect and true success rate of a campaign's customers."""
    p0, p1 = truth["p_without_contact"], truth["p_with_contact"]
    ate = float((p1 - p0).mean())
    return ate, -ate / float(p0.mean())


def _one_sentence(message: str) -> bool:
    return message.endswith(".") and message.count(". ") == 0 and "\n" not in message


# ------------------------------------------------------------------ the data


def test_committed_campaign_file_is_the_generated_one(campaign):
    frame, _ = campaign
    on_disk = pd.read_csv(CAMPAIGN_PATH, dtype={"customer_id": str})
    assert list(on_disk.columns) == ["customer_id", *FEATURES, "contacted", "churned"]
    assert len(on_disk) == 8_000
    assert on_disk["customer_id"].str.match(r"^K\d{6}$").all()
    assert on_disk["customer_id"].is_unique
    pd.testing.assert_frame_equal(
        on_disk[["customer_id", "contacted", "churned"]],
        frame[["customer_id", "contacted", "churned"]],
    )


def test_campaign_is_a_random_half_with_the_documented_heterogeneous_effect(campaign):
    frame, truth = campaign
    assert frame["contacted"].sum() == 4_000
    assert set(frame["churned"]) == {0, 1}
    pd.testing.assert_frame_equal(truth, true_contact_effect(frame))
    effect = (truth["p_with_contact"] - truth["p_without_contact"]).groupby(truth["segment"])
    mean = effect.mean()
    assert set(mean.index) == {"persuadable", "lost cause", "sure thing", "moderate", "annoyed"}
    assert mean["persuadable"] < -0.2  # the offer keeps many
    assert -0.06 < mean["lost cause"] < 0  # cannot keep them
    assert -0.01 < mean["sure thing"] < 0  # would stay anyway
    assert mean["annoyed"] > 0.02  # contact backfires
    assert (effect.max()["annoyed"] > 0) and (effect.min().drop("annoyed") <= 0).all()
    ate, success = _truth(truth)
    assert -0.06 < ate < -0.04 and 0.15 < success < 0.25  # as data/README.md says


def test_campaign_seed_reproduces():
    a, ta = generate_campaign(500, seed=4)
    b, tb = generate_campaign(500, seed=4)
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(ta, tb)
    c, _ = generate_campaign(500, seed=5)
    assert not a["contacted"].equals(c["contacted"])


# ------------------------------------------------------------------ the analysis


def test_arms_sizes_rates_and_wilson_intervals(campaign):
    frame, _ = campaign
    table = arms(frame["churned"], frame["contacted"])
    assert list(table.index) == ["contacted", "control"]
    assert table["customers"].tolist() == [4_000, 4_000]
    contacted = frame["contacted"] == 1
    assert table.loc["contacted", "churn_rate"] == pytest.approx(
        frame.loc[contacted, "churned"].mean()
    )
    assert table.loc["control", "churners"] == frame.loc[~contacted, "churned"].sum()
    assert (table["rate_low"] < table["churn_rate"]).all()
    assert (table["churn_rate"] < table["rate_high"]).all()


@pytest.mark.parametrize("seed", [CAMPAIGN_SEED, 1, 2, 3, 4, 5])
def test_intervals_contain_the_true_effect_and_success_rate(seed):
    frame, truth = generate_campaign(8_000, seed)
    true_ate, true_success = _truth(truth)
    effect = average_effect(frame["churned"], frame["contacted"])
    assert effect.ate_low < true_ate < effect.ate_high
    assert effect.ate_high < 0  # 8,000 customers are enough to see that contact helps
    assert effect.success_low < true_success < effect.success_high
    assert effect.ate == pytest.approx(effect.contacted_rate - effect.control_rate)
    assert effect.success_rate == pytest.approx(-effect.ate / effect.control_rate)
    Action("offer", 1.0, 10.0, effect.success_rate)  # usable as an action's success rate


def test_intervals_cover_the_truth_about_95_percent_of_the_time(campaign):
    frame, truth = campaign
    p0, p1 = truth["p_without_contact"].to_numpy(), truth["p_with_contact"].to_numpy()
    true_ate, true_success = _truth(truth)
    rng = np.random.default_rng(0)
    n, runs, hits = len(frame), 200, np.zeros(2)
    for _ in range(runs):
        treated = np.zeros(n, dtype=int)
        treated[rng.permutation(n)[: n // 2]] = 1
        y = (rng.random(n) < np.where(treated == 1, p1, p0)).astype(int)
        effect = average_effect(y, treated)
        hits += [
            effect.ate_low <= true_ate <= effect.ate_high,
            effect.success_low <= true_success <= effect.success_high,
        ]
    assert ((hits / runs) >= 0.90).all(), hits / runs


def test_backfiring_contact_clips_the_success_rate_at_zero():
    rng = np.random.default_rng(3)
    treated = np.repeat([1, 0], 1_000)
    y = (rng.random(2_000) < np.where(treated == 1, 0.30, 0.20)).astype(int)
    effect = average_effect(y, treated)
    assert effect.ate > 0 and effect.ate_low > 0
    assert effect.success_unclipped < 0
    assert effect.success_rate == effect.success_low == effect.success_high == 0.0


def test_no_churners_in_an_arm_still_gives_finite_intervals():
    treated = np.repeat([1, 0], 300)
    y = np.r_[np.zeros(300), np.ones(30), np.zeros(270)].astype(int)
    effect = average_effect(y, treated)
    assert effect.contacted_rate == 0.0 and effect.ate_low < -0.1 < effect.ate_high < 0
    assert effect.success_rate == 1.0 and 0.0 < effect.success_low < 1.0


def test_text_and_boolean_contact_flags_are_understood(campaign):
    frame, _ = campaign
    expected = average_effect(frame["churned"], frame["contacted"])
    as_bool = frame["contacted"].astype(bool)
    as_text = np.where(frame["contacted"] == 1, "Yes", "No")
    assert average_effect(frame["churned"], as_bool) == expected
    assert average_effect(frame["churned"], as_text) == expected


# ------------------------------------------------------------------ balance


def test_random_sample_campaign_looks_random(campaign):
    frame, _ = campaign
    result = balance(frame[FEATURES], frame["contacted"])
    assert result.looks_random, result.message
    assert result.message == ""
    assert set(result.table.index) == set(FEATURES)
    assert (result.table["smd"].abs() <= 0.1).all()
    assert result.auc_low < 0.55 and 0.45 < result.auc < 0.56
    assert result.table["smd"].abs().is_monotonic_decreasing


def test_contact_assigned_by_risk_gets_the_warning(campaign):
    frame, truth = campaign
    rng = np.random.default_rng(1)
    risk = truth["p_without_contact"].to_numpy()
    by_risk = (rng.random(len(frame)) < np.clip(0.2 + risk, 0.0, 0.9)).astype(int)
    result = balance(frame[FEATURES], by_risk)
    assert not result.looks_random
    assert result.auc_low > 0.55
    assert result.table["unbalanced"].any()
    assert result.table.index[0] == "contract_type"
    assert _one_sentence(result.message), result.message
    assert "does not look random" in result.message


def test_balance_smd_of_numeric_and_categorical_features():
    treated = np.repeat([1, 0], 250)
    features = pd.DataFrame(
        {
            "x": np.r_[np.full(125, 1.0), np.full(125, 3.0), np.full(125, 0.0), np.full(125, 2.0)],
            "colour": np.r_[["red"] * 250, ["red"] * 125, ["blue"] * 125],
        }
    )
    table = balance(features, treated).table
    # means 2 vs 1, both sds sqrt(250/249): SMD just under 1
    assert table.loc["x", "smd"] == pytest.approx(1.0 / np.sqrt(250 / 249))
    # red 100% vs 50%: (1 - 0.5) / sqrt((0 + 0.25) / 2)
    assert abs(table.loc["colour", "smd"]) == pytest.approx(0.5 / np.sqrt(0.125))


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    ("treated", "words"),
    [
        (np.ones(600), "only the value"),
        (np.r_[np.zeros(300), np.ones(200), np.full(100, 2)], "3 values"),
        (np.repeat(["A", "B"], 300), "'A', 'B'"),
        (np.r_[np.zeros(500), np.ones(100)], f"at least {MIN_ARM_SIZE}"),
        (np.r_[np.zeros(300), np.ones(299), [np.nan]], "empty for 1"),
    ],
)
def test_bad_contact_column_gives_one_sentence(treated, words):
    y = np.zeros(600, dtype=int)
    y[::5] = 1
    for call in (lambda: average_effect(y, treated), lambda: arms(y, treated)):
        with pytest.raises(ChurnInputError) as error:
            call()
        assert words in str(error.value)
        assert _one_sentence(str(error.value)), str(error.value)
    with pytest.raises(ChurnInputError, match=words):
        balance(pd.DataFrame({"x": np.arange(600.0)}), treated)


@pytest.mark.parametrize("y", [np.r_[np.zeros(599), [2]], np.r_[np.zeros(599), [np.nan]]])
def test_bad_outcome_gives_one_sentence(y):
    with pytest.raises(ChurnInputError) as error:
        average_effect(y, np.repeat([1, 0], 300))
    assert "0 or 1" in str(error.value) and _one_sentence(str(error.value))


def test_lengths_must_match():
    with pytest.raises(ChurnInputError, match="one contact flag per customer"):
        average_effect(np.zeros(500), np.repeat([1, 0], 300))
    with pytest.raises(ChurnInputError, match="one contact flag per customer"):
        balance(pd.DataFrame({"x": np.arange(500.0)}), np.repeat([1, 0], 300))


def test_balance_without_features_is_a_sentence():
    treated = np.r_[np.ones(300), np.zeros(300)]
    with pytest.raises(ChurnInputError, match="no feature columns"):
        balance(pd.DataFrame(index=range(600)), treated)


def test_balance_classifier_uses_a_subsample_of_large_campaigns():
    frame, _ = generate_campaign(3_000, seed=8)
    features = frame.drop(columns=["customer_id", "contacted", "churned"])
    whole = balance(features, frame["contacted"])
    sub = balance(features, frame["contacted"], max_rows=1_000)
    # the standardised differences use every customer; the classifier's interval is wider
    pd.testing.assert_frame_equal(whole.table, sub.table)
    assert (sub.auc_high - sub.auc_low) > 1.5 * (whole.auc_high - whole.auc_low)
    assert sub.looks_random
