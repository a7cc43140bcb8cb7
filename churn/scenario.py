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

__all__ = ["Scenario", "default_scenario"]

DEFAULT_CHOICE = Choice("max_profit")


@dataclass(frozen=True)
class Scenario:
    """The PM's choice and economics (both validated on construction)."""

    choice: Choice
    economics: Economics
    problems: tuple[str, ...] = field(default=(), compare=False)
    #: With a capacity, who comes first (one of :data:`churn.targeting.RANKINGS`).
    ranking: str = "churn_probability"

    def __post_init__(self) -> None:
        if self.ranking not in RANKINGS:
            raise ChurnInputError(
                f"Unknown ranking '{self.ranking}'; use one of {', '.join(RANKINGS)}."
            )

    def to_query(self) -> dict[str, str]:
        """Query-string parameters: ``method``, ``value``, ``value_col``, ``mult``, ``const``,
        ``actions`` (compact JSON list of ``[name, contact, incentive, success(, capacity)]``)
        and ``rank`` (only when it is not the default)."""
        params = {"method": self.choice.method}
        if self.choice.value is not None:
            params["value"] = repr(float(self.choice.value))
        if self.ranking != "churn_probability":
            params["rank"] = self.ranking
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
        return cls(choice=choice, economics=economics, problems=tuple(problems), ranking=ranking)


def default_scenario(columns: list[str] | None = None, value_column: str | None = None) -> Scenario:
    """Maximum profit with the default economics for these columns."""
    return Scenario(choice=DEFAULT_CHOICE, economics=default_economics(columns, value_column))
