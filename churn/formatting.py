"""How numbers are written: for people (money, percentages, points, feature values) and for
JSON files (:func:`json_ready`).

Every page, sentence and report in the product formats through these, so the same
figure reads the same everywhere.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from churn.economics import NO_ACTION

__all__ = [
    "NO_ACTION_LABEL",
    "action_label",
    "json_ready",
    "money",
    "number",
    "percent",
    "points",
    "short_number",
    "signed_points",
]


#: How the pages name the policy's default action (``"none"`` in policy files and scores).
NO_ACTION_LABEL = "No action"


def action_label(name: str) -> str:
    """An action's name for people: the policy files' ``"none"`` reads "No action"."""
    return NO_ACTION_LABEL if name == NO_ACTION else name


def percent(x: float, digits: int = 1) -> str:
    """A share in [0, 1] as a percentage for people: ``0.2346 -> "23.5%"``; NaN -> "n/a"."""
    return "n/a" if x != x else f"{x:.{digits}%}"


def points(share: float) -> str:
    """A width in [0, 1] as percentage points for people: ``0.17 -> "17"``, ``0.004 -> "0.4"``
    (one decimal below one point, so a narrow interval does not read as zero)."""
    value = share * 100
    return f"{value:.1f}" if abs(value) < 1 else f"{value:.0f}"


def signed_points(share: float) -> str:
    """A probability contribution as signed percentage points: ``0.123 -> "+12 points"``.

    Whole points from 1 point up, one decimal below (``"+0.4 points"``).
    """
    x = 100.0 * share
    text = f"{x:+.0f}" if abs(x) >= 0.95 else f"{x:+.1f}"
    if text in ("+0.0", "-0.0"):
        text = "0.0"
    return f"{text} points"


def money(x: float, digits: int = 0) -> str:
    """An amount of money for people: ``-1234.5 -> "-$1,235"``; NaN -> "n/a"."""
    if x != x:
        return "n/a"
    return f"{'-' if x < 0 else ''}${abs(x):,.{digits}f}"


def number(value: float) -> str:
    """A feature value for people: ``3.0 -> "3"``, ``72.349 -> "72.35"``, ``1234.5 -> "1,234.5"``.

    NaN becomes ``"missing"``.
    """
    if value != value:
        return "missing"
    if float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def short_number(x: float) -> str:
    """A number in four significant digits with thousands separators: ``12345.6 -> "1.235e+04"``,
    ``1234.5 -> "1,234"``, ``0.123456 -> "0.1235"`` (bin edges, values in messages)."""
    return f"{x:,.4g}"


def json_ready(value: Any) -> Any:
    """``value`` with NumPy scalars as Python ones, tuples as lists, keys as text and
    non-finite floats (NaN, infinity) as ``None``, so ``json.dumps`` writes strict JSON."""
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return None if not math.isfinite(value) else float(value)
    return value
