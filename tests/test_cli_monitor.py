"""``python -m churn monitor``: the summary, the JSON report, the exit codes.

Exit 0 whenever the run works, whatever the drift; 2 with one ``error:`` line for bad
input. Uses the session's sample model (``model_dir`` in ``conftest.py``).
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _beside import start_with_module
from _cli import NEW_BATCH, error, finish, ok, run, start_command, stop

from churn import drift
from churn.artifact import save_artifact
from churn.cli import main
from churn.policy import apply_policy
from churn.sample import generate_customers

CHANGED = {"monthly_charges", "recent_price_increase", "payment_method"}


@pytest.fixture(scope="module")
def report(model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, str]:
    out = tmp_path_factory.mktemp("monitor") / "report.json"
    args = ["monitor", "--model", model_dir, "--data", NEW_BATCH, "--out", out]
    code = main(["--quiet", *map(str, args)])
    assert code == 0
    return json.loads(out.read_text(encoding="utf-8")), str(out)


def test_the_new_batch_report_finds_the_injected_drift(report):
    data, _ = report
    assert data["status"] == "significant"
    assert data["score_status"] in drift.STATUSES
    assert isinstance(data["score_psi"], float)
    statuses = {f["name"]: f["status"] for f in data["features"]}
    assert {name for name, s in statuses.items() if s != "stable"} == CHANGED
    psis = [f["psi"] for f in data["features"]]
    assert psis == sorted(psis, reverse=True)
    wallet = {f["name"]: f["new_categories"] for f in data["features"]}["payment_method"]
    assert [c["value"] for c in wallet] == ["Digital wallet"]
    assert data["performance"]["realised"] is not None
    assert len(data["calibration"]) == 10


def test_the_summary_is_short_and_names_the_drifted_features(model_dir, capsys, tmp_path):
    code, out, err = run(
        capsys, "monitor", "--model", model_dir, "--data", NEW_BATCH, "--out", tmp_path / "r.json"
    )
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0].startswith("drift: significant")
    assert "payment_method" in lines[0] and "Digital" not in lines[0]
    assert any(line.startswith("estimated:") for line in lines)
    assert any(line.startswith("realised:") for line in lines)
    assert lines[-1] == f"report written to {tmp_path / 'r.json'}"
    assert len(lines) <= 8


def test_a_fresh_sample_exits_0_and_is_stable(model_dir, capsys, tmp_path):
    frame, _ = generate_customers(5_000, seed=5, id_offset=70_000)
    path = tmp_path / "fresh.parquet"
    frame.drop(columns="churned").to_parquet(path, index=False)
    code, out, _ = run(capsys, "monitor", "--model", model_dir, "--data", path)
    assert code == 0
    assert out.startswith("drift: stable")
    assert "realised:" not in out  # no labels, no realised figures
    assert not (tmp_path / "report.json").exists()  # --out is optional


def test_a_policy_file_sets_the_rules_economics_and_review_date(model_dir, capsys, tmp_path):
    policy_path = tmp_path / "policy.json"
    code, _, err = run(
        capsys, "policy", "--model", model_dir, "--out", policy_path, "--top-share", "0.2"
    )
    assert code == 0, err
    out = tmp_path / "r.json"
    code, _, err = run(
        capsys, "monitor", "--model", model_dir, "--data", NEW_BATCH, "--policy", policy_path,
        "--out", out,
    )  # fmt: skip
    assert code == 0, err
    policy = json.loads(policy_path.read_text(encoding="utf-8"))
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["staleness"]["review_by"] == policy["review_by"]
    from churn.artifact import load_artifact

    artifact = load_artifact(model_dir)
    batch = pd.read_csv(NEW_BATCH)
    p = artifact.model.predict_proba(batch)[:, 1]
    contacted = apply_policy(policy, p) != policy["default_action"]
    assert data["performance"]["estimated"]["share_targeted"] == pytest.approx(contacted.mean())
    assert data["performance"]["estimated"]["precision"] == pytest.approx(p[contacted].mean())


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ("missing_data", "File not found"),
        ("missing_column", "missing 1 column(s)"),
        ("bad_out", "does not exist"),
        ("bad_labels", "one other value"),
    ],
)
def test_bad_input_exits_2_with_one_line(model_dir, capsys, tmp_path, change, expected):
    data, out = NEW_BATCH, tmp_path / "r.json"
    batch = pd.read_csv(NEW_BATCH)
    if change == "missing_data":
        data = tmp_path / "nope.csv"
    elif change == "missing_column":
        data = tmp_path / "b.csv"
        batch.drop(columns="age").to_csv(data, index=False)
    elif change == "bad_out":
        out = tmp_path / "no" / "such" / "folder" / "r.json"
    else:
        data = tmp_path / "b.csv"
        batch.assign(churned=np.arange(len(batch)) % 3).to_csv(data, index=False)
    args = ["monitor", "--model", model_dir, "--data", data, "--out", out]
    line = error(capsys, *args)
    assert expected in line


def test_a_model_without_a_reference_asks_to_retrain(trained, capsys, tmp_path):
    old = dataclasses.replace(trained, extra_files={})
    save_artifact(old, tmp_path / "old-model")
    line = error(capsys, "monitor", "--model", tmp_path / "old-model", "--data", NEW_BATCH)
    assert "retrain" in line


def test_a_policy_for_another_model_is_refused(model_dir, capsys, tmp_path):
    policy_path = tmp_path / "policy.json"
    assert run(capsys, "policy", "--model", model_dir, "--out", policy_path, "--max-profit")[0] == 0
    policy = json.loads(policy_path.read_text(encoding="utf-8"))
    policy["model_fingerprint"] = "0" * 64
    policy_path.write_text(json.dumps(policy), encoding="utf-8")
    args = ["monitor", "--model", model_dir, "--data", NEW_BATCH, "--policy", policy_path]
    assert "not for this model" in error(capsys, *args)


@pytest.fixture(scope="module")
def started_runs(
    model_dir, tmp_path_factory
) -> Iterator[tuple[Path, dict[str, subprocess.Popen[str]]]]:
    """``python -m churn monitor`` for real, a working run and a failing one, started when
    the module starts (``_start_the_real_runs``), so they run beside its other tests."""
    folder = tmp_path_factory.mktemp("real-monitor")
    runs = {
        "ok": start_command(
            "monitor", "--model", model_dir, "--data", NEW_BATCH, "--out", folder / "r.json",
            cwd=folder,
        ),
        "bad": start_command("monitor", "--model", folder, "--data", NEW_BATCH, cwd=folder),
    }  # fmt: skip
    yield folder, runs
    stop(runs.values())


_start_the_real_runs = start_with_module("started_runs")


def test_the_real_command_exit_codes(started_runs):
    folder, runs = started_runs
    ok, bad = finish(runs["ok"]), finish(runs["bad"])
    assert ok.returncode == 0, ok.stderr  # significant drift is still a successful run
    assert json.loads((folder / "r.json").read_text())["status"] == "significant"
    assert bad.returncode == 2
    assert bad.stderr.count("\n") == 1 and bad.stderr.startswith("error: ")
    assert "Traceback" not in bad.stderr


def test_a_batch_of_rows_without_model_values_is_not_estimated(model_dir, capsys, tmp_path):
    batch = pd.read_csv(NEW_BATCH, dtype={"customer_id": str}).head(40)
    features = [c for c in batch.columns if c not in ("customer_id", "churned")]
    empty = batch.assign(**dict.fromkeys(features, None))
    empty.to_csv(tmp_path / "empty.csv", index=False)
    line = error(capsys, "monitor", "--model", model_dir, "--data", tmp_path / "empty.csv")
    assert "None of the 40 rows" in line
    pd.concat([batch, empty]).to_csv(tmp_path / "half.csv", index=False)
    out = ok(capsys, "monitor", "--model", model_dir, "--data", tmp_path / "half.csv")
    assert "40 customers" in out
    assert "40 rows left out" in out
