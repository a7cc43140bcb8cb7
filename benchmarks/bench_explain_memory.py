"""Explanations within a memory and time budget: deep trees on a 100,000-row, 50-column upload.

Targets (the hosted demo has about 1 GB): the whole upload path, from the file's bytes
to every customer's SHAP values, peaks at <= 1 GB of process memory, and the SHAP
values of 20,000 customers take <= 10 s on 2 cores.

The table is ``bench_upload.py``'s export (the sample's process plus 32 extra columns of
the kinds real exports carry), but whether a customer churns also depends on strong
interactions between some of the extra columns (signs of products of noise numbers, a
category crossed with a number), so the trees come out deep. By default the model is
pinned to 31 leaves per tree (``model_params``: the deepest shape the cross-validation
chooses from, with its ``min_child_samples``), the case that exhausted memory; ``--auto``
lets the cross-validation choose the shape (and says what it chose).

Stages: read (CSV bytes), suggest, check, train, score, the customers to act on (the
training table scored out-of-fold without those who churned, as the pages do after an
upload), explain them (as Why? and Customers do), and the SHAP values of 20,000 of
them again, timed (the trees already read). Peak memory is the process's
(``ru_maxrss``), after each stage. Run as
``python benchmarks/bench_explain_memory.py [ROWS] [--auto]``.
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np
from _common import emit, peak_memory_mb, suggested_mapping, upload_extras

from churn._treeshap import _member_shapes
from churn.checks import check_data
from churn.explain import explain
from churn.ingest import read_bytes
from churn.sample import generate_customers
from churn.training import customers_to_act_on, score_frame, train

ARGS = [a for a in sys.argv[1:] if not a.startswith("--")]
ROWS = int(ARGS[0]) if ARGS else 100_000
AUTO = "--auto" in sys.argv[1:]
TIMED_ROWS = 20_000
MEMORY_TARGET_MB = 1024
TIME_TARGET_S = 10.0


def make_deep_export(rows: int) -> bytes:
    """The upload benchmark's export, with churn driven by interactions too (deep trees)."""
    frame, probability = generate_customers(rows, seed=7)
    rng = np.random.default_rng(8)
    extra = upload_extras(rows, rng)
    m = [extra[f"metric_{i}"] for i in range(12)]
    logit = np.log(probability / (1.0 - probability))
    logit += 1.4 * np.sign(m[0] * m[1])  # XOR-like: no single split helps
    logit += 1.2 * np.sign(m[2] * m[3] * m[4])
    logit += 1.0 * np.sign(m[5]) * np.isin(extra["category_0"], ["level_1", "level_3", "level_5"])
    logit += 0.8 * np.sin(3.0 * m[6]) * np.sign(m[7])
    frame["churned"] = (rng.random(rows) < 1.0 / (1.0 + np.exp(-logit))).astype(int)
    frame = frame.assign(**extra)
    return frame.to_csv(index=False).encode()


def main() -> None:
    data = make_deep_export(ROWS)
    stages: dict[str, float] = {}
    memory: dict[str, float] = {}
    start = time.perf_counter()
    t = time.perf_counter()

    def stage(name: str, t0: float) -> float:
        now = time.perf_counter()
        stages[name] = round(now - t0, 2)
        memory[name] = round(peak_memory_mb(), 1)
        print(f"{name}: {stages[name]} s, peak {memory[name]} MB", file=sys.stderr, flush=True)
        return now

    memory["generated"] = round(peak_memory_mb(), 1)
    frame = read_bytes(data, "export.csv")
    file_mb = round(len(data) / 1024 / 1024, 1)
    del data
    t = stage("read", t)
    mapping = suggested_mapping(frame)
    t = stage("suggest", t)
    check = check_data(frame, mapping)
    t = stage("check", t)
    params = None if AUTO else {"num_leaves": 31, "min_child_samples": 10}
    artifact = train(frame, check, model_params=params)
    t = stage("train", t)
    scored = score_frame(artifact, frame)
    t = stage("score_table", t)
    base, _ = customers_to_act_on(artifact, frame)
    t = stage("base", t)
    explanation = explain(artifact, base)
    t = stage("explain_base", t)
    total = time.perf_counter() - start
    timed = base.head(TIMED_ROWS)
    t0 = time.perf_counter()
    timed_expl = explain(artifact, timed)
    shap_seconds = time.perf_counter() - t0
    model = artifact.model
    shapes = _member_shapes(model)
    trees = sum(s.trees for s in shapes)
    peak = peak_memory_mb()
    emit(
        "explain_memory_deep_trees",
        {
            "rows": ROWS,
            "columns": frame.shape[1],
            "file_mb": file_mb,
            "tree_shape": "auto (cross-validation)" if AUTO else "pinned: num_leaves=31",
            "shapes_chosen": model.config_["shapes"],
            "trees": trees,
            "mean_leaves": round(sum(s.leaves for s in shapes) / max(trees, 1), 1),
            "max_depth": max(s.max_depth for s in shapes),
            "max_features_on_a_path": max(s.max_d for s in shapes),
            "tables_would_need_mb": round(sum(s.table_bytes for s in shapes) / 2**20, 1),
            "load_average": [round(x, 2) for x in os.getloadavg()],
            "stages_s": stages,
            "peak_memory_after_mb": memory,
            "total_s": round(total, 2),
            "peak_memory_mb": round(peak, 1),
            "memory_target_mb": MEMORY_TARGET_MB,
            "meets_memory_target": peak <= MEMORY_TARGET_MB,
            "customers_to_explain": len(base),
            "explained": len(explanation),
            "sampled": explanation.sampled,
            "engine": explanation.engine,
            f"shap_{TIMED_ROWS}_s": round(shap_seconds, 2),
            f"shap_{TIMED_ROWS}_explained": len(timed_expl),
            f"shap_{TIMED_ROWS}_engine": timed_expl.engine,
            "page_says": timed_expl.describe_sample(),
            "time_target_s": TIME_TARGET_S,
            "meets_time_target": shap_seconds <= TIME_TARGET_S,
            "holdout_roc_auc": round(artifact.metrics["model"]["roc_auc"], 4),
            "scored_rows": len(scored),
        },
    )


if __name__ == "__main__":
    main()
