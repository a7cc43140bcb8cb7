"""Each data check on a small hand-made frame, the leakage guard, and the suggestions."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

from churn.checks import ColumnMapping, Preparation, check_data, report_lines
from churn.errors import ChurnInputError
from churn.suggest import suggest_mapping

N = 400


def _frame(seed: int = 0) -> pd.DataFrame:
    """A plausible messy export: churn depends weakly on tenure and plan."""
    rng = np.random.default_rng(seed)
    tenure = rng.integers(1, 72, N)
    plan = rng.choice(["Basic", "Plus", "Pro"], N)
    p = 1 / (1 + np.exp(-(0.8 - 0.04 * tenure + (plan == "Basic") * 0.7)))
    churn = rng.random(N) < p
    return pd.DataFrame(
        {
            "account": [f"A{i:05d}" for i in rng.permutation(N)],
            "tenure": tenure,
            "plan": plan,
            "charges": rng.gamma(4, 15, N).round(2),
            "Churn": np.where(churn, "Yes", "No"),
        }
    )


def _check(frame: pd.DataFrame, **kwargs) -> dict:
    return check_data(frame, ColumnMapping(target="Churn", **kwargs))


def _entry(check, column: str) -> dict:
    return next(e for e in check.report["column_details"] if e["name"] == column)


def test_clean_table_uses_every_attribute_and_reports_the_balance() -> None:
    frame = _frame()
    check = _check(frame, id_column="account")
    assert check.preparation.features == ["tenure", "plan", "charges"]
    balance = check.report["class_balance"]
    assert balance["churned"] == int((frame["Churn"] == "Yes").sum())
    assert balance["churned"] + balance["retained"] == N
    assert check.report["left_out"] == {}
    json.dumps(check.report)  # stored with the model as JSON


@pytest.mark.parametrize("given", [None, "Yes", "yes", " YES "])
def test_the_churned_value_is_recorded_as_the_table_writes_it(given) -> None:
    """Inferred or given in any case, the mapping (and so the model) records "Yes"."""
    check = _check(_frame(), positive=given)
    assert check.mapping.positive == check.report["positive_label"] == "Yes"
    assert check.report["mapping"]["positive"] == "Yes"
    assert check.report == _check(_frame()).report


def test_numbers_stored_as_text_are_converted_and_bad_cells_counted() -> None:
    frame = _frame()
    text = frame["charges"].map(lambda v: f"${v:,.2f}").astype(object)
    text.iloc[[3, 7]] = "n/a"
    text.iloc[5] = "  "
    check = _check(frame.assign(charges=text))
    entry = _entry(check, "charges")
    assert entry["converted"] == "numbers stored as text"
    assert entry["unparsed_cells"] == 2
    assert entry["blank_cells"] == 1
    values = check.frame["charges"].to_numpy(dtype=float)
    assert np.isnan(values[[3, 5, 7]]).all()
    ok = np.setdiff1d(np.arange(N), [3, 5, 7])
    np.testing.assert_allclose(values[ok], frame["charges"].to_numpy()[ok])
    assert "charges" in check.preparation.numeric_text


def test_decimal_comma_and_percent_text() -> None:
    frame = _frame()
    text = frame["charges"].map(lambda v: f"{v:.2f}".replace(".", ",") + " %")
    check = _check(frame.assign(charges=text))
    np.testing.assert_allclose(check.frame["charges"], frame["charges"])
    assert check.preparation.decimal_comma == ["charges"]


def test_blank_strings_are_missing() -> None:
    frame = _frame()
    plan = frame["plan"].astype(object)
    plan.iloc[:40] = ""
    check = _check(frame.assign(plan=plan))
    assert _entry(check, "plan")["blank_cells"] == 40
    assert _entry(check, "plan")["missing_rate"] == pytest.approx(40 / N)


@pytest.mark.parametrize(
    ("column", "values", "reason"),
    [
        ("row", np.arange(1, N + 1), "sequential row numbers"),
        ("customer_no", np.random.default_rng(1).permutation(N) * 7 + 1000, "(an id)"),
        ("email", [f"user{i}@example.com" for i in range(N)], "(an id)"),
        ("country", ["NL"] * N, "constant"),
        ("empty", [np.nan] * N, "empty"),
    ],
)
def test_columns_that_are_not_customer_attributes_are_left_out(column, values, reason) -> None:
    check = _check(_frame().assign(**{column: values}))
    assert column not in check.preparation.features
    assert reason in check.report["left_out"][column]


def test_distinct_measurements_are_not_mistaken_for_ids() -> None:
    frame = _frame()
    frame["balance"] = np.random.default_rng(2).normal(1000, 300, N)  # unique floats
    assert "balance" in _check(frame).preparation.features


def test_free_text_is_left_out_and_many_categories_are_reduced() -> None:
    rng = np.random.default_rng(3)
    frame = _frame()
    frame["notes"] = [f"customer called about invoice {i} and was unhappy" for i in range(N)]
    frame.loc[: N // 2, "notes"] = "no notes"
    frame["zip"] = [f"Z{v}" for v in rng.integers(0, 150, N)]
    check = _check(frame)
    assert "free text" in check.report["left_out"]["notes"]
    assert "zip" in check.preparation.features
    assert _entry(check, "zip")["reduced"] == 100


def test_dates_become_days_before_the_latest_date() -> None:
    frame = _frame()
    start = pd.Timestamp("2024-01-31")
    frame["signup"] = [(start - pd.Timedelta(days=int(d))).strftime("%Y-%m-%d") for d in range(N)]
    frame.loc[10, "signup"] = "not a date"
    check = _check(frame)
    days = check.frame["signup"].to_numpy(dtype=float)
    assert days[0] == 0 and days[5] == 5 and np.isnan(days[10])
    assert _entry(check, "signup")["unparsed_cells"] == 1
    assert check.preparation.dates == {"signup": "2024-01-31T00:00:00"}
    # scoring applies the same reference day
    later = pd.DataFrame({"signup": ["2024-01-21"]})
    prepared, unreadable = check.preparation.apply(later)
    assert prepared["signup"].iloc[0] == 10 and unreadable[0] == 0


def test_duplicate_ids_stop_training_and_duplicate_rows_are_reported() -> None:
    frame = _frame()
    frame.loc[1, "account"] = frame.loc[0, "account"]
    with pytest.raises(ChurnInputError, match="repeated value"):
        _check(frame, id_column="account")
    copies = pd.concat([_frame(), _frame().head(5)], ignore_index=True)
    check = _check(copies)
    assert check.report["duplicate_rows"] == 5
    assert len(check.frame) == N + 5  # kept, not silently dropped


def test_leakage_guard_leaves_out_copies_one_class_columns_and_perfect_predictors() -> None:
    frame = _frame()
    churned = frame["Churn"] == "Yes"
    frame["status_code"] = np.where(churned, "C", "A")  # a copy of the target
    frame["cancel_reason"] = np.where(churned, "price", None)  # filled for churners only
    frame["closing_score"] = np.where(churned, 10.0, 0.0) + np.random.default_rng(4).random(N)
    check = _check(frame)
    left_out = check.report["left_out"]
    assert "copy of the target" in left_out["status_code"]
    assert "filled only for churned customers" in left_out["cancel_reason"]
    assert "almost perfectly" in left_out["closing_score"]
    assert set(check.preparation.features) == {"tenure", "plan", "charges", "account"} - {"account"}
    kept = _check(frame, keep=("closing_score",))
    assert "closing_score" in kept.preparation.features
    assert any(p["check"] == "leakage" and "kept" in p["message"] for p in kept.report["problems"])


def test_an_honest_strong_feature_is_not_called_a_leak() -> None:
    frame = _frame()
    assert _entry(_check(frame), "tenure")["single_column_auc"] < 0.98
    assert "tenure" in _check(frame).preparation.features


def test_user_exclusions_and_errors() -> None:
    frame = _frame()
    check = _check(frame, exclude=("charges",))
    assert "charges" not in check.preparation.features
    assert check.report["left_out"]["charges"] == "left out by you"
    with pytest.raises(ChurnInputError, match="No usable feature"):
        _check(frame[["account", "Churn"]].assign(country="NL"))
    with pytest.raises(ChurnInputError, match="not numeric"):
        _check(frame, value_column="plan")
    with pytest.raises(ChurnInputError, match="'nope' is not in the data"):
        _check(frame, segments=("nope",))


def test_report_lines_read_as_sentences() -> None:
    frame = _frame().assign(row=np.arange(N))
    lines = report_lines(_check(frame).report)
    assert lines[0].startswith(f"{N:,} rows, 6 columns; target 'Churn' (churned = 'Yes')")
    assert any(line.startswith("row: left out of the features") for line in lines)


def test_suggestions_on_a_typical_export() -> None:
    frame = _frame()
    frame["SeniorCitizen"] = np.random.default_rng(5).integers(0, 2, N)
    frame["Gender"] = np.random.default_rng(6).choice(["F", "M"], N)
    frame = frame.rename(columns={"account": "CustomerID", "charges": "MonthlyCharges"})
    suggested = suggest_mapping(frame)
    assert suggested["target"][0] == "Churn"
    assert suggested["positive"]["Churn"] == "Yes"
    assert suggested["id_column"] == ["CustomerID"]
    assert suggested["value_column"] == ["MonthlyCharges"]
    assert set(suggested["segments"]) == {"SeniorCitizen", "Gender"}


def test_suggested_positive_from_words() -> None:
    frame = pd.DataFrame({"Attrition_Flag": ["Existing Customer", "Attrited Customer"] * 60})
    assert suggest_mapping(frame)["positive"]["Attrition_Flag"] == "Attrited Customer"


def test_preparation_round_trips_as_json() -> None:
    prep = Preparation(
        numeric_text=["a"], decimal_comma=["a"], dates={"d": "2024-01-01T00:00:00"}, features=["a"]
    )
    assert Preparation.from_dict(json.loads(json.dumps(prep.to_dict()))) == prep


def test_preparation_is_idempotent() -> None:
    frame = _frame()
    frame["charges"] = frame["charges"].map(lambda v: f"${v:,.2f}")
    frame["signup"] = (pd.Timestamp("2024-01-31") - pd.to_timedelta(frame["tenure"], "D")).astype(
        str
    )
    check = _check(frame)
    once, _ = check.preparation.apply(frame)
    twice, unreadable = check.preparation.apply(once)
    pd.testing.assert_frame_equal(once, twice)
    assert not unreadable.any()


def test_thousands_separators_are_not_decimal_commas() -> None:
    frame = _frame()
    money = (frame["charges"] * 40).round(0)
    text = money.map(lambda v: f"{v:,.0f}")  # "1,915", "950"
    check = _check(frame.assign(charges=text))
    assert check.preparation.decimal_comma == []
    np.testing.assert_allclose(check.frame["charges"], money)


def test_preparation_covers_only_the_model_columns() -> None:
    frame = _frame()
    frame["charges"] = frame["charges"].map(lambda v: f"${v:,.2f}")
    frame["closing_amount"] = np.where(frame["Churn"] == "Yes", "$10.00", "")  # a leak
    check = _check(frame)
    assert "closing_amount" in check.report["left_out"]
    assert check.preparation.numeric_text == ["charges"]


def test_plain_number_columns_are_recorded_and_read_from_later_text() -> None:
    frame = _frame()
    check = _check(frame)
    assert check.preparation.numbers == ["tenure", "charges"]
    later = frame.assign(charges=frame["charges"].map(lambda v: f"€ {v:.2f}".replace(".", ",")))
    later.loc[5, "charges"] = "soon"
    prepared, unreadable = check.preparation.apply(later)
    expected = frame["charges"].where(frame.index != 5)
    np.testing.assert_array_equal(prepared["charges"], expected)
    assert unreadable.tolist() == [int(i == 5) for i in range(N)]


@pytest.mark.parametrize(
    ("cells", "trained_comma", "expected"),
    [
        (["1.234,5", "7", "12,75"], False, [1234.5, 7, 12.75]),
        (["1,234.5", "7", "12.75"], True, [1234.5, 7, 12.75]),
        (["1.234", "7"], True, [1234, 7]),  # no decimal in sight: as in training
        (["1,234", "7"], False, [1234, 7]),
    ],
)
def test_a_later_table_says_which_decimal_mark_it_writes(cells, trained_comma, expected) -> None:
    prep = Preparation(numeric_text=["x"], decimal_comma=["x"] if trained_comma else [])
    prepared, unreadable = prep.apply(pd.DataFrame({"x": cells}))
    np.testing.assert_allclose(prepared["x"], expected)
    assert not unreadable.any()


def test_a_model_from_before_numbers_were_recorded_reads_them_from_its_features(trained) -> None:
    data = json.loads(trained.extra_files["preparation.json"])
    assert "monthly_charges" in data.pop("numbers")
    old = dataclasses.replace(
        trained, extra_files={**trained.extra_files, "preparation.json": json.dumps(data)}
    )
    assert old.preparation.numbers == trained.preparation.numbers
    assert "contract_type" not in old.preparation.numbers


def test_infinite_and_overflowing_numbers_are_missing_and_counted() -> None:
    frame = _frame()
    frame["charges"] = frame["charges"].astype(float)
    frame.loc[[0, 1, 2, 3], "charges"] = [np.inf, -np.inf, 1.7e308, -1e308]
    frame["fee"] = frame["charges"].map(lambda v: f"${v:.2f}")  # text numbers: "$inf" too
    frame.loc[4, "fee"] = "1e400"
    check = _check(frame)
    assert check.frame["charges"].isna().tolist()[:5] == [True] * 4 + [False]
    assert check.frame["fee"].isna().tolist()[:5] == [True] * 5
    assert np.isfinite(check.frame["charges"].iloc[4:]).all()
    assert _entry(check, "charges")["out_of_range_cells"] == 4
    assert _entry(check, "fee")["out_of_range_cells"] == 5
    lines = report_lines(check.report)
    assert "charges: 4 cells are infinite or too large to be a measurement" in "\n".join(lines)
    later = frame.assign(charges=frame["charges"].fillna(0.0))
    prepared, unreadable = check.preparation.apply(later)
    assert prepared["charges"].isna().tolist()[:5] == [True] * 4 + [False]
    assert unreadable[:5].tolist() == [2, 2, 2, 2, 1]  # charges and fee; fee only in row 4
