"""The review list: doubtful customers ranked by what a review is worth."""

from __future__ import annotations

import numpy as np
import pytest

from churn.economics import Action, Economics
from churn.targeting import (
    Capacity,
    Limit,
    PolicyRule,
    assigned_index,
    effective_rules,
    review_list,
    straddling,
)

ECON = Economics(
    (Action("Email", 1.0, 5.0, 0.1), Action("Call", 15.0, 60.0, 0.4)), value_constant=500.0
)
RULES = [PolicyRule("Email", 0.2), PolicyRule("Call", 0.5)]


def test_worth_is_the_expected_gain_of_knowing_the_true_probability():
    # one customer just below the Call cut-off, interval reaching well above it
    p, low, high = np.array([0.45]), np.array([0.3]), np.array([0.7])
    value = np.array([2000.0])
    table = review_list(p, low, high, value, RULES, ECON)
    assert table["action"].tolist() == ["Email"] and table["could_be"].tolist() == ["Call"]
    # by hand: q uniform on [0.3, 0.7]; a review moves q >= 0.5 to Call when Call pays more
    email, call = ECON.actions
    q = 0.3 + 0.4 * (np.arange(100_000) + 0.5) / 100_000
    gain = np.where(
        q >= 0.5,
        call.profit(q, np.full_like(q, 2000.0)) - email.profit(q, np.full_like(q, 2000.0)),
        0,
    )
    assert table["worth"].iloc[0] == pytest.approx(np.clip(gain, 0, None).mean(), rel=0.02)


def test_more_at_stake_ranks_first_and_sure_customers_are_not_listed():
    p = np.array([0.45, 0.45, 0.45, 0.8, 0.05])
    low = np.array([0.3, 0.44, 0.3, 0.75, 0.01])
    high = np.array([0.7, 0.51, 0.7, 0.85, 0.1])
    value = np.array([500.0, 500.0, 5000.0, 500.0, 500.0])
    table = review_list(p, low, high, value, RULES, ECON, ids=np.array(list("abcde")))
    assert set(table["customer_id"]) == {"a", "b", "c"}  # d and e are sure of their action
    assert len(table) == straddling(low, high, RULES).sum()
    # the valuable customer first, the one barely crossing last
    assert table["customer_id"].tolist() == ["c", "a", "b"]
    assert (np.diff(table["worth"].to_numpy()) <= 0).all()
    assert (table["worth"] >= 0).all()


def test_with_a_capacity_the_cut_off_is_the_last_customer_taken():
    p = np.linspace(0.05, 0.95, 19)
    capacity = Capacity(total=Limit(customers=5))
    rules = [PolicyRule("Email", 0.0), PolicyRule("Call", 0.5)]
    index = assigned_index(p, rules, capacity)
    cuts = effective_rules(p, rules, capacity, index)
    assert cuts[0].min_probability == pytest.approx(p[-5])  # the fifth highest
    low, high = p - 0.06, p + 0.06
    table = review_list(p, low, high, np.full(19, 500.0), rules, ECON, capacity=capacity)
    # the customers either side of the capacity's edge are the doubtful ones
    assert set(np.round(table["churn_probability"], 2)) >= {round(p[-5], 2), round(p[-6], 2)}


def test_worth_equals_a_dense_average_for_random_customers():
    """The exact per-segment integral against a brute-force average over each interval."""
    rng = np.random.default_rng(4)
    n = 300
    p = rng.random(n)
    width = rng.uniform(0.0, 0.4, n)
    low, high = np.clip(p - width * rng.random(n), 0, 1), np.clip(p + width * rng.random(n), 0, 1)
    value = rng.uniform(50, 3000, n)
    table = review_list(p, low, high, value, RULES, ECON)
    index = assigned_index(p, RULES)
    actions = {-1: None, 0: ECON.actions[0], 1: ECON.actions[1]}
    grid = (np.arange(20_000) + 0.5) / 20_000
    for row in table.itertuples():
        i = row.position
        q = low[i] + (high[i] - low[i]) * grid
        at_q = assigned_index(q, RULES)
        v = np.full_like(q, value[i])

        def paid(k, q=q, v=v):
            return np.zeros_like(q) if actions[k] is None else actions[k].profit(q, v)

        new = np.select([at_q == -1, at_q == 0, at_q == 1], [paid(-1), paid(0), paid(1)])
        expected = np.clip(new - paid(int(index[i])), 0, None).mean()
        assert row.worth == pytest.approx(expected, rel=5e-3, abs=1e-3)


def test_reviewing_the_first_k_is_worth_their_sum():
    from churn.targeting import review_worth

    p = np.array([0.45, 0.45, 0.45])
    table = review_list(
        p, np.array([0.3, 0.44, 0.3]), np.array([0.7, 0.51, 0.7]), np.array([500.0, 500, 5000]),
        RULES, ECON,
    )  # fmt: skip
    two = review_worth(table, 2)
    assert two["reviewed"] == 2
    assert two["worth"] == pytest.approx(table["worth"].iloc[:2].sum())
    assert two["worth_all"] == pytest.approx(table["worth"].sum())
    assert 0.9 < two["share"] < 1.0  # the first two carry most of it
    assert review_worth(table, 100)["reviewed"] == 3
    assert review_worth(table.iloc[:0], 5)["reviewed"] == 0


def test_ranked_by_value_a_customer_left_out_by_the_capacity_needs_to_reach_the_bar():
    """Left out because the capacity is full, a customer only gets an action if their true
    probability makes their action worth as much as the last customer taken's."""
    from churn.targeting import action_starts

    one = Economics((Action("Offer", 10.0, 50.0, 0.3),), value_constant=1000.0)
    rules = [PolicyRule("Offer", 0.0)]
    capacity = Capacity(total=Limit(customers=2), ranking="expected_value")
    p = np.array([0.8, 0.6, 0.5, 0.5, 0.2])
    value = np.array([1000.0, 1000.0, 1000.0, 100.0, 1000.0])
    index = assigned_index(p, rules, capacity, value, one)
    assert index.tolist() == [0, 0, -1, -1, -1]
    starts = action_starts(p, value, rules, one, capacity, index)[:, 0]
    offer = one.actions[0]
    bar = offer.profit(np.array([0.6]), np.array([1000.0]))[0]
    # the third customer is taken from p = 0.6 (same value), the fourth never (worth too little)
    assert starts[2] == pytest.approx(0.6)
    assert np.isinf(starts[3]) or starts[3] > 1
    assert offer.profit(np.array([starts[2]]), np.array([1000.0]))[0] == pytest.approx(bar)
    low = p - 0.15
    high = p + 0.15
    table = review_list(p, low, high, value, rules, one, capacity=capacity, ids=np.arange(5))
    assert 2 in set(table["customer_id"]) and 3 not in set(table["customer_id"])
