"""A scored base of 10,000,000 customers opened in the app: read, one sort, then a cut-off
or a capacity change (target <= 200 ms each after the sort), peak memory.

The scores file is what ``python -m churn score --copy monthly_charges --out scores.parquet``
writes (id, the copied value column, probability, interval, note, the model's fingerprint
in the metadata), generated here: probabilities drawn at the resolution a model's scores
have (many ties, broken by the id), ids with leading zeros, 0.1% rows unscored. Pass a
number of customers to change the size (``python benchmarks/bench_base.py 1000000``).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from _common import emit, peak_memory_mb

from churn.data import write_table
from churn.economics import default_economics
from churn.scored_base import FINGERPRINT_KEY, read_scored_base
from churn.targeting import Capacity, Limit, PolicyRule

N = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000_000
ROOT = Path(__file__).resolve().parent.parent
FINGERPRINT = "0" * 64


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


def write_scores(path: Path) -> None:
    rng = np.random.default_rng(14)
    p = np.round(rng.beta(1.3, 4.0, N), 5)  # about 60,000 distinct scores: ties
    p[rng.random(N) < 0.001] = np.nan
    frame = pd.DataFrame(
        {
            "customer_id": pd.array([f"{i:09d}" for i in rng.permutation(N)], dtype="str"),
            "monthly_charges": np.round(rng.gamma(4.0, 16.0, N), 2),
            "churn_probability": p,
            "probability_low": np.clip(p - 0.05, 0, 1),
            "probability_high": np.clip(p + 0.05, 0, 1),
            "score_note": pd.array(np.where(np.isnan(p), "not scored", ""), dtype="str"),
        }
    )
    write_table(frame, path, metadata={FINGERPRINT_KEY: FINGERPRINT})


def timed(fn, repeat: int = 5) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def written_by_another_process(path: Path) -> None:
    """Generate the file in a child process, so that this one's peak memory is the app's:
    opening the base and deciding on it."""
    script = Path(__file__).resolve()
    subprocess.run([sys.executable, str(script), str(N), "--write", str(path)], check=True)


if "--write" in sys.argv:  # the child process
    write_scores(Path(sys.argv[-1]))
    raise SystemExit(0)


with tempfile.TemporaryDirectory() as folder:
    path = Path(folder) / "scores.parquet"
    start = time.perf_counter()
    written_by_another_process(path)
    write_seconds = time.perf_counter() - start
    size_mb = path.stat().st_size / 1e6
    before = rss_mb()
    start = time.perf_counter()
    base = read_scored_base(path, FINGERPRINT, "customer_id")  # read + the one sort
    open_seconds = time.perf_counter() - start
    held_mb = rss_mb() - before

economics = default_economics(["monthly_charges"])
rules = [PolicyRule("Email offer", 0.2), PolicyRule("Call + discount", 0.45)]
base.outlook(rules, economics, None)  # the prefix sums, once per value column
thresholds = iter(np.linspace(0.05, 0.6, 100))


def threshold_change() -> None:
    cut = float(next(thresholds))
    moved = [PolicyRule("Email offer", cut), PolicyRule("Call + discount", cut + 0.25)]
    base.outlook(moved, economics, None)
    base.summary(moved, economics, None)
    base.page(moved, economics, None, 0, 1_000)


capacities = iter(range(100_000, 10_000_000, 97_001))


def capacity_change() -> None:
    capacity = Capacity(
        total=Limit(customers=next(capacities)),
        per_action=(("Call + discount", Limit(share=0.05)),),
    )
    base.outlook(rules, economics, capacity)
    base.summary(rules, economics, capacity)
    base.page(rules, economics, capacity, 0, 1_000)


start = time.perf_counter()
base.ranked.by_worth(rules, economics)
worth_sort = time.perf_counter() - start
by_value = iter(range(50_000, 5_000_000, 49_999))


def capacity_by_value_change() -> None:
    capacity = Capacity(total=Limit(customers=next(by_value)), ranking="expected_value")
    base.outlook(rules, economics, capacity)
    base.summary(rules, economics, capacity)
    base.page(rules, economics, capacity, 0, 1_000)


threshold_ms = timed(threshold_change) * 1000
capacity_ms = timed(capacity_change) * 1000
by_value_ms = timed(capacity_by_value_change) * 1000
emit(
    "scored_base",
    {
        "customers": N,
        "parquet_mb": round(size_mb, 1),
        "generate_and_write_seconds": round(write_seconds, 1),
        "open_seconds_read_and_one_sort": round(open_seconds, 2),
        "rss_before_open_mb": round(before, 1),
        "memory_held_mb": round(held_mb, 1),
        "threshold_change_ms": round(threshold_ms, 1),
        "capacity_change_ms": round(capacity_ms, 1),
        "by_expected_value_sort_seconds_once_per_rules": round(worth_sort, 2),
        "capacity_change_by_expected_value_ms": round(by_value_ms, 1),
        "target_ms": 200,
        "meets_target": max(threshold_ms, capacity_ms) <= 200,
        "peak_memory_mb_open_and_decide": round(peak_memory_mb(), 1),
        "note": "each change: the outlook on the base (Decide), the per-action summary and "
        "the first page of 1,000 customers (Customers)",
    },
)
