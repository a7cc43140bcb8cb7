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
figures.update(
    {
        "target_rows_per_second": 100_000,
        "meets_target": figures["rows_per_second_1000000"] >= 100_000,
        "peak_memory_mb": round(peak_memory_mb(), 1),
    }
)
emit("score_throughput", figures)
