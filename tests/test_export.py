"""What engineering gets: policy JSON, commands, the model zip and the golden sample."""

from __future__ import annotations

import copy
import io
import json
import os
import shlex
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _beside import start_with_module
from _cli import stop
from conftest import cli_train

from churn import export
from churn.artifact import load_artifact
from churn.checks import ColumnMapping
from churn.cli import _parser, main
from churn.decisions import Choice
from churn.economics import Action, Economics, default_economics
from churn.errors import ChurnInputError
from churn.policy import apply_policy, build_policy, decide_on_holdout, validate_policy
from churn.targeting import PolicyRule
from churn.training import score_frame

NASTY = 'my models/it\'s "here" $(rm -rf ~); `x` & y'


@pytest.fixture(scope="module")
def economics(trained) -> Economics:
    return default_economics(list(trained.holdout_data.columns))


@pytest.fixture(scope="module")
def policy(trained, economics) -> dict:
    decision = decide_on_holdout(trained, economics, Choice("max_profit"))
    return build_policy(decision, economics, trained.fingerprint)


@pytest.fixture(scope="module")
def base_inputs(new_batch_frame) -> pd.DataFrame:
    return new_batch_frame


# ----------------------------------------------------------------- commands
def test_score_command_is_exact_and_shell_safe():
    command = export.score_command("models/churn", "data/new.csv", "policy.json", "scores.csv")
    assert command == (
        "python -m churn score --model models/churn --data data/new.csv --out scores.csv "
        "--policy policy.json"
    )
    nasty = export.score_command(NASTY, "data dir/new file.csv", "pol icy.json", "out put.csv")
    assert shlex.split(nasty) == [
        "python",
        "-m",
        "churn",
        "score",
        "--model",
        NASTY,
        "--data",
        "data dir/new file.csv",
        "--out",
        "out put.csv",
        "--policy",
        "pol icy.json",
    ]


def test_train_command_passes_every_role_in_order():
    mapping = ColumnMapping(
        target="Status",
        positive="Left",
        id_column="customer_id",
        value_column="monthly_charges",
        segments=("region", "age"),
        exclude=("plan", "row"),
        keep=("closed_on",),
    )
    assert export.train_command("data/export.csv", mapping, "models/churn", seed=3) == (
        "python -m churn train --data data/export.csv --target Status --positive Left "
        "--id customer_id --value-column monthly_charges --segment region --segment age "
        "--exclude plan --exclude row --keep closed_on --seed 3 --out models/churn"
    )


def test_train_command_says_no_segments_and_quotes_everything():
    """No segments is said (``--no-segments``: the command line would suggest some);
    spaces, quotes and values starting with a dash survive the shell and argparse."""
    mapping = ColumnMapping(target="has churned", positive="-1", exclude=("-odd", NASTY))
    spaced = export.train_command("my data.csv", mapping, "out dir")
    assert shlex.split(spaced) == [
        *["python", "-m", "churn", "train", "--data", "my data.csv", "--target", "has churned"],
        *["--positive=-1", "--no-segments", "--exclude=-odd", "--exclude", NASTY],
        *["--out", "out dir"],
    ]
    parsed = _parser().parse_args(shlex.split(spaced)[3:])
    assert (parsed.positive, parsed.exclude, parsed.no_segments) == ("-1", ["-odd", NASTY], True)


def test_training_mapping_is_what_the_model_records(trained):
    """The roles from ``data_check.json``; from ``info.json`` for a model without it."""
    mapping = export.training_mapping(trained)
    assert mapping == ColumnMapping(
        target="churned",
        positive="1",
        id_column="customer_id",
        segments=tuple(trained.info.segments),
    )
    assert mapping.segments  # the suggested ones: given as --segment, never left to suggest
    older = copy.copy(trained)
    older.extra_files = {k: v for k, v in trained.extra_files.items() if k != "data_check.json"}
    assert export.training_mapping(older) == mapping


def test_the_train_command_retrains_the_model_it_was_made_from(messy_export, tmp_path):
    """Any roles and seed: the command made from a model trains it again, fingerprint and all."""
    first = cli_train(
        messy_export, tmp_path / "first", "--target", "churned", "--positive", "yes",
        "--no-segments", "--exclude", "plan", "--keep", "closed_on", "--seed", "7",
    )  # fmt: skip
    artifact = load_artifact(first)
    command = export.train_command(
        str(messy_export),
        export.training_mapping(artifact),
        str(tmp_path / "again"),
        seed=artifact.model.random_state,
    )
    assert "--seed 7" in command and "--no-segments" in command
    argv = shlex.split(command)
    assert main(["--quiet", *argv[3:]]) == 0
    assert load_artifact(tmp_path / "again").fingerprint == artifact.fingerprint


@pytest.mark.parametrize(
    ("choice", "flags"),
    [
        (Choice("max_profit"), ["--max-profit"]),
        (Choice("threshold", 0.35), ["--threshold", "0.35"]),
        (Choice("top_share", 0.2), ["--top-share", "0.2"]),
        (Choice("top_n", 150), ["--top-n", "150"]),
        (Choice("precision", 0.5), ["--precision", "0.5"]),
        (Choice("recall", 0.8), ["--recall", "0.8"]),
    ],
)
def test_policy_command_passes_the_choice(choice, flags):
    command = export.policy_command("models/x y", "p.json", choice, "eco.json")
    assert shlex.split(command) == [
        *["python", "-m", "churn", "policy", "--model", "models/x y", "--out", "p.json"],
        *["--economics", "eco.json", *flags],
    ]


def test_the_cli_reproduces_the_apps_policy_and_actions(trained, model_dir, tmp_path, base_inputs):
    """policy_command + economics_json make the same cut-offs; score_command the same actions."""
    economics = Economics(
        (
            Action("Email offer", 1.0, 10.0, 0.1),
            Action("Call + discount", 15.0, 60.0, 0.35),
        ),
        value_constant=400.0,
    )
    choice = Choice("top_share", 0.3)
    app_rules = [r.to_dict() for r in decide_on_holdout(trained, economics, choice).rules]
    folder = tmp_path / "a folder with spaces"
    folder.mkdir()
    (folder / "economics.json").write_text(export.economics_json(economics), encoding="utf-8")
    data = folder / "new batch.csv"
    base_inputs.head(300).to_csv(data, index=False)
    policy_path = folder / "the policy.json"
    out = folder / "scores out.csv"

    def run(command: str) -> int:
        argv = shlex.split(command)
        assert argv[:3] == ["python", "-m", "churn"]
        return main(["--quiet", *argv[3:]])

    cmd = export.policy_command(
        str(model_dir), str(policy_path), choice, str(folder / "economics.json")
    )
    assert run(cmd) == 0
    written = json.loads(policy_path.read_text(encoding="utf-8"))
    assert written["rules"] == app_rules
    assert run(export.score_command(str(model_dir), str(data), str(policy_path), str(out))) == 0
    scores = pd.read_csv(out)
    expected = apply_policy(
        written, score_frame(trained, base_inputs.head(300))["churn_probability"].to_numpy()
    )
    assert scores["action"].tolist() == list(expected)


@pytest.fixture(scope="module")
def started_golden_runs(
    trained, model_dir, base_inputs, policy, tmp_path_factory
) -> Iterator[list[subprocess.Popen[str]]]:
    """The bash block engineering runs, on the right policy and on a wrong one, each in a
    folder of its own, started when the module starts (``_start_the_golden_runs``), so
    they run beside its other tests."""
    from churn.customers import to_safe_csv

    root = Path(__file__).resolve().parent.parent
    golden = export.golden_sample(trained, base_inputs, policy)
    wrong = {
        **policy,
        "rules": [{**r, "min_probability": r["min_probability"] + 0.05} for r in policy["rules"]],
    }
    script = export.golden_commands(str(model_dir), "my policy.json")
    env = {**os.environ, "PYTHONPATH": str(root)}
    python_dir = str(Path(sys.executable).parent)
    env["PATH"] = python_dir + os.pathsep + env.get("PATH", "")
    started = []
    for written in (policy, wrong):
        work = tmp_path_factory.mktemp("engineering dir")
        (work / "golden-sample.csv").write_bytes(to_safe_csv(golden))
        (work / "my policy.json").write_text(export.policy_json(written), encoding="utf-8")
        started.append(
            subprocess.Popen(
                ["bash", "-c", script],
                cwd=work,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    yield started
    stop(started)


_start_the_golden_runs = start_with_module("started_golden_runs")


@pytest.mark.slow
def test_golden_commands_score_and_check_the_golden_sample(started_golden_runs):
    """The bash block engineering runs passes on the right model and fails on a wrong policy."""
    right, wrong = started_golden_runs
    right_out, right_err = right.communicate(timeout=300)
    _, wrong_err = wrong.communicate(timeout=300)
    assert right.returncode == 0, right_err
    assert "golden test passed: 20 customers" in right_out
    assert wrong.returncode != 0
    assert "golden test failed" in wrong_err


# ------------------------------------------------------------------- policy
def test_policy_json_round_trips_and_validates(policy):
    text = export.policy_json(policy)
    assert text.endswith("\n")
    assert json.loads(text) == policy
    validate_policy(json.loads(text))
    with pytest.raises(ChurnInputError):
        export.policy_json({**policy, "rules": "all"})


def test_policy_file_name(policy, trained):
    name = export.policy_file_name(policy)
    assert name == f"policy-{trained.fingerprint[:12]}-{policy['created_at'][:10]}.json"


def test_describe_rules():
    rules = [PolicyRule("Email offer", 0.121), PolicyRule("Call + discount", 0.2182)]
    assert export.describe_rules(rules, "none") == [
        "Call + discount: churn probability 21.8% or more",
        "Email offer: churn probability from 12.1% to under 21.8%",
        "none: everyone else",
    ]
    assert export.describe_rules([], "none") == ["none: everyone"]


def test_economics_json_reads_back(economics):
    assert Economics.from_dict(json.loads(export.economics_json(economics))) == economics


# ------------------------------------------------------------------- model zip
def test_model_zip_loads_with_the_same_fingerprint(trained, tmp_path, base_inputs):
    data = export.model_zip(trained)
    assert data == export.model_zip(trained)  # the same bytes every time
    assert export.model_zip_name(trained) == f"churn-model-{trained.fingerprint[:12]}.zip"
    target = tmp_path / "models" / "churn"
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert "manifest.json" in archive.namelist()
        assert all("/" not in name for name in archive.namelist())
        archive.extractall(target)
    loaded = load_artifact(target)
    assert loaded.fingerprint == trained.fingerprint
    frame = base_inputs.head(200)
    pd.testing.assert_frame_equal(score_frame(loaded, frame), score_frame(trained, frame))


# ---------------------------------------------------------------- golden sample
def _truth(trained, base_inputs, policy):
    p = score_frame(trained, base_inputs)["churn_probability"].to_numpy()
    return p, np.asarray(apply_policy(policy, p), dtype=str)


def test_golden_sample_covers_every_action_and_each_cut_off(trained, base_inputs, policy):
    golden = export.golden_sample(trained, base_inputs, policy, n=20, seed=0)
    p, actions = _truth(trained, base_inputs, policy)
    assert len(golden) == 20
    assert golden["customer_id"].is_unique
    assert set(golden["expected_action"]) == set(actions)  # every action the base gets
    for rule in policy["rules"]:
        cut = rule["min_probability"]
        just_below = base_inputs["customer_id"].iloc[np.flatnonzero(p < cut)[np.argmax(p[p < cut])]]
        at_or_above = base_inputs["customer_id"].iloc[
            np.flatnonzero(p >= cut)[np.argmin(p[p >= cut])]
        ]
        assert {just_below, at_or_above} <= set(golden["customer_id"])
    assert "random" in set(golden["chosen_because"])


def test_golden_sample_holds_the_inputs_and_the_right_answers(trained, base_inputs, policy):
    golden = export.golden_sample(trained, base_inputs, policy, n=20, seed=0)
    assert trained.target not in golden.columns
    inputs = [c for c in base_inputs.columns if c != trained.target]
    assert golden.columns.tolist() == [
        *inputs,
        "churn_probability",
        "expected_action",
        "chosen_because",
    ]
    rescored = score_frame(trained, golden[inputs])
    np.testing.assert_allclose(rescored["churn_probability"], golden["churn_probability"])
    assert list(apply_policy(policy, golden["churn_probability"].to_numpy())) == (
        golden["expected_action"].tolist()
    )
    original = base_inputs.set_index("customer_id").loc[golden["customer_id"], inputs[1:]]
    pd.testing.assert_frame_equal(
        golden.set_index("customer_id")[inputs[1:]], original, check_names=False
    )
    assert np.all(np.diff(golden["churn_probability"].to_numpy()) <= 0)


def test_golden_sample_is_deterministic_for_a_seed(trained, base_inputs, policy):
    a = export.golden_sample(trained, base_inputs, policy, seed=3)
    b = export.golden_sample(trained, base_inputs, policy, seed=3)
    pd.testing.assert_frame_equal(a, b)
    c = export.golden_sample(trained, base_inputs, policy, seed=4)
    assert set(a["customer_id"]) != set(c["customer_id"])


def test_golden_sample_keeps_coverage_when_n_is_small(trained, base_inputs, policy):
    golden = export.golden_sample(trained, base_inputs, policy, n=2)
    n_required = len(policy["rules"]) + 1 + 2 * len(policy["rules"])
    assert 2 < len(golden) <= n_required
    assert "random" not in set(golden["chosen_because"])
    _, actions = _truth(trained, base_inputs, policy)
    assert set(golden["expected_action"]) == set(actions)


def test_golden_sample_refuses_a_policy_for_another_model(trained, base_inputs, policy):
    with pytest.raises(ChurnInputError, match="another model"):
        export.golden_sample(trained, base_inputs, {**policy, "model_fingerprint": "0" * 64})


def test_golden_sample_with_no_rules(trained, base_inputs, policy):
    golden = export.golden_sample(trained, base_inputs, {**policy, "rules": []}, n=5)
    assert len(golden) == 5
    assert set(golden["expected_action"]) == {"none"}


def test_golden_csv_is_the_safe_csv(trained, base_inputs, policy):
    from churn.customers import to_safe_csv

    golden = export.golden_sample(trained, base_inputs, policy)
    back = pd.read_csv(io.BytesIO(to_safe_csv(golden, decimals=None)))  # as the page offers it
    assert back["customer_id"].tolist() == golden["customer_id"].tolist()
    np.testing.assert_array_equal(back["churn_probability"], golden["churn_probability"])
