"""Choosing a policy: threshold curves, action tiers, the PM's choice and capacities.

Actions are priced by :mod:`churn.economics`; the rules chosen here are applied to
customers by :mod:`churn.targeting`. With several actions, stronger
(costlier) actions go to higher probabilities: *tiers*. The tier cut-offs
are the ones that maximise total profit on the evaluation set, found exactly
by dynamic programming over the sorted scores.

Every curve here comes from one sort of the scores and cumulative sums; there
is no loop over thresholds or customers.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd

from churn.economics import Action, Economics, contact_profit
from churn.errors import ChurnInputError
from churn.targeting import PolicyRule

__all__ = [
    "Choice",
    "apply_capacities",
    "emp",
    "policy_rules",
    "presorted",
    "select",
    "sorted_groups",
    "threshold_curve",
    "tier_cutoffs",
    "tier_profit",
    "tier_thresholds",
    "within_capacity",
]


def ndtri(q: float) -> float:
    """The standard normal quantile at ``q`` (``scipy.stats.norm.ppf(q)`` to within 2e-15),
    from the standard library: importing SciPy's statistics takes 0.7 s, a seventh of the
    app's cold start, and its special functions another 0.15 s."""
    return NormalDist().inv_cdf(q)


# ------------------------------------------------------------------------ curves
@dataclass(frozen=True)
class SortedGroups:
    """Scores sorted once, descending, with the end of each group of tied scores.

    ``order`` sorts customers by descending probability; ``thresholds[g]`` is
    the g-th distinct probability; ``counts[g]`` the number of customers with
    probability >= ``thresholds[g]``. Index 0 of both is the "nobody" point
    (threshold +inf, count 0).
    """

    order: np.ndarray
    thresholds: np.ndarray
    counts: np.ndarray


def sorted_groups(p: np.ndarray) -> SortedGroups:
    """Sort probabilities once (descending) and find the distinct thresholds."""
    p = np.asarray(p, dtype=float)
    if p.ndim != 1 or p.size == 0:
        raise ChurnInputError("There are no scores to decide on.")
    if np.isnan(p).any():
        raise ChurnInputError("Some probabilities are missing; score the customers again.")
    order = np.argsort(-p)  # ties are grouped below, so their order does not matter
    ps = p[order]
    last_of_group = np.flatnonzero(np.r_[ps[1:] != ps[:-1], True])
    thresholds = np.r_[np.inf, ps[last_of_group]]
    counts = np.r_[0, last_of_group + 1]
    return SortedGroups(order=order, thresholds=thresholds, counts=counts)


def presorted(groups: SortedGroups) -> SortedGroups:
    """The same groups for arrays that are already in ``groups.order`` (no gather, a view)."""
    return SortedGroups(order=np.s_[:], thresholds=groups.thresholds, counts=groups.counts)


def _cum_at_groups(values_sorted: np.ndarray, groups: SortedGroups) -> np.ndarray:
    """Cumulative sums at each group end (with 0 at the nobody point); works on (n,) or (B, n)."""
    cum = np.cumsum(values_sorted, axis=-1)
    at = cum[..., groups.counts[1:] - 1]
    zero = np.zeros((*at.shape[:-1], 1))
    return np.concatenate([zero, at], axis=-1)


def _customer_profits(
    outcome: np.ndarray, value: np.ndarray, actions: tuple[Action, ...]
) -> np.ndarray:
    """Profit of each action (rows, weakest first) for each customer (columns)."""
    return np.vstack([a.profit(outcome, value) for a in actions])


def tier_cutoffs(
    p: np.ndarray,
    outcome: np.ndarray,
    value: np.ndarray,
    economics: Economics,
    groups: SortedGroups | None = None,
) -> list[int]:
    """Group indices where each action's tier starts, weakest first, maximising total profit.

    Returns ``[g_1, ..., g_K]`` with ``g_1 >= g_2 >= ... >= g_K`` (indices into
    ``groups.thresholds``): the top ``counts[g_K]`` customers get the strongest
    action, the next ones down to ``counts[g_{K-1}]`` the next, and so on;
    ``counts[g_1]`` customers are contacted in all. Found exactly by dynamic
    programming with suffix maxima (O(K n)).
    """
    groups = groups or sorted_groups(p)
    order = groups.order
    return _tier_cuts_sorted(
        np.asarray(outcome, float)[order], np.asarray(value, float)[order], economics, groups
    )


def _tier_cuts_sorted(
    outcome_sorted: np.ndarray, value_sorted: np.ndarray, economics: Economics, groups: SortedGroups
) -> list[int]:
    """:func:`tier_cutoffs` on outcomes and values already in descending-score order."""
    actions = economics.ordered_actions
    cum = _cum_at_groups(_customer_profits(outcome_sorted, value_sorted, actions), groups)
    m = cum.shape[1]
    idx = np.arange(m)

    def suffix_max(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rev = a[::-1]
        best = np.maximum.accumulate(rev)
        where = np.maximum.accumulate(np.where(rev == best, idx, 0))
        return best[::-1], (m - 1 - where)[::-1]

    values, argmaxes = suffix_max(cum[0])
    arg_tables = [argmaxes]
    for k in range(1, len(actions)):
        values, argmaxes = suffix_max(cum[k] - cum[k - 1] + values)
        arg_tables.append(argmaxes)
    # Backtrack from the strongest action, which starts at the top (index 0).
    cut = 0
    cuts = []
    for table in reversed(arg_tables):
        cut = int(table[cut])
        cuts.append(cut)
    return cuts[::-1]


def tier_profit(
    p: np.ndarray, outcome: np.ndarray, value: np.ndarray, economics: Economics, tiers: list[float]
) -> np.ndarray:
    """Profit of contacting each customer with the action of its tier (see :func:`policy_rules`).

    ``tiers`` are the min probabilities of actions 2..K (weakest first); below
    the first, the weakest action is used. ``outcome`` is 0/1 or a probability.
    """
    return _assignment_profit(
        np.asarray(p, dtype=float),
        np.asarray(outcome, dtype=float),
        np.broadcast_to(np.asarray(value, dtype=float), np.shape(p)),
        economics,
        tiers,
    )


def _assignment_profit(
    p: np.ndarray, outcome: np.ndarray, value: np.ndarray, economics: Economics, tiers: list[float]
) -> np.ndarray:
    """Profit of contacting each customer with the action its probability's tier gives.

    ``tiers`` are the min probabilities of actions 2..K (weakest first); below
    the first, the weakest action is used. Independent of the contact
    threshold, so one cumulative sum gives the whole curve.
    """
    actions = economics.ordered_actions
    which = np.searchsorted(np.asarray(tiers, dtype=float), p, side="right")
    if len(actions) == 1:
        return actions[0].profit(np.asarray(outcome, float), value)
    success = np.array([a.success_rate for a in actions])[which]
    incentive = np.array([a.incentive_cost for a in actions])[which]
    contact = np.array([a.contact_cost for a in actions])[which]
    return contact_profit(np.asarray(outcome, float), value, success, incentive, contact)


def threshold_curve(
    p: np.ndarray,
    economics: Economics,
    value: np.ndarray,
    y: np.ndarray | None = None,
    tiers: list[float] | None = None,
    groups: SortedGroups | None = None,
    band_level: float | None = None,
) -> pd.DataFrame:
    """Share targeted, precision, recall and profit at every distinct threshold.

    Parameters
    ----------
    p : probabilities in [0, 1], one per customer.
    economics : the actions and value definition.
    value : money per customer (see :meth:`Economics.customer_value`).
    y : 0/1 outcomes. With them the counts and profit are realised; without
        them they are expected values from the (calibrated) probabilities.
    tiers : min probabilities of the stronger actions (see :func:`policy_rules`);
        ``None`` uses the profit-maximising tiers.
    groups : ``sorted_groups(p)`` when already computed.
    band_level : when given (e.g. 0.95), adds ``profit_per_customer_low`` and
        ``_high``: the bootstrap band of the profit per customer at every threshold.
        Resampling the ``n`` customers with replacement makes the total profit at a
        threshold, ``T = sum x_i`` (``x_i`` the profit of customer i if contacted, else
        0), vary with variance exactly ``sum x_i^2 - T^2 / n``; the band is
        ``T / n -/+ z * sd / n`` (normal approximation of the bootstrap with its exact
        variance), from two cumulative sums: no resampling, no randomness, O(n).

    Returns
    -------
    DataFrame, one row per threshold from "nobody" (threshold inf) to
    "everybody": ``threshold, n_targeted, share_targeted, true_positives,
    false_positives, precision, recall, profit, profit_per_customer``.
    """
    p = np.asarray(p, dtype=float)
    groups = groups or sorted_groups(p)
    order = groups.order
    p_sorted = p[order]
    outcome_sorted = p_sorted if y is None else np.asarray(y, dtype=float)[order]
    value_sorted = np.broadcast_to(np.asarray(value, dtype=float), p.shape)[order]
    if tiers is None:
        cuts = _tier_cuts_sorted(outcome_sorted, value_sorted, economics, groups)
        tiers = tier_thresholds(groups, cuts[1:])
    profit_sorted = _assignment_profit(p_sorted, outcome_sorted, value_sorted, economics, tiers)
    tp = _cum_at_groups(outcome_sorted, groups)
    n_targeted = groups.counts
    fp = n_targeted - tp
    positives = outcome_sorted.sum()
    profit = _cum_at_groups(profit_sorted, groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(n_targeted > 0, tp / np.maximum(n_targeted, 1), np.nan)
        recall = tp / positives if positives > 0 else np.zeros_like(tp)
    curve = pd.DataFrame(
        {
            "threshold": groups.thresholds,
            "n_targeted": n_targeted,
            "share_targeted": n_targeted / p.size,
            "true_positives": tp,
            "false_positives": fp,
            "precision": precision,
            "recall": recall,
            "profit": profit,
            "profit_per_customer": profit / p.size,
        }
    )
    if band_level is not None:
        squares = _cum_at_groups(profit_sorted * profit_sorted, groups)
        sd = np.sqrt(np.clip(squares - profit**2 / p.size, 0.0, None))
        z = ndtri(0.5 + band_level / 2.0)  # the normal quantile
        curve["profit_per_customer_low"] = (profit - z * sd) / p.size
        curve["profit_per_customer_high"] = (profit + z * sd) / p.size
    return curve


def tier_thresholds(groups: SortedGroups, tier_groups: list[int]) -> list[float]:
    """Min probabilities of actions 2..K from the group indices where their tiers start
    (``tier_cutoffs(...)[1:]``); inf when a tier is empty."""
    return [float(groups.thresholds[g]) for g in tier_groups]


# ------------------------------------------------------------------ choosing
CHOICE_METHODS = ("threshold", "top_n", "top_share", "precision", "recall", "max_profit")


@dataclass(frozen=True)
class Choice:
    """How the PM picks the policy.

    ``method`` is one of ``threshold`` (a probability in [0, 1]), ``top_n``
    (a number of customers), ``top_share`` (a share of the base in [0, 1]),
    ``precision`` / ``recall`` (a target in [0, 1]) or ``max_profit`` (no value).
    """

    method: str
    value: float | None = None

    def __post_init__(self) -> None:
        if self.method not in CHOICE_METHODS:
            raise ChurnInputError(
                f"Unknown way to choose '{self.method}'; use one of {', '.join(CHOICE_METHODS)}."
            )
        if self.method != "max_profit":
            if not isinstance(self.value, numbers.Real) or not np.isfinite(self.value):
                raise ChurnInputError(f"Choosing by {self.method} needs a number.")
            upper = np.inf if self.method == "top_n" else 1.0
            if not 0.0 <= self.value <= upper:
                raise ChurnInputError(
                    f"The {self.method.replace('_', ' ')} must be between 0 and "
                    f"{'the number of customers' if upper == np.inf else 1}."
                )

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "value": self.value}


def select(curve: pd.DataFrame, choice: Choice) -> int:
    """Row of ``curve`` (from :func:`threshold_curve`) that ``choice`` picks.

    Capacity choices never exceed the capacity; a precision target gives the
    most customers that still meet it; a recall target the fewest that reach it.
    """
    n_targeted = curve["n_targeted"].to_numpy()
    n = n_targeted[-1]
    if choice.method == "max_profit":
        return int(np.argmax(curve["profit"].to_numpy()))
    v = float(choice.value)  # type: ignore[arg-type]
    if choice.method == "threshold":
        return int(np.flatnonzero(curve["threshold"].to_numpy() >= v)[-1])
    if choice.method in ("top_n", "top_share"):
        limit = v if choice.method == "top_n" else v * n
        return int(np.flatnonzero(n_targeted <= limit + 1e-9)[-1])
    metric = curve[choice.method].to_numpy()
    ok = np.flatnonzero(np.nan_to_num(metric, nan=-1.0) >= v - 1e-12)
    if ok.size == 0:
        best = np.nanmax(metric)
        raise ChurnInputError(
            f"No threshold reaches a {choice.method} of {v:.0%} (the best is {best:.0%}); "
            "choose a lower target."
        )
    return int(ok[-1] if choice.method == "precision" else ok[0])


def policy_rules(threshold: float, tiers: list[float], economics: Economics) -> list[PolicyRule]:
    """The policy's rules for a contact threshold and tier cut-offs, weakest action first.

    A customer with probability ``p >= threshold`` gets the strongest action
    whose tier starts at or below ``p`` (the weakest below all tiers); an
    action whose tier is empty at this threshold is left out.
    """
    actions = economics.ordered_actions
    if not np.isfinite(threshold):
        return []
    starts = [threshold] + [max(threshold, t) for t in tiers]
    rules = []
    for k, action in enumerate(actions):
        start = starts[k]
        nxt = min(starts[k + 1 :], default=np.inf)
        if start < nxt and np.isfinite(start):
            rules.append(PolicyRule(action.name, float(start)))
    return rules


def apply_capacities(
    groups: SortedGroups, row: int, tier_groups: list[int], economics: Economics
) -> tuple[int, list[int]]:
    """Shrink tiers that exceed their action's capacity, strongest action first.

    ``row`` is the group index of the contact threshold and ``tier_groups`` the
    group indices where actions 2..K start (weakest first), as from
    :func:`tier_cutoffs`. A tier over capacity keeps its highest-probability
    customers (whole groups of tied scores, never more than the capacity); the
    rest fall to the next weaker action, and past the weakest, to no action.
    Returns the new ``(row, tier_groups)``.
    """
    actions = economics.ordered_actions
    counts = groups.counts
    n = counts[-1]
    # at_least[k]: customers getting action k or a stronger one (k = 0 is the weakest)
    at_least = [int(counts[row])] + [int(counts[min(row, g)]) for g in tier_groups]
    for k in range(len(actions) - 1, -1, -1):
        cap = actions[k].max_share
        if cap is None:
            continue
        above = at_least[k + 1] if k + 1 < len(actions) else 0
        limit = above + int(np.floor(cap * n + 1e-9))
        if at_least[k] > limit:
            at_least[k] = int(counts[np.flatnonzero(counts <= limit)[-1]])
    group_of = {int(c): g for g, c in enumerate(counts)}
    return group_of[at_least[0]], [group_of[c] for c in at_least[1:]]


def within_capacity(
    groups: SortedGroups, tier_groups: list[int], economics: Economics
) -> np.ndarray:
    """For every contact threshold (curve row), whether each action's tier fits its capacity.

    ``tier_groups`` are the group indices where actions 2..K start (weakest
    first). Returns a boolean array, one per row of :func:`threshold_curve`.
    """
    actions = economics.ordered_actions
    counts = groups.counts
    rows = np.arange(counts.size)
    n = counts[-1]
    # at_least[k][r]: customers with action k or stronger when contacting down to row r
    at_least = [counts[rows]] + [counts[np.minimum(rows, g)] for g in tier_groups] + [0 * rows]
    ok = np.ones(counts.size, dtype=bool)
    for k, action in enumerate(actions):
        if action.max_share is not None:
            ok &= at_least[k] - at_least[k + 1] <= np.floor(action.max_share * n + 1e-9)
    return ok


def emp(
    y: np.ndarray,
    p: np.ndarray,
    customer_value: float,
    action: Action,
    concentration: float = 20.0,
    n_grid: int = 201,
) -> dict[str, float]:
    """Expected Maximum Profit (Verbraken et al. 2013), in money per customer.

    The success rate is uncertain: gamma ~ Beta with mean ``action.success_rate``
    and ``alpha + beta = concentration`` (Verbraken's default Beta(6, 14) has
    mean 0.3 and concentration 20). For each gamma the best threshold is
    taken; EMP averages that best profit over gamma. Also returns the
    expected share of customers targeted at the optimum.
    """
    y = np.asarray(y, dtype=float)
    groups = sorted_groups(p)
    churners = y.sum()
    stayers = y.size - churners
    if churners == 0 or stayers == 0:
        raise ChurnInputError("EMP needs both churners and non-churners in the evaluation data.")
    f0 = _cum_at_groups(y[groups.order], groups) / churners  # share of churners targeted
    f1 = _cum_at_groups(1.0 - y[groups.order], groups) / stayers
    pi0, pi1 = churners / y.size, stayers / y.size
    clv = float(customer_value)
    delta, phi = action.incentive_cost / clv, action.contact_cost / clv
    a = max(action.success_rate * concentration, 1e-3)
    b = max((1 - action.success_rate) * concentration, 1e-3)
    gamma = (np.arange(n_grid) + 0.5) / n_grid
    from scipy import stats  # (on first use: importing it takes 0.7 s of a cold start)

    weight = stats.beta.pdf(gamma, a, b)
    weight = weight / weight.sum()
    profit = clv * (
        (gamma[:, None] * (1 - delta) - phi) * pi0 * f0[None, :] - (delta + phi) * pi1 * f1[None, :]
    )
    best = profit.argmax(axis=1)
    share = groups.counts[best] / y.size
    return {
        "emp": float((profit.max(axis=1) * weight).sum()),
        "share_targeted": float((share * weight).sum()),
    }
