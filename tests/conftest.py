"""Shared fixtures: the sample data and every model the tests train, each trained once.

Every training in the tests goes through :func:`train_model` (the library's ``train()``,
called nowhere else in ``tests/``) or through the command line's ``train`` in the
fixtures below, so a change to how ``train()`` takes its column roles touches this file
only. The models are session fixtures shared by many modules: never write into one;
copy a model directory first (``shutil.copytree``).

The figures ``test_quality.py`` checks (reference models tuned on the shared tables) are
computed in a process of their own, started right after collection, so they are fitted
on the second core while the other tests run (:func:`quality_results`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from churn.artifact import Artifact, save_artifact
from churn.cli import main
from churn.sample import NEW_BATCH_PATH, SAMPLE_PATH
from churn.training import train

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATASETS = ROOT.parent / "shared" / "datasets"
QUALITY_JOB = Path(__file__).with_name("_quality_job.py")


# --------------------------------------------------------------------------- training
def train_model(
    frame: pd.DataFrame,
    target: str,
    *,
    positive: str | None = None,
    id_column: str | None = None,
    **options: Any,
) -> Artifact:
    """``churn.training.train`` with the column roles by name: the one call of it in the tests.

    ``options`` are ``train()``'s other keywords (``seed``, ``n_boot``, ``source``, ...).
    """
    return train(frame, target, positive, id_column, **options)


def train_sample(frame: pd.DataFrame, **options: Any) -> Artifact:
    """A model on the sample's columns (target ``churned``, id ``customer_id``)."""
    return train_model(frame, "churned", id_column="customer_id", **options)


def cli_train(data: Path, out: Path, *flags: object) -> Path:
    """``python -m churn --quiet train --data data --out out *flags``, in this process."""
    code = main(["--quiet", "train", "--data", str(data), "--out", str(out), *map(str, flags)])
    assert code == 0, f"training {data} through the command line failed"
    return out


@pytest.fixture(scope="session")
def sample_frame() -> pd.DataFrame:
    return pd.read_csv(SAMPLE_PATH)


@pytest.fixture(scope="session")
def new_batch_frame() -> pd.DataFrame:
    return pd.read_csv(NEW_BATCH_PATH)


@pytest.fixture(scope="session")
def trained(sample_frame: pd.DataFrame) -> Artifact:
    """The default model on the sample (as the app and the CLI train it)."""
    return train_sample(sample_frame, source=SAMPLE_PATH.name)


@pytest.fixture(scope="session")
def trained_seed_1(sample_frame: pd.DataFrame) -> Artifact:
    """The sample's model with another seed (split, model and bootstrap)."""
    return train_sample(sample_frame, seed=1)


@pytest.fixture(scope="session")
def train_table() -> Callable[..., Artifact]:
    """:func:`train_model`, for tests that train on tables of their own."""
    return train_model


@pytest.fixture(scope="session")
def model_dir(trained: Artifact, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``trained``, saved (read-only: copy it before writing into it)."""
    directory = tmp_path_factory.mktemp("model") / "sample-model"
    save_artifact(trained, directory)
    return directory


@pytest.fixture(scope="session")
def cli_sample_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample model trained once through the command line (read-only)."""
    out = tmp_path_factory.mktemp("cli-model") / "model"
    return cli_train(SAMPLE_PATH, out, "--target", "churned", "--id", "customer_id")


@pytest.fixture(scope="session")
def messy_export(sample_frame: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """1,200 customers exported badly: semicolons, Latin-1, money as text, a leak."""
    frame = sample_frame.head(1200).copy()
    frame["churned"] = np.where(frame["churned"] == 1, "Yes", "No")
    frame["monthly_charges"] = frame["monthly_charges"].map(lambda v: f"€ {v:.2f}")
    frame["closed_on"] = np.where(frame["churned"] == "Yes", "2024-03-01", "")
    path = tmp_path_factory.mktemp("messy") / "export.csv"
    path.write_bytes(frame.to_csv(sep=";", index=False).encode("cp1252"))
    return path


@pytest.fixture(scope="session")
def messy_model(messy_export: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A second, small model, trained through the command line on ``messy_export`` with
    every column-role flag (read-only)."""
    out = tmp_path_factory.mktemp("models") / "messy"
    return cli_train(
        messy_export, out, "--target", "churned", "--id", "customer_id",
        "--value-column", "monthly_charges", "--segment", "gender", "--segment", "age",
        "--exclude", "plan",
    )  # fmt: skip


# ------------------------------------------------------- the quality figures, beside the rest
_QUALITY = pytest.StashKey[tuple[subprocess.Popen, Path, Any]]()


def _start_quality_job(config: pytest.Config) -> None:
    handle, name = tempfile.mkstemp(prefix="churn-quality-", suffix=".json")
    os.close(handle)
    log = tempfile.TemporaryFile("w+")  # noqa: SIM115  (closed at the session's end)
    job = subprocess.Popen(
        [sys.executable, str(QUALITY_JOB), str(SHARED_DATASETS), name],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    config.stash[_QUALITY] = (job, Path(name), log)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start the quality job when a collected test needs its figures (and the tables exist)."""
    if session.config.option.collectonly or not SHARED_DATASETS.is_dir():
        return
    if any("quality_results" in getattr(item, "fixturenames", ()) for item in session.items):
        _start_quality_job(session.config)


def pytest_sessionfinish(session: pytest.Session) -> None:
    started = session.config.stash.get(_QUALITY, None)
    if started is None:
        return
    job, path, log = started
    if job.poll() is None:  # the session ended early (-x, Ctrl-C): the figures are not needed
        job.kill()
        job.wait()
    log.close()
    path.unlink(missing_ok=True)


@pytest.fixture(scope="session")
def quality_results(request: pytest.FixtureRequest) -> dict[str, dict[str, float]]:
    """Holdout ROC-AUC of ours and both references for every shared table
    (``_quality_job.py``), waiting for the job started after collection."""
    if _QUALITY not in request.config.stash:
        _start_quality_job(request.config)
    job, path, log = request.config.stash[_QUALITY]
    if job.wait() != 0:
        log.seek(0)
        pytest.fail(f"the quality job failed (exit {job.returncode}):\n{log.read()[-4000:]}")
    return json.loads(path.read_text(encoding="utf-8"))
