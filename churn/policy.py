"""The exported policy: build it from a choice, validate it, apply it.

A policy is a versioned JSON document (schema in ``churn/policy.schema.json``
and the README). A customer gets the action of the rule with the highest
``min_probability`` that is <= its churn probability, else ``default_action``.
Capacity and profit choices are turned into these probability cut-offs at
export; the original choice is recorded next to them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from churn import decisions, targeting
from churn.artifact import Artifact
from churn.decisions import Choice
from churn.economics import NO_ACTION, Economics
from churn.errors import ChurnInputError
from churn.formatting import json_ready
from churn.targeting import PolicyRule

__all__ = [
    "REVIEW_AFTER_DAYS",
    "SCHEMA_PATH",
    "SCHEMA_VERSION",
    "Decision",
    "apply_policy",
    "baseline_profits",
    "build_policy",
    "capacity_exceeded",
    "decide",
    "decide_on_holdout",
    "load_policy",
    "rules_of",
    "save_policy",
    "validate_policy",
]

SCHEMA_VERSION = 1
SCHEMA_PATH = Path(__file__).with_name("policy.schema.json")
DEFAULT_ACTION = NO_ACTION
#: Days after export by which a policy, and after training by which a model, should be
#: reviewed (a policy's ``review_by``; the model's review date in monitoring).
REVIEW_AFTER_DAYS = 90
BAND_LEVEL = 0.95


@dataclass
class Decision:
    """A chosen policy and what it does on an evaluation set.

    Shares are in [0, 1]; money is in the units of the customer value.
    ``profit_*`` are realised on the evaluation outcomes (with a bootstrap
    interval); ``expected_profit_*`` come from the calibrated probabilities
    (with the range over the per-customer intervals).
    """

    choice: Choice
    threshold: float
    tiers: list[float]
    rules: list[PolicyRule]
    curve: pd.DataFrame
    row: int
    n_customers: int
    n_targeted: int
    share_targeted: float
    precision: float
    recall: float
    profit: float
    profit_low: float
    profit_high: float
    expected_profit: float
    expected_profit_low: float
    expected_profit_high: float
    best_row: int
    actions_count: dict[str, int]
    confusion: pd.DataFrame

    def metrics(self) -> dict[str, float]:
        """The policy's expected figures, per customer where it says so (JSON-ready)."""
        n = self.n_customers
        return {
            "share_targeted": self.share_targeted,
            "precision": self.precision,
            "recall": self.recall,
            "profit_per_customer": self.profit / n,
            "profit_per_customer_low": self.profit_low / n,
            "profit_per_customer_high": self.profit_high / n,
            "expected_profit_per_customer": self.expected_profit / n,
            "expected_profit_per_customer_low": self.expected_profit_low / n,
            "expected_profit_per_customer_high": self.expected_profit_high / n,
        }


def _finite(x: float) -> float:
    return float(x) if np.isfinite(x) else float("nan")


def decide(
    p: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
    y: np.ndarray | None,
    value: np.ndarray,
    economics: Economics,
    choice: Choice,
    groups: decisions.SortedGroups | None = None,
) -> Decision:
    """Turn a choice into a policy and measure it on customers with known outcomes.

    Parameters
    ----------
    p, low, high : churn probabilities and their interval, each in [0, 1].
    y : 0/1 outcomes (realised figures) or ``None`` (expected figures from ``p``).
    value : customer value in money, one per customer.
    economics, choice : the actions and how the PM chooses.
    groups : ``decisions.sorted_groups(p)`` when already computed (it only depends on ``p``,
        so an app can sort once and re-decide cheaply when the choice or economics change).
        With all arrays already in descending-probability order, pass
        ``decisions.presorted(groups)``: nothing is gathered at all.
    """
    p = np.asarray(p, dtype=float)
    groups = groups or decisions.sorted_groups(p)
    # Everything below works on the customers in descending-probability order, gathered once:
    # a policy contacts exactly the top ``n_targeted`` of them.
    order = groups.order
    p_s = p[order]
    o_s = p_s if y is None else np.asarray(y, dtype=float)[order]
    v_s = np.broadcast_to(np.asarray(value, dtype=float), p.shape)[order]
    presorted = decisions.presorted(groups)
    cuts = decisions.tier_cutoffs(p_s, o_s, v_s, economics, presorted)
    tiers = decisions.tier_thresholds(groups, cuts[1:])
    curve = decisions.threshold_curve(
        p_s, economics, v_s, o_s, tiers, groups=presorted, band_level=BAND_LEVEL
    )
    row = decisions.select(curve, choice)
    feasible = np.ones(len(curve), dtype=bool)
    if any(a.max_share is not None for a in economics.actions):
        row, tier_groups = decisions.apply_capacities(groups, row, list(cuts[1:]), economics)
        capped = decisions.tier_thresholds(groups, tier_groups)
        if capped != tiers:
            tiers = capped
            curve = decisions.threshold_curve(
                p_s, economics, v_s, o_s, tiers, groups=presorted, band_level=BAND_LEVEL
            )
        feasible = decisions.within_capacity(groups, tier_groups, economics)
    threshold = float(curve["threshold"].iloc[row])
    if choice.method == "threshold":
        # export the probability the PM chose, not the lowest evaluation score above it:
        # the same customers of the evaluation set, and the intended cut-off in production
        threshold = float(choice.value)  # type: ignore[arg-type]
    rules = decisions.policy_rules(threshold, tiers, economics)
    at = curve.iloc[row]
    k = int(at["n_targeted"])
    top = slice(0, k)

    def contacted_profit(outcome_sorted: np.ndarray) -> float:
        return float(
            decisions.tier_profit(p_s[top], outcome_sorted[top], v_s[top], economics, tiers).sum()
        )

    expected = contacted_profit(p_s)
    bounds = (
        contacted_profit(np.asarray(low, dtype=float)[order]),
        contacted_profit(np.asarray(high, dtype=float)[order]),
    )
    strongest_first = np.searchsorted(np.asarray(tiers, dtype=float), p_s[top], side="right")
    ordered = economics.ordered_actions
    counts = {DEFAULT_ACTION: p.size - k} if k < p.size else {}
    for index, n_action in enumerate(np.bincount(strongest_first, minlength=len(ordered))):
        if n_action:
            counts[ordered[index].name] = int(n_action)
    realised = np.zeros(p.size)
    realised[top] = decisions.tier_profit(p_s[top], o_s[top], v_s[top], economics, tiers)
    contacted = np.arange(p.size) < k
    confusion = targeting.confusion(o_s, contacted, realised, v_s, whole_customers=y is not None)
    n = p.size
    return Decision(
        choice=choice,
        threshold=threshold,
        tiers=tiers,
        rules=rules,
        curve=curve,
        row=row,
        n_customers=n,
        n_targeted=k,
        share_targeted=float(at["share_targeted"]),
        precision=_finite(at["precision"]),
        recall=float(at["recall"]),
        profit=float(at["profit"]),
        profit_low=float(at["profit_per_customer_low"] * n),
        profit_high=float(at["profit_per_customer_high"] * n),
        expected_profit=expected,
        expected_profit_low=min(bounds),
        expected_profit_high=max(bounds),
        best_row=int(np.argmax(np.where(feasible, curve["profit"].to_numpy(), -np.inf))),
        actions_count=counts,
        confusion=confusion,
    )


#: How far (a share of customers) a capacity may be overrun on another base before it counts.
CAPACITY_TOLERANCE = 0.01


def capacity_exceeded(decision: Decision, share_contacted: float) -> float | None:
    """The capacity (a share of customers in [0, 1]) a decision chosen by capacity overruns
    when its cut-off contacts ``share_contacted`` of another base; ``None`` when it does not
    (or the decision was not chosen by capacity).

    A cut-off set on the holdout to contact the top 15% can reach more of a later base whose
    customers score higher; more than :data:`CAPACITY_TOLERANCE` over counts as overrun. A
    ``top_n`` capacity is the share it was on the holdout.
    """
    choice = decision.choice
    if choice.method == "top_share":
        capacity = float(choice.value)  # type: ignore[arg-type]
    elif choice.method == "top_n":
        capacity = float(choice.value) / decision.n_customers  # type: ignore[arg-type]
    else:
        return None
    return capacity if share_contacted > capacity + CAPACITY_TOLERANCE else None


def decide_on_holdout(artifact: Artifact, economics: Economics, choice: Choice) -> Decision:
    """:func:`decide` on the artifact's holdout (customers never used to fit).

    Uses the holdout sorted once per model (:attr:`Artifact.holdout_sorted`).
    """
    h, rows, groups = artifact.holdout_sorted
    return decide(
        h["churn_probability"].to_numpy(),
        h["probability_low"].to_numpy(),
        h["probability_high"].to_numpy(),
        h["outcome"].to_numpy(),
        economics.customer_value(rows, len(h)),
        economics,
        choice,
        groups=groups,
    )


def baseline_profits(
    artifact: Artifact, economics: Economics, decision: Decision
) -> dict[str, float]:
    """Realised profit per customer on the holdout of the chosen policy and the alternatives.

    * ``nobody``: contact no one (the zero line);
    * ``everybody``: contact everyone with the single action that does best that way (no
      model); NaN when an action's capacity makes that impossible;
    * ``rule``: the readable rule's best policy (its own profit-maximising tiers and cut-off);
    * ``model_best``: the model's profit-maximising policy;
    * ``chosen``: the policy in ``decision``.
    """
    h = artifact.holdout
    y = h["outcome"].to_numpy(dtype=float)
    value = economics.customer_value(artifact.holdout_data, len(h))
    n = len(h)
    everybody = max(float(a.profit(y, value).sum()) for a in economics.actions) / n
    if any(a.max_share is not None and a.max_share < 1 for a in economics.actions):
        everybody = float("nan")  # not possible within the actions' capacities
    rule_p = h["rule_probability"].to_numpy()
    rule = decide(rule_p, rule_p, rule_p, y, value, economics, Choice("max_profit"))
    return {
        "nobody": 0.0,
        "everybody": everybody,
        "rule": rule.profit / n,
        "model_best": float(decision.curve["profit"].iloc[decision.best_row]) / n,
        "chosen": decision.profit / n,
    }


def build_policy(
    decision: Decision,
    economics: Economics,
    model_fingerprint: str,
    created_at: datetime | None = None,
    baselines: dict[str, float] | None = None,
) -> dict[str, Any]:
    """The policy document for ``decision`` (see the README for every field).

    ``baselines`` (from :func:`baseline_profits`) is recorded under
    ``expected.baselines_profit_per_customer`` when given.
    """
    created = (created_at or datetime.now(UTC)).replace(microsecond=0)
    policy = {
        "schema_version": SCHEMA_VERSION,
        "model_fingerprint": model_fingerprint,
        "created_at": created.isoformat(),
        "review_by": (created + timedelta(days=REVIEW_AFTER_DAYS)).date().isoformat(),
        "choice": decision.choice.to_dict(),
        "rules": [rule.to_dict() for rule in decision.rules],
        "default_action": DEFAULT_ACTION,
        "economics": economics.to_dict(),
        "expected": {
            **json_ready(decision.metrics()),
            "evaluated_on": f"holdout of {decision.n_customers:,} customers",
        },
    }
    if baselines is not None:
        policy["expected"]["baselines_profit_per_customer"] = json_ready(baselines)
    validate_policy(policy)
    return policy


def validate_policy(policy: Any) -> dict[str, Any]:
    """Check a policy document; raise :class:`ChurnInputError` saying what is wrong."""
    if not isinstance(policy, dict):
        raise ChurnInputError("The policy must be a JSON object; export it again from the app.")
    required = ("schema_version", "model_fingerprint", "created_at", "rules", "default_action")
    missing = [k for k in required if k not in policy]
    if missing:
        raise ChurnInputError(f"The policy lacks {', '.join(missing)}; export it again.")
    if isinstance(policy["schema_version"], bool) or policy["schema_version"] != SCHEMA_VERSION:
        raise ChurnInputError(
            f"The policy has schema version {policy['schema_version']}, this tool reads "
            f"version {SCHEMA_VERSION}; export it again with this version."
        )
    if not isinstance(policy["model_fingerprint"], str):
        raise ChurnInputError("The policy's model_fingerprint must be text; export it again.")
    rules = policy["rules"]
    if not isinstance(rules, list):
        raise ChurnInputError("The policy's rules must be a list of {action, min_probability}.")
    seen = set()
    for rule in rules:
        if not isinstance(rule, dict) or not {"action", "min_probability"} <= set(rule):
            raise ChurnInputError("Each policy rule needs an action and a min_probability.")
        if not isinstance(rule["action"], str) or not rule["action"]:
            raise ChurnInputError("Each policy rule's action must be a non-empty name.")
        prob = rule["min_probability"]
        if isinstance(prob, bool) or not isinstance(prob, int | float) or not 0.0 <= prob <= 1.0:
            raise ChurnInputError(
                f"The rule for '{rule['action']}' has min_probability {prob!r}; use a number "
                "between 0 and 1."
            )
        if prob in seen:
            raise ChurnInputError("Two policy rules share a min_probability; keep one of them.")
        seen.add(prob)
    if not isinstance(policy["default_action"], str):
        raise ChurnInputError("The policy's default_action must be a name.")
    return policy


def rules_of(policy: dict[str, Any]) -> list[PolicyRule]:
    """The rules of a policy document (validated first)."""
    validate_policy(policy)
    return [PolicyRule.from_dict(rule) for rule in policy["rules"]]


def apply_policy(policy: dict[str, Any], probability: np.ndarray) -> np.ndarray:
    """Action per customer: highest ``min_probability`` <= probability, else the default."""
    return targeting.assign_actions(probability, rules_of(policy), policy["default_action"])


def save_policy(policy: dict[str, Any], path: str | Path) -> None:
    """Write the policy as indented JSON (validated first)."""
    validate_policy(policy)
    Path(path).write_text(json.dumps(policy, indent=2) + "\n", encoding="utf-8")


def load_policy(path: str | Path, fingerprint: str | None = None) -> dict[str, Any]:
    """Read and validate a policy; with ``fingerprint``, check it was made for that model."""
    path = Path(path)
    if not path.exists():
        raise ChurnInputError(f"Policy file not found: {path}; check the path.")
    try:
        policy = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ChurnInputError(f"{path.name} is not valid JSON; export the policy again.") from None
    validate_policy(policy)
    if fingerprint is not None and policy["model_fingerprint"] != fingerprint:
        raise ChurnInputError(
            f"The policy was made for model {policy['model_fingerprint'][:12]}..., not for this "
            f"model ({fingerprint[:12]}...); export a policy for this model."
        )
    return policy
