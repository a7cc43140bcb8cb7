"""Decisions by uplift: whom to contact when the effect of contact is measured per customer.

With a campaign model each customer has a churn probability without contact ``p0``, with
contact ``p1`` and the uplift ``u = p0 - p1``. Contacting a customer of value ``v`` with an
:class:`~churn.economics.Action` (contact cost ``c``, incentive ``i`` paid by every
contacted customer who stays) is worth, in expectation,

    ``gain = u * v - c - (1 - p1) * i``

(the customers kept are worth their value; the contact is paid for everyone; the
incentive by everyone who stays when contacted). With ``p1 = (1 - s) p0`` this is exactly
:func:`churn.economics.contact_profit` at a success rate ``s``: the same economics as
targeting by churn risk, with the success rate measured per customer instead of assumed.
The action's own ``success_rate`` is not used: the campaign measured it.

A decision is a version-3 policy that applies to the uplift (:func:`build_uplift_policy`):
contact when the uplift is at least a cut-off, optionally within a capacity ranked by
uplift. It is applied, here and by ``score --policy``, by
:func:`churn.targeting.assigned_index` (through :func:`churn.policy.apply_policy`), the one
implementation of a policy.

* ``max_profit``: the cut-off on the uplift that maximises the summed expected gain over
  the campaign's holdout customers (contact the customers whose expected gain is
  positive, as a cut-off a policy file can carry);
* ``threshold``: contact when the uplift is at least the value (a reduction of churn
  probability, in [0, 1]);
* ``top_share`` / ``top_n``: the top of the uplift ranking within that capacity.

API summary
-----------
``expected_gain(uplift, p_contacted, value, action) -> ndarray``
``decide_uplift(scores, value, action, choice, outcome=None, treated=None, ids=None)
-> UpliftDecision``
``decide_on_campaign(model, economics, choice, action=None) -> UpliftDecision``
``build_uplift_policy(decision, economics, model_fingerprint, created_at=None) -> dict``
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from churn import targeting
from churn.campaign_model import CampaignModel
from churn.decisions import Choice
from churn.economics import Action, Economics
from churn.errors import ChurnInputError
from churn.formatting import json_ready
from churn.policy import (
    DEFAULT_ACTION,
    REVIEW_AFTER_DAYS,
    SCORE_SCHEMA_VERSION,
    validate_policy,
)
from churn.targeting import Capacity, Limit, PolicyRule
from churn.uplift import measured_effect

__all__ = [
    "UPLIFT_CHOICES",
    "UpliftDecision",
    "build_uplift_policy",
    "campaign_action",
    "decide_on_campaign",
    "decide_uplift",
    "expected_gain",
]

#: The ways to choose an uplift policy.
UPLIFT_CHOICES = ("max_profit", "threshold", "top_share", "top_n")


def expected_gain(
    uplift: np.ndarray, p_contacted: np.ndarray, value: np.ndarray, action: Action
) -> np.ndarray:
    """Expected gain of contacting each customer, in money: ``u * v - c - (1 - p1) * i``."""
    uplift = np.asarray(uplift, dtype=float)
    p1 = np.asarray(p_contacted, dtype=float)
    return (
        uplift * np.asarray(value, dtype=float)
        - action.contact_cost
        - (1.0 - p1) * (action.incentive_cost)
    )


@dataclass
class UpliftDecision:
    """An uplift policy and what it does on the customers it was evaluated on.

    ``expected_gain`` is the model's expected gain (money per evaluated customer);
    ``kept_per_1000`` (with its 95% interval) is *measured* on the holdout outcomes: the
    control minus the contacted churn rate among the customers the policy contacts, per
    1,000 contacts (NaN without outcomes, or with an arm missing among them).
    """

    choice: Choice
    action: str
    rules: list[PolicyRule]
    capacity: Capacity | None
    n_customers: int
    n_contacted: int
    expected_gain: float
    kept_per_1000: float = float("nan")
    kept_low: float = float("nan")
    kept_high: float = float("nan")
    contacted: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def share_contacted(self) -> float:
        return self.n_contacted / self.n_customers if self.n_customers else 0.0

    @property
    def min_uplift(self) -> float | None:
        """The policy's cut-off on the uplift (``None``: contact nobody)."""
        return self.rules[0].min_probability if self.rules else None

    def metrics(self) -> dict[str, float]:
        """JSON-ready figures for the policy's ``expected`` block."""
        return {
            "share_targeted": self.share_contacted,
            "expected_profit_per_customer": self.expected_gain,
            "kept_per_1000_contacts": self.kept_per_1000,
            "kept_per_1000_contacts_low": self.kept_low,
            "kept_per_1000_contacts_high": self.kept_high,
        }


def _cut(uplift: np.ndarray, gain: np.ndarray) -> float | None:
    """The cut-off on the uplift whose customers (uplift at or above it) have the largest
    summed gain; ``None`` when contacting nobody is best. Tied uplifts go together."""
    scored = np.isfinite(uplift)
    u, g = uplift[scored], gain[scored]
    order = np.argsort(-u, kind="stable")
    u, total = u[order], np.cumsum(g[order])
    last = np.r_[u[1:] != u[:-1], True]  # a cut can only fall after the last of a tie
    if not last.any() or total[last].max() <= 0:
        return None
    best = np.flatnonzero(last)[int(np.argmax(total[last]))]
    return float(u[best])


def decide_uplift(
    scores: pd.DataFrame,
    value: np.ndarray,
    action: Action,
    choice: Choice,
    outcome: np.ndarray | None = None,
    treated: np.ndarray | None = None,
    ids: np.ndarray | None = None,
) -> UpliftDecision:
    """Choose an uplift policy on scored customers and say what it does on them.

    Parameters
    ----------
    scores : ``uplift`` and ``churn_probability_if_contacted`` per customer (NaN: not
        scored, never contacted).
    value : each customer's value, in money.
    action : the action the campaign tested (its costs price the contact).
    choice : ``max_profit``, ``threshold`` (a minimum uplift in [0, 1]), ``top_share`` or
        ``top_n`` (see the module docstring).
    outcome, treated : the customers' churn outcome and arm, when known (a campaign
        holdout): the kept customers per 1,000 contacts are then measured.
    ids : customer ids that break ties at a capacity.
    """
    if choice.method not in UPLIFT_CHOICES:
        raise ChurnInputError(
            f"An uplift policy is chosen by {', '.join(UPLIFT_CHOICES)}, not by "
            f"{choice.method.replace('_', ' ')}."
        )
    uplift = scores["uplift"].to_numpy(dtype=float)
    p1 = scores["churn_probability_if_contacted"].to_numpy(dtype=float)
    gain = expected_gain(uplift, p1, value, action)
    capacity = None
    if choice.method == "max_profit":
        cut = _cut(uplift, gain)
    elif choice.method == "threshold":
        cut = float(choice.value)
    else:
        cut = -1.0  # everybody is eligible; the capacity takes the top of the ranking
        limit = (
            Limit(share=float(choice.value))
            if choice.method == "top_share"
            else Limit(customers=int(choice.value))
        )
        capacity = Capacity(total=limit, ranking="uplift")
    rules = [] if cut is None else [PolicyRule(action.name, cut)]
    index = targeting.assigned_index(uplift, rules, capacity, ids=ids)
    contacted = index >= 0
    n = int(np.isfinite(uplift).sum())
    decision = UpliftDecision(
        choice=choice,
        action=action.name,
        rules=rules,
        capacity=capacity,
        n_customers=n,
        n_contacted=int(contacted.sum()),
        expected_gain=float(gain[contacted].sum() / n) if n else 0.0,
        contacted=contacted,
    )
    if outcome is not None and treated is not None and contacted.any():
        t = np.asarray(treated).astype(bool)
        y = np.asarray(outcome, dtype=float)
        _, _, effect, low, high = measured_effect(y[contacted], t[contacted])
        decision.kept_per_1000 = -effect * 1000.0
        decision.kept_low, decision.kept_high = -high * 1000.0, -low * 1000.0
    return decision


def campaign_action(economics: Economics, name: str | None = None) -> Action:
    """The action a campaign tested: ``name``, or the economics' strongest (most costly)."""
    if name is None:
        return economics.ordered_actions[-1]
    for action in economics.actions:
        if action.name == name:
            return action
    names = ", ".join(a.name for a in economics.actions)
    raise ChurnInputError(f"No action named '{name}' in the economics; use one of {names}.")


def decide_on_campaign(
    model: CampaignModel, economics: Economics, choice: Choice, action: str | None = None
) -> UpliftDecision:
    """:func:`decide_uplift` on the campaign model's holdout (customers never fitted), with
    the measured kept customers per 1,000 contacts."""
    h = model.holdout
    ids = None
    if model.id_column is not None and model.id_column in model.holdout_data.columns:
        ids = model.holdout_data[model.id_column].to_numpy()
    return decide_uplift(
        h,
        economics.customer_value(model.holdout_data, len(h)),
        campaign_action(economics, action),
        choice,
        outcome=h["outcome"].to_numpy(),
        treated=h["contacted"].to_numpy(),
        ids=ids,
    )


def build_uplift_policy(
    decision: UpliftDecision,
    economics: Economics,
    model_fingerprint: str,
    created_at: datetime | None = None,
) -> dict[str, Any]:
    """The version-3 policy document of an uplift decision (``"score": "uplift"``)."""
    created = (created_at or datetime.now(UTC)).replace(microsecond=0)
    policy = {
        "schema_version": SCORE_SCHEMA_VERSION,
        "score": "uplift",
        "model_fingerprint": model_fingerprint,
        "created_at": created.isoformat(),
        "review_by": (created + timedelta(days=REVIEW_AFTER_DAYS)).date().isoformat(),
        "choice": decision.choice.to_dict(),
        "rules": [{"action": r.action, "min_score": r.min_probability} for r in decision.rules],
        "default_action": DEFAULT_ACTION,
        "capacity": None if decision.capacity is None else decision.capacity.to_dict(),
        "economics": economics.to_dict(),
        "expected": {
            **json_ready(decision.metrics()),
            "evaluated_on": f"campaign holdout of {decision.n_customers:,} customers",
        },
    }
    validate_policy(policy)
    return policy
