"""A past campaign at scale: ``python -m churn campaign`` on 100,000 customers.

Target: <= 60 s on 2 cores, peak memory <= 1.5 GB, from the CSV file to the written
campaign model directory: read, check, arms, average effect, balance (standardised
differences and the cross-validated classifier), the uplift model (CV choice of each
arm's trees, bagged members, out-of-bag scores), the holdout evaluation (kept per 1,000
contacts by uplift, by risk and at random, both Qini curves and the deciles, all with 200
bootstrap replicates), the groups where contacting backfires, and the save. The campaign
is the sample generator's (``churn.sample.generate_campaign``): its true effects also
give the uplift ranking's Spearman correlation with the truth on 20,000 fresh customers
(not timed). Run as ``python benchmarks/bench_campaign.py [ROWS]``.
"""

from __future__ import annotations

import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import emit, peak_memory_mb
from scipy.stats import spearmanr

from churn.campaign_model import (
    CampaignRoles,
    load_campaign,
    save_campaign,
    score_campaign_frame,
    train_campaign,
)
from churn.data import read_table
from churn.sample import generate_campaign, generate_customers, true_contact_effect

ROWS = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000


def cpu_seconds() -> float:
    """CPU time of this process so far (user + system, all threads), in seconds: on a busy
    machine it says what the wall time would be on an idle one (the work is single-threaded
    but for scoring)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    frame, _ = generate_campaign(ROWS, seed=2027)
    stages: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder) / "campaign.csv"
        frame.to_csv(data, index=False)
        del frame
        out = Path(folder) / "campaign-model"
        # what ``python -m churn campaign --data ... --out ...`` runs, step by step
        start, cpu_start = time.perf_counter(), cpu_seconds()
        last = [start, "reading"]

        def step(message: str) -> None:
            now = time.perf_counter()
            stages[last[1]] = round(now - last[0], 2)
            last[:] = [now, message.split(" on ")[0].split(" (")[0]]

        table = read_table(data, text_columns=("customer_id",))
        roles = CampaignRoles("churned", "contacted", id_column="customer_id")
        model = train_campaign(table, roles, source=data.name, progress=step)
        step("writing")
        save_campaign(model, out)
        step("")
        seconds = time.perf_counter() - start
        cpu = cpu_seconds() - cpu_start
        peak = peak_memory_mb()
        model = load_campaign(out)
    customers, _ = generate_customers(20_000, seed=424_242)
    truth = true_contact_effect(customers)
    effect = (truth["p_without_contact"] - truth["p_with_contact"]).to_numpy()
    scored = score_campaign_frame(model, customers.drop(columns="churned"))
    k = int(0.2 * effect.size)

    def kept(score: np.ndarray) -> float:
        return round(float(effect[np.argsort(-score, kind="stable")[:k]].sum()), 1)

    r = model.results
    at = {
        (row["ranking"], row["budget"]): round(row["kept_per_1000"], 1)
        for row in r["holdout"]["kept_per_1000_contacts"]
    }
    emit(
        "campaign",
        {
            "rows": ROWS,
            "seconds": round(seconds, 2),
            "cpu_seconds": round(cpu, 2),
            "stages": stages,
            "target_seconds": 60,
            "peak_memory_mb": round(peak, 1),
            "target_memory_mb": 1536,
            "meets_target": seconds <= 60 and peak <= 1536,
            "rounds": r["model"]["rounds"],
            "ate": r["ate"],
            "holdout_kept_per_1000_at_20pct": {
                name: at[(name, 0.2)] for name in ("uplift", "churn_risk", "random")
            },
            "fresh_20000": {
                "spearman_uplift_vs_true_effect": round(
                    float(spearmanr(scored["uplift"], effect)[0]), 3
                ),
                "true_kept_top_20pct_by_uplift": kept(scored["uplift"].to_numpy()),
                "true_kept_top_20pct_by_risk": kept(scored["churn_probability"].to_numpy()),
                "true_kept_top_20pct_oracle": round(float(np.sort(effect)[::-1][:k].sum()), 1),
            },
        },
    )


if __name__ == "__main__":
    main()
