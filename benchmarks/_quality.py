"""Reference models for the quality benchmark and its test.

What a competent data scientist would fit in an afternoon, on exactly the
split :func:`churn.training.train` uses (same seed, stratified 20% holdout):

* a **tuned LightGBM**: a random search over ``num_leaves``,
  ``learning_rate``, ``min_child_samples``, row and column subsampling and
  ``reg_lambda``, each configuration scored by stratified k-fold CV on the
  80% part with early stopping (the number of trees is the CV's best round),
  the best configuration refitted on the whole 80% part;
* a **one-hot logistic regression**: median-imputed numbers with missing
  flags, standardised, one-hot categories, ``C`` chosen by stratified k-fold
  CV on the 80% part.

Nothing here is fitted on the holdout. The shared tables live outside the
repository (``../shared/datasets``); :func:`shared_tables` returns the ones
present and says which are missing.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_score

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from churn.checks import ColumnMapping
from churn.data import encode_target, split_features
from churn.features import FeatureSpec
from churn.training import holdout_split

SHARED_DATASETS = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"


@dataclass
class Table:
    """A shared churn table as a user would load it, with what a data scientist drops."""

    name: str
    frame: pd.DataFrame
    target: str
    positive: str | None = None
    id_column: str | None = None
    drop: list[str] = field(default_factory=list)

    @property
    def roles(self) -> ColumnMapping:
        """The column roles as the app would default them for this table."""
        return ColumnMapping.for_table(self.frame, self.target, self.positive, self.id_column)


def _bank_churners(folder: Path) -> Table | None:
    path = folder / "BankChurners.csv"
    if not path.exists():
        return None
    frame = pd.read_csv(path, dtype={"CLIENTNUM": "string"})
    leaky = [c for c in frame.columns if c.startswith("Naive_Bayes_Classifier_")]
    return Table(
        "BankChurners",
        frame.drop(columns=leaky),
        "Attrition_Flag",
        "Attrited Customer",
        "CLIENTNUM",
        leaky,
    )


def _bigml(folder: Path) -> Table | None:
    parts = [folder / "churn-bigml-80.csv", folder / "churn-bigml-20.csv"]
    if not parts[0].exists():
        return None
    frames = [pd.read_csv(p) for p in parts if p.exists()]
    # The two exports spell a few headers differently ("International plan" vs
    # "International_plan"); the columns are the same, in the same order.
    for other in frames[1:]:
        assert other.shape[1] == frames[0].shape[1]
        other.columns = frames[0].columns
    name = "churn-bigml (80+20)" if len(frames) == 2 else "churn-bigml-80"
    return Table(name, pd.concat(frames, ignore_index=True), "Churn")


def shared_tables(folder: Path = SHARED_DATASETS) -> list[Table]:
    """The shared tables present in ``folder`` (empty when the folder is absent)."""
    if not folder.is_dir():
        return []
    return [t for t in (_bank_churners(folder), _bigml(folder)) if t is not None]


@dataclass
class Split:
    X_dev: pd.DataFrame
    y_dev: np.ndarray
    X_hold: pd.DataFrame
    y_hold: np.ndarray


def split(table: Table, seed: int = 0) -> Split:
    """The holdout split of :func:`churn.training.train`, features only."""
    y = encode_target(table.frame, table.target, table.positive)
    X, _ = split_features(table.frame, table.target, table.id_column)
    dev, hold = holdout_split(y, seed)
    return Split(X.iloc[dev], y[dev], X.iloc[hold], y[hold])


def _configs(n: int, seed: int) -> list[dict[str, float]]:
    rng = np.random.default_rng(seed)
    grid = {
        "num_leaves": [4, 7, 15, 31, 63],
        "learning_rate": [0.03, 0.05, 0.1],
        "min_data_in_leaf": [5, 10, 20, 50, 100],
        "bagging_fraction": [0.7, 0.85, 1.0],
        "feature_fraction": [0.5, 0.7, 0.85, 1.0],
        "lambda_l2": [0.0, 1.0, 5.0, 20.0],
    }
    # LightGBM's defaults first, then random draws.
    out = [
        {
            "num_leaves": 31,
            "learning_rate": 0.05,
            "min_data_in_leaf": 20,
            "bagging_fraction": 1.0,
            "feature_fraction": 1.0,
            "lambda_l2": 0.0,
        }
    ]
    while len(out) < n:
        draw = {k: v[rng.integers(len(v))] for k, v in grid.items()}
        if draw not in out:
            out.append(draw)
    return out


def tuned_lightgbm_auc(
    data: Split, n_configs: int = 30, folds: int = 5, seed: int = 0, n_jobs: int = 1
) -> dict[str, object]:
    """Holdout ROC-AUC of a LightGBM tuned by random search with k-fold CV on the 80% part."""
    spec = FeatureSpec.learn(data.X_dev)
    dev = spec.tree_matrix(data.X_dev)
    hold = spec.tree_matrix(data.X_hold)
    best: tuple[float, dict[str, float], int] | None = None
    for config in _configs(n_configs, seed):
        params = {
            "objective": "binary",
            "metric": "auc",
            "bagging_freq": 1 if config["bagging_fraction"] < 1 else 0,
            "num_threads": n_jobs,
            "verbosity": -1,
            "seed": seed,
            "deterministic": True,
            "force_row_wise": True,
            **config,
        }
        dataset = lgb.Dataset(
            dev, data.y_dev, categorical_feature=spec.categorical_indices, free_raw_data=False
        )
        result = lgb.cv(
            params,
            dataset,
            num_boost_round=2000,
            folds=StratifiedKFold(folds, shuffle=True, random_state=seed).split(dev, data.y_dev),
            callbacks=[lgb.early_stopping(50, verbose=False)],
        )
        scores = result["valid auc-mean"]
        rounds = int(np.argmax(scores)) + 1
        if best is None or scores[rounds - 1] > best[0]:
            best = (float(scores[rounds - 1]), params, rounds)
    cv_auc, params, rounds = best
    booster = lgb.train(
        params,
        lgb.Dataset(dev, data.y_dev, categorical_feature=spec.categorical_indices),
        num_boost_round=rounds,
    )
    return {
        "holdout_roc_auc": float(roc_auc_score(data.y_hold, booster.predict(hold))),
        "cv_roc_auc": cv_auc,
        "configs": n_configs,
        "best": {k: params[k] for k in _configs(1, seed)[0]} | {"rounds": rounds},
    }


def logistic_auc(data: Split, folds: int = 5, seed: int = 0) -> dict[str, object]:
    """Holdout ROC-AUC of a one-hot, standardised logistic regression with ``C`` tuned by CV."""
    spec = FeatureSpec.learn(data.X_dev)
    dev = spec.linear_matrix(data.X_dev)
    hold = spec.linear_matrix(data.X_hold)
    cv = StratifiedKFold(folds, shuffle=True, random_state=seed)
    grid = np.logspace(-3, 2, 11)
    scores = [
        cross_val_score(
            LogisticRegression(C=c, max_iter=5000), dev, data.y_dev, cv=cv, scoring="roc_auc"
        ).mean()
        for c in grid
    ]
    c = float(grid[int(np.argmax(scores))])
    lr = LogisticRegression(C=c, max_iter=5000).fit(dev, data.y_dev)
    return {
        "holdout_roc_auc": float(roc_auc_score(data.y_hold, lr.predict_proba(hold)[:, 1])),
        "cv_roc_auc": float(max(scores)),
        "C": c,
    }
