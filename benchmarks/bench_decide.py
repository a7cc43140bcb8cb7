"""Decide page: what a threshold or economics change recomputes, server-side.

Targets: <= 50 ms for the sample, <= 200 ms for 1,000,000 scored customers.

"Threshold change" is the library work the Decide fragment reruns when the
PM moves the cut-off: the decision (tier cut-offs, curve, band, chosen row,
interval range, all measured by applying the policy as production does), the confusion in
money, what the policy does on the base with the doubtful customers, and the review list
ranked by worth. "Capacity change" is the same for a capacity (15% of the customers), whose
rank-and-take runs on the holdout and the base.
"Economics change" adds the alternatives (the rule's own best policy). The
probability sort is done once per model (``Artifact.holdout_sorted``), as in
the app. The 1,000,000-customer case uses synthetic scores with the same
shape of data.
"""

from __future__ import annotations

import time

import numpy as np
from _common import emit, peak_memory_mb

from churn import decisions, targeting
from churn.checks import ColumnMapping
from churn.data import read_table
from churn.decisions import Choice
from churn.economics import default_economics
from churn.policy import (
    baseline_profits,
    decide,
    decide_on_holdout,
    on_customers,
    review_on_customers,
)
from churn.sample import NEW_BATCH_PATH, SAMPLE_PATH
from churn.training import score_frame, train


def timed(fn, repeat: int = 7) -> float:
    best = np.inf
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best * 1000.0


sample = read_table(SAMPLE_PATH)
artifact = train(sample, ColumnMapping.for_table(sample, "churned", id_column="customer_id"))
batch = read_table(NEW_BATCH_PATH, text_columns=("customer_id",))
base = score_frame(artifact, batch).join(batch.drop(columns=["customer_id"]))
economics = default_economics(artifact.holdout_data.columns)
h = artifact.holdout
_ = artifact.holdout_sorted  # sorted once per model, as in the app


def _on_the_base(d) -> None:
    on_customers(d, economics, base, "customer_id")  # contacted and doubtful on the base
    review_on_customers(d, economics, base, "customer_id")


def sample_threshold_change(t: float = 0.3) -> None:
    _on_the_base(decide_on_holdout(artifact, economics, Choice("threshold", t)))


def sample_capacity_change(share: float = 0.15) -> None:
    _on_the_base(decide_on_holdout(artifact, economics, Choice("top_share", share)))


def sample_economics_change() -> None:
    d = decide_on_holdout(artifact, economics, Choice("threshold", 0.3))
    sample_threshold_change()
    baseline_profits(artifact, economics, d)


# ---- 1,000,000 scored customers
N = 1_000_000
rng = np.random.default_rng(0)
p = np.round(rng.beta(2, 6, N), 6)
spread = rng.uniform(0.02, 0.12, N)
low, high = np.clip(p - spread, 0, 1), np.clip(p + spread, 0, 1)
y = (rng.random(N) < p).astype(float)
big_value = 12 * rng.lognormal(4.2, 0.3, N)
# sorted once per model, as the app does for its holdout
groups = decisions.sorted_groups(p)
o = groups.order
p_s, low_s, high_s, y_s, value_s = p[o], low[o], high[o], y[o], big_value[o]
ready = decisions.presorted(groups)


def _big(choice: Choice) -> None:
    d = decide(p_s, low_s, high_s, y_s, value_s, economics, choice, groups=ready)
    targeting.outlook(p_s, value_s, d.rules, economics, low=low_s, high=high_s, capacity=d.capacity)


def big_threshold_change(t: float = 0.3) -> None:
    _big(Choice("threshold", t))


def big_capacity_change(share: float = 0.15) -> None:
    _big(Choice("top_share", share))


emit(
    "decide_recompute",
    {
        "sample_holdout_customers": len(h),
        "sample_base_customers": len(base),
        "sample_threshold_change_ms": round(timed(sample_threshold_change), 1),
        "sample_economics_change_ms": round(timed(sample_economics_change), 1),
        "sample_capacity_change_ms": round(timed(sample_capacity_change), 1),
        "sample_target_ms": 50,
        "customers_1m": N,
        "threshold_change_1m_ms": round(timed(big_threshold_change, repeat=3), 1),
        "capacity_change_1m_ms": round(timed(big_capacity_change, repeat=3), 1),
        "target_1m_ms": 200,
        "sort_once_1m_ms": round(timed(lambda: decisions.sorted_groups(p), repeat=3), 1),
        "peak_memory_mb": round(peak_memory_mb(), 1),
    },
)
