"""Helpers shared by the benchmark scripts (each script prints one JSON object)."""

from __future__ import annotations

import json
import os
import platform
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def peak_memory_mb() -> float:
    """Peak resident memory of this process so far, in MB (Linux reports KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def machine() -> dict[str, object]:
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
    }


def best_of(fn, repeat: int = 3) -> float:
    """Fastest wall time of ``repeat`` runs, in seconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def emit(name: str, figures: dict[str, object]) -> None:
    print(json.dumps({"benchmark": name, **figures, "machine": machine()}, indent=1))


def upload_extras(rows: int, rng) -> dict[str, object]:
    """The 32 columns an upload-like export adds to the sample's (``bench_upload.py`` and
    ``bench_explain_memory.py``): noise numbers, money as text, categories, dates, free
    text, a row number and a constant, drawn from ``rng`` in this order."""
    import numpy as np

    extra: dict[str, object] = {}
    for i in range(12):
        extra[f"metric_{i}"] = rng.normal(0, 1, rows).round(4)
    for i in range(6):
        extra[f"amount_text_{i}"] = [f"${v:,.2f}" for v in rng.gamma(2, 40, rows)]
    for i in range(8):
        extra[f"category_{i}"] = rng.choice([f"level_{k}" for k in range(12)], rows)
    for i in range(3):
        days = rng.integers(0, 1500, rows)
        extra[f"date_{i}"] = (np.datetime64("2021-01-01") + days).astype(str)
    extra["comment"] = [f"free text comment number {k}" for k in range(rows)]
    extra["row_number"] = np.arange(1, rows + 1)
    extra["country"] = "NL"
    return extra


def suggested_mapping(frame):
    """The roles a user accepting every suggestion gets (value column ``monthly_charges``),
    as the upload benchmarks map their table."""
    from churn.checks import ColumnMapping
    from churn.suggest import suggest_mapping

    suggested = suggest_mapping(frame)
    target = suggested["target"][0]
    return ColumnMapping(
        target=target,
        positive=suggested["positive"][target],
        id_column=suggested["id_column"][0],
        value_column="monthly_charges",
        segments=tuple(suggested["segments"]),
    )
