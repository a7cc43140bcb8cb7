"""The training reference and the Population Stability Index (PSI).

Training (:func:`churn.training.train`) stores a reference of what the model was fitted
on (``reference.json`` in the artifact, :func:`build_reference`): per feature, ten
quantile bins (numbers) or category frequencies (categories, booleans) and the missing
rate, and the distribution of the churn probability on the holdout. Monitoring
(:mod:`churn.monitor`) compares a batch with it bin by bin::

    PSI = sum_b (new_b - ref_b) * ln(new_b / ref_b)

with shares floored at ``EPSILON`` so empty bins stay finite. Missing values are a bin
of their own. Bands: < 0.1 ``stable``, 0.1 to 0.25 ``moderate``, > 0.25 ``significant``.
Both sides bin and count with the functions here, so they always count the same way.
:func:`compare` measures a batch against the reference: the PSI of every feature and of
the score, missing rates, and categories never seen in training (pooled into one bin,
reported by name and share); the overall status is the worst of them.

Categories (and booleans) are judged on a PSI corrected for sampling. Two samples of
the same customers differ by chance, and the PSI of that difference grows with the
number of categories and shrinks with the rows: about (k - 1)(1/n_reference + 1/n_new)
for k categories, so a city column with hundreds of small categories reads 0.1 or more
on a random part of the training table itself (the plain PSI, ``psi_raw``). So:

* categories with fewer than :data:`MIN_BIN_ROWS` training rows are judged pooled in
  one bin, with the pooled "(other)" and the values never seen in training (which rare
  values a sample happens to hold is chance);
* :func:`no_change_psi` draws :data:`N_SIMULATIONS` pairs of samples of the reference's
  and the batch's sizes from their pooled shares: the PSI when nothing changed;
* the PSI reported is the judged one minus the mean of those (never below 0), and a
  category column drifts only when it reaches a band *and* chance gives the judged PSI
  in less than :data:`ALPHA` of the draws (``p_value``).

The false-alarm rate then stays under :data:`ALPHA` per column whatever the number of
categories. Numeric features (ten quantile bins) and the score keep the plain PSI.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from itertools import pairwise
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from churn.errors import ChurnInputError
from churn.features import FeatureSpec
from churn.formatting import short_number

if TYPE_CHECKING:
    from churn.artifact import Artifact

__all__ = [
    "ALPHA",
    "EPSILON",
    "MIN_BIN_ROWS",
    "MISSING",
    "MODERATE",
    "NEW",
    "N_SIMULATIONS",
    "OTHER",
    "REFERENCE_FILE",
    "SIGNIFICANT",
    "STATUSES",
    "Drift",
    "DriftCounts",
    "build_reference",
    "category_shares",
    "check_reference",
    "compare",
    "compare_counts",
    "count_batch",
    "load_reference",
    "no_change_psi",
    "numeric_edges",
    "numeric_labels",
    "numeric_shares",
    "psi",
    "psi_status",
    "reference_files",
    "worst_status",
]

REFERENCE_FILE = "reference.json"
REFERENCE_VERSION = 1
#: PSI bands: below ``MODERATE`` stable, up to ``SIGNIFICANT`` moderate, above significant.
MODERATE = 0.10
SIGNIFICANT = 0.25
STATUSES = ("stable", "moderate", "significant")
#: Floor of a bin's share in the PSI, so an empty bin gives a large but finite term.
EPSILON = 1e-4
N_BINS = 10
#: Categories kept by name in the reference (the rest are pooled as "(other)").
MAX_REFERENCE_CATEGORIES = 200
MISSING = "(missing)"
OTHER = "(other)"
NEW = "(new values)"
#: Simulated pairs of samples behind the no-change PSI of a category column.
N_SIMULATIONS = 400
#: A category column drifts only when chance alone gives its PSI less often than this.
ALPHA = 0.01
#: Categories with fewer training rows than this are judged pooled, in one bin.
MIN_BIN_ROWS = 20


# ------------------------------------------------------------------ binning helpers
def _text_counts(series: pd.Series) -> pd.Series:
    """Counts of each text value (stripped; blank is missing), computed on the unique values.

    Returns counts indexed by value, most frequent first, with missing values under
    :data:`MISSING`. Only the distinct values are converted, so a million rows cost one
    hash pass.
    """
    counts = series.value_counts(dropna=False, sort=False)
    labels = pd.Series(counts.index, dtype="string").str.strip()
    labels = labels.mask(labels == "").fillna(MISSING)
    merged = pd.Series(counts.to_numpy(), index=labels.to_numpy(dtype=object)).groupby(level=0)
    out = merged.sum()
    return out.sort_index(kind="stable").sort_values(ascending=False, kind="stable")


def _boolean_counts(values: np.ndarray) -> pd.Series:
    """Counts of False / True / missing for a 0/1/NaN array."""
    missing = np.isnan(values)
    ones = int(np.count_nonzero(values[~missing] == 1.0))
    n_missing = int(missing.sum())
    return pd.Series(
        {"False": values.size - n_missing - ones, "True": ones, MISSING: n_missing}, dtype=float
    )


def numeric_edges(values: np.ndarray, n_bins: int = N_BINS) -> np.ndarray:
    """Interior edges of ``n_bins`` quantile bins of the finite values (ties merged)."""
    finite = values[np.isfinite(values)]
    if not finite.size:
        return np.empty(0)
    return np.unique(np.quantile(finite, np.linspace(0, 1, n_bins + 1)[1:-1]))


def numeric_shares(values: np.ndarray, edges: np.ndarray) -> tuple[np.ndarray, float]:
    """Share of the non-missing values in each bin ``(-inf, e0], (e0, e1], ..., (e_k, inf)``
    over all rows, and the missing share; the shares and the missing share sum to 1."""
    missing = ~np.isfinite(values)
    index = np.searchsorted(edges, values[~missing], side="left")
    counts = np.bincount(index, minlength=edges.size + 1).astype(float)
    n = max(values.size, 1)
    return counts / n, float(missing.sum()) / n


def numeric_labels(edges: np.ndarray) -> list[str]:
    if not edges.size:
        return ["all values"]
    labels = [f"≤ {short_number(edges[0])}"]
    labels += [f"{short_number(a)} to {short_number(b)}" for a, b in pairwise(edges)]
    return [*labels, f"> {short_number(edges[-1])}"]


def psi(reference: np.ndarray, new: np.ndarray, epsilon: float = EPSILON) -> float:
    """Population Stability Index between two distributions over the same bins.

    Parameters
    ----------
    reference, new : shares per bin (each summing to 1).
    epsilon : floor of a share, so that an empty bin gives a finite term.

    Returns
    -------
    float, >= 0; 0 when the distributions are equal.
    """
    ref = np.maximum(np.asarray(reference, dtype=float), epsilon)
    cur = np.maximum(np.asarray(new, dtype=float), epsilon)
    return float(np.sum((cur - ref) * np.log(cur / ref)))


def no_change_psi(
    reference: np.ndarray,
    new: np.ndarray,
    n_reference: int,
    n_new: int,
    simulations: int = N_SIMULATIONS,
    seed: int = 0,
) -> np.ndarray:
    """The PSI of ``simulations`` pairs of samples that differ by chance alone.

    Each pair is ``n_reference`` and ``n_new`` rows drawn from one distribution over the
    same bins: the two sides' shares pooled (weighted by their rows). Returns one PSI per
    pair (the same floor ``EPSILON`` as :func:`psi`); its mean is the PSI to expect when
    nothing changed, and the share of them at least as large as an observed PSI is how
    often chance gives that much. Seeded, so the same batch always reads the same.
    """
    ref, cur = np.asarray(reference, dtype=float), np.asarray(new, dtype=float)
    n_reference, n_new = max(int(n_reference), 1), max(int(n_new), 1)
    pooled = np.clip(n_reference * ref + n_new * cur, 0.0, None)
    pooled = pooled / pooled.sum()
    rng = np.random.default_rng(seed)
    a = np.maximum(rng.multinomial(n_reference, pooled, size=simulations) / n_reference, EPSILON)
    b = np.maximum(rng.multinomial(n_new, pooled, size=simulations) / n_new, EPSILON)
    return np.sum((b - a) * np.log(b / a), axis=1)


def psi_status(value: float) -> str:
    """``stable`` (< 0.1), ``moderate`` (0.1 to 0.25) or ``significant`` (> 0.25)."""
    if value > SIGNIFICANT:
        return "significant"
    if value >= MODERATE:
        return "moderate"
    return "stable"


def worst_status(statuses: list[str]) -> str:
    return STATUSES[max((STATUSES.index(s) for s in statuses), default=0)]


# ------------------------------------------------------------------------ reference
def category_shares(spec: FeatureSpec, frame: pd.DataFrame, column: str) -> tuple[pd.Series, float]:
    """Share of each value of a boolean or text column (most frequent first) and the
    missing share; the reference and the comparison count the same way."""
    if spec.kinds[column] == "boolean":
        counts = _boolean_counts(spec.column_values(frame, column))
    else:
        counts = _text_counts(frame[column])
    n = max(float(counts.sum()), 1.0)
    missing = float(counts.get(MISSING, 0.0)) / n
    return counts.drop(MISSING, errors="ignore") / n, missing


def _feature_reference(spec: FeatureSpec, frame: pd.DataFrame, column: str) -> dict[str, Any]:
    kind = spec.kinds[column]
    if kind == "numeric":
        values = spec.column_values(frame, column)
        edges = numeric_edges(values)
        shares, missing = numeric_shares(values, edges)
        return {
            "kind": kind,
            "edges": edges.tolist(),
            "shares": shares.tolist(),
            "missing": missing,
        }
    named, missing = category_shares(spec, frame, column)
    kept = named.iloc[:MAX_REFERENCE_CATEGORIES]
    return {
        "kind": kind,
        "categories": [str(c) for c in kept.index],
        "shares": kept.to_numpy(dtype=float).tolist(),
        "other": float(named.iloc[MAX_REFERENCE_CATEGORIES:].sum()),
        "missing": missing,
    }


def build_reference(
    spec: FeatureSpec, fit_rows: pd.DataFrame, holdout_probability: np.ndarray
) -> dict[str, Any]:
    """The training reference a later batch is compared with.

    Parameters
    ----------
    spec : the model's feature spec (which columns, of which kind).
    fit_rows : the feature columns of the rows the model was fitted on (not the holdout).
    holdout_probability : the model's churn probability on the holdout, in [0, 1]. The
        score reference is taken there rather than on the fitted rows, whose in-sample
        scores are more extreme than a new batch's would be.

    Returns
    -------
    dict, JSON-ready: ``features`` (per column: kind, quantile ``edges`` and ``shares`` for
    numbers, ``categories``/``shares``/``other`` otherwise, and the ``missing`` share),
    ``score`` (edges and shares of the probability) and the row counts. The training date
    is not stored here: it is the artifact's ``info.trained_at``, kept outside the
    fingerprint so that retraining the same data gives the same model fingerprint.
    """
    p = np.asarray(holdout_probability, dtype=float)
    score_edges = numeric_edges(p)
    score_shares, _ = numeric_shares(p, score_edges)
    return {
        "reference_version": REFERENCE_VERSION,
        "rows": len(fit_rows),
        "score_rows": int(p.size),
        "features": {c: _feature_reference(spec, fit_rows, c) for c in spec.columns},
        "score": {"edges": score_edges.tolist(), "shares": score_shares.tolist()},
    }


def reference_files(
    spec: FeatureSpec, fit_rows: pd.DataFrame, holdout_probability: np.ndarray
) -> dict[str, str]:
    """``{REFERENCE_FILE: json}`` for :attr:`Artifact.extra_files` (see :func:`build_reference`)."""
    reference = build_reference(spec, fit_rows, holdout_probability)
    return {REFERENCE_FILE: json.dumps(reference, indent=1)}


def check_reference(reference: dict[str, Any], spec: FeatureSpec) -> dict[str, Any]:
    """``reference`` when it is one :func:`build_reference` made for ``spec``'s features;
    ``ValueError`` (or ``KeyError``, ``TypeError``) otherwise (a damaged model file)."""

    def shares(part: dict[str, Any], size: int) -> None:
        values = np.asarray([*part["shares"], part.get("missing", 0.0)], dtype=float)
        if values.shape != (size + 1,) or not ((values >= 0) & (values <= 1)).all():
            raise ValueError("shares that do not fit the bins")

    def edges(part: dict[str, Any]) -> int:
        values = np.asarray(part["edges"], dtype=float)
        if values.ndim != 1 or not np.isfinite(values).all() or (np.diff(values) < 0).any():
            raise ValueError("bin edges that are not increasing numbers")
        return values.size + 1

    int(reference["rows"])
    shares({"shares": reference["score"]["shares"]}, edges(reference["score"]))
    for column in spec.columns:
        part = reference["features"][column]
        if part["kind"] != spec.kinds[column]:
            raise ValueError(f"the reference of {column} is of another kind")
        if part["kind"] == "numeric":
            shares(part, edges(part))
        else:
            if not all(isinstance(c, str) for c in part["categories"]):
                raise ValueError("categories that are not text")
            shares(part, len(part["categories"]))
            float(part["other"])
    return reference


def load_reference(artifact: Artifact) -> dict[str, Any]:
    """The artifact's training reference; a clear error for models trained without one."""
    text = artifact.extra_files.get(REFERENCE_FILE)
    if text is None:
        raise ChurnInputError(
            "This model has no training reference to monitor against (it was trained before "
            "monitoring existed); retrain it with 'python -m churn train'."
        )
    return json.loads(text)


# --------------------------------------------------------------------------- compare


@dataclass
class Drift:
    """How a batch differs from the training reference.

    ``features`` has one row per feature, most drifted first: ``name``, ``kind``, ``psi``
    (for categories and booleans corrected for sampling: the PSI with rare categories
    pooled minus ``psi_chance``, at least 0; see the module docstring), ``status``,
    ``psi_raw`` (the plain PSI over every bin), ``psi_chance`` (the PSI to expect when
    nothing changed; NaN for numbers), ``p_value`` (how often chance alone gives the
    judged PSI or more; NaN for numbers), ``missing_reference``,
    ``missing_new``, ``missing_change`` (shares in [0, 1]; the change is new minus
    reference), ``new_share`` (share of rows with a category never seen in training) and
    ``new_categories`` (list of ``(value, share)``, most frequent first).
    ``distributions`` is the long table behind the charts: ``feature, bin, order,
    reference, new`` (shares per bin, the missing bin included).
    """

    features: pd.DataFrame
    distributions: pd.DataFrame
    score_psi: float
    score_status: str
    status: str
    rows: int


@dataclass
class DriftCounts:
    """What :func:`compare` needs from a batch, as counts that add up over parts of it.

    ``rows`` is the number of customers; ``numeric`` maps a numeric feature to its counts
    per reference bin (an integer array) and its missing count; ``categories`` maps a
    category or boolean feature to its counts per value (missing under :data:`MISSING`);
    ``score`` holds the churn probability's counts per reference bin. Counting a table in
    parts and adding the parts (:meth:`combine`) gives the counts of the whole table, so a
    batch of any size is compared chunk by chunk, or partition by partition on a cluster,
    with exactly the result of comparing it at once.
    """

    rows: int
    numeric: dict[str, tuple[np.ndarray, int]]
    categories: dict[str, pd.Series]
    score: np.ndarray

    @classmethod
    def combine(cls, parts: list[DriftCounts]) -> DriftCounts:
        """The counts of the parts' rows together (``parts`` not empty)."""
        first = parts[0]
        numeric = {
            c: (
                np.sum([p.numeric[c][0] for p in parts], axis=0),
                sum(p.numeric[c][1] for p in parts),
            )
            for c in first.numeric
        }
        categories = {}
        for column, counts in first.categories.items():
            total = counts
            for part in parts[1:]:
                total = total.add(part.categories[column], fill_value=0)
            categories[column] = total
        return cls(
            rows=sum(p.rows for p in parts),
            numeric=numeric,
            categories=categories,
            score=np.sum([p.score for p in parts], axis=0),
        )


def _bin_counts(values: np.ndarray, edges: np.ndarray) -> tuple[np.ndarray, int]:
    """Counts of the finite values in each bin of :func:`numeric_shares`, and the rest."""
    missing = ~np.isfinite(values)
    index = np.searchsorted(edges, values[~missing], side="left")
    return np.bincount(index, minlength=edges.size + 1), int(missing.sum())


def count_batch(
    reference: dict[str, Any], spec: FeatureSpec, frame: pd.DataFrame, p: np.ndarray
) -> DriftCounts:
    """The :class:`DriftCounts` of a batch (its feature columns and churn probabilities)."""
    spec.check_columns(frame)
    numeric, categories = {}, {}
    for column in spec.columns:
        ref = reference["features"][column]
        if ref["kind"] == "numeric":
            edges = np.asarray(ref["edges"], dtype=float)
            numeric[column] = _bin_counts(spec.column_values(frame, column), edges)
        elif spec.kinds[column] == "boolean":
            categories[column] = _boolean_counts(spec.column_values(frame, column))
        else:
            categories[column] = _text_counts(frame[column])
    edges = np.asarray(reference["score"]["edges"], dtype=float)
    score, _ = _bin_counts(np.asarray(p, dtype=float), edges)
    return DriftCounts(len(frame), numeric, categories, score)


def _category_shares(counts: pd.Series, boolean: bool) -> tuple[pd.Series, float]:
    """Shares of each value (most frequent first, booleans as False, True) and missing."""
    if not boolean:  # the order of _text_counts, also after adding parts
        counts = counts.sort_index(kind="stable").sort_values(ascending=False, kind="stable")
    n = max(float(counts.sum()), 1.0)
    missing = float(counts.get(MISSING, 0.0)) / n
    return counts.drop(MISSING, errors="ignore") / n, missing


def _compare_feature(
    spec: FeatureSpec, counts: DriftCounts, column: str, ref: dict[str, Any], n_reference: int
) -> tuple[dict[str, Any], pd.DataFrame]:
    kind = ref["kind"]
    new_categories: list[tuple[str, float]] = []
    if kind == "numeric":
        edges = np.asarray(ref["edges"], dtype=float)
        binned, n_missing = counts.numeric[column]
        n = max(counts.rows, 1)
        shares, missing = binned.astype(float) / n, float(n_missing) / n
        labels = [*numeric_labels(edges), MISSING]
        ref_shares = np.asarray(ref["shares"], dtype=float)
        psi_ref, psi_new = np.r_[ref_shares, ref["missing"]], np.r_[shares, missing]
        shown_ref, shown_new = psi_ref, psi_new
        new_share = 0.0
    else:
        named, missing = _category_shares(counts.categories[column], kind == "boolean")
        known = pd.Index(ref["categories"], dtype=object)
        shares = named.reindex(known, fill_value=0.0).to_numpy(dtype=float)
        unseen = named[~named.index.isin(known)]
        ref_shares = np.asarray(ref["shares"], dtype=float)
        if ref["other"] > 0:  # the reference pooled rare categories: unseen may be among them
            other, unseen = float(unseen.sum()), unseen.iloc[:0]
        else:
            other = 0.0
        new_share = float(unseen.sum())
        # judged on categories with enough training rows; the rarer ones, "(other)" and the
        # new values pooled in one bin
        big = ref_shares * n_reference >= MIN_BIN_ROWS
        judged_ref = np.r_[ref_shares[big], ref_shares[~big].sum() + ref["other"], ref["missing"]]
        judged_new = np.r_[shares[big], shares[~big].sum() + other + new_share, missing]
        new_categories = [(str(k), float(v)) for k, v in unseen.items()]
        psi_ref = np.r_[ref_shares, ref["other"], 0.0, ref["missing"]]
        psi_new = np.r_[shares, other, new_share, missing]
        labels = [*ref["categories"], OTHER]
        shown_ref = np.r_[ref_shares, ref["other"]]
        shown_new = np.r_[shares, other]
        if new_categories:  # each new category by name in the chart, pooled in the PSI
            labels += [f"{name} (new)" for name, _ in new_categories]
            shown_ref = np.r_[shown_ref, np.zeros(len(new_categories))]
            shown_new = np.r_[shown_new, [s for _, s in new_categories]]
        labels = [*labels, MISSING]
        shown_ref, shown_new = np.r_[shown_ref, ref["missing"]], np.r_[shown_new, missing]
        if ref["other"] <= 0:  # no "(other)" bin to show
            keep = np.array([label != OTHER for label in labels])
            labels = [label for label, k in zip(labels, keep, strict=True) if k]
            shown_ref, shown_new = shown_ref[keep], shown_new[keep]
    if shown_ref[-1] == 0 and shown_new[-1] == 0:  # no missing values anywhere: no such bin
        labels, shown_ref, shown_new = labels[:-1], shown_ref[:-1], shown_new[:-1]
    raw = psi(psi_ref, psi_new)
    if kind == "numeric":
        value, chance, p_value, status = raw, np.nan, np.nan, psi_status(raw)
    else:
        judged = psi(judged_ref, judged_new)
        draws = no_change_psi(judged_ref, judged_new, n_reference, counts.rows)
        chance = float(draws.mean())
        p_value = float((1 + np.count_nonzero(draws >= judged)) / (1 + draws.size))
        value = max(judged - chance, 0.0)
        status = psi_status(value) if p_value < ALPHA else "stable"
    row = {
        "name": column,
        "kind": kind,
        "psi": value,
        "status": status,
        "psi_raw": raw,
        "psi_chance": chance,
        "p_value": p_value,
        "missing_reference": float(ref["missing"]),
        "missing_new": float(missing),
        "missing_change": float(missing) - float(ref["missing"]),
        "new_share": new_share,
        "new_categories": new_categories,
    }
    distribution = pd.DataFrame(
        {
            "feature": column,
            "bin": labels,
            "order": np.arange(len(labels)),
            "reference": shown_ref,
            "new": shown_new,
        }
    )
    return row, distribution


def compare(
    reference: dict[str, Any], spec: FeatureSpec, frame: pd.DataFrame, p: np.ndarray
) -> Drift:
    """Compare a batch (its feature columns and churn probabilities) with the reference.

    Parameters
    ----------
    reference : from :func:`build_reference` (or :func:`load_reference`).
    spec : the model's feature spec.
    frame : the batch, one row per customer; extra columns are ignored.
    p : the model's churn probability for each row, in [0, 1].

    The same as :func:`compare_counts` on :func:`count_batch`: one implementation for a
    batch in memory and one counted in parts.
    """
    return compare_counts(reference, spec, count_batch(reference, spec, frame, p))


def compare_counts(reference: dict[str, Any], spec: FeatureSpec, counts: DriftCounts) -> Drift:
    """Compare a batch, given by its :class:`DriftCounts`, with the reference."""
    if counts.rows == 0:
        raise ChurnInputError("The batch has no rows; give a file with customers to monitor.")
    rows, tables = [], []
    for column in spec.columns:
        row, table = _compare_feature(
            spec, counts, column, reference["features"][column], int(reference["rows"])
        )
        rows.append(row)
        tables.append(table)
    features = pd.DataFrame(rows).sort_values("psi", ascending=False, kind="stable")
    features = features.reset_index(drop=True)
    score = reference["score"]
    edges = np.asarray(score["edges"], dtype=float)
    shares = counts.score.astype(float) / max(counts.rows, 1)
    score_psi = psi(score["shares"], shares)
    tables.append(
        pd.DataFrame(
            {
                "feature": "churn_probability",
                "bin": numeric_labels(edges),
                "order": np.arange(edges.size + 1),
                "reference": score["shares"],
                "new": shares,
            }
        )
    )
    score_status = psi_status(score_psi)
    return Drift(
        features=features,
        distributions=pd.concat(tables, ignore_index=True),
        score_psi=score_psi,
        score_status=score_status,
        status=worst_status([score_status, *features["status"]]),
        rows=counts.rows,
    )
