"""The Export page, driven headless with AppTest.

Download payloads are recorded from AppTest's in-memory media store (see
``test_page_customers.py``), so the tests check the exact bytes a user gets.
"""

from __future__ import annotations

import io
import json
import re
import shlex
import zipfile
from collections.abc import Iterator
from datetime import date
from pathlib import PurePosixPath

import numpy as np
import pandas as pd
import pytest
from apptest_downloads import open_page, record_downloads
from streamlit.testing.v1 import AppTest

from churn import export, memo
from churn.artifact import load_artifact
from churn.cli import main
from churn.policy import decide_on_holdout, validate_policy

TIMEOUT = 120


@pytest.fixture(scope="module")
def page() -> Iterator[tuple[AppTest, dict[str, bytes]]]:
    with open_page("app_pages/export.py") as opened:
        yield opened


def _download(at: AppTest, store: dict[str, bytes], label_start: str) -> bytes:
    (button,) = [b for b in at.get("download_button") if b.label.startswith(label_start)]
    return store[PurePosixPath(button.proto.url).stem]


def _artifact():
    from app_pages.common import sample_artifact

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
        "python -m churn train --data data/sample_customers.csv --target churned --positive 1 "
        "--id customer_id --segment region --segment age --segment gender --out models/churn"
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
    # every digit kept: production is checked against it to 1e-6
    assert (back["churn_probability"].map(lambda v: len(repr(v))) > 12).any()


# ------------------------------------------------- the hand-off of an uploaded table
def _upload_table(sample: pd.DataFrame) -> bytes:
    """1,500 customers whose churn column says "Left" / "Stayed", with a row-number column."""
    frame = sample.head(1500).copy()
    frame["churned"] = np.where(frame["churned"] == 1, "Left", "Stayed")
    frame = frame.rename(columns={"churned": "Status"})
    frame["row"] = np.arange(1, len(frame) + 1)  # left out as an id unless put back
    return frame.to_csv(index=False).encode("utf-8")


#: Column roles other than the page's suggestions: a chosen value column and segments, a
#: column left out, one put back; and no id, no value column and no segments at all.
HANDOFF_ROLES = {
    "every role": {
        "id": "customer_id",
        "value": "monthly_charges",
        "segments": ["gender"],
        "exclude": ["plan"],
        "keep": ["row"],
    },
    "no segments": {"id": None, "value": None, "segments": [], "exclude": [], "keep": []},
}


def _train_upload_and_export(
    mp: pytest.MonkeyPatch, data: bytes, roles: dict
) -> tuple[AppTest, dict[str, bytes]]:
    """Upload ``data`` on the Data page, set ``roles``, train, and open the Export page."""
    store = record_downloads(mp)
    at = AppTest.from_file("../app.py", default_timeout=300)
    at.run()
    at.switch_page("app_pages/data.py")
    at.run()
    at.file_uploader[0].set_value(("churn export.csv", data, "text/csv"))
    at.run()

    def select(label: str):
        return next(s for s in at.selectbox if s.label.startswith(label))

    def multiselect(label: str):
        return next(m for m in at.multiselect if m.label.startswith(label))

    assert select("Churn column").value == "Status"
    select("Which value").set_value("Left")
    select("Customer id").set_value(roles["id"] or "(none)")
    at.run()
    value = next(r for r in at.radio if r.label.startswith("Customer value"))
    value.set_value("A column" if roles["value"] else "A constant")
    at.run()
    if roles["value"]:
        select("Value column").set_value(roles["value"])
    multiselect("Segment attributes").set_value(roles["segments"])
    multiselect("Columns to leave out").set_value(roles["exclude"])
    at.run()
    if roles["keep"]:
        multiselect("Put a left-out column back").set_value(roles["keep"])
        at.run()
    next(b for b in at.button if b.label == "Train on this table").click()
    at.run()
    assert not at.exception and not at.error
    at.switch_page("app_pages/export.py")
    at.run()
    assert not at.exception
    return at, store


@pytest.mark.parametrize("roles", HANDOFF_ROLES.values(), ids=HANDOFF_ROLES.keys())
def test_the_shown_train_command_retrains_the_uploaded_model(
    roles: dict, sample_frame: pd.DataFrame, tmp_path, monkeypatch
):
    """Run as shown on the uploaded file, the training command gives the app's model (the
    same fingerprint), and the shown score command accepts the page's policy file."""
    data = _upload_table(sample_frame)
    at, store = _train_upload_and_export(monkeypatch, data, roles)
    artifact = at.session_state["user_artifact"]
    mapping = artifact.data_check["mapping"]
    assert (mapping["segments"], mapping["exclude"], mapping["keep"]) == (
        roles["segments"],
        roles["exclude"],
        roles["keep"],
    )
    assert (mapping["id_column"], mapping["value_column"]) == (roles["id"], roles["value"])
    assert artifact.info.positive_label == "Left"
    (retrain,) = [c.value for c in at.code if "python -m churn train " in c.value]
    lines = retrain.splitlines()  # the tab "With a model you train": train, then score
    (train_cmd,) = [line for line in lines if line.startswith("python -m churn train ")]
    (score_cmd,) = [line for line in lines if line.startswith("python -m churn score ")]
    policy = _shown_policy(at)
    assert policy["model_fingerprint"] == artifact.fingerprint

    monkeypatch.chdir(tmp_path)  # engineering's folder: the file under its uploaded name
    (tmp_path / "churn export.csv").write_bytes(data)
    (tmp_path / "customers.csv").write_bytes(data)
    (tmp_path / export.policy_file_name(policy)).write_bytes(
        _download(at, store, "Download the policy")
    )

    def run(command: str) -> int:
        argv = shlex.split(command)
        assert argv[:3] == ["python", "-m", "churn"]
        return main(["--quiet", *argv[3:]])

    assert run(train_cmd) == 0, train_cmd
    manifest = json.loads((tmp_path / "models/churn/manifest.json").read_text(encoding="utf-8"))
    assert manifest["fingerprint"] == artifact.fingerprint, train_cmd
    assert run(score_cmd) == 0, score_cmd  # the policy fits the retrained model
    scores = pd.read_csv(tmp_path / "scores.csv")
    assert len(scores) == 1500 and scores["action"].notna().all()


def test_the_default_action_reads_as_on_decide(page):
    """The policy file says "none"; the pages say "No action", on Export as on Decide."""
    at, _ = page
    lines = [m.value for m in at.markdown if m.value.startswith("- ")]
    assert any(line.startswith("- No action: everyone") for line in lines)
    assert not any(line.startswith("- none") for line in lines)
    assert _shown_policy(at)["default_action"] == "none"


def test_action_label():
    from churn.formatting import action_label

    assert action_label("none") == "No action" and action_label("Email offer") == "Email offer"


def test_offers_the_decision_memo_of_the_exported_policy(page):
    """The memo button's file is ``churn.memo.build_memo`` of the policy the page exports,
    with the latest snapshot monitored, made when clicked and kept for the session."""
    from churn.data import read_table
    from churn.monitor import monitor
    from churn.sample import NEW_BATCH_PATH
    from churn.training import scored_customers

    at, store = page
    (button,) = [
        b for b in at.get("download_button") if b.label.startswith("Download the decision")
    ]
    policy = _shown_policy(at)
    assert button.proto.deferred_file_id and not button.proto.url  # drawn on click only
    build = store[button.proto.deferred_file_id]
    page_memo = build()
    artifact = _artifact()
    scenario = at.session_state["scenario"]
    decision = decide_on_holdout(artifact, scenario.economics, scenario.choice)
    base = scored_customers(artifact, read_table(NEW_BATCH_PATH, text_columns=("customer_id",)))
    prepared = date.fromisoformat(re.search(r"memo prepared (\d{4}-\d\d-\d\d)", page_memo)[1])
    report = monitor(
        artifact,
        base,
        decision.rules,
        scenario.economics,
        p=base["churn_probability"].to_numpy(),
        review_by=policy["review_by"],
        today=prepared,
        capacity=decision.capacity,
    )
    expected = memo.build_memo(artifact, policy, monitor=report, today=prepared)
    assert page_memo.encode("utf-8") == expected.encode("utf-8")
    assert "The latest customers differ significantly" in page_memo
    assert build() is page_memo  # the second click costs nothing
