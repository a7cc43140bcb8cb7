"""Fairness: per-group figures, the four-fifths flags, banding and the worst slices.

Small hand-made frames check the arithmetic where the answer is known; the sample
checks that the generator's truth shows: age changes churn and must be flagged,
gender and region do not and must not be.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from churn import charts, fairness
from churn.artifact import Artifact, ArtifactInfo
from churn.decisions import Choice
from churn.errors import ChurnInputError
from churn.metrics import roc_auc, wilson
from churn.policy import decide_on_holdout
from churn.sample import generate_customers
from churn.scenario import Scenario
from churn.training import score_frame


def _frame(spec: dict[str, tuple[int, int, int, int]]) -> tuple[np.ndarray, ...]:
    """Customers per group from ``{group: (tp, fp, fn, tn)}``; probability 0.3 for all."""
    y, contacted, groups = [], [], []
    for group, (tp, fp, fn, tn) in spec.items():
        y += [1] * tp + [0] * fp + [1] * fn + [0] * tn
        contacted += [True] * (tp + fp) + [False] * (fn + tn)
        groups += [group] * (tp + fp + fn + tn)
    p = np.full(len(y), 0.3)
    return np.array(y), p, np.array(contacted), pd.Series(groups)


# --------------------------------------------------------------------------- group table


def test_group_rates_counts_and_wilson_intervals_are_exact():
    y, p, contacted, groups = _frame({"A": (30, 20, 10, 40), "B": (15, 5, 25, 55)})
    table = fairness.group_table(y, p, contacted, groups)
    a, b = table.loc["A"], table.loc["B"]
    assert a["customers"] == 100 and b["customers"] == 100
    assert a["selection_rate"] == pytest.approx(0.5) and b["selection_rate"] == pytest.approx(0.2)
    assert a["recall"] == pytest.approx(30 / 40) and b["recall"] == pytest.approx(15 / 40)
    assert a["precision"] == pytest.approx(30 / 50) and b["precision"] == pytest.approx(15 / 20)
    assert a["false_positive_rate"] == pytest.approx(20 / 60)
    assert b["false_positive_rate"] == pytest.approx(5 / 60)
    assert (b["recall_k"], b["recall_n"]) == (15, 40)
    low, high = wilson(np.array([20.0]), np.array([100.0]))
    assert (b["selection_rate_low"], b["selection_rate_high"]) == pytest.approx((low[0], high[0]))
    assert a["observed_rate"] == pytest.approx(0.4) and a["mean_predicted"] == pytest.approx(0.3)
    assert b["selection_rate_low"] < 0.2 < b["selection_rate_high"]


def test_a_clear_gap_is_flagged_against_the_best_served_group():
    y, p, contacted, groups = _frame({"A": (30, 20, 10, 40), "B": (15, 5, 25, 55)})
    table = fairness.group_table(y, p, contacted, groups)
    assert table.at["A", "selection_rate_status"] == "reference"
    assert table.at["B", "selection_rate_ratio"] == pytest.approx(0.4)
    assert table.at["B", "selection_rate_status"] == "flagged"
    assert table.at["B", "selection_rate_ratio_high"] < 1.0
    assert table.at["B", "recall_status"] == "too few to judge"  # 40 churners < 50
    assert table["flagged"].tolist() == [False, True]


def test_the_ratio_interval_is_katz_and_holds_over_every_pair():
    y, p, contacted, groups = _frame(
        {"A": (30, 20, 10, 40), "B": (15, 5, 25, 55), "C": (20, 20, 20, 40)}
    )
    table = fairness.group_table(y, p, contacted, groups)
    z = norm.ppf(1 - 0.025 / 3)  # three groups, three pairs
    se = np.sqrt(1 / 20 - 1 / 100 + 1 / 50 - 1 / 100)
    expected = np.exp(np.log(0.4) + np.array([-z, z]) * se)
    assert [
        table.at["B", "selection_rate_ratio_low"],
        table.at["B", "selection_rate_ratio_high"],
    ] == (pytest.approx(expected.tolist()))


def test_equal_groups_are_not_flagged():
    y, p, contacted, groups = _frame({"A": (40, 60, 40, 60), "B": (41, 59, 39, 61)})
    table = fairness.group_table(y, p, contacted, groups)
    assert not table["flagged"].any()
    assert set(table["selection_rate_status"]) == {"reference", "ok"}
    assert fairness.disparity_notes(table, "group") == []


def test_a_gap_that_could_be_chance_is_not_flagged():
    # 0.75 of the best rate, but on 60 customers each: the interval reaches parity
    y, p, contacted, groups = _frame({"A": (10, 14, 10, 26), "B": (8, 10, 12, 30)})
    table = fairness.group_table(y, p, contacted, groups)
    assert table.at["B", "selection_rate_ratio"] == pytest.approx(0.75)
    assert table.at["B", "selection_rate_status"] == "could be chance"
    assert table.at["B", "selection_rate_ratio_high"] >= 1.0
    assert not table["flagged"].any()


def test_a_small_group_is_never_judged_nor_the_reference():
    # the tiny group has the highest rate by far; the large ones are compared with each other
    y, p, contacted, groups = _frame(
        {"A": (40, 60, 40, 60), "B": (41, 49, 39, 71), "tiny": (5, 5, 0, 0)}
    )
    table = fairness.group_table(y, p, contacted, groups)
    assert table.at["tiny", "selection_rate"] == pytest.approx(1.0)
    assert table.at["tiny", "selection_rate_status"] == "too few to judge"
    assert table.at["A", "selection_rate_status"] == "reference"
    assert table.at["B", "selection_rate_ratio"] == pytest.approx(0.9)
    assert not table["flagged"].any()
    # and a tiny group far below the others is not flagged either
    y, p, contacted, groups = _frame(
        {"A": (40, 60, 40, 60), "B": (41, 59, 39, 61), "tiny": (0, 0, 5, 5)}
    )
    table = fairness.group_table(y, p, contacted, groups)
    assert table.at["tiny", "selection_rate_status"] == "too few to judge"
    assert not table["flagged"].any()


def test_nobody_contacted_gives_no_ratio_and_no_flag():
    y, p, contacted, groups = _frame({"A": (0, 0, 40, 60), "B": (0, 0, 30, 70)})
    table = fairness.group_table(y, p, contacted, groups)
    assert np.isnan(table["precision"]).all()
    assert set(table["selection_rate_status"]) == {"n/a"}
    assert not table["flagged"].any()


def test_calibration_per_group():
    y, p, contacted, groups = _frame({"A": (25, 25, 25, 25), "B": (10, 40, 10, 40)})
    p = np.full(len(y), 0.5)  # right for A (50% churn), wrong for B (20%)
    table = fairness.group_table(y, p, contacted, groups)
    assert not table.at["A", "miscalibrated"]
    assert table.at["B", "miscalibrated"]
    assert table.at["B", "calibration_gap"] == pytest.approx(0.3)


def test_categorical_order_is_kept_and_mismatches_are_refused():
    y, p, contacted, groups = _frame({"A": (30, 20, 10, 40), "B": (15, 5, 25, 55)})
    ordered = pd.Series(pd.Categorical(groups, categories=["B", "A"], ordered=True))
    assert fairness.group_table(y, p, contacted, ordered).index.tolist() == ["B", "A"]
    with pytest.raises(ChurnInputError):
        fairness.group_table(y[:-1], p, contacted, groups)
    with pytest.raises(ChurnInputError):
        fairness.group_table(y, p, contacted, groups.where(groups != "A"))


def test_notes_say_the_gap_in_customers_per_thousand():
    y, p, contacted, groups = _frame({"A": (30, 20, 10, 40), "B": (15, 5, 25, 55)})
    table = fairness.group_table(y, p, contacted, groups)
    (note,) = fairness.disparity_notes(table, "plan")
    low, high = table.at["B", "observed_low"], table.at["B", "observed_high"]
    assert note == (
        "Customers with plan B get the offer at 0.40x the rate of customers with plan A "
        "(20.0% vs 50.0% of customers): about 300 fewer per 1,000 customers. "
        f"The model predicts 30.0% churn for them but 40.0% churned (95% {low:.1%} to "
        f"{high:.1%}): it under-rates their risk."
    )
    y, p, contacted, groups = _frame({"A": (30, 20, 10, 40), "B": (15, 5, 25, 55)})
    table = fairness.group_table(y, np.full(len(y), 0.4), contacted, groups)
    (note,) = fairness.disparity_notes(table, "plan")
    assert note.endswith(
        "so the gap follows their churn risk; whether that justifies it is a policy decision."
    )


def test_display_table_shows_the_table_figures():
    y, p, contacted, groups = _frame({"A": (30, 20, 10, 40), "B": (15, 5, 25, 55)})
    table = fairness.group_table(y, p, contacted, groups)
    shown = fairness.display_table(table)
    low, high = table.at["B", "selection_rate_low"], table.at["B", "selection_rate_high"]
    assert shown.at["B", "Contacted"] == f"20.0% ({low * 100:.1f}–{high:.1%})"
    assert shown.at["B", "Contacted vs best"].startswith("0.40 (")
    assert shown.at["B", "Contacted vs best"].endswith(") flagged")
    # narrow enough for a page: no cell runs long
    assert shown.map(len).to_numpy().max() <= 32
    assert shown.at["A", "Customers"] == "100 (50.0%)"


def test_chart_marks_the_four_fifths_band():
    y, p, contacted, groups = _frame({"A": (30, 20, 10, 40), "B": (15, 5, 25, 55)})
    table = fairness.group_table(y, p, contacted, groups)
    spec = charts.fairness_chart(table, "selection_rate", "Contacted").to_dict()
    datasets = [rows for rows in spec["datasets"].values()]
    bands = [r for rows in datasets for r in rows if "line" in r]
    assert bands == [{"low": 0.0, "high": pytest.approx(0.4), "best": 0.5, "line": 0.8}]
    points = [r for rows in datasets for r in rows if "verdict" in r]
    assert [r["verdict"] for r in points] == ["reference", "flagged"]


# --------------------------------------------------------------------------- segments


def test_age_gets_demographic_bands_with_missing_last():
    data = pd.DataFrame({"age": [18, 24.9, 25, 44.9, 45, 64.9, 65, 90, np.nan, 30]})
    labels = fairness.segment_labels(data, "age")
    assert labels.tolist() == [
        "under 25",
        "under 25",
        "25-44",
        "25-44",
        "45-64",
        "45-64",
        "65 and over",
        "65 and over",
        "Missing",
        "25-44",
    ]
    assert list(labels.cat.categories) == ["under 25", "25-44", "45-64", "65 and over", "Missing"]


def test_other_numbers_get_rounded_quartile_bands_and_few_values_stay_levels():
    stars = [1.0, 2.0, 3.0, np.nan] * 25
    data = pd.DataFrame({"usage": np.arange(1, 101, dtype=float), "stars": stars})
    labels = fairness.segment_labels(data, "usage")  # "usage" is not an age column
    assert list(labels.cat.categories) == [
        "under 26",
        "26 to under 50",
        "50 to under 75",
        "75 and over",
    ]
    assert labels.value_counts().between(24, 26).all()
    stars = fairness.segment_labels(data, "stars")
    assert list(stars.cat.categories) == ["1", "2", "3", "Missing"]
    assert stars.tolist()[:4] == ["1", "2", "3", "Missing"]


def test_many_text_levels_are_lumped_into_other():
    data = pd.DataFrame({"city": [f"c{i:02d}" for i in range(20)] * 3 + ["c00"] * 10})
    labels = fairness.segment_labels(data, "city")
    assert len(labels.cat.categories) == fairness.MAX_LEVELS
    assert labels.cat.categories[0] == "c00" and labels.cat.categories[-1] == "Other"
    with pytest.raises(ChurnInputError):
        fairness.segment_labels(data, "nope")


def test_segment_candidates_default_to_the_mapped_attributes(trained: Artifact):
    plain = fairness.segment_candidates(trained)
    assert plain.default == ["region", "age", "gender"]
    assert "customer_id" not in plain.options and "churned" not in plain.options
    assert plain.kinds["age"] == "bands" and plain.kinds["gender"] == "levels"
    for mapped in (["gender", "plan"], {"protected": "plan", "other": "gender"}, "plan"):
        info = ArtifactInfo.from_dict({**trained.info.to_dict(), "segments": mapped})
        named = dataclasses.replace(trained, info=info)
        assert set(fairness.segment_candidates(named).default) == {"gender", "plan"} - (
            set() if not isinstance(mapped, str) else {"gender"}
        )


# --------------------------------------------------------------------------- on the sample


@pytest.fixture(scope="module")
def scenario(trained: Artifact) -> Scenario:
    return Scenario.from_query({}, list(trained.holdout_data.columns))


def test_the_counts_per_group_are_the_customers_themselves(trained, scenario):
    decision = decide_on_holdout(trained, scenario.economics, Choice("top_share", 0.2))
    selection = fairness.holdout_selection(trained, decision)
    table = fairness.fairness_table(trained, decision, "region")
    labels = fairness.segment_labels(selection, "region")
    y, hit = selection["outcome"].to_numpy() == 1, selection["contacted"].to_numpy()
    for group, row in table.iterrows():
        mine = (labels == group).to_numpy()
        assert row["customers"] == mine.sum()
        assert (row["selection_rate_k"], row["selection_rate_n"]) == (
            (mine & hit).sum(),
            mine.sum(),
        )
        assert (row["recall_k"], row["recall_n"]) == ((mine & hit & y).sum(), (mine & y).sum())
        assert (row["precision_k"], row["precision_n"]) == (
            (mine & hit & y).sum(),
            (mine & hit).sum(),
        )
        fp, stayers = (mine & hit & ~y).sum(), (mine & ~y).sum()
        assert (row["false_positive_rate_k"], row["false_positive_rate_n"]) == (fp, stayers)
        assert row["mean_predicted"] == pytest.approx(selection["churn_probability"][mine].mean())
    assert table["customers"].sum() == len(selection)


def test_holdout_selection_is_the_policys_contacted_customers(trained, scenario):
    decision = decide_on_holdout(trained, scenario.economics, Choice("threshold", 0.3))
    selection = fairness.holdout_selection(trained, decision)
    assert selection["contacted"].sum() == decision.n_targeted
    p = selection["churn_probability"]
    assert (p[selection["contacted"]] >= 0.3).all() and (p[~selection["contacted"]] < 0.3).all()
    assert selection["outcome"].sum() == trained.holdout["outcome"].sum()
    other = dataclasses.replace(trained, holdout=trained.holdout.iloc[:100])
    with pytest.raises(ChurnInputError):
        fairness.holdout_selection(other, decision)


@pytest.mark.parametrize(
    "choice",
    [Choice("max_profit"), Choice("top_share", 0.2), Choice("threshold", 0.5)],
    ids=["default", "top20", "threshold50"],
)
def test_on_the_sample_age_is_flagged_and_gender_and_region_are_not(trained, scenario, choice):
    decision = decide_on_holdout(trained, scenario.economics, choice)
    age = fairness.fairness_table(trained, decision, "age")
    assert age.at["65 and over", "selection_rate_status"] == "flagged"
    assert age.at["under 25", "selection_rate_status"] == "reference"
    assert fairness.disparity_notes(age, "age")
    for column in ("gender", "region"):
        table = fairness.fairness_table(trained, decision, column)
        assert not table["flagged"].any(), table
    gender = fairness.fairness_table(trained, decision, "gender")
    assert gender.at["Non-binary", "selection_rate_status"] == "too few to judge"


def test_on_fresh_customers_the_truth_shows(trained, scenario):
    """20,000 new customers from the generator: enough for every group to be judged."""
    frame, _ = generate_customers(20_000, seed=4242)
    p = score_frame(trained, frame)["churn_probability"].to_numpy()
    decision = decide_on_holdout(trained, scenario.economics, scenario.choice)
    contacted = p >= decision.threshold
    y = frame["churned"].to_numpy()
    tables = {
        c: fairness.group_table(y, p, contacted, fairness.segment_labels(frame, c))
        for c in ("age", "gender", "region")
    }
    assert tables["age"].at["65 and over", "selection_rate_status"] == "flagged"
    assert not tables["gender"]["flagged"].any()
    assert not tables["region"]["flagged"].any()
    assert tables["gender"].at["Non-binary", "selection_rate_status"] in {"ok", "reference"}
    assert not tables["gender"]["miscalibrated"].any()


# --------------------------------------------------------------------------- worst slices


@pytest.fixture(scope="module")
def slices(trained: Artifact) -> pd.DataFrame:
    return fairness.slice_table(trained, n_boot=100)


def test_slices_respect_the_minimum_size_and_match_the_metrics(trained, slices):
    assert fairness.slice_min_size(2000) == 100 and fairness.slice_min_size(400) == 50
    assert slices.iloc[0]["feature"] == "(all)"
    assert (slices["customers"].iloc[1:] >= 100).all()
    assert {"age", "gender", "contract_type"} <= set(slices["feature"])
    assert "Non-binary" not in set(slices["slice"])  # 32 customers: below the minimum
    scores, rows, _ = trained.holdout_sorted
    mask = (rows["contract_type"] == "One year").to_numpy()
    row = slices[(slices["feature"] == "contract_type") & (slices["slice"] == "One year")].iloc[0]
    y, p = scores["outcome"].to_numpy()[mask], scores["churn_probability"].to_numpy()[mask]
    assert row["roc_auc"] == pytest.approx(roc_auc(y, p))
    assert row["calibration_gap"] == pytest.approx(p.mean() - y.mean())
    one_year = row["worse_beyond_interval"]
    assert ("ROC-AUC" in one_year) == (row["roc_auc_high"] < slices.iloc[0]["roc_auc"])
    finite = slices.dropna(subset=["roc_auc"])
    assert (finite["roc_auc_low"] <= finite["roc_auc"]).all()
    assert (finite["roc_auc"] <= finite["roc_auc_high"]).all()


def test_worst_slices_are_ranked_worst_first(slices):
    by_auc = fairness.worst_slices(slices, "roc_auc", n=5)
    assert by_auc["roc_auc"].is_monotonic_increasing and len(by_auc) == 5
    assert "(all)" not in set(by_auc["feature"])
    by_gap = fairness.worst_slices(slices, "calibration_gap", n=5)
    assert by_gap["calibration_gap"].abs().is_monotonic_decreasing
    assert fairness.worst_slices(slices, "brier", n=3)["brier"].is_monotonic_decreasing
    with pytest.raises(ChurnInputError):
        fairness.worst_slices(slices, "accuracy")


def test_a_planted_miscalibrated_segment_is_found_first(trained):
    holdout = trained.holdout.copy()
    west = (trained.holdout_data["region"] == "West").to_numpy()
    holdout.loc[west, "churn_probability"] = np.clip(
        holdout.loc[west, "churn_probability"] + 0.25, 0, 1
    )
    planted = dataclasses.replace(trained, holdout=holdout)
    worst = fairness.worst_slices(fairness.slice_table(planted, n_boot=50), "calibration_gap", 1)
    assert (worst.at[0, "feature"], worst.at[0, "slice"]) == ("region", "West")
    assert worst.at[0, "calibration_gap_low"] > 0.15
    assert "Calibration gap" in worst.at[0, "worse_beyond_interval"]
    shown = fairness.slice_display(worst)
    assert shown.at[0, "Worse beyond its interval"] == worst.at[0, "worse_beyond_interval"]
    assert shown.at[0, "Calibration gap"].startswith(f"{worst.at[0, 'calibration_gap']:+.3f} (")


def test_fairness_and_drift_charts_keep_their_own_colour_scales():
    """Two palettes with one name once made the fairness chart lose its points."""
    from churn import charts

    assert "flagged" in charts.STATUS_COLOURS.domain
    assert "significant" in charts.DRIFT_COLOURS.domain


def test_the_groups_see_who_a_capacity_ranked_by_value_contacts(trained):
    """Ranked by expected value, the contacted are not the most likely to leave: the
    fairness table must count the customers the policy really contacts."""
    from churn.decisions import Choice
    from churn.economics import default_economics
    from churn.policy import decide_on_holdout

    economics = default_economics(trained.holdout_data.columns)
    decision = decide_on_holdout(
        trained, economics, Choice("top_share", 0.15), ranking="expected_value"
    )
    selection = fairness.holdout_selection(trained, decision)
    assert selection["contacted"].sum() == decision.n_targeted == 300
    top_by_p = selection["churn_probability"].rank(ascending=False, method="first") <= 300
    assert (selection["contacted"] != top_by_p).any()
    # the customers contacted are those whose actions the decision measured
    assert selection["outcome"][selection["contacted"]].sum() == round(
        decision.confusion["customers"].iloc[0]
    )
