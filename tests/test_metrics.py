"""Tests for churn.metrics: sklearn parity (with ties and weights), the 2-D bootstrap path,
calibration, capture/lift by hand, tables for plots and input validation."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
import sklearn.metrics as skm

from churn import metrics as m

N_BINS_CASES = (10, 7)


def _tied_data(seed: int, n: int = 400) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Labels, probabilities rounded to 1 decimal (many ties, incl. 0 and 1) and int weights."""
    rng = np.random.default_rng(seed)
    p = np.round(rng.random(n), 1)
    y = (rng.random(n) < p).astype(int)
    w = rng.integers(0, 4, n)  # zeros included: sklearn drops them, we must agree
    return y, p, w


SEEDS = (0, 1, 2)


# --------------------------------------------------------------------------- sklearn parity


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize(
    ("ours", "reference"),
    [
        (m.roc_auc, skm.roc_auc_score),
        (m.pr_auc, skm.average_precision_score),
        (m.brier, skm.brier_score_loss),
    ],
    ids=["roc_auc", "pr_auc", "brier"],
)
def test_matches_sklearn_with_ties(seed, weighted, ours, reference):
    y, p, w = _tied_data(seed)
    weights = w if weighted else None
    assert len(np.unique(p)) <= 11  # really tied
    expected = reference(y, p, sample_weight=weights)
    assert ours(y, p, weights) == pytest.approx(expected, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("weighted", [False, True])
def test_log_loss_matches_sklearn(seed, weighted):
    y, p, w = _tied_data(seed)
    p = np.clip(p, 0.1, 0.9)  # sklearn clips exact 0/1 at machine eps, we at 1e-15
    weights = w if weighted else None
    expected = skm.log_loss(y, p, sample_weight=weights)
    assert m.log_loss(y, p, weights) == pytest.approx(expected, rel=1e-12)


def test_log_loss_clips_at_1e_15():
    y = np.array([1, 0, 1, 0])
    p = np.array([0.0, 1.0, 1.0, 0.0])  # two certain mistakes, two certain hits
    # 1 - 1e-15 is not exact in float64, hence the loose tolerance
    assert m.log_loss(y, p) == pytest.approx(-math.log(1e-15) / 2, rel=1e-4)


def test_pr_auc_ranking_with_all_tied_scores_is_churn_rate():
    y = np.array([1, 0, 0, 1, 0])
    p = np.full(5, 0.3)
    assert m.pr_auc(y, p) == pytest.approx(0.4)
    assert m.roc_auc(y, p) == pytest.approx(0.5)


def test_undefined_ranking_metrics_are_nan():
    y = np.array([1, 0, 1, 0])
    p = np.array([0.9, 0.2, 0.6, 0.4])
    only_negatives = np.array([0, 1, 0, 1])
    assert math.isnan(m.roc_auc(y, p, only_negatives))
    assert math.isnan(m.pr_auc(y, p, only_negatives))
    assert math.isnan(m.capture_at(y, p, 0.5, only_negatives))


# --------------------------------------------------------------------------- weights semantics


def _all_metric_calls():
    return {
        "roc_auc": lambda y, p, w: m.roc_auc(y, p, weights=w),
        "pr_auc": lambda y, p, w: m.pr_auc(y, p, weights=w),
        "brier": lambda y, p, w: m.brier(y, p, weights=w),
        "log_loss": lambda y, p, w: m.log_loss(y, p, weights=w),
        "ece": lambda y, p, w: m.expected_calibration_error(y, p, n_bins=7, weights=w),
        "capture": lambda y, p, w: m.capture_at(y, p, share=0.2, weights=w),
        "lift": lambda y, p, w: m.lift_at(y, p, share=0.2, weights=w),
    }


@pytest.mark.parametrize("name", list(_all_metric_calls()))
def test_2d_weights_equal_row_by_row(name):
    fn = _all_metric_calls()[name]
    y, p, _ = _tied_data(3, n=150)
    boot = m.bootstrap_weights(y.size, n_boot=25, seed=4)
    fractional = np.random.default_rng(5).random((3, y.size))  # non-integer weights too
    for weights in (boot, fractional):
        batched = fn(y, p, weights)
        assert isinstance(batched, np.ndarray)
        assert batched.shape == (weights.shape[0],)
        looped = np.array([fn(y, p, row) for row in weights])
        np.testing.assert_allclose(batched, looped, rtol=1e-12, atol=1e-12)
        assert np.isfinite(batched).all()


@pytest.mark.parametrize("name", list(_all_metric_calls()))
def test_integer_weights_equal_repeated_rows(name):
    """A bootstrap row of counts must give the metric of the resampled data."""
    fn = _all_metric_calls()[name]
    y, p, w = _tied_data(6, n=120)
    weighted = fn(y, p, w)
    repeated = fn(np.repeat(y, w), np.repeat(p, w), None)
    assert isinstance(weighted, float)
    assert weighted == pytest.approx(repeated, rel=1e-12, abs=1e-12)


def test_unit_weights_equal_no_weights():
    y, p, _ = _tied_data(7, n=80)
    for fn in _all_metric_calls().values():
        assert fn(y, p, np.ones(y.size)) == pytest.approx(fn(y, p, None), rel=1e-12)


# --------------------------------------------------------------------------- calibration


def test_ece_near_zero_when_calibrated_and_large_when_not():
    rng = np.random.default_rng(11)
    p = rng.random(200_000)
    y = (rng.random(p.size) < p).astype(int)
    assert m.expected_calibration_error(y, p) < 0.01
    assert m.expected_calibration_error(y, p**0.3) > 0.2


def test_ece_by_hand():
    # bin [0.2, 0.3): p mean 0.25, rate 0.5 ; bin [0.9, 1]: p mean 0.95, rate 1
    y = np.array([0, 1, 1, 1])
    p = np.array([0.2, 0.3 - 1e-9, 0.9, 1.0])
    expected = 0.5 * abs((0.2 + 0.3 - 1e-9) / 2 - 0.5) + 0.5 * abs(0.95 - 1.0)
    assert m.expected_calibration_error(y, p) == pytest.approx(expected)


@pytest.mark.parametrize("n_bins", N_BINS_CASES)
def test_reliability_bins(n_bins):
    y, p, _ = _tied_data(8, n=500)
    table = m.reliability_bins(y, p, n_bins=n_bins)
    assert list(table.columns) == [
        "bin_low",
        "bin_high",
        "n",
        "mean_predicted",
        "observed_rate",
        "observed_low",
        "observed_high",
    ]
    assert table["n"].sum() == y.size
    assert (table["n"] > 0).all()
    assert (table["observed_low"] <= table["observed_rate"] + 1e-12).all()
    assert (table["observed_rate"] <= table["observed_high"] + 1e-12).all()
    assert (table["observed_low"] >= 0).all() and (table["observed_high"] <= 1).all()
    assert (table["mean_predicted"] >= table["bin_low"] - 1e-12).all()
    assert (table["mean_predicted"] <= table["bin_high"] + 1e-12).all()
    assert table["bin_high"].iloc[-1] == pytest.approx(1.0)  # p == 1 lands in the last bin
    # ECE is the n-weighted mean gap of the same bins
    gap = (table["n"] * (table["mean_predicted"] - table["observed_rate"]).abs()).sum() / y.size
    assert m.expected_calibration_error(y, p, n_bins=n_bins) == pytest.approx(gap)


def test_reliability_bins_wilson_by_hand_and_empty_bins_dropped():
    y = np.array([0] * 10 + [1] * 3 + [0] * 7)
    p = np.array([0.05] * 10 + [0.55] * 10)
    table = m.reliability_bins(y, p, n_bins=10)
    assert table["bin_low"].tolist() == pytest.approx([0.0, 0.5])
    assert table["n"].tolist() == [10, 10]
    z2 = 1.959963984540054**2
    assert table["observed_low"].iloc[0] == pytest.approx(0.0, abs=1e-12)
    assert table["observed_high"].iloc[0] == pytest.approx(z2 / (10 + z2))  # Wilson, 0 of 10
    assert table["observed_rate"].iloc[1] == pytest.approx(0.3)
    assert table["observed_low"].iloc[1] == pytest.approx(0.1078, abs=1e-4)  # 3 of 10
    assert table["observed_high"].iloc[1] == pytest.approx(0.6032, abs=1e-4)


def test_bin_edges_are_exact():
    # 15/22 * 22 < 15 in floating point; it must still land in bin 15 of 22
    y = np.array([1, 0])
    p = np.array([15 / 22, 0.3])
    table = m.reliability_bins(y, p, n_bins=22)
    assert table["bin_low"].iloc[-1] == pytest.approx(15 / 22)
    table10 = m.reliability_bins(y, p, n_bins=10)
    assert table10["bin_low"].iloc[0] == pytest.approx(0.3)


# --------------------------------------------------------------------------- capture / lift / gains

Y_HAND = np.array([1, 1, 0, 1, 0, 0, 1, 0, 0, 0])  # 4 churners out of 10
P_HAND = np.array([0.9, 0.8, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1])  # tie at 0.8


@pytest.mark.parametrize(
    ("share", "capture", "lift"),
    [
        (0.1, 1 / 4, (1 / 4) / 0.1),  # top customer only
        (0.2, 1 / 4, (1 / 4) / 0.1),  # tie group {0.8, 0.8} ends at 3 > 2: left out
        (0.3, 2 / 4, (2 / 4) / 0.3),  # tie group ends exactly at 3: included
        (0.4, 3 / 4, (3 / 4) / 0.4),
        (1.0, 1.0, 1.0),
    ],
)
def test_capture_and_lift_by_hand(share, capture, lift):
    assert m.capture_at(Y_HAND, P_HAND, share) == pytest.approx(capture)
    assert m.lift_at(Y_HAND, P_HAND, share) == pytest.approx(lift)


def test_capture_and_lift_weighted_by_hand():
    w = np.array([2, 1, 1, 1, 1, 1, 1, 1, 1, 1])  # total 11, churner weight 5
    # share 0.3 -> 3.3 weight: only the top customer (weight 2) fits
    assert m.capture_at(Y_HAND, P_HAND, 0.3, w) == pytest.approx(2 / 5)
    assert m.lift_at(Y_HAND, P_HAND, 0.3, w) == pytest.approx(1.0 / (5 / 11))


def test_share_boundary_is_not_lost_to_rounding():
    # 0.1 * 30 is 3.0000000000000004 and 0.7 * 10 is 7.000000000000001: both fine,
    # but e.g. 0.3 * 10 style products just below an integer must also include it.
    y = np.array([1] * 3 + [0] * 27)
    p = np.linspace(0.99, 0.01, 30)
    assert m.capture_at(y, p, 0.1) == pytest.approx(1.0)
    assert m.lift_at(y, p, 0.1) == pytest.approx(10.0)
    y7 = np.array([1, 0, 0, 0, 0, 0, 1, 0, 0, 0])
    assert m.capture_at(y7, np.linspace(0.9, 0.0, 10), 0.7) == pytest.approx(1.0)


def test_top_tie_group_larger_than_share_targets_nobody():
    y = np.array([1, 0, 1, 0])
    p = np.full(4, 0.5)
    assert m.capture_at(y, p, 0.5) == 0.0
    assert math.isnan(m.lift_at(y, p, 0.5))
    assert m.capture_at(y, p, 1.0) == 1.0


def test_gains_curve():
    curve = m.gains_curve(Y_HAND, P_HAND)
    assert list(curve.columns) == ["share_targeted", "capture", "lift"]
    assert len(curve) == len(np.unique(P_HAND)) + 1
    assert tuple(curve.iloc[0][["share_targeted", "capture"]]) == (0.0, 0.0)
    assert math.isnan(curve["lift"].iloc[0])
    assert curve["share_targeted"].iloc[-1] == pytest.approx(1.0)
    assert curve["capture"].iloc[-1] == pytest.approx(1.0)
    assert curve["lift"].iloc[-1] == pytest.approx(1.0)
    assert (np.diff(curve["share_targeted"]) > 0).all()
    assert (np.diff(curve["capture"]) >= 0).all()
    # the row after the tie group at 0.8: 3 targeted, 2 churners caught
    assert curve["share_targeted"].iloc[2] == pytest.approx(0.3)
    assert curve["capture"].iloc[2] == pytest.approx(0.5)
    assert curve["lift"].iloc[2] == pytest.approx(0.5 / 0.3)


def test_gains_curve_agrees_with_capture_at():
    y, p, _ = _tied_data(9, n=300)
    curve = m.gains_curve(y, p)
    for share in (0.1, 0.25, 0.5):
        row = curve[curve["share_targeted"] <= share + 1e-12].iloc[-1]
        assert m.capture_at(y, p, share) == pytest.approx(row["capture"])


# --------------------------------------------------------------------------- bootstrap


def test_bootstrap_weights():
    w = m.bootstrap_weights(50, n_boot=30, seed=3)
    assert w.shape == (30, 50)
    assert np.issubdtype(w.dtype, np.integer)
    assert (w.sum(axis=1) == 50).all() and (w >= 0).all()
    np.testing.assert_array_equal(w, m.bootstrap_weights(50, n_boot=30, seed=3))
    assert not np.array_equal(w, m.bootstrap_weights(50, n_boot=30, seed=4))
    assert w.mean() == pytest.approx(1.0)


def _synthetic(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    p = rng.beta(1.0, 3.0, n)
    y = (rng.random(n) < p).astype(int)
    return y, p


EXPECTED_KEYS = ["roc_auc", "pr_auc", "brier", "log_loss", "ece", "lift_top10", "capture_top10"]


def test_evaluate_structure_and_point_values():
    y, p = _synthetic(600, 12)
    result = m.evaluate(y, p, n_boot=100, seed=0)
    assert list(result) == EXPECTED_KEYS
    json.loads(json.dumps(result))  # plain floats
    for stats in result.values():
        assert set(stats) == {"value", "low", "high"}
        assert all(type(v) is float and math.isfinite(v) for v in stats.values())
        assert stats["low"] <= stats["high"]
    assert result["roc_auc"]["value"] == pytest.approx(skm.roc_auc_score(y, p))
    assert result["pr_auc"]["value"] == pytest.approx(skm.average_precision_score(y, p))
    assert result["brier"]["value"] == pytest.approx(skm.brier_score_loss(y, p))
    assert result["log_loss"]["value"] == pytest.approx(skm.log_loss(y, p))
    assert result["ece"]["value"] == pytest.approx(m.expected_calibration_error(y, p))
    assert result["lift_top10"]["value"] == pytest.approx(m.lift_at(y, p, 0.1))
    assert result["capture_top10"]["value"] == pytest.approx(m.capture_at(y, p, 0.1))
    # intervals are percentiles of the same replicates as the public functions give
    boot = m.bootstrap_weights(y.size, 100, 0)
    reps = m.roc_auc(y, p, boot)
    assert result["roc_auc"]["low"] == pytest.approx(np.percentile(reps, 2.5))
    assert list(m.evaluate(y, p, n_boot=20, share=0.05)) == [
        "roc_auc",
        "pr_auc",
        "brier",
        "log_loss",
        "ece",
        "lift_top5",
        "capture_top5",
    ]


def test_evaluate_intervals_contain_point_and_shrink_with_n():
    small = m.evaluate(*_synthetic(300, 13), n_boot=200, seed=1)
    large = m.evaluate(*_synthetic(6000, 13), n_boot=200, seed=1)
    for name in ["roc_auc", "pr_auc", "brier", "log_loss", "lift_top10", "capture_top10"]:
        for result in (small, large):
            assert result[name]["low"] <= result[name]["value"] <= result[name]["high"], name
        width_small = small[name]["high"] - small[name]["low"]
        width_large = large[name]["high"] - large[name]["low"]
        assert width_large < 0.5 * width_small, name  # ~ 1 / sqrt(20) expected
    # ECE is biased upwards under resampling, so only its width is checked
    assert large["ece"]["high"] - large["ece"]["low"] < small["ece"]["high"] - small["ece"]["low"]


def test_evaluate_is_reproducible():
    y, p = _synthetic(400, 14)
    assert m.evaluate(y, p, n_boot=50, seed=7) == m.evaluate(y, p, n_boot=50, seed=7)
    assert m.evaluate(y, p, n_boot=50, seed=7) != m.evaluate(y, p, n_boot=50, seed=8)


def test_compare():
    rng = np.random.default_rng(15)
    y, p_true = _synthetic(2000, 15)
    p_noise = rng.random(y.size)
    better = m.compare(y, p_true, p_noise, metric="roc_auc", n_boot=200, seed=2)
    assert set(better) == {"difference", "low", "high"}
    assert better["difference"] == pytest.approx(m.roc_auc(y, p_true) - m.roc_auc(y, p_noise))
    assert 0 < better["low"] <= better["difference"] <= better["high"]
    lower_is_better = m.compare(y, p_true, p_noise, metric="brier", n_boot=200, seed=2)
    assert lower_is_better["high"] < 0
    same = m.compare(y, p_true, p_true, metric="log_loss", n_boot=50)
    assert same == {"difference": 0.0, "low": 0.0, "high": 0.0}


def test_compare_is_paired():
    """Paired differences are much tighter than unpaired ones for two close models."""
    rng = np.random.default_rng(16)
    y, p = _synthetic(1500, 16)
    p_b = np.clip(p + rng.normal(0, 0.02, p.size), 0, 1)
    diff = m.compare(y, p, p_b, metric="pr_auc", n_boot=200, seed=3)
    a = m.evaluate(y, p, n_boot=200, seed=3)["pr_auc"]
    assert diff["high"] - diff["low"] < 0.5 * (a["high"] - a["low"])
    with pytest.raises(ValueError, match="unknown metric"):
        m.compare(y, p, p_b, metric="accuracy")
    assert m.compare(y, p, p_b, metric="lift_top10", n_boot=20)["low"] <= 1e9


# --------------------------------------------------------------------------- input checks


@pytest.mark.parametrize(
    ("y", "p", "message"),
    [
        ([0, 1, 1], [0.1, 0.2], "different lengths"),
        ([], [], "empty"),
        ([0, 2, 1], [0.1, 0.2, 0.3], "0/1"),
        ([0, 0.5, 1], [0.1, 0.2, 0.3], "0/1"),
        ([0, 1, 1], [0.1, 1.2, 0.3], r"\[0, 1\]"),
        ([0, 1, 1], [-0.1, 0.2, 0.3], r"\[0, 1\]"),
        ([0, 1, 1], [0.1, np.nan, 0.3], "NaN"),
        ([0, 1, 1], ["a", "b", "c"], "numeric"),
        ([[0, 1]], [[0.1, 0.2]], "1-D"),
    ],
)
def test_bad_inputs_raise(y, p, message):
    for fn in (m.roc_auc, m.pr_auc, m.brier, m.log_loss, m.expected_calibration_error):
        with pytest.raises(ValueError, match=message):
            fn(y, p)
    for fn in (m.reliability_bins, m.gains_curve, m.evaluate, m.capture_at, m.lift_at):
        with pytest.raises(ValueError, match=message):
            fn(y, p)


def test_bad_weights_and_parameters_raise():
    y, p = np.array([0, 1, 1]), np.array([0.1, 0.5, 0.9])
    with pytest.raises(ValueError, match="shape"):
        m.brier(y, p, np.ones(4))
    with pytest.raises(ValueError, match="shape"):
        m.roc_auc(y, p, np.ones((2, 2)))
    with pytest.raises(ValueError, match="non-negative"):
        m.pr_auc(y, p, np.array([1.0, -1.0, 1.0]))
    with pytest.raises(ValueError, match="NaN"):
        m.log_loss(y, p, np.array([1.0, np.nan, 1.0]))
    with pytest.raises(ValueError, match="share"):
        m.capture_at(y, p, share=0.0)
    with pytest.raises(ValueError, match="share"):
        m.lift_at(y, p, share=1.5)
    with pytest.raises(ValueError, match="n_bins"):
        m.expected_calibration_error(y, p, n_bins=0)
    with pytest.raises(ValueError, match="both"):
        m.evaluate(np.array([1, 1, 1]), p)
    with pytest.raises(ValueError, match="different lengths"):
        m.compare(y, p, p[:2])
    with pytest.raises(ValueError, match="n_boot"):
        m.bootstrap_weights(3, n_boot=0)


def test_accepts_pandas_and_bool_inputs():
    y = pd.Series([True, False, True, False])
    p = pd.Series([0.8, 0.3, 0.6, 0.4])
    assert m.roc_auc(y, p) == 1.0
    assert m.brier(y.astype(int), p) == pytest.approx(np.mean((p - y.astype(int)) ** 2))
