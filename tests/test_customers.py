"""The action list, its summary and filters, and spreadsheet-safe CSV."""

from __future__ import annotations

import csv
import io

import numpy as np
import pandas as pd
import pytest

from churn.customers import (
    action_list,
    action_order,
    action_summary,
    filter_action_list,
    sanitise_for_spreadsheet,
    segment_columns,
    to_safe_csv,
)
from churn.decisions import Choice
from churn.economics import Action, Economics, default_economics
from churn.errors import ChurnInputError
from churn.policy import apply_policy, build_policy, decide_on_holdout
from churn.targeting import PolicyRule
from churn.training import score_frame

ECONOMICS = Economics(
    (
        Action("Email offer", contact_cost=1.0, incentive_cost=10.0, success_rate=0.10),
        Action("Call + discount", contact_cost=15.0, incentive_cost=60.0, success_rate=0.35),
    ),
    value_column="monthly_charges",
    value_multiplier=12.0,
)
RULES = [
    PolicyRule("Email offer", 0.2),
    PolicyRule("Call + discount", 0.5),
]


@pytest.fixture
def scored() -> pd.DataFrame:
    p = np.array([0.1, 0.5, 0.2, 0.7, 0.5, 0.19999, 0.5000001, 1.0, 0.0, 0.2])
    return pd.DataFrame(
        {
            "customer_id": [f"00{i}" for i in range(10)],
            "monthly_charges": [50.0, 50.0, 25.0, 80.0, 40.0, 30.0, 60.0, 70.0, 20.0, np.nan],
            "plan": ["Basic", "Premium"] * 5,
            "region": ["North", "South", "East", "West", "North"] * 2,
            "tenure_months": np.arange(10),
            "churned": [0, 1] * 5,
            "churn_probability": p,
            "probability_low": np.clip(p - 0.05, 0, 1),
            "probability_high": np.clip(p + 0.05, 0, 1),
        },
        index=pd.RangeIndex(100, 110),
    )


def _list(scored: pd.DataFrame, **kwargs) -> pd.DataFrame:
    return action_list(scored, "customer_id", RULES, "none", ECONOMICS, **kwargs)


def test_sorted_by_probability_highest_first_with_ties_in_input_order(scored):
    table = _list(scored, reasons=None)
    p = table["churn_probability"].to_numpy()
    assert np.all(np.diff(p) <= 0)
    # the two customers at exactly 0.5 (inputs 1 and 4) and at 0.2 (2 and 9) keep input order
    assert table.loc[table["churn_probability"] == 0.5, "customer_id"].tolist() == ["001", "004"]
    assert table.loc[table["churn_probability"] == 0.2, "customer_id"].tolist() == ["002", "009"]
    assert table["rank"].tolist() == list(range(1, 11))
    assert table.index.equals(pd.RangeIndex(10))


def test_every_input_row_is_kept_once(scored):
    table = _list(scored)
    assert len(table) == len(scored)
    assert sorted(table["customer_id"]) == sorted(scored["customer_id"])
    merged = table.set_index("customer_id").loc[scored["customer_id"]]
    np.testing.assert_array_equal(merged["churn_probability"], scored["churn_probability"])
    np.testing.assert_array_equal(merged["probability_low"], scored["probability_low"])
    np.testing.assert_array_equal(merged["probability_high"], scored["probability_high"])


def test_action_is_the_highest_cut_off_reached(scored):
    table = _list(scored).set_index("customer_id")["action"]
    assert table["008"] == "none"  # p = 0
    assert table["000"] == "none"  # p = 0.1
    assert table["005"] == "none"  # p = 0.19999, just below the first cut-off
    assert table["002"] == "Email offer"  # p = 0.2, exactly at the cut-off
    assert table["001"] == "Call + discount"  # p = 0.5, exactly at the cut-off
    assert table["006"] == "Call + discount"  # just above
    assert table["007"] == "Call + discount"  # p = 1
    p = scored.set_index("customer_id")["churn_probability"]
    policy = {"schema_version": 1, "model_fingerprint": "x", "created_at": "now"}
    rules = [r.to_dict() for r in RULES]
    expected = apply_policy({**policy, "rules": rules, "default_action": "none"}, p.to_numpy())
    assert table.loc[p.index].tolist() == list(expected)


def test_no_rules_gives_everyone_the_default(scored):
    table = action_list(scored, "customer_id", [], "keep", ECONOMICS)
    assert set(table["action"]) == {"keep"}
    assert (table["expected_value"] == 0).all()


def test_expected_value_by_hand(scored):
    table = _list(scored).set_index("customer_id")
    # customer 001: p = 0.5, value 12 x 50 = 600, Call + discount (15 contact, 60 incentive, 35%)
    # 0.5 * (0.35 * (600 - 60) - 15) - 0.5 * (60 + 15) = 0.5 * 174 - 37.5 = 49.5
    assert table.loc["001", "customer_value"] == pytest.approx(600.0)
    assert table.loc["001", "expected_value"] == pytest.approx(49.5)
    # customer 002: p = 0.2, value 12 x 25 = 300, Email offer (1 contact, 10 incentive, 10%)
    # 0.2 * (0.1 * (300 - 10) - 1) - 0.8 * (10 + 1) = 0.2 * 28 - 8.8 = -3.2
    assert table.loc["002", "customer_value"] == pytest.approx(300.0)
    assert table.loc["002", "expected_value"] == pytest.approx(-3.2)
    # no action: 0
    assert table.loc["000", "expected_value"] == 0.0
    # missing charges take the median of the others (50 -> 600)
    assert table.loc["009", "customer_value"] == pytest.approx(12 * 50.0)


def test_columns_and_segments(scored):
    table = _list(scored)
    assert table.columns[:9].tolist() == [
        "rank",
        "customer_id",
        "churn_probability",
        "probability_low",
        "probability_high",
        "action",
        "expected_value",
        "customer_value",
        "plan",
    ]
    assert "region" in table.columns
    assert "tenure_months" not in table.columns  # numbers are not segments
    assert "churned" not in table.columns
    assert "monthly_charges" not in table.columns
    assert table["customer_id"].tolist()[0] == "007"  # text ids keep their leading zeros
    chosen = _list(scored, segments=["region"])
    assert "plan" not in chosen.columns
    assert (chosen.set_index("customer_id").loc[scored["customer_id"], "region"].tolist()) == (
        scored["region"].tolist()
    )


def test_without_an_id_column_rows_are_numbered(scored):
    table = action_list(scored.drop(columns="customer_id"), None, RULES, "none", ECONOMICS)
    assert table["row"].tolist()[:5] == [7, 3, 6, 1, 4]
    assert sorted(table["row"]) == list(range(10))


def test_reasons_follow_their_customer_even_when_shuffled(scored):
    reasons = pd.DataFrame(
        {f"reason_{i}": [f"{cid} reason {i}" for cid in scored["customer_id"]] for i in (1, 2, 3)},
        index=scored.index,
    ).sample(frac=1.0, random_state=1)
    table = _list(scored, reasons=reasons)
    for i in (1, 2, 3):
        assert (table[f"reason_{i}"] == table["customer_id"] + f" reason {i}").all()
    cols = table.columns.tolist()
    assert cols.index("reason_1") == cols.index("customer_value") + 1


def test_mismatched_reasons_and_unscored_data_are_refused(scored):
    with pytest.raises(ChurnInputError):
        _list(scored, reasons=pd.DataFrame({"reason_1": ["x"]}, index=[0]))
    with pytest.raises(ChurnInputError, match="scored"):
        _list(scored.drop(columns="probability_low"))
    with pytest.raises(ChurnInputError, match="id"):
        action_list(scored, "id", RULES, "none", ECONOMICS)


def test_segment_columns():
    frame = pd.DataFrame(
        {
            "id": [str(i) for i in range(30)],
            "plan": ["a", "b", "c"] * 10,
            "flag": [True, False] * 15,
            "amount": np.arange(30.0),
            "churn_probability": np.linspace(0, 1, 30),
            "target": ["yes", "no"] * 15,
        }
    )
    assert segment_columns(frame, exclude=("id", "target")) == ["plan", "flag"]
    assert segment_columns(frame) == ["plan", "flag", "target"]  # id has 30 levels


def test_summary_counts_and_expected_value(scored):
    table = _list(scored)
    order = action_order(RULES, "none")
    assert order == ["Call + discount", "Email offer", "none"]
    summary = action_summary(table, order)
    assert summary["action"].tolist() == order
    counts = table["action"].value_counts()
    assert summary["customers"].tolist() == [int(counts[a]) for a in order]
    assert summary["customers"].sum() == len(scored)
    assert summary["share"].sum() == pytest.approx(1.0)
    by_action = table.groupby("action")["expected_value"].sum()
    assert summary["expected_value"].tolist() == pytest.approx([by_action[a] for a in order])
    empty = action_summary(table[table["action"] == "none"], order)
    assert empty["customers"].tolist() == [0, 0, 3]
    assert empty["expected_value"].tolist() == [0.0, 0.0, 0.0]


def test_filters(scored):
    table = _list(scored)
    calls = filter_action_list(table, ["Call + discount"])
    assert set(calls["action"]) == {"Call + discount"}
    assert len(calls) == (table["action"] == "Call + discount").sum()
    north = filter_action_list(table, None, "region", ["North"])
    assert set(north["region"]) == {"North"}
    both = filter_action_list(table, ["Email offer", "none"], "plan", ["Basic"])
    assert set(both["plan"]) == {"Basic"} and "Call + discount" not in set(both["action"])
    assert np.all(np.diff(both["churn_probability"].to_numpy()) <= 0)  # ranking kept
    assert filter_action_list(table).equals(table)
    with pytest.raises(ChurnInputError):
        filter_action_list(table, None, "nope", ["x"])


def test_on_the_sample_base_counts_match_the_policy(trained, new_batch_frame):
    economics = default_economics(list(trained.holdout_data.columns))
    decision = decide_on_holdout(trained, economics, Choice("max_profit"))
    scored = pd.concat(
        [new_batch_frame, score_frame(trained, new_batch_frame).drop(columns="customer_id")],
        axis=1,
    )
    table = action_list(scored, "customer_id", decision.rules, "none", economics)
    assert len(table) == len(new_batch_frame) == table["customer_id"].nunique()
    policy = build_policy(decision, economics, trained.fingerprint)
    expected = apply_policy(policy, scored["churn_probability"].to_numpy())
    summary = action_summary(table, action_order(decision.rules, "none"))
    names, counts = np.unique(expected.astype(str), return_counts=True)
    assert dict(zip(summary["action"], summary["customers"], strict=True)) == dict(
        zip(names, counts, strict=True)
    )
    assert {"plan", "region", "contract_type"} <= set(table.columns)


def test_reasons_from_explanations(trained, new_batch_frame):
    explain = pytest.importorskip("churn.explain")
    frame = new_batch_frame.head(50)
    scored = pd.concat([frame, score_frame(trained, frame).drop(columns="customer_id")], axis=1)
    reasons = explain.top_reasons(trained, frame, k=3)
    table = action_list(scored, "customer_id", RULES, "none", ECONOMICS, reasons=reasons)
    assert {"reason_1", "reason_2", "reason_3"} <= set(table.columns)
    by_id = table.set_index("customer_id")
    for position in (0, 17, 49):
        cid = frame["customer_id"].iloc[position]
        assert by_id.loc[cid, "reason_1"] == reasons["reason_1"].iloc[position]
    assert table["reason_1"].map(lambda r: isinstance(r, str) and len(r) > 0).all()


# ---------------------------------------------------------------- safe CSV
def test_sanitise_neutralises_formula_text_and_keeps_numbers():
    frame = pd.DataFrame(
        {
            "text": ["=SUM(A1)", "+1", "-2", "@x", "\tcmd", "\rcmd", "normal", "a=b", None],
            "number": [-2.5, 1.0, -3.0, 0.0, 2.0, 3.0, 4.0, 5.0, np.nan],
            "integer": [-1, 2, 3, 4, 5, 6, 7, 8, 9],
            "flag": [True, False] * 4 + [True],
            "mixed": ["=1", 5, -2.5, "ok", None, "-x", 1, 2, 3],
        }
    )
    out = sanitise_for_spreadsheet(frame)
    assert out["text"].tolist()[:8] == [
        "'=SUM(A1)",
        "'+1",
        "'-2",
        "'@x",
        "'\tcmd",
        "'\rcmd",
        "normal",
        "a=b",
    ]
    assert pd.isna(out["text"].iloc[8])
    assert out["number"].dtype == frame["number"].dtype
    assert out["number"].iloc[0] == -2.5
    assert out["integer"].dtype == frame["integer"].dtype
    assert out["flag"].dtype == bool
    assert out["mixed"].tolist()[:6] == ["'=1", 5, -2.5, "ok", None, "'-x"]
    assert frame["text"].iloc[0] == "=SUM(A1)"  # the input is not changed


def test_sanitise_column_names_and_categoricals():
    frame = pd.DataFrame({"=cmd": pd.Categorical(["@a", "b"]), "ok": ["x", "y"]})
    out = sanitise_for_spreadsheet(frame)
    assert out.columns.tolist() == ["'=cmd", "ok"]
    assert out["'=cmd"].tolist() == ["'@a", "b"]


def test_safe_csv_is_utf8_with_newlines_and_numbers_stay_numbers():
    frame = pd.DataFrame({"name": ['=HYPERLINK("x")', "Zoë", "-2"], "amount": [-2.5, 3.0, 0.0]})
    data = to_safe_csv(frame)
    assert isinstance(data, bytes)
    text = data.decode("utf-8")
    assert "\r" not in text
    assert text.endswith("\n")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["name", "amount"]
    assert rows[1] == ['\'=HYPERLINK("x")', "-2.5"]  # the negative number is not quoted
    assert rows[2] == ["Zoë", "3.0"]
    assert rows[3] == ["'-2", "0.0"]
    back = pd.read_csv(io.BytesIO(data))
    assert back["amount"].dtype == float


#: What OWASP's CSV-injection guidance lists: a cell starting with one of these is a formula.
OWASP_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def test_formula_prefixes_follow_owasp():
    """A text cell or column name starting with any character OWASP lists is neutralised with
    a leading quote; text starting otherwise, even with such characters inside, is kept."""
    risky = [f"{start}SUM(A1:A9)" for start in OWASP_FORMULA_STARTS]
    harmless = ["SUM(A1:A9)", "a=b+c", "1-2", "mail@example.com", "Zoë"]
    frame = pd.DataFrame({"text": risky + harmless})
    for start in OWASP_FORMULA_STARTS:
        frame[f"{start}cmd"] = "x"
    out = sanitise_for_spreadsheet(frame)
    assert out["text"].tolist() == [f"'{cell}" for cell in risky] + harmless
    assert out.columns.tolist() == ["text", *(f"'{s}cmd" for s in OWASP_FORMULA_STARTS)]


def test_a_typed_customer_id_is_found_whatever_its_case():
    from churn.customers import find_customer

    ids = pd.Series(["C012292", "c012292x", "AB-7", None, "ab-7"], dtype="string")
    assert find_customer(ids, " C012292 ").tolist() == [0]
    assert find_customer(ids, "c012292").tolist() == [0]  # no exact match: case ignored
    assert find_customer(ids, "ab-7").tolist() == [4]  # an exact match wins
    assert find_customer(ids, "AB-7").tolist() == [2]
    assert find_customer(ids, "nobody").size == 0 and find_customer(ids, "  ").size == 0


def test_downloads_carry_numbers_without_float_noise():
    from churn.customers import to_safe_csv

    frame = pd.DataFrame({"p": [0.1 + 0.2, 1 / 3], "money": [628.9612345678, -2.5], "n": [1, 2]})
    text = to_safe_csv(frame).decode("utf-8")
    assert text.splitlines() == ["p,money,n", "0.3,628.961235,1", "0.333333,-2.5,2"]


def test_the_reasons_read_in_one_column():
    from churn.customers import joined_reasons

    table = pd.DataFrame(
        {"reason_2": ["b", None], "reason_1": ["a", "c"], "reason_10": ["z", ""], "x": [1, 2]}
    )
    assert joined_reasons(table).tolist() == ["a · b · z", "c"]
    assert joined_reasons(table[["x"]]).tolist() == ["", ""]
