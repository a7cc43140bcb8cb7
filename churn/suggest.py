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

__all__ = [
    "id_reason",
    "leak_columns",
    "name_words",
    "suggest_campaign_roles",
    "suggest_mapping",
]

_TARGET_WORDS = ("churn", "attrition", "attrited", "exited", "cancel", "left", "leave", "lost")
_TARGET_WEAK = ("status", "target", "label", "flag", "outcome", "active")
_POSITIVE_WORDS = (
    "churn", "attrit", "exit", "cancel", "left", "leave", "lost", "closed", "yes", "true",
)  # fmt: skip
_ID_WORDS = re.compile(r"(^|_|\b)(id|ids|key|uuid|guid|number|num|no|code)$|clientnum|^id", re.I)
_VALUE_WORDS = (
    "value", "revenue", "charge", "spend", "arpu", "clv", "cltv", "ltv", "amount", "balance",
    "fee", "price", "bill", "amt",
)  # fmt: skip
#: Words of a lifetime value (what keeping a customer is worth), preferred to a charge.
_LIFETIME_WORDS = ("clv", "cltv", "ltv", "lifetime")
_SEGMENT_WORDS = (
    "gender", "sex", "age", "region", "state", "country", "city", "senior", "segment",
    "income", "marital", "education", "geography", "area",
)  # fmt: skip
#: Segment words that describe the person (the others describe where they live or buy).
_PERSONAL_WORDS = ("gender", "sex", "age", "senior", "income", "marital", "education")


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


def leak_columns(
    frame: pd.DataFrame,
    target: str,
    positive: str | None = None,
    columns: list[str] | None = None,
) -> dict[str, str]:
    """The columns (of ``columns``, default all but the target) that leak ``target``, as
    the leakage guard of :func:`churn.checks.check_data` judges them: ``{column: reason}``
    (a copy of the target, filled for one class only, an almost perfect predictor).

    Rows without a target value are not used; an empty result when the target does not
    have two values. Never offered for a role by :func:`suggest_mapping` or the app.
    """
    from churn.checks import leak_reason  # (the checks import this module)

    labels = frame[target]
    present = labels.notna().to_numpy()
    values = sorted({label_text(v) for v in labels[present].unique()})
    if len(values) != 2:
        return {}
    try:
        churned = resolve_positive(labels, positive)
    except ChurnInputError:
        churned = values[-1]  # (the guard does not depend on which value is churned)
    churn_of = {v: int(label_text(v) == churned) for v in labels[present].unique()}
    y = labels[present].map(churn_of).to_numpy(dtype=int)
    out = {}
    for column in columns if columns is not None else list(frame.columns):
        if column == target or column not in frame.columns:
            continue
        reason = leak_reason(frame[column][present].reset_index(drop=True), y)
        if reason is not None:
            out[column] = reason
    return out


def _named_like_id(name: str) -> bool:
    return bool(_ID_WORDS.search(str(name))) or bool(
        {"id", "ids", "key", "uuid", "guid"} & set(name_words(name))
    )


def _target_reason(strong: bool, worded: bool, weak: bool) -> str:
    says = [
        *(["the name says churn"] if strong else []),
        *(["its values say churn"] if worded else []),
        *(["the name says status or label"] if weak and not strong else []),
    ]
    return "two values; " + ", ".join(says) if says else "two values (the last such column)"


def suggest_mapping(frame: pd.DataFrame) -> dict[str, Any]:
    """Likely choices for each role, best first, each with the reason.

    Returns ``{"target": [...], "positive": {column: value or None}, "id_column": [...],
    "value_column": [...], "segments": [...], "why": {role: {column: reason}}, "leaks":
    {column: reason}}``: lists of column names; ``why`` says in a few words why each
    suggestion was made (``"named like a customer lifetime value"``); ``leaks`` are the
    columns that leak the first suggested target (:func:`leak_columns`), never suggested
    for any role. A lifetime value (CLTV, LTV, lifetime value, customer value) comes
    before a charge; columns with a single value are never segments.
    """
    binary = _binary_columns(frame)
    position = {c: i for i, c in enumerate(frame.columns)}

    def target_words(column: str) -> tuple[bool, bool, bool]:
        lower = str(column).lower()
        values = " ".join(str(v).lower() for v in frame[column].dropna().unique()[:2])
        return (
            any(w in lower for w in _TARGET_WORDS),
            any(w in values for w in _POSITIVE_WORDS[:8]),
            any(w in lower for w in _TARGET_WEAK),
        )

    def target_rank(column: str) -> tuple[int, int]:
        strong, worded, weak = target_words(column)
        return (-(3 * strong + 2 * worded + weak), position[column])

    targets = sorted(binary, key=target_rank)
    if targets and target_rank(targets[0])[0] == 0:  # no name or value says churn: guess last
        targets = sorted(binary, key=lambda c: -position[c])
    positives = {c: _suggest_positive(frame[c]) for c in targets}
    why: dict[str, dict[str, str]] = {
        "target": {c: _target_reason(*target_words(c)) for c in targets}
    }

    ids = [c for c in frame.columns if id_reason(frame[c], c)]
    ids.sort(key=lambda c: (not _named_like_id(c), position[c]))
    why["id_column"] = {
        c: ("sequential row numbers" if id_reason(frame[c], c) == "sequential row numbers"
            else "unique for every row")
        + (", named like an id" if _named_like_id(c) else "")
        for c in ids
    }  # fmt: skip

    numeric = [
        c
        for c in frame.columns
        if pd.api.types.is_numeric_dtype(frame[c]) and c not in ids and c not in binary
    ]
    ratio_words = {"chng", "change", "ratio", "pct", "percent", "rate", "count", "ct", "avg"}
    value_words: dict[str, str] = {}
    for c in numeric:
        words = name_words(c)
        hits = [w for t in words for w in _VALUE_WORDS if t.startswith(w)]
        if hits and not ratio_words & set(words):
            value_words[c] = hits[0]

    def lifetime(column: str) -> bool:
        words = name_words(column)
        return any(t.startswith(_LIFETIME_WORDS) for t in words) or (
            "customer" in words and "value" in words
        )

    segment_words: dict[str, str] = {}
    for c in frame.columns:
        words = name_words(c)
        hits = [w for w in words if w in _SEGMENT_WORDS]
        distinct = frame[c].nunique()
        if (
            hits
            and len(words) <= 4
            and c not in ids
            and c not in targets[:1]
            and distinct >= 2  # a constant (one country, one state) has no groups to compare
            and (distinct <= 60 or pd.api.types.is_numeric_dtype(frame[c]))
        ):
            segment_words[c] = hits[0]

    leaks: dict[str, str] = {}
    if targets:
        others = [c for c in frame.columns if c not in ids]
        leaks = leak_columns(frame, targets[0], positives[targets[0]], others)
    values = sorted(
        (c for c in value_words if c not in leaks), key=lambda c: (not lifetime(c), position[c])
    )
    why["value_column"] = {
        c: "named like a customer lifetime value"
        if lifetime(c)
        else f"named like an amount ({value_words[c]})"
        for c in values
    }
    segments = [c for c in segment_words if c not in leaks]
    why["segments"] = {
        c: (
            f"named like a personal attribute ({segment_words[c]})"
            if segment_words[c] in _PERSONAL_WORDS
            else f"named like a place or market ({segment_words[c]})"
        )
        + f"; {frame[c].nunique():,} values"
        for c in segments
    }
    return {
        "target": targets,
        "positive": positives,
        "id_column": ids,
        "value_column": values,
        "segments": segments,
        "why": why,
        "leaks": leaks,
    }


#: Beginnings of words that name a contact column (``contacted``, ``treatment``, ``offered``).
_TREATMENT_WORDS = (
    "contact", "treat", "campaign", "offer", "call", "mail", "target", "expos", "intervention",
    "outreach",
)  # fmt: skip
#: Words that name a contact column only weakly (``age_group`` is not one).
_TREATMENT_WEAK = ("variant", "arm", "group", "control", "retention", "action")
_TREATED_VALUES = ("treat", "contact", "offer", "call", "yes", "true", "1")
_CONTROL_VALUES = ("control", "holdout", "hold-out", "no", "false", "0", "none")


def _treated_value(series: pd.Series) -> str | None:
    """The value of a two-valued contact column that means contacted, if its values say so."""
    values = sorted({label_text(v) for v in series.dropna().unique()})
    if len(values) != 2:
        return None
    control = [v for v in values if v.strip().lower() in _CONTROL_VALUES]
    if len(control) == 1:
        return next(v for v in values if v not in control)
    for word in _TREATED_VALUES:
        hits = [v for v in values if word in v.lower()]
        if len(hits) == 1:
            return hits[0]
    return None


def suggest_campaign_roles(frame: pd.DataFrame) -> dict[str, Any]:
    """Likely column roles of a campaign table, best first, each with the reason.

    A campaign table has an outcome (churned after the campaign), a contact column
    (who was contacted and who was the control group) and an id. The outcome and the
    id are suggested as :func:`suggest_mapping` does; the contact column is a column
    with two to ten values whose name says contact, treatment, campaign, offer or
    group (``contacted``, ``treatment_group``), or whose values say control.

    Returns
    -------
    dict
        ``{"target": [...], "positive": {column: value or None}, "treatment": [...],
        "treated": {column: value or None}, "id_column": [...], "why": {role: {column:
        reason}}}``. ``treated`` is the value that means contacted when the values say so
        (1, yes, true, "treatment" against "control"); ``None`` for a column with more
        than two values, whose contacted value the user must name.
    """

    def text_values(column: str) -> list[str]:
        return [label_text(v).lower() for v in frame[column].dropna().unique()[:11]]

    candidates: dict[str, tuple[int, bool, int]] = {}
    reasons: dict[str, str] = {}
    for position, column in enumerate(frame.columns):
        distinct = frame[column].nunique()
        if not 2 <= distinct <= 10:
            continue
        words = name_words(column)
        strong = any(w.startswith(_TREATMENT_WORDS) for w in words)
        weak = any(w in _TREATMENT_WEAK for w in words)
        says_control = any(v in ("control", "holdout", "hold-out") for v in text_values(column))
        score = 3 * strong + 2 * says_control + weak
        if score:
            candidates[column] = (-score, distinct != 2, position)
            says = [
                *(["the name says contact or treatment"] if strong else []),
                *(["the name says group or variant"] if weak and not strong else []),
                *(["a value says control"] if says_control else []),
            ]
            reasons[column] = f"{distinct} values; " + ", ".join(says)
    treatments = sorted(candidates, key=candidates.get)
    why_treatment = {c: reasons[c] for c in treatments}

    rest = frame.drop(columns=treatments)
    roles = suggest_mapping(rest)
    return {
        "target": roles["target"],
        "positive": roles["positive"],
        "treatment": treatments,
        "treated": {c: _treated_value(frame[c]) for c in treatments},
        "id_column": roles["id_column"],
        "why": {
            "target": roles["why"]["target"],
            "treatment": why_treatment,
            "id_column": roles["why"]["id_column"],
        },
    }
