"""Holdout ROC-AUC of the default pipeline against a tuned LightGBM and a tuned logistic regression.

For every shared real table (``../shared/datasets``; skipped when absent) and
the bundled sample, on exactly the holdout split ``train()`` uses:

* ``ours``: ``churn.training.train`` with no options (its ``training_seconds``
  is the whole training: model, calibration, intervals, baselines, evaluation);
* ``tuned_lightgbm``: random search, 5-fold stratified CV with early stopping
  on the 80% part (``benchmarks/_quality.py``);
* ``logistic``: one-hot + standardised logistic regression, ``C`` by 5-fold CV.

``gap`` is ``max(tuned_lightgbm, logistic) - ours``. Target: ``gap <= 0.005``.
For the sample, ``interval_vs_truth`` measures the per-customer interval against the
generator's true probabilities on 40,000 fresh customers (as ``tests/test_model.py``):
its stated level, the share of true probabilities inside, the median width and the share
of bounds at exactly 0 or 1. Target: coverage within 2 points of the stated level.
Usage: ``python benchmarks/bench_quality.py [--configs N]``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _common import emit, peak_memory_mb
from _quality import SHARED_DATASETS, Table, logistic_auc, shared_tables, split, tuned_lightgbm_auc

from churn.data import read_table
from churn.sample import SAMPLE_PATH, generate_customers
from churn.training import train

TARGET_GAP = 0.005
FRESH_CUSTOMERS = 40_000


def interval_vs_truth(artifact) -> dict:
    """The sample model's interval on fresh generator customers, against their truth."""
    fresh, truth = generate_customers(FRESH_CUSTOMERS, seed=77)
    scored = artifact.model.predict_frame(fresh.drop(columns=["customer_id", "churned"]))
    low, high = scored["probability_low"].to_numpy(), scored["probability_high"].to_numpy()
    coverage = float(((low <= truth) & (truth <= high)).mean())
    level = float(artifact.model.confidence)
    return {
        "fresh_customers": FRESH_CUSTOMERS,
        "stated_level": level,
        "coverage": round(coverage, 4),
        "median_width": round(float(np.median(high - low)), 4),
        "bounds_at_0_or_1": round(float(((low == 0) | (high == 1)).mean()), 4),
        "meets_target": abs(coverage - level) <= 0.02,
    }


parser = argparse.ArgumentParser()
parser.add_argument("--configs", type=int, default=30, help="LightGBM configurations to try")
parser.add_argument("--only", default="", help="run only tables whose name contains this")
args = parser.parse_args()

tables = shared_tables()
sample = read_table(SAMPLE_PATH, text_columns=("customer_id",))
tables.append(Table("sample_customers", sample, "churned", None, "customer_id"))
results = {}
for table in tables:
    if args.only and args.only not in table.name:
        continue
    start = time.perf_counter()
    artifact = train(table.frame, table.roles, n_boot=200)
    seconds = time.perf_counter() - start
    ours = artifact.metrics["model"]["roc_auc"]
    data = split(table)
    lgbm = tuned_lightgbm_auc(data, n_configs=args.configs)
    logistic = logistic_auc(data)
    best = max(lgbm["holdout_roc_auc"], logistic["holdout_roc_auc"])
    results[table.name] = {
        "rows": len(table.frame),
        "dropped_columns": table.drop,
        "ours": round(ours, 4),
        "tuned_lightgbm": round(lgbm["holdout_roc_auc"], 4),
        "logistic": round(logistic["holdout_roc_auc"], 4),
        "gap": round(best - ours, 4),
        "meets_target": best - ours <= TARGET_GAP,
        "train_seconds": round(seconds, 2),
        "ours_ece": round(artifact.metrics["model"]["ece"], 4),
        "ours_config": {k: v for k, v in artifact.model.config_.items() if k != "candidates"},
        "tuned_lightgbm_best": lgbm["best"],
        "logistic_C": logistic["C"],
    }
    if table.name == "sample_customers":
        results[table.name]["interval_vs_truth"] = interval_vs_truth(artifact)
emit(
    "quality",
    {
        "shared_datasets": str(SHARED_DATASETS) if SHARED_DATASETS.is_dir() else "absent (skipped)",
        "target_gap": TARGET_GAP,
        "tables": results,
        "peak_memory_mb": round(peak_memory_mb(), 1),
    },
)
