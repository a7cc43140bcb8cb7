"""Full training on the sample: model, calibration, intervals, baselines, holdout evaluation.

Target: <= 20 s on 2 cores.
"""

from __future__ import annotations

import time

from _common import emit, peak_memory_mb

from churn.checks import ColumnMapping
from churn.data import read_table
from churn.sample import SAMPLE_PATH
from churn.training import train

frame = read_table(SAMPLE_PATH)
start = time.perf_counter()
artifact = train(frame, ColumnMapping.for_table(frame, "churned", id_column="customer_id"))
seconds = time.perf_counter() - start
emit(
    "train_sample",
    {
        "rows": len(frame),
        "seconds": round(seconds, 2),
        "target_seconds": 20,
        "meets_target": seconds <= 20,
        "holdout_roc_auc": round(artifact.metrics["model"]["roc_auc"], 4),
        "peak_memory_mb": round(peak_memory_mb(), 1),
    },
)
