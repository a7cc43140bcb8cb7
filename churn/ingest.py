"""Reading a customer table as a PM brings it: CSV, Parquet or Excel, any common encoding.

One code path for the app's upload and the command line: :func:`read_bytes`
turns a file's bytes into a frame, :func:`read_path` does the same for a file
on disk. CSV files are sniffed for their encoding (UTF-8 with or without BOM,
UTF-16 with BOM, otherwise Windows-1252/Latin-1) and their delimiter (comma,
semicolon, tab or pipe). Every failure is a :class:`ChurnInputError` with one
sentence that says what to do.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd

from churn.errors import ChurnInputError

__all__ = ["MAX_UPLOAD_MB", "SUPPORTED", "detect_csv_format", "read_bytes", "read_path"]

#: Largest file accepted, in megabytes (the app's upload limit says the same).
MAX_UPLOAD_MB = 200
SUPPORTED = ".csv, .tsv, .txt, .parquet, .xlsx"
_DELIMITERS = ",;\t|"
_SNIFF_BYTES = 256 * 1024
#: The cells pandas reads as missing by default (its ``STR_NA_VALUES``). A text column
#: (an id) is text: only its empty cells are missing, "NA" or "null" is an id.
_NA_MARKERS = (
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
    "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
)  # fmt: skip


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _encoding(head: bytes) -> str:
    """The text encoding of a CSV from its first bytes."""
    if head.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    try:
        head.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        if exc.start >= len(head) - 3:  # a character cut at the end of the sample
            return "utf-8"
        return "cp1252"


def detect_csv_format(head: bytes) -> tuple[str, str]:
    """``(encoding, delimiter)`` of a delimited text file, from its first bytes."""
    encoding = _encoding(head)
    text = head.decode(encoding, errors="replace")
    lines = text.splitlines()[:50]
    if len(lines) > 1 and not text.endswith(("\n", "\r")):
        lines = lines[:-1]  # the last line may be cut mid-way
    sample = "\n".join(lines)
    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters=_DELIMITERS).delimiter
    except csv.Error:
        # The Sniffer gives up on ragged samples: take the delimiter that splits the
        # header into the most columns.
        header = lines[0] if lines else ""
        delimiter = max(_DELIMITERS, key=lambda d: (header.count(d), d == ","))
    return encoding, delimiter


def _text_options(
    read: Callable[..., pd.DataFrame], source: io.BytesIO | Path, text_columns: tuple[str, ...]
) -> dict[str, Any]:
    """Keywords for ``read`` (``pd.read_csv`` or ``pd.read_excel``, sheet and format set)
    that read ``text_columns`` as text, where only an empty cell is missing (an id "NA" or
    "null" is an id), and the usual markers as missing everywhere else."""
    if not text_columns:
        return {}
    header = read(source, nrows=0).columns  # (names as in the file, repeats numbered)
    if isinstance(source, io.BytesIO):
        source.seek(0)
    text = [c for c in header if str(c).strip() in text_columns]
    markers = {c: [""] if c in text else list(_NA_MARKERS) for c in header}
    return {"dtype": dict.fromkeys(text, "str"), "keep_default_na": False, "na_values": markers}


def _read_csv(
    source: io.BytesIO | Path, name: str, head: bytes, text_columns: tuple[str, ...]
) -> pd.DataFrame:
    encoding, delimiter = detect_csv_format(head)
    if Path(name).suffix.lower() in (".tsv", ".tab"):
        delimiter = "\t"
    options = {"sep": delimiter, "low_memory": False, "skipinitialspace": True}
    # Windows-1252 leaves five bytes undefined: a stray one becomes U+FFFD, not a failure.
    errors = "replace" if encoding == "cp1252" else "strict"

    def read(encoding: str, errors: str) -> pd.DataFrame:
        read_csv = partial(pd.read_csv, encoding=encoding, encoding_errors=errors, **options)
        return read_csv(source, **_text_options(read_csv, source, text_columns))

    try:
        return read(encoding, errors)
    except UnicodeDecodeError:
        if encoding != "utf-8":
            raise
    if isinstance(source, io.BytesIO):  # UTF-8 at the start, something else later on
        source.seek(0)
    return read("cp1252", "replace")


def _kind(name: str, head: bytes) -> str:
    suffix = Path(name).suffix.lower()
    if head.startswith(b"PAR1") or suffix in (".parquet", ".pq"):
        return "parquet"
    if suffix in (".xlsx", ".xlsm") or (head.startswith(b"PK\x03\x04") and suffix != ".csv"):
        return "excel"
    if suffix == ".xls" or head.startswith(b"\xd0\xcf\x11\xe0"):
        return "xls"
    if suffix in (".csv", ".tsv", ".txt", ".tab", ""):
        return "csv"
    return "unknown"


def _parse(source: io.BytesIO | Path, name: str, head: bytes, text_columns) -> pd.DataFrame:
    text_columns = tuple(text_columns)
    kind = _kind(name, head)
    if kind == "unknown":
        raise ChurnInputError(f"Cannot read {name}: use one of {SUPPORTED}.")
    if kind == "xls":
        raise ChurnInputError(
            f"{name} is an old Excel (.xls) workbook; save it as .xlsx or CSV and upload that."
        )
    if not head.strip():
        raise ChurnInputError(f"{name} is empty; export the table again with its rows.")
    try:
        if kind == "parquet":
            frame = pd.read_parquet(source)
            for column in text_columns:
                if column in frame.columns:
                    frame[column] = frame[column].astype("str").mask(frame[column].isna())
        elif kind == "excel":
            if not head.startswith(b"PK"):
                raise ChurnInputError(
                    f"{name} is not an Excel workbook (.xlsx); export it again or save it as CSV."
                )
            read_excel = partial(pd.read_excel, sheet_name=0, engine="openpyxl")
            frame = read_excel(source, **_text_options(read_excel, source, text_columns))
        else:
            frame = _read_csv(source, name, head, text_columns)
    except ChurnInputError:
        raise
    except pd.errors.EmptyDataError:
        raise ChurnInputError(f"{name} is empty; export the table again with its rows.") from None
    except ImportError as exc:  # pragma: no cover - openpyxl / pyarrow are requirements
        raise ChurnInputError(
            f"Cannot read {name}: {_first_line(exc)}; install the requirements."
        ) from None
    except Exception as exc:  # any parser failure is the file's, not ours
        raise ChurnInputError(
            f"Cannot read {name} ({_first_line(exc)}); check that it is a valid "
            f"{'Excel' if kind == 'excel' else kind.upper() if kind == 'csv' else 'Parquet'} "
            "file, or export it again."
        ) from None
    if frame.shape[1] == 0:
        raise ChurnInputError(f"{name} has no columns; export the table again with its header.")
    if len(frame) == 0:
        raise ChurnInputError(f"{name} has a header but no rows; export it again with data.")
    frame.columns = _clean_names(frame.columns)
    return frame


def _clean_names(columns: pd.Index) -> list[str]:
    """Column names as stripped text; blank or repeated names get a readable suffix."""
    names: list[str] = []
    seen: set[str] = set()
    for i, column in enumerate(columns):
        name = str(column).strip()
        if not name or name.startswith("Unnamed:"):
            name = f"column_{i + 1}"
        base, k = name, 2
        while name in seen:
            name, k = f"{base}_{k}", k + 1
        seen.add(name)
        names.append(name)
    return names


def _check_size(size: int, name: str, max_mb: float) -> None:
    if size > max_mb * 1024 * 1024:
        raise ChurnInputError(
            f"{name} is {size / 1024 / 1024:,.0f} MB, over the {max_mb:,.0f} MB limit; upload a "
            "sample of the rows or drop unused columns (Parquet files are much smaller)."
        )


def read_bytes(
    data: bytes,
    name: str,
    text_columns: tuple[str, ...] = (),
    max_mb: float = MAX_UPLOAD_MB,
) -> pd.DataFrame:
    """A frame from a file's bytes (an upload); the file type comes from ``name`` and the bytes.

    ``text_columns`` (such as the customer id) are read as text, so ids like ``00123``
    keep their leading zeros.

    Raises
    ------
    ChurnInputError
        Too big, empty, header only, unsupported type or unreadable.
    """
    _check_size(len(data), name, max_mb)
    return _parse(io.BytesIO(data), name, data[:_SNIFF_BYTES], text_columns)


def read_path(
    path: str | Path, text_columns: tuple[str, ...] = (), max_mb: float | None = None
) -> pd.DataFrame:
    """A frame from a file on disk; like :func:`read_bytes` (no size limit unless given)."""
    path = Path(path)
    if not path.exists():
        raise ChurnInputError(f"File not found: {path}; check the path and try again.")
    if path.is_dir():
        raise ChurnInputError(f"{path} is a folder; give the path of a CSV or Parquet file.")
    if max_mb is not None:
        _check_size(path.stat().st_size, path.name, max_mb)
    try:
        with open(path, "rb") as handle:
            head = handle.read(_SNIFF_BYTES)
    except OSError as exc:
        raise ChurnInputError(f"Cannot read {path} ({exc.strerror or exc}).") from None
    return _parse(path, path.name, head, text_columns)
