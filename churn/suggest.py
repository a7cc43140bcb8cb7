"""Column-role suggestions for a raw export: which column is the target, the id, the value.

:func:`suggest_mapping` proposes, best first, which column is the target and which of
its values means "churned", the customer id, the customer value and the segment
attributes; the user confirms or changes them before :func:`churn.checks.check_data`.
:func:`id_reason` tells why a column identifies rows rather than describing customers;
the checks use it too, to leave such columns out of the features.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from churn.data import label_text, resolve_positive
from churn.errors import ChurnInputError

__all__ = ["id_reason", "name_words", "suggest_mapping"]

_TARGET_WORDS = ("churn", "attrition", "attrited", "exited", "cancel", "left", "leave", "lost")
_TARGET_WEAK = ("status", "target", "label", "flag", "outcome", "active")
_POSITIVE_WORDS = (
    "churn", "attrit", "exit", "cancel", "left", "leave", "lost", "closed", "yes", "true",
)  # fmt: skip
_ID_WORDS = re.compile(r"(^|_|\b)(id|ids|key|uuid|guid|number|num|no|code)$|clientnum|^id", re.I)
_VALUE_WORDS = (
    "value", "revenue", "charge", "spend", "arpu", "clv", "ltv", "amount", "balance", "fee",
    "price", "bill", "amt",
)  # fmt: skip
_SEGMENT_WORDS = (
    "gender", "sex", "age", "region", "state", "country", "city", "senior", "segment",
    "income", "marital", "education", "geography", "area",
)  # fmt: skip


def name_words(name: str) -> list[str]:
    """Words of a column name, in lower case: ``"SeniorCitizen"``, ``"Senior Citizen"`` and
    ``"senior_citizen"`` give ``["senior", "citizen"]``."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", str(name))
    return [t for t in re.split(r"[^a-z0-9]+", spaced.lower()) if t]


def _binary_columns(frame: pd.DataFrame) -> list[str]:
    out = []
    for column in frame.columns:
        values = frame[column].dropna()
        if values.empty:
            continue
        if values.iloc[:50_000].nunique() == 2 and values.nunique() == 2:
            out.append(column)
    return out


def _suggest_positive(series: pd.Series) -> str | None:
    try:
        return resolve_positive(series)
    except ChurnInputError:
        pass
    values = sorted({label_text(v) for v in series.dropna().unique()})
    if len(values) != 2:
        return None
    for word in _POSITIVE_WORDS:
        hits = [v for v in values if word in v.lower()]
        if len(hits) == 1:
            return hits[0]
    return None


def id_reason(series: pd.Series, name: str) -> str | None:
    """Why a column identifies rows rather than describing customers (or ``None``).

    A column of 20 rows or more qualifies when at least 95% of its rows have a value
    and no value repeats, and it holds text, integers, sequential row numbers or whole
    numbers named like an id; distinct measurements (non-whole floats) do not.
    """
    n = len(series)
    present = series.dropna()
    if n < 20 or present.size < 0.95 * n or present.nunique() != present.size:
        return None
    if pd.api.types.is_float_dtype(series) and not np.all(np.mod(present, 1) == 0):
        return None  # distinct measurements (balances, amounts) are not ids
    if pd.api.types.is_numeric_dtype(series):
        values = np.sort(present.to_numpy(dtype=float))
        if np.all(np.diff(values) == 1):
            return "sequential row numbers"
        if _ID_WORDS.search(name) or pd.api.types.is_integer_dtype(series):
            return "unique for every row (an id)"
        return None
    return "unique for every row (an id)"


def suggest_mapping(frame: pd.DataFrame) -> dict[str, Any]:
    """Likely choices for each role, best first.

    Returns ``{"target": [...], "positive": {column: value or None}, "id_column": [...],
    "value_column": [...], "segments": [...]}`` (lists of column names).
    """
    binary = _binary_columns(frame)

    def target_rank(column: str) -> tuple[int, int]:
        lower = column.lower()
        strong = any(w in lower for w in _TARGET_WORDS)
        weak = any(w in lower for w in _TARGET_WEAK)
        values = " ".join(str(v).lower() for v in frame[column].dropna().unique()[:2])
        worded = any(w in values for w in _POSITIVE_WORDS[:8])
        return (-(3 * strong + 2 * worded + weak), list(frame.columns).index(column))

    targets = sorted(binary, key=target_rank)
    if targets and target_rank(targets[0])[0] == 0:  # no name or value says churn: guess last
        targets = sorted(binary, key=lambda c: -list(frame.columns).index(c))
    ids = [c for c in frame.columns if id_reason(frame[c], c)]
    ids.sort(key=lambda c: (not _ID_WORDS.search(c), list(frame.columns).index(c)))
    numeric = [
        c
        for c in frame.columns
        if pd.api.types.is_numeric_dtype(frame[c]) and c not in ids and c not in binary
    ]
    ratio_words = {"chng", "change", "ratio", "pct", "percent", "rate", "count", "ct", "avg"}
    values = [
        c
        for c in numeric
        if any(t.startswith(_VALUE_WORDS) for t in name_words(c))
        and not ratio_words & set(name_words(c))
    ]
    segments = [
        c
        for c in frame.columns
        if set(name_words(c)) & set(_SEGMENT_WORDS)
        and len(name_words(c)) <= 4
        and c not in ids
        and c not in targets[:1]
        and (frame[c].nunique() <= 60 or pd.api.types.is_numeric_dtype(frame[c]))
    ]
    return {
        "target": targets,
        "positive": {c: _suggest_positive(frame[c]) for c in targets},
        "id_column": ids,
        "value_column": values,
        "segments": segments,
    }
