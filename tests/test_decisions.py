"""Tests for churn.decisions and churn.targeting: curves against a naive per-threshold
reference, the tier DP against brute force, choosing a row, policy rules and applying them
(assignment, profit, confusion, outlook), EMP and the economics."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from churn import decisions as d
from churn import targeting
from churn.decisions import Choice
from churn.economics import Action, Economics, default_economics
from churn.errors import ChurnInputError
from churn.targeting import PolicyRule

WEAK = Action("Email", contact_cost=1.0, incentive_cost=5.0, success_rate=0.10)
MID = Action("Voucher", contact_cost=5.0, incentive_cost=20.0, success_rate=0.30)
STRONG = Action("Call", contact_cost=20.0, incentive_cost=60.0, success_rate=0.60)

ONE = Economics((MID,), value_constant=400.0)
TWO = Economics((STRONG, WEAK), value_constant=400.0)  # given out of order on purpose
THREE = Economics((MID, STRONG, WEAK), value_constant=400.0)

SEEDS = (0, 1, 2)


def _data(seed: int, n: int = 300, decimals: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities rounded (many ties, 0 and 1 included) and labels drawn from them."""
    rng = np.random.default_rng(seed)
    p = np.round(rng.beta(1.5, 3.0, n), decimals)
    p[:3] = [0.0, 1.0, p[3]]  # extremes and a guaranteed tie
    y = (rng.random(n) < p).astype(int)
    return p, y


def _values(seed: int, n: int, per_customer: bool) -> np.ndarray:
    if not per_customer:
        return np.full(n, 400.0)
    return np.random.default_rng(seed + 100).uniform(50.0, 2000.0, n)


# ------------------------------------------------------------------ naive references
def _profit_by_hand(action: Action, churn: np.ndarray, value: np.ndarray) -> np.ndarray:
    """Verbraken et al.: a churner is worth s*(v - incentive) - contact, a stayer costs
    incentive + contact; ``churn`` may be a probability (expected profit)."""
    s, c, i = action.success_rate, action.contact_cost, action.incentive_cost
    worth = s * (value - i) - c
    cost = i + c
    return churn * worth + (1.0 - churn) * (-cost)


def _action_index(p: np.ndarray, tiers: list[float]) -> np.ndarray:
    """Index of the (weakest-first) action each customer's probability falls in."""
    which = np.zeros(p.size, dtype=int)
    for k, t in enumerate(tiers, start=1):
        which[p >= t] = k
    return which


def _naive_curve(
    p: np.ndarray,
    economics: Economics,
    value: np.ndarray,
    y: np.ndarray | None,
    tiers: list[float],
) -> pd.DataFrame:
    outcome = p if y is None else y.astype(float)
    actions = economics.ordered_actions
    which = _action_index(p, tiers)
    each = np.array(
        [_profit_by_hand(actions[which[j]], outcome[j], value[j]) for j in range(p.size)]
    )
    rows = []
    for t in [np.inf, *sorted(set(p.tolist()), reverse=True)]:
        targeted = p >= t
        n_t = int(targeted.sum())
        tp = float(outcome[targeted].sum())
        fp = n_t - tp
        rows.append(
            {
                "threshold": t,
                "n_targeted": n_t,
                "share_targeted": n_t / p.size,
                "true_positives": tp,
                "false_positives": fp,
                "precision": tp / n_t if n_t else np.nan,
                "recall": tp / outcome.sum(),
                "profit": float(each[targeted].sum()),
                "profit_per_customer": float(each[targeted].sum()) / p.size,
            }
        )
    return pd.DataFrame(rows)


def _tier_total(p, outcome, value, economics, groups, cuts) -> float:
    """Total profit of cut group indices ``[g_1 >= ... >= g_K]`` computed customer by customer."""
    actions = economics.ordered_actions
    total = 0.0
    for j in range(p.size):
        if p[j] < groups.thresholds[cuts[0]]:
            continue  # not contacted
        k = max(i for i, g in enumerate(cuts) if p[j] >= groups.thresholds[g])
        total += float(_profit_by_hand(actions[k], outcome[j], value[j]))
    return total


def _brute_force_best(p, outcome, value, economics, groups) -> float:
    """Best total profit over every non-increasing tuple of group cuts g_1 >= ... >= g_K."""
    actions = economics.ordered_actions
    each = np.vstack([_profit_by_hand(a, outcome, value) for a in actions])  # (K, n)
    cuts = itertools.combinations_with_replacement(range(groups.counts.size), len(actions))
    combos = np.array([c[::-1] for c in cuts])
    starts = groups.thresholds[combos]  # (M, K) min probability of each action's tier
    contacted = p[None, :] >= starts[:, :1]  # (M, n)
    which = (p[None, None, :] >= starts[:, 1:, None]).sum(axis=1)  # (M, n) action index
    totals = np.where(contacted, each[which, np.arange(p.size)[None, :]], 0.0).sum(axis=1)
    return float(totals.max())


# ---------------------------------------------------------------------------- curves
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("labelled", [True, False])
@pytest.mark.parametrize("economics", [ONE, TWO], ids=["one_action", "two_actions"])
@pytest.mark.parametrize("per_customer", [False, True], ids=["constant", "column"])
def test_threshold_curve_matches_naive_reference(seed, labelled, economics, per_customer):
    p, y = _data(seed)
    value = _values(seed, p.size, per_customer)
    tiers = [0.45] if len(economics.actions) == 2 else []
    curve = d.threshold_curve(p, economics, value, y if labelled else None, tiers)
    expected = _naive_curve(p, economics, value, y if labelled else None, tiers)

    assert list(curve.columns) == list(expected.columns)
    assert len(curve) == len(np.unique(p)) + 1
    # nobody first, everybody last
    assert curve["threshold"].iloc[0] == np.inf and curve["n_targeted"].iloc[0] == 0
    assert curve["profit"].iloc[0] == 0.0 and np.isnan(curve["precision"].iloc[0])
    assert curve["n_targeted"].iloc[-1] == p.size and curve["threshold"].iloc[-1] == p.min()
    assert curve["recall"].iloc[-1] == pytest.approx(1.0)
    pd.testing.assert_frame_equal(
        curve, expected, check_dtype=False, check_exact=False, rtol=1e-9, atol=1e-7
    )


def test_threshold_curve_default_tiers_reach_the_dp_optimum():
    p, y = _data(5, n=40, decimals=1)
    value = _values(5, p.size, per_customer=True)
    groups = d.sorted_groups(p)
    curve = d.threshold_curve(p, TWO, value, y)
    best = _brute_force_best(p, y.astype(float), value, TWO, groups)
    assert curve["profit"].max() == pytest.approx(best, rel=1e-9, abs=1e-7)


def test_sorted_groups_and_input_errors():
    groups = d.sorted_groups(np.array([0.2, 0.5, 0.2, 0.9, 0.5]))
    assert groups.thresholds.tolist() == [np.inf, 0.9, 0.5, 0.2]
    assert groups.counts.tolist() == [0, 1, 3, 5]
    assert np.all(np.diff(np.array([0.2, 0.5, 0.2, 0.9, 0.5])[groups.order]) <= 0)
    with pytest.raises(ChurnInputError):
        d.sorted_groups(np.array([]))
    with pytest.raises(ChurnInputError):
        d.sorted_groups(np.array([0.1, np.nan]))


# ------------------------------------------------------------------------- tier DP
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("economics", [TWO, THREE], ids=["two", "three"])
@pytest.mark.parametrize("labelled", [True, False])
def test_tier_cutoffs_match_brute_force(seed, economics, labelled):
    rng = np.random.default_rng(seed)
    n = 40
    p = np.round(rng.random(n), 2)  # about 33 groups, some ties
    p[1::7] = p[::7][: p[1::7].size]  # and more ties
    y = (rng.random(n) < p).astype(float)
    outcome = y if labelled else p
    value = rng.uniform(100.0, 1500.0, n)
    groups = d.sorted_groups(p)

    cuts = d.tier_cutoffs(p, outcome, value, economics, groups)
    assert len(cuts) == len(economics.actions)
    assert all(a >= b for a, b in itertools.pairwise(cuts))
    assert all(0 <= g < groups.thresholds.size for g in cuts)

    got = _tier_total(p, outcome, value, economics, groups, cuts)
    best = _brute_force_best(p, outcome, value, economics, groups)
    assert got == pytest.approx(best, rel=1e-9, abs=1e-7)


def test_tier_cutoffs_nobody_when_every_action_loses_money():
    p = np.array([0.1, 0.2, 0.3])
    costly = Economics((Action("Gift", 100.0, 100.0, 0.1),), value_constant=10.0)
    assert d.tier_cutoffs(p, p, np.full(3, 10.0), costly) == [0]


# ------------------------------------------------------------------------- choosing
@pytest.fixture(scope="module")
def tied_curve() -> tuple[np.ndarray, pd.DataFrame]:
    p, y = _data(7, n=500)
    value = _values(7, p.size, per_customer=True)
    return p, d.threshold_curve(p, TWO, value, y, [0.5])


@pytest.mark.parametrize("value", [0.0, 0.13, 0.3, 0.305, 0.5, 0.99, 1.0])
def test_select_threshold_targets_exactly_p_at_least_value(tied_curve, value):
    p, curve = tied_curve
    row = d.select(curve, Choice("threshold", value))
    assert curve["n_targeted"].iloc[row] == int((p >= value).sum())
    assert curve["threshold"].iloc[row] >= value


@pytest.mark.parametrize("n_cap", [0, 1, 7, 50, 123, 499, 500, 10_000])
def test_select_top_n_is_the_largest_within_capacity(tied_curve, n_cap):
    _, curve = tied_curve
    n_targeted = curve["n_targeted"].to_numpy()
    row = d.select(curve, Choice("top_n", n_cap))
    assert n_targeted[row] <= n_cap
    assert n_targeted[row] == n_targeted[n_targeted <= n_cap].max()


@pytest.mark.parametrize("share", [0.0, 0.01, 0.2, 0.29, 0.5, 0.999, 1.0])
def test_select_top_share_is_the_largest_within_capacity(tied_curve, share):
    _, curve = tied_curve
    shares = curve["share_targeted"].to_numpy()
    row = d.select(curve, Choice("top_share", share))
    assert shares[row] <= share + 1e-12
    assert shares[row] == shares[shares <= share + 1e-12].max()


@pytest.mark.parametrize("target", [0.3, 0.5, 0.6, 0.75])
def test_select_precision_gives_the_most_customers_meeting_it(tied_curve, target):
    _, curve = tied_curve
    row = d.select(curve, Choice("precision", target))
    precision = curve["precision"].to_numpy()
    assert precision[row] >= target
    meets = np.flatnonzero(np.nan_to_num(precision, nan=-1) >= target)
    assert curve["n_targeted"].iloc[row] == curve["n_targeted"].iloc[meets].max()


@pytest.mark.parametrize("target", [0.0, 0.1, 0.5, 0.8, 1.0])
def test_select_recall_gives_the_fewest_customers_reaching_it(tied_curve, target):
    _, curve = tied_curve
    row = d.select(curve, Choice("recall", target))
    recall = curve["recall"].to_numpy()
    assert recall[row] >= target - 1e-12
    assert curve["n_targeted"].iloc[row] == curve["n_targeted"][recall >= target - 1e-12].min()


def test_select_max_profit_is_the_argmax(tied_curve):
    _, curve = tied_curve
    row = d.select(curve, Choice("max_profit"))
    assert curve["profit"].iloc[row] == curve["profit"].max()
    assert row == int(np.argmax(curve["profit"].to_numpy()))


def test_select_impossible_precision_raises():
    p = np.array([0.9, 0.8, 0.4, 0.2])
    y = np.array([0, 1, 0, 1])
    curve = d.threshold_curve(p, ONE, np.full(4, 400.0), y, [])
    with pytest.raises(ChurnInputError, match="precision"):
        d.select(curve, Choice("precision", 0.9))
    # with no positives at all no recall target above 0 can be met either
    curve0 = d.threshold_curve(p, ONE, np.full(4, 400.0), np.zeros(4), [])
    with pytest.raises(ChurnInputError, match="recall"):
        d.select(curve0, Choice("recall", 0.5))


@pytest.mark.parametrize(
    ("method", "value"),
    [
        ("cheapest", 0.5),
        ("threshold", None),
        ("threshold", float("nan")),
        ("threshold", 1.5),
        ("threshold", -0.1),
        ("top_n", -1),
        ("top_n", float("inf")),
        ("top_share", 1.2),
        ("precision", 2.0),
        ("recall", -0.5),
    ],
)
def test_choice_validation(method, value):
    with pytest.raises(ChurnInputError):
        Choice(method, value)


def test_choice_valid_values_and_dict():
    assert Choice("max_profit").to_dict() == {"method": "max_profit", "value": None}
    assert Choice("top_n", 10_000).to_dict() == {"method": "top_n", "value": 10_000}
    assert Choice("top_share", 0.2).to_dict() == {"method": "top_share", "value": 0.2}
    Choice("threshold", 0.0)
    Choice("recall", 1.0)


# ------------------------------------------------------------------ rules, actions
def test_policy_rules_for_a_single_threshold():
    assert d.policy_rules(0.3, [], ONE) == [PolicyRule("Voucher", 0.3)]
    assert d.policy_rules(np.inf, [], ONE) == []


def test_policy_rules_for_tiers_and_empty_tiers_dropped():
    rules = d.policy_rules(0.2, [0.5, 0.8], THREE)
    assert rules == [
        PolicyRule("Email", 0.2),
        PolicyRule("Voucher", 0.5),
        PolicyRule("Call", 0.8),
    ]
    # threshold above the first tier: the weakest action's tier is empty
    assert d.policy_rules(0.6, [0.5, 0.8], THREE) == [
        PolicyRule("Voucher", 0.6),
        PolicyRule("Call", 0.8),
    ]
    # threshold above every tier: only the strongest action is left
    assert d.policy_rules(0.9, [0.5, 0.8], THREE) == [PolicyRule("Call", 0.9)]
    # a tier that never starts (inf) is left out
    assert d.policy_rules(0.2, [np.inf], TWO) == [PolicyRule("Email", 0.2)]
    # two tiers starting at the same probability: only the stronger one
    assert d.policy_rules(0.2, [0.7, 0.7], THREE) == [
        PolicyRule("Email", 0.2),
        PolicyRule("Call", 0.7),
    ]


def test_assign_actions_at_the_boundaries():
    rules = [
        PolicyRule("Call", 0.8),  # order of the rules does not matter
        PolicyRule("Email", 0.2),
        PolicyRule("Voucher", 0.5),
    ]
    p = np.array([0.0, 0.19999, 0.2, 0.49, 0.5, 0.79, 0.8, 1.0])
    got = targeting.assign_actions(p, rules, default_action="none")
    assert got.tolist() == ["none", "none", "Email", "Email", "Voucher", "Voucher", "Call", "Call"]
    assert targeting.assign_actions(p, [], "nobody").tolist() == ["nobody"] * p.size


@pytest.mark.parametrize("seed", SEEDS)
def test_rules_reproduce_the_curve_at_every_threshold(seed):
    """Expected profit of the exported rules equals the (expected) curve row they came from."""
    p, _ = _data(seed, n=200)
    value = _values(seed, p.size, per_customer=True)
    tiers = [0.4, 0.7]
    curve = d.threshold_curve(p, THREE, value, None, tiers)
    for row in range(len(curve)):
        rules = d.policy_rules(float(curve["threshold"].iloc[row]), tiers, THREE)
        assigned = targeting.assign_actions(p, rules)
        assert int((assigned != "none").sum()) == curve["n_targeted"].iloc[row]
        total = targeting.expected_profit(p, value, rules, THREE).sum()
        assert total == pytest.approx(curve["profit"].iloc[row], rel=1e-9, abs=1e-7)


# ---------------------------------------------------------------- money and bands
def test_verbraken_formula_by_hand():
    action = Action("Offer", contact_cost=10.0, incentive_cost=50.0, success_rate=0.3)
    econ = Economics((action,), value_constant=1000.0)
    value = np.full(3, 1000.0)
    # churner: 0.3 * (1000 - 50) - 10 = 275; non-churner: -(50 + 10) = -60
    assert action.profit(np.array([1.0, 0.0, 0.5]), value).tolist() == [275.0, -60.0, 107.5]
    rules = [PolicyRule("Offer", 0.5)]
    p = np.array([1.0, 0.5, 0.0])
    # 1.0 -> 275, 0.5 -> 0.5*275 - 0.5*60 = 107.5, 0.0 -> not contacted
    assert targeting.expected_profit(p, value, rules, econ).tolist() == [275.0, 107.5, 0.0]
    curve = d.threshold_curve(np.array([0.9, 0.1]), econ, value[:2], np.array([1, 0]), [])
    assert curve["profit"].tolist() == [0.0, 275.0, 215.0]


def _curve_band(p, y, value, econ, tiers, level=0.95):
    """The bootstrap band columns of :func:`threshold_curve` (with ``band_level``)."""
    curve = d.threshold_curve(p, econ, value, y, tiers, band_level=level)
    return curve[["threshold", "profit_per_customer_low", "profit_per_customer_high"]]


def _band_and_curve(n: int, seed: int):
    rng = np.random.default_rng(seed)
    p = np.round(rng.beta(1.5, 3.0, n), 2)
    y = (rng.random(n) < p).astype(int)
    value = rng.uniform(100, 1000, n)
    tiers = [0.6]
    band = _curve_band(p, y, value, TWO, tiers)
    curve = d.threshold_curve(p, TWO, value, y, tiers)
    return band, curve


def test_curve_band_contains_the_realised_curve():
    band, curve = _band_and_curve(2000, seed=1)
    assert list(band.columns) == [
        "threshold",
        "profit_per_customer_low",
        "profit_per_customer_high",
    ]
    np.testing.assert_array_equal(band["threshold"], curve["threshold"])
    low, high = band["profit_per_customer_low"], band["profit_per_customer_high"]
    assert (low <= high).all()
    inside = (low <= curve["profit_per_customer"] + 1e-12) & (
        curve["profit_per_customer"] <= high + 1e-12
    )
    assert inside.mean() >= 0.9
    assert low.iloc[0] == high.iloc[0] == 0.0  # nobody contacted: no uncertainty


def test_curve_band_narrows_with_more_customers():
    def width_at(n: int) -> float:
        band, curve = _band_and_curve(n, seed=2)
        w = band["profit_per_customer_high"] - band["profit_per_customer_low"]
        return float(np.interp(0.3, curve["share_targeted"], w))

    small, large = width_at(300), width_at(6000)
    assert large < small / 2  # about sqrt(20) ~ 4.5 times narrower


def test_curve_band_matches_a_resampling_bootstrap():
    """The analytic band equals the 2.5-97.5% range of 2,000 real bootstrap resamples."""
    rng = np.random.default_rng(7)
    n = 1500
    p = np.round(rng.beta(1.5, 3.0, n), 2)
    y = (rng.random(n) < p).astype(int)
    value = rng.uniform(100, 1000, n)
    band = _curve_band(p, y, value, TWO, [0.6])
    curve = d.threshold_curve(p, TWO, value, y, [0.6])
    weights = rng.multinomial(n, np.full(n, 1.0 / n), size=2000)
    for share in (0.1, 0.3, 0.6):
        row = int(np.argmin(np.abs(curve["share_targeted"] - share)))
        targeted = p >= curve["threshold"].iloc[row]
        weak, strong = TWO.ordered_actions
        each = np.where(p >= 0.6, strong.profit(y, value), weak.profit(y, value))
        resampled = weights @ np.where(targeted, each, 0.0) / n
        low, high = np.quantile(resampled, [0.025, 0.975])
        width = high - low
        assert band["profit_per_customer_low"].iloc[row] == pytest.approx(low, abs=0.08 * width)
        assert band["profit_per_customer_high"].iloc[row] == pytest.approx(high, abs=0.08 * width)


# ----------------------------------------------------------------------------- EMP
def _emp_by_hand(y, p, clv, action, concentration=20.0, n_grid=100_000) -> float:
    """Average over gamma ~ Beta of the best profit per customer over every threshold."""
    from scipy import stats

    y = np.asarray(y, float)
    c, i = action.contact_cost, action.incentive_cost
    thresholds = [np.inf, *sorted(set(p.tolist()), reverse=True)]
    churner_n = np.array([y[p >= t].sum() for t in thresholds])
    stayer_n = np.array([(1 - y[p >= t]).sum() for t in thresholds])
    gamma = (np.arange(n_grid) + 0.5) / n_grid
    a, b = action.success_rate * concentration, (1 - action.success_rate) * concentration
    density = stats.beta.pdf(gamma, a, b)
    per_threshold = (
        (gamma[:, None] * (clv - i) - c) * churner_n[None, :] - (i + c) * stayer_n[None, :]
    ) / y.size
    best = per_threshold.max(axis=1)
    return float(np.sum(best * density) / np.sum(density))


def test_emp_equals_a_hand_computation():
    y = np.array([1, 0, 1, 0, 0, 1, 0, 0])
    p = np.array([0.9, 0.8, 0.7, 0.7, 0.4, 0.3, 0.2, 0.1])
    action = Action("Offer", contact_cost=10.0, incentive_cost=50.0, success_rate=0.3)
    got = d.emp(y, p, 1000.0, action, n_grid=4001)
    assert got["emp"] == pytest.approx(_emp_by_hand(y, p, 1000.0, action), rel=1e-4)
    default = d.emp(y, p, 1000.0, action)
    assert default["emp"] == pytest.approx(got["emp"], rel=5e-3)
    assert 0.0 <= got["share_targeted"] <= 1.0


def test_emp_is_non_negative_and_rewards_good_scores():
    rng = np.random.default_rng(11)
    n = 2000
    y = (rng.random(n) < 0.25).astype(int)
    action = Action("Offer", contact_cost=10.0, incentive_cost=50.0, success_rate=0.3)
    perfect = d.emp(y, y.astype(float), 1000.0, action)
    random = d.emp(y, rng.random(n), 1000.0, action)
    assert perfect["emp"] > random["emp"] >= 0.0
    # perfect scores: contact exactly the churners, worth 275 each on average
    assert perfect["emp"] == pytest.approx(0.25 * 275, rel=0.1)
    assert perfect["share_targeted"] == pytest.approx(y.mean())
    # an action that always loses: EMP is 0 (contact nobody)
    losing = Action("Gift", contact_cost=500.0, incentive_cost=500.0, success_rate=0.3)
    assert d.emp(y, y.astype(float), 1000.0, losing) == {"emp": 0.0, "share_targeted": 0.0}


def test_emp_needs_both_classes():
    with pytest.raises(ChurnInputError):
        d.emp(np.ones(5), np.linspace(0, 1, 5), 1000.0, MID)


# ----------------------------------------------------------------------- economics
def test_customer_value_from_column_and_constant():
    econ = Economics((MID,), value_column="monthly", value_multiplier=12.0)
    frame = pd.DataFrame({"monthly": [10.0, None, 30.0, "n/a", 50.0]})
    # median of the finite values 10, 30, 50 is 30
    assert econ.customer_value(frame, 5).tolist() == [120.0, 360.0, 360.0, 360.0, 600.0]
    assert Economics((MID,), value_constant=250.0).customer_value(None, 3).tolist() == [250.0] * 3
    with pytest.raises(ChurnInputError, match="monthly"):
        econ.customer_value(pd.DataFrame({"other": [1.0]}), 1)
    with pytest.raises(ChurnInputError):
        econ.customer_value(None, 1)
    # a column with no usable value at all falls back to the constant (already money)
    empty = Economics((MID,), value_constant=500.0, value_column="v", value_multiplier=12.0)
    assert empty.customer_value(pd.DataFrame({"v": [None, None]}), 2).tolist() == [500.0] * 2


def test_default_economics():
    with_column = default_economics(["tenure", "monthly_charges"])
    assert with_column.value_column == "monthly_charges" and with_column.value_multiplier == 12
    assert default_economics(None).value_column is None
    assert len(default_economics().actions) == 2


def test_economics_round_trip():
    econ = Economics((STRONG, WEAK), value_constant=321.0, value_column="v", value_multiplier=2.5)
    data = econ.to_dict()
    assert data["actions"][0] == {
        "name": "Call",
        "contact_cost": 20.0,
        "incentive_cost": 60.0,
        "success_rate": 0.6,
    }
    assert Economics.from_dict(data) == econ
    import json

    assert Economics.from_dict(json.loads(json.dumps(data))) == econ


def test_ordered_actions_weakest_first():
    assert [a.name for a in THREE.ordered_actions] == ["Email", "Voucher", "Call"]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"contact_cost": -1.0},
        {"incentive_cost": -0.01},
        {"contact_cost": float("nan")},
        {"incentive_cost": float("inf")},
        {"success_rate": 1.01},
        {"success_rate": -0.1},
        {"success_rate": float("nan")},
        {"name": "  "},
    ],
)
def test_invalid_actions_raise(kwargs):
    base = {"name": "A", "contact_cost": 1.0, "incentive_cost": 2.0, "success_rate": 0.5}
    with pytest.raises(ChurnInputError):
        Action(**{**base, **kwargs})


def test_invalid_economics_raise():
    with pytest.raises(ChurnInputError, match="at least one"):
        Economics(())
    with pytest.raises(ChurnInputError, match="different"):
        Economics((MID, Action("Voucher", 0.0, 0.0, 0.1)))
    with pytest.raises(ChurnInputError):
        Economics.from_dict({"value_constant": 5})
    with pytest.raises(ChurnInputError):
        Economics.from_dict({"actions": [{"name": "A", "contact_cost": 1.0}]})
    with pytest.raises(ChurnInputError):
        Economics.from_dict({"actions": []})


# ------------------------------------------------------------------------ property
@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 20), st.booleans()),
        min_size=1,
        max_size=60,
    ),
    st.sampled_from([ONE, TWO, THREE]),
)
def test_curve_is_monotone_and_max_profit_is_best(pairs, economics):
    p = np.array([k / 20 for k, _ in pairs])  # 21 levels: plenty of ties
    y = np.array([int(b) for _, b in pairs])
    value = np.full(p.size, 400.0)
    curve = d.threshold_curve(p, economics, value, y)
    n_targeted = curve["n_targeted"].to_numpy()
    assert n_targeted[0] == 0 and n_targeted[-1] == p.size
    assert np.all(np.diff(n_targeted) > 0)
    assert np.all(np.diff(curve["recall"].to_numpy()) >= -1e-12)
    assert np.all(np.diff(curve["true_positives"].to_numpy()) >= -1e-12)
    profit = curve["profit"].to_numpy()
    row = d.select(curve, Choice("max_profit"))
    assert np.all(profit[row] >= profit - 1e-9)
    assert profit[row] >= 0.0  # contacting nobody is always an option


# ---------------------------------------------------------------- confusion and review
def test_confusion_by_hand():
    p = np.array([0.9, 0.8, 0.3, 0.1])
    y = np.array([1, 0, 1, 0])
    value = np.array([1000.0, 500.0, 800.0, 200.0])
    action = Action("Call", contact_cost=10, incentive_cost=50, success_rate=0.3)
    econ = Economics((action,), value_constant=1.0)
    rules = [PolicyRule("Call", 0.5)]
    profit = targeting.profit_under_rules(p, y, value, rules, econ)
    table = targeting.confusion(y, targeting.rule_index(p, rules) >= 0, profit, value)
    table = table.set_index(["decision", "outcome"])
    assert table.loc[("Contacted", "Would have churned"), "customers"] == 1
    assert table.loc[("Contacted", "Would have churned"), "money"] == pytest.approx(
        0.3 * (1000 - 50) - 10
    )
    assert table.loc[("Contacted", "Would have stayed"), "money"] == pytest.approx(-60)
    assert table.loc[("Not contacted", "Churned"), "money"] == pytest.approx(-800)
    assert table.loc[("Not contacted", "Stayed"), "money"] == 0
    assert table["customers"].sum() == 4
    in_profit = table[table["in_profit"]]["money"].sum()
    assert in_profit == pytest.approx(targeting.profit_under_rules(p, y, value, rules, econ).sum())


def test_straddling_marks_intervals_that_cross_a_cut_off():
    low = np.array([0.10, 0.35, 0.41, 0.20, 0.55])
    high = np.array([0.20, 0.45, 0.50, 0.40, 0.70])
    rules = [PolicyRule("a", 0.4), PolicyRule("b", 0.6)]
    np.testing.assert_array_equal(
        targeting.straddling(low, high, rules), [False, True, False, True, True]
    )
    assert not targeting.straddling(low, high, []).any()


# --------------------------------------------------------------------- capacities
def test_capacity_of_the_strongest_action_moves_customers_down_a_tier():
    p = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05])
    weak = Action("weak", 1, 0, 0.1)
    strong = Action("strong", 10, 20, 0.4, max_share=0.2)
    econ = Economics((weak, strong), value_constant=500.0)
    groups = d.sorted_groups(p)
    # contact the top 7 (p >= 0.3), strong from the top 5 (p >= 0.5)
    row = int(np.flatnonzero(groups.counts == 7)[0])
    strong_start = int(np.flatnonzero(groups.counts == 5)[0])
    new_row, tiers = d.apply_capacities(groups, row, [strong_start], econ)
    assert groups.counts[new_row] == 7  # nobody dropped: the weak action has no limit
    assert groups.counts[tiers[0]] == 2  # strong: at most 20% of 10 customers
    rules = d.policy_rules(groups.thresholds[new_row], [groups.thresholds[tiers[0]]], econ)
    actions = targeting.assign_actions(p, rules, "none")
    assert (actions == "strong").sum() == 2 and (actions == "weak").sum() == 5


def test_capacity_of_the_weakest_action_raises_the_contact_threshold():
    p = np.array([0.9, 0.8, 0.8, 0.6, 0.5, 0.4, 0.3, 0.2])
    only = Action("call", 1, 0, 0.1, max_share=0.3)  # at most 2 of 8 (ties kept whole)
    econ = Economics((only,), value_constant=500.0)
    groups = d.sorted_groups(p)
    row = len(groups.counts) - 1  # everybody
    new_row, tiers = d.apply_capacities(groups, row, [], econ)
    assert tiers == []
    assert groups.counts[new_row] == 1  # 0.9 alone; the tied 0.8s would make 3 > 2


def test_decide_respects_capacities():
    rng = np.random.default_rng(3)
    p = np.round(rng.beta(2, 5, 3000), 3)
    y = (rng.random(3000) < p).astype(int)
    strong = Action("strong", 10, 20, 0.4, max_share=0.05)
    econ = Economics((Action("weak", 1, 0, 0.1), strong), value_constant=800.0)
    from churn.policy import decide

    decision = decide(p, p, p, y, np.full(3000, 800.0), econ, Choice("max_profit"))
    assert decision.actions_count.get("strong", 0) <= 0.05 * 3000
    assert decision.actions_count.get("strong", 0) > 0
    assert Economics.from_dict(econ.to_dict()) == econ
    # the "best" point respects the capacities too, and is at least as good as the choice
    groups = d.sorted_groups(p)
    tier_groups = [int(np.flatnonzero(groups.thresholds == t)[0]) for t in decision.tiers]
    feasible = d.within_capacity(groups, tier_groups, econ)
    assert feasible[decision.best_row] and feasible[decision.row]
    assert decision.curve["profit"].iloc[decision.best_row] >= decision.profit - 1e-9


def test_outlook_counts_and_expected_profit_by_hand():
    p = np.array([0.9, 0.5, 0.2])
    action = Action("Call", contact_cost=10, incentive_cost=50, success_rate=0.3)
    econ = Economics((action,), value_constant=1.0)
    rules = [PolicyRule("Call", 0.4)]
    ahead = targeting.outlook(p, np.array([1000.0, 500.0, 100.0]), rules, econ)["estimated"]
    assert ahead["contacted"] == 2 and ahead["customers"] == 3
    assert ahead["share_targeted"] == pytest.approx(2 / 3)
    assert ahead["churners_contacted"] == pytest.approx(1.4)
    by_hand = 0.9 * (0.3 * 950 - 10) - 0.1 * 60 + 0.5 * (0.3 * 450 - 10) - 0.5 * 60
    assert ahead["profit"] == pytest.approx(by_hand)


def test_outlook_counts_the_customers_to_review():
    p = np.array([0.5, 0.45, 0.2])
    low, high = p - 0.15, p + 0.15
    econ = Economics((Action("Call", 1, 0, 0.3),), value_constant=100.0)
    rules = [PolicyRule("Call", 0.4)]
    ahead = targeting.outlook(p, np.full(3, 100.0), rules, econ, low=low, high=high)
    assert ahead["review"] == 2  # 0.5 and 0.45 both have 0.4 inside their interval
    assert ahead["share_review"] == pytest.approx(2 / 3)
    assert "review" not in targeting.outlook(p, np.full(3, 100.0), rules, econ)
