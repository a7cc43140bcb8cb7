"""Tests for churn.data: reading and writing tables, the positive label, the target and features.

Every failure must be a ChurnInputError whose one-line message names the problem.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from churn.data import (
    MIN_MINORITY,
    encode_target,
    label_text,
    positive_choices,
    read_table,
    resolve_positive,
    split_features,
    write_table,
)
from churn.errors import ChurnInputError


def _error(excinfo: pytest.ExceptionInfo[ChurnInputError]) -> str:
    """The message of a raised ChurnInputError, checked to be a single line."""
    message = str(excinfo.value)
    assert message.strip(), "the error message is empty"
    assert "\n" not in message, f"the error message spans several lines: {message!r}"
    return message


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["C1", "C2", "C3", "C4"],
            "tenure": [1, 24, 7, 60],
            "plan": ["Basic", "Premium", None, "Basic"],
            "charges": [10.5, np.nan, 30.25, 99.0],
            "paperless": [True, False, True, True],
            "churned": [1, 0, 0, 1],
        }
    )


def _binary(values: list[object], n_each: int = 60, name: str = "target") -> pd.Series:
    """A target with ``n_each`` of each of two values, interleaved."""
    return pd.Series([values[i % 2] for i in range(2 * n_each)], name=name)


# ------------------------------------------------------------------ read_table
def test_read_csv_strips_column_names_and_keeps_values(tmp_path: Path) -> None:
    path = tmp_path / "customers.csv"
    path.write_text(" customer_id ,tenure,plan \nC1,3,Basic\nC2,40,\n", encoding="utf-8")
    frame = read_table(path)
    assert list(frame.columns) == ["customer_id", "tenure", "plan"]
    assert frame["customer_id"].tolist() == ["C1", "C2"]
    assert frame["tenure"].tolist() == [3, 40]
    assert frame["plan"].iloc[0] == "Basic"
    assert pd.isna(frame["plan"].iloc[1])


def test_read_accepts_a_string_path(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("x,y\n1,2\n", encoding="utf-8")
    assert read_table(str(path)).to_dict("list") == {"x": [1], "y": [2]}


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".pq", ".tsv", ".txt"])
def test_write_then_read_round_trips(tmp_path: Path, suffix: str) -> None:
    frame = _frame()
    path = tmp_path / f"table{suffix}"
    write_table(frame, path)
    back = read_table(path)
    assert list(back.columns) == list(frame.columns)
    assert back["customer_id"].tolist() == frame["customer_id"].tolist()
    assert back["tenure"].tolist() == frame["tenure"].tolist()
    np.testing.assert_array_equal(back["charges"].to_numpy(), frame["charges"].to_numpy())
    assert back["paperless"].tolist() == frame["paperless"].tolist()
    assert back["plan"].isna().tolist() == [False, False, True, False]


def test_read_tsv_is_tab_separated(tmp_path: Path) -> None:
    path = tmp_path / "t.tsv"
    path.write_text("a\tb,c\n1\tx,y\n", encoding="utf-8")
    frame = read_table(path)
    assert list(frame.columns) == ["a", "b,c"]
    assert frame["b,c"].tolist() == ["x,y"]


def test_parquet_keeps_types(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    write_table(_frame(), path)
    back = read_table(path)
    assert pd.api.types.is_bool_dtype(back["paperless"])
    assert pd.api.types.is_integer_dtype(back["tenure"])
    assert pd.api.types.is_float_dtype(back["charges"])


def test_read_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ChurnInputError) as excinfo:
        read_table(tmp_path / "nowhere.csv")
    message = _error(excinfo)
    assert "not found" in message
    assert "nowhere.csv" in message


def test_read_folder(tmp_path: Path) -> None:
    with pytest.raises(ChurnInputError) as excinfo:
        read_table(tmp_path)
    assert "is a folder" in _error(excinfo)


def test_read_unsupported_type(tmp_path: Path) -> None:
    path = tmp_path / "customers.json"
    path.write_text('{"a": 1}')
    with pytest.raises(ChurnInputError) as excinfo:
        read_table(path)
    message = _error(excinfo)
    assert "customers.json" in message
    assert ".csv" in message and ".parquet" in message and ".xlsx" in message


def test_read_broken_excel(tmp_path: Path) -> None:
    path = tmp_path / "customers.xlsx"
    path.write_bytes(b"PK\x03\x04 not really excel")
    with pytest.raises(ChurnInputError) as excinfo:
        read_table(path)
    message = _error(excinfo)
    assert "customers.xlsx" in message and "Excel" in message


@pytest.mark.parametrize("content", [b"", b"\n\n\n"], ids=["zero-bytes", "blank-lines"])
def test_read_empty_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(content)
    with pytest.raises(ChurnInputError) as excinfo:
        read_table(path)
    message = _error(excinfo)
    assert "empty.csv" in message
    assert "empty" in message.replace("empty.csv", "")


def test_read_header_only_csv(tmp_path: Path) -> None:
    path = tmp_path / "header.csv"
    path.write_text("customer_id,churned\n", encoding="utf-8")
    with pytest.raises(ChurnInputError) as excinfo:
        read_table(path)
    message = _error(excinfo)
    assert "header.csv" in message
    assert "no rows" in message


def test_read_header_only_parquet(tmp_path: Path) -> None:
    path = tmp_path / "header.parquet"
    pd.DataFrame({"a": pd.Series([], dtype=float)}).to_parquet(path)
    with pytest.raises(ChurnInputError) as excinfo:
        read_table(path)
    assert "no rows" in _error(excinfo)


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("broken.parquet", b"a,b\n1,2\n"),
        ("ragged.csv", b"a,b\n1,2\n1,2,3,4\n"),
    ],
)
def test_read_unreadable_file(tmp_path: Path, name: str, content: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ChurnInputError) as excinfo:
        read_table(path)
    message = _error(excinfo)
    assert message.startswith(f"Cannot read {name}")


# ----------------------------------------------------------------- write_table
def test_write_csv_has_no_index_and_keeps_order(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    frame = pd.DataFrame({"b": [3, 1, 2], "a": ["z", "x", "y"]}, index=[10, 5, 7])
    write_table(frame, path)
    assert path.read_text(encoding="utf-8") == "b,a\n3,z\n1,x\n2,y\n"


def test_write_into_missing_folder(tmp_path: Path) -> None:
    path = tmp_path / "no" / "such" / "out.csv"
    with pytest.raises(ChurnInputError) as excinfo:
        write_table(_frame(), path)
    message = _error(excinfo)
    assert "does not exist" in message
    assert str(path.parent) in message
    assert not path.parent.exists()


def test_write_onto_a_folder(tmp_path: Path) -> None:
    with pytest.raises(ChurnInputError) as excinfo:
        write_table(_frame(), tmp_path)
    assert "is a folder" in _error(excinfo)


def test_write_unsupported_type(tmp_path: Path) -> None:
    path = tmp_path / "scores.xlsx"
    with pytest.raises(ChurnInputError) as excinfo:
        write_table(_frame(), path)
    message = _error(excinfo)
    assert "scores.xlsx" in message
    assert not path.exists()


# ------------------------------------------------------------ resolve_positive
@pytest.mark.parametrize(
    ("series", "expected"),
    [
        (_binary([1, 0]), "1"),
        (_binary([0, 1]), "1"),
        (_binary([1.0, 0.0]), "1"),
        (_binary([True, False]), "True"),
        (_binary(["yes", "no"]), "yes"),
        (_binary(["No", "Yes"]), "Yes"),
        (_binary(["TRUE", "FALSE"]), "TRUE"),
        (_binary(["true", "false"]), "true"),
        (_binary(["1", "0"]), "1"),
        (_binary(["Y", "N"]), "Y"),
        (_binary(["Churned", "Stayed"]), "Churned"),
        (_binary(["Retained", "Left"]), "Left"),
        (pd.Series(["yes", None, "no", "yes", None], name="t"), "yes"),  # missing ignored
    ],
)
def test_positive_is_inferred(series: pd.Series, expected: str) -> None:
    assert resolve_positive(series) == expected


@pytest.mark.parametrize(
    "values",
    [
        ["Attrited Customer", "Existing Customer"],
        [1, 2],
        ["yes", "maybe"],
        ["gold", "silver"],
    ],
)
def test_ambiguous_labels_ask_for_positive(values: list[object]) -> None:
    with pytest.raises(ChurnInputError) as excinfo:
        resolve_positive(_binary(values, name="status"))
    message = _error(excinfo)
    assert "--positive" in message
    assert "'status'" in message
    for value in values:
        assert str(value) in message


@pytest.mark.parametrize(
    ("values", "positive", "expected"),
    [
        (["Attrited Customer", "Existing Customer"], "Attrited Customer", "Attrited Customer"),
        (["Attrited Customer", "Existing Customer"], "attrited CUSTOMER", "Attrited Customer"),
        (["Attrited Customer", "Existing Customer"], " Existing Customer ", "Existing Customer"),
        (["yes", "no"], "NO", "no"),
        ([1, 0], "0", "0"),
        ([1.0, 0.0], "1", "1"),
        ([True, False], "false", "False"),
        ([1, 2], "2", "2"),
    ],
)
def test_explicit_positive_is_matched_case_insensitively(
    values: list[object], positive: str, expected: str
) -> None:
    assert resolve_positive(_binary(values), positive) == expected


def test_unknown_positive_lists_the_values() -> None:
    with pytest.raises(ChurnInputError) as excinfo:
        resolve_positive(_binary(["yes", "no"], name="churned"), "Gone")
    message = _error(excinfo)
    assert "'Gone'" in message
    assert "--positive" in message
    assert "no, yes" in message


def test_more_than_two_values_are_listed() -> None:
    with pytest.raises(ChurnInputError) as excinfo:
        resolve_positive(pd.Series([0, 1, 2, 1, 0], name="churned"))
    message = _error(excinfo)
    assert "'churned'" in message
    assert "two values" in message
    assert "has 3: 0, 1, 2" in message


def test_many_values_are_truncated() -> None:
    with pytest.raises(ChurnInputError) as excinfo:
        resolve_positive(pd.Series([f"v{i:02d}" for i in range(25)], name="t"))
    message = _error(excinfo)
    assert "has 25" in message
    assert "v09 ..." in message
    assert "v10" not in message


def test_single_class() -> None:
    with pytest.raises(ChurnInputError) as excinfo:
        resolve_positive(pd.Series([1] * 100, name="churned"))
    message = _error(excinfo)
    assert "single class (1)" in message


def test_only_missing_values() -> None:
    with pytest.raises(ChurnInputError) as excinfo:
        resolve_positive(pd.Series([None, None], name="churned", dtype=object))
    assert "nothing but missing values" in _error(excinfo)


# ------------------------------------------------- label_text and positive_choices
@pytest.mark.parametrize(
    ("value", "expected"),
    [(1.0, "1"), (0.5, "0.5"), (2, "2"), (" Yes ", "Yes"), (True, "True")],
)
def test_label_text(value: object, expected: str) -> None:
    assert label_text(value) == expected


def test_positive_choices_are_the_two_values_as_sorted_text() -> None:
    series = pd.Series([1.0, 0.0, None, 1.0], name="churned")
    assert positive_choices(series) == ["0", "1"]
    assert positive_choices(pd.Series(["Stayed", " Gone"], name="s")) == ["Gone", "Stayed"]


def test_positive_choices_leave_one_value_to_encode_target() -> None:
    assert positive_choices(pd.Series([1, 1, 1], name="churned")) == ["1"]


def test_positive_choices_refuse_more_than_two_values() -> None:
    with pytest.raises(ChurnInputError) as excinfo:
        positive_choices(pd.Series([f"v{i:02d}" for i in range(12)], name="plan"))
    assert _error(excinfo) == (
        "'plan' has 12 values (v00, v01, v02, v03, v04, v05, v06, v07, v08, v09 ...); "
        "the churn column must have two. Pick another."
    )
    with pytest.raises(ChurnInputError) as excinfo:
        positive_choices(pd.Series([0, 1, 2], name="tier"))
    assert _error(excinfo) == (
        "'tier' has 3 values (0, 1, 2); the churn column must have two. Pick another."
    )


# --------------------------------------------------------------- encode_target
@pytest.mark.parametrize(
    ("values", "positive", "first"),
    [
        ([1, 0], None, 1),
        ([1.0, 0.0], None, 1),
        ([True, False], None, 1),
        (["Yes", "No"], None, 1),
        ([" yes", "no "], None, 1),
        (["Attrited Customer", "Existing Customer"], "attrited customer", 1),
        ([True, False], "false", 0),  # the negative-looking value, when given, is the positive
    ],
)
def test_encode_target_marks_the_positive_as_one(
    values: list[object], positive: str | None, first: int
) -> None:
    series = _binary(values, n_each=MIN_MINORITY, name="churned")
    y = encode_target(series.to_frame(), "churned", positive)
    assert y.dtype.kind == "i"
    np.testing.assert_array_equal(y, np.tile([first, 1 - first], MIN_MINORITY))


@pytest.mark.parametrize(
    "dtype", ["Int64", "boolean", "category", "float64"], ids=lambda d: f"dtype={d}"
)
def test_encode_target_other_dtypes(dtype: str) -> None:
    values = [True, False] if dtype == "boolean" else [1, 0]
    series = _binary(values, name="churned").astype(dtype)
    y = encode_target(series.to_frame(), "churned")
    np.testing.assert_array_equal(y, np.tile([1, 0], 60))


def test_encode_target_missing_column() -> None:
    with pytest.raises(ChurnInputError) as excinfo:
        encode_target(_frame(), "status")
    message = _error(excinfo)
    assert "'status' is not in the data" in message
    assert "customer_id, tenure" in message
    assert "did you mean" not in message


def test_encode_target_suggests_a_close_name() -> None:
    with pytest.raises(ChurnInputError) as excinfo:
        encode_target(_frame(), "Churned")
    assert "did you mean 'churned'?" in _error(excinfo)


def test_encode_target_missing_labels() -> None:
    series = _binary([1, 0], name="churned").astype(float)
    series.iloc[[3, 7]] = np.nan
    with pytest.raises(ChurnInputError) as excinfo:
        encode_target(series.to_frame(), "churned")
    message = _error(excinfo)
    assert "empty in 2 row(s)" in message


def test_encode_target_not_binary() -> None:
    frame = pd.DataFrame({"churned": [0, 1, 2] * 60})
    with pytest.raises(ChurnInputError) as excinfo:
        encode_target(frame, "churned")
    assert "0, 1, 2" in _error(excinfo)


@pytest.mark.parametrize("minority", [0, 10, MIN_MINORITY - 1])
@pytest.mark.parametrize("minority_is_positive", [True, False])
def test_encode_target_too_few_of_a_class(minority: int, minority_is_positive: bool) -> None:
    small, large = (1, 0) if minority_is_positive else (0, 1)
    frame = pd.DataFrame({"churned": [small] * minority + [large] * 500})
    with pytest.raises(ChurnInputError) as excinfo:
        encode_target(frame, "churned")
    message = _error(excinfo)
    if minority == 0:
        assert "single class" in message
    else:
        assert f"Only {minority} customers" in message
        assert str(MIN_MINORITY) in message


def test_encode_target_accepts_exactly_the_minimum() -> None:
    frame = pd.DataFrame({"churned": ["yes"] * MIN_MINORITY + ["no"] * 500})
    y = encode_target(frame, "churned")
    assert y.sum() == MIN_MINORITY
    assert y.size == MIN_MINORITY + 500


# -------------------------------------------------------------- split_features
def test_split_features_drops_target_and_id() -> None:
    frame = _frame()
    X, ids = split_features(frame, "churned", "customer_id")
    assert list(X.columns) == ["tenure", "plan", "charges", "paperless"]
    assert ids is not None
    assert ids.tolist() == ["C1", "C2", "C3", "C4"]
    assert list(frame.columns) == list(_frame().columns)  # the input is left alone


def test_split_features_without_target_or_id() -> None:
    X, ids = split_features(_frame(), None, None)
    assert ids is None
    assert list(X.columns) == list(_frame().columns)


def test_split_features_target_absent_when_scoring() -> None:
    frame = _frame().drop(columns="churned")
    X, ids = split_features(frame, "churned", "customer_id")
    assert list(X.columns) == ["tenure", "plan", "charges", "paperless"]
    assert ids is not None and len(ids) == 4


def test_split_features_missing_id() -> None:
    with pytest.raises(ChurnInputError) as excinfo:
        split_features(_frame(), "churned", "account")
    message = _error(excinfo)
    assert "'account'" in message
    assert "--id" in message
