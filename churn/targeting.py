"""A policy's rules and what they do to customers: who gets which action, at what profit.

A policy is a list of :class:`PolicyRule` cut-offs: a customer gets the action of the rule
with the highest ``min_probability`` at or below their churn probability, else no action.
Everything that applies rules lives here, so the Decide page, the customer list, the
exported policy, scoring and monitoring all apply them the same way: the assignment
(:func:`assign_actions`), the profit of each customer (:func:`profit_under_rules`), the
confusion matrix in customers and money (:func:`confusion`), what a policy does on a set of
customers with or without outcomes (:func:`outlook`) and who is near a cut-off, ranked by
what a review is worth (:func:`doubtful`, :func:`review_list`). Choosing the rules is
:mod:`churn.decisions`.

A policy can also carry a :class:`Capacity`: at most so many customers contacted in all
and per action, as a number of customers or a share of the scored batch. It is applied
after the rules, by rank (:func:`assigned_index`, what production runs): customers are
sorted by their churn probability, or by the expected value of the action the rules give
them, highest first; ties go to the smaller customer id (compared as text), then to the
earlier row. Each action, strongest first, keeps its best-ranked customers up to its
capacity and passes the rest to the next weaker action (past the weakest, to no action);
then the total capacity keeps the best-ranked contacted customers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from churn.economics import NO_ACTION, Action, Economics
from churn.errors import ChurnInputError

__all__ = [
    "CAPACITY_RANKINGS",
    "RANKINGS",
    "Capacity",
    "Limit",
    "PolicyRule",
    "action_names",
    "action_starts",
    "assign_actions",
    "assigned_index",
    "confusion",
    "doubtful",
    "effective_rules",
    "expected_profit",
    "outlook",
    "profit_by_index",
    "profit_under_rules",
    "rank_order",
    "review_list",
    "review_worth",
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

    The rule that applies is the one with the highest ``min_probability`` <= p. A customer
    without a probability (NaN: not scored) gets no rule.
    """
    p = np.asarray(p, dtype=float)
    cuts = np.array([r.min_probability for r in sorted_rules(rules)], dtype=float)
    index = np.searchsorted(cuts, p, side="right") - 1
    return np.where(np.isnan(p), -1, index)


#: How a policy with a capacity ranks customers: by churn probability or by the expected
#: value (profit, in money) of the action the rules give them.
RANKINGS = ("churn_probability", "expected_value")
#: What a capacity may rank by: :data:`RANKINGS`, or ``"uplift"`` for a policy that applies to
#: the uplift (schema version 3): the score its rules apply to, highest first.
CAPACITY_RANKINGS = (*RANKINGS, "uplift")


@dataclass(frozen=True)
class Limit:
    """A capacity: ``customers`` (a whole number) or ``share`` of the scored batch, in [0, 1]."""

    customers: int | None = None
    share: float | None = None

    def __post_init__(self) -> None:
        if isinstance(self.customers, float) and self.customers.is_integer():
            object.__setattr__(self, "customers", int(self.customers))  # JSON's 750.0
        if (self.customers is None) == (self.share is None):
            raise ChurnInputError("A capacity is a number of customers or a share, not both.")
        if self.customers is not None and (
            isinstance(self.customers, bool)
            or not isinstance(self.customers, int | np.integer)
            or self.customers < 0
        ):
            raise ChurnInputError("A capacity in customers must be a whole number, 0 or more.")
        if self.share is not None and (
            isinstance(self.share, bool)
            or not isinstance(self.share, int | float)
            or not 0.0 <= self.share <= 1.0
        ):
            raise ChurnInputError("A capacity share must be a number between 0 and 1.")

    def count(self, n: int) -> int:
        """How many of ``n`` scored customers the capacity allows (a share is rounded down)."""
        if self.customers is not None:
            return min(int(self.customers), n)
        return min(math.floor(float(self.share) * n + 1e-9), n)  # type: ignore[arg-type]

    def to_dict(self) -> dict[str, float | int]:
        """``{"customers": N}`` or ``{"share": s}``, as in the policy file."""
        if self.customers is not None:
            return {"customers": int(self.customers)}
        return {"share": float(self.share)}  # type: ignore[arg-type]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Limit:
        known = isinstance(data, Mapping) and len(data) == 1 and set(data) <= {"customers", "share"}
        if not known:
            raise ChurnInputError(
                'A capacity must be {"customers": N} or {"share": S}; export the policy again.'
            )
        return cls(customers=data.get("customers"), share=data.get("share"))

    def describe(self) -> str:
        """``750 customers`` or ``15.0% of the customers scored``."""
        if self.customers is not None:
            return f"{int(self.customers):,} customers"
        return f"{float(self.share):.1%} of the customers scored"  # type: ignore[arg-type]


@dataclass(frozen=True)
class Capacity:
    """How many customers a policy may act on, applied by rank after its rules.

    ``total`` limits the customers contacted; ``per_action`` maps an action's name to its
    own limit; ``ranking`` (one of :data:`RANKINGS`) says who comes first.
    """

    total: Limit | None = None
    per_action: tuple[tuple[str, Limit], ...] = field(default=())
    ranking: str = "churn_probability"

    def __post_init__(self) -> None:
        if self.ranking not in CAPACITY_RANKINGS:
            raise ChurnInputError(
                f"Unknown ranking '{self.ranking}'; use one of {', '.join(CAPACITY_RANKINGS)}."
            )
        if self.ranking == "expected_value" and self.per_action:
            raise ChurnInputError(
                "Ranking by expected value works with a total capacity only; rank by churn "
                "probability to keep per-action capacities, or remove them."
            )

    @property
    def limits(self) -> dict[str, Limit]:
        return dict(self.per_action)

    def __bool__(self) -> bool:
        return self.total is not None or bool(self.per_action)

    def to_dict(self) -> dict[str, Any]:
        """As in the policy file: ``{"ranking", "total", "per_action"}``."""
        return {
            "ranking": self.ranking,
            "total": None if self.total is None else self.total.to_dict(),
            "per_action": {name: limit.to_dict() for name, limit in self.per_action},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Capacity:
        if not isinstance(data, Mapping):
            raise ChurnInputError("The policy's capacity must be an object; export it again.")
        keys = {"ranking", "total", "per_action"}
        if set(data) != keys:  # a typo must not drop the limit silently
            odd = sorted(set(data) ^ keys)
            raise ChurnInputError(
                f"The policy's capacity must have exactly ranking, total and per_action "
                f"(not {', '.join(odd)}); export the policy again."
            )
        total = data["total"]
        per_action = data["per_action"] or {}
        if not isinstance(per_action, Mapping):
            raise ChurnInputError("The policy's per-action capacities must be an object.")
        return cls(
            total=None if total is None else Limit.from_dict(total),
            per_action=tuple((str(k), Limit.from_dict(v)) for k, v in per_action.items()),
            ranking=str(data["ranking"]),
        )

    def sentence(self) -> str:
        """The capacity in plain words: ``at most 750 customers in all, highest churn
        probability first``."""
        by = self.ranking.replace("_", " ")
        parts = [] if self.total is None else [f"at most {self.total.describe()} in all"]
        parts += [f"at most {limit.describe()} for {name}" for name, limit in self.per_action]
        return ", ".join(parts) + f", highest {by} first"


def rank_order(score: np.ndarray, ids: Any = None, rows: np.ndarray | None = None) -> np.ndarray:
    """Positions of the customers from the highest ``score`` down (a permutation).

    Ties go to the smaller id (compared as text; missing ids last), then to the earlier
    row, so the order does not depend on how a batch was split or sorted (given ids).
    NaN scores come last. Ids are compared only where scores tie (a million distinct
    probabilities sort in about 0.1 s), and only those are read as text.

    ``rows``: each score's row in the table (default: its position), for scores of some of
    a table's customers; ``ids`` are then the whole table's.
    """
    score = np.asarray(score, dtype=float)
    key = np.where(np.isnan(score), np.inf, -score)
    position = np.arange(score.size) if rows is None else np.asarray(rows, dtype=np.int64)
    if ids is None or score.size < 2:
        return np.lexsort((position, key))
    ascending = np.sort(key)
    tied_next = ascending[1:] == ascending[:-1]
    tied = np.zeros(score.size, dtype=bool)
    tied[1:] = tied_next
    tied[:-1] |= tied_next
    if 4 * int(tied.sum()) > score.size:
        # Most customers tie (a model's scores on millions of customers): rank every id once
        # (by id, then row) and sort one number per customer, the score's rank then the id's.
        del tied
        distinct = ascending[np.r_[True, ~tied_next]]
        del ascending, tied_next
        codes = _row_codes(ids)[position]
        combined = np.searchsorted(distinct, key).astype(np.int64) * (int(codes.max()) + 1)
        combined += codes
        return np.argsort(combined)  # (every number differs: any sort gives this order)
    del ascending, tied_next, tied
    order = np.lexsort((position, key))
    ranked = key[order]
    tied_next = ranked[1:] == ranked[:-1]
    del ranked
    if not tied_next.any():
        return order
    in_tie = np.zeros(score.size, dtype=bool)
    in_tie[order[1:][tied_next]] = True
    in_tie[order[:-1][tied_next]] = True
    members = np.flatnonzero(in_tie)
    codes = np.zeros(score.size, dtype=np.int64)
    # the same code for the same id (the row breaks that tie), missing ids after all others
    codes[members] = _id_codes(_ids_at(ids, position[members]))
    return np.lexsort((position, codes, key))


def _arrow_text(ids: Any) -> Any:
    import pyarrow as pa

    if isinstance(ids, pd.Series | pd.Index | pd.api.extensions.ExtensionArray):
        return pa.array(pd.Series(ids).astype("string"), type=pa.large_string(), from_pandas=True)
    return pa.array(pd.Series(np.asarray(ids, dtype=object), dtype="string"), from_pandas=True)


def _row_codes(ids: Any) -> np.ndarray:
    """Each row's place when the rows are sorted by id (as text; missing ids last), then by
    row: one code per row, computed by Arrow on the ids as they are stored."""
    import pyarrow.compute as pc

    ranks = pc.rank(_arrow_text(ids), sort_keys="ascending", tiebreaker="first")
    return ranks.to_numpy().astype(np.int64, copy=False)


def _id_codes(text: pd.Series) -> np.ndarray:
    """Dense ranks of ids compared as text (code point order), missing ids last. Arrow ranks
    the text where it is stored as Arrow (no copy into fixed-width numpy strings)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    array = pa.array(text, type=pa.string(), from_pandas=True)
    ranks = pc.rank(array, sort_keys="ascending", tiebreaker="dense")  # nulls: at the end
    return ranks.to_numpy().astype(np.int64)


def _ids_at(ids: Any, rows: np.ndarray) -> pd.Series:
    """The ids at positions ``rows`` as text (``string`` dtype), converting only those: a
    column of ten million text ids is never copied into Python objects."""
    if isinstance(ids, pd.Series | pd.Index | pd.api.extensions.ExtensionArray):
        taken = pd.Series(ids[rows] if not isinstance(ids, pd.Series) else ids.iloc[rows])
        return taken.reset_index(drop=True).astype("string")
    taken = np.asarray(ids)[rows]  # index first: only these become objects
    return pd.Series(taken.astype(object), dtype="string")


class RankedCustomers:
    """Customers sorted once by churn probability, so that a policy's rules and a capacity
    ranked by churn probability apply by binary search and prefix sums.

    The sort is :func:`rank_order` (highest probability first, ties to the smaller id, then
    the earlier row; customers without a probability last). In that order a policy ranked
    by churn probability gives each action a run of consecutive customers, the strongest
    first, whatever its rules and capacity (:meth:`bounds`): after the one sort, a change of
    cut-off or capacity costs a few binary searches, and what it does to the customers in
    money (:meth:`outlook`) a few look-ups in prefix sums. :func:`assigned_index` applies
    every capacity ranked by probability through this class: one implementation.

    Parameters
    ----------
    p : the score ranked, highest first: churn probabilities in [0, 1], or uplifts (a version-3
        policy); NaN: not scored (never acted on, not counted in the
        batch a capacity's share refers to).
    ids : customer ids that break ties (see :func:`rank_order`), or ``None``.
    values : columns of customer values (money, or numbers a multiplier makes money), by
        name, one per customer in the order of ``p``, for :meth:`outlook` and :meth:`page`.
    """

    def __init__(
        self,
        p: np.ndarray,
        ids: Any = None,
        values: Mapping[str, np.ndarray] | None = None,
    ) -> None:
        p = np.asarray(p, dtype=float)
        order = rank_order(p, ids)
        self.size = int(p.size)
        self.order = order.astype(np.int32) if p.size < 2**31 else order
        self.n = int(np.isfinite(p).sum())  # the scored customers come first
        self.ids = ids
        # minus the ranked probabilities: ascending, for the binary searches (kept once)
        self._descending = np.negative(p[order], out=None)
        del p
        self._values = {
            name: np.asarray(v, dtype=float)[order] for name, v in (values or {}).items()
        }
        self._sums: dict[Any, np.ndarray] = {}

    @property
    def p(self) -> np.ndarray:
        """The churn probabilities in ranked order (a new array: use :meth:`p_at` for a few)."""
        return -self._descending

    def p_at(self, positions: np.ndarray) -> np.ndarray:
        """The churn probabilities at ranked ``positions``."""
        return -self._descending[positions]

    # --------------------------------------------------------------- who gets what
    def bounds(self, rules: Sequence[PolicyRule], capacity: Capacity | None = None) -> np.ndarray:
        """``B`` with ``B[k]`` the number of customers given action ``k`` of
        ``sorted_rules(rules)`` or a stronger one (``B[len(rules)] == 0``): in the ranked
        order, the customers at positions ``B[k + 1]`` to ``B[k] - 1`` get action ``k``,
        those from ``B[0]`` on none. ``capacity`` must rank by churn probability.
        """
        ordered = sorted_rules(rules)
        cuts = np.array([r.min_probability for r in ordered], dtype=float)
        # customers with p >= cut: strongest rule first; equal cuts leave the weaker empty
        reach = np.searchsorted(self._descending[: self.n], -cuts, side="right")
        b = np.append(reach, 0).astype(np.int64)
        if not capacity:
            return b
        if capacity.ranking == "expected_value":
            raise ChurnInputError("A capacity ranked by expected value does not cut runs.")
        limits = capacity.limits
        for k in range(len(ordered) - 1, -1, -1):  # strongest action first
            limit = limits.get(ordered[k].action)
            if limit is not None:  # the overflow, at the end of its run, passes to k - 1
                b[k] = min(b[k], b[k + 1] + limit.count(self.n))
        if capacity.total is not None:
            b = np.minimum(b, capacity.total.count(self.n))
        return b

    def ranked_index(self, b: np.ndarray, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Each action's index (-1: none) at ranked positions ``start`` to ``stop``."""
        stop = self.size if stop is None else min(stop, self.size)
        positions = np.arange(start, max(stop, start))
        # the number of runs that reach past each position, less one
        ascending = b[:-1][::-1]
        reach = ascending.size - np.searchsorted(ascending, positions, side="right")
        return (reach - 1).astype(np.int64)

    def assigned(self, rules: Sequence[PolicyRule], capacity: Capacity | None = None) -> np.ndarray:
        """Each customer's action index in ``sorted_rules(rules)`` (-1: none), in the
        customers' own order: :func:`assigned_index` for a capacity ranked by probability."""
        b = self.bounds(rules, capacity)
        ranked = np.full(self.size, -1, dtype=np.int64)
        for k in range(len(b) - 1):
            ranked[b[k + 1] : b[k]] = k
        index = np.empty(self.size, dtype=np.int64)
        index[self.order] = ranked
        return index

    # --------------------------------------------------------------- what it is worth
    def _prefix(self, key: Any, make: Any) -> np.ndarray:
        if key not in self._sums:
            self._sums[key] = np.concatenate([[0.0], np.cumsum(make())])
        return self._sums[key]

    def _value(self, economics: Economics) -> tuple[np.ndarray | None, float]:
        """The ranked value column (median-filled as :meth:`Economics.customer_value`) and
        the multiplier; ``(None, constant)`` for a value the same for everybody."""
        column = economics.value_column
        if column is None:
            return None, float(economics.value_constant)
        if column not in self._values:
            raise ChurnInputError(
                f"The value column '{column}' is not in the scored customers; score them "
                f"with '--copy {column}' or use a constant value."
            )
        key = ("filled", column)
        if key not in self._sums:  # missing values take the median, once, in place
            raw = self._values[column][: self.n]
            finite = np.isfinite(raw)
            if finite.any():
                raw[~finite] = float(np.median(raw[finite]))
            self._sums[key] = bool(finite.any())
        if not self._sums[key] and self.n:  # nothing to take a median of: the constant
            return None, float(economics.value_constant)
        return self._values[column][: self.n], float(economics.value_multiplier)

    def values(self, economics: Economics, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Customer values (money) at ranked positions ``start`` to ``stop`` (scored only)."""
        stop = self.n if stop is None else min(stop, self.n)
        filled, scale = self._value(economics)
        if filled is None:
            return np.full(max(stop - start, 0), scale)
        return scale * filled[start:stop]

    def values_at(self, economics: Economics, positions: np.ndarray) -> np.ndarray:
        """Customer values (money) at ranked ``positions`` (NaN where not scored)."""
        positions = np.asarray(positions, dtype=np.int64)
        out = np.full(positions.size, np.nan)
        scored = positions < self.n
        filled, scale = self._value(economics)
        out[scored] = scale if filled is None else scale * filled[positions[scored]]
        return out

    def run_profit(self, action: Action, lo: int, hi: int, economics: Economics) -> float:
        """Expected profit (money) of giving ``action`` to the customers at ranked positions
        ``lo`` to ``hi - 1`` (scored ones), from prefix sums."""
        lo, hi = min(lo, self.n), min(hi, self.n)
        if hi <= lo:
            return 0.0
        P, PV, scale = self._sums_to(economics)
        s, inc, con = action.success_rate, action.incentive_cost, action.contact_cost
        return float(
            s * scale * (PV[hi] - PV[lo])
            + (1.0 - s) * inc * (P[hi] - P[lo])
            - (inc + con) * (hi - lo)
        )

    def _sums_to(self, economics: Economics) -> tuple[np.ndarray, np.ndarray, float]:
        """Prefix sums over the ranked scored customers of ``p`` and ``p * value`` (the
        latter before the multiplier ``scale``)."""
        P = self._prefix("p", lambda: -self._descending[: self.n])
        filled, scale = self._value(economics)
        if filled is None:
            return P, P, scale
        PV = self._prefix(
            ("pv", economics.value_column), lambda: -self._descending[: self.n] * filled
        )
        return P, PV, scale

    def outlook(
        self, rules: Sequence[PolicyRule], economics: Economics, capacity: Capacity | None = None
    ) -> dict[str, Any]:
        """:func:`outlook`'s ``estimated`` figures of the policy on these customers (the
        scored ones), from prefix sums: the same customers contacted as
        :func:`assigned_index`, the same money (to rounding).

        A contacted customer's expected profit is linear in ``p`` and ``p * value``
        (:func:`churn.economics.contact_profit`), so each action's run sums in constant
        time. A capacity ranked by expected value sorts the customers by it once per rules
        and economics (:meth:`by_worth`).
        """
        if capacity and capacity.ranking == "expected_value":
            worth = self.by_worth(rules, economics)
            k = self._worth_taken(worth, capacity)
            contacted, churners_in = k, float(worth["p"][k])
            profit = float(worth["profit"][k])
        else:
            b = self.bounds(rules, capacity)
            P = self._sums_to(economics)[0]
            profit = sum(
                self.run_profit(action, int(b[k + 1]), int(b[k]), economics)
                for k, action in enumerate(_rule_actions(rules, economics))
                if action is not None
            )
            contacted, churners_in = int(b[0]), float(P[int(b[0])])
        churners = float(self._prefix("p", lambda: -self._descending[: self.n])[self.n])
        n = self.n
        return {
            "customers": n,
            "contacted": contacted,
            "share_targeted": contacted / n if n else math.nan,
            "churners_contacted": churners_in,
            "precision": churners_in / contacted if contacted else math.nan,
            "recall": churners_in / churners if churners > 0 else math.nan,
            "churn_rate": churners / n if n else math.nan,
            "profit": profit,
            "profit_per_customer": profit / n if n else math.nan,
        }

    def by_worth(self, rules: Sequence[PolicyRule], economics: Economics) -> dict[str, Any]:
        """The customers the rules act on, sorted by the expected value of their action
        (:func:`rank_order`, ties to the smaller id): ``order`` (ranked positions),
        ``p`` and ``profit`` (prefix sums in that order). Sorted once per rules and
        economics, so that moving a capacity ranked by expected value is a look-up."""
        key = ("worth", tuple(sorted_rules(rules)), economics)
        if key not in self._sums:
            for old in [k for k in self._sums if isinstance(k, tuple) and k[0] == "worth"]:
                del self._sums[old]  # one at a time: each is several arrays of the base's size
            b = self.bounds(rules)
            index = self.ranked_index(b, 0, int(b[0]))
            p = self.p_at(slice(0, int(b[0])))
            value = self.values(economics, 0, int(b[0]))
            worth = profit_by_index(index, p, value, rules, economics)
            order = rank_order(worth, self.ids, self.order[: int(b[0])])
            self._sums[key] = {
                "order": order,
                "p": np.concatenate([[0.0], np.cumsum(p[order])]),
                "profit": np.concatenate([[0.0], np.cumsum(worth[order])]),
                "index": index,
            }
        return self._sums[key]

    def _worth_taken(self, worth: dict[str, Any], capacity: Capacity) -> int:
        size = worth["order"].size
        return size if capacity.total is None else min(size, capacity.total.count(self.n))


def assigned_index(
    p: np.ndarray,
    rules: Sequence[PolicyRule],
    capacity: Capacity | None = None,
    value: np.ndarray | None = None,
    economics: Economics | None = None,
    ids: np.ndarray | None = None,
) -> np.ndarray:
    """Index of each customer's action in ``sorted_rules(rules)`` (-1: no action), with the
    policy's capacity applied: what production runs.

    Parameters
    ----------
    p : the score the rules apply to: churn probabilities in [0, 1], or (a capacity ranking
        by ``"uplift"``) uplifts in [-1, 1]; NaN (not scored) never gets an action and does
        not count in the batch a share refers to.
    rules, capacity : the policy. Without a capacity this is :func:`rule_index`.
    value, economics : each customer's value (money) and the actions' costs; needed only
        when the capacity ranks by expected value.
    ids : customer ids, to break ties in the ranking (see :func:`rank_order`).
    """
    p = np.asarray(p, dtype=float)
    if not capacity:
        return rule_index(p, rules)
    if capacity.ranking != "expected_value":  # by the score: runs of one sort (RankedCustomers)
        return RankedCustomers(p, ids).assigned(rules, capacity)
    if value is None or economics is None:
        raise ChurnInputError(
            "Ranking by expected value needs each customer's value and the economics."
        )
    # by expected value there is a total capacity only (Capacity refuses action limits)
    index = rule_index(p, rules)
    score = profit_by_index(index, p, np.asarray(value, dtype=float), rules, economics)
    score = np.where(index >= 0, score, np.nan)
    if capacity.total is not None:
        allowed = capacity.total.count(int(np.isfinite(p).sum()))
        ranked = rank_order(score, ids)
        contacted = ranked[index[ranked] >= 0]
        index[contacted[allowed:]] = -1
    return index


def action_names(
    index: np.ndarray, rules: Sequence[PolicyRule], default_action: str = NO_ACTION
) -> np.ndarray:
    """Action names for rule indices (from :func:`rule_index` or :func:`assigned_index`)."""
    names = np.array([default_action, *(r.action for r in sorted_rules(rules))], dtype=object)
    return names[np.asarray(index) + 1]


def assign_actions(
    p: np.ndarray,
    rules: Sequence[PolicyRule],
    default_action: str = NO_ACTION,
    capacity: Capacity | None = None,
    value: np.ndarray | None = None,
    economics: Economics | None = None,
    ids: np.ndarray | None = None,
) -> np.ndarray:
    """Action per customer: the rule with the highest ``min_probability`` <= p, else default;
    with a capacity, applied by rank (:func:`assigned_index`)."""
    index = assigned_index(p, rules, capacity, value, economics, ids)
    return action_names(index, rules, default_action)


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
    return profit_by_index(rule_index(p, rules), outcome, value, rules, economics)


def profit_by_index(
    index: np.ndarray,
    outcome: np.ndarray,
    value: np.ndarray,
    rules: Sequence[PolicyRule],
    economics: Economics,
) -> np.ndarray:
    """Profit of each customer given their action's index in ``sorted_rules(rules)`` (as
    from :func:`assigned_index`; -1 is no action, profit 0), paid off by ``outcome``
    (0/1, or a probability for the expected profit). Money, one value per customer."""
    index = np.asarray(index)
    outcome = np.asarray(outcome, dtype=float)
    value = np.broadcast_to(np.asarray(value, dtype=float), index.shape)
    out = np.zeros(index.size)
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
    capacity: Capacity | None = None,
    ids: np.ndarray | None = None,
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
    capacity, ids : the policy's capacity and the customer ids that break its ties: who is
        contacted is exactly what :func:`assigned_index` (production) gives.

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
    contains a probability from which they would get another action (:func:`doubtful`,
    capacity included), the customers :func:`review_list` lists.
    """
    p = np.asarray(p, dtype=float)
    value = np.broadcast_to(np.asarray(value, dtype=float), p.shape)
    index = assigned_index(p, rules, capacity, value, economics, ids)
    contacted = index >= 0
    out: dict[str, Any] = {
        "estimated": _figures(p, contacted, profit_by_index(index, p, value, rules, economics)),
        "realised": None,
    }
    if y is not None:
        y = np.asarray(y, dtype=float)
        known = ~np.isnan(y)
        if known.any():
            money = profit_by_index(index[known], y[known], value[known], rules, economics)
            out["realised"] = _figures(y[known], contacted[known], money)
    if low is not None and high is not None:
        starts = action_starts(p, value, rules, economics, capacity, index)
        review = doubtful(low, high, starts) & np.isfinite(p)
        out["review"] = int(review.sum())
        out["share_review"] = float(review.mean()) if review.size else math.nan
    return out


def straddling(low: np.ndarray, high: np.ndarray, rules: Sequence[PolicyRule]) -> np.ndarray:
    """Customers whose interval contains a cut-off: their action could flip (boolean mask).

    A customer straddles the cut-off ``c`` when ``low < c <= high``: somewhere
    inside their interval the rules would treat them differently. With a capacity, use
    :func:`doubtful` on :func:`action_starts`, which also moves the cut-offs to where the
    capacity cuts.
    """
    low = np.asarray(low, dtype=float)
    high = np.asarray(high, dtype=float)
    mask = np.zeros(low.shape, dtype=bool)
    for rule in rules:  # a handful of cut-offs, vectorised over customers
        c = rule.min_probability
        mask |= (low < c) & (c <= high)
    return mask


def effective_rules(
    p: np.ndarray,
    rules: Sequence[PolicyRule],
    capacity: Capacity | None = None,
    index: np.ndarray | None = None,
) -> list[PolicyRule]:
    """The policy's rules as probability cut-offs on this batch.

    Without a capacity these are the rules. With a capacity ranked by churn probability,
    who gets an action (or a stronger one) is decided by rank; on this batch that is the
    same as cut-offs at the lowest probability of the customers given each action or a
    stronger one (``index`` from :func:`assigned_index`; computed when ``None``). A
    ranking by expected value is no cut-off in probability: the rules are returned.
    """
    if not capacity or capacity.ranking != "churn_probability":
        return sorted_rules(rules)
    p = np.asarray(p, dtype=float)
    if index is None:
        index = assigned_index(p, rules, capacity)
    out: list[PolicyRule] = []
    for k, rule in enumerate(sorted_rules(rules)):
        members = p[index >= k]
        if members.size:
            cut = float(members.min())
            if out and out[-1].min_probability == cut:
                out.pop()  # the weaker action has nobody of its own on this batch
            out.append(PolicyRule(rule.action, cut))
    return out


def _positive_area(g_left: np.ndarray, g_right: np.ndarray, width: np.ndarray) -> np.ndarray:
    """Integral of ``max(0, g)`` for ``g`` linear from ``g_left`` to ``g_right`` over ``width``."""
    both = (g_left >= 0) & (g_right >= 0)
    span = np.abs(g_left) + np.abs(g_right)
    with np.errstate(invalid="ignore", divide="ignore"):
        one_side = np.where(
            g_left > 0, g_left**2, np.where(g_right > 0, g_right**2, 0.0)
        ) / np.where(span > 0, span, 1.0)  # the triangle up to where g crosses 0
    return np.where(both, g_left + g_right, one_side) * width / 2.0


def _linear(action: Action, value: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(a, b)`` with the action's expected profit at churn probability q equal to a + b q."""
    at0 = action.profit(np.zeros_like(value), value)
    return at0, action.profit(np.ones_like(value), value) - at0


def action_starts(
    p: np.ndarray,
    value: np.ndarray,
    rules: Sequence[PolicyRule],
    economics: Economics,
    capacity: Capacity | None = None,
    index: np.ndarray | None = None,
) -> np.ndarray:
    """For every customer, the churn probability from which each action would be given on
    this batch (columns in ``sorted_rules`` order; inf: never), everything else kept.

    Without a capacity these are the rules' cut-offs; with a capacity ranked by churn
    probability, :func:`effective_rules`, except that a customer the capacity takes keeps
    their action down to the probability of the best customer it leaves out. With a
    capacity ranked by expected value that is full, a customer is taken when the expected
    value of their action reaches that of the last customer taken: their own contact
    cut-off, from the value they bring (the stronger actions keep their cut-offs above it).
    """
    p = np.asarray(p, dtype=float)
    value = np.broadcast_to(np.asarray(value, dtype=float), p.shape)
    ordered = sorted_rules(rules)
    if index is None:
        index = assigned_index(p, rules, capacity, value, economics)
    cuts = {r.action: r.min_probability for r in effective_rules(p, rules, capacity, index)}
    starts = np.full((p.size, len(ordered)), np.inf)
    following = np.inf
    for k in range(len(ordered) - 1, -1, -1):  # an action without its own customers: empty
        following = cuts.get(ordered[k].action, following)
        starts[:, k] = following
    if capacity and capacity.ranking == "churn_probability" and capacity.total is not None:
        # A customer taken stays in unless they fall below the best customer left out; one
        # left out gets in above the last customer taken (the effective rule).
        inside = index >= 0
        left_out = (rule_index(p, rules) >= 0) & ~inside
        if inside.any() and left_out.any() and len(ordered):
            starts[inside, 0] = np.minimum(starts[inside, 0], float(p[left_out].max()))
        return starts
    if not (capacity and capacity.ranking == "expected_value" and capacity.total is not None):
        return starts
    taken = index >= 0
    if taken.sum() < capacity.total.count(int(np.isfinite(p).sum())) or not taken.any():
        return starts  # the capacity is not full: the rules decide
    worth = profit_by_index(index, p, value, ordered, economics)
    bar = float(worth[taken].min())
    actions = _rule_actions(ordered, economics)
    contact = np.full(p.size, np.inf)
    for k, action in enumerate(actions):
        if action is None:
            continue
        a, b = _linear(action, value)
        with np.errstate(divide="ignore", invalid="ignore"):
            q = np.where(b > 0, (bar - a) / b, np.inf)
        q = np.maximum(q, starts[:, k])
        upper = starts[:, k + 1] if k + 1 < len(ordered) else np.inf
        contact = np.where((q < upper) & (q <= 1.0), np.minimum(contact, q), contact)
    return np.maximum(starts, contact[:, None])


def doubtful(low: np.ndarray, high: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Customers whose interval contains one of their :func:`action_starts` (``low < s <=
    high``): within what the model can tell, their action could flip (boolean mask)."""
    low = np.asarray(low, dtype=float)[:, None]
    high = np.asarray(high, dtype=float)[:, None]
    return ((low < starts) & (starts <= high)).any(axis=1)


def review_list(
    p: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
    value: np.ndarray,
    rules: Sequence[PolicyRule],
    economics: Economics,
    capacity: Capacity | None = None,
    ids: np.ndarray | None = None,
    default_action: str = NO_ACTION,
) -> pd.DataFrame:
    """The customers whose action could flip within their interval, most at stake first.

    For each customer whose interval contains a probability from which another action
    would be given (:func:`doubtful`, on the :func:`action_starts` of this batch, which
    account for the capacity), ``worth`` is what a review that found the customer's true
    probability would be worth, in expected profit: with the true probability ``q`` taken
    as uniform over the interval, the average over ``q`` of ``max(0, profit(action given at
    q, q) - profit(action given now, q))``. It grows with how far the interval reaches
    across the cut-off and with the money the two actions differ by (the customer's value,
    the actions' costs and success rates): the expected value of perfect information.
    Profits are linear in ``q`` between cut-offs, so the average is exact (no sampling).

    Returns one row per such customer, ``worth`` highest first (ties by probability):
    ``position`` (the customer's row in the inputs), ``customer_id`` (when ``ids``),
    ``churn_probability``, ``probability_low``, ``probability_high``, ``action`` (now),
    ``could_be`` (the other action within the interval a review would most gain from) and
    ``worth`` (money).
    """
    p = np.asarray(p, dtype=float)
    low = np.asarray(low, dtype=float)
    high = np.asarray(high, dtype=float)
    value = np.broadcast_to(np.asarray(value, dtype=float), p.shape)
    index = assigned_index(p, rules, capacity, value, economics, ids)
    ordered = sorted_rules(rules)
    starts = action_starts(p, value, rules, economics, capacity, index)
    rows = np.flatnonzero(doubtful(low, high, starts) & np.isfinite(p))
    names = np.array([default_action, *(r.action for r in ordered)], dtype=object)
    actions = _rule_actions(ordered, economics)
    lo, hi, v, now = low[rows], high[rows], value[rows], index[rows]
    starts = starts[rows]

    def profit(k: int, q: np.ndarray) -> np.ndarray:  # action k (-1: none) at probability q
        action = actions[k] if k >= 0 else None
        return np.zeros_like(q) if action is None else action.profit(q, v)

    def profit_now(q: np.ndarray) -> np.ndarray:
        out = np.zeros_like(q)
        for k in np.unique(now):
            mask = now == k
            if k >= 0 and actions[k] is not None:
                out[mask] = actions[k].profit(q[mask], v[mask])
        return out

    # From one start to the next the same action is given: integrate each segment.
    edges = np.column_stack([np.full(rows.size, -np.inf), starts, np.full(rows.size, np.inf)])
    segment_actions = list(range(-1, len(ordered)))
    area = np.zeros((len(segment_actions), rows.size))
    reached = np.zeros((len(segment_actions), rows.size), dtype=bool)
    for j, k in enumerate(segment_actions):
        left = np.maximum(lo, edges[:, j])
        right = np.minimum(hi, edges[:, j + 1])
        width = np.clip(right - left, 0.0, None)
        reached[j] = (width > 0) & (k != now)
        g_left = profit(k, left) - profit_now(left)
        g_right = profit(k, right) - profit_now(right)
        area[j] = np.where(reached[j], _positive_area(g_left, g_right, width), 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        worth = np.where(hi > lo, area.sum(axis=0) / (hi - lo), 0.0)
    best_other = np.asarray(segment_actions)[np.argmax(np.where(reached, area, -np.inf), axis=0)]
    table = pd.DataFrame(
        {
            "position": rows,
            **({} if ids is None else {"customer_id": np.asarray(ids, dtype=object)[rows]}),
            "churn_probability": p[rows],
            "probability_low": lo,
            "probability_high": hi,
            "action": names[now + 1].astype(str),
            "could_be": names[best_other + 1].astype(str),
            "worth": worth,
        }
    )
    order = np.lexsort((-table["churn_probability"].to_numpy(), -table["worth"].to_numpy()))
    return table.iloc[order].reset_index(drop=True)


def review_worth(table: pd.DataFrame, reviewed: int) -> dict[str, float]:
    """What reviewing the first ``reviewed`` customers of a :func:`review_list` is worth.

    Returns ``reviewed`` (at most the list's length), ``worth`` (their total, money),
    ``worth_all`` (the whole list's) and ``share`` (``worth / worth_all``; NaN when there
    is nothing at stake).
    """
    k = int(min(max(reviewed, 0), len(table)))
    worth = float(table["worth"].iloc[:k].sum())
    total = float(table["worth"].sum())
    return {
        "reviewed": k,
        "worth": worth,
        "worth_all": total,
        "share": worth / total if total > 0 else math.nan,
    }
