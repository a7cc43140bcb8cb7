"""What engineering needs to run the PM's policy: the policy file, commands and a golden test.

* :func:`policy_json` is the policy document as the file ``python -m churn score --policy``
  reads;
* :func:`train_command` and :func:`score_command` are the exact shell commands
  (shell-quoted, so paths with spaces or quotes survive); given the roles the model
  records (:func:`training_mapping`) and its seed, :func:`train_command` trains the same
  model again from the same file;
* :func:`golden_sample` is a small set of customers with the probability and action the
  policy must give them: customers of every action, the customers closest on each side of
  every cut-off, and a few random ones. Engineering scores it and compares;
* :func:`model_zip` is the model directory as a zip, built in memory: a policy only works
  with the model whose fingerprint it carries. Training the same data with the same seed
  and settings gives the same fingerprint (when and how fast it was trained are kept
  outside it), but any other change gives a new one, so engineering either unzips this
  model, retrains it exactly (:func:`train_command`), or exports the policy for its own
  model with :func:`policy_command`.
"""

from __future__ import annotations

import hashlib
import io
import json
import shlex
import zipfile
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from churn.artifact import Artifact, fingerprint_of
from churn.checks import ColumnMapping
from churn.customers import SCORE_COLUMNS, action_order
from churn.decisions import Choice
from churn.economics import Economics
from churn.errors import ChurnInputError
from churn.policy import apply_policy, capacity_of, rules_of, validate_policy
from churn.sample import NEW_BATCH_PATH, SAMPLE_PATH
from churn.targeting import PolicyRule, sorted_rules
from churn.training import score_frame

__all__ = [
    "ECONOMICS_PATH",
    "MODEL_DIR",
    "SCORES_PATH",
    "data_paths",
    "describe_rules",
    "economics_json",
    "golden_commands",
    "golden_sample",
    "model_zip",
    "model_zip_name",
    "policy_command",
    "policy_file_name",
    "policy_json",
    "score_command",
    "train_command",
    "training_mapping",
]

#: The interpreter in the commands shown to engineering.
PYTHON = "python"
#: The paths the commands shown to engineering use (the Export page and the memo).
MODEL_DIR = "models/churn"
SCORES_PATH = "scores.csv"
ECONOMICS_PATH = "economics.json"


def data_paths(artifact: Artifact) -> tuple[str, str]:
    """The files the commands train on and score: ``(train_data, score_data)``.

    For the bundled sample, its files under ``data/``; otherwise the file the model was
    trained on (as it records it) and ``customers.csv``.
    """
    if artifact.info.source == SAMPLE_PATH.name:
        return f"data/{SAMPLE_PATH.name}", f"data/{NEW_BATCH_PATH.name}"
    return artifact.info.source or "data.csv", "customers.csv"


def policy_json(policy: dict[str, Any]) -> str:
    """The policy document as the text of its file (validated; indented JSON, newline at end)."""
    validate_policy(policy)
    return json.dumps(policy, indent=2) + "\n"


def policy_file_name(policy: dict[str, Any]) -> str:
    """A file name saying which model and day the policy is for: ``policy-<fp12>-<date>.json``."""
    day = str(policy.get("created_at", ""))[:10] or "undated"
    return f"policy-{str(policy['model_fingerprint'])[:12]}-{day}.json"


def economics_json(economics: Economics) -> str:
    """The economics as the JSON file ``python -m churn policy --economics`` reads."""
    return json.dumps(economics.to_dict(), indent=2) + "\n"


def describe_rules(rules: Sequence[PolicyRule], default_action: str) -> list[str]:
    """A policy's rules in plain words, strongest action first.

    ``["Call + discount: churn probability 21.8% or more", "Email offer: from 12.1% to
    21.8%", "none: everyone else"]``.
    """
    ranked = sorted_rules(rules, strongest_first=True)
    lines = []
    upper = None
    for rule in ranked:
        low = f"{rule.min_probability:.1%}"
        if upper is None:
            lines.append(f"{rule.action}: churn probability {low} or more")
        else:
            lines.append(f"{rule.action}: churn probability from {low} to under {upper}")
        upper = low
    lines.append(f"{default_action}: {'everyone else' if ranked else 'everyone'}")
    return lines


def model_zip(artifact: Artifact) -> bytes:
    """The model directory (as :func:`churn.artifact.save_artifact` writes it) as zip bytes.

    Built in memory, nothing is written to disk; unzipped, it loads with
    :func:`churn.artifact.load_artifact` and has ``artifact.fingerprint``. The bytes are
    the same for the same model (fixed timestamps, sorted names).
    """
    files = {name: text.encode("utf-8") for name, text in artifact.files().items()}
    hashes = {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}
    fingerprint = fingerprint_of(hashes)
    if artifact.fingerprint and fingerprint != artifact.fingerprint:
        raise ChurnInputError("The model changed after it was trained; train it again.")
    manifest = json.dumps({"fingerprint": fingerprint, "files": hashes}, indent=1)
    files["manifest.json"] = manifest.encode("utf-8")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            entry = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            archive.writestr(entry, files[name])
    return buffer.getvalue()


def model_zip_name(artifact: Artifact) -> str:
    """``churn-model-<fp12>.zip``."""
    return f"churn-model-{artifact.fingerprint[:12]}.zip"


#: How each way of choosing is passed to ``python -m churn policy``.
CHOICE_FLAGS = {
    "threshold": "--threshold",
    "top_n": "--top-n",
    "top_share": "--top-share",
    "precision": "--precision",
    "recall": "--recall",
    "max_profit": "--max-profit",
}


def policy_command(
    model_dir: str,
    out_path: str,
    choice: Choice,
    economics_path: str | None = None,
    ranking: str = "churn_probability",
    batch_size: int | None = None,
) -> str:
    """The ``python -m churn policy`` command that makes the same choice for ``model_dir``
    (with the ranking a capacity uses, and the batch size a number of customers was
    measured for)."""
    args = [PYTHON, "-m", "churn", "policy", "--model", model_dir, "--out", out_path]
    if economics_path is not None:
        args += ["--economics", economics_path]
    args.append(CHOICE_FLAGS[choice.method])
    if choice.method == "top_n":
        args.append(str(round(float(choice.value))))  # type: ignore[arg-type]
        if batch_size is not None:
            args += ["--batch-size", str(int(batch_size))]
    elif choice.method != "max_profit":
        args.append(repr(float(choice.value)))  # type: ignore[arg-type]
    if ranking != "churn_probability":
        args += ["--ranking", ranking]
    return shlex.join(args)


def _option(flag: str, value: str) -> list[str]:
    """``[flag, value]``, or ``[flag=value]`` when the value starts with a dash (a label
    such as ``-1``, a column such as ``-x``), which would otherwise read as an option."""
    return [f"{flag}={value}"] if value.startswith("-") else [flag, value]


def training_mapping(artifact: Artifact) -> ColumnMapping:
    """The column roles ``artifact`` was trained with, as it records them.

    They are the mapping of its ``data_check.json`` (the target, the churned value, the id,
    the value column, the segments, the columns left out and put back); a model from before
    the data checks has only the roles of its ``info.json`` (nothing left out or put back).
    The churned value is the one the model records when the mapping has none.
    """
    info = artifact.info
    recorded = (artifact.data_check or {}).get("mapping") or {
        "target": info.target,
        "id_column": info.id_column,
        "value_column": info.value_column,
        "segments": info.segments,
    }
    return ColumnMapping(
        target=recorded["target"],
        positive=recorded.get("positive") or info.positive_label,
        id_column=recorded.get("id_column"),
        value_column=recorded.get("value_column"),
        segments=tuple(recorded.get("segments") or ()),
        exclude=tuple(recorded.get("exclude") or ()),
        keep=tuple(recorded.get("keep") or ()),
    )


def train_command(
    data_path: str, mapping: ColumnMapping, out_dir: str = "models/churn", seed: int = 0
) -> str:
    """The ``python -m churn train`` command that writes the model directory ``out_dir``.

    Every role of ``mapping`` is passed, so nothing is left to the command line's
    suggestions: ``--positive`` (when set), ``--id``, ``--value-column``, one ``--segment``
    per segment (``--no-segments`` when there are none), one ``--exclude`` and ``--keep``
    per column, in the mapping's order, and ``--seed`` when it is not 0. Run on the file
    the model was trained on, with :func:`training_mapping` of the model and its seed, it
    trains the same model (the same fingerprint). Shell-quoted.
    """
    args = [PYTHON, "-m", "churn", "train", *_option("--data", data_path)]
    args += _option("--target", mapping.target)
    if mapping.positive is not None:
        args += _option("--positive", str(mapping.positive))
    if mapping.id_column is not None:
        args += _option("--id", mapping.id_column)
    if mapping.value_column is not None:
        args += _option("--value-column", mapping.value_column)
    for segment in mapping.segments:
        args += _option("--segment", segment)
    if not mapping.segments:
        args.append("--no-segments")
    for column in mapping.exclude:
        args += _option("--exclude", column)
    for column in mapping.keep:
        args += _option("--keep", column)
    if seed != 0:
        args += _option("--seed", str(int(seed)))
    args += _option("--out", out_dir)
    return shlex.join(args)


def score_command(model_dir: str, data_path: str, policy_path: str, out_path: str) -> str:
    """The exact ``python -m churn score`` command applying the policy (shell-quoted)."""
    return shlex.join(
        [
            PYTHON,
            "-m",
            "churn",
            "score",
            "--model",
            model_dir,
            "--data",
            data_path,
            "--out",
            out_path,
            "--policy",
            policy_path,
        ]
    )


def golden_commands(
    model_dir: str,
    policy_path: str,
    golden_path: str = "golden-sample.csv",
    scores_path: str = "golden-scores.csv",
    tolerance: float = 1e-6,
) -> str:
    """Bash that scores the golden sample and checks every probability and action.

    Exits with an error naming the first customers that differ; prints
    ``golden test passed`` otherwise. Rows are compared in file order (scoring keeps it).
    """
    check = (
        "import sys, pandas as pd\n"
        f"want = pd.read_csv({golden_path!r})\n"
        f"got = pd.read_csv({scores_path!r})\n"
        "if len(got) != len(want):\n"
        "    sys.exit(f'golden test failed: {len(got)} rows scored, {len(want)} expected')\n"
        "bad = ((want['churn_probability'] - got['churn_probability']).abs() > "
        f"{tolerance!r}) | (want['expected_action'] != got['action'])\n"
        "if bad.any():\n"
        "    sys.exit(f'golden test failed for {bad.sum()} customers:\\n{want[bad].head()}')\n"
        "print(f'golden test passed: {len(want)} customers')\n"
    )
    return (
        f"{score_command(model_dir, golden_path, policy_path, scores_path)}\n"
        f"{PYTHON} - <<'EOF'\n{check}EOF\n"
    )


def golden_sample(
    artifact: Artifact,
    frame: pd.DataFrame,
    policy: dict[str, Any],
    n: int = 20,
    seed: int = 0,
) -> pd.DataFrame:
    """Customers with the probability and action the policy must give them (a golden test).

    Chosen, in this order of priority:

    1. one customer of every action the policy gives in ``frame`` (picked at random);
    2. for every cut-off, the customer just below it and the one at or just above it (the
       ones a rounding or ``>`` vs ``>=`` mistake would move to another action);
    3. random customers up to ``n`` in all (1 and 2 are kept even when they exceed ``n``).

    Deterministic for a ``seed``. Returns the customers' input columns (the target, if
    present, is dropped), ``churn_probability``, ``expected_action`` and ``chosen_because``,
    sorted by probability, highest first.
    """
    validate_policy(policy)
    if policy["model_fingerprint"] != artifact.fingerprint:
        raise ChurnInputError(
            "The policy was made for another model; export a policy for this model first."
        )
    inputs = frame.drop(
        columns=[c for c in (artifact.target, *SCORE_COLUMNS) if c in frame.columns]
    ).reset_index(drop=True)
    if inputs.empty:
        raise ChurnInputError("There are no customers to build a golden sample from.")
    p = score_frame(artifact, inputs)["churn_probability"].to_numpy(dtype=float)
    prepared = artifact.preparation.apply(inputs)[0]  # values read as scoring reads them
    action = np.asarray(apply_policy(policy, p, prepared, artifact.id_column), dtype=str)
    rng = np.random.default_rng(seed)
    chosen: dict[int, str] = {}  # row -> why (first reason wins)

    rules = rules_of(policy)
    for name in action_order(rules, policy["default_action"]):
        rows = np.flatnonzero(action == name)
        if rows.size:
            chosen.setdefault(int(rng.choice(rows)), f"an example of '{name}'")
    for rule in sorted_rules(rules):
        cut = rule.min_probability
        below = np.flatnonzero(p < cut)
        above = np.flatnonzero(p >= cut)
        if below.size:
            row = int(below[np.argmax(p[below])])
            chosen.setdefault(row, f"closest below the {cut:.4f} cut-off of '{rule.action}'")
        if above.size:
            row = int(above[np.argmin(p[above])])
            chosen.setdefault(row, f"closest at or above the {cut:.4f} cut-off of '{rule.action}'")
    rest = np.setdiff1d(np.arange(len(inputs)), np.fromiter(chosen, dtype=int, count=len(chosen)))
    extra = max(0, min(n - len(chosen), rest.size))
    for row in rng.choice(rest, size=extra, replace=False):
        chosen[int(row)] = "random"

    rows = np.fromiter(chosen, dtype=int, count=len(chosen))
    rows = rows[np.argsort(-p[rows], kind="stable")]
    if capacity_of(policy) is not None:
        # the golden test scores the sample as a batch of its own: the capacity applies to it
        action = np.asarray(action, dtype=object)
        prepared = artifact.preparation.apply(inputs.iloc[rows])[0]
        action[rows] = np.asarray(
            apply_policy(policy, p[rows], prepared, artifact.id_column), dtype=str
        )
    return (
        inputs.iloc[rows]
        .reset_index(drop=True)
        .assign(
            churn_probability=p[rows],
            expected_action=action[rows],
            chosen_because=[chosen[int(r)] for r in rows],
        )
    )
