"""Monitoring: is the model still working on a new batch of customers?

Three questions, each answered from the model artifact and the batch alone:

* **Drift.** The batch against the training reference stored in the artifact, by the
  Population Stability Index of every feature and of the churn score (the reference,
  the binning, the PSI and the comparison are in :mod:`churn.drift`). The overall status
  is the worst of the score's and every feature's status.
* **Performance without labels** (confidence-based performance estimation, as NannyML's
  CBPE): with calibrated probabilities, a contacted customer with probability ``p`` is a
  churner with probability ``p``, so the expected true positives of a policy are the sum
  of ``p`` over the contacted customers, the expected churners the sum over everyone,
  and the expected profit prices ``p`` with the policy's economics
  (:func:`churn.targeting.outlook`, the same figures the Decide page shows for the
  current base). With labels, the realised figures and a calibration table by
  probability decile sit next to them.
* **Staleness.** The model's age and the review date (the policy's ``review_by``, or 90
  days after training without a policy).

A batch of any size is monitored in parts (chunks of a file, partitions on a cluster):
:func:`count_batch` counts each part (:class:`BatchCounts`: counts per bin and category,
and the per-customer probability, value and outcome), :meth:`BatchCounts.combine` adds them
up in order and :func:`report_from_counts` writes the report, which is exactly the report of
the whole batch at once; :func:`monitor` is the same path for a batch in memory.

Rows with no value in any of the model's columns (the rows
:func:`churn.training.score_frame` leaves unscored) say nothing about the customers: they
are left out of the drift and of every estimate, and the report counts them
(``rows_left_out``, with a warning). A batch where no row can be scored is refused with a
sentence rather than estimated on nothing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from churn import targeting
from churn.artifact import Artifact
from churn.drift import (
    MODERATE,
    Drift,
    DriftCounts,
    compare_counts,
    load_reference,
)
from churn.drift import count_batch as drift_counts
from churn.economics import Economics
from churn.errors import ChurnInputError
from churn.formatting import json_ready, short_number
from churn.metrics import wilson
from churn.policy import REVIEW_AFTER_DAYS
from churn.targeting import PolicyRule
from churn.training import no_model_values

if TYPE_CHECKING:
    from churn.model import ChurnModel

__all__ = [
    "BatchCounts",
    "LabelCounts",
    "MonitorReport",
    "banner_messages",
    "batch_labels",
    "calibration_deciles",
    "churn_probability",
    "count_batch",
    "count_labels",
    "headline",
    "monitor",
    "report_from_counts",
    "staleness",
]

# ----------------------------------------------------------------------- performance
#: The policy figures the report carries, estimated and realised (see :func:`targeting.outlook`).
PERFORMANCE_KEYS = (
    "customers",
    "share_targeted",
    "precision",
    "recall",
    "churn_rate",
    "profit_per_customer",
)


def calibration_deciles(y: np.ndarray, p: np.ndarray, n_bins: int = 10) -> pd.DataFrame:
    """Predicted against observed churn rate in ``n_bins`` equal-count groups of probability.

    Returns one row per group, lowest probabilities first: ``decile`` (1..n_bins), ``n``,
    ``p_low``/``p_high`` (range of probabilities), ``mean_predicted``, ``observed_rate`` and
    ``observed_low``/``observed_high`` (Wilson 95% interval), all in [0, 1]; plus
    ``model_label`` so that :func:`churn.charts.reliability_chart` can draw it.
    Customers without a label (NaN in ``y``) are left out.
    """
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    known = ~np.isnan(y)
    y, p = y[known], p[known]
    if y.size < n_bins:
        raise ChurnInputError(
            f"Only {y.size} customers have a label; at least {n_bins} are needed for a "
            "calibration check."
        )
    order = np.argsort(p, kind="stable")
    group = np.empty(p.size, dtype=np.int64)
    group[order] = np.arange(p.size) * n_bins // p.size
    n = np.bincount(group, minlength=n_bins).astype(float)
    sum_p = np.bincount(group, weights=p, minlength=n_bins)
    sum_y = np.bincount(group, weights=y, minlength=n_bins)
    p_low = np.full(n_bins, np.inf)
    p_high = np.full(n_bins, -np.inf)
    np.minimum.at(p_low, group, p)
    np.maximum.at(p_high, group, p)
    low, high = wilson(sum_y, n)
    return pd.DataFrame(
        {
            "decile": np.arange(1, n_bins + 1),
            "n": n.astype(np.int64),
            "p_low": p_low,
            "p_high": p_high,
            "mean_predicted": sum_p / n,
            "observed_rate": sum_y / n,
            "observed_low": low,
            "observed_high": high,
            "model_label": "Churn model",
        }
    )


@dataclass
class LabelCounts:
    """A batch's outcomes in a form that adds up over parts of it (see :func:`batch_labels`).

    ``y`` is 1 (churned), 0 or NaN per row, or ``None`` when the batch has no target column;
    ``present`` whether any row has a label; ``others`` the distinct labels other than the
    churned one (at most three kept: two or more is an error) and ``shown`` the ten
    smallest distinct labels (as ``(sort key, text)``), for the error's sentence.
    """

    y: np.ndarray | None
    present: bool = False
    others: frozenset = frozenset()
    shown: tuple = ()

    @classmethod
    def combine(cls, parts: list[LabelCounts], rows: list[int]) -> LabelCounts:
        """The outcomes of the parts' rows together, in order (``rows``: each part's rows,
        for a part without the target column)."""
        if all(part.y is None for part in parts):
            return cls(None)
        y = np.concatenate(
            [np.full(n, np.nan) if p.y is None else p.y for p, n in zip(parts, rows, strict=True)]
        )
        others = frozenset().union(*(p.others for p in parts))
        shown = tuple(sorted(set().union(*(p.shown for p in parts)))[:10])
        return cls(y, any(p.present for p in parts), frozenset(sorted(others)[:3]), shown)

    def labels(self, target: str, positive_label: str) -> np.ndarray | None:
        """What :func:`batch_labels` returns for these rows (raises as it does)."""
        if self.y is None or not self.present:
            return None
        if len(self.others) > 1:
            shown = [text for _, text in self.shown]
            raise ChurnInputError(
                f"The batch's '{target}' column has the values {', '.join(shown)}; it "
                f"should hold only '{positive_label}' (churned) and one other value, or be "
                "left out."
            )
        return self.y


def count_labels(frame: pd.DataFrame, target: str, positive_label: str) -> LabelCounts:
    """The :class:`LabelCounts` of ``frame`` (``y`` all NaN when the target is absent
    but other parts may have it: see :meth:`LabelCounts.combine`)."""
    if target not in frame.columns:
        return LabelCounts(None)
    series = frame[target]
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        values = series.to_numpy(dtype=float, na_value=np.nan)
        try:
            positive = float(positive_label)
        except ValueError:
            positive = math.nan
        is_positive = values == positive
        distinct = np.unique(values[~np.isnan(values)])
        others = np.unique(values[~np.isnan(values) & ~is_positive])[:3]
        shown = [(v, short_number(v)) for v in distinct[:10]]
    else:
        text = series.astype("string").str.strip().str.lower()
        text = text.mask(text == "")
        values = np.where(text.isna().to_numpy(), np.nan, 0.0)
        is_positive = (text == positive_label.lower()).to_numpy(dtype=bool, na_value=False)
        others = sorted(text[~is_positive].dropna().unique())[:3]
        shown = [(v, v) for v in sorted(text.dropna().unique())[:10]]
    y = np.where(np.isnan(values), np.nan, is_positive.astype(float))
    present = bool(series.notna().any())
    return LabelCounts(y, present, frozenset(others), tuple(shown))


def batch_labels(frame: pd.DataFrame, target: str, positive_label: str) -> np.ndarray | None:
    """The batch's outcomes as 1 (churned), 0 or NaN (no label), or ``None`` without a target.

    ``positive_label`` is the value meaning churned (the artifact's ``info``). A label that
    is neither it nor one other value is refused.
    """
    return count_labels(frame, target, positive_label).labels(target, positive_label)


# -------------------------------------------------------------------------- staleness
def staleness(
    trained_at: str, review_by: str | None = None, today: date | None = None
) -> dict[str, Any]:
    """The model's age and whether its review date has passed.

    Parameters
    ----------
    trained_at : ISO date-time of training (``artifact.info.trained_at``).
    review_by : ISO date from the policy (``policy["review_by"]``); without one, the
        model is due :data:`REVIEW_AFTER_DAYS` days after training.
    today : the date to measure at (default: today, UTC).

    Returns
    -------
    ``trained_at``, ``age_days``, ``review_by`` (ISO date), ``days_to_review`` (negative
    when past) and ``overdue`` (bool).
    """
    try:
        trained = datetime.fromisoformat(trained_at)
        due = (
            date.fromisoformat(review_by)
            if review_by
            else (trained + timedelta(days=REVIEW_AFTER_DAYS)).date()
        )
    except (TypeError, ValueError):
        raise ChurnInputError(
            "The training or review date is not a valid date; retrain the model or export the "
            "policy again."
        ) from None
    today = today or datetime.now(UTC).date()
    return {
        "trained_at": trained_at,
        "age_days": (today - trained.date()).days,
        "review_by": due.isoformat(),
        "days_to_review": (due - today).days,
        "overdue": today > due,
    }


# ----------------------------------------------------------------------------- report
@dataclass
class MonitorReport:
    """Everything :func:`monitor` finds about one batch (see the module docstring)."""

    drift: Drift
    performance: dict[str, dict[str, float] | None]
    calibration: pd.DataFrame | None
    staleness: dict[str, Any]
    model_fingerprint: str
    reference_rows: int
    rules: list[PolicyRule] = field(default_factory=list)
    #: Rows of the batch left out of the figures: no value in any model column (or no
    #: probability); ``drift.rows`` counts the others.
    rows_left_out: int = 0

    @property
    def status(self) -> str:
        """Overall drift status: the worst of the score's and every feature's."""
        return self.drift.status

    def feature_table(self) -> pd.DataFrame:
        """Features most drifted first, with readable new categories (for tables)."""
        table = self.drift.features.copy()
        table["new_categories"] = [
            ", ".join(f"{name} ({share:.1%})" for name, share in cats)
            for cats in table["new_categories"]
        ]
        return table

    def performance_table(self) -> pd.DataFrame:
        """Estimated (and realised, with labels) figures side by side, one row per metric."""
        labels = {
            "share_targeted": "Share contacted",
            "precision": "Precision",
            "recall": "Recall",
            "churn_rate": "Churn rate",
            "profit_per_customer": "Profit per customer",
        }
        estimated = self.performance["estimated"] or {}
        realised = self.performance["realised"]
        table = pd.DataFrame(
            {
                "metric": list(labels),
                "label": list(labels.values()),
                "estimated": [estimated[k] for k in labels],
            }
        )
        if realised is not None:
            table["realised"] = [realised[k] for k in labels]
            table["gap"] = table["realised"] - table["estimated"]
        return table

    def to_dict(self) -> dict[str, Any]:
        """The JSON report: ``status``, ``score_psi``, ``rows`` (compared and estimated) and
        ``rows_left_out`` (no value in any model column), ``features`` [{name, psi, status,
        ...}], ``performance``, ``calibration``, ``staleness``, the ``policy_rules`` evaluated
        and the ``messages`` (banner warnings)."""
        features = [
            {
                "name": r["name"],
                "kind": r["kind"],
                "psi": r["psi"],
                "status": r["status"],
                "missing_rate_reference": r["missing_reference"],
                "missing_rate_new": r["missing_new"],
                "missing_rate_change": r["missing_change"],
                "new_categories": [{"value": v, "share": s} for v, s in r["new_categories"]],
            }
            for r in self.drift.features.to_dict("records")
        ]
        calibration = (
            None
            if self.calibration is None
            else self.calibration.drop(columns="model_label").to_dict("records")
        )
        return json_ready(
            {
                "status": self.status,
                "status_rule": "worst of the score's and every feature's PSI status",
                "score_psi": self.drift.score_psi,
                "score_status": self.drift.score_status,
                "rows": self.drift.rows,
                "rows_left_out": self.rows_left_out,
                "reference_rows": self.reference_rows,
                "model_fingerprint": self.model_fingerprint,
                "features": features,
                "performance": self.performance,
                "calibration": calibration,
                "staleness": self.staleness,
                "policy_rules": [rule.to_dict() for rule in self.rules],
                "messages": banner_messages(self),
            }
        )


#: Rows scored at a time by :func:`churn_probability` (bounded memory for large batches).
SCORE_CHUNK_ROWS = 250_000


def churn_probability(model: ChurnModel, frame: pd.DataFrame) -> np.ndarray:
    """The model's calibrated churn probability alone, in [0, 1], one per row.

    The same numbers as ``model.predict_proba(frame)[:, 1]``, without the per-customer
    interval, which monitoring does not need (about a quarter of the scoring time).
    """
    from scipy.special import expit

    from churn.model import beta_logit

    parts = [
        expit(
            beta_logit(model.calibration_, model.tree_margin(frame.iloc[i : i + SCORE_CHUNK_ROWS]))
        )
        for i in range(0, len(frame), SCORE_CHUNK_ROWS)
    ]
    return np.concatenate(parts) if parts else np.empty(0)


@dataclass
class BatchCounts:
    """What :func:`monitor` needs from a batch, in parts that add up (:meth:`combine`).

    Counted per chunk of a file, or per partition on a cluster, and combined, they give
    exactly the report of the whole batch at once: the drift's counts per bin and
    category are integers, and the per-customer figures the estimates need (the churn
    probability, the value, the outcome and, for a policy with a capacity, the id that
    breaks ties in its ranking) are kept in row order, 8 bytes a customer each (the
    calibration deciles and the capacity's ranking need every customer at once).
    ``rows_left_out`` counts the rows with no value in any model column (or no
    probability), which are left out of everything else.
    """

    drift: DriftCounts
    p: np.ndarray
    value: np.ndarray | None
    labels: LabelCounts
    ids: pd.Series | None
    rows_left_out: int

    @property
    def rows(self) -> int:
        """Rows of the batch, those left out included."""
        return self.drift.rows + self.rows_left_out

    @classmethod
    def combine(cls, parts: Sequence[BatchCounts]) -> BatchCounts:
        """The counts of the parts' rows together, in the parts' order (not empty)."""
        parts = list(parts)
        if len(parts) == 1:
            return parts[0]
        ids = [p.ids for p in parts if p.ids is not None]
        return cls(
            drift=DriftCounts.combine([p.drift for p in parts]),
            p=np.concatenate([p.p for p in parts]),
            value=None
            if any(p.value is None for p in parts)
            else np.concatenate([p.value for p in parts]),
            labels=LabelCounts.combine([p.labels for p in parts], [p.drift.rows for p in parts]),
            ids=pd.concat(ids, ignore_index=True) if len(ids) == len(parts) else None,
            rows_left_out=sum(p.rows_left_out for p in parts),
        )


def count_batch(
    artifact: Artifact,
    frame: pd.DataFrame,
    economics: Economics,
    *,
    p: np.ndarray | None = None,
    with_ids: bool = False,
    reference: dict[str, Any] | None = None,
) -> BatchCounts:
    """The :class:`BatchCounts` of ``frame`` (all of a batch, or a part of it).

    ``p`` as in :func:`monitor`; ``with_ids`` keeps the ids (a policy with a capacity ranks
    by them); ``reference`` the artifact's training reference, when already loaded.
    """
    reference = load_reference(artifact) if reference is None else reference
    spec = artifact.spec
    spec.check_columns(frame)
    frame = artifact.preparation.apply(frame)[0]  # text numbers and dates, as in training
    left_out = no_model_values(frame[spec.columns])
    if p is not None:
        p = np.asarray(p, dtype=float)
        if p.shape != (len(frame),):
            raise ChurnInputError("There must be one churn probability per customer of the batch.")
        left_out |= np.isnan(p)
    if left_out.any():
        frame = frame[~left_out].reset_index(drop=True)
        p = None if p is None else p[~left_out]
    if p is None:
        p = churn_probability(artifact.model, frame)
    value = None
    column = economics.value_column
    if column is not None and column in frame.columns:
        value = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    id_column = artifact.id_column
    ids = None
    if with_ids and id_column and id_column in frame.columns:
        ids = frame[id_column].reset_index(drop=True)
    return BatchCounts(
        drift=drift_counts(reference, spec, frame, p),
        p=p,
        value=value,
        labels=count_labels(frame, artifact.target, artifact.info.positive_label),
        ids=ids,
        rows_left_out=int(left_out.sum()),
    )


def monitor(
    artifact: Artifact,
    frame: pd.DataFrame,
    rules: Sequence[PolicyRule],
    economics: Economics,
    *,
    p: np.ndarray | None = None,
    review_by: str | None = None,
    today: date | None = None,
    capacity: targeting.Capacity | None = None,
) -> MonitorReport:
    """Compare a batch with the model's training reference and estimate the policy's results.

    Parameters
    ----------
    artifact : the trained model (with its ``reference.json``).
    frame : the batch, one row per customer; the target column, if present, gives the
        realised figures and the calibration check. Rows with no value in any of the
        model's columns are left out of every figure and counted (``rows_left_out``).
    rules, economics : the policy to evaluate (``Decision.rules`` or a policy file's).
    p : the batch's churn probabilities when already scored (else they are computed); a
        row without one (NaN) is left out too.
    review_by : the policy's review date (ISO), if any.
    today : the date to measure the model's age at (default today).
    capacity : the policy's capacity (a policy file's, or ``Decision.capacity``), applied
        as scoring applies it.

    The report is :func:`report_from_counts` of :func:`count_batch`: a batch read in
    chunks (:mod:`churn.stream`) or on a cluster gives exactly this report.

    Raises
    ------
    ChurnInputError
        A model column missing from the batch, or no row of the batch that can be scored.
    """
    counts = count_batch(artifact, frame, economics, p=p, with_ids=capacity is not None)
    return report_from_counts(
        artifact, counts, rules, economics, review_by=review_by, today=today, capacity=capacity
    )


def report_from_counts(
    artifact: Artifact,
    counts: BatchCounts,
    rules: Sequence[PolicyRule],
    economics: Economics,
    *,
    review_by: str | None = None,
    today: date | None = None,
    capacity: targeting.Capacity | None = None,
) -> MonitorReport:
    """The :class:`MonitorReport` of a batch from its (combined) :class:`BatchCounts`;
    the parameters as in :func:`monitor`."""
    if counts.rows and counts.drift.rows == 0:
        raise ChurnInputError(
            f"None of the {counts.rows:,} rows of the batch has a value in any of the model's "
            "columns, so there is nothing to monitor; check that the file is a customer table "
            "with the columns the model was trained on."
        )
    reference = load_reference(artifact)
    spec = artifact.spec
    drift = compare_counts(reference, spec, counts.drift)
    p = counts.p
    y = counts.labels.labels(artifact.target, artifact.info.positive_label)
    column = economics.value_column
    values = None if counts.value is None else pd.DataFrame({column: counts.value})
    value = economics.customer_value(values, p.size)
    ahead = targeting.outlook(p, value, rules, economics, y, capacity=capacity, ids=counts.ids)
    performance = {
        kind: None if ahead[kind] is None else {k: ahead[kind][k] for k in PERFORMANCE_KEYS}
        for kind in ("estimated", "realised")
    }
    calibration = None
    if y is not None and np.count_nonzero(~np.isnan(y)) >= 10:
        calibration = calibration_deciles(y, p)
    return MonitorReport(
        drift=drift,
        performance=performance,
        calibration=calibration,
        staleness=staleness(artifact.info.trained_at, review_by, today),
        model_fingerprint=artifact.fingerprint,
        reference_rows=int(reference["rows"]),
        rules=list(rules),
        rows_left_out=counts.rows_left_out,
    )


def headline(report: MonitorReport) -> str:
    """One sentence on the batch's drift: the overall status, what drifted, and the score."""
    features = report.drift.features
    drifted = features[features["status"] != "stable"]
    score = f"the churn scores are {report.drift.score_status} (PSI {report.drift.score_psi:.2f})"
    if drifted.empty:
        return (
            f"Stable: no feature has drifted from the training data (every PSI is below "
            f"{MODERATE:g}), and {score}."
        )
    named = ", ".join(f"{r.name} ({r.psi:.2f})" for r in drifted.iloc[:4].itertuples())
    more = " ..." if len(drifted) > 4 else ""
    return (
        f"{report.status.capitalize()} drift: {len(drifted)} of {len(features)} features "
        f"differ from the training data: {named}{more}; {score}."
    )


def banner_messages(
    report: MonitorReport,
    where: str = "the drift report",
    drift_by_design: bool = False,
    age_by_design: bool = False,
) -> list[str]:
    """Warnings every page shows: rows were left out, the model is past its review date, or
    drift is significant.

    ``where`` names what to look at for details (the app names its monitoring page).
    ``drift_by_design``: the batch was made to drift (the bundled sample's), which the drift
    warning then says, so that a first visitor is not alarmed. ``age_by_design``: the model
    is the bundled sample's, as old as the copy of the app it came with, which the review
    warning then says. Returns an empty list when none holds.
    """
    messages = []
    if report.rows_left_out:
        total = report.drift.rows + report.rows_left_out
        messages.append(
            f"{report.rows_left_out:,} of the {total:,} rows have no value in any of the "
            "model's columns and are left out of the drift and the estimates; check the export."
        )
    stale = report.staleness
    if stale["overdue"]:
        messages.append(
            f"The model is {stale['age_days']} days old and was due for review on "
            f"{stale['review_by']}; retrain it on recent customers and review the policy."
            + (
                " The bundled sample model is as old as this copy of the app "
                "('python -m churn.sample' retrains it): this is what the warning looks like."
                if age_by_design
                else ""
            )
        )
    if report.status == "significant":
        drifted = report.drift.features
        names = drifted.loc[drifted["status"] == "significant", "name"].tolist()
        what = ", ".join(names[:3]) + (" ..." if len(names) > 3 else "")
        if report.drift.score_status == "significant":
            what = f"the churn scores{', ' + what if what else ''}"
        message = (
            f"The latest customers differ significantly from the training data ({what}); "
            f"check {where} before relying on the figures."
        )
        if drift_by_design:
            message += (
                " The bundled sample's latest snapshot is drifted on purpose, to show what "
                "this warning looks like."
            )
        messages.append(message)
    return messages
