"""Bring your own data at scale: a 100,000-row, 50-column upload checked, trained, explorable.

Target: <= 90 s on 2 cores, peak memory <= 2 GB, from the file's bytes to every
figure the pages need: read (CSV bytes, as the upload widget gives them),
suggest the mapping, run the data checks, train (model, baselines, bootstrap
evaluation), score the uploaded table, explain it (SHAP, as Why? and Customers
do) and decide (as Decide does). The table is the sample's generative process
(16 attributes, id, target) plus 32 extra columns of the kinds real exports
carry: noise numbers, numbers stored as text, categories, dates, free text and
a row number. Run as ``python benchmarks/bench_upload.py [ROWS]``.
"""

from __future__ import annotations

import sys
import time

import numpy as np
from _common import emit, peak_memory_mb, suggested_mapping, upload_extras

from churn.checks import check_data
from churn.decisions import Choice
from churn.explain import explain
from churn.ingest import read_bytes
from churn.policy import decide_on_holdout
from churn.sample import generate_customers
from churn.scenario import default_scenario
from churn.training import score_frame, train

ROWS = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000


def make_export(rows: int) -> bytes:
    frame, _ = generate_customers(rows, seed=7)
    rng = np.random.default_rng(8)
    extra = upload_extras(rows, rng)
    frame = frame.assign(**extra)
    return frame.to_csv(index=False).encode()


def main() -> None:
    data = make_export(ROWS)
    stages: dict[str, float] = {}
    start = time.perf_counter()

    def stage(name: str, t0: float) -> float:
        now = time.perf_counter()
        stages[name] = round(now - t0, 2)
        return now

    t = time.perf_counter()
    frame = read_bytes(data, "export.csv")
    t = stage("read", t)
    mapping = suggested_mapping(frame)
    t = stage("suggest", t)
    check = check_data(frame, mapping)
    t = stage("check", t)
    artifact = train(frame, check)
    t = stage("train", t)
    scored = score_frame(artifact, frame)
    t = stage("score_table", t)
    prepared = artifact.preparation.apply(frame)[0]
    explanation = explain(artifact, prepared)
    t = stage("explain_table", t)
    scenario = default_scenario(list(frame.columns), mapping.value_column)
    decide_on_holdout(artifact, scenario.economics, Choice("max_profit"))
    decide_on_holdout(artifact, scenario.economics, Choice("threshold", 0.3))
    t = stage("decide", t)
    total = time.perf_counter() - start
    emit(
        "upload_check_train_explore",
        {
            "rows": ROWS,
            "columns": frame.shape[1],
            "file_mb": round(len(data) / 1024 / 1024, 1),
            "features_used": len(check.preparation.features),
            "left_out": sorted(check.report["left_out"]),
            "stages_s": stages,
            "total_s": round(total, 2),
            "target_s": 90,
            "peak_memory_mb": round(peak_memory_mb(), 1),
            "memory_target_mb": 2048,
            "holdout_roc_auc": round(artifact.metrics["model"]["roc_auc"], 4),
            "explained_rows": int(explanation.values.shape[0]),
            "scored_rows": len(scored),
        },
    )


if __name__ == "__main__":
    main()
