"""Each data check on a small hand-made frame, the leakage guard, and the suggestions."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

from churn.checks import (
    OTHER_LEVEL,
    ColumnMapping,
    Preparation,
    check_data,
    place_kind,
    report_lines,
)
from churn.errors import ChurnInputError
from churn.features import FeatureSpec
from churn.suggest import leak_columns, suggest_mapping

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


def test_free_text_is_left_out() -> None:
    frame = _frame()
    frame["notes"] = [f"customer called about invoice {i} and was unhappy" for i in range(N)]
    frame.loc[: N // 2, "notes"] = "no notes"
    check = _check(frame)
    assert "free text" in check.report["left_out"]["notes"]


def test_many_categories_group_their_rare_values_or_are_left_out() -> None:
    """Hundreds of values: the values with enough customers are kept and the rest grouped
    as one level (recorded, so scoring groups the same way); when the kept values would
    cover too few rows to learn from, the column is left out with the reason."""
    rng = np.random.default_rng(3)
    frame = _frame()
    common = rng.choice([f"S{v}" for v in range(6)], N)  # 6 values with ~45 customers each
    rare = [f"R{v}" for v in rng.permutation(N)]  # and 30% of rows with a value of their own
    frame["store"] = np.where(rng.random(N) < 0.7, common, rare)
    frame["route"] = [f"Z{v}" for v in rng.integers(0, 150, N)]  # ~3 customers a value
    check = _check(frame)
    assert set(check.preparation.groups["store"]) == set(common)
    assert set(check.frame["store"].dropna()) == {*common, OTHER_LEVEL}
    entry = _entry(check, "store")
    assert entry["grouped"]["kept"] == 6 and 0.2 < entry["grouped"]["other_share"] < 0.4
    assert "route" not in check.preparation.features
    assert "distinct values" in check.report["left_out"]["route"]
    later = pd.DataFrame({"store": ["S1", "R999999", "nowhere", None, " S2 "]})
    assert check.preparation.apply(later)[0]["store"].tolist() == [
        "S1", OTHER_LEVEL, OTHER_LEVEL, None, "S2"
    ]  # fmt: skip
    # put back by the user, it is grouped (here everything falls in the one level)
    kept = _check(frame, keep=("route",))
    assert "route" in kept.preparation.features
    assert kept.preparation.groups["route"] == []


def test_codes_stored_as_numbers_are_categories_not_quantities() -> None:
    rng = np.random.default_rng(4)
    frame = _frame()
    zips = np.array([2134, 2139, 90005, 90210, 94103, 95814, 10001, 60601])
    frame["Zip Code"] = rng.choice(zips, N)  # Boston's 02134 lost its leading zero
    frame["Area code"] = rng.choice([408, 415, 510], N)
    frame["branch_id"] = rng.integers(1, 30, N)
    frame["Number vmail messages"] = rng.integers(0, 50, N)  # a count: stays a number
    frame["yearly_income"] = rng.integers(20, 99, N) * 1000  # five digits, not a code
    frame["key_accounts"] = rng.integers(0, 5, N)  # "key", but not as a name's last word
    check = _check(frame)
    assert check.preparation.codes == {"Zip Code": 5, "Area code": 0, "branch_id": 0}
    zip_text = check.frame["Zip Code"]
    assert set(zip_text) == {f"{z:05d}" for z in zips}
    assert set(check.frame["Area code"]) == {"408", "415", "510"}
    for column in ("Zip Code", "Area code", "branch_id"):
        entry = _entry(check, column)
        assert entry["kind"] == "text" and entry["converted"].startswith("codes")
        assert column in check.preparation.features
        assert column not in check.preparation.numbers
    for column in ("Number vmail messages", "yearly_income", "key_accounts", "tenure"):
        assert column in check.preparation.numbers
    assert any(
        p["column"] == "Zip Code" and "categories" in p["message"] for p in check.report["problems"]
    )
    later = pd.DataFrame(
        {
            "Zip Code": [2134.0, np.nan, 90005.0, 94103.0],  # floats, as a blank cell makes them
            "Area code": ["408", " 415 ", "510.0", ""],  # as text
            "branch_id": [3, 4, 5, 6],
        }
    )
    prepared, unreadable = check.preparation.apply(later.astype({"branch_id": object}))
    assert prepared["Zip Code"].tolist() == ["02134", None, "90005", "94103"]
    assert prepared["Area code"].tolist() == ["408", "415", "510", None]
    assert prepared["branch_id"].tolist() == ["3", "4", "5", "6"]
    assert not unreadable.any()
    again, _ = check.preparation.apply(prepared)
    pd.testing.assert_frame_equal(again, prepared)


def test_postal_codes_written_as_text_stay_codes() -> None:
    frame = _frame()
    frame["postcode"] = np.random.default_rng(5).choice(["02134", "90005", "10001"], N)
    check = _check(frame)
    assert set(check.frame["postcode"]) == {"02134", "90005", "10001"}
    assert "postcode" not in check.preparation.numeric_text
    assert check.preparation.codes == {"postcode": 5}
    later = pd.DataFrame({"postcode": [2134, 90005]})  # a spreadsheet dropped the zero
    assert check.preparation.apply(later)[0]["postcode"].tolist() == ["02134", "90005"]


@pytest.mark.parametrize(
    ("column", "values", "kind"),
    [
        ("City", ["Los Angeles", "San Diego", "Fresno", "Oakland"], "city"),
        ("Lat Long", ["33.964131, -118.272783", "32.715736, -117.161087"], "coordinates"),
        ("Latitude", [33.96, 32.71, 36.74, 37.8], "coordinates"),
        ("Longitude", [-118.27, -117.16, -119.79, -122.27], "coordinates"),
        ("coords", ["33.96,-118.27", "32.71,-117.16"], "coordinates"),
        ("zip", ["02134", "90005", "10001"], "postal code"),
        ("billing_address", ["1 Main St", "2 Side Rd", "3 High St", "4 Low St"], "address"),
        ("State", ["CA", "NY", "TX"], "state or province"),
    ],
)  # fmt: skip
def test_places_are_flagged_as_possible_proxies_and_stay_usable(column, values, kind) -> None:
    frame = _frame()
    frame[column] = np.random.default_rng(6).choice(np.asarray(values), N)
    check = _check(frame)
    assert column in check.preparation.features  # the PM decides: used unless left out
    assert _entry(check, column)["place"] == kind
    notes = [p for p in check.report["problems"] if p["column"] == column]
    assert any("proxy" in p["message"] and p["severity"] == "warning" for p in notes), notes
    assert place_kind(column, frame[column]) == kind
    left_out = _check(frame, exclude=(column,))
    assert column not in left_out.preparation.features
    assert not any("proxy" in p["message"] for p in left_out.report["problems"])


@pytest.mark.parametrize(
    "column", ["plan", "tenure", "account_state", "long_distance", "status", "region"]
)
def test_columns_that_are_not_places_are_not_flagged(column) -> None:
    frame = _frame()
    if column not in frame:
        frame[column] = np.random.default_rng(7).choice(["a", "b", "c"], N)
    assert place_kind(column, frame[column]) is None
    assert "place" not in _entry(_check(frame), column)


def test_a_preparation_without_codes_or_groups_writes_what_it_always_wrote() -> None:
    """So models trained on tables without codes keep their fingerprint."""
    assert set(Preparation().to_dict()) == {
        "numeric_text", "decimal_comma", "dates", "date_formats", "features", "numbers"
    }  # fmt: skip
    prep = Preparation(codes={"zip": 5}, groups={"city": ["Fresno"]}, features=["zip", "city"])
    assert Preparation.from_dict(json.loads(json.dumps(prep.to_dict()))) == prep
    with pytest.raises((ValueError, TypeError)):
        Preparation.from_dict({**prep.to_dict(), "codes": {"zip": "five"}})
    with pytest.raises((ValueError, TypeError)):
        Preparation.from_dict({**prep.to_dict(), "groups": {"city": "Fresno"}})


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


def test_suggestions_on_the_telco_export(telco_frame: pd.DataFrame) -> None:
    suggested = suggest_mapping(telco_frame)
    assert suggested["target"][0] == "Churn Label"
    assert suggested["id_column"] == ["CustomerID"]
    # the lifetime value first, then the monthly charge
    assert suggested["value_column"][:2] == ["CLTV", "Monthly Charges"]
    # neither the constant Country and State nor a copy of the target
    assert suggested["segments"] == ["Gender", "Senior Citizen"]
    assert suggested["leaks"] == {
        "Churn Value": "a copy of the target",
        "Churn Reason": suggested["leaks"]["Churn Reason"],
    }
    assert suggested["leaks"]["Churn Reason"].startswith("filled only for churned customers")


def test_leak_and_constant_columns_are_never_offered_for_a_role() -> None:
    frame = _frame()
    churned = frame["Churn"] == "Yes"
    frame["churn_fee"] = np.where(churned, 25.0, 0.0)  # a copy of the target
    frame["refund_amount"] = np.where(churned, frame["charges"], np.nan)  # churners only
    frame["exit_region"] = np.where(churned, "North", None)  # churners only
    frame["country"] = "NL"  # one value
    frame["region"] = np.random.default_rng(8).choice(["North", "South"], N)
    frame["monthly_spend"] = frame["charges"] * 1.1
    suggested = suggest_mapping(frame)
    offered = {c for role in ("id_column", "value_column", "segments") for c in suggested[role]}
    assert not offered & {"churn_fee", "refund_amount", "exit_region", "country"}, offered
    assert suggested["value_column"] == ["charges", "monthly_spend"]
    assert suggested["segments"] == ["region"]
    assert set(suggested["leaks"]) >= {"churn_fee", "refund_amount", "exit_region"}
    assert leak_columns(frame, "Churn", "Yes", ["churn_fee", "charges"]) == {
        "churn_fee": "a copy of the target"
    }


@pytest.mark.parametrize(
    ("name", "expected"),
    [("CLTV", "CLTV"), ("LTV", "LTV"), ("Lifetime Value", "Lifetime Value"),
     ("customer_value", "customer_value"), ("clv_usd", "clv_usd")],
)  # fmt: skip
def test_a_lifetime_value_is_preferred_to_a_monthly_charge(name, expected) -> None:
    frame = _frame().rename(columns={"charges": "MonthlyCharges"})
    frame[name] = np.random.default_rng(9).integers(2_000, 6_500, N)
    suggested = suggest_mapping(frame)
    assert suggested["value_column"] == [expected, "MonthlyCharges"]
    assert "lifetime value" in suggested["why"]["value_column"][expected]


def test_every_suggestion_says_why(telco_frame: pd.DataFrame) -> None:
    suggested = suggest_mapping(telco_frame)
    why = suggested["why"]
    for role in ("target", "id_column", "value_column", "segments"):
        assert set(why[role]) == set(suggested[role]), role
        assert all(isinstance(r, str) and 3 <= len(r.split()) <= 14 for r in why[role].values())
    assert why["target"]["Churn Label"] == "two values; the name says churn"
    assert why["id_column"]["CustomerID"] == "unique for every row, named like an id"
    assert why["value_column"]["CLTV"] == "named like a customer lifetime value"
    assert why["value_column"]["Monthly Charges"] == "named like an amount (charge)"
    assert why["segments"]["Gender"] == "named like a personal attribute (gender); 2 values"


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


def test_a_category_read_back_as_numbers_keeps_its_levels() -> None:
    """Codes the model learned as text ("408") are found when a table (or a model's saved
    holdout, read back from CSV) brings them as numbers, with or without a blank cell."""
    spec = FeatureSpec.learn(pd.DataFrame({"Area code": ["408", "415", "510", "408"]}))
    assert spec.kinds["Area code"] == "categorical"
    later = pd.DataFrame({"Area code": [415.0, np.nan, 510.0, 408.5]})
    np.testing.assert_array_equal(
        spec.column_values(later, "Area code"), [1.0, np.nan, 2.0, np.nan]
    )
    whole = pd.DataFrame({"Area code": [510, 408]})
    np.testing.assert_array_equal(spec.column_values(whole, "Area code"), [2.0, 0.0])
