"""SHAP explanations of the churn model and plain-language reasons.

What is explained
-----------------
The model's probability is a beta calibration of the *ensemble margin*, the
mean of the bagged LightGBM members' log-odds (:meth:`ChurnModel.tree_margin`).
:func:`explain` takes the exact path-dependent TreeSHAP values of that margin
(Lundberg et al. 2020, the ones ``shap.TreeExplainer(booster)`` and LightGBM's
``pred_contrib`` return) from :mod:`churn._treeshap`, whose docstring describes
how they are computed and checked: ``base_value + values.sum(axis=1)`` equals
the ensemble margin exactly (up to float rounding).

Probability points
------------------
A PM reads probabilities, not log-odds. With ``p`` the calibrated churn
probability and ``p_base`` the calibrated probability at the base value (the
average margin of the training data, as the trees saw it), the difference
``p - p_base`` is shared among the features in proportion to their margin SHAP
values::

    points_j = values_j * (p - p_base) / (margin - base_value)

so the points of a customer sum exactly to ``p - p_base`` and keep the sign of
the SHAP values whenever the calibration is increasing (both beta parameters
positive, as on the sample's model). When the margin equals the base value,
the ratio is the calibration's slope there. Points are shares of probability
in [-1, 1]; sentences show them as percentage points ("+12 points"). They are
an allocation, not a second SHAP analysis: features are not re-explained on
the probability scale, where effects do not add up.

Within a memory and time budget
-------------------------------
Before anything is built, :func:`churn._treeshap.plan_shap` estimates from the
trees' leaf counts and depths what each engine would cost for the customers
asked about: this package's per-leaf tables (fast on shallow trees, but their
memory grows with 2 to the power of the features on a leaf's path) or
LightGBM's own ``pred_contrib`` (exact TreeSHAP in C++, little memory, slower
per customer), per member, with the customers in chunks. The values are the
same either way (SHAP values are unique). When explaining every customer would
take longer than ``max_seconds`` (:data:`EXPLAIN_SECONDS` by default), a random
sample of as many customers as the estimate says fit is explained instead (the same
table always gives the same sample, whatever else the machine is doing): the explanation says
so (:attr:`Explanation.sampled`, :attr:`Explanation.customers`) and pages say
"explained on a sample of N customers". One customer can always be explained
exactly on demand (:func:`explain_customer`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit

from churn import formatting
from churn._treeshap import ShapPlan, plan_shap, shap_margin_values
from churn.artifact import Artifact
from churn.errors import ChurnInputError
from churn.features import FeatureSpec
from churn.model import ChurnModel, beta_logit

__all__ = [
    "EXPLAIN_SECONDS",
    "MIN_SAMPLE",
    "Explanation",
    "beeswarm_table",
    "dependence_table",
    "describe_value",
    "explain",
    "explain_customer",
    "global_importance",
    "missing_effect",
    "reason_sentences",
    "reasons_table",
    "shap_margin_values",
    "top_reasons",
    "typical_customer",
    "waterfall_table",
    "what_if",
    "what_if_inputs",
]


#: Time budget of :func:`explain` by default, in seconds (estimated before computing):
#: beyond it, a random sample of the customers is explained.
EXPLAIN_SECONDS = 10.0
#: A sample is never smaller than this many customers (or all of them, if fewer).
MIN_SAMPLE = 100


# --------------------------------------------------------------------------- result
@dataclass
class Explanation:
    """SHAP values of a set of customers, on the margin and on the probability scale.

    Attributes
    ----------
    values : ndarray (n, n_features)
        Margin (log-odds) SHAP values of the ensemble; ``base_value + values.sum(1)``
        is the ensemble margin.
    base_value : float
        Expected ensemble margin (log-odds) over the trees' training data.
    points : ndarray (n, n_features)
        The same contributions in probability (share in [-1, 1]); a row sums to
        ``probability - base_probability``.
    base_probability : float
        Calibrated churn probability at ``base_value``, in [0, 1].
    feature_names : list of str
        Feature columns, in the model's order (the columns of ``values``).
    data : DataFrame
        The explained customers' feature values as given (index of the input frame).
    probability : ndarray (n,)
        Calibrated churn probability of each customer, in [0, 1].
    kinds : dict
        ``feature -> "numeric" | "boolean" | "categorical"``.
    categories : dict
        ``feature -> categories seen in training`` (others go down the missing branch).
    customers : int
        Customers asked about (the rows of the input frame); more than ``len(self)``
        when only a random sample of them was explained (:attr:`sampled`).
    rows : ndarray (n,)
        Positions in the input frame of the explained customers (increasing).
    frame_index : Index
        Index of the input frame (every customer asked about).
    engine : str
        What computed the values: ``"tables"``, ``"lightgbm"`` or ``"tables+lightgbm"``.
    """

    values: np.ndarray
    base_value: float
    points: np.ndarray
    base_probability: float
    feature_names: list[str]
    data: pd.DataFrame
    probability: np.ndarray
    kinds: dict[str, str]
    categories: dict[str, list[str]]
    customers: int | None = None
    rows: np.ndarray | None = None
    frame_index: pd.Index | None = None
    engine: str = ""

    def __post_init__(self) -> None:
        n = self.values.shape[0]
        if self.customers is None:
            self.customers = n
        if self.rows is None:
            self.rows = np.arange(n)
        if self.frame_index is None:
            self.frame_index = self.data.index

    def __len__(self) -> int:
        return self.values.shape[0]

    @property
    def sampled(self) -> bool:
        """Whether only a random sample of the customers asked about was explained."""
        return len(self) < int(self.customers or 0)

    def describe_sample(self) -> str:
        """The sample as words for a page: "" when everyone was explained, else e.g.
        "explained on a random sample of 2,000 of the 75,000 customers"."""
        if not self.sampled:
            return ""
        return (
            f"explained on a random sample of {len(self):,} of the {self.customers:,} "
            "customers (explaining everyone would take too long with this model's trees)"
        )


# --------------------------------------------------------------------------- explain
def _model_of(artifact_or_model: Artifact | ChurnModel) -> ChurnModel:
    if isinstance(artifact_or_model, Artifact):
        return artifact_or_model.model
    if isinstance(artifact_or_model, ChurnModel):
        return artifact_or_model
    raise ChurnInputError("Explain needs a trained churn model or model artifact.")


def _calibrated(model: ChurnModel, margin: np.ndarray) -> np.ndarray:
    return expit(beta_logit(model.calibration_, margin))


def _slope(model: ChurnModel, margin: np.ndarray) -> np.ndarray:
    """d p / d margin of the calibrated probability (the limit of the points ratio)."""
    a, b, _ = model.calibration_
    s = expit(margin)
    p = _calibrated(model, margin)
    return p * (1.0 - p) * (a * (1.0 - s) + b * s)


def explain(
    artifact_or_model: Artifact | ChurnModel,
    frame: pd.DataFrame,
    *,
    max_seconds: float | None = EXPLAIN_SECONDS,
    seed: int = 0,
) -> Explanation:
    """SHAP values of the customers (rows) of ``frame``, vectorised over customers.

    ``frame`` needs the model's feature columns; other columns (id, target,
    scores) are ignored. See the module docstring for the method. The engine is
    chosen by its estimated cost before anything is built, and the memory stays
    within :data:`churn._treeshap.MEMORY_BUDGET_MB` beyond the inputs and the
    result. If explaining everyone would take longer than ``max_seconds``, a
    random sample (drawn with ``seed``, at least :data:`MIN_SAMPLE` customers) is
    explained and the result says so (:attr:`Explanation.sampled`); ``max_seconds=None``
    explains everyone.
    """
    model = _model_of(artifact_or_model)
    if not isinstance(frame, pd.DataFrame):
        raise ChurnInputError("Pass the customers as a table (a pandas DataFrame).")
    spec = model.spec_
    spec.check_columns(frame)
    plan = plan_shap(model, len(frame), max_seconds=max_seconds, min_rows=MIN_SAMPLE)
    if not plan.sampled:
        rows = np.arange(len(frame))
        chosen = frame
        values, base, margin = shap_margin_values(model, spec.tree_matrix(frame), plan=plan)
    else:
        rows, values, base, margin = _explain_sample(model, frame, plan, seed)
        chosen = frame.iloc[rows]
    probability = _calibrated(model, margin)
    base_probability = float(_calibrated(model, np.array([base]))[0])
    delta = values.sum(axis=1)  # margin - base, up to rounding
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(
            np.abs(delta) > 1e-9,
            (probability - base_probability) / delta,
            _slope(model, np.full(delta.shape, base)),
        )
    return Explanation(
        values=values,
        base_value=float(base),
        points=values * ratio[:, None],
        base_probability=base_probability,
        feature_names=list(spec.columns),
        data=chosen[spec.columns],
        probability=probability,
        kinds=dict(spec.kinds),
        categories={c: list(v) for c, v in spec.categories.items()},
        customers=len(frame),
        rows=rows,
        frame_index=frame.index,
        engine=plan.engine,
    )


def _explain_sample(
    model: ChurnModel, frame: pd.DataFrame, plan: ShapPlan, seed: int
) -> tuple[np.ndarray, np.ndarray, float, np.ndarray]:
    """A random sample's ``(rows, values, base, margin)``: the ``plan.explained`` customers
    the cost estimate allows within the time budget (at least :data:`MIN_SAMPLE`), drawn
    with ``seed``; rows come back in table order.

    The size comes from the estimate, not the clock, so the same table and model always
    give the same sample, whatever else the machine is doing.
    """
    rows = np.sort(np.random.default_rng(seed).permutation(len(frame))[: plan.explained])
    matrix = model.spec_.tree_matrix(frame.iloc[rows])
    values, base, margin = shap_margin_values(model, matrix, plan=plan)
    return rows, values, base, margin


def explain_customer(
    artifact_or_model: Artifact | ChurnModel, expl: Explanation, frame: pd.DataFrame, row: int
) -> tuple[Explanation, int]:
    """An explanation holding customer ``row`` (a position in ``frame``, the table ``expl``
    explains) and that customer's position in it.

    ``(expl, row)`` when everyone was explained; when ``expl`` is a sample, the
    customer's position in the sample, or, if the sample left them out, their own
    exact explanation (one row, cheap) and 0.
    """
    if not 0 <= row < len(frame):
        raise ChurnInputError(f"There is no customer number {row} in this table.")
    if not expl.sampled and len(expl) == len(frame):
        return expl, int(row)
    at = int(np.searchsorted(expl.rows, row))
    if at < len(expl) and expl.rows[at] == row:
        return expl, at
    return explain(artifact_or_model, frame.iloc[[row]], max_seconds=None), 0


def global_importance(expl: Explanation) -> pd.DataFrame:
    """Mean |SHAP| per feature (log-odds) and in probability points, largest first.

    Columns: ``feature``, ``mean_abs_shap`` (log-odds), ``mean_abs_points``
    (probability, a share in [0, 1]); sorted by ``mean_abs_shap`` descending.
    """
    n_features = len(expl.feature_names)
    table = pd.DataFrame(
        {
            "feature": expl.feature_names,
            "mean_abs_shap": np.abs(expl.values).mean(axis=0)
            if len(expl)
            else np.zeros(n_features),
            "mean_abs_points": (
                np.abs(expl.points).mean(axis=0) if len(expl) else np.zeros(n_features)
            ),
        }
    )
    return table.sort_values("mean_abs_shap", ascending=False, kind="stable").reset_index(drop=True)


# --------------------------------------------------------------------------- sentences
def describe_value(expl: Explanation, feature: str, rows: np.ndarray) -> list[str]:
    """What customers ``rows`` (positions) have for ``feature``, as words.

    ``"contract_type is Month-to-month"``, ``"tenure_months = 3"``,
    ``"paperless_billing is yes"``, ``"satisfaction_score is missing"``; a category
    the model never saw in training says so.
    """
    kind = expl.kinds.get(feature, "numeric")
    series = expl.data[feature].iloc[rows]
    if kind == "categorical":
        text = series.astype("string").str.strip()
        known = set(expl.categories.get(feature, []))
        return [
            f"{feature} is missing"
            if value is pd.NA or value == ""
            else f"{feature} is {value}" + ("" if value in known else " (new to the model)")
            for value in text.tolist()
        ]
    spec = FeatureSpec(columns=[feature], kinds={feature: kind})
    numbers = spec.column_values(series.to_frame(), feature)
    if kind == "boolean":
        words = {1.0: "yes", 0.0: "no"}
        return [f"{feature} is missing" if v != v else f"{feature} is {words[v]}" for v in numbers]
    return [
        f"{feature} is missing" if v != v else f"{feature} = {formatting.number(v)}"
        for v in numbers
    ]


def _reasons(expl: Explanation, order: np.ndarray) -> np.ndarray:
    """Reason sentences for the cells ``(row, order[row, i])``: an object array like ``order``."""
    out = np.empty(order.shape, dtype=object)
    for j, feature in enumerate(expl.feature_names):
        rows, slots = np.nonzero(order == j)
        if rows.size == 0:
            continue
        described = describe_value(expl, feature, rows)
        out[rows, slots] = [
            f"{words}: {formatting.signed_points(p)}"
            for words, p in zip(described, expl.points[rows, j], strict=True)
        ]
    return out


def reason_sentences(expl: Explanation, row: int, k: int = 5) -> list[str]:
    """The ``k`` largest contributions of customer ``row`` (a position) as sentences.

    Sorted by absolute probability points, e.g. ``"contract_type is Month-to-month:
    +12 points"``, ``"tenure_months = 3: +8 points"``, ``"satisfaction_score is
    missing: +2 points"``. Positive points raise the churn probability.
    """
    if not 0 <= row < len(expl):
        raise ChurnInputError(f"There is no customer number {row} in this explanation.")
    order = np.argsort(-np.abs(expl.points[row]), kind="stable")[: max(int(k), 0)]
    cells = np.full((len(expl), order.size), -1)
    cells[row] = order
    return [str(text) for text in _reasons(expl, cells)[row]]


def top_reasons(artifact: Artifact | ChurnModel, frame: pd.DataFrame, k: int = 3) -> pd.DataFrame:
    """The ``k`` largest reasons per customer, by absolute probability points.

    Returns a frame with the index of ``frame`` and columns ``reason_1`` ...
    ``reason_k``: signed sentences such as ``"contract_type is Month-to-month:
    +12 points"`` (positive points raise the churn probability), largest first,
    whether they raise or lower it. Under a second for 5,000 customers on the
    sample's model. Every customer is explained, however long that takes.
    """
    return reasons_table(explain(artifact, frame, max_seconds=None), k)


def reasons_table(expl: Explanation, k: int = 3) -> pd.DataFrame:
    """:func:`top_reasons` from an existing explanation (no SHAP recomputation).

    One row per customer asked about (the index of the explained frame); when the
    explanation is a sample, the customers it left out have empty reasons ("").
    """
    k = max(1, min(int(k), len(expl.feature_names)))
    order = np.argsort(-np.abs(expl.points), axis=1, kind="stable")[:, :k]
    columns = [f"reason_{i + 1}" for i in range(k)]
    if not expl.sampled:
        return pd.DataFrame(
            _reasons(expl, order), index=expl.data.index, columns=columns, dtype="str"
        )
    cells = np.full((int(expl.customers), k), "", dtype=object)
    cells[expl.rows] = _reasons(expl, order)
    return pd.DataFrame(cells, index=expl.frame_index, columns=columns, dtype="str")


# --------------------------------------------------------------------------- what-if
def what_if(
    artifact: Artifact | ChurnModel, row_frame: pd.DataFrame, changes: dict[str, Any]
) -> dict[str, Any]:
    """Probability and interval of one customer before and after changing some values.

    Parameters
    ----------
    row_frame : a one-row frame with the model's feature columns.
    changes : ``{feature: new value}``; a missing value is ``None`` or NaN.

    Returns
    -------
    ``{"before": {...}, "after": {...}, "change": float, "changed": {...}}`` where
    ``before`` and ``after`` hold ``probability``, ``low``, ``high`` (in [0, 1])
    and ``change`` is the after minus before probability.
    """
    model = _model_of(artifact)
    if not isinstance(row_frame, pd.DataFrame) or len(row_frame) != 1:
        raise ChurnInputError("A what-if needs exactly one customer (a one-row table).")
    spec = model.spec_
    spec.check_columns(row_frame)
    unknown = [c for c in changes if c not in spec.columns]
    if unknown:
        raise ChurnInputError(
            f"The model has no feature called {', '.join(map(str, unknown))}; choose one of "
            f"{', '.join(spec.columns)}."
        )
    before_row = row_frame[spec.columns]
    after_row = before_row.copy()
    for column, value in changes.items():
        kind = spec.kinds[column]
        missing = value is None or (isinstance(value, float) and value != value)
        if kind == "numeric" and not missing:
            try:
                value = float(value)
            except (TypeError, ValueError):
                raise ChurnInputError(f"{column} takes a number; '{value}' is not one.") from None
        after_row[column] = pd.Series([None if missing else value], index=after_row.index)
    both = pd.concat([before_row, after_row], ignore_index=True)
    scores = model.predict_frame(both)
    out = {
        name: {
            "probability": float(scores["churn_probability"].iloc[i]),
            "low": float(scores["probability_low"].iloc[i]),
            "high": float(scores["probability_high"].iloc[i]),
        }
        for i, name in enumerate(("before", "after"))
    }
    out["change"] = out["after"]["probability"] - out["before"]["probability"]
    out["changed"] = dict(changes)
    return out


def what_if_inputs(expl: Explanation, row: int, k: int = 4) -> list[dict[str, Any]]:
    """The ``k`` features that move customer ``row`` the most, ready for what-if widgets.

    Each item: ``feature``, ``kind`` ("numeric" | "boolean" | "categorical"),
    ``current`` (the customer's value: a float or None for numbers, "yes"/"no"
    or None for booleans, a string or None for categories), ``options`` (the
    categories the model knows, plus the current one if new; ["yes", "no"] for
    booleans; empty for numbers) and ``points`` (its contribution, a share).
    """
    if not 0 <= row < len(expl):
        raise ChurnInputError(f"There is no customer number {row} in this explanation.")
    order = np.argsort(-np.abs(expl.points[row]), kind="stable")[: max(int(k), 0)]
    items = []
    for j in order:
        feature = expl.feature_names[j]
        kind = expl.kinds.get(feature, "numeric")
        raw = expl.data[feature].iloc[row : row + 1]
        options: list[str] = []
        if kind == "categorical":
            text = raw.astype("string").str.strip().iloc[0]
            current = None if text is pd.NA or text == "" else str(text)
            options = list(expl.categories.get(feature, []))
            if current is not None and current not in options:
                options.append(current)
        else:
            spec = FeatureSpec(columns=[feature], kinds={feature: kind})
            value = float(spec.column_values(raw.to_frame(), feature)[0])
            if kind == "boolean":
                current = None if value != value else ("yes" if value == 1.0 else "no")
                options = ["yes", "no"]
            else:
                current = None if value != value else value
        items.append(
            {
                "feature": feature,
                "kind": kind,
                "current": current,
                "options": options,
                "points": float(expl.points[row, j]),
            }
        )
    return items


# --------------------------------------------------------------------------- chart data
def _value_rank(expl: Explanation, feature: str) -> np.ndarray:
    """Percentile rank in [0, 1] of each customer's value (NaN for categories and missing)."""
    kind = expl.kinds.get(feature, "numeric")
    if kind == "categorical":
        return np.full(len(expl), np.nan)
    spec = FeatureSpec(columns=[feature], kinds={feature: kind})
    values = pd.Series(spec.column_values(expl.data, feature))
    return values.rank(pct=True, method="average").to_numpy(dtype=float, na_value=np.nan)


def _value_text(expl: Explanation, feature: str, rows: np.ndarray) -> list[str]:
    """The value part of :func:`describe_value` ("Month-to-month", "3", "missing")."""
    described = describe_value(expl, feature, rows)
    cut = len(feature) + 1
    return [
        text[cut + 3 :] if text[cut:].startswith("is ") else text[cut + 2 :] for text in described
    ]


def beeswarm_table(
    expl: Explanation, max_points: int = 1500, features: int = 10, seed: int = 0
) -> pd.DataFrame:
    """Long table for a beeswarm of per-customer points, subsampled for the browser.

    The ``features`` most important features (by mean |points|) and a random
    sample of customers so that there are at most about ``max_points`` rows.
    Columns: ``feature``, ``order`` (0 = most important), ``points`` (share),
    ``value`` (as text), ``value_rank`` (percentile rank of the value within the
    feature, in [0, 1]; NaN for categories and missing values), ``jitter``
    (in [-0.5, 0.5], a deterministic vertical offset), ``row`` (position).
    """
    importance = global_importance(expl).sort_values(
        "mean_abs_points", ascending=False, kind="stable"
    )
    chosen = importance["feature"].tolist()[: max(int(features), 1)]
    per_feature = max(1, int(max_points) // len(chosen))
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(len(expl), size=min(per_feature, len(expl)), replace=False))
    parts = []
    for order, feature in enumerate(chosen):
        j = expl.feature_names.index(feature)
        parts.append(
            pd.DataFrame(
                {
                    "feature": feature,
                    "order": order,
                    "points": expl.points[rows, j],
                    "value": _value_text(expl, feature, rows),
                    "value_rank": _value_rank(expl, feature)[rows],
                    "jitter": rng.uniform(-0.5, 0.5, rows.size),
                    "row": rows,
                }
            )
        )
    if not parts or rows.size == 0:
        return pd.DataFrame(
            columns=["feature", "order", "points", "value", "value_rank", "jitter", "row"]
        )
    return pd.concat(parts, ignore_index=True)


def missing_effect(expl: Explanation, feature: str) -> dict[str, float]:
    """Customers with no value for ``feature`` and its average effect on them, over all rows.

    Returns ``{"customers": count, "mean_points": average points (share of probability,
    NaN when no customer lacks a value)}``.
    """
    j = expl.feature_names.index(feature)
    missing = expl.data[feature].isna().to_numpy()
    count = int(missing.sum())
    mean = float(expl.points[missing, j].mean()) if count else float("nan")
    return {"customers": count, "mean_points": mean}


def dependence_table(
    expl: Explanation, feature: str, max_points: int = 1500, seed: int = 0
) -> pd.DataFrame:
    """A feature's value against its points, per customer (a random sample of ``max_points``).

    Columns: ``number`` (the value for numbers and booleans, NaN for categories
    and missing), ``category`` (the value as text: the category, "yes"/"no",
    "missing" or the formatted number), ``points`` (share), ``missing`` (bool),
    ``row`` (position).
    """
    if feature not in expl.feature_names:
        raise ChurnInputError(
            f"The model has no feature called {feature}; choose one of "
            f"{', '.join(expl.feature_names)}."
        )
    j = expl.feature_names.index(feature)
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(len(expl), size=min(int(max_points), len(expl)), replace=False))
    kind = expl.kinds.get(feature, "numeric")
    text = _value_text(expl, feature, rows)
    if kind == "categorical":
        number = np.full(rows.size, np.nan)
    else:
        spec = FeatureSpec(columns=[feature], kinds={feature: kind})
        number = spec.column_values(expl.data.iloc[rows], feature)
    missing = np.asarray([t == "missing" for t in text], dtype=bool)
    return pd.DataFrame(
        {
            "number": number,
            "category": text,
            "points": expl.points[rows, j],
            "missing": missing,
            "row": rows,
        }
    )


def waterfall_table(expl: Explanation, row: int, k: int = 8) -> pd.DataFrame:
    """Steps from the base probability to customer ``row``'s probability.

    Rows in display order: "Typical customer" (the base probability), the ``k``
    largest contributions (by |points|), one row for all other features, and
    "This customer". Columns: ``step`` (label), ``order``, ``start``, ``end``
    (probabilities in [0, 1]), ``points`` (end - start, a share), ``kind``
    ("base" | "up" | "down" | "total"), ``text`` (signed points as words).
    """
    if not 0 <= row < len(expl):
        raise ChurnInputError(f"There is no customer number {row} in this explanation.")
    points = expl.points[row]
    order = np.argsort(-np.abs(points), kind="stable")
    top = order[: max(int(k), 0)]
    rest = order[len(top) :]
    labels = [describe_value(expl, expl.feature_names[j], np.array([row]))[0] for j in top]
    amounts = [float(points[j]) for j in top]
    if rest.size:
        labels.append(f"{rest.size} other features")
        amounts.append(float(points[rest].sum()))
    start = expl.base_probability
    rows = [
        {
            "step": "Typical customer",
            "start": 0.0,
            "end": start,
            "points": start,
            "kind": "base",
            "text": f"{start:.1%}",
        }
    ]
    for label, amount in zip(labels, amounts, strict=True):
        rows.append(
            {
                "step": label,
                "start": start,
                "end": start + amount,
                "points": amount,
                "kind": "up" if amount >= 0 else "down",
                "text": formatting.signed_points(amount),
            }
        )
        start += amount
    final = float(expl.probability[row])
    rows.append(
        {
            "step": "This customer",
            "start": 0.0,
            "end": final,
            "points": final,
            "kind": "total",
            "text": f"{final:.1%}",
        }
    )
    table = pd.DataFrame(rows)
    table.insert(1, "order", np.arange(len(table)))
    return table


def typical_customer(expl: Explanation) -> dict[str, float]:
    """The probability the explanations start from and the customers' average probability.

    ``typical`` (``base_probability``) is the calibrated probability at the model's average
    log-odds; ``average`` is the mean of the explained customers' probabilities. Averaging
    on the log-odds scale gives less weight to the few customers who are very likely to
    leave, so ``typical`` is usually below ``average`` (and the churn rate).
    """
    probability = np.asarray(expl.probability, dtype=float)
    return {
        "typical": float(expl.base_probability),
        "average": float(probability.mean()) if probability.size else float("nan"),
    }
