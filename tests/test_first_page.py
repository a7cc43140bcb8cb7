"""The landing page on a cold start: what it needs is light to import, and what it shows is
what the full library computes.

A visitor's first page needs neither LightGBM nor scikit-learn (about 1 s of a 2-core cold
start): the sample model's files are read and checked and the model is built when first
used (``load_artifact(..., build_model=False)``), and the sample's latest snapshot comes
with the scores ``python -m churn score`` gave it (``data/sample_new_batch_scores.parquet``).
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from churn import sample
from churn.artifact import ModelFiles, load_artifact, save_artifact
from churn.data import read_table
from churn.errors import ChurnInputError
from churn.scored_base import FINGERPRINT_KEY
from churn.training import SCORE_COLUMNS, score_frame, scored_customers

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("lightgbm", "sklearn", "scipy", "shap")


def _run(code: str) -> dict:
    """Run ``code`` in a fresh interpreter in the project folder; it prints one JSON line."""
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_landing_page_imports_neither_lightgbm_nor_scikit_learn() -> None:
    result = _run(
        f"""
import json, sys
import app_pages.common
from churn import charts
from streamlit.elements import vega_charts
app_pages.common.warm_up = lambda: None  # what the page itself needs, not the warm-up's
# every spec the pages make waits while another visitor's st.altair_chart has Altair's
# global settings changed, from the first page on
lock = charts._lock is vega_charts._altair_globals_lock
from streamlit.testing.v1 import AppTest
at = AppTest.from_file("{ROOT / "app.py"}", default_timeout=120).run()
print(json.dumps({{
    "exceptions": [str(e.value) for e in at.exception],
    "errors": [e.value for e in at.error],
    "title": [t.value for t in at.title],
    "warnings": [w.value for w in at.warning],
    "heavy": [m for m in {HEAVY!r} if m in sys.modules],
    "lock": lock,
}}))
"""
    )
    assert result["lock"], "importing app_pages.common must put Streamlit's lock on the specs"
    assert result["exceptions"] == [] and result["errors"] == []
    assert result["title"] == ["Can we rely on it?"]
    # the drift banner is there: the snapshot's scores were used, not left out
    assert any("differ significantly" in w for w in result["warnings"])
    assert result["heavy"] == [], f"the first page imported {result['heavy']}"


def test_importing_one_module_of_the_package_imports_no_other() -> None:
    result = _run(
        """
import json, sys
import churn.errors, churn.report
before = [m for m in ("churn.model", "churn.training", "lightgbm", "sklearn") if m in sys.modules]
import churn
train = churn.train  # the package's short-hand still works, on first use
listed = sorted(n for n in dir(churn) if n in churn.__all__)
print(json.dumps({"before": before, "after": "churn.training" in sys.modules,
                  "all": sorted(churn.__all__) == listed}))
"""
    )
    assert result == {"before": [], "after": True, "all": True}


def test_an_unknown_name_of_the_package_is_an_attribute_error() -> None:
    import churn

    with pytest.raises(AttributeError, match="no_such_thing"):
        churn.no_such_thing  # noqa: B018


def test_the_package_docstrings_example_runs_after_import_churn() -> None:
    """``import churn`` then ``churn.data.read_table`` (a module reached as an attribute),
    as the package's docstring shows, in a fresh process."""
    result = _run(
        """
import json
import churn
frame = churn.data.read_table("data/sample_customers.csv")
print(json.dumps({"rows": len(frame), "mapping": churn.ColumnMapping.__name__}))
"""
    )
    assert result == {"rows": 10_000, "mapping": "ColumnMapping"}


# ------------------------------------------------------------------- the model built on use
def test_a_model_built_on_first_use_is_the_loaded_one() -> None:
    built = load_artifact(sample.MODEL_DIR)
    deferred = load_artifact(sample.MODEL_DIR, build_model=False)
    assert isinstance(deferred.__dict__["_model"], ModelFiles)
    assert deferred.spec.columns == built.spec.columns
    assert deferred.preparation.to_dict() == built.preparation.to_dict()
    # the model card's facts, from the files and from the built model
    facts = deferred.model_facts
    assert isinstance(deferred.__dict__["_model"], ModelFiles)  # still not built
    assert facts == built.model_facts
    assert facts["n_members"] == len(built.model.boosters_)
    rows = built.holdout_data
    p = deferred.model.predict_proba(rows)  # built here
    assert not isinstance(deferred.__dict__["_model"], ModelFiles)
    np.testing.assert_array_equal(p, built.model.predict_proba(rows))
    assert deferred.files() == built.files()


def test_a_deferred_model_saves_with_its_fingerprint(tmp_path: Path) -> None:
    deferred = load_artifact(sample.MODEL_DIR, build_model=False)
    assert save_artifact(deferred, tmp_path / "model") == deferred.fingerprint
    assert load_artifact(tmp_path / "model").fingerprint == deferred.fingerprint


def test_two_threads_asking_at_once_get_one_model() -> None:
    deferred = load_artifact(sample.MODEL_DIR, build_model=False)
    models: list[object] = []
    threads = [threading.Thread(target=lambda: models.append(deferred.model)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(models) == 4 and all(m is models[0] for m in models)


def test_a_damaged_member_is_refused_when_the_model_is_built(tmp_path: Path) -> None:
    """Read without building, a member file is checked against the manifest only; what
    LightGBM cannot read is refused with a sentence naming it when the model is built."""
    deferred = load_artifact(sample.MODEL_DIR, build_model=False)
    files = deferred.__dict__["_model"]
    texts = {**files.texts, "member_03.txt": "tree\nversion=v4\nnot a model\n"}
    deferred.__dict__["_model"] = ModelFiles(texts, "the model directory")
    with pytest.raises(ChurnInputError, match=r"member_03\.txt in the model directory is damaged"):
        deferred.model  # noqa: B018


# ---------------------------------------------------------------- the snapshot's shipped scores
@pytest.fixture(scope="module")
def batch() -> pd.DataFrame:
    return read_table(sample.NEW_BATCH_PATH, text_columns=("customer_id",))


def test_the_shipped_scores_are_what_score_gives_the_snapshot_now(batch: pd.DataFrame) -> None:
    """``data/sample_new_batch_scores.parquet`` is this model's (its fingerprint) and holds,
    bit for bit, what scoring the snapshot with it gives today; regenerate it with
    ``python -m churn.sample`` when the model changes."""
    artifact = load_artifact(sample.MODEL_DIR)
    parquet = pq.ParquetFile(sample.NEW_BATCH_SCORES_PATH)
    assert parquet.schema_arrow.metadata[FINGERPRINT_KEY.encode()].decode() == (
        artifact.fingerprint
    ), "the shipped scores are another model's: run 'python -m churn.sample' and commit"
    shipped = parquet.read().to_pandas()
    assert shipped["customer_id"].tolist() == batch["customer_id"].tolist()
    fresh = score_frame(artifact, batch)
    for column in SCORE_COLUMNS:
        np.testing.assert_array_equal(shipped[column].to_numpy(), fresh[column].to_numpy())


def test_the_latest_snapshot_is_the_same_read_or_scored(
    batch: pd.DataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    artifact = load_artifact(sample.MODEL_DIR, build_model=False)
    read = sample.latest_snapshot(artifact)
    assert isinstance(artifact.__dict__["_model"], ModelFiles)  # nothing was scored
    scored = scored_customers(load_artifact(sample.MODEL_DIR), batch)
    pd.testing.assert_frame_equal(read, scored)
    assert len(read) == len(batch)  # every customer of the snapshot can be scored

    # another model's scores, or other customers' (a row fewer), are not used: it scores
    other = replace(artifact, fingerprint="0" * 64)
    pd.testing.assert_frame_equal(sample.latest_snapshot(other), scored)
    shorter = tmp_path / "scores.parquet"
    table = pq.read_table(sample.NEW_BATCH_SCORES_PATH)
    pq.write_table(table.slice(1), shorter)
    with monkeypatch.context() as patch:
        patch.setattr(sample, "NEW_BATCH_SCORES_PATH", shorter)
        fresh = load_artifact(sample.MODEL_DIR, build_model=False)
        pd.testing.assert_frame_equal(sample.latest_snapshot(fresh), scored)
        assert not isinstance(fresh.__dict__["_model"], ModelFiles)  # it was scored here

    # the same customers with other values (the same ids, in order): scored again
    changed = batch.copy()
    changed["monthly_charges"] = changed["monthly_charges"] * 10
    path = tmp_path / "changed.csv"
    changed.to_csv(path, index=False)
    monkeypatch.setattr(sample, "NEW_BATCH_PATH", path)
    fresh = load_artifact(sample.MODEL_DIR, build_model=False)
    again = sample.latest_snapshot(fresh)
    assert not isinstance(fresh.__dict__["_model"], ModelFiles)  # it was scored here
    assert again["customer_id"].tolist() == scored["customer_id"].tolist()
    assert not np.array_equal(again["churn_probability"], scored["churn_probability"])


def test_the_warm_up_builds_the_shared_model_once() -> None:
    """After the first page, the sample model is built (and the other pages' libraries
    imported) in the background, once per server."""
    result = _run(
        f"""
import json, sys
from streamlit.testing.v1 import AppTest
at = AppTest.from_file("{ROOT / "app.py"}", default_timeout=120).run()
import app_pages.common as common
thread = common.warm_up(after_s=0.0)
thread.join(120)
at.run()
print(json.dumps({{
    "same_thread": common.warm_up() is thread,
    "built": type(common.sample_artifact().__dict__["_model"]).__name__,
    "heavy": [m for m in {HEAVY!r} if m in sys.modules],
}}))
"""
    )
    assert result["same_thread"] and result["built"] == "ChurnModel"
    assert set(result["heavy"]) >= {"lightgbm", "sklearn", "scipy"}


def test_write_sample_scores_writes_what_is_shipped(tmp_path: Path) -> None:
    """``python -m churn.sample`` regenerates the shipped scores with the command line."""
    path = sample.write_sample_scores(path=tmp_path / "scores.parquet")
    written, shipped = pq.ParquetFile(path), pq.ParquetFile(sample.NEW_BATCH_SCORES_PATH)
    for key in (FINGERPRINT_KEY.encode(), sample.SCORED_FILE_KEY.encode()):
        assert written.schema_arrow.metadata[key] == shipped.schema_arrow.metadata[key]
    assert written.read().equals(shipped.read())
