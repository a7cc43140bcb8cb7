"""Shared fixtures: the sample data and one model trained on it per test session."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from churn.artifact import Artifact, save_artifact
from churn.checks import ColumnMapping
from churn.sample import NEW_BATCH_PATH, SAMPLE_PATH
from churn.training import train

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATASETS = ROOT.parent / "shared" / "datasets"


@pytest.fixture(scope="session")
def sample_frame() -> pd.DataFrame:
    return pd.read_csv(SAMPLE_PATH)


@pytest.fixture(scope="session")
def new_batch_frame() -> pd.DataFrame:
    return pd.read_csv(NEW_BATCH_PATH)


@pytest.fixture(scope="session")
def trained(sample_frame: pd.DataFrame) -> Artifact:
    """The default model on the sample (as the app and the CLI train it)."""
    roles = ColumnMapping.for_table(sample_frame, "churned", id_column="customer_id")
    return train(sample_frame, roles, source=SAMPLE_PATH.name)


@pytest.fixture(scope="session")
def model_dir(trained: Artifact, tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("model") / "sample-model"
    save_artifact(trained, directory)
    return directory
