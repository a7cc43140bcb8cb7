"""The figures ``test_quality.py`` checks, computed in a process of their own.

``python tests/_quality_job.py DATASETS_FOLDER OUT.json``: for every shared table in the
folder, the holdout ROC-AUC of the default pipeline (``train()``, through
``conftest.train_model``) and of the two references of ``benchmarks/_quality.py`` (a
LightGBM tuned by random search, 8 configurations and 3-fold CV, and a logistic regression
with ``C`` by 3-fold CV), written as JSON. ``conftest.py`` starts it after collection, so
this work runs beside the other tests; it is the same computation, single-threaded and
seeded, that the test would otherwise do in its own process.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
for folder in (TESTS, ROOT / "benchmarks", ROOT):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))


def quality_results(folder: Path) -> dict[str, dict[str, float]]:
    """Holdout ROC-AUC of ours and both references for every shared table in ``folder``."""
    from _quality import logistic_auc, shared_tables, split, tuned_lightgbm_auc
    from conftest import train_model

    out = {}
    for table in shared_tables(folder):
        artifact = train_model(
            table.frame,
            table.target,
            positive=table.positive,
            id_column=table.id_column,
            n_boot=20,
        )
        data = split(table)
        out[table.name] = {
            "ours": artifact.metrics["model"]["roc_auc"],
            "lightgbm": tuned_lightgbm_auc(data, n_configs=8, folds=3)["holdout_roc_auc"],
            "logistic": logistic_auc(data, folds=3)["holdout_roc_auc"],
        }
    return out


if __name__ == "__main__":
    results = quality_results(Path(sys.argv[1]))
    text = json.dumps(results, indent=1)
    if len(sys.argv) > 2:
        Path(sys.argv[2]).write_text(text, encoding="utf-8")
    else:
        print(text)
