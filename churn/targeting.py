"""A policy's rules and what they do to customers: who gets which action, at what profit.

A policy is a list of :class:`PolicyRule` cut-offs: a customer gets the action of the rule
with the highest ``min_probability`` at or below their churn probability, else no action.
Everything that applies rules lives here, so the Decide page, the customer list, the
exported policy, scoring and monitoring all apply them the same way: the assignment
(:func:`assign_actions`), the profit of each customer (:func:`profit_under_rules`), the
confusion matrix in customers and money (:func:`confusion`), what a policy does on a set of
customers with or without outcomes (:func:`outlook`) and who is near a cut-off
(:func:`straddling`). Choosing the rules is :mod:`churn.decisions`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from churn.economics import NO_ACTION, Action, Economics

__all__ = [
    "PolicyRule",
    "assign_actions",
    "confusion",
    "expected_profit",
    "outlook",
    "profit_under_rules",
    "rule_index",
    "sorted_rules",
    "straddling",
]


@dataclass(frozen=True)
class PolicyRule:
    """One cut-off of a policy: a customer whose churn probability is at least
    ``min_probability`` (in [0, 1]) gets ``action``, unless a rule with a higher
    ``min_probability`` also applies (the highest one wins)."""

    action: str
    min_probability: float

    def to_dict(self) -> dict[str, Any]:
        """``{"action", "min_probability"}``, as in the policy file."""
        return {"action": self.action, "min_probability": self.min_probability}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PolicyRule:
        """A rule from the policy file's ``{"action", "min_probability"}`` (validated there)."""
        return cls(action=str(data["action"]), min_probability=float(data["min_probability"]))


def sorted_rules(rules: Sequence[PolicyRule], strongest_first: bool = False) -> list[PolicyRule]:
    """Rules by increasing ``min_probability`` (by decreasing with ``strongest_first``).

    The one place rules are ordered: assignment, descriptions and lists all use it.
    """
    return sorted(rules, key=lambda r: r.min_probability, reverse=strongest_first)


def rule_index(p: np.ndarray, rules: Sequence[PolicyRule]) -> np.ndarray:
    """Index of each customer's rule in ``sorted_rules(rules)``, or -1 when none applies.

    The rule that applies is the one with the highest ``min_probability`` <= p.
    """
    cuts = np.array([r.min_probability for r in sorted_rules(rules)], dtype=float)
    return np.searchsorted(cuts, np.asarray(p, dtype=float), side="right") - 1


def assign_actions(
    p: np.ndarray, rules: Sequence[PolicyRule], default_action: str = NO_ACTION
) -> np.ndarray:
    """Action per customer: the rule with the highest ``min_probability`` <= p, else default."""
    names = np.array([default_action, *(r.action for r in sorted_rules(rules))], dtype=object)
    return names[rule_index(p, rules) + 1]


def _rule_actions(rules: Sequence[PolicyRule], economics: Economics) -> list[Action | None]:
    """The :class:`Action` of each rule in ``sorted_rules`` order (None if not in economics)."""
    by_name = {a.name: a for a in economics.actions}
    return [by_name.get(r.action) for r in sorted_rules(rules)]


def expected_profit(
    p: np.ndarray, value: np.ndarray, rules: Sequence[PolicyRule], economics: Economics
) -> np.ndarray:
    """Expected profit of each customer under ``rules`` (0 when not contacted), in money."""
    return profit_under_rules(p, p, value, rules, economics)


def profit_under_rules(
    p: np.ndarray,
    outcome: np.ndarray,
    value: np.ndarray,
    rules: Sequence[PolicyRule],
    economics: Economics,
) -> np.ndarray:
    """Profit of each customer: action chosen by ``p``, paid off by ``outcome``.

    ``outcome`` is 0/1 (realised profit) or a probability (expected profit);
    customers without an action get 0. Money, one value per customer.
    """
    p = np.asarray(p, dtype=float)
    outcome = np.asarray(outcome, dtype=float)
    value = np.broadcast_to(np.asarray(value, dtype=float), p.shape)
    index = rule_index(p, rules)
    out = np.zeros(len(p))
    for k, action in enumerate(_rule_actions(rules, economics)):
        rows = index == k
        if action is not None and rows.any():
            out[rows] = action.profit(outcome[rows], value[rows])
    return out


def confusion(
    outcome: np.ndarray,
    contacted: np.ndarray,
    profit: np.ndarray,
    value: np.ndarray,
    whole_customers: bool = True,
) -> pd.DataFrame:
    """A policy's confusion matrix in customers and in money.

    Parameters
    ----------
    outcome : 0/1 outcomes (realised), or churn probabilities (expected counts).
    contacted : boolean mask of the customers the policy contacts.
    profit : each contacted customer's profit in money (ignored where not contacted).
    value : each customer's value in money.
    whole_customers : round the customer counts to integers (with 0/1 outcomes).

    Rows: contacted churners (money: what the actions saved, net of cost), contacted
    stayers (money: incentives and contacts spent on them), churners not contacted
    (money: the value that walked away, which no action addressed; it is not part of the
    policy's profit) and stayers not contacted (no money either way).
    """
    c = np.asarray(contacted, dtype=bool)
    churned_in, churned_out = outcome[c], outcome[~c]
    spent = profit[c]
    confusion = pd.DataFrame(
        {
            "decision": ["Contacted", "Contacted", "Not contacted", "Not contacted"],
            "outcome": ["Would have churned", "Would have stayed", "Churned", "Stayed"],
            "customers": [
                float(churned_in.sum()),
                float(churned_in.size - churned_in.sum()),
                float(churned_out.sum()),
                float(churned_out.size - churned_out.sum()),
            ],
            "money": [
                float((spent * churned_in).sum()),
                float((spent * (1.0 - churned_in)).sum()),
                float(-(value[~c] * churned_out).sum()),
                0.0,
            ],
            "in_profit": [True, True, False, False],
        }
    )
    if whole_customers:
        confusion["customers"] = confusion["customers"].round().astype(int)
    return confusion


def _figures(outcome: np.ndarray, contacted: np.ndarray, money: np.ndarray) -> dict[str, float]:
    n = outcome.size
    n_contacted = int(contacted.sum())
    tp = float(outcome[contacted].sum())
    churners = float(outcome.sum())
    profit = float(money.sum())
    return {
        "customers": int(n),
        "contacted": n_contacted,
        "share_targeted": n_contacted / n if n else math.nan,
        "churners_contacted": tp,
        "precision": tp / n_contacted if n_contacted else math.nan,
        "recall": tp / churners if churners > 0 else math.nan,
        "churn_rate": churners / n if n else math.nan,
        "profit": profit,
        "profit_per_customer": profit / n if n else math.nan,
    }


def outlook(
    p: np.ndarray,
    value: np.ndarray,
    rules: Sequence[PolicyRule],
    economics: Economics,
    y: np.ndarray | None = None,
    low: np.ndarray | None = None,
    high: np.ndarray | None = None,
) -> dict[str, Any]:
    """What a policy does on a set of customers: expected from the probabilities, and
    realised where outcomes are known.

    Parameters
    ----------
    p : calibrated churn probabilities, in [0, 1]; they decide who is contacted.
    value : customer value in money, one per customer (or one for all).
    rules, economics : the policy's rules and the economics that price its actions.
    y : 0/1 outcomes, or ``None``. NaN marks a customer without an outcome; the realised
        figures use the others only.
    low, high : the probability intervals; with them the customers to review are counted.

    Returns
    -------
    ``{"estimated": {...}, "realised": {...} or None}``, each with ``customers``,
    ``contacted`` (count), ``share_targeted`` in [0, 1], ``churners_contacted``,
    ``precision``, ``recall``, ``churn_rate``, ``profit`` (money) and
    ``profit_per_customer``. Estimated (confidence-based performance estimation, as
    NannyML's CBPE): with calibrated probabilities a contacted customer is a churner with
    probability ``p``, so the expected churners contacted are the sum of ``p`` over them,
    the expected churners the sum over everyone, and the expected profit prices ``p``.
    ``precision`` is NaN when nobody is contacted, ``recall`` when nobody churns. With
    ``low``/``high`` also ``review`` and ``share_review``: the customers whose interval
    crosses a cut-off (:func:`straddling`).
    """
    p = np.asarray(p, dtype=float)
    value = np.broadcast_to(np.asarray(value, dtype=float), p.shape)
    contacted = rule_index(p, rules) >= 0
    out: dict[str, Any] = {
        "estimated": _figures(p, contacted, expected_profit(p, value, rules, economics)),
        "realised": None,
    }
    if y is not None:
        y = np.asarray(y, dtype=float)
        known = ~np.isnan(y)
        if known.any():
            money = profit_under_rules(p[known], y[known], value[known], rules, economics)
            out["realised"] = _figures(y[known], contacted[known], money)
    if low is not None and high is not None:
        review = straddling(low, high, rules)
        out["review"] = int(review.sum())
        out["share_review"] = float(review.mean()) if review.size else math.nan
    return out


def straddling(low: np.ndarray, high: np.ndarray, rules: Sequence[PolicyRule]) -> np.ndarray:
    """Customers whose interval contains a cut-off: their action could flip (boolean mask).

    A customer straddles the cut-off ``c`` when ``low < c <= high``: somewhere
    inside their interval the policy would treat them differently. These are
    the customers worth routing to human review.
    """
    low = np.asarray(low, dtype=float)
    high = np.asarray(high, dtype=float)
    mask = np.zeros(low.shape, dtype=bool)
    for rule in rules:  # a handful of cut-offs, vectorised over customers
        c = rule.min_probability
        mask |= (low < c) & (c <= high)
    return mask
