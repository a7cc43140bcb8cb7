"""Reading tables as PMs bring them: encodings, delimiters, Excel, Parquet, limits."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest

from churn.errors import ChurnInputError
from churn.ingest import detect_csv_format, read_bytes, read_path

ROWS = "name;city;amount\nJosé;Zürich;1,5\nAnne;Köln;2,25\n"


@pytest.mark.parametrize(
    ("encoding", "prefix"),
    [("utf-8", b""), ("utf-8", b"\xef\xbb\xbf"), ("cp1252", b""), ("utf-16", b"")],
    ids=["utf8", "utf8-bom", "latin", "utf16-bom"],
)
def test_encodings_are_detected(encoding: str, prefix: bytes) -> None:
    data = prefix + ROWS.encode(encoding)
    frame = read_bytes(data, "export.csv")
    assert list(frame.columns) == ["name", "city", "amount"]
    assert frame["name"].tolist() == ["José", "Anne"]
    assert frame["city"].tolist() == ["Zürich", "Köln"]


def test_latin1_late_in_a_utf8_looking_file() -> None:
    """The sniffed head is plain ASCII; a Latin-1 byte only comes later."""
    body = "a,b\n" + "x,1\n" * 100_000 + "Müller,2\n"
    frame = read_bytes(body.encode("cp1252"), "late.csv")
    assert frame["a"].iloc[-1] == "Müller"
    assert len(frame) == 100_001


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiters_are_detected(delimiter: str) -> None:
    text = delimiter.join(["id", "plan", "charges"]) + "\n"
    text += "".join(delimiter.join([str(i), "Basic", f"{i}.5"]) + "\n" for i in range(30))
    frame = read_bytes(text.encode(), "t.csv")
    assert list(frame.columns) == ["id", "plan", "charges"]
    assert frame["charges"].iloc[3] == 3.5
    assert detect_csv_format(text.encode())[1] == delimiter


def test_excel_and_parquet_round_trip(tmp_path: Path) -> None:
    frame = pd.DataFrame({"customer_id": ["007", "008"], "tenure": [3, 4], "churn": ["Yes", "No"]})
    buffer = io.BytesIO()
    frame.to_excel(buffer, index=False)
    back = read_bytes(buffer.getvalue(), "book.xlsx", text_columns=("customer_id",))
    assert back["customer_id"].tolist() == ["007", "008"]
    assert back["tenure"].tolist() == [3, 4]
    path = tmp_path / "t.parquet"
    frame.to_parquet(path)
    assert read_path(path)["churn"].tolist() == ["Yes", "No"]
    assert read_bytes(path.read_bytes(), "no-suffix")["tenure"].tolist() == [3, 4]


def test_size_limit_is_enforced_with_a_clear_message() -> None:
    data = b"a,b\n" + b"1,2\n" * 300_000
    with pytest.raises(ChurnInputError) as excinfo:
        read_bytes(data, "big.csv", max_mb=1)
    message = str(excinfo.value)
    assert "big.csv" in message and "1 MB limit" in message


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("empty.csv", b"", "is empty"),
        ("blank.csv", b"\n \n", "is empty"),
        ("header.csv", b"a,b,c\n", "header but no rows"),
        ("old.xls", b"\xd0\xcf\x11\xe0rest", "save it as .xlsx"),
        ("notes.docx", b"whatever", "use one of"),
        ("broken.xlsx", b"PK\x03\x04garbage", "valid Excel"),
        ("broken.parquet", b"PAR1garbage", "Cannot read broken.parquet"),
    ],
)
def test_bad_files_give_one_sentence(name: str, data: bytes, expected: str) -> None:
    with pytest.raises(ChurnInputError) as excinfo:
        read_bytes(data, name)
    message = str(excinfo.value)
    assert expected in message
    assert "\n" not in message


def test_blank_and_repeated_column_names_are_made_readable() -> None:
    frame = read_bytes(b"a,,a, b \n1,2,3,4\n", "names.csv")
    assert list(frame.columns) == ["a", "column_2", "a.1", "b"]


def test_bytes_undefined_in_windows_1252_do_not_stop_the_read() -> None:
    data = "name,city\nJosé,Zürich\n".encode("cp1252") + b"Ann\x81e,Paris\n"
    frame = read_bytes(data, "odd.csv")
    assert frame["name"].iloc[0] == "José"
    assert len(frame) == 2


NA_LIKE_IDS = ["NA", "null", "None", "nan", "N/A", "NULL", "#N/A", "n/a", "NaN", "<NA>"]


@pytest.mark.parametrize("kind", ["csv", "semicolon", "xlsx", "parquet"])
def test_ids_that_look_like_missing_markers_are_text(kind: str, tmp_path: Path) -> None:
    """An id is text: "NA" or "null" is a customer's id; only an empty cell is missing. The
    other columns still read the usual markers as missing."""
    # (openpyxl writes "#N/A" as Excel's error value, which is missing)
    ids = [i for i in NA_LIKE_IDS if kind != "xlsx" or i != "#N/A"]
    n = len(ids) + 2
    frame = pd.DataFrame(
        {
            "customer_id": [*ids, "C1", None],
            "tenure": ["NA", *map(str, range(1, n))],
            "plan": ["Basic", "null", *["Pro"] * (n - 2)],
        }
    )
    if kind == "xlsx":
        buffer = io.BytesIO()
        frame.to_excel(buffer, index=False)
        data, name = buffer.getvalue(), "book.xlsx"
    elif kind == "parquet":
        path = tmp_path / "t.parquet"
        frame.to_parquet(path)
        data, name = path.read_bytes(), "t.parquet"
    else:
        data = frame.to_csv(index=False, sep=";" if kind == "semicolon" else ",").encode()
        name = "t.csv"
    back = read_bytes(data, name, text_columns=("customer_id",))
    assert back["customer_id"].tolist()[:-1] == [*ids, "C1"]
    assert back["customer_id"].isna().tolist() == [False] * (n - 1) + [True]
    if kind != "parquet":  # (Parquet keeps the types it was written with)
        assert back["tenure"].isna().tolist() == [True] + [False] * (n - 1)
        assert pd.api.types.is_numeric_dtype(back["tenure"])
        assert back["plan"].isna().tolist() == [False, True] + [False] * (n - 2)
