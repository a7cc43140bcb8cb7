"""The presorted path (sort once, then binary search and prefix sums) against the capacity
as it was defined customer by customer: identical assignments, the same money."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from churn.economics import Action, Economics
from churn.targeting import (
    Capacity,
    Limit,
    PolicyRule,
    RankedCustomers,
    assigned_index,
    outlook,
    profit_by_index,
    rank_order,
    rule_index,
    sorted_rules,
)

ECONOMICS = Economics(
    (
        Action("email", 1.0, 5.0, 0.1),
        Action("call", 10.0, 30.0, 0.3),
        Action("visit", 40.0, 80.0, 0.5),
    ),
    value_column="value",
    value_multiplier=12.0,
)


def reference_assigned_index(p, rules, capacity=None, value=None, economics=None, ids=None):
    """The capacity as :func:`assigned_index` applied it before the presorted path: each
    action's members sorted by rank, one action after the other (kept here as the spec)."""
    p = np.asarray(p, dtype=float)
    index = rule_index(p, rules)
    if not capacity:
        return index
    ordered = sorted_rules(rules)
    if capacity.ranking == "expected_value":
        score = profit_by_index(index, p, np.asarray(value, dtype=float), ordered, economics)
        score = np.where(index >= 0, score, np.nan)
    else:
        score = np.where(index >= 0, p, np.nan)
    position = np.empty(p.size, dtype=np.int64)
    position[rank_order(score, ids)] = np.arange(p.size)
    n = int(np.isfinite(p).sum())
    limits = capacity.limits
    for k in range(len(ordered) - 1, -1, -1):
        limit = limits.get(ordered[k].action)
        if limit is None:
            continue
        members = np.flatnonzero(index == k)
        allowed = limit.count(n)
        if members.size > allowed:
            overflow = members[np.argsort(position[members], kind="stable")][allowed:]
            index[overflow] = k - 1
    if capacity.total is not None:
        contacted = np.flatnonzero(index >= 0)
        allowed = capacity.total.count(n)
        if contacted.size > allowed:
            index[contacted[np.argsort(position[contacted], kind="stable")][allowed:]] = -1
    return index


def customers(rng: np.random.Generator, n: int):
    """Probabilities with many ties (rounded to a few levels), some not scored; ids with
    repeats, leading zeros and missing ones; values with gaps."""
    p = np.round(rng.beta(1.2, 4.0, n), int(rng.integers(1, 3)))
    p[rng.random(n) < 0.05] = np.nan
    ids = pd.array([f"{i:05d}" for i in rng.integers(0, n // 2, n)], dtype="str")
    ids[rng.random(n) < 0.05] = pd.NA
    value = rng.gamma(2.0, 30.0, n)
    value[rng.random(n) < 0.1] = np.nan
    return p, ids, value


def random_policy(rng: np.random.Generator):
    names = ["email", "call", "visit"][: int(rng.integers(1, 4))]
    cuts = np.sort(rng.choice(np.round(np.linspace(0.0, 0.6, 13), 2), len(names), replace=False))
    rules = [PolicyRule(a, float(c)) for a, c in zip(names, cuts, strict=True)]
    per_action = tuple(
        (
            a,
            Limit(customers=int(rng.integers(0, 300)))
            if rng.random() < 0.5
            else Limit(share=float(rng.random() * 0.3)),
        )
        for a in names
        if rng.random() < 0.6
    )
    total = None
    if rng.random() < 0.7:
        total = (
            Limit(customers=int(rng.integers(0, 900)))
            if rng.random() < 0.5
            else Limit(share=float(rng.random()))
        )
    return rules, Capacity(total=total, per_action=per_action)


@pytest.mark.parametrize("seed", range(40))
def test_the_presorted_assignment_is_identical_to_the_definition(seed: int) -> None:
    rng = np.random.default_rng(seed)
    p, ids, value = customers(rng, int(rng.integers(1, 2_000)))
    rules, capacity = random_policy(rng)
    use_ids = ids if seed % 3 else None
    expected = reference_assigned_index(p, rules, capacity, ids=use_ids)
    assert np.array_equal(assigned_index(p, rules, capacity, ids=use_ids), expected)
    ranked = RankedCustomers(p, use_ids, values={"value": value})
    assert np.array_equal(ranked.assigned(rules, capacity), expected)
    b = ranked.bounds(rules, capacity)
    index_in_order = expected[ranked.order]
    assert np.array_equal(ranked.ranked_index(b), index_in_order)
    assert np.array_equal(ranked.ranked_index(b, 7, 60), index_in_order[7:60])
    # what it is worth, from prefix sums, equals the customer-by-customer sums
    filled = ECONOMICS.customer_value(pd.DataFrame({"value": value[np.isfinite(p)]}), 0)
    full = np.full(p.size, np.nan)
    full[np.isfinite(p)] = filled
    scored = np.isfinite(p)
    want = outlook(
        p[scored],
        full[scored],
        rules,
        ECONOMICS,
        capacity=capacity,
        ids=None if use_ids is None else use_ids[scored],
    )["estimated"]
    got = ranked.outlook(rules, ECONOMICS, capacity)
    assert got["contacted"] == want["contacted"] and got["customers"] == want["customers"]
    for key in ("churners_contacted", "profit", "share_targeted"):
        assert got[key] == pytest.approx(want[key], rel=1e-9, abs=1e-9)


@pytest.mark.parametrize("seed", range(20))
def test_a_capacity_by_expected_value_is_identical_too(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    p, ids, value = customers(rng, int(rng.integers(1, 1_500)))
    rules, _ = random_policy(rng)
    total = Limit(customers=int(rng.integers(0, 600)))
    capacity = Capacity(total=total, ranking="expected_value")
    money = np.where(np.isnan(value), np.nanmedian(value[np.isfinite(p)]), value) * 12.0
    expected = reference_assigned_index(p, rules, capacity, money, ECONOMICS, ids)
    assert np.array_equal(assigned_index(p, rules, capacity, money, ECONOMICS, ids), expected)
    ranked = RankedCustomers(p, ids, values={"value": value})
    worth = ranked.by_worth(rules, ECONOMICS)
    taken = ranked.order[worth["order"][: min(total.customers, worth["order"].size)]]
    assert set(taken.tolist()) == set(np.flatnonzero(expected >= 0).tolist())
    # the order by expected value is rank_order's over the whole batch (duplicate ids too)
    by_rules = rule_index(p, rules)
    score = np.where(by_rules >= 0, profit_by_index(by_rules, p, money, rules, ECONOMICS), np.nan)
    reference = rank_order(score, ids)[: int((by_rules >= 0).sum())]
    assert np.array_equal(ranked.order[worth["order"]], reference)
    scored = np.isfinite(p)
    want = outlook(p[scored], money[scored], rules, ECONOMICS, capacity=capacity, ids=ids[scored])[
        "estimated"
    ]
    got = ranked.outlook(rules, ECONOMICS, capacity)
    assert got["contacted"] == want["contacted"]
    assert got["profit"] == pytest.approx(want["profit"], rel=1e-9, abs=1e-9)


def test_a_constant_value_and_no_capacity() -> None:
    rng = np.random.default_rng(7)
    p, ids, _ = customers(rng, 500)
    rules = [PolicyRule("email", 0.1), PolicyRule("call", 0.3)]
    economics = Economics(ECONOMICS.actions[:2], value_constant=250.0)
    ranked = RankedCustomers(p, ids)
    assert np.array_equal(ranked.assigned(rules), rule_index(p, rules))
    scored = np.isfinite(p)
    want = outlook(p[scored], 250.0, rules, economics)["estimated"]
    got = ranked.outlook(rules, economics)
    assert got["contacted"] == want["contacted"]
    assert got["profit"] == pytest.approx(want["profit"], rel=1e-12)


def test_a_missing_value_column_is_a_sentence() -> None:
    ranked = RankedCustomers(np.array([0.2, 0.5]))
    with pytest.raises(Exception, match="'value' is not in the scored customers"):
        ranked.outlook([PolicyRule("email", 0.1)], ECONOMICS)


@pytest.mark.parametrize("decimals", [1, 2, 4, 6])
def test_rank_order_is_the_documented_one_with_few_or_many_ties(decimals: int) -> None:
    """Many ties rank every id once (by id and row), few rank only the tied ids: both are
    the documented order, with repeated and missing ids, for a whole batch or some rows."""
    rng = np.random.default_rng(decimals)
    n = 3_000
    score = np.round(rng.random(n), decimals)
    score[::97] = np.nan
    ids = pd.array([f"{x:04d}" for x in rng.integers(0, 2_500, n)], dtype="str")
    ids[::50] = pd.NA

    def brute(rows):
        return sorted(
            rows,
            key=lambda k: (
                np.isnan(score[k]),
                0 if np.isnan(score[k]) else -score[k],
                pd.isna(ids[k]),
                "" if pd.isna(ids[k]) else ids[k],
                k,
            ),
        )

    everyone = np.arange(n)
    assert rank_order(score, pd.Series(ids)).tolist() == brute(everyone)
    assert rank_order(score, np.asarray(ids, dtype=object)).tolist() == brute(everyone)
    some = rng.permutation(n)[:1_000]
    got = some[rank_order(score[some], pd.Series(ids), rows=some)]
    assert got.tolist() == brute(some)
