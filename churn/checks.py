"""Data checks before training: what a careful data scientist looks at in a raw export.

:func:`churn.suggest.suggest_mapping` proposes which column is the target, which value
means "churned", the id, the customer value and segment attributes.
:func:`check_data` then prepares the table and reports, column by column:

* blank strings are missing values; numbers stored as text (``"$1,234"``,
  ``"12.5%"``, ``"3,5"``) become numbers, with the count of cells that did not parse;
* dates become durations (days before the latest date in that column);
* id-like columns (unique per row, sequential row numbers), constant columns,
  empty columns and free text or very high-cardinality columns are left out;
* the leakage guard leaves out, with the reason, a column that is (nearly) a copy
  of the target, that is filled for one class only, or that alone predicts the
  target almost perfectly; the user can put any of them back (``keep``);
* duplicate rows and ids, missing rates and the class balance are reported.

The same :class:`Preparation` is stored with the model and applied to every table
it scores, so scoring sees the columns exactly as training did.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from churn import metrics
from churn.data import MIN_MINORITY, encode_target, resolve_positive
from churn.errors import ChurnInputError
from churn.features import MAX_CATEGORIES
from churn.suggest import id_reason

__all__ = [
    "LEAK_AUC",
    "ColumnMapping",
    "DataCheck",
    "Preparation",
    "check_data",
]

#: A single column whose ROC-AUC against the target reaches this is left out as a leak.
LEAK_AUC = 0.98
#: Share of non-blank cells that must parse for a text column to count as numbers or dates.
PARSE_SHARE = 0.95
#: Text columns with more distinct values than this share of rows are free text or names.
FREE_TEXT_SHARE = 0.5

_NUMBER_JUNK = r"[\s$€£¥%’']"  # currency, percent, spaces and Swiss thousands marks


@dataclass(frozen=True)
class ColumnMapping:
    """What each column is, as the user chose (or :func:`churn.suggest.suggest_mapping` proposed).

    ``exclude`` are columns the user leaves out; ``keep`` are columns the checks
    would leave out that the user puts back.
    """

    target: str
    positive: str | None = None
    id_column: str | None = None
    value_column: str | None = None
    segments: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    keep: tuple[str, ...] = ()


@dataclass
class Preparation:
    """How raw columns are turned into model inputs; stored with the model, applied on scoring.

    ``numeric_text`` columns are parsed as numbers (currency signs, percent signs,
    spaces and thousands separators removed; a decimal comma when ``decimal_comma``);
    ``dates`` maps a column to its reference day (ISO), the column becoming the
    number of days before it; ``features`` are the columns the model may use.
    """

    numeric_text: list[str] = field(default_factory=list)
    decimal_comma: list[str] = field(default_factory=list)
    dates: dict[str, str] = field(default_factory=dict)
    date_formats: dict[str, str] = field(default_factory=dict)
    features: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Preparation:
        return cls(**data)

    def apply(self, frame: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
        """``frame`` with the conversions applied (all columns kept), and per row the number
        of cells that were present but could not be read (blank text is missing already for
        :class:`~churn.features.FeatureSpec`)."""
        out = frame.copy()
        unreadable = np.zeros(len(frame), dtype=int)
        for column in self.numeric_text:  # (a column already numeric is left as it is)
            if column in out.columns and not pd.api.types.is_numeric_dtype(out[column]):
                values, bad = _parse_numbers(out[column], column in self.decimal_comma)
                out[column] = values
                unreadable += bad
        for column, reference in self.dates.items():
            if column in out.columns and not pd.api.types.is_numeric_dtype(out[column]):
                values, bad = _parse_dates(
                    out[column], pd.Timestamp(reference), self.date_formats.get(column, "mixed")
                )
                out[column] = values
                unreadable += bad
        return out, unreadable


@dataclass
class DataCheck:
    """The result of :func:`check_data`.

    ``frame`` is the prepared table (every input row, in order); ``features`` the
    model's inputs; ``y`` the 0/1 target; ``report`` a JSON-ready summary that is
    shown before training and stored with the model as ``data_check.json``.
    """

    frame: pd.DataFrame
    y: np.ndarray
    preparation: Preparation
    mapping: ColumnMapping
    report: dict[str, Any]

    @property
    def features(self) -> pd.DataFrame:
        return self.frame[self.preparation.features]

    @property
    def ids(self) -> pd.Series | None:
        column = self.mapping.id_column
        return None if column is None else self.frame[column]


# ------------------------------------------------------------------ parsing helpers
def _is_text(series: pd.Series) -> bool:
    return not (
        pd.api.types.is_numeric_dtype(series)
        or pd.api.types.is_bool_dtype(series)
        or pd.api.types.is_datetime64_any_dtype(series)
    )


def _blank_to_missing(series: pd.Series) -> pd.Series:
    text = series.astype("string[pyarrow]").str.strip()  # Arrow: vectorised string functions
    return text.mask(text == "")


def _parse_numbers(series: pd.Series, decimal_comma: bool) -> tuple[np.ndarray, np.ndarray]:
    """Text to floats; returns the values and a 0/1 flag per cell present but unreadable."""
    text = _blank_to_missing(series)
    cleaned = text.str.replace(_NUMBER_JUNK, "", regex=True)
    if decimal_comma:
        cleaned = cleaned.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    else:
        cleaned = cleaned.str.replace(",", "", regex=False)
    cleaned = cleaned.str.replace(r"^\((.*)\)$", r"-\1", regex=True)  # (12) is -12
    values = pd.to_numeric(cleaned, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    present = text.notna().to_numpy()
    return values, (present & np.isnan(values)).astype(int)


def _parse_dates(
    series: pd.Series, reference: pd.Timestamp, date_format: str = "mixed"
) -> tuple[np.ndarray, np.ndarray]:
    if pd.api.types.is_datetime64_any_dtype(series):
        stamps = series.dt.tz_localize(None) if series.dt.tz is not None else series
        present = series.notna().to_numpy()
    else:
        text = _blank_to_missing(series)
        present = text.notna().to_numpy()
        stamps = pd.to_datetime(text, errors="coerce", format=date_format)
        if getattr(stamps.dt, "tz", None) is not None:
            stamps = stamps.dt.tz_localize(None)
    days = (reference - stamps).dt.total_seconds().to_numpy(dtype=float, na_value=np.nan) / 86400
    return days, (present & np.isnan(days)).astype(int)


def _number_share(text: pd.Series) -> tuple[float, bool]:
    """Share of non-blank cells that parse as numbers, and whether a decimal comma fits better."""
    present = text.dropna()
    if present.empty:
        return 0.0, False
    head, _ = _parse_numbers(present.iloc[:200], decimal_comma=False)
    head_comma, _ = _parse_numbers(present.iloc[:200], decimal_comma=True)
    if max(np.mean(~np.isnan(head)), np.mean(~np.isnan(head_comma))) < 0.5:
        return 0.0, False  # words, not numbers: no need to look further
    sample = present.iloc[:20_000]
    plain, _ = _parse_numbers(sample, decimal_comma=False)
    share = float(np.mean(~np.isnan(plain)))
    # A decimal comma: "3,5", "12,75", "1.234,5"; not "1,915" (a thousands separator).
    bare = sample.str.replace(_NUMBER_JUNK, "", regex=True)
    comma_like = bare.str.fullmatch(r"-?(\d{1,3}(\.\d{3})+,\d+|\d+,(\d{1,2}|\d{4,}))").mean()
    thousands_like = bare.str.fullmatch(r"-?\d{1,3}(,\d{3})+(\.\d+)?").mean()
    if comma_like > 0.5 and comma_like > thousands_like:
        comma, _ = _parse_numbers(sample, decimal_comma=True)
        return float(np.mean(~np.isnan(comma))), True
    return share, False


_DATE_FORMATS = (
    "%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%Y/%m/%d", "%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y",
    "%d-%m-%Y", "%m-%d-%Y", "ISO8601",
)  # fmt: skip


def _date_format(text: pd.Series) -> str | None:
    """The format that reads the column's dates (``None`` when it is not a date column).

    Only text written like a date with separators counts (2024-01-31, 31/01/2024,
    01.31.2024); fixed formats are tried first (fast, and day/month order is kept
    for the whole column), then pandas' mixed parsing.
    """
    present = text.dropna()
    if present.empty:
        return None
    sample = present.iloc[:5_000]
    shaped = sample.str.contains(r"\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}", regex=True).mean()
    if shaped < PARSE_SHARE:
        return None
    for date_format in (*_DATE_FORMATS, "mixed"):
        with np.errstate(all="ignore"):
            parsed = pd.to_datetime(sample, errors="coerce", format=date_format)
        if parsed.notna().mean() >= PARSE_SHARE:
            return date_format
    return None


def _single_column_auc(values: pd.Series, numeric: bool, y: np.ndarray) -> float:
    """How well one column alone separates the classes (missing counts as its own value).

    Categories are scored by their churn rate in the other half of the rows, so a
    column with many levels does not look predictive by memorising them.
    """
    if numeric:
        x = values.to_numpy(dtype=float, na_value=np.nan)
        finite = x[~np.isnan(x)]
        low = (finite.min() - 1.0) if finite.size else 0.0
        return metrics.rank_auc(np.where(np.isnan(x), low, x), y)
    codes = pd.factorize(values.astype("string").fillna("\x00missing"))[0]
    half = np.arange(y.size) % 2
    score = np.empty(y.size)
    prior = y.mean()
    for part in (0, 1):
        train = half != part
        sums = np.bincount(codes[train], weights=y[train], minlength=codes.max() + 1)
        counts = np.bincount(codes[train], minlength=codes.max() + 1)
        rate = (sums + prior * 5) / (counts + 5)
        score[~train] = rate[codes[~train]]
    return metrics.rank_auc(score, y)


# ------------------------------------------------------------------ the checks
def _require(frame: pd.DataFrame, columns: tuple[str | None, ...], role: str) -> None:
    for column in columns:
        if column is not None and column not in frame.columns:
            raise ChurnInputError(
                f"The {role} column '{column}' is not in the data; pick one of its columns."
            )


def check_data(frame: pd.DataFrame, mapping: ColumnMapping) -> DataCheck:
    """Check and prepare a table for training; see the module docstring for what is checked.

    Raises
    ------
    ChurnInputError
        Target missing, not two values, one class, missing labels, fewer than 50 of the
        smaller class, duplicate ids, or no usable feature left.
    """
    if len(frame) == 0:
        raise ChurnInputError("The table has no rows; export it again with data.")
    y = encode_target(frame, mapping.target, mapping.positive)
    positive = resolve_positive(frame[mapping.target], mapping.positive)
    _require(frame, (mapping.id_column,), "id")
    _require(frame, (mapping.value_column,), "customer value")
    _require(frame, tuple(mapping.segments), "segment")
    _require(frame, tuple(mapping.exclude), "left-out")

    n = len(frame)
    problems: list[dict[str, str]] = []
    columns: dict[str, dict[str, Any]] = {}
    prep = Preparation()
    reserved = {mapping.target, mapping.id_column} - {None}

    def note(column: str, check: str, message: str, severity: str = "info") -> None:
        problems.append(
            {"column": column, "check": check, "message": message, "severity": severity}
        )

    duplicates = int(frame.duplicated().sum())
    if duplicates:
        note(
            "",
            "duplicate rows",
            f"{duplicates:,} rows are exact copies of an earlier row; they are kept, but check "
            "the export (a join can repeat customers).",
            "warning",
        )
    if mapping.id_column is not None:
        dupes = frame[mapping.id_column].dropna().duplicated()
        if dupes.any():
            example = frame[mapping.id_column].dropna()[dupes].iloc[0]
            raise ChurnInputError(
                f"The id column '{mapping.id_column}' has {int(dupes.sum()):,} repeated value(s) "
                f"(for example {example}); remove the repeated customers or choose another id "
                "column."
            )

    # Pass 1: missing values and conversions (every column, so scoring tables match).
    converted: dict[str, pd.Series | np.ndarray] = {}
    for column in frame.columns:
        series = frame[column]
        entry: dict[str, Any] = {
            "name": column,
            "dtype": str(series.dtype),
            "missing_rate": round(float(series.isna().mean()), 4),
        }
        columns[column] = entry
        if column == mapping.target:
            entry.update(role="target", kind="target")
            continue
        if _is_text(series):
            text = _blank_to_missing(series)
            blanks = int(text.isna().sum() - series.isna().sum())
            if blanks:
                entry["blank_cells"] = blanks
                note(column, "blank strings", f"{blanks:,} blank cells are treated as missing.")
            if column != mapping.id_column:
                share, comma = _number_share(text)
                if share >= PARSE_SHARE:
                    prep.numeric_text.append(column)
                    if comma:
                        prep.decimal_comma.append(column)
                    values, bad = _parse_numbers(text, comma)
                    converted[column] = values
                    entry["converted"] = "numbers stored as text"
                    entry["unparsed_cells"] = int(bad.sum())
                    note(
                        column,
                        "numbers stored as text",
                        f"numbers stored as text were converted; {int(bad.sum()):,} cells "
                        "did not parse and count as missing.",
                        "warning" if bad.sum() else "info",
                    )
                    continue
                date_format = _date_format(text)
                if date_format is not None:
                    stamps = pd.to_datetime(text, errors="coerce", format=date_format)
                    reference = stamps.max()
                    if getattr(reference, "tz", None) is not None:
                        reference = reference.tz_localize(None)
                    prep.dates[column] = reference.normalize().isoformat()
                    prep.date_formats[column] = date_format
                    values, bad = _parse_dates(text, reference.normalize(), date_format)
                    converted[column] = values
                    entry["converted"] = f"dates, now days before {reference.date()}"
                    entry["unparsed_cells"] = int(bad.sum())
                    note(
                        column,
                        "dates",
                        f"dates were turned into days before {reference.date()} "
                        f"(the latest date in the column); {int(bad.sum()):,} cells did not parse.",
                    )
                    continue
            converted[column] = text
        elif pd.api.types.is_datetime64_any_dtype(series):
            reference = series.max()
            if getattr(reference, "tz", None) is not None:
                reference = reference.tz_localize(None)
            prep.dates[column] = reference.normalize().isoformat()
            converted[column], _ = _parse_dates(series, reference.normalize())
            entry["converted"] = f"dates, now days before {reference.date()}"
        else:
            converted[column] = series
    prepared = frame.assign(**{c: v for c, v in converted.items()})

    # Pass 2: which columns can be features.
    candidates: list[str] = []
    for column in frame.columns:
        if column in reserved:
            if column == mapping.id_column:
                columns[column].update(role="id", kind="id")
            continue
        entry = columns[column]
        series = prepared[column]
        missing = float(series.isna().mean())
        entry["missing_rate"] = round(missing, 4)
        entry["distinct"] = int(series.nunique())
        numeric = pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)
        entry["kind"] = "numeric" if numeric else "text"
        reason = None
        if column in mapping.exclude:
            reason = "left out by you"
        elif missing == 1.0:
            reason = "empty: every cell is missing"
        elif entry["distinct"] <= 1 and missing == 0:
            reason = "constant: the same value in every row"
        else:
            why_id = id_reason(series, column)
            if why_id is not None:
                reason = why_id
            elif not numeric:
                lengths = pd.Series(series.dropna().unique()).astype("string").str.len()
                if entry["distinct"] > max(20, FREE_TEXT_SHARE * (n - series.isna().sum())):
                    reason = "free text or names: almost every row has its own value"
                elif entry["distinct"] > 20 and float(lengths.mean()) > 30:
                    reason = "free text: long sentences, not categories"
                elif entry["distinct"] > MAX_CATEGORIES:
                    entry["reduced"] = MAX_CATEGORIES
                    note(
                        column,
                        "high cardinality",
                        f"{entry['distinct']:,} distinct values; the {MAX_CATEGORIES} most "
                        "frequent are kept, the rest count as missing.",
                    )
        if reason is not None and column in mapping.keep and column != mapping.id_column:
            note(column, "put back", f"would be left out ({reason}) but you put it back.")
            reason = None
        if reason is not None:
            entry.update(role="left out", reason=reason)
            if column not in mapping.exclude:
                note(column, "left out", f"left out of the features: {reason}.")
            continue
        if missing >= 0.5:
            note(column, "missing", f"{missing:.0%} of the cells are missing.", "warning")
        candidates.append(column)

    # Pass 3: the leakage guard.
    features: list[str] = []
    for column in candidates:
        series = prepared[column]
        numeric = pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)
        present = series.notna().to_numpy()
        filled = [float(present[y == k].mean()) for k in (0, 1)]
        auc = _single_column_auc(series, numeric, y)
        columns[column]["single_column_auc"] = round(auc, 4)
        reason = None
        if min(filled) <= 0.01 and max(filled) >= 0.2:
            only = "churned" if filled[1] > filled[0] else "retained"
            reason = (
                f"filled only for {only} customers ({max(filled):.0%} of them, "
                f"{min(filled):.1%} of the others): it is probably recorded after the fact"
            )
        elif auc >= 0.999 and series.nunique() <= 2:
            reason = "a copy of the target"
        elif auc >= LEAK_AUC:
            reason = (
                f"alone it predicts churn almost perfectly (ROC-AUC {auc:.3f}): it is probably "
                "known only after the customer left, or derived from the target"
            )
        if reason is not None:
            if column in mapping.keep:
                note(column, "leakage", f"possible leak ({reason}), kept because you said so.")
            else:
                columns[column].update(role="left out", reason=f"possible leak: {reason}")
                note(column, "leakage", f"left out as a possible leak: {reason}.", "warning")
                continue
        columns[column]["role"] = "feature"
        features.append(column)

    if not features:
        left = "; ".join(
            f"{c}: {e['reason']}" for c, e in columns.items() if e.get("role") == "left out"
        )
        raise ChurnInputError(
            "No usable feature is left after the data checks"
            + (f" ({left})" if left else "")
            + "; add customer attributes, or put a left-out column back."
        )
    for column in mapping.segments:
        columns[column]["segment"] = True
    if mapping.value_column is not None:
        columns[mapping.value_column]["customer_value"] = True
        if not pd.api.types.is_numeric_dtype(prepared[mapping.value_column]):
            raise ChurnInputError(
                f"The customer value column '{mapping.value_column}' is not numeric; choose a "
                "column of amounts or use a constant value."
            )
    prep.features = features
    used = set(features) | {mapping.value_column} - {None}
    prep.numeric_text = [c for c in prep.numeric_text if c in used]
    prep.decimal_comma = [c for c in prep.decimal_comma if c in used]
    prep.dates = {c: d for c, d in prep.dates.items() if c in used}
    prep.date_formats = {c: f for c, f in prep.date_formats.items() if c in used}
    churned = int(y.sum())
    report = {
        "rows": n,
        "columns": len(frame.columns),
        "target": mapping.target,
        "positive_label": positive,
        "class_balance": {
            "churned": churned,
            "retained": n - churned,
            "churn_rate": round(churned / n, 4),
            "minimum_per_class": MIN_MINORITY,
        },
        "duplicate_rows": duplicates,
        "features": features,
        "left_out": {c: e["reason"] for c, e in columns.items() if e.get("role") == "left out"},
        "mapping": asdict(mapping),
        "column_details": list(columns.values()),
        "problems": problems,
    }
    return DataCheck(
        frame=prepared, y=y, preparation=prep, mapping=mapping, report=_jsonable(report)
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def report_lines(report: dict[str, Any]) -> list[str]:
    """The data-check report in plain sentences (for the command line and the app)."""
    balance = report["class_balance"]
    lines = [
        f"{report['rows']:,} rows, {report['columns']} columns; target '{report['target']}' "
        f"(churned = '{report['positive_label']}'): {balance['churned']:,} churned, "
        f"{balance['retained']:,} retained ({balance['churn_rate']:.1%}).",
        f"{len(report['features'])} feature(s) used.",
    ]
    for problem in report["problems"]:
        where = f"{problem['column']}: " if problem["column"] else ""
        lines.append(f"{where}{problem['message']}")
    return lines
