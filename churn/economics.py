"""What an action is worth: customer value, actions and the profit of contacting a customer.

The profit formula (Verbraken et al. 2013, in money per customer)
-----------------------------------------------------------------
A customer has a value ``v`` (what keeping them is worth). An action has a
``contact`` cost (paid for everyone contacted), an ``incentive`` cost (paid by
everyone who accepts the offer) and a ``success`` rate (the chance that a
would-be churner who is contacted stays). For a contacted customer:

* a would-be churner is worth ``success * (v - incentive) - contact``;
* a customer who would have stayed anyway costs ``incentive + contact``.

Not contacting anyone is the zero line. :func:`contact_profit` is that formula,
the one place it is written; every curve, policy and report prices actions with it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from churn.errors import ChurnInputError

__all__ = [
    "DEFAULT_ACTIONS",
    "NO_ACTION",
    "Action",
    "Economics",
    "contact_profit",
    "default_economics",
]


def contact_profit(
    outcome: np.ndarray,
    value: np.ndarray,
    success_rate: float | np.ndarray,
    incentive_cost: float | np.ndarray,
    contact_cost: float | np.ndarray,
) -> np.ndarray:
    """Profit of contacting each customer, in money.

    ``outcome`` is the 0/1 outcome (realised profit) or the churn probability
    (expected profit); ``value`` the customer's value; the action's terms are
    scalars or one per customer.
    """
    win = success_rate * (value - incentive_cost) - contact_cost
    loss = incentive_cost + contact_cost
    return outcome * win - (1.0 - outcome) * loss


#: The default action of a policy: the customer gets no action.
NO_ACTION = "none"


@dataclass(frozen=True)
class Action:
    """A retention action; costs in money per customer, ``success_rate`` in [0, 1].

    ``max_share`` is an optional capacity: at most this share of all customers
    (in [0, 1]) can get the action; ``None`` means no limit.
    """

    name: str
    contact_cost: float
    incentive_cost: float
    success_rate: float
    max_share: float | None = None

    def __post_init__(self) -> None:
        if not str(self.name).strip():
            raise ChurnInputError("Every action needs a name.")
        if self.max_share is not None and not (0.0 <= self.max_share <= 1.0):
            raise ChurnInputError(
                f"The capacity of action '{self.name}' must be a share of customers between "
                "0 and 1 (or empty for no limit)."
            )
        costs = (self.contact_cost, self.incentive_cost)
        if not all(np.isfinite(c) and c >= 0 for c in costs):  # NaN fails every comparison
            raise ChurnInputError(f"Costs of action '{self.name}' must be zero or more.")
        if not 0.0 <= self.success_rate <= 1.0:
            raise ChurnInputError(
                f"The success rate of action '{self.name}' must be between 0 and 1."
            )

    def profit(self, churn: np.ndarray, value: np.ndarray) -> np.ndarray:
        """Profit of contacting each customer, in money.

        ``churn`` is the 0/1 outcome (realised profit) or the churn probability
        (expected profit); ``value`` is the customer's value.
        """
        return contact_profit(
            churn, value, self.success_rate, self.incentive_cost, self.contact_cost
        )


@dataclass(frozen=True)
class Economics:
    """Customer value and the actions on offer.

    The value of a customer is ``value_multiplier * frame[value_column]`` when
    a column is given (missing values use the column's median), else
    ``value_constant``.
    """

    actions: tuple[Action, ...]
    value_constant: float = 500.0
    value_column: str | None = None
    value_multiplier: float = 1.0

    def __post_init__(self) -> None:
        if not self.actions:
            raise ChurnInputError("Add at least one action.")
        names = [a.name for a in self.actions]
        if len(set(names)) != len(names):
            raise ChurnInputError("Action names must be different from each other.")
        if any(n.strip().lower() == NO_ACTION for n in names):
            raise ChurnInputError(
                f"'{NO_ACTION}' means no action in the policy; give the action another name."
            )
        if not (np.isfinite(self.value_constant) and self.value_constant > 0):
            raise ChurnInputError("The customer value must be a positive amount of money.")
        if not (np.isfinite(self.value_multiplier) and self.value_multiplier > 0):
            raise ChurnInputError("The value multiplier must be a positive number.")

    @property
    def ordered_actions(self) -> tuple[Action, ...]:
        """Actions from weakest (cheapest) to strongest."""
        return tuple(
            sorted(
                self.actions,
                key=lambda a: (a.contact_cost + a.incentive_cost, a.success_rate, a.name),
            )
        )

    def customer_value(self, frame: pd.DataFrame | None, n: int) -> np.ndarray:
        """Value of each of ``n`` customers, in money."""
        if self.value_column is None:
            return np.full(n, float(self.value_constant))
        if frame is None or self.value_column not in frame.columns:
            raise ChurnInputError(
                f"The value column '{self.value_column}' is not in the data; pick another "
                "column or use a constant value."
            )
        values = pd.to_numeric(frame[self.value_column], errors="coerce").to_numpy(
            dtype=float, na_value=np.nan
        )
        finite = values[np.isfinite(values)]
        if not finite.size:  # nothing to take a median of: the constant is already money
            return np.full(n, float(self.value_constant))
        fill = float(np.median(finite))
        return self.value_multiplier * np.where(np.isfinite(values), values, fill)

    def to_dict(self) -> dict[str, Any]:
        return {
            "value_constant": self.value_constant,
            "value_column": self.value_column,
            "value_multiplier": self.value_multiplier,
            "actions": [
                {k: v for k, v in asdict(a).items() if k != "max_share" or v is not None}
                for a in self.actions
            ],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Economics:
        try:
            actions = tuple(Action(**a) for a in data["actions"])
            return cls(
                actions=actions,
                value_constant=float(data.get("value_constant", 500.0)),
                value_column=data.get("value_column"),
                value_multiplier=float(data.get("value_multiplier", 1.0)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ChurnInputError(
                f"The economics are incomplete ({exc}); see the README."
            ) from None


DEFAULT_ACTIONS = (
    Action("Email offer", contact_cost=1.0, incentive_cost=10.0, success_rate=0.10),
    Action("Call + discount", contact_cost=15.0, incentive_cost=60.0, success_rate=0.35),
)


def default_economics(
    columns: list[str] | pd.Index | None = None, value_column: str | None = None
) -> Economics:
    """Default economics: the mapped ``value_column`` as each customer's value when given;
    for the sample, 12 months of ``monthly_charges``; otherwise $500 per customer."""
    if value_column is not None:
        return Economics(DEFAULT_ACTIONS, value_column=value_column, value_multiplier=1.0)
    if columns is not None and "monthly_charges" in list(columns):
        return Economics(DEFAULT_ACTIONS, value_column="monthly_charges", value_multiplier=12.0)
    return Economics(DEFAULT_ACTIONS, value_constant=500.0)
