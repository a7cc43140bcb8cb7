"""All-threshold curves for 1,000,000 scores, against a naive per-threshold loop.

Target: <= 0.5 s. The naive loop recomputes counts and profit from scratch at
each threshold; it is timed on a sample of thresholds and scaled to all of them.
"""

from __future__ import annotations

import time

import numpy as np
from _common import best_of, emit, peak_memory_mb

from churn.decisions import threshold_curve
from churn.economics import default_economics

N = 1_000_000
rng = np.random.default_rng(0)
p = np.round(rng.beta(2, 6, N), 6)
y = (rng.random(N) < p).astype(float)
value = 12 * rng.lognormal(4.2, 0.3, N)
economics = default_economics()  # two actions: tiers are found by dynamic programming too
single = type(economics)(economics.actions[:1], value_constant=500.0)

fast = best_of(lambda: threshold_curve(p, economics, value, y), repeat=3)
fast_single = best_of(lambda: threshold_curve(p, single, value, y), repeat=3)
curve = threshold_curve(p, single, value, y)
n_thresholds = len(curve) - 1

action = single.actions[0]
profit_each = action.profit(y, value)


def naive(thresholds: np.ndarray) -> None:
    for t in thresholds:
        targeted = p >= t
        tp = y[targeted].sum()
        n_t = targeted.sum()
        _ = (tp / max(n_t, 1), tp / y.sum(), profit_each[targeted].sum())


sample = rng.choice(curve["threshold"].to_numpy()[1:], 50, replace=False)
start = time.perf_counter()
naive(sample)
naive_per_threshold = (time.perf_counter() - start) / sample.size
naive_total = naive_per_threshold * n_thresholds
emit(
    "threshold_curves_1m",
    {
        "scores": N,
        "distinct_thresholds": n_thresholds,
        "seconds_two_action_tiers": round(fast, 3),
        "seconds_one_action": round(fast_single, 3),
        "target_seconds": 0.5,
        "meets_target": fast <= 0.5,
        "naive_seconds_extrapolated": round(naive_total, 1),
        "speedup_vs_naive": round(naive_total / fast_single),
        "peak_memory_mb": round(peak_memory_mb(), 1),
    },
)
