"""Scoring throughput: probability and interval per row, from a loaded artifact.

Target: >= 100,000 rows/s on 2 cores.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from _common import emit, peak_memory_mb

from churn.artifact import load_artifact, save_artifact
from churn.checks import ColumnMapping
from churn.data import read_table
from churn.decisions import Choice
from churn.economics import default_economics
from churn.policy import apply_policy, build_policy, decide_on_holdout
from churn.sample import SAMPLE_PATH, generate_customers
from churn.training import score_frame, train

sample = read_table(SAMPLE_PATH)
artifact = train(sample, ColumnMapping.for_table(sample, "churned", id_column="customer_id"))
with tempfile.TemporaryDirectory() as tmp:
    save_artifact(artifact, Path(tmp) / "m")
    start = time.perf_counter()
    loaded = load_artifact(Path(tmp) / "m")
    load_seconds = time.perf_counter() - start

figures = {"load_seconds": round(load_seconds, 3)}
for n in (100_000, 1_000_000):
    frame, _ = generate_customers(n, seed=123)
    score_frame(loaded, frame.head(1000))  # warm up
    start = time.perf_counter()
    scored = score_frame(loaded, frame)
    seconds = time.perf_counter() - start
    assert len(scored) == n
    figures[f"rows_per_second_{n}"] = round(n / seconds)
    figures[f"seconds_{n}"] = round(seconds, 2)
# Applying a policy with a capacity (sort, then take) to the last batch's scores.
economics = default_economics(sample.columns)
p = scored["churn_probability"].to_numpy()
for ranking in ("churn_probability", "expected_value"):
    decision = decide_on_holdout(loaded, economics, Choice("top_share", 0.15), ranking=ranking)
    policy = build_policy(decision, economics, loaded.fingerprint)
    start = time.perf_counter()
    actions = apply_policy(policy, p, frame, "customer_id")
    figures[f"capacity_{ranking}_seconds_1000000"] = round(time.perf_counter() - start, 2)
    assert (actions != policy["default_action"]).sum() == 150_000
figures.update(
    {
        "target_rows_per_second": 100_000,
        "meets_target": figures["rows_per_second_1000000"] >= 100_000,
        "peak_memory_mb": round(peak_memory_mb(), 1),
    }
)
emit("score_throughput", figures)
