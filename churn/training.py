"""Training end to end: checked frame -> model, baselines, holdout evaluation -> artifact."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from churn import decisions, metrics
from churn.artifact import Artifact, compute_fingerprint
from churn.baselines import LogisticBaseline, RuleBaseline
from churn.data import encode_target, resolve_positive, split_features
from churn.decisions import default_economics
from churn.errors import ChurnInputError
from churn.model import ChurnModel

__all__ = ["HOLDOUT_SIZE", "holdout_split", "score_frame", "train"]

HOLDOUT_SIZE = 0.20
#: The columns :func:`score_frame` adds for every customer.
SCORE_COLUMNS = ("churn_probability", "probability_low", "probability_high")


def _quiet(_: str) -> None:
    return None


def holdout_split(y: np.ndarray, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Row positions ``(fit, holdout)``, both sorted: stratified, ``HOLDOUT_SIZE`` held out.

    The one split :func:`train` uses; benchmarks reuse it to compare on the same rows.
    """
    rows = np.arange(len(y))
    dev, hold = train_test_split(rows, test_size=HOLDOUT_SIZE, stratify=y, random_state=seed)
    return np.sort(dev), np.sort(hold)


def train(
    frame: pd.DataFrame,
    target: str,
    positive: str | None = None,
    id_column: str | None = None,
    *,
    seed: int = 0,
    n_boot: int = 200,
    source: str = "",
    model_params: dict[str, Any] | None = None,
    progress: Callable[[str], None] = _quiet,
) -> Artifact:
    """Train the model and both baselines and evaluate them on a holdout.

    The data is split once, stratified: 80% to fit (the model holds back a
    quarter of that to calibrate), 20% holdout that nothing is fitted or
    calibrated on. Metrics carry paired bootstrap 95% intervals.

    Parameters
    ----------
    frame : the customer table, one row per customer.
    target : name of the 0/1 (or yes/no, true/false, ...) churn column.
    positive : the target value meaning "churned"; inferred when obvious.
    id_column : customer id column, kept out of the features.
    seed : seed of the split, the model and the bootstrap.
    n_boot : bootstrap replicates for the metric intervals.
    source : a description of where the data came from (file name), for the model card.
    progress : called with a short message at the start of each long step.
    """
    started = time.perf_counter()
    progress("checking the data")
    y = encode_target(frame, target, positive)
    positive_label = resolve_positive(frame[target], positive)
    X, ids = split_features(frame, target, id_column)
    if ids is not None and ids.duplicated().any():
        dupes = int(ids.duplicated().sum())
        raise ChurnInputError(
            f"The id column '{id_column}' has {dupes:,} repeated value(s); ids must identify "
            "one customer each."
        )
    dev, hold = holdout_split(y, seed)
    params = {"random_state": seed, **(model_params or {})}
    progress(f"training the model on {dev.size:,} customers (bagged LightGBM + calibration)")
    model = ChurnModel(**params).fit(X.iloc[dev], y[dev])
    progress("fitting the baselines (logistic regression, depth-2 rule)")
    logistic = LogisticBaseline.fit(model.spec_, X.iloc[dev], y[dev])
    rule = RuleBaseline.fit(model.spec_, X.iloc[dev], y[dev])

    progress(f"evaluating on the {hold.size:,}-customer holdout with bootstrap intervals")
    X_hold = X.iloc[hold]
    scored = model.predict_frame(X_hold).reset_index(drop=True)
    holdout = pd.DataFrame({"row": hold, "outcome": y[hold]})
    holdout = pd.concat([holdout, scored], axis=1)
    holdout["logistic_probability"] = logistic.predict_proba(X_hold)
    holdout["rule_probability"] = rule.predict_proba(X_hold)
    y_hold = holdout["outcome"].to_numpy()
    results: dict[str, Any] = {}
    for name, column in (
        ("model", "churn_probability"),
        ("logistic", "logistic_probability"),
        ("rule", "rule_probability"),
    ):
        evaluated = metrics.evaluate(y_hold, holdout[column].to_numpy(), n_boot=n_boot, seed=seed)
        results[name] = {
            f"{metric}{suffix}": figures[key]
            for metric, figures in evaluated.items()
            for suffix, key in (("", "value"), ("_low", "low"), ("_high", "high"))
        }
    results["comparison"] = {
        f"model_vs_{other}": {
            m: metrics.compare(
                y_hold,
                holdout["churn_probability"].to_numpy(),
                holdout[f"{other}_probability"].to_numpy(),
                metric=m,
                n_boot=n_boot,
                seed=seed,
            )
            for m in ("roc_auc", "brier")
        }
        for other in ("logistic", "rule")
    }
    economics = default_economics(frame.columns)
    mean_value = float(economics.customer_value(frame.iloc[hold], hold.size).mean())
    results["emp"] = {
        name: {
            action.name: decisions.emp(y_hold, holdout[column].to_numpy(), mean_value, action)
            for action in economics.actions
        }
        for name, column in (
            ("model", "churn_probability"),
            ("logistic", "logistic_probability"),
            ("rule", "rule_probability"),
        )
    }
    results["emp_customer_value"] = mean_value
    width = (holdout["probability_high"] - holdout["probability_low"]).to_numpy()
    results["interval"] = {
        "confidence": model.confidence,
        "mean_width": float(width.mean()),
        "median_width": float(np.median(width)),
        "p90_width": float(np.quantile(width, 0.9)),
    }
    results["holdout_size"] = int(hold.size)

    info = {
        "target": target,
        "positive_label": positive_label,
        "id_column": id_column,
        "trained_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "source": source,
        "rows": len(frame),
        "fit_rows": int(dev.size),
        "holdout_rows": int(hold.size),
        "churn_rate": float(y.mean()),
        "features": {c: model.spec_.kinds[c] for c in model.spec_.columns},
        "rule_text": rule.to_text(),
        "training_seconds": round(time.perf_counter() - started, 2),
    }
    holdout_data = frame.iloc[hold].reset_index(drop=True)
    artifact = Artifact(
        model=model,
        logistic=logistic,
        rule=rule,
        info=info,
        metrics=results,
        holdout=holdout,
        holdout_data=holdout_data,
    )
    artifact.fingerprint = compute_fingerprint(artifact)
    return artifact


def score_frame(artifact: Artifact, frame: pd.DataFrame) -> pd.DataFrame:
    """One row per input row, in input order: the id (if any) and the three score columns."""
    id_column = artifact.id_column
    if id_column is not None and id_column not in frame.columns:
        raise ChurnInputError(
            f"The data has no '{id_column}' column, which the model was trained with; add it "
            "so that every score can be matched to its customer."
        )
    scored = artifact.model.predict_frame(frame).reset_index(drop=True)
    if id_column is not None:
        scored.insert(0, id_column, frame[id_column].reset_index(drop=True))
    return scored
