"""How much a churn model gains from more customers: the learning curve behind
``churn.training.TRAIN_SAMPLE_SIZE``.

Customers are drawn from the sample's process (``churn.sample.generate_customers``, whose
true churn probabilities are known). The model (:class:`churn.model.ChurnModel`, the
defaults ``train`` uses) is fitted on nested stratified samples of growing size and scored
on the same 200,000 fresh customers: ROC-AUC and log loss, against the best any model can
do (the true probabilities). Sizes default to 25,000 ... 600,000; pass others as
arguments (``python benchmarks/bench_learning_curve.py 50000 100000``).
"""

from __future__ import annotations

import sys
import time

from _common import emit, peak_memory_mb
from sklearn.metrics import log_loss, roc_auc_score

from churn.checks import ColumnMapping, check_data
from churn.model import ChurnModel
from churn.sample import generate_customers
from churn.training import stratified_sample

sizes = [int(a) for a in sys.argv[1:]] or [25_000, 50_000, 100_000, 200_000, 300_000, 600_000]
pool, _ = generate_customers(max(sizes), seed=101)
test, truth = generate_customers(200_000, seed=202, id_offset=10_000_000)
mapping = ColumnMapping.for_table(pool, "churned", id_column="customer_id")
check = check_data(pool, mapping)
X, y = check.features, check.y
X_test, _ = check.preparation.apply(test)
y_test = test["churned"].to_numpy()
best = {
    "roc_auc": round(float(roc_auc_score(y_test, truth)), 4),
    "log_loss": round(float(log_loss(y_test, truth)), 4),
}
curve = []
for size in sorted(sizes):
    rows = stratified_sample(y, size, seed=0)
    start = time.perf_counter()
    model = ChurnModel(random_state=0).fit(X.iloc[rows], y[rows])
    seconds = time.perf_counter() - start
    p = model.predict_proba(X_test[model.spec_.columns])[:, 1]
    auc = float(roc_auc_score(y_test, p))
    curve.append(
        {
            "customers": size,
            "roc_auc": round(auc, 4),
            "log_loss": round(float(log_loss(y_test, p)), 4),
            "auc_gap_to_truth": round(best["roc_auc"] - auc, 4),
            "fit_seconds": round(seconds, 1),
        }
    )
    print(curve[-1], file=sys.stderr, flush=True)
emit(
    "learning_curve",
    {
        "test_customers": len(test),
        "true_probabilities": best,
        "curve": curve,
        "peak_memory_mb": round(peak_memory_mb(), 1),
    },
)
