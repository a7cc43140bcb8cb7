"""The Export page, driven headless with AppTest.

Download payloads are recorded from AppTest's in-memory media store (see
``test_page_customers.py``), so the tests check the exact bytes a user gets.
"""

from __future__ import annotations

import io
import json
import shlex
import zipfile
from collections.abc import Iterator
from pathlib import PurePosixPath

import pandas as pd
import pytest
from apptest_downloads import open_page
from streamlit.testing.v1 import AppTest

from churn import export
from churn.artifact import load_artifact
from churn.policy import decide_on_holdout, validate_policy

TIMEOUT = 120


@pytest.fixture(scope="module")
def page() -> Iterator[tuple[AppTest, dict[str, bytes]]]:
    with open_page("pages/export.py") as opened:
        yield opened


def _download(at: AppTest, store: dict[str, bytes], label_start: str) -> bytes:
    (button,) = [b for b in at.get("download_button") if b.label.startswith(label_start)]
    return store[PurePosixPath(button.proto.url).stem]


def _artifact():
    from pages.common import sample_artifact

    return sample_artifact()


def _shown_policy(at: AppTest) -> dict:
    (code,) = [c for c in at.code if c.language == "json"]
    return json.loads(code.value)


def test_renders_without_exceptions(page):
    at, _ = page
    assert not at.exception
    assert at.title[0].value == "Export"


def test_shows_the_models_fingerprint(page):
    at, _ = page
    fingerprint = _artifact().fingerprint
    assert fingerprint in [c.value for c in at.code]
    assert _shown_policy(at)["model_fingerprint"] == fingerprint


def test_shown_policy_validates_and_has_the_sessions_rules(page):
    at, store = page
    policy = _shown_policy(at)
    validate_policy(policy)
    scenario = at.session_state["scenario"]
    decision = decide_on_holdout(_artifact(), scenario.economics, scenario.choice)
    assert policy["rules"] == [r.to_dict() for r in decision.rules]
    assert policy["choice"] == scenario.choice.to_dict()
    assert set(policy["expected"]["baselines_profit_per_customer"]) >= {"nobody", "rule"}
    downloaded = json.loads(_download(at, store, "Download the policy"))
    assert downloaded["rules"] == policy["rules"]
    validate_policy(downloaded)
    assert any(policy["review_by"] in i.value for i in at.info)


def test_commands_name_the_policy_and_the_train_command(page):
    at, _ = page
    policy = _shown_policy(at)
    scripts = "\n".join(c.value for c in at.code if c.language == "bash")
    assert (
        "python -m churn train --data data/sample_customers.csv --target churned "
        "--id customer_id --out models/churn"
    ) in scripts
    score = export.score_command(
        "models/churn", "data/sample_new_batch.csv", export.policy_file_name(policy), "scores.csv"
    )
    assert score in scripts
    assert shlex.split(score)[-2:] == ["--policy", export.policy_file_name(policy)]
    golden = export.golden_commands("models/churn", export.policy_file_name(policy))
    assert golden.rstrip("\n") in scripts


def test_model_download_is_the_model_of_the_policy(page, tmp_path):
    at, store = page
    with zipfile.ZipFile(io.BytesIO(_download(at, store, "Download this model"))) as archive:
        archive.extractall(tmp_path / "model")
    assert load_artifact(tmp_path / "model").fingerprint == _shown_policy(at)["model_fingerprint"]


def test_golden_sample_table_and_download(page):
    at, store = page
    golden = at.dataframe[0].value
    assert len(golden) == 20
    assert {"customer_id", "churn_probability", "expected_action"} <= set(golden.columns)
    policy = _shown_policy(at)
    actions = {r["action"] for r in policy["rules"]} | {policy["default_action"]}
    assert set(golden["expected_action"]) == actions
    back = pd.read_csv(io.BytesIO(_download(at, store, "Download the golden sample")))
    assert back["customer_id"].tolist() == golden["customer_id"].tolist()
    assert back["expected_action"].tolist() == golden["expected_action"].tolist()
