"""Shared fixtures: the sample data and every model the tests train, each trained once.

Every model the tests share is trained here, through :func:`train_model` (the library's
``train()``) or the command line's ``train``; only the tests of ``train()`` itself
(``test_model.py``) call it directly. The models are session fixtures shared by many
modules: never write into one; copy a model directory first (``shutil.copytree``).

Right after collection, :func:`pytest_collection_finish` starts the slow, independent work
of the selected test modules (the quality references, the browser session), which then
runs on the second core beside the other tests (see ``_beside.py``); the tests that wait
for it run last.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from _telco import telco_like

from churn.artifact import Artifact, save_artifact
from churn.checks import ColumnMapping
from churn.cli import main
from churn.sample import NEW_BATCH_PATH, SAMPLE_PATH
from churn.training import train


@pytest.fixture(scope="session", autouse=True)
def _no_background_warm_up() -> Iterator[None]:
    """The app's warm-up (``app_pages.common.warm_up``: a timer that builds the sample model
    and freezes the garbage collector's view 3 s after a first page) does not run in the
    tests' process, where it would fire in the middle of some later test; the tests that
    are about it call it themselves. Session-wide and first: a module's fixture that runs
    the app before a test's own fixtures would start it otherwise."""
    import app_pages.common

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(app_pages.common, "warm_up", lambda *args, **kwargs: None)
        yield


# --------------------------------------------------------------------------- training
def train_model(
    frame: pd.DataFrame,
    target: str,
    *,
    positive: str | None = None,
    id_column: str | None = None,
    keep: tuple[str, ...] = (),
    **options: Any,
) -> Artifact:
    """``churn.training.train`` with the column roles by name: the one call of it in the tests.

    ``keep`` are columns the checks would leave out that are put back; ``options`` are
    ``train()``'s other keywords (``seed``, ``n_boot``, ``source``, ...).
    """
    roles = replace(ColumnMapping.for_table(frame, target, positive, id_column), keep=keep)
    return train(frame, roles, **options)


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
def telco_frame() -> pd.DataFrame:
    """A look-alike of the IBM telco export: places, codes, constants, a copy of the target."""
    return telco_like()


@pytest.fixture(scope="session")
def telco_model(telco_frame: pd.DataFrame) -> Artifact:
    """The default model on ``telco_frame`` (as the app and the CLI train it)."""
    return train_model(
        telco_frame, "Churn Label", id_column="CustomerID", n_boot=20, source="telco-like.csv"
    )


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


# ------------------------------------------------------------------- campaign models
@pytest.fixture(scope="session")
def campaign_frame() -> pd.DataFrame:
    """The sample campaign (``data/sample_campaign.csv``), ids as text."""
    from churn.data import read_table
    from churn.sample import CAMPAIGN_PATH

    return read_table(CAMPAIGN_PATH, text_columns=("customer_id",))


@pytest.fixture(scope="session")
def campaign_trained(campaign_frame: pd.DataFrame):
    """The campaign model of the sample campaign (as ``python -m churn campaign`` trains it;
    read-only)."""
    from churn.campaign_model import CampaignRoles, train_campaign

    roles = CampaignRoles(target="churned", treatment="contacted", id_column="customer_id")
    return train_campaign(campaign_frame, roles, source="sample_campaign.csv")


@pytest.fixture(scope="session")
def campaign_dir(campaign_trained, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``campaign_trained``, saved (read-only: copy it before writing into it)."""
    from churn.campaign_model import save_campaign

    directory = tmp_path_factory.mktemp("campaign") / "sample-campaign"
    save_campaign(campaign_trained, directory)
    return directory


# -------------------------------------------------------- work started beside the tests
_BESIDE = pytest.StashKey[list]()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The tests that wait for work started beside run last, when it is most likely done."""
    items.sort(key=lambda item: hasattr(getattr(item, "module", None), "start_beside"))


def pytest_collection_finish(session: pytest.Session) -> None:
    """Call ``start_beside()`` of every test module with a selected test (``_beside.py``)."""
    if session.config.option.collectonly:
        return
    modules = {getattr(item, "module", None): None for item in session.items}
    jobs = [module.start_beside() for module in modules if hasattr(module, "start_beside")]
    session.config.stash[_BESIDE] = [job for job in jobs if job is not None]


def pytest_sessionfinish(session: pytest.Session) -> None:
    for job in session.config.stash.get(_BESIDE, []):
        job.stop()
