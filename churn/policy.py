"""The exported policy: build it from a choice, validate it, apply it.

A policy is a versioned JSON document (schema in ``churn/policy.schema.json``
and the README). A customer gets the action of the rule with the highest
``min_probability`` that is <= its churn probability, else ``default_action``.
Capacity and profit choices are turned into these probability cut-offs at
export; the original choice is recorded next to them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
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
    "POLICY_SCORES",
    "REVIEW_AFTER_DAYS",
    "SCHEMA_PATH",
    "SCHEMA_VERSION",
    "SCORE_SCHEMA_VERSION",
    "Decision",
    "apply_policy",
    "baseline_profits",
    "build_policy",
    "capacity_of",
    "decide",
    "decide_on_holdout",
    "economics_note",
    "load_policy",
    "on_customers",
    "policy_score",
    "review_on_customers",
    "rules_of",
    "save_policy",
    "validate_policy",
]

SCHEMA_VERSION = 2
#: The version of a policy that names the score it applies to (``"score"``: churn
#: probability or uplift; its rules are ``{"action", "min_score"}``). Policies of a churn
#: model are still written as version 2, so that their files do not change; policies of a
#: campaign model, which apply to the uplift, are version 3.
SCORE_SCHEMA_VERSION = 3
#: Policy files of these versions are read (version 1 has no capacity).
READABLE_VERSIONS = (1, 2, 3)
#: The scores a version-3 policy may apply to, with the range of their values.
POLICY_SCORES = {"churn_probability": (0.0, 1.0), "uplift": (-1.0, 1.0)}
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
    capacity: targeting.Capacity | None = None
    batch_size: int | None = None
    #: Each evaluated customer's action as an index into ``sorted_rules(rules)`` (-1: none),
    #: in the order the customers were given: who the policy acts on, as production would.
    assigned: np.ndarray | None = field(default=None, repr=False, compare=False)

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
    ranking: str = "churn_probability",
    batch_size: int | None = None,
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
    ranking : with a capacity choice, who comes first (:data:`churn.targeting.RANKINGS`);
        other choices rank by probability (it only matters for the actions' capacities).
    batch_size : the number of customers a ``top_n`` capacity is a number of (the batch the
        policy will score); on these customers it is evaluated as that share. ``None``: a
        number of these customers.

    A capacity choice (``top_share``, ``top_n``) becomes a :class:`~churn.targeting.Capacity`
    applied by rank when the policy runs, with rules that no longer cut by probability: on
    any batch, exactly the capacity is contacted. Actions with a ``max_share`` add their own
    limits. Every figure of the chosen policy is measured by applying it as production does
    (:func:`churn.targeting.assigned_index`).
    """
    p = np.asarray(p, dtype=float)
    n = p.size
    if ranking not in targeting.RANKINGS:
        raise ChurnInputError(
            f"Unknown ranking '{ranking}'; use one of {', '.join(targeting.RANKINGS)}."
        )
    groups = groups or decisions.sorted_groups(p)
    y_arr = None if y is None else np.asarray(y, dtype=float)
    value = np.broadcast_to(np.asarray(value, dtype=float), p.shape)
    is_capacity = choice.method in ("top_share", "top_n")
    if not is_capacity:  # only a total capacity ranks by value; action limits by probability
        ranking = "churn_probability"
    if choice.method == "top_n" and batch_size is not None:
        share = min(1.0, float(choice.value) / max(int(batch_size), 1))  # type: ignore[arg-type]
        evaluated_choice = Choice("top_share", share)
    else:
        evaluated_choice = choice
    # The profit-maximising action tiers, from the customers in descending-probability order.
    order = groups.order
    p_s = p[order]
    o_s = p_s if y_arr is None else y_arr[order]
    v_s = value[order]
    presorted = decisions.presorted(groups)
    cuts = decisions.tier_cutoffs(p_s, o_s, v_s, economics, presorted)
    tiers = decisions.tier_thresholds(groups, cuts[1:])
    rank_groups = groups
    if ranking == "expected_value" and is_capacity:
        # who comes first: the expected value of the action each customer's tier gives
        worth = decisions.tier_profit(p, p, value, economics, tiers)
        rank_groups = decisions.sorted_groups(worth)
    r_order = rank_groups.order
    p_r, v_r = p[r_order], value[r_order]
    o_r = p_r if y_arr is None else y_arr[r_order]
    rank_sorted = decisions.presorted(rank_groups)
    curve = decisions.threshold_curve(
        p_r, economics, v_r, o_r, tiers, groups=rank_sorted, band_level=BAND_LEVEL
    )
    row = decisions.select(curve, evaluated_choice)
    feasible = np.ones(len(curve), dtype=bool)
    capped_actions = any(a.max_share is not None for a in economics.actions)
    if capped_actions and rank_groups is groups:
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
    total = measured_total = None
    if is_capacity:
        amount = float(choice.value)  # type: ignore[arg-type]
        if choice.method == "top_share":
            total = measured_total = targeting.Limit(share=amount)
        else:
            total = measured_total = targeting.Limit(customers=round(amount))
            if batch_size is not None:  # on these customers: the share it is of the batch
                measured_total = targeting.Limit(share=float(evaluated_choice.value))  # type: ignore[arg-type]
    if total is not None and (total.customers == 0 or total.share == 0):
        total = measured_total = None  # a capacity of nobody: no rules at all
        threshold = float("inf")
    # A capacity is applied by rank: its rules no longer cut by probability.
    cut_off = 0.0 if total is not None else threshold
    rules = decisions.policy_rules(cut_off, tiers, economics)
    per_action = tuple(
        (a.name, targeting.Limit(share=float(a.max_share)))
        for a in economics.actions
        if a.max_share is not None and any(r.action == a.name for r in rules)
    )
    capacity = targeting.Capacity(total=total, per_action=per_action, ranking=ranking)
    measured = targeting.Capacity(total=measured_total, per_action=per_action, ranking=ranking)
    ordered = targeting.sorted_rules(rules)
    index = targeting.assigned_index(p, ordered, measured or None, value, economics)
    contacted = index >= 0
    k = int(contacted.sum())
    outcome = p if y_arr is None else y_arr
    realised = targeting.profit_by_index(index, outcome, value, ordered, economics)
    profit = float(realised.sum())
    z = float(decisions.ndtri(0.5 + BAND_LEVEL / 2.0))
    sd = float(np.sqrt(max(float((realised * realised).sum()) - profit**2 / n, 0.0)))

    def contacted_profit(result: np.ndarray) -> float:
        return float(targeting.profit_by_index(index, result, value, ordered, economics).sum())

    expected = contacted_profit(p)
    bounds = (
        contacted_profit(np.asarray(low, dtype=float)),
        contacted_profit(np.asarray(high, dtype=float)),
    )
    counts = {DEFAULT_ACTION: n - k} if k < n else {}
    by_rule = np.bincount(index[contacted], minlength=len(ordered))
    for rule, n_action in zip(ordered, by_rule, strict=True):
        if n_action:
            counts[rule.action] = counts.get(rule.action, 0) + int(n_action)
    true_positives = float(outcome[contacted].sum())
    positives = float(outcome.sum())
    confusion = targeting.confusion(
        outcome, contacted, realised, value, whole_customers=y_arr is not None
    )
    if is_capacity or capped_actions:  # the chart's point: the curve row with as many contacted
        n_targeted = curve["n_targeted"].to_numpy()
        row = int(np.flatnonzero(n_targeted <= k)[-1])
    if is_capacity:  # the lowest probability contacted here (the capacity sets no cut-off)
        threshold = float(p[contacted].min()) if k else float("inf")
    return Decision(
        choice=choice,
        threshold=threshold,
        tiers=tiers,
        rules=rules,
        curve=curve,
        row=row,
        n_customers=n,
        n_targeted=k,
        share_targeted=k / n,
        precision=true_positives / k if k else float("nan"),
        recall=true_positives / positives if positives > 0 else 0.0,
        profit=profit,
        profit_low=profit - z * sd,
        profit_high=profit + z * sd,
        expected_profit=expected,
        expected_profit_low=min(bounds),
        expected_profit_high=max(bounds),
        best_row=int(np.argmax(np.where(feasible, curve["profit"].to_numpy(), -np.inf))),
        actions_count=counts,
        confusion=confusion,
        capacity=capacity if capacity else None,
        batch_size=batch_size if choice.method == "top_n" else None,
        assigned=index,
    )


def _ids(customers: pd.DataFrame, id_column: str | None) -> np.ndarray | None:
    """The customer ids that break ties at a capacity, if the table has them."""
    if id_column is None or id_column not in customers.columns:
        return None
    return customers[id_column].to_numpy()


def on_customers(
    decision: Decision,
    economics: Economics,
    customers: pd.DataFrame,
    id_column: str | None = None,
) -> dict[str, Any]:
    """What the decision's policy does on scored ``customers`` (a later base, without
    outcomes), exactly as ``score --policy`` applies it: capacity, ranking and ties included.

    ``customers`` has ``churn_probability``, ``probability_low``, ``probability_high`` and
    the value column; ``id_column`` breaks ties at a capacity. Returns
    :func:`churn.targeting.outlook`'s ``estimated`` figures, ``review`` and ``share_review``.
    """
    ids = _ids(customers, id_column)
    return targeting.outlook(
        customers["churn_probability"].to_numpy(dtype=float),
        economics.customer_value(customers, len(customers)),
        decision.rules,
        economics,
        low=customers["probability_low"].to_numpy(dtype=float),
        high=customers["probability_high"].to_numpy(dtype=float),
        capacity=decision.capacity,
        ids=ids,
    )


def review_on_customers(
    decision: Decision,
    economics: Economics,
    customers: pd.DataFrame,
    id_column: str | None = None,
    default_action: str = DEFAULT_ACTION,
) -> pd.DataFrame:
    """:func:`churn.targeting.review_list` of scored ``customers`` under the decision's policy
    (capacity included): the doubtful customers, most at stake first."""
    ids = _ids(customers, id_column)
    return targeting.review_list(
        customers["churn_probability"].to_numpy(dtype=float),
        customers["probability_low"].to_numpy(dtype=float),
        customers["probability_high"].to_numpy(dtype=float),
        economics.customer_value(customers, len(customers)),
        decision.rules,
        economics,
        capacity=decision.capacity,
        ids=ids,
        default_action=default_action,
    )


#: Maximum profit that contacts at least this share of customers ...
ECONOMICS_DRIVEN_SHARE = 0.6
#: ... and earns less than this much more (relative) than contacting everybody is driven by
#: the economics, not by the model.
ECONOMICS_DRIVEN_GAIN = 0.10


def economics_note(decision: Decision, baselines: dict[str, float]) -> str | None:
    """One sentence when the chosen policy contacts most customers and the model adds little
    over contacting everybody; ``None`` otherwise.

    With a high customer value and a cheap action, contacting almost everyone pays, and a
    ranking barely matters: the PM should know that the economics, not the model, drive
    the decision (and that a better model would change little).
    """
    chosen, everybody = baselines.get("chosen"), baselines.get("everybody")
    if chosen is None or everybody is None or not np.isfinite(everybody) or chosen <= 0:
        return None
    if decision.share_targeted < ECONOMICS_DRIVEN_SHARE:
        return None
    if chosen - everybody > ECONOMICS_DRIVEN_GAIN * abs(chosen):
        return None
    return (
        f"This policy contacts {decision.share_targeted:.0%} of customers and earns "
        f"{chosen:,.2f} per customer against {everybody:,.2f} for contacting everybody: "
        "the economics (what a customer is worth against what the action costs), not the "
        "model, drive this decision."
    )


def decide_on_holdout(
    artifact: Artifact,
    economics: Economics,
    choice: Choice,
    ranking: str = "churn_probability",
    batch_size: int | None = None,
) -> Decision:
    """:func:`decide` on the artifact's holdout (customers never used to fit).

    Uses the holdout sorted once per model (:attr:`Artifact.holdout_sorted`). ``ranking``
    and ``batch_size`` are :func:`decide`'s; a ``top_n`` choice without a ``batch_size``
    is a number of customers of a batch the size of the training table.
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
        ranking=ranking,
        batch_size=batch_size if batch_size is not None else artifact.info.rows,
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
        "capacity": None if decision.capacity is None else decision.capacity.to_dict(),
        "economics": economics.to_dict(),
        "expected": {
            **json_ready(decision.metrics()),
            "evaluated_on": f"holdout of {decision.n_customers:,} customers",
            **({} if decision.batch_size is None else {"batch_size": int(decision.batch_size)}),
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
    version = policy["schema_version"]
    if (
        isinstance(version, bool)
        or not isinstance(version, int)
        or version not in READABLE_VERSIONS
    ):
        raise ChurnInputError(
            f"The policy has schema version {version}, this tool reads versions "
            f"{', '.join(map(str, READABLE_VERSIONS[:-1]))} and {READABLE_VERSIONS[-1]}; "
            "export it again with this version."
        )
    if not isinstance(policy["model_fingerprint"], str):
        raise ChurnInputError("The policy's model_fingerprint must be text; export it again.")
    key, (lowest, highest) = "min_probability", (0.0, 1.0)
    if version == SCORE_SCHEMA_VERSION:
        score = policy.get("score")
        if not isinstance(score, str) or score not in POLICY_SCORES:
            raise ChurnInputError(
                "A version 3 policy must say which score it applies to ('score': "
                f"{' or '.join(POLICY_SCORES)}); export it again."
            )
        key, (lowest, highest) = "min_score", POLICY_SCORES[score]
    rules = policy["rules"]
    if not isinstance(rules, list):
        raise ChurnInputError(f"The policy's rules must be a list of {{action, {key}}}.")
    seen = set()
    for rule in rules:
        if not isinstance(rule, dict) or not {"action", key} <= set(rule):
            raise ChurnInputError(f"Each policy rule needs an action and a {key}.")
        if not isinstance(rule["action"], str) or not rule["action"]:
            raise ChurnInputError("Each policy rule's action must be a non-empty name.")
        prob = rule[key]
        if (
            isinstance(prob, bool)
            or not isinstance(prob, int | float)
            or not lowest <= prob <= highest
        ):
            raise ChurnInputError(
                f"The rule for '{rule['action']}' has {key} {prob!r}; use a number "
                f"between {lowest:g} and {highest:g}."
            )
        if prob in seen:
            raise ChurnInputError(f"Two policy rules share a {key}; keep one of them.")
        seen.add(prob)
    if not isinstance(policy["default_action"], str):
        raise ChurnInputError("The policy's default_action must be a name.")
    capacity_of(policy)
    return policy


def capacity_of(policy: dict[str, Any]) -> targeting.Capacity | None:
    """The policy's capacity (``None``: its rules alone decide; always so in version 1)."""
    data = policy.get("capacity") if policy.get("schema_version") != 1 else None
    if data is None:
        return None
    capacity = targeting.Capacity.from_dict(data)
    actions = {rule["action"] for rule in policy["rules"] if isinstance(rule, dict)}
    unknown = [name for name, _ in capacity.per_action if name not in actions]
    if unknown:
        raise ChurnInputError(
            f"The policy has a capacity for {', '.join(unknown)}, which none of its rules "
            "gives; export it again."
        )
    if (capacity.ranking == "uplift") != (policy_score(policy) == "uplift"):
        raise ChurnInputError(
            "A policy that applies to the uplift ranks its capacity by uplift, and only such a "
            "policy does; export it again."
        )
    if capacity.ranking == "expected_value" and not isinstance(policy.get("economics"), dict):
        raise ChurnInputError(
            "The policy ranks by expected value but has no economics to price it; export it again."
        )
    return capacity or None


def policy_score(policy: dict[str, Any]) -> str:
    """The score a policy's rules and capacity apply to: ``"churn_probability"`` (versions 1
    and 2, and version 3 saying so) or ``"uplift"`` (the scored column to pass to
    :func:`apply_policy`)."""
    if policy.get("schema_version") == SCORE_SCHEMA_VERSION:
        return str(policy.get("score"))
    return "churn_probability"


def rules_of(policy: dict[str, Any]) -> list[PolicyRule]:
    """The rules of a policy document (validated first). In a version-3 policy a rule's
    ``min_score`` becomes the :class:`PolicyRule`'s cut-off (on the policy's score)."""
    validate_policy(policy)
    if policy["schema_version"] == SCORE_SCHEMA_VERSION:
        return [
            PolicyRule(action=str(rule["action"]), min_probability=float(rule["min_score"]))
            for rule in policy["rules"]
        ]
    return [PolicyRule.from_dict(rule) for rule in policy["rules"]]


def apply_policy(
    policy: dict[str, Any],
    probability: np.ndarray,
    customers: pd.DataFrame | None = None,
    id_column: str | None = None,
) -> np.ndarray:
    """Action per customer, exactly as production must apply the policy.

    ``probability`` is the policy's score per customer (:func:`policy_score`: the churn
    probability, or the uplift for a version-3 policy that applies to it). Each customer
    gets the action of the rule with the highest ``min_probability`` (``min_score``) <= its
    score, else ``default_action`` (also when the probability is missing: a row that
    could not be scored). With a capacity, the customers are then ranked and cut
    (:func:`churn.targeting.assigned_index`): ``customers`` (the scored rows, in the same
    order) gives the ids that break ties (``id_column``) and, when the policy ranks by
    expected value, each customer's value (the economics' value column, with its numbers
    already read as the model reads them: pass the prepared table,
    ``artifact.preparation.apply(frame)[0]``; missing values take the scored customers'
    median).
    """
    rules = rules_of(policy)
    capacity = capacity_of(policy)
    p = np.asarray(probability, dtype=float)
    value = economics = ids = None
    if capacity is not None:
        if customers is not None and id_column is not None and id_column in customers.columns:
            ids = customers[id_column].array  # (not objects: a big batch's ids stay compact)
        if capacity.ranking == "expected_value":
            economics = Economics.from_dict(policy["economics"])
            value = _values_to_rank(economics, customers, p)
    return targeting.assign_actions(
        p, rules, policy["default_action"], capacity, value, economics, ids
    )


def _values_to_rank(
    economics: Economics, customers: pd.DataFrame | None, p: np.ndarray
) -> np.ndarray:
    """Each scored customer's value for a ranking by expected value (NaN where not scored).

    As on the pages, a missing value is the median of the scored customers'. The column
    must be there and hold numbers (prepared as the model prepares its inputs).
    """
    scored = np.isfinite(p)
    column = economics.value_column
    if column is not None:
        if customers is None or column not in customers.columns:
            raise ChurnInputError(
                f"The policy ranks customers by expected value, which needs the '{column}' "
                "column; add it to the data to score."
            )
        numbers = pd.to_numeric(customers[column], errors="coerce").to_numpy(
            dtype=float, na_value=np.nan
        )
        if not np.isfinite(numbers[scored]).any():
            raise ChurnInputError(
                f"The policy ranks customers by expected value, but no value in '{column}' "
                "can be read as a number; fix that column and score again."
            )
    value = np.full(p.size, np.nan)
    rows = customers.iloc[np.flatnonzero(scored)] if customers is not None else None
    value[scored] = economics.customer_value(rows, int(scored.sum()))
    return value


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
