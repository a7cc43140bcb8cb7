"""Preprocessing shared by training and scoring.

A :class:`FeatureSpec` is learned once from the training frame and stored in
the model artifact as JSON. It turns any frame with the same columns into

* a *tree matrix* for LightGBM: numbers as floats, booleans as 0/1, categories
  as integer codes (missing and categories never seen in training become NaN,
  which LightGBM routes as missing), and
* a *linear design* for the logistic baseline and the readable rule: missing
  numbers filled with the training median plus a missing flag, numbers
  standardised, categories one-hot encoded (unseen categories are all zeros).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from churn.errors import ChurnInputError

__all__ = ["MAX_MAGNITUDE", "FeatureSpec", "out_of_range"]

_TRUE = {"true", "yes", "y", "t"}
_FALSE = {"false", "no", "n", "f"}
MAX_CATEGORIES = 100
#: Numbers this large in magnitude, or infinite, are no measurement of a customer, and
#: sums and squares of them overflow: they count as missing (the data checks and the
#: scoring note count them). Far above any amount, count or timestamp.
MAX_MAGNITUDE = 1e100


def out_of_range(values: np.ndarray) -> np.ndarray:
    """Where ``values`` (floats) are infinite or at least :data:`MAX_MAGNITUDE` in magnitude."""
    return np.abs(values) >= MAX_MAGNITUDE  # (NaN compares False)


def _as_text(series: pd.Series) -> pd.Series:
    """Strings with missing values kept missing (blank strings count as missing).

    Whole numbers read as floats (a column of codes with a blank cell, read back from a
    CSV) are written as whole numbers, ``408.0`` as ``"408"``, so they match the text
    categories learned in training."""
    if pd.api.types.is_float_dtype(series):
        whole = series.where((np.mod(series, 1) == 0) & (series.abs() < 2**53))
        text = whole.astype("Int64").astype("string").where(whole.notna(), series.astype("string"))
        return text.mask(series.isna())
    text = series.astype("string").str.strip()
    return text.mask(text == "")


def _is_boolean(series: pd.Series) -> bool:
    if pd.api.types.is_bool_dtype(series):
        return True
    if pd.api.types.is_numeric_dtype(series):
        return False
    values = set(_as_text(series).dropna().str.lower().unique())
    return bool(values) and values <= (_TRUE | _FALSE) and len(values) <= 2


def _to_boolean(series: pd.Series) -> np.ndarray:
    if pd.api.types.is_bool_dtype(series):
        return series.to_numpy(dtype=float, na_value=np.nan)
    if pd.api.types.is_numeric_dtype(series):
        values = series.to_numpy(dtype=float, na_value=np.nan)
        return np.where(np.isin(values, [0.0, 1.0]), values, np.nan)
    text = _as_text(series).str.lower()
    out = np.full(len(series), np.nan)
    out[text.isin(_TRUE).to_numpy(dtype=bool, na_value=False)] = 1.0
    out[text.isin(_FALSE).to_numpy(dtype=bool, na_value=False)] = 0.0
    return out


def _to_numeric(series: pd.Series) -> np.ndarray:
    if pd.api.types.is_bool_dtype(series):
        return series.to_numpy(dtype=float, na_value=np.nan)
    values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    return np.where(out_of_range(values), np.nan, values)


@dataclass
class FeatureSpec:
    """What each feature column is and how to encode it.

    Attributes
    ----------
    columns : list of str
        Feature columns in the order the model uses them.
    kinds : dict
        ``column -> "numeric" | "boolean" | "categorical"``.
    categories : dict
        ``column -> list of category values`` (most frequent first) for categorical columns.
    medians, means, scales : dict
        Training statistics for the linear design (numeric and boolean columns).
    """

    columns: list[str]
    kinds: dict[str, str]
    categories: dict[str, list[str]] = field(default_factory=dict)
    medians: dict[str, float] = field(default_factory=dict)
    means: dict[str, float] = field(default_factory=dict)
    scales: dict[str, float] = field(default_factory=dict)

    # ------------------------------------------------------------------ learn
    @classmethod
    def learn(cls, frame: pd.DataFrame) -> FeatureSpec:
        """Learn kinds, categories and statistics from a training frame of features only."""
        if frame.shape[1] == 0:
            raise ChurnInputError(
                "The table has no feature columns besides the target and id; add the customer "
                "attributes the model should learn from."
            )
        kinds: dict[str, str] = {}
        categories: dict[str, list[str]] = {}
        medians: dict[str, float] = {}
        means: dict[str, float] = {}
        scales: dict[str, float] = {}
        for column in frame.columns:
            series = frame[column]
            if _is_boolean(series):
                kinds[column] = "boolean"
                values = _to_boolean(series)
            elif pd.api.types.is_numeric_dtype(series):
                kinds[column] = "numeric"
                values = _to_numeric(series)
            else:
                kinds[column] = "categorical"
                counts = _as_text(series).value_counts(dropna=True)
                counts = counts.sort_index(kind="stable").sort_values(
                    ascending=False, kind="stable"
                )
                categories[column] = [str(v) for v in counts.index[:MAX_CATEGORIES]]
                continue
            finite = values[~np.isnan(values)]
            median = float(np.median(finite)) if finite.size else 0.0
            filled = np.where(np.isnan(values), median, values)
            medians[column] = median
            means[column] = float(filled.mean())
            scales[column] = float(filled.std()) or 1.0
        return cls(
            columns=[str(c) for c in frame.columns],
            kinds=kinds,
            categories=categories,
            medians=medians,
            means=means,
            scales=scales,
        )

    # ---------------------------------------------------------------- persist
    def to_dict(self) -> dict[str, Any]:
        return {
            "columns": self.columns,
            "kinds": self.kinds,
            "categories": self.categories,
            "medians": self.medians,
            "means": self.means,
            "scales": self.scales,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureSpec:
        """The spec :meth:`to_dict` wrote; ``ValueError`` (or ``TypeError``) when ``data`` is
        not one (a damaged model file)."""
        spec = cls(**data)
        columns, kinds = spec.columns, spec.kinds
        numbers = [c for c in columns if kinds.get(c) != "categorical"]
        if not (
            isinstance(columns, list)
            and all(isinstance(c, str) for c in columns)
            and len(set(columns)) == len(columns)
            and isinstance(kinds, dict)
            and set(kinds) == set(columns)
            and all(k in ("numeric", "boolean", "categorical") for k in kinds.values())
            and all(
                isinstance(spec.categories.get(c), list)
                and all(isinstance(v, str) for v in spec.categories[c])
                for c in columns
                if kinds[c] == "categorical"
            )
            and all(
                np.isfinite(np.asarray([stats[c] for c in numbers], dtype=float)).all()
                for stats in (spec.medians, spec.means, spec.scales)
            )
        ):
            raise ValueError("not a feature spec")
        return spec

    # ------------------------------------------------------------------ check
    def check_columns(self, frame: pd.DataFrame) -> None:
        """Raise :class:`ChurnInputError` naming the feature columns ``frame`` lacks."""
        missing = [c for c in self.columns if c not in frame.columns]
        if missing:
            shown = ", ".join(missing[:10]) + (" ..." if len(missing) > 10 else "")
            raise ChurnInputError(
                f"The data is missing {len(missing)} column(s) the model was trained on: "
                f"{shown}; add them (empty values are allowed) and score again."
            )

    @property
    def categorical_indices(self) -> list[int]:
        return [i for i, c in enumerate(self.columns) if self.kinds[c] == "categorical"]

    # ----------------------------------------------------------------- encode
    def column_values(self, frame: pd.DataFrame, column: str) -> np.ndarray:
        """One column as floats (categories as codes, NaN when missing or unseen)."""
        kind = self.kinds[column]
        series = frame[column]
        if kind == "numeric":
            return _to_numeric(series)
        if kind == "boolean":
            return _to_boolean(series)
        codes = pd.Index(self.categories[column], dtype="string").get_indexer(_as_text(series))
        return np.where(codes < 0, np.nan, codes).astype(float)

    def tree_matrix(self, frame: pd.DataFrame) -> np.ndarray:
        """Matrix for the tree model, shape (n_rows, n_features), float64."""
        self.check_columns(frame)
        out = np.empty((len(frame), len(self.columns)), dtype=float)
        for j, column in enumerate(self.columns):
            out[:, j] = self.column_values(frame, column)
        return out

    def linear_names(self) -> list[str]:
        """Readable names of the linear design's columns."""
        names: list[str] = []
        for column in self.columns:
            if self.kinds[column] == "categorical":
                names += [f"{column} = {value}" for value in self.categories[column]]
            else:
                names += [column, f"{column} is missing"]
        return names

    def linear_matrix(self, frame: pd.DataFrame, standardise: bool = True) -> np.ndarray:
        """Design for the linear baseline and the rule: imputed, flagged, one-hot."""
        tree = self.tree_matrix(frame)
        blocks: list[np.ndarray] = []
        for j, column in enumerate(self.columns):
            values = tree[:, j]
            if self.kinds[column] == "categorical":
                n_levels = len(self.categories[column])
                onehot = np.zeros((len(values), n_levels))
                seen = ~np.isnan(values)
                onehot[np.flatnonzero(seen), values[seen].astype(int)] = 1.0
                blocks.append(onehot)
            else:
                missing = np.isnan(values)
                filled = np.where(missing, self.medians[column], values)
                if standardise:
                    filled = (filled - self.means[column]) / self.scales[column]
                blocks.append(np.column_stack([filled, missing.astype(float)]))
        if not blocks:
            return np.empty((len(frame), 0))
        return np.hstack(blocks)
