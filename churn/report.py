"""Tables and sentences for the "Can we rely on it?" overview, computed from an artifact."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from churn import metrics
from churn.artifact import Artifact
from churn.formatting import money

__all__ = [
    "METRIC_LABELS",
    "MODELS",
    "data_summary",
    "emp_table",
    "gains_table",
    "metrics_table",
    "model_card",
    "reliability_table",
    "training_sample",
    "verdict",
]

#: Model key -> label shown to people, in display order.
MODELS = {
    "model": "Churn model",
    "logistic": "Logistic regression",
    "rule": "Readable rule",
}
_PROBABILITY_COLUMN = {
    "model": "churn_probability",
    "logistic": "logistic_probability",
    "rule": "rule_probability",
}
#: Metric key -> (label, higher is better, what it means).
METRIC_LABELS = {
    "roc_auc": ("ROC-AUC", True, "how well it ranks churners above stayers (0.5 = chance)"),
    "pr_auc": ("PR-AUC", True, "precision averaged over recall levels (base rate = chance)"),
    "brier": ("Brier score", False, "mean squared error of the probability"),
    "log_loss": ("Log loss", False, "penalises confident mistakes"),
    "ece": ("Calibration error (ECE)", False, "average gap between said and observed churn"),
    "lift_top10": ("Lift in top 10%", True, "churn rate in the top 10% / overall rate"),
    "capture_top10": ("Capture in top 10%", True, "share of all churners in the top 10%"),
}


def confusion_table(confusion: pd.DataFrame) -> pd.DataFrame:
    """The 2x2 confusion of :func:`churn.targeting.confusion` as readable cells.

    Rows: contacted / not contacted; columns: the outcome; each cell reads
    ``"240 customers, $60,231"``.
    """
    readable = {"Churned": "Would have churned", "Stayed": "Would have stayed"}
    cells = {
        (decision, readable.get(outcome, outcome)): f"{customers:,} customers, {money(amount)}"
        for decision, outcome, customers, amount in zip(
            confusion["decision"],
            confusion["outcome"],
            confusion["customers"],
            confusion["money"],
            strict=True,
        )
    }
    rows, columns = ["Contacted", "Not contacted"], ["Would have churned", "Would have stayed"]
    return pd.DataFrame([[cells[r, c] for c in columns] for r in rows], index=rows, columns=columns)


def data_summary(artifact: Artifact) -> dict[str, Any]:
    """Rows, base rate, features by kind and split sizes, for the model card."""
    info = artifact.info
    kinds = pd.Series(info.features).value_counts()
    return {
        "source": info.source or "uploaded table",
        "rows": int(info.rows),
        "churn_rate": float(info.churn_rate),
        "churners": round(info.churn_rate * info.rows),
        "n_features": len(info.features),
        "features_by_kind": {str(k): int(v) for k, v in kinds.items()},
        "fit_rows": int(info.fit_rows),
        "holdout_rows": int(info.holdout_rows),
        "sample": training_sample(artifact),
        "trained_at": info.trained_at,
        "target": info.target,
        "positive_label": info.positive_label,
        "interval": dict(artifact.metrics["interval"]),
    }


def training_sample(artifact: Artifact) -> str | None:
    """``Trained on a stratified sample of 300,000 of 2,000,000 customers (...)``, when
    :func:`churn.training.train` sampled the table; ``None`` when it trained on all of it."""
    info = artifact.info
    if info.table_rows is None:
        return None
    return (
        f"Trained on a stratified sample of {info.rows:,} of {info.table_rows:,} customers "
        "(same churn rate as the table): a churn model gains little past a few hundred "
        "thousand customers."
    )


def metrics_table(artifact: Artifact) -> pd.DataFrame:
    """Long table: ``model, model_label, metric, metric_label, value, low, high, better``."""
    rows = []
    for key, label in MODELS.items():
        figures = artifact.metrics[key]
        for metric, (metric_label, higher, _) in METRIC_LABELS.items():
            rows.append(
                {
                    "model": key,
                    "model_label": label,
                    "metric": metric,
                    "metric_label": metric_label,
                    "value": figures[metric],
                    "low": figures[f"{metric}_low"],
                    "high": figures[f"{metric}_high"],
                    "better": "higher" if higher else "lower",
                }
            )
    return pd.DataFrame(rows)


def reliability_table(artifact: Artifact, n_bins: int = 10) -> pd.DataFrame:
    """Reliability bins on the holdout for every model, with a ``model_label`` column."""
    y = artifact.holdout["outcome"].to_numpy()
    frames = []
    for key, label in MODELS.items():
        bins = metrics.reliability_bins(
            y, artifact.holdout[_PROBABILITY_COLUMN[key]].to_numpy(), n_bins
        )
        frames.append(bins.assign(model=key, model_label=label))
    return pd.concat(frames, ignore_index=True)


def gains_table(artifact: Artifact, max_points: int = 200) -> pd.DataFrame:
    """Cumulative gains on the holdout for every model (share targeted vs capture).

    Each curve keeps at most ``max_points`` evenly spread points plus both ends
    (enough to draw it; the full curve has one point per distinct score).
    """
    y = artifact.holdout["outcome"].to_numpy()
    frames = []
    for key, label in MODELS.items():
        gains = metrics.gains_curve(y, artifact.holdout[_PROBABILITY_COLUMN[key]].to_numpy())
        if len(gains) > max_points:
            keep = np.unique(np.linspace(0, len(gains) - 1, max_points).round().astype(int))
            gains = gains.iloc[keep]
        frames.append(gains.assign(model=key, model_label=label))
    return pd.concat(frames, ignore_index=True)


def model_card(artifact: Artifact) -> dict[str, Any]:
    """What is predicted, for whom, when, on which data, and the known limitations.

    Limitations are derived from the artifact (holdout size, score ranges with
    few customers, interval widths, rare categories), not written by hand.
    """
    info = artifact.info
    h = artifact.holdout
    p = h["churn_probability"].to_numpy()
    width = (h["probability_high"] - h["probability_low"]).to_numpy()
    spec, facts = artifact.spec, artifact.model_facts
    limitations = [
        (
            f"Evaluated on {len(h):,} holdout customers: differences smaller than the "
            "intervals shown are not evidence of anything."
        ),
    ]
    high = p >= 0.7
    if high.mean() < 0.1:
        limitations.append(
            f"Only {high.mean():.1%} of customers score 70% or more, so the model has little "
            "evidence there: its intervals are widest at the extremes."
        )
    rare = []
    for column, categories in spec.categories.items():
        counts = artifact.holdout_data[column].astype("string").value_counts(normalize=True)
        rare += [f"{column} = {c}" for c in categories if 0 < counts.get(c, 0.0) < 0.03]
    if rare:
        shown = ", ".join(rare[:4]) + (" ..." if len(rare) > 4 else "")
        limitations.append(
            f"Rare groups ({shown}) are scored from few examples; check their intervals."
        )
    limitations += [
        (
            f"One customer in ten has a {facts['confidence']:.0%} interval wider than "
            f"{np.quantile(width, 0.9) * 100:.0f} percentage points."
        ),
        (
            "It learns associations, not causes: a high score says who is likely to leave, not "
            "that an action will make them stay. The success rates in the economics are "
            "assumptions to test (for example with a control group)."
        ),
        (
            "It describes customers like those in the training data at the time of training; "
            "new products, prices or markets make it stale. Re-check it on fresh data."
        ),
    ]
    return {
        "predicts": (
            f"The probability that a customer churns ({info.target} = "
            f"{info.positive_label}), with a {facts['confidence']:.0%} interval."
        ),
        "for_whom": (
            f"Customers like the {info.rows:,} in {info.source or 'the uploaded table'}"
            f" ({len(spec.columns)} attributes; base churn rate {info.churn_rate:.1%})."
        ),
        "trained_at": info.trained_at,
        "data": (info.source or "uploaded table")
        + (
            ""
            if info.table_rows is None
            else f" (a stratified sample of {info.rows:,} of its {info.table_rows:,} customers)"
        ),
        "fingerprint": artifact.fingerprint,
        "model": (
            f"{facts['n_members']} bagged LightGBM models{_shape(artifact)} with beta "
            "calibration and a per-customer interval; baselines: logistic regression and a "
            "depth-2 rule."
        ),
        "limitations": limitations,
    }


def _shape(artifact: Artifact) -> str:
    """`` (137 trees of up to 4 leaves and 74 of up to 7, chosen by cross-validation)``."""
    config = artifact.model_facts["config"]
    if not config:
        return ""
    shapes = config.get("shapes") or [config]
    parts = [f"{s['n_estimators']} trees of up to {s['num_leaves']} leaves" for s in shapes[:1]]
    parts += [f"{s['n_estimators']} of up to {s['num_leaves']}" for s in shapes[1:]]
    chosen = ", chosen by cross-validation" if "candidates" in config else ""
    return f" ({' and '.join(parts)}{chosen})"


def emp_table(artifact: Artifact) -> pd.DataFrame:
    """Expected maximum profit per customer, by model and default action (from training).

    Columns: ``model_label, action, emp`` (money per customer) and
    ``share_targeted`` (in [0, 1], the share the best threshold contacts on average).
    """
    rows = [
        {
            "model_label": MODELS[key],
            "action": action,
            "emp": figures["emp"],
            "share_targeted": figures["share_targeted"],
        }
        for key in MODELS
        for action, figures in artifact.metrics["emp"][key].items()
    ]
    return pd.DataFrame(rows)


def verdict(artifact: Artifact) -> dict[str, Any]:
    """Does the model earn its place over the rule (and the logistic regression)?

    Uses the paired bootstrap of the ROC-AUC difference on the holdout: a
    baseline is beaten when the whole 95% interval of the difference is above
    zero. Returns ``{"earns_its_place": bool, "headline": str, "details": [str]}``.
    """
    comparison = artifact.metrics["comparison"]
    rule = comparison["model_vs_rule"]["roc_auc"]
    logistic = comparison["model_vs_logistic"]["roc_auc"]
    m = artifact.metrics["model"]
    beats_rule = rule["low"] > 0
    beats_logistic = logistic["low"] > 0

    def diff(c: dict[str, float]) -> str:
        return f"{c['difference']:+.3f} (95% interval {c['low']:+.3f} to {c['high']:+.3f})"

    if beats_rule and beats_logistic:
        headline = (
            "The model earns its place: it ranks customers better than both the readable rule "
            "and a logistic regression, beyond what chance in the holdout explains."
        )
    elif beats_rule:
        headline = (
            "The model beats the readable rule, but not clearly a logistic regression: a simpler "
            "model would do nearly as well."
        )
    else:
        headline = (
            "The model does not clearly beat the readable rule on this data: consider using the "
            "rule, or gather more data."
        )
    calibrated = m["ece"] < 0.05
    details = [
        f"ROC-AUC gain over the rule: {diff(rule)}.",
        f"ROC-AUC gain over logistic regression: {diff(logistic)}.",
        (
            f"Its probabilities are {'well' if calibrated else 'poorly'} calibrated on the holdout:"
            f" on average they are {m['ece']:.1%} away from the observed churn rate."
        ),
        (
            f"Contacting its top 10% finds {m['capture_top10']:.0%} of all churners "
            f"({m['lift_top10']:.1f} times the base rate)."
        ),
    ]
    return {
        "earns_its_place": bool(beats_rule),
        "beats_rule": bool(beats_rule),
        "beats_logistic": bool(beats_logistic),
        "headline": headline,
        "details": details,
    }
