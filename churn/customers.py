"""The action list the retention team works from, and spreadsheet-safe CSV export.

:func:`action_list` ranks the scored customers by churn probability and gives
each the policy's action, the expected profit of that action and (when given)
the plain-language reasons for the score. :func:`action_summary` and
:func:`filter_action_list` are what a page shows and filters.
:func:`sanitise_for_spreadsheet` neutralises text that a spreadsheet would run
as a formula (CSV injection, OWASP).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from churn import targeting
from churn.economics import Economics
from churn.errors import ChurnInputError
from churn.targeting import PolicyRule
from churn.training import SCORE_COLUMNS

__all__ = [
    "FORMULA_PREFIXES",
    "SCORE_COLUMNS",
    "action_list",
    "action_order",
    "action_summary",
    "filter_action_list",
    "find_customer",
    "joined_reasons",
    "sanitise_for_spreadsheet",
    "segment_columns",
    "to_safe_csv",
]

#: Characters that make a spreadsheet read a cell as a formula (OWASP CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
#: The row-number column used when the data has no id column.
ROW_COLUMN = "row"
MAX_SEGMENT_LEVELS = 20


def find_customer(ids: pd.Series, typed: str) -> np.ndarray:
    """Rows of ``ids`` (text) that match what a user typed: the exact id (spaces around it
    ignored) when there is one, else the id regardless of case (``c012292`` finds
    ``C012292``). An empty text matches nothing."""
    text = typed.strip()
    if not text:
        return np.array([], dtype=int)
    values = pd.Series(ids, dtype="string").str.strip()
    exact = np.flatnonzero((values == text).to_numpy(dtype=bool, na_value=False))
    if exact.size:
        return exact
    folded = values.str.casefold() == text.casefold()
    return np.flatnonzero(folded.to_numpy(dtype=bool, na_value=False))


def segment_columns(
    frame: pd.DataFrame, exclude: Iterable[str | None] = (), max_levels: int = MAX_SEGMENT_LEVELS
) -> list[str]:
    """Columns that group customers: text, categorical or yes/no with at most ``max_levels``
    distinct values (e.g. plan, region, contract_type), in frame order.

    Score columns, the id and anything in ``exclude`` are left out.
    """
    skip = {c for c in exclude if c is not None} | set(SCORE_COLUMNS)
    out = []
    for column in frame.columns:
        if column in skip:
            continue
        s = frame[column]
        if ptypes.is_numeric_dtype(s) and not ptypes.is_bool_dtype(s):
            continue
        if ptypes.is_datetime64_any_dtype(s):
            continue
        if 0 < s.nunique(dropna=True) <= max_levels:
            out.append(str(column))
    return out


def action_order(policy_rules: Sequence[PolicyRule], default_action: str) -> list[str]:
    """Actions from the strongest (highest ``min_probability``) down, then the default."""
    names = [r.action for r in targeting.sorted_rules(policy_rules, strongest_first=True)]
    return list(dict.fromkeys([*names, default_action]))


def _aligned_reasons(reasons: pd.DataFrame, scored: pd.DataFrame) -> pd.DataFrame:
    """``reasons`` as rows of ``scored`` (by index when it lines up, else by position)."""
    columns = [c for c in reasons.columns if str(c).startswith("reason_")]
    if reasons.index.equals(scored.index):
        return reasons[columns].reset_index(drop=True)
    if scored.index.is_unique and scored.index.isin(reasons.index).all():
        return reasons[columns].reindex(scored.index).reset_index(drop=True)
    if len(reasons) == len(scored):
        return reasons[columns].reset_index(drop=True)
    raise ChurnInputError(
        "The reasons do not match the customers (different rows); compute them again."
    )


def action_list(
    scored: pd.DataFrame,
    id_column: str | None,
    policy_rules: Sequence[PolicyRule],
    default_action: str,
    economics: Economics,
    reasons: pd.DataFrame | None = None,
    segments: Sequence[str] | None = None,
    capacity: targeting.Capacity | None = None,
) -> pd.DataFrame:
    """The ranked list the retention team works from: one row per customer of ``scored``.

    Parameters
    ----------
    scored : customers with their input columns and ``churn_probability``,
        ``probability_low``, ``probability_high`` (each in [0, 1]).
    id_column : the customer id column; ``None`` numbers the rows of ``scored``
        from 0 in a ``row`` column instead.
    policy_rules, default_action : the policy; a customer gets the action of the
        rule with the highest ``min_probability`` <= its probability, else the default.
    economics : gives each customer's value and each action's costs.
    reasons : optional frame with ``reason_1``... per customer, index aligned with ``scored``.
    segments : columns to keep for filtering; ``None`` keeps :func:`segment_columns`.
    capacity : the policy's capacity, applied as production applies it
        (:func:`churn.targeting.assigned_index`): customers past it get the default action,
        and the list follows the capacity's ranking.

    Returns
    -------
    DataFrame sorted as the policy ranks (by churn probability, or by expected value when
    the capacity ranks by it; highest first, ties as :func:`churn.targeting.rank_order`), with
    ``rank`` (1 = most at risk), the id, ``churn_probability``, ``probability_low``,
    ``probability_high``, ``action``, ``expected_value`` (expected profit of the action for
    that customer in money; 0 when there is no action), ``customer_value`` (money), the reason
    columns (when given) and the segment columns.
    """
    missing = [c for c in SCORE_COLUMNS if c not in scored.columns]
    if missing:
        raise ChurnInputError(f"The customers have not been scored (no {', '.join(missing)}).")
    if id_column is not None and id_column not in scored.columns:
        raise ChurnInputError(f"The customers have no '{id_column}' column.")
    n = len(scored)
    p = scored["churn_probability"].to_numpy(dtype=float)
    value = economics.customer_value(scored, n)
    ids = scored[id_column].to_numpy() if id_column is not None else None
    index = targeting.assigned_index(p, policy_rules, capacity, value, economics, ids)
    worth = targeting.profit_by_index(index, p, value, policy_rules, economics)
    table = pd.DataFrame(
        {
            id_column or ROW_COLUMN: (
                scored[id_column].to_numpy() if id_column is not None else np.arange(n)
            ),
            **{c: scored[c].to_numpy(dtype=float) for c in SCORE_COLUMNS},
            "action": targeting.action_names(index, policy_rules, default_action).astype(str),
            "expected_value": worth,
            "customer_value": value,
        }
    )
    if id_column is not None:  # keep the id's own dtype (text ids keep their leading zeros)
        table[id_column] = scored[id_column].reset_index(drop=True)
    if reasons is not None:
        table = pd.concat([table, _aligned_reasons(reasons, scored)], axis=1)
    if segments is None:
        segments = segment_columns(scored, exclude=(id_column,))
    kept = [s for s in segments if s in scored.columns and s not in table.columns]
    if kept:
        table = pd.concat([table, scored[kept].reset_index(drop=True)], axis=1)
    score = p
    if capacity is not None and capacity.ranking == "expected_value":
        # what each customer's action would be worth, had the capacity no limit
        everyone = targeting.rule_index(p, policy_rules)
        score = targeting.profit_by_index(everyone, p, value, policy_rules, economics)
    order = targeting.rank_order(score, ids)
    # the customers the policy acts on first (a capacity may skip some of the best-ranked
    # for another action's limit), each part in rank order
    acted = index[order] >= 0
    order = np.r_[order[acted], order[~acted]]
    table = table.iloc[order].reset_index(drop=True)
    table.insert(0, "rank", np.arange(1, n + 1))
    return table


def joined_reasons(table: pd.DataFrame, separator: str = " · ") -> pd.Series:
    """A customer's reasons (``reason_1``, ``reason_2``, ...) in one text, strongest first,
    for a table that must fit a page; empty reasons are skipped."""
    columns = sorted(
        (c for c in table.columns if str(c).startswith("reason_")), key=lambda c: int(c[7:])
    )
    if not columns:
        return pd.Series("", index=table.index, dtype="string")
    parts = table[columns].astype("string").fillna("")
    joined = parts.apply(lambda row: separator.join(r for r in row if r.strip()), axis=1)
    return joined.astype("string")


def action_summary(table: pd.DataFrame, actions: Sequence[str] | None = None) -> pd.DataFrame:
    """Customers, share and total expected value per action of an :func:`action_list`.

    ``actions`` fixes the rows and their order (e.g. :func:`action_order`); actions with no
    customers get 0. Returns ``action, customers, share, expected_value``; money is the total
    over the customers with that action.
    """
    grouped = table.groupby("action", sort=False)
    counts = grouped.size()
    totals = grouped["expected_value"].sum()
    names = list(actions) if actions is not None else []
    names += [a for a in counts.index if a not in names]
    n = len(table)
    customers = counts.reindex(names, fill_value=0).to_numpy(dtype=int)
    return pd.DataFrame(
        {
            "action": names,
            "customers": customers,
            "share": customers / n if n else np.zeros(len(names)),
            "expected_value": totals.reindex(names, fill_value=0.0).to_numpy(dtype=float),
        }
    )


def filter_action_list(
    table: pd.DataFrame,
    actions: Iterable[str] | None = None,
    segment: str | None = None,
    values: Iterable[Any] | None = None,
) -> pd.DataFrame:
    """Rows of ``table`` whose action is in ``actions`` and whose ``segment`` is in ``values``.

    ``None`` (or no segment) means no filter on that part; the ranking is kept.
    """
    keep = np.ones(len(table), dtype=bool)
    if actions is not None:
        keep &= table["action"].isin(list(actions)).to_numpy()
    if segment is not None and values is not None:
        if segment not in table.columns:
            raise ChurnInputError(f"There is no '{segment}' column to filter on.")
        keep &= table[segment].isin(list(values)).to_numpy()
    return table[keep]


# ------------------------------------------------------------------ safe CSV
def _is_formula(cells: pd.Series) -> pd.Series:
    """True for text cells that start with a formula character."""
    if ptypes.is_string_dtype(cells) and not ptypes.is_object_dtype(cells):
        return cells.str.startswith(FORMULA_PREFIXES).fillna(False).astype(bool)
    return cells.map(lambda v: isinstance(v, str) and v.startswith(FORMULA_PREFIXES)).astype(bool)


def _neutralise(cells: pd.Series) -> pd.Series:
    if isinstance(cells.dtype, pd.CategoricalDtype):
        cells = cells.astype(object)
    if (
        ptypes.is_numeric_dtype(cells)
        or ptypes.is_bool_dtype(cells)
        or ptypes.is_datetime64_any_dtype(cells)
        or ptypes.is_timedelta64_dtype(cells)
    ):
        return cells  # numbers (negative ones too) stay numbers
    risky = _is_formula(cells)
    if not risky.any():
        return cells
    out = cells.astype(object)
    out[risky] = "'" + cells[risky].astype(str)
    return out


def sanitise_for_spreadsheet(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` that a spreadsheet will not run as formulas.

    Text cells (and column names) starting with ``=``, ``+``, ``-``, ``@``, a tab or a
    carriage return get a leading single quote, as the OWASP CSV-injection guidance
    recommends; so ``"-2"`` stored as text becomes ``"'-2"``. Numeric, yes/no and date
    columns are left as they are: a negative number stays a number.
    """
    out = frame.copy()
    for i in range(out.shape[1]):
        out.isetitem(i, _neutralise(out.iloc[:, i]))
    out.columns = [
        f"'{c}" if isinstance(c, str) and c.startswith(FORMULA_PREFIXES) else c for c in out.columns
    ]
    return out


#: Decimals kept in a downloaded CSV's numbers (a millionth of a probability or a dollar).
CSV_DECIMALS = 6


def to_safe_csv(frame: pd.DataFrame, decimals: int | None = CSV_DECIMALS) -> bytes:
    """``frame`` as CSV bytes (UTF-8, ``\\n`` line ends, no index), sanitised first, with
    numbers rounded to ``decimals`` (no 16-digit float noise in a list for people;
    ``None`` keeps every digit, for a file a program checks, such as the golden sample)."""
    safe = sanitise_for_spreadsheet(frame)
    floats = [c for c in safe.columns if ptypes.is_float_dtype(safe[c])]
    if floats and decimals is not None:
        safe[floats] = safe[floats].round(decimals)
    text = safe.to_csv(index=False, lineterminator="\n")
    return text.encode("utf-8")
