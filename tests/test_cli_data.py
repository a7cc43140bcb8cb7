"""The command line on messy tables: `check`, the column-role flags, and scoring odd batches.

The model trained with the role flags is ``messy_model`` (``conftest.py``), shared with
``test_cli.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _cli import error, ok, run

from churn.training import SCORE_COLUMNS


@pytest.fixture(scope="module")
def messy(messy_export: Path) -> Path:
    """1,200 customers exported badly (``conftest.py``): semicolons, Latin-1, money as text,
    a leak."""
    return messy_export


def test_check_prints_the_report_and_writes_json(
    capsys: pytest.CaptureFixture[str], messy: Path, tmp_path: Path, sample_frame: pd.DataFrame
) -> None:
    report_path = tmp_path / "report.json"
    code, out, err = run(
        capsys, "check", "--data", messy, "--target", "churned", "--out", report_path
    )
    assert code == 0 and err == ""
    assert out.startswith("1,200 rows, 19 columns; target 'churned' (churned = 'Yes')")
    missing = int(sample_frame.head(1200)["monthly_charges"].isna().sum())  # written as "€ nan"
    assert (
        f"monthly_charges: numbers stored as text were converted; {missing} cells did not parse"
        in out
    )
    assert "closed_on: left out as a possible leak" in out
    report = json.loads(report_path.read_text(encoding="utf-8"))
    assert "closed_on" in report["left_out"] and "monthly_charges" in report["features"]


def test_train_records_the_roles_and_the_report(
    capsys: pytest.CaptureFixture[str], messy_model: Path
) -> None:
    info = json.loads((messy_model / "info.json").read_text(encoding="utf-8"))
    assert info["value_column"] == "monthly_charges"
    assert info["segments"] == ["gender", "age"]
    assert info["left_out"]["plan"] == "left out by you"
    assert "closed_on" in info["left_out"]
    model = json.loads((messy_model / "model.json").read_text(encoding="utf-8"))
    assert "plan" not in json.dumps(model["spec"]["columns"])
    check = json.loads((messy_model / "data_check.json").read_text(encoding="utf-8"))
    assert check["class_balance"]["churned"] + check["class_balance"]["retained"] == 1200


def test_keep_puts_a_left_out_column_back(
    capsys: pytest.CaptureFixture[str], messy: Path, tmp_path: Path
) -> None:
    code, out, _ = run(
        capsys, "check", "--data", messy, "--target", "churned", "--keep", "closed_on"
    )
    assert code == 0
    assert "closed_on: possible leak" in out and "kept because you said so" in out


def test_segments_are_suggested_given_or_none(
    capsys: pytest.CaptureFixture[str], messy: Path, tmp_path: Path
) -> None:
    """Without ``--segment`` the suggested attributes are checked; ``--no-segments`` says
    there are none (a model trained without any, as the app allows); not both at once."""
    found = {}
    for name, flags in {
        "suggested": [],
        "given": ["--segment", "region"],
        "none": ["--no-segments"],
    }.items():
        out = tmp_path / f"{name}.json"
        code, _, err = run(capsys, "check", "--data", messy, "--target", "churned", *flags,
                           "--out", out)  # fmt: skip
        assert code == 0, err
        found[name] = json.loads(out.read_text(encoding="utf-8"))["mapping"]["segments"]
    assert found["suggested"] and found["suggested"] != ["region"]
    assert (found["given"], found["none"]) == (["region"], [])
    line = error(capsys, "check", "--data", messy, "--target", "churned",
                 "--segment", "region", "--no-segments")  # fmt: skip
    assert "--no-segments" in line and "--segment" in line


def test_policy_uses_the_mapped_value_column(
    capsys: pytest.CaptureFixture[str], messy_model: Path, tmp_path: Path
) -> None:
    out = tmp_path / "policy.json"
    code, _, err = run(capsys, "policy", "--model", messy_model, "--out", out, "--max-profit")
    assert code == 0, err
    policy = json.loads(out.read_text(encoding="utf-8"))
    assert policy["economics"]["value_column"] == "monthly_charges"
    assert policy["economics"]["value_multiplier"] == 1.0


def test_score_a_messy_batch_keeps_every_row_with_reasons(
    capsys: pytest.CaptureFixture[str], messy_model: Path, sample_frame: pd.DataFrame, tmp_path
) -> None:
    batch = sample_frame.iloc[2000:2100].drop(columns="churned").copy()
    batch["monthly_charges"] = batch["monthly_charges"].map(lambda v: f"€ {v:.2f}").astype(object)
    batch.loc[batch.index[0], "monthly_charges"] = "unknown"
    batch["extra_column"] = "ignored"
    features = [c for c in batch.columns if c not in ("customer_id", "extra_column")]
    batch[features] = batch[features].astype(object)
    batch.loc[batch.index[1], features] = None
    batch.loc[batch.index[2], "contract_type"] = "Lifetime"  # never seen in training
    path = tmp_path / "batch.csv"
    batch.to_csv(path, index=False)
    out = tmp_path / "scores.csv"
    code, _, err = run(capsys, "score", "--model", messy_model, "--data", path, "--out", out)
    assert code == 0, err
    scored = pd.read_csv(out, dtype={"customer_id": str})
    assert scored["customer_id"].tolist() == batch["customer_id"].tolist()
    assert scored.loc[0, "score_note"] == "1 value(s) could not be read and were scored as missing"
    assert not np.isnan(scored.loc[0, "churn_probability"])
    assert scored.loc[1, "score_note"].startswith("not scored")
    assert scored.loc[1, list(SCORE_COLUMNS)].isna().all()
    assert scored.loc[2:, list(SCORE_COLUMNS)].notna().all().all()


def test_score_names_the_missing_columns(
    capsys: pytest.CaptureFixture[str], messy_model: Path, sample_frame: pd.DataFrame, tmp_path
) -> None:
    path = tmp_path / "short.csv"
    sample_frame.head(20).drop(columns=["tenure_months", "region"]).to_csv(path, index=False)
    line = error(
        capsys, "score", "--model", messy_model, "--data", path, "--out", tmp_path / "s.csv"
    )
    assert "tenure_months" in line and "region" in line


@pytest.mark.parametrize(
    ("content", "args", "expected"),
    [
        (b"a,b\n", [], "header but no rows"),
        (b"", [], "is empty"),
        (b"x,churn\n" + b"1,maybe\n2,yes\n3,no\n" * 30, ["--target", "churn"],
         "has 3: maybe, no, yes"),
        (b"x,churn\n" + b"1,yes\n" * 90, ["--target", "churn"], "single class"),
        (b"x,churn\n" + b"1,yes\n" * 10 + b"2,no\n" * 90, ["--target", "churn"], "Only 10"),
        (b"x,churn\n" + b"1,yes\n2,no\n" * 60, ["--target", "Target"], "'Target' is not in"),
        (b"row,churn\n" + b"".join(b"%d,%s\n" % (i, b"ny"[i % 2 : i % 2 + 1]) for i in range(200)),
         ["--target", "churn"], "No usable feature"),
    ],
    ids=["header-only", "empty", "three-values", "one-class", "few", "no-target", "no-feature"],
)  # fmt: skip
def test_check_errors_are_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: bytes, args: list, expected: str
) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes(content)
    line = error(capsys, "check", "--data", path, *args)
    assert expected in line


def _decimal_comma(value: object) -> object:
    """A number written as a semicolon-separated export with a decimal comma writes it."""
    if isinstance(value, float) and not np.isnan(value):
        return repr(value).replace(".", ",")
    return value


def test_numbers_that_arrive_as_text_are_scored_as_in_training(
    capsys: pytest.CaptureFixture[str], cli_sample_model: Path, new_batch_frame, tmp_path
) -> None:
    """A model trained on plain numbers; later batches write them as "$79.76", or with ";"
    between columns and a decimal comma: every row gets the same score as the plain file."""
    batch = new_batch_frame.head(200)
    plain, dollars, comma = tmp_path / "plain.csv", tmp_path / "dollars.csv", tmp_path / "comma.csv"
    batch.to_csv(plain, index=False)
    money = batch["monthly_charges"].map(lambda v: f"${v:,.2f}", na_action="ignore")
    batch.assign(monthly_charges=money).to_csv(dollars, index=False)
    batch.map(_decimal_comma).to_csv(comma, index=False, sep=";")
    assert "35,42;" in comma.read_text(encoding="utf-8")
    scores = {}
    for path in (plain, dollars, comma):
        out = tmp_path / f"{path.stem}-scores.csv"
        code, _, err = run(
            capsys, "score", "--model", cli_sample_model, "--data", path, "--out", out
        )
        assert code == 0, err
        scores[path.stem] = pd.read_csv(out, dtype={"customer_id": str}, keep_default_na=False)
    for name in ("dollars", "comma"):
        pd.testing.assert_frame_equal(scores[name], scores["plain"], check_exact=True)


def test_a_number_column_with_unreadable_text_counts_it_in_the_note(
    capsys: pytest.CaptureFixture[str], cli_sample_model: Path, new_batch_frame, tmp_path
) -> None:
    batch = new_batch_frame.head(30).astype({"monthly_charges": object})
    batch.loc[[3, 7], "monthly_charges"] = ["about 80", "n/a?"]
    path, out = tmp_path / "batch.csv", tmp_path / "scores.csv"
    batch.to_csv(path, index=False)
    code, _, err = run(capsys, "score", "--model", cli_sample_model, "--data", path, "--out", out)
    assert code == 0, err
    notes = pd.read_csv(out, keep_default_na=False)["score_note"]
    read_back = "1 value(s) could not be read and were scored as missing"
    assert notes[[3, 7]].tolist() == [read_back, read_back]
    assert (notes.drop([3, 7]) == "").all()


def test_infinite_and_overflowing_numbers_train_score_and_monitor(
    capsys: pytest.CaptureFixture[str],
    cli_sample_model: Path,
    sample_frame: pd.DataFrame,
    new_batch_frame: pd.DataFrame,
    tmp_path: Path,
) -> None:
    """inf, -inf and 1.7e308 (whose sums overflow) count as missing in training, scoring and
    monitoring, and are counted; before, training ended in an unexpected failure."""
    odd = [np.inf, -np.inf, 1.7e308, -1.7e308, 1e308]
    frame = sample_frame.head(1500).copy()
    frame.loc[frame.index[: len(odd)], "monthly_charges"] = odd
    frame.loc[frame.index[5:8], "weekly_usage_hours"] = 1.7e308
    data, model = tmp_path / "odd.csv", tmp_path / "model"
    frame.to_csv(data, index=False)
    args = ["--data", data, "--target", "churned", "--id", "customer_id"]
    ok(capsys, "train", *args, "--out", model)
    report = json.loads((model / "data_check.json").read_text(encoding="utf-8"))
    cells = {e["name"]: e.get("out_of_range_cells") for e in report["column_details"]}
    assert (cells["monthly_charges"], cells["weekly_usage_hours"]) == (5, 3)

    batch = new_batch_frame.head(50).copy()
    batch.loc[batch.index[: len(odd)], "monthly_charges"] = odd
    missing = batch.copy()
    missing.loc[missing.index[: len(odd)], "monthly_charges"] = np.nan
    scores = {}
    for name, table in (("odd", batch), ("missing", missing)):
        path, out = tmp_path / f"{name}.csv", tmp_path / f"{name}-scores.csv"
        table.to_csv(path, index=False)
        ok(capsys, "score", "--model", cli_sample_model, "--data", path, "--out", out)
        scores[name] = pd.read_csv(out, keep_default_na=False)
    columns = list(SCORE_COLUMNS)
    pd.testing.assert_frame_equal(scores["odd"][columns], scores["missing"][columns])
    note = "1 value(s) could not be read and were scored as missing"
    assert scores["odd"]["score_note"].tolist() == [note] * len(odd) + [""] * (50 - len(odd))
    out = ok(capsys, "monitor", "--model", cli_sample_model, "--data", tmp_path / "odd.csv")
    assert "profit" in out and "nan" not in out
