"""Model quality on real public churn tables, against what a data scientist would fit.

For every shared table (``../shared/datasets``, outside the repository; the
module skips when the folder is absent, so a fresh clone passes), on exactly
the holdout split ``train()`` uses, the default pipeline's holdout ROC-AUC is
within 0.005 of the better of

* a LightGBM tuned by random search with stratified k-fold CV and early
  stopping on the 80% part, and
* a one-hot, standardised logistic regression with ``C`` chosen by CV.

The references are fitted once per session, never hard-coded, by ``_quality_job.py`` in
a process of its own, started right after collection (:func:`start_beside`), so the
fitting goes on beside the other tests. The search is
smaller than in ``benchmarks/bench_quality.py`` (8 configurations, 3 folds, against
30 and 5) to keep the run time modest; the benchmark runs the full one.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from _beside import ProcessJob

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATASETS = ROOT.parent / "shared" / "datasets"
sys.path.insert(0, str(ROOT / "benchmarks"))

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not SHARED_DATASETS.is_dir(), reason=f"shared datasets not present ({SHARED_DATASETS})"
    ),
]

TARGET_GAP = 0.005


def _tables():
    if not SHARED_DATASETS.is_dir():
        return []
    from _quality import shared_tables

    return shared_tables(SHARED_DATASETS)


TABLES = _tables()
_JOB: ProcessJob | None = None


def start_beside() -> ProcessJob | None:
    """Start fitting the references right after collection (``conftest.py``, ``_beside.py``)."""
    global _JOB
    if SHARED_DATASETS.is_dir() and _JOB is None:
        job = Path(__file__).with_name("_quality_job.py")
        _JOB = ProcessJob([sys.executable, str(job), str(SHARED_DATASETS)], cwd=ROOT)
    return _JOB


@pytest.fixture(scope="module")
def quality_results() -> dict[str, dict[str, float]]:
    """Holdout ROC-AUC of ours and both references for every shared table."""
    return (_JOB or start_beside()).result()


def test_there_are_tables_to_check():
    assert TABLES, f"no known churn table in {SHARED_DATASETS}"


@pytest.mark.parametrize("name", [t.name for t in TABLES])
def test_default_pipeline_is_within_target_of_tuned_references(quality_results, name):
    result = quality_results[name]
    best = max(result["lightgbm"], result["logistic"])
    assert best - result["ours"] <= TARGET_GAP, result
