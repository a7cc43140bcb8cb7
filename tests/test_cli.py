"""Tests for ``python -m churn``: train -> policy -> score round trips and every bad input.

Most cases call :func:`churn.cli.main` in-process (helpers in ``_cli.py``); a failing and
a working run of the real command, side by side in subprocesses, prove the exit codes and
that stderr is one ``error:`` line, never a traceback. The sample model is trained once per
session through the CLI itself (``cli_sample_model`` in ``conftest.py``).
"""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from _beside import start_with_module
from _cli import (
    NEW_BATCH,
    ROOT,
    SAMPLE,
    error,
    fingerprint,
    finish,
    forge,
    ok,
    one_error_line,
    read_scores,
    run,
    start_command,
    stop,
    write_table,
)

from churn.artifact import load_artifact
from churn.cli import main
from churn.customers import to_safe_csv
from churn.policy import apply_policy

SCORE_COLUMNS = ["churn_probability", "probability_low", "probability_high"]
REPORTED = ("roc_auc", "pr_auc", "brier", "ece")
POLICY_ARGS = {
    "threshold": ["--threshold", "0.3"],
    "top_share": ["--top-share", "0.2"],
    "max_profit": ["--max-profit"],
}


# --------------------------------------------------------------------- helpers
def _actions_by_hand(
    policy: dict[str, Any], p: np.ndarray, ids: list[str] | None = None
) -> list[str]:
    """The action of the highest ``min_probability`` <= p, else the default action; then,
    with a total capacity ranked by probability, the README's "sort, then take"."""
    out = []
    for value in p:
        eligible = [r for r in policy["rules"] if r["min_probability"] <= value]
        best = max(eligible, key=lambda r: r["min_probability"]) if eligible else None
        out.append(best["action"] if best else policy["default_action"])
    capacity = policy.get("capacity")
    if capacity:
        assert capacity["ranking"] == "churn_probability" and not capacity["per_action"]
        ids = ids or [""] * len(p)
        ranked = sorted(range(len(p)), key=lambda i: (-p[i], ids[i], i))
        limit = capacity["total"]
        take = limit.get("customers", None)
        if take is None:
            take = int(limit["share"] * len(p) + 1e-9)
        for i in ranked[take:]:
            out[i] = policy["default_action"]
    return out


def _check_scores(scored: pd.DataFrame, data: pd.DataFrame) -> None:
    """One row per input row, in order, with valid probabilities and intervals."""
    assert len(scored) == len(data)
    assert scored["customer_id"].tolist() == data["customer_id"].tolist()
    values = scored[SCORE_COLUMNS].to_numpy(dtype=float)
    assert not np.isnan(values).any()
    p, low, high = values.T
    assert ((p >= 0) & (p <= 1)).all()
    assert ((low >= 0) & (high <= 1)).all()
    assert (low <= p).all() and (p <= high).all()
    assert (high - low > 0).mean() > 0.5  # the intervals are not all degenerate


YES_NO = {1: "Yes", 0: "No"}


# -------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cli")


@pytest.fixture(scope="module")
def sample(sample_frame: pd.DataFrame) -> pd.DataFrame:
    return sample_frame


@pytest.fixture(scope="module")
def batch(new_batch_frame: pd.DataFrame) -> pd.DataFrame:
    return new_batch_frame


@pytest.fixture(scope="module")
def cli_model(cli_sample_model: Path) -> Path:
    """The sample model, trained once per session through the CLI (``conftest.py``)."""
    return cli_sample_model


@pytest.fixture(scope="module")
def cli_policies(cli_model: Path, work: Path) -> dict[str, Path]:
    paths = {}
    for method, how in POLICY_ARGS.items():
        path = work / f"policy-{method}.json"
        assert main(["--quiet", "policy", "--model", str(cli_model), "--out", str(path), *how]) == 0
        paths[method] = path
    return paths


@pytest.fixture(scope="module")
def plain_scores(cli_model: Path, work: Path) -> pd.DataFrame:
    """The new batch scored without a policy (CSV in, CSV out)."""
    out = work / "plain-scores.csv"
    args = ["--quiet", "score", "--model", str(cli_model), "--data", str(NEW_BATCH)]
    assert main([*args, "--out", str(out)]) == 0
    return read_scores(out)


@pytest.fixture(scope="module")
def other_model(messy_model: Path) -> Path:
    """A second, different model (1,200 customers of a messy export, target as Yes/No;
    ``conftest.py``), trained once per session through the CLI."""
    return messy_model


# ------------------------------------------------------------------------ train
def test_train_writes_metrics_for_model_and_baselines(cli_model: Path) -> None:
    metrics = json.loads((cli_model / "metrics.json").read_text(encoding="utf-8"))
    for name in ("model", "logistic", "rule"):
        block = metrics[name]
        for metric in REPORTED:
            value, low, high = (block[metric + s] for s in ("", "_low", "_high"))
            for number in (value, low, high):
                assert isinstance(number, float) and np.isfinite(number), (name, metric)
            assert low <= high, (name, metric)
        assert 0.5 < block["roc_auc"] <= 1.0
        assert 0.0 <= block["brier"] < 0.25  # better than a constant 0.5
        assert 0.0 <= block["ece"] < 0.2
        assert 0.0 < block["pr_auc"] <= 1.0
    # the model is the point of the exercise: it must beat the readable rule on the sample
    assert metrics["model"]["roc_auc"] > metrics["rule"]["roc_auc"]
    assert metrics["model"]["roc_auc"] > 0.75


def test_train_records_target_id_and_label(cli_model: Path, sample: pd.DataFrame) -> None:
    info = json.loads((cli_model / "info.json").read_text(encoding="utf-8"))
    assert info["target"] == "churned"
    assert info["id_column"] == "customer_id"
    assert info["positive_label"] == "1"
    assert info["rows"] == len(sample)
    assert info["fit_rows"] + info["holdout_rows"] == len(sample)
    assert info["churn_rate"] == pytest.approx(sample["churned"].mean())
    assert "customer_id" not in info["features"]
    assert "churned" not in info["features"]


# ------------------------------------------------------------- policy and score
@pytest.mark.parametrize("method", list(POLICY_ARGS))
def test_round_trip_policy_then_score(
    capsys: pytest.CaptureFixture[str],
    cli_model: Path,
    cli_policies: dict[str, Path],
    batch: pd.DataFrame,
    plain_scores: pd.DataFrame,
    work: Path,
    method: str,
) -> None:
    policy = json.loads(cli_policies[method].read_text(encoding="utf-8"))
    assert policy["model_fingerprint"] == fingerprint(cli_model)
    assert policy["choice"]["method"] == method
    assert [a["name"] for a in policy["economics"]["actions"]] == [
        "Email offer",
        "Call + discount",
    ]
    assert policy["economics"]["value_column"] == "monthly_charges"
    assert policy["rules"], "the sample's policies should contact someone"

    out = work / f"scores-{method}.csv"
    stdout = ok(
        capsys, "score", "--model", cli_model, "--data", NEW_BATCH, "--out", out,
        "--policy", cli_policies[method],
    )  # fmt: skip
    assert stdout.strip() == f"scored {len(batch):,} customers into {out}"
    scored = read_scores(out)
    assert list(scored.columns) == ["customer_id", *SCORE_COLUMNS, "action", "score_note"]
    _check_scores(scored, batch)
    # the policy does not change the probabilities
    np.testing.assert_array_equal(
        scored[SCORE_COLUMNS].to_numpy(), plain_scores[SCORE_COLUMNS].to_numpy()
    )

    p = scored["churn_probability"].to_numpy()
    actions = scored["action"].tolist()
    assert actions == list(apply_policy(policy, p, scored, "customer_id"))
    assert actions == _actions_by_hand(policy, p, scored["customer_id"].tolist())
    if method == "top_share":  # a capacity: exactly that share of the batch
        share = policy["choice"]["value"]
        assert sum(a != policy["default_action"] for a in actions) == int(share * len(p))
    allowed = {r["action"] for r in policy["rules"]} | {policy["default_action"]}
    assert set(actions) <= allowed
    assert policy["default_action"] in actions  # somebody is left alone ...
    assert set(actions) - {policy["default_action"]}  # ... and somebody is contacted

    cut = min(r["min_probability"] for r in policy["rules"])
    if method == "threshold":
        assert cut >= 0.3
        assert all(a == policy["default_action"] for a in scored.loc[p < 0.3, "action"])
    if method == "top_share":  # the capacity decides who is contacted, not a cut-off
        assert policy["expected"]["share_targeted"] == 0.2
        assert cut == 0.0 and policy["capacity"]["total"] == {"share": 0.2}


def test_policy_choices_differ(cli_policies: dict[str, Path]) -> None:
    cuts = {
        method: min(
            r["min_probability"] for r in json.loads(path.read_text(encoding="utf-8"))["rules"]
        )
        for method, path in cli_policies.items()
    }
    assert len(set(cuts.values())) == 3, cuts


@pytest.mark.parametrize(
    ("how", "check"),
    [
        (["--top-n", "100"], lambda e: e["share_targeted"] <= 100 / 2000),
        (["--precision", "0.6"], lambda e: e["precision"] >= 0.6),
        (["--recall", "0.8"], lambda e: e["recall"] >= 0.8),
    ],
    ids=["top-n", "precision", "recall"],
)
def test_other_policy_choices(
    capsys: pytest.CaptureFixture[str], cli_model: Path, work: Path, how: list[str], check: Any
) -> None:
    out = work / f"policy{how[0]}.json"
    stdout = ok(capsys, "policy", "--model", cli_model, "--out", out, *how)
    assert stdout.startswith(f"policy written to {out}")
    policy = json.loads(out.read_text(encoding="utf-8"))
    assert policy["choice"] == {"method": how[0][2:].replace("-", "_"), "value": float(how[1])}
    assert check(policy["expected"])


def test_policy_with_economics_file(
    capsys: pytest.CaptureFixture[str], cli_model: Path, work: Path
) -> None:
    economics = {
        "value_constant": 1000.0,
        "actions": [
            {"name": "Letter", "contact_cost": 2.0, "incentive_cost": 0.0, "success_rate": 0.05}
        ],
    }
    path = work / "economics.json"
    path.write_text(json.dumps(economics), encoding="utf-8")
    out = work / "policy-economics.json"
    ok(capsys, "policy", "--model", cli_model, "--out", out, "--max-profit", "--economics", path)
    policy = json.loads(out.read_text(encoding="utf-8"))
    assert [r["action"] for r in policy["rules"]] == ["Letter"]
    assert policy["economics"]["value_constant"] == 1000.0
    assert policy["economics"]["value_column"] is None


def test_score_parquet_matches_csv(
    capsys: pytest.CaptureFixture[str],
    cli_model: Path,
    batch: pd.DataFrame,
    plain_scores: pd.DataFrame,
    work: Path,
) -> None:
    data = write_table(work, "batch.parquet", batch)
    out = work / "scores.parquet"
    ok(capsys, "score", "--model", cli_model, "--data", data, "--out", out)
    scored = read_scores(out)
    assert list(scored.columns) == ["customer_id", *SCORE_COLUMNS, "score_note"]
    assert scored["customer_id"].tolist() == plain_scores["customer_id"].tolist()
    np.testing.assert_allclose(
        scored[SCORE_COLUMNS].to_numpy(), plain_scores[SCORE_COLUMNS].to_numpy(), rtol=1e-12
    )


def test_score_extra_and_shuffled_columns(
    capsys: pytest.CaptureFixture[str],
    cli_model: Path,
    batch: pd.DataFrame,
    plain_scores: pd.DataFrame,
    work: Path,
) -> None:
    frame = batch.assign(notes="called twice", extra_number=np.arange(len(batch)))
    columns = list(frame.columns)
    np.random.default_rng(7).shuffle(columns)
    assert columns[0] != "customer_id"
    data = write_table(work, "shuffled.csv", frame[columns])
    out = work / "shuffled-scores.csv"
    ok(capsys, "score", "--model", cli_model, "--data", data, "--out", out)
    scored = read_scores(out)
    assert list(scored.columns) == ["customer_id", *SCORE_COLUMNS, "score_note"]
    _check_scores(scored, batch)
    np.testing.assert_array_equal(
        scored[SCORE_COLUMNS].to_numpy(), plain_scores[SCORE_COLUMNS].to_numpy()
    )


def test_score_reordered_rows_keeps_input_order(
    capsys: pytest.CaptureFixture[str],
    cli_model: Path,
    batch: pd.DataFrame,
    plain_scores: pd.DataFrame,
    work: Path,
) -> None:
    order = np.random.default_rng(3).permutation(len(batch))[:500]
    data = write_table(work, "reordered.csv", batch.iloc[order])
    out = work / "reordered-scores.csv"
    ok(capsys, "score", "--model", cli_model, "--data", data, "--out", out)
    scored = read_scores(out)
    assert scored["customer_id"].tolist() == batch["customer_id"].iloc[order].tolist()
    np.testing.assert_array_equal(
        scored[SCORE_COLUMNS].to_numpy(), plain_scores[SCORE_COLUMNS].to_numpy()[order]
    )


def test_score_unseen_categories_and_missing_values(
    capsys: pytest.CaptureFixture[str],
    cli_model: Path,
    cli_policies: dict[str, Path],
    batch: pd.DataFrame,
    work: Path,
) -> None:
    frame = batch.head(300).copy()
    frame["contract_type"] = frame["contract_type"].astype(object)
    frame.loc[:99, "contract_type"] = "Weekly"  # never seen in training
    frame.loc[50:149, "region"] = "Mars"
    features = [c for c in frame.columns if c not in ("customer_id", "churned")]
    frame[features] = frame[features].astype(object)
    frame.loc[200:249, features] = None  # rows with every feature missing
    frame.loc[250:, ["tenure_months", "paperless_billing", "plan"]] = None
    data = write_table(work, "odd.csv", frame)
    out = work / "odd-scores.csv"
    ok(capsys, "score", "--model", cli_model, "--data", data, "--out", out)
    scored = read_scores(out)
    assert scored["customer_id"].tolist() == frame["customer_id"].tolist()  # every row, in order
    empty = np.zeros(len(frame), dtype=bool)
    empty[200:250] = True
    # rows with no value at all are kept, unscored, with the reason
    assert scored.loc[empty, SCORE_COLUMNS].isna().all().all()
    assert (
        scored.loc[empty, "score_note"] == "not scored: no value in any of the model's columns"
    ).all()
    # unseen categories and partly missing rows are scored, with no note
    _check_scores(scored[~empty].reset_index(drop=True), frame[~empty].reset_index(drop=True))
    assert scored.loc[~empty, "score_note"].isna().all()
    # with a policy, a row that could not be scored gets the default action (it used to get
    # the strongest action: a missing probability sorted above every cut-off)
    out = work / "odd-actions.csv"
    for method in ("max_profit", "top_share"):
        policy_path = cli_policies[method]
        default = json.loads(policy_path.read_text(encoding="utf-8"))["default_action"]
        ok(capsys, "score", "--model", cli_model, "--data", data, "--out", out,
           "--policy", policy_path)  # fmt: skip
        actions = read_scores(out)["action"]
        assert (actions[empty] == default).all()
        assert (actions[~empty] != default).any()


def test_score_without_policy_has_no_action(plain_scores: pd.DataFrame, batch: pd.DataFrame):
    assert list(plain_scores.columns) == ["customer_id", *SCORE_COLUMNS, "score_note"]
    _check_scores(plain_scores, batch)


def test_scores_rank_churners_higher(plain_scores: pd.DataFrame, batch: pd.DataFrame) -> None:
    """The new batch carries outcomes: churners should get higher probabilities on average."""
    p = plain_scores["churn_probability"].to_numpy()
    y = batch["churned"].to_numpy()
    assert p[y == 1].mean() > p[y == 0].mean() + 0.1
    assert abs(p.mean() - y.mean()) < 0.05  # calibrated on the whole


# ------------------------------------------------------------ positive labels
WORDS = {1: "Attrited Customer", 0: "Existing Customer"}


@pytest.mark.parametrize(
    ("name", "mapping", "flags", "expected"),
    [
        ("lower-yes-no.csv", {1: "yes", 0: "no"}, ["--id", "customer_id"], "yes"),
        ("Yes-No.csv", {1: "Yes", 0: "No"}, [], "Yes"),
        ("true-false.parquet", {1: True, 0: False}, [], "True"),
        ("words-only.csv", WORDS, [], "Attrited Customer"),
        ("words.csv", WORDS, ["--positive", "attrited CUSTOMER"], "Attrited Customer"),
    ],
    ids=["yes-no", "Yes-No", "true-false-parquet", "churn-words-suggested", "given-positive"],
)
def test_positive_label(
    capsys: pytest.CaptureFixture[str],
    sample: pd.DataFrame,
    work: Path,
    name: str,
    mapping: dict[int, object],
    flags: list[str],
    expected: str,
) -> None:
    """The value that counts as churned is inferred (yes/no, true/false), suggested from a
    churn word, or given with ``--positive`` (any case); the model records it."""
    head = sample.head(600)
    data = write_table(work, f"label-{name}", head.assign(churned=head["churned"].map(mapping)))
    out = work / f"label-model-{name}"
    ok(capsys, "train", "--data", data, "--target", "churned", "--out", out, *flags)
    info = json.loads((out / "info.json").read_text(encoding="utf-8"))
    assert info["positive_label"] == expected
    # the churners are the rows that were 1 before relabelling: the rate proves the direction
    assert info["churn_rate"] == pytest.approx(head["churned"].mean())


@pytest.mark.parametrize("given", ["Yes", "yes"])
def test_inferred_and_given_positive_give_the_same_model(
    capsys: pytest.CaptureFixture[str], sample: pd.DataFrame, work: Path, given: str
) -> None:
    """``--positive Yes`` (in any case) says what is inferred anyway: the same model, the
    same fingerprint; ``data_check.json`` records the table's own label both times."""
    head = sample.head(600)
    data = write_table(work, "yes-no.csv", head.assign(churned=head["churned"].map(YES_NO)))
    inferred, explicit = work / "inferred-positive", work / f"given-positive-{given}"
    for out, flags in ((inferred, []), (explicit, ["--positive", given])):
        if not out.exists():
            ok(capsys, "train", "--data", data, "--target", "churned", "--out", out, *flags)
    assert fingerprint(inferred) == fingerprint(explicit)
    check = json.loads((explicit / "data_check.json").read_text(encoding="utf-8"))
    assert check["mapping"]["positive"] == check["positive_label"] == "Yes"


def test_two_unclear_words_need_positive(
    capsys: pytest.CaptureFixture[str], sample: pd.DataFrame, work: Path
) -> None:
    head = sample.head(600)
    words = head["churned"].map({1: "Gold", 0: "Silver"})
    data = write_table(work, "gold-silver.csv", head.assign(churned=words))
    out = work / "gold-model"
    line = error(capsys, "train", "--data", data, "--target", "churned", "--out", out)
    assert "--positive" in line
    assert "Gold" in line and "Silver" in line
    assert not out.exists()


def test_unknown_positive_value(
    capsys: pytest.CaptureFixture[str], sample: pd.DataFrame, work: Path
) -> None:
    data = write_table(work, "unknown-positive.csv", sample.head(600))
    line = error(
        capsys, "train", "--data", data, "--target", "churned", "--positive", "Gone",
        "--out", work / "unused",
    )  # fmt: skip
    assert "'Gone'" in line
    assert "0, 1" in line


# ---------------------------------------------------------- training errors
def _small(sample: pd.DataFrame, churners: int, stayers: int) -> pd.DataFrame:
    frame = pd.concat(
        [
            sample[sample["churned"] == 1].head(churners),
            sample[sample["churned"] == 0].head(stayers),
        ]
    )
    return frame.sample(frac=1.0, random_state=0)


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("few-churners", ["Only 10 customers", "50"]),
        ("single-class", ["single class (0)"]),
        ("three-values", ["has 3: 0, 1, 2"]),
        ("missing-labels", ["empty in 5 row(s)"]),
        ("no-target", ["'churned' is not in the data"]),
        ("target-case", ["did you mean 'churned'?"]),
        ("duplicate-ids", ["'customer_id' has 3 repeated value(s)"]),
        ("missing-id", ["'account_id' is not in the data"]),
        ("only-id-and-target", ["No usable feature"]),
        ("header-only", ["header but no rows"]),
        ("empty-file", ["is empty"]),
        ("missing-file", ["File not found", "nothing-here.csv"]),
        ("corrupt-parquet", ["Cannot read corrupt-parquet.parquet"]),
    ],
)
def test_train_bad_input(
    capsys: pytest.CaptureFixture[str],
    sample: pd.DataFrame,
    work: Path,
    case: str,
    expected: list[str],
) -> None:
    frame = _small(sample, 60, 140)
    target, id_column = "churned", "customer_id"
    suffix = ".csv"
    if case == "few-churners":
        frame = _small(sample, 10, 190)
    elif case == "single-class":
        frame = _small(sample, 0, 200)
    elif case == "three-values":
        frame = frame.assign(churned=np.arange(len(frame)) % 3)
    elif case == "missing-labels":
        frame = frame.assign(churned=frame["churned"].astype(float))
        frame.iloc[:5, frame.columns.get_loc("churned")] = np.nan
    elif case == "no-target":
        frame = frame.drop(columns="churned")
    elif case == "target-case":
        target = "Churned"
    elif case == "duplicate-ids":
        frame.iloc[:3, frame.columns.get_loc("customer_id")] = frame["customer_id"].iloc[10]
    elif case == "missing-id":
        id_column = "account_id"
    elif case == "only-id-and-target":
        frame = frame[["customer_id", "churned"]]
    elif case == "header-only":
        frame = frame.head(0)
    elif case == "corrupt-parquet":
        suffix = ".parquet"
    path = work / f"{case}{suffix}"
    if case == "empty-file":
        path.write_bytes(b"")
    elif case == "corrupt-parquet":
        path.write_bytes(b"PAR1 this is not a parquet file")
    elif case == "missing-file":
        path = work / "nothing-here.csv"
    else:
        frame.to_csv(path, index=False)
    out = work / f"bad-model-{case}"
    line = error(
        capsys, "train", "--data", path, "--target", target, "--id", id_column, "--out", out
    )
    for fragment in expected:
        assert fragment in line
    assert not out.exists()


def test_train_refuses_to_replace_a_folder_that_is_not_a_model(
    capsys: pytest.CaptureFixture[str], sample: pd.DataFrame, work: Path
) -> None:
    data = write_table(work, "overwrite.csv", sample.head(600))
    for name in ("precious", "precious.txt"):
        target = work / name
        if name.endswith(".txt"):
            target.write_text("keep me", encoding="utf-8")
        else:
            target.mkdir()
            (target / "notes.txt").write_text("keep me", encoding="utf-8")
        line = error(capsys, "train", "--data", data, "--target", "churned", "--out", target)
        assert "not a model directory" in line
        kept = target if name.endswith(".txt") else target / "notes.txt"
        assert kept.read_text(encoding="utf-8") == "keep me"


def test_train_replaces_a_model_and_reports(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    other_model: Path,
    sample: pd.DataFrame,
    work: Path,
) -> None:
    """Retraining into an existing model directory replaces it; progress goes to a terminal."""
    monkeypatch.setattr("sys.stderr.isatty", lambda: True)
    model = work / "retrained"
    shutil.copytree(other_model, model)
    before = fingerprint(model)
    data = write_table(work, "retrain.csv", sample.iloc[600:1200])
    capsys.readouterr()
    args = ["train", "--data", str(data), "--target", "churned", "--out", str(model)]
    assert main([*args, "--id", "customer_id", "--seed", "3"]) == 0
    stdout, stderr = capsys.readouterr()
    after = fingerprint(model)
    assert after != before
    assert stdout.startswith("trained on 480 customers, checked on 120")
    assert stdout.rstrip().endswith(f"model {after[:12]} written to {model}")
    assert "reading" in stderr and "writing" in stderr
    assert "error" not in stderr
    # in a pipe (not a terminal) stderr stays empty, so scripts only ever see errors there
    monkeypatch.setattr("sys.stderr.isatty", lambda: False)
    assert main([*args, "--id", "customer_id", "--seed", "4"]) == 0
    assert capsys.readouterr().err == ""
    info = json.loads((model / "info.json").read_text(encoding="utf-8"))
    assert info["source"] == "retrain.csv"
    assert info["positive_label"] == "1"
    assert not list(work.glob(".retrained.*"))  # no temporary folders left behind


# ------------------------------------------------------ scoring and policy errors
def test_score_missing_model_columns(
    capsys: pytest.CaptureFixture[str], cli_model: Path, batch: pd.DataFrame, work: Path
) -> None:
    data = write_table(work, "lacking.csv", batch.drop(columns=["tenure_months", "plan"]))
    out = work / "lacking-scores.csv"
    line = error(capsys, "score", "--model", cli_model, "--data", data, "--out", out)
    assert "2 column(s)" in line
    assert "tenure_months" in line and "plan" in line
    assert not out.exists()


def test_score_policy_of_another_model(
    capsys: pytest.CaptureFixture[str],
    cli_policies: dict[str, Path],
    cli_model: Path,
    other_model: Path,
    work: Path,
) -> None:
    out = work / "mismatch.csv"
    line = error(
        capsys, "score", "--model", other_model, "--data", NEW_BATCH, "--out", out,
        "--policy", cli_policies["max_profit"],
    )  # fmt: skip
    assert fingerprint(cli_model)[:12] in line
    assert fingerprint(other_model)[:12] in line
    assert "export a policy for this model" in line
    assert not out.exists()


@pytest.mark.parametrize("tamper", ["metrics", "member", "deleted", "manifest"])
def test_score_tampered_artifact(
    capsys: pytest.CaptureFixture[str], cli_model: Path, work: Path, tamper: str
) -> None:
    model = work / f"tampered-{tamper}"
    shutil.copytree(cli_model, model)
    if tamper == "metrics":
        path = model / "metrics.json"
        path.write_text(path.read_text(encoding="utf-8").replace("0.", "0.9", 1), "utf-8")
        expected = "metrics.json"
    elif tamper == "member":
        path = sorted(model.glob("member_*.txt"))[0]
        path.write_text(path.read_text(encoding="utf-8") + "\n", encoding="utf-8")
        expected = path.name
    elif tamper == "deleted":
        path = sorted(model.glob("member_*.txt"))[-1]
        path.unlink()
        expected = f"missing {path.name}"
    else:
        manifest = json.loads((model / "manifest.json").read_text(encoding="utf-8"))
        manifest["fingerprint"] = "0" * 64
        (model / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
        expected = "inconsistent"
    out = work / f"tampered-{tamper}.csv"
    line = error(capsys, "score", "--model", model, "--data", NEW_BATCH, "--out", out)
    assert expected in line
    assert not out.exists()


@pytest.mark.parametrize("where", ["empty-folder", "data-folder", "a-file"])
def test_not_a_model(capsys: pytest.CaptureFixture[str], work: Path, where: str) -> None:
    model = {"empty-folder": work / "empty-model", "data-folder": ROOT / "data"}.get(where, SAMPLE)
    if where == "empty-folder":
        model.mkdir(exist_ok=True)
    for args in (
        ["score", "--model", model, "--data", NEW_BATCH, "--out", work / "x.csv"],
        ["policy", "--model", model, "--out", work / "x.json", "--max-profit"],
    ):
        line = error(capsys, *args)
        assert "not a model directory" in line
    assert not (work / "x.csv").exists() and not (work / "x.json").exists()


def test_score_and_policy_file_errors(
    capsys: pytest.CaptureFixture[str],
    cli_model: Path,
    cli_policies: dict[str, Path],
    work: Path,
) -> None:
    score = ["score", "--model", cli_model, "--data", NEW_BATCH]
    line = error(capsys, *score, "--out", work / "x.csv", "--policy", work / "none.json")
    assert "Policy file not found" in line
    bad = work / "not-json.json"
    bad.write_text("{rules: ", encoding="utf-8")
    assert "not valid JSON" in error(capsys, *score, "--out", work / "x.csv", "--policy", bad)
    line = error(capsys, *score, "--out", work / "no-folder" / "x.csv")
    assert "does not exist" in line
    assert "is a folder" in error(capsys, *score, "--out", work)
    assert "scores.xlsx" in error(capsys, *score, "--out", work / "scores.xlsx")
    assert not (work / "scores.xlsx").exists()
    line = error(capsys, "score", "--model", cli_model, "--data", work / "gone.csv", "--out", bad)
    assert "gone.csv" in line

    policy = ["policy", "--model", cli_model, "--max-profit"]
    line = error(capsys, *policy, "--out", work / "no-folder" / "p.json")
    assert "Cannot write" in line and "p.json" in line
    assert "must be between 0 and 1" in error(
        capsys, "policy", "--model", cli_model, "--out", work / "p.json", "--threshold", "1.5"
    )
    assert "needs a number" in error(
        capsys, "policy", "--model", cli_model, "--out", work / "p.json", "--top-share", "nan"
    )
    assert not (work / "p.json").exists()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("not json", "not valid JSON"),
        ('{"actions": [{"name": "a"}]}', "incomplete"),
        (
            '{"value_constant": "lots", "actions": [{"name": "a", "contact_cost": 1, '
            '"incentive_cost": 1, "success_rate": 0.1}]}',
            "'lots'",
        ),
        ('{"actions": []}', "at least one action"),
        (None, "is a folder"),
        ("missing", "not found"),
    ],
    ids=["not-json", "incomplete", "not-a-number", "no-actions", "folder", "missing"],
)
def test_policy_bad_economics(
    capsys: pytest.CaptureFixture[str],
    cli_model: Path,
    work: Path,
    content: str | None,
    expected: str,
) -> None:
    if content is None:
        path = work
    elif content == "missing":
        path = work / "no-economics.json"
    else:
        path = work / "economics-bad.json"
        path.write_text(content, encoding="utf-8")
    out = work / "p-economics.json"
    line = error(
        capsys, "policy", "--model", cli_model, "--out", out, "--max-profit", "--economics", path
    )
    assert expected in line
    assert not out.exists()


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["frobnicate"],
        ["train", "--data", "x.csv"],
        ["score", "--model", "m", "--data", "x.csv", "--out", "o.csv", "--bogus"],
        ["policy", "--model", "m", "--out", "p.json"],
        ["policy", "--model", "m", "--out", "p.json", "--threshold", "0.3", "--top-share", "0.2"],
        ["policy", "--model", "m", "--out", "p.json", "--threshold", "abc"],
        ["train", "--data", "x.csv", "--target", "t", "--out", "m", "--seed", "one"],
    ],
    ids=[
        "no-command",
        "unknown-command",
        "missing-required",
        "unknown-option",
        "no-policy-choice",
        "two-policy-choices",
        "not-a-number",
        "bad-seed",
    ],
)
def test_bad_arguments(capsys: pytest.CaptureFixture[str], args: list[str]) -> None:
    line = error(capsys, *args)
    assert "--help" in line


def test_unexpected_failure_is_one_line_with_exit_1(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    cli_model: Path,
    work: Path,
) -> None:
    def boom(*_: object, **__: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.delenv("CHURN_DEBUG", raising=False)
    monkeypatch.setattr("churn.training.score_frame", boom)
    code, out, err = run(
        capsys, "score", "--model", cli_model, "--data", NEW_BATCH, "--out", work / "boom.csv"
    )
    assert out == ""
    assert not (work / "boom.csv").exists() and not list(work.glob(".boom.csv.*"))
    line = one_error_line(code, err, expected_code=1)
    assert "unexpected failure (RuntimeError: disk on fire)" in line
    assert "CHURN_DEBUG" in line


# ------------------------------------------------------ errors: one line, exit 2
@pytest.fixture(scope="module")
def wrong_policy(cli_policies: dict[str, Path], work: Path) -> Path:
    """The sample model's policy, claiming to be for another model."""
    wrong = json.loads(cli_policies["max_profit"].read_text(encoding="utf-8"))
    wrong["model_fingerprint"] = "f" * 64
    path = work / "policy-wrong-model.json"
    path.write_text(json.dumps(wrong), encoding="utf-8")
    return path


def _error_case(name: str, cli_model: Path, wrong_policy: Path, work: Path) -> list[object]:
    return {
        "missing-file": [
            "train", "--data", work / "absent.csv", "--target", "churned",
            "--out", work / "sub-model",
        ],
        "bad-argument": [
            "policy", "--model", cli_model, "--out", work / "sub.json", "--threshold", "abc",
        ],
        "policy-mismatch": [
            "score", "--model", cli_model, "--data", NEW_BATCH, "--out", work / "sub-x.csv",
            "--policy", wrong_policy,
        ],
    }[name]  # fmt: skip


ERROR_CASES = [
    ("missing-file", "absent.csv"),
    ("bad-argument", "invalid float value: 'abc'"),
    ("policy-mismatch", "export a policy for this model"),
]


@pytest.mark.parametrize(("name", "expected"), ERROR_CASES)
def test_errors_are_one_line_with_exit_2(
    capsys: pytest.CaptureFixture[str],
    cli_model: Path,
    wrong_policy: Path,
    work: Path,
    name: str,
    expected: str,
) -> None:
    code, out, err = run(capsys, *_error_case(name, cli_model, wrong_policy, work))
    assert out == ""
    line = one_error_line(code, err)
    assert err == line + "\n"
    assert expected in line
    assert not (work / "sub-model").exists() and not (work / "sub-x.csv").exists()


# ----------------------------------------------------------- real subprocesses
@pytest.fixture(scope="module")
def started_runs(
    cli_model: Path, cli_policies: dict[str, Path], wrong_policy: Path, work: Path
) -> Iterator[dict[str, subprocess.Popen[str]]]:
    """The real ``python -m churn``, a failing and a working run, started when the module
    starts (``_start_the_real_runs``), so they run beside its in-process tests."""
    runs = {
        "missing-file": start_command(
            "--quiet", *_error_case("missing-file", cli_model, wrong_policy, work)
        ),
        "ok": start_command(
            "--quiet", "score", "--model", cli_model, "--data", NEW_BATCH,
            "--out", work / "sub-scores.csv", "--policy", cli_policies["max_profit"],
        ),
    }  # fmt: skip
    yield runs
    stop(runs.values())


_start_the_real_runs = start_with_module("started_runs")


@pytest.fixture(scope="module")
def subprocess_runs(
    started_runs: dict[str, subprocess.Popen[str]],
) -> dict[str, subprocess.CompletedProcess[str]]:
    """Exit codes and streams of the real runs, as a script sees them (the other cases run
    in-process)."""
    return {name: finish(process) for name, process in started_runs.items()}


@pytest.mark.parametrize(("name", "expected"), ERROR_CASES[:1])
def test_subprocess_error(
    subprocess_runs: dict[str, subprocess.CompletedProcess[str]], name: str, expected: str
) -> None:
    done = subprocess_runs[name]
    assert done.stdout == ""
    line = one_error_line(done.returncode, done.stderr)
    assert done.stderr == line + "\n"
    assert expected in line


def test_subprocess_score(
    subprocess_runs: dict[str, subprocess.CompletedProcess[str]],
    cli_policies: dict[str, Path],
    plain_scores: pd.DataFrame,
    work: Path,
) -> None:
    done = subprocess_runs["ok"]
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert done.stdout == f"scored 5,000 customers into {work / 'sub-scores.csv'}\n"
    scored = read_scores(work / "sub-scores.csv")
    pd.testing.assert_frame_equal(scored.drop(columns="action"), plain_scores)
    policy = json.loads(cli_policies["max_profit"].read_text(encoding="utf-8"))
    p = scored["churn_probability"].to_numpy()
    assert scored["action"].tolist() == _actions_by_hand(policy, p)


def test_ids_keep_leading_zeros_and_a_missing_id_column_is_named(
    capsys: pytest.CaptureFixture[str], cli_model: Path, sample: pd.DataFrame, work: Path
) -> None:
    frame = sample.iloc[:1500].copy()
    frame["customer_id"] = [f"{i:07d}" for i in range(len(frame))]
    data = work / "zeros.csv"
    frame.to_csv(data, index=False)
    out = work / "zeros-scored.csv"
    ok(capsys, "score", "--model", cli_model, "--data", data, "--out", out)
    scored = pd.read_csv(out, dtype={"customer_id": str})
    assert scored["customer_id"].tolist() == frame["customer_id"].tolist()
    without_id = work / "no-id.csv"
    frame.drop(columns=["customer_id"]).to_csv(without_id, index=False)
    message = error(capsys, "score", "--model", cli_model, "--data", without_id, "--out", out)
    assert "customer_id" in message


def test_cli_model_has_the_app_models_fingerprint(cli_model: Path) -> None:
    """Engineering retraining the sample gets the very model the app shows (same policy fits)."""
    from app_pages.common import sample_artifact

    manifest = json.loads((cli_model / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["fingerprint"] == sample_artifact().fingerprint


def test_a_capacity_in_customers_ranked_by_value_is_what_scoring_contacts(
    capsys: pytest.CaptureFixture[str], cli_model: Path, batch: pd.DataFrame, work: Path
) -> None:
    policy_path = work / "policy-top-n.json"
    stdout = ok(
        capsys, "policy", "--model", cli_model, "--out", policy_path, "--top-n", "300",
        "--batch-size", len(batch), "--ranking", "expected_value",
    )  # fmt: skip
    assert "at most 300 customers in all, highest expected value first" in stdout
    policy = json.loads(policy_path.read_text(encoding="utf-8"))
    assert policy["capacity"]["total"] == {"customers": 300}
    assert policy["expected"]["batch_size"] == len(batch)
    # on the holdout it was measured as the share 300 is of the batch
    assert policy["expected"]["share_targeted"] == pytest.approx(300 / len(batch), abs=1e-3)
    out = work / "scores-top-n.csv"
    ok(capsys, "score", "--model", cli_model, "--data", NEW_BATCH, "--out", out,
       "--policy", policy_path)  # fmt: skip
    scored = read_scores(out)
    contacted = scored["action"] != policy["default_action"]
    assert contacted.sum() == 300
    # the 300 worth most, not the 300 most likely to leave
    value = 12 * batch["monthly_charges"].to_numpy()
    by_p = scored["churn_probability"].rank(ascending=False, method="first") <= 300
    assert set(scored.loc[contacted, "customer_id"]) != set(scored.loc[by_p, "customer_id"])
    assert np.nanmean(value[contacted.to_numpy()]) > np.nanmean(value[by_p.to_numpy()])
    bad = error(
        capsys, "policy", "--model", cli_model, "--out", policy_path, "--top-n", "10",
        "--batch-size", "0",
    )  # fmt: skip
    assert "--batch-size" in bad


NA_LIKE_IDS = ["NA", "null", "None", "nan", "N/A", "NULL", "#N/A", "n/a", "NaN", "<NA>"]


def test_ids_that_look_like_missing_markers_pass_through_as_text(
    capsys: pytest.CaptureFixture[str], cli_model: Path, sample: pd.DataFrame, work: Path
) -> None:
    """An id is text: "NA" is a customer's id in the scores, the training data and the model's
    holdout; only an empty id cell is a missing id."""
    frame = sample.iloc[:1500].copy()
    frame["customer_id"] = [*NA_LIKE_IDS, *frame["customer_id"].iloc[len(NA_LIKE_IDS) :]]
    frame.loc[frame.index[-1], "customer_id"] = None
    data, out = work / "na-ids.csv", work / "na-ids-scored.csv"
    frame.to_csv(data, index=False)
    ok(capsys, "score", "--model", cli_model, "--data", data, "--out", out)
    scored = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert scored["customer_id"].tolist() == [*frame["customer_id"].iloc[:-1], ""]
    assert (scored["score_note"].iloc[:-1] == "").all()
    assert scored["score_note"].iloc[-1] == "no customer id"

    model = work / "na-ids-model"
    ok(
        capsys,
        "train",
        "--data",
        data,
        "--target",
        "churned",
        "--id",
        "customer_id",
        "--out",
        model,
    )
    artifact = load_artifact(model)
    rows = artifact.holdout["row"].to_numpy()
    held = artifact.holdout_data["customer_id"].fillna("")
    assert held.tolist() == frame["customer_id"].fillna("").iloc[rows].tolist()


FORGED_MEMBERS = {
    "random-bytes": lambda data: bytes(range(256)) * 4,
    "not-a-model": lambda data: b"this is not a model\n",
    "cut-short": lambda data: data[: len(data) // 2],
    "field-renamed": lambda data: data.replace(b"threshold=", b"thresh="),
    "linked-back": lambda data: re.sub(rb"left_child=\d", b"left_child=0", data, count=1),
}


def test_a_forged_member_file_is_refused_with_one_sentence(cli_model: Path, work: Path) -> None:
    """A LightGBM member replaced by something else, its sha256 re-entered in the manifest:
    the real command refuses it with one sentence and exit 2. Before, LightGBM's reader
    ended the process (cut-short, field-renamed), looped for ever (linked-back) or failed
    with its own message (exit 1)."""
    runs = {}
    try:
        for case, change in FORGED_MEMBERS.items():
            model = forge(cli_model, work, "member_00.txt", change, suffix=case)
            out = work / f"forged-{case}.csv"
            runs[case] = (model, out, start_command(
                "--quiet", "score", "--model", model, "--data", NEW_BATCH, "--out", out
            ))  # fmt: skip
        for case, (model, out, process) in runs.items():
            done = finish(process, timeout=60)
            assert done.stdout == "", case
            line = one_error_line(done.returncode, done.stderr)
            assert line == (
                f"error: member_00.txt in {model} is damaged or not a model file; train the "
                "model again, or unzip it again if it came as a zip file."
            ), case
            assert not out.exists()
    finally:
        stop(process for _, _, process in runs.values())


FORMULA_IDS = ["=1+2", "+44 20 7946 0000", "-5", "@SUM(A1)", '=HYPERLINK("x")', "C-1"]


def test_score_writes_ids_exactly_and_the_apps_download_neutralises_them(
    capsys: pytest.CaptureFixture[str], cli_model: Path, batch: pd.DataFrame, work: Path
) -> None:
    """The scores file is for machines: ids are written exactly as read, even those a
    spreadsheet would run as formulas, so they join back; the help says so. The app's
    downloads (``to_safe_csv``) neutralise them for spreadsheets."""
    frame = batch.head(len(FORMULA_IDS)).assign(customer_id=FORMULA_IDS)
    data, out = work / "formula-ids.csv", work / "formula-ids-scored.csv"
    frame.to_csv(data, index=False)
    ok(capsys, "score", "--model", cli_model, "--data", data, "--out", out)
    scored = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert scored["customer_id"].tolist() == FORMULA_IDS
    assert out.read_text(encoding="utf-8").splitlines()[1].startswith("=1+2,")
    safe = pd.read_csv(io.BytesIO(to_safe_csv(scored)), dtype=str, keep_default_na=False)
    assert safe["customer_id"].tolist() == [f"'{i}" for i in FORMULA_IDS[:5]] + ["C-1"]
    with pytest.raises(SystemExit):
        main(["score", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "exactly as read, even those starting with =, +, - or @" in help_text


def test_ranking_by_value_reads_a_value_column_written_as_text(
    capsys: pytest.CaptureFixture[str], cli_model: Path, batch: pd.DataFrame, work: Path
) -> None:
    """The same customers get the same actions whether their values are numbers or "$35.42"."""
    policy_path = work / "policy-by-value.json"
    ok(capsys, "policy", "--model", cli_model, "--out", policy_path, "--top-share", "0.15",
       "--ranking", "expected_value")  # fmt: skip
    texted = batch.copy()
    texted["monthly_charges"] = [
        "" if pd.isna(v) else f"${v:,.2f}" for v in batch["monthly_charges"]
    ]
    actions = {}
    for name, frame in (("plain", batch), ("text", texted)):
        data = write_table(work, f"by-value-{name}.csv", frame)
        out = work / f"by-value-{name}-scores.csv"
        ok(capsys, "score", "--model", cli_model, "--data", data, "--out", out,
           "--policy", policy_path)  # fmt: skip
        actions[name] = read_scores(out)["action"].tolist()
    assert actions["text"] == actions["plain"]
    # a value column with nothing to read is a sentence, not a silent constant
    texted["monthly_charges"] = "n/a"
    data = write_table(work, "by-value-none.csv", texted)
    message = error(capsys, "score", "--model", cli_model, "--data", data, "--out",
                    work / "none.csv", "--policy", policy_path)  # fmt: skip
    assert "monthly_charges" in message


def test_batch_size_goes_with_top_n(
    capsys: pytest.CaptureFixture[str], cli_model: Path, work: Path
) -> None:
    message = error(capsys, "policy", "--model", cli_model, "--out", work / "x.json",
                    "--max-profit", "--batch-size", "100")  # fmt: skip
    assert "--batch-size goes with --top-n" in message


def test_ranking_goes_with_a_capacity(
    capsys: pytest.CaptureFixture[str], cli_model: Path, work: Path
) -> None:
    message = error(capsys, "policy", "--model", cli_model, "--out", work / "x.json",
                    "--max-profit", "--ranking", "expected_value")  # fmt: skip
    assert "--ranking goes with a capacity" in message
