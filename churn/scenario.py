"""A scenario: how the PM chooses (the policy choice) and the economics, as shareable text.

The app keeps one scenario per session and mirrors it in the URL query
string, so a stakeholder opening a shared link sees the same decision.
Decoding never fails: an unreadable or invalid parameter falls back to the
default and is reported, so a mangled link still opens.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

from churn.decisions import Choice
from churn.economics import Action, Economics, default_economics
from churn.errors import ChurnInputError
from churn.targeting import RANKINGS

__all__ = ["TARGETS", "UPLIFT_METHODS", "Scenario", "default_scenario"]

DEFAULT_CHOICE = Choice("max_profit")
#: What a policy targets by: the churn model's probability, or the uplift a campaign
#: model measured (a version-3 policy, :mod:`churn.uplift_decisions`).
TARGETS = ("churn_probability", "uplift")
#: The ways to choose a policy that targets by uplift
#: (:data:`churn.uplift_decisions.UPLIFT_CHOICES`).
UPLIFT_METHODS = ("max_profit", "threshold", "top_share", "top_n")


@dataclass(frozen=True)
class Scenario:
    """The PM's choice and economics (both validated on construction)."""

    choice: Choice
    economics: Economics
    problems: tuple[str, ...] = field(default=(), compare=False)
    #: With a capacity, who comes first (one of :data:`churn.targeting.RANKINGS`).
    ranking: str = "churn_probability"
    #: What the policy targets by (one of :data:`TARGETS`).
    target: str = "churn_probability"
    #: Targeting by uplift: the action the campaign tested (``None``: the strongest).
    tested_action: str | None = None

    def __post_init__(self) -> None:
        if self.ranking not in RANKINGS:
            raise ChurnInputError(
                f"Unknown ranking '{self.ranking}'; use one of {', '.join(RANKINGS)}."
            )
        if self.target not in TARGETS:
            raise ChurnInputError(
                f"Unknown target '{self.target}'; use one of {', '.join(TARGETS)}."
            )
        if self.target == "uplift" and self.choice.method not in UPLIFT_METHODS:
            raise ChurnInputError(
                f"A policy that targets by uplift is chosen by {', '.join(UPLIFT_METHODS)}, "
                f"not by {self.choice.method.replace('_', ' ')}."
            )
        names = [a.name for a in self.economics.actions]
        if self.tested_action is not None and self.tested_action not in names:
            raise ChurnInputError(
                f"There is no action '{self.tested_action}' in the economics; pick one of "
                f"{', '.join(names)}."
            )

    def to_query(self) -> dict[str, str]:
        """Query-string parameters: ``method``, ``value``, ``value_col``, ``mult``, ``const``,
        ``actions`` (compact JSON list of ``[name, contact, incentive, success(, capacity)]``),
        ``rank`` (only when it is not the default), and, targeting by uplift, ``target=uplift``
        and ``tested`` (the action the campaign tested, when named)."""
        params = {"method": self.choice.method}
        if self.choice.value is not None:
            params["value"] = repr(float(self.choice.value))
        if self.ranking != "churn_probability":
            params["rank"] = self.ranking
        if self.target != "churn_probability":
            params["target"] = self.target
            if self.tested_action is not None:
                params["tested"] = self.tested_action
        e = self.economics
        if e.value_column:
            params["value_col"] = e.value_column
            params["mult"] = repr(float(e.value_multiplier))
        else:
            params["const"] = repr(float(e.value_constant))
        params["actions"] = json.dumps(
            [
                [a.name, a.contact_cost, a.incentive_cost, a.success_rate]
                + ([a.max_share] if a.max_share is not None else [])
                for a in e.actions
            ],
            separators=(",", ":"),
        )
        return params

    @classmethod
    def from_query(
        cls,
        params: Mapping[str, str],
        columns: list[str] | None = None,
        value_column: str | None = None,
    ) -> Scenario:
        """Rebuild a scenario from query parameters; bad parts fall back to the defaults.

        ``columns`` are the data's columns: a value column that is not among them
        falls back to the default value; ``value_column`` is the model's mapped customer value.
        """
        base = default_scenario(columns, value_column)
        problems: list[str] = []

        choice = base.choice
        method = params.get("method")
        if method is not None:
            try:
                raw = params.get("value")
                value = None if method == "max_profit" or raw is None else float(raw)
                choice = Choice(method, value)
            except (ChurnInputError, ValueError):
                problems.append(
                    f"the link's policy choice ({method}={params.get('value')}) is not valid"
                )

        ranking = params.get("rank", "churn_probability")
        if ranking not in RANKINGS:
            problems.append(f"the link's ranking ({ranking}) is not valid")
            ranking = "churn_probability"

        actions = base.economics.actions
        if "actions" in params:
            try:
                actions = tuple(
                    Action(
                        str(item[0]),
                        float(item[1]),
                        float(item[2]),
                        float(item[3]),
                        float(item[4]) if len(item) > 4 and item[4] is not None else None,
                    )
                    for item in json.loads(params["actions"])
                )
                Economics(actions)  # names distinct, at least one action
            except (ChurnInputError, ValueError, TypeError, IndexError, KeyError):
                problems.append("the link's actions could not be read")
                actions = base.economics.actions

        economics = base.economics
        try:
            if "value_col" in params:
                column = params["value_col"]
                if columns is not None and column not in columns:
                    raise ChurnInputError(f"no column {column}")
                economics = Economics(
                    actions,
                    value_column=column,
                    value_multiplier=float(params.get("mult", 1.0)),
                )
            elif "const" in params:
                economics = Economics(actions, value_constant=float(params["const"]))
            else:
                economics = Economics(
                    actions,
                    value_constant=base.economics.value_constant,
                    value_column=base.economics.value_column,
                    value_multiplier=base.economics.value_multiplier,
                )
        except (ChurnInputError, ValueError):
            problems.append("the link's customer value is not valid")
            economics = Economics(
                actions,
                value_constant=base.economics.value_constant,
                value_column=base.economics.value_column,
                value_multiplier=base.economics.value_multiplier,
            )
        target, tested = params.get("target", "churn_probability"), params.get("tested")
        if target not in TARGETS or (target == "uplift" and choice.method not in UPLIFT_METHODS):
            problems.append(f"the link's target ({target}) is not valid for its policy choice")
            target, tested = "churn_probability", None
        if tested is not None and tested not in [a.name for a in economics.actions]:
            problems.append(f"the link's tested action ({tested}) is not among its actions")
            tested = None
        if target == "churn_probability":
            tested = None
        return cls(
            choice=choice,
            economics=economics,
            problems=tuple(problems),
            ranking=ranking,
            target=target,
            tested_action=tested,
        )


def default_scenario(columns: list[str] | None = None, value_column: str | None = None) -> Scenario:
    """Maximum profit with the default economics for these columns."""
    return Scenario(choice=DEFAULT_CHOICE, economics=default_economics(columns, value_column))
