"""Data checks before training: what a careful data scientist looks at in a raw export.

:func:`churn.suggest.suggest_mapping` proposes which column is the target, which value
means "churned", the id, the customer value and segment attributes.
:func:`check_data` then prepares the table and reports, column by column:

* blank strings are missing values; numbers stored as text (``"$1,234"``,
  ``"12.5%"``, ``"3,5"``) become numbers, with the count of cells that did not parse;
* infinite numbers and numbers too large to be a measurement (``1.7e308``, whose sums
  overflow; see :data:`churn.features.MAX_MAGNITUDE`) are missing values, counted;
* dates become durations (days before the latest date in that column);
* codes are categories, not quantities: a column named like a code (zip, postal code,
  area code, phone, ``*_id``, ``*_code``) that holds whole numbers (or digits written as
  text) is read as text, postal codes padded to their width (``2134`` is ``"02134"``);
* a category with more than :data:`~churn.features.MAX_CATEGORIES` values keeps the
  values that have at least :data:`MIN_LEVEL_ROWS` customers and groups the others as
  :data:`OTHER_LEVEL`; when those values cover less than :data:`MIN_KEPT_SHARE` of the
  rows, the column is left out with the reason;
* id-like columns (unique per row, sequential row numbers), constant columns,
  empty columns and free text are left out;
* places (postal codes, cities, coordinates, addresses, states; :func:`place_kind`) are
  flagged as possible proxies for attributes people are protected on; they stay
  features unless the user leaves them out;
* the leakage guard leaves out, with the reason, a column that is (nearly) a copy
  of the target, that is filled for one class only, or that alone predicts the
  target almost perfectly; the user can put any of them back (``keep``);
* duplicate rows and ids, missing rates and the class balance are reported.

The same :class:`Preparation` is stored with the model and applied to every table
it scores, so scoring sees the columns exactly as training did.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from churn import metrics
from churn.data import MIN_MINORITY, encode_target, resolve_positive
from churn.errors import ChurnInputError
from churn.features import MAX_CATEGORIES, MAX_MAGNITUDE, out_of_range
from churn.formatting import json_ready
from churn.suggest import id_reason, name_words, suggest_mapping

__all__ = [
    "LEAK_AUC",
    "MIN_KEPT_SHARE",
    "MIN_LEVEL_ROWS",
    "OTHER_LEVEL",
    "ColumnMapping",
    "DataCheck",
    "Preparation",
    "check_data",
    "default_segments",
    "leak_reason",
    "place_kind",
    "report_lines",
]

#: A single column whose ROC-AUC against the target reaches this is left out as a leak.
LEAK_AUC = 0.98
#: Share of non-blank cells that must parse for a text column to count as numbers or dates.
PARSE_SHARE = 0.95
#: Text columns with more distinct values than this share of rows are free text or names.
FREE_TEXT_SHARE = 0.5

#: The level the rare values of a category with many values are grouped into.
OTHER_LEVEL = "(other)"
#: In a category with many values, a value needs this many customers to stay a level.
MIN_LEVEL_ROWS = 30
#: ... and the values that stay must cover this share of the rows, else it is left out.
MIN_KEPT_SHARE = 0.5

_NUMBER_JUNK = r"[\s$€£¥%’']"  # currency, percent, spaces and Swiss thousands marks

#: Words of a column name that say it holds codes: postal codes (padded to their width),
#: codes of a fixed width, and other codes or ids (any whole numbers).
_POSTAL_WORDS = frozenset({"zip", "zipcode", "postal", "postcode", "postalcode", "plz"})
_FIXED_CODE_WORDS = frozenset({"phone", "telephone", "area", "areacode", "fips"})
_CODE_WORDS = frozenset({"code", "id", "ids", "key"})
_COORDINATE_WORDS = (
    "lat", "latitude", "lng", "lon", "longitude", "latlong", "latlng", "coordinates", "coords",
    "geo", "geolocation", "geocode",
)  # fmt: skip
#: Words of a column name that say it holds a place, and what kind of place.
_PLACE_WORDS = {
    **dict.fromkeys(("zip", "zipcode", "postal", "postcode", "postalcode", "plz"), "postal code"),
    **dict.fromkeys(("city", "town", "municipality", "village"), "city"),
    **dict.fromkeys(_COORDINATE_WORDS, "coordinates"),
    **dict.fromkeys(("address", "street"), "address"),
    **dict.fromkeys(
        ("county", "district", "neighborhood", "neighbourhood", "borough", "suburb"), "district"
    ),
    "areacode": "area code",
}
#: Words that name a place only as the whole name (``"State"``, ``"state_code"``; not
#: ``"account_state"``), and area only as an area code.
_NAME_ONLY_PLACES = {"state": "state or province", "province": "state or province"}
_LAT_LONG = r"\(?\s*-?\d{1,3}\.\d+\s*[,;]\s*-?\d{1,3}\.\d+\s*\)?"


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

    @classmethod
    def for_table(
        cls,
        frame: pd.DataFrame,
        target: str,
        positive: str | None = None,
        id_column: str | None = None,
        value_column: str | None = None,
    ) -> ColumnMapping:
        """These roles with the suggested fairness segments (the target and the id left
        out): the default of the app and the command line."""
        return cls(
            target=target,
            positive=positive,
            id_column=id_column,
            value_column=value_column,
            segments=default_segments(frame, target, id_column),
        )


def default_segments(
    frame: pd.DataFrame,
    target: str,
    id_column: str | None,
    suggested: dict[str, Any] | None = None,
) -> tuple[str, ...]:
    """The suggested fairness attributes of ``frame``, without the target and the id
    (``suggested``: :func:`~churn.suggest.suggest_mapping` of ``frame`` when already made)."""
    segments = (suggested or suggest_mapping(frame))["segments"]
    return tuple(c for c in segments if c not in (target, id_column))


@dataclass
class Preparation:
    """How raw columns are turned into model inputs; stored with the model, applied on scoring.

    ``numeric_text`` columns are parsed as numbers (currency signs, percent signs,
    spaces and thousands separators removed; a decimal comma when ``decimal_comma``);
    ``numbers`` are the other columns the model reads as numbers (plain numbers in
    training): a later table that brings one as text (``"$79.76"``, ``"79,76"``) has it
    parsed the same way, never silently missing. Whether a table writes a decimal comma
    is read from its own cells when they say (``"79,76"`` or ``"79.76"``), else taken
    from training. ``dates`` maps a column to its reference day (ISO), the column
    becoming the number of days before it; ``features`` are the columns the model may use.
    ``codes`` maps a column of codes (postal codes, area codes, ids) to the width its
    digits are padded to (0: not padded): it is read as text, whichever way a table writes
    it (``2134``, ``2134.0``, ``"02134"``). ``groups`` maps a category with many values to
    the values kept as levels; its other values become :data:`OTHER_LEVEL`.
    """

    numeric_text: list[str] = field(default_factory=list)
    decimal_comma: list[str] = field(default_factory=list)
    dates: dict[str, str] = field(default_factory=dict)
    date_formats: dict[str, str] = field(default_factory=dict)
    features: list[str] = field(default_factory=list)
    numbers: list[str] = field(default_factory=list)
    codes: dict[str, int] = field(default_factory=dict)
    groups: dict[str, list[str]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The preparation as JSON-ready data; ``codes`` and ``groups`` only when there are
        some, so the files of models without them (and their fingerprints) stay the same."""
        data = asdict(self)
        return {k: v for k, v in data.items() if v or k not in ("codes", "groups")}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Preparation:
        """What :meth:`to_dict` wrote (``numbers``, ``codes``, ``groups`` may be absent);
        ``ValueError`` (or ``TypeError``) when ``data`` is not a preparation (a damaged
        model file)."""
        prep = cls(**data)
        names = (prep.numeric_text, prep.decimal_comma, prep.features, prep.numbers)
        texts = (prep.dates, prep.date_formats)
        if not (
            all(isinstance(v, list) and all(isinstance(c, str) for c in v) for v in names)
            and all(
                isinstance(d, dict) and all(isinstance(v, str) for v in d.values()) for d in texts
            )
            and isinstance(prep.codes, dict)
            and all(type(w) is int and 0 <= w <= 30 for w in prep.codes.values())  # (no bool)
            and isinstance(prep.groups, dict)
            and all(
                isinstance(v, list) and all(isinstance(c, str) for c in v)
                for v in prep.groups.values()
            )
        ):
            raise ValueError("not a preparation")
        for reference in prep.dates.values():
            pd.Timestamp(reference)  # (ValueError when it is not a date)
        return prep

    def apply(self, frame: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
        """``frame`` with the conversions applied (all columns kept), and per row the number
        of cells that were present but could not be read: text that is not a number or a
        date, codes that are not whole numbers, and infinite or overflowing numbers, all made
        missing (blank text is missing already for :class:`~churn.features.FeatureSpec`)."""
        out = frame.copy()
        unreadable = np.zeros(len(frame), dtype=int)
        for column, width in self.codes.items():
            if column in out.columns:
                out[column], bad = _code_text(out[column], width)
                unreadable += bad
        for column, kept in self.groups.items():
            if column in out.columns:
                out[column] = _grouped(out[column], kept)
        for column in (*self.numeric_text, *self.numbers):
            if column not in out.columns or pd.api.types.is_bool_dtype(out[column]):
                continue
            if pd.api.types.is_numeric_dtype(out[column]):
                values, bad = out[column].to_numpy(dtype=float, na_value=np.nan), 0
            else:
                text = _blank_to_missing(out[column])
                comma = _writes_decimal_comma(text, column in self.decimal_comma)
                values, bad = _parse_numbers(text, comma)
            odd = out_of_range(values)  # infinite or overflowing: no measurement
            if odd.any() or not pd.api.types.is_numeric_dtype(out[column]):
                out[column] = np.where(odd, np.nan, values)  # (else whole numbers stay whole)
                unreadable += bad + odd
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
    model's inputs; ``y`` the 0/1 target; ``mapping`` the roles checked, with
    ``positive`` the churned value as the table writes it (also when it was inferred);
    ``report`` a JSON-ready summary that is shown before training and stored with the
    model as ``data_check.json``.
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

    def subset(self, rows: np.ndarray) -> DataCheck:
        """The same checks on the rows at positions ``rows`` (in that order): the prepared
        table and target cut to them, the preparation, roles and report (of the whole
        table) kept."""
        return replace(self, frame=self.frame.iloc[rows].reset_index(drop=True), y=self.y[rows])


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
    comma_like = bare.str.fullmatch(_COMMA_DECIMAL).mean()
    thousands_like = bare.str.fullmatch(r"-?\d{1,3}(,\d{3})+(\.\d+)?").mean()
    if comma_like > 0.5 and comma_like > thousands_like:
        comma, _ = _parse_numbers(sample, decimal_comma=True)
        return float(np.mean(~np.isnan(comma))), True
    return share, False


#: A decimal comma ("3,5", "1.234,5"; not "1,915") and a decimal point ("3.5", "1,234.5";
#: not "1.915"), once currency and percent signs are removed.
_COMMA_DECIMAL = r"-?(\d{1,3}(\.\d{3})+,\d+|\d+,(\d{1,2}|\d{4,}))"
_POINT_DECIMAL = r"-?(\d{1,3}(,\d{3})+\.\d+|\d+\.(\d{1,2}|\d{4,}))"


def _writes_decimal_comma(text: pd.Series, default: bool) -> bool:
    """Whether a table's column of text numbers writes a decimal comma: the kind of decimal
    that more of its cells unambiguously show, ``default`` (training's) on a tie."""
    bare = text.dropna().iloc[:20_000].str.replace(_NUMBER_JUNK, "", regex=True)
    if bare.empty:
        return default
    comma = int(bare.str.fullmatch(_COMMA_DECIMAL).sum())
    point = int(bare.str.fullmatch(_POINT_DECIMAL).sum())
    return default if comma == point else comma > point


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


# ------------------------------------------------------------------ codes and places
def _names_a_code(words: list[str], kinds: frozenset[str]) -> bool:
    """Whether a name's words end in one of ``kinds`` (``zip``, ``customer_phone``) or in
    one of them followed by "code", "number" or "no" (``area_code``, ``phone_number``):
    ``phone_minutes`` and ``service_area_sqft`` are quantities, not codes."""
    if not words:
        return False
    if words[-1] in kinds - {"area"}:  # "living_area" is a size: an area needs "code"
        return True
    return len(words) >= 2 and words[-2] in kinds and words[-1] in {"code", "number", "no"}


def _code_width(series: pd.Series, name: str) -> int | None:
    """Whether a column holds codes rather than quantities; ``None`` when it does not, else
    the width its digits are padded to (0: not padded).

    The name must say so (ending in zip, postal or phone, or in one of them or area
    followed by code or number: ``zip``, ``area_code``, ``phone_number``, not
    ``phone_minutes`` or ``living_area``; or
    ending in code, id or key: ``branch_id``, not ``key_accounts``) and the values agree: whole
    non-negative numbers, or digits written as text, with at least two values. Postal,
    phone and area codes must also be written at a fixed width of three digits or more
    (half of postal codes at least, since a leading zero is lost when a spreadsheet
    reads ``02134`` as a number; 90% of the others). Postal codes, and digit text with
    leading zeros at one width, are padded to that width.
    """
    words = name_words(name)
    postal = _names_a_code(words, _POSTAL_WORDS)
    fixed = postal or _names_a_code(words, _FIXED_CODE_WORDS)
    named = fixed or bool(words and words[-1] in _CODE_WORDS)
    if not named or pd.api.types.is_bool_dtype(series):
        return None
    if pd.api.types.is_numeric_dtype(series):
        counts = series.value_counts(dropna=True)
        values = counts.index.to_numpy(dtype=float)
        if not values.size or (values < 0).any() or (np.mod(values, 1) != 0).any():
            return None
        if values.max() >= 2**53:
            return None
        digits = pd.Series(np.char.str_len(values.astype(np.int64).astype(str)))
        zeros = False
    elif _is_text(series):
        text = _blank_to_missing(series).dropna()
        text = text.str.replace(r"^(\d+)\.0+$", r"\1", regex=True)
        if text.empty or not text.str.fullmatch(r"\d+").all():
            return None
        counts = text.value_counts()
        digits = pd.Series(counts.index, dtype="string").str.len().astype(int)
        zeros = bool(pd.Series(counts.index, dtype="string").str.startswith("0").any())
    else:
        return None
    if len(counts) < 2:
        return None
    weights = counts.to_numpy(dtype=float)
    width = int(digits.max())
    at_width = float(weights[(digits == width).to_numpy()].sum() / weights.sum())
    if fixed and (width < 3 or at_width < (0.5 if postal else 0.9)):
        return None
    return width if postal or (zeros and at_width == 1.0) else 0


def _code_text(series: pd.Series, width: int) -> tuple[pd.Series, np.ndarray]:
    """Codes as text (missing as ``None``), digits padded to ``width`` with zeros, and a
    0/1 flag per cell present but not a code (a number that is not whole, or negative)."""
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        numbers = series.astype(float)
        whole = numbers.where((np.mod(numbers, 1) == 0) & (numbers >= 0) & (numbers < 2**53))
        text = whole.astype("Int64").astype("string")
        bad = (numbers.notna() & whole.isna()).to_numpy(dtype=int)
    else:
        text = _blank_to_missing(series).str.replace(r"^(\d+)\.0+$", r"\1", regex=True)
        bad = np.zeros(len(series), dtype=int)
    if width:
        digits = text.str.fullmatch(r"\d+").fillna(False).astype(bool)
        text = text.where(~digits, text.str.zfill(width))
    out = text.astype(object)
    return out.where(text.notna(), None), bad


def _grouped(series: pd.Series, kept: list[str]) -> pd.Series:
    """Category values as text (missing as ``None``), those not in ``kept`` as
    :data:`OTHER_LEVEL`."""
    text = _blank_to_missing(series)
    text = text.where(text.isin(kept).fillna(False).astype(bool) | text.isna(), OTHER_LEVEL)
    return text.astype(object).where(text.notna(), None)


def _common_levels(series: pd.Series) -> tuple[list[str], float]:
    """The values of a category kept as levels (at least :data:`MIN_LEVEL_ROWS` customers,
    at most ``MAX_CATEGORIES - 1``, most frequent first) and the share of the non-missing
    rows they cover."""
    counts = _blank_to_missing(series).value_counts(dropna=True)
    counts = counts.sort_index(kind="stable").sort_values(ascending=False, kind="stable")
    kept = counts[counts >= MIN_LEVEL_ROWS].iloc[: MAX_CATEGORIES - 1]
    return [str(v) for v in kept.index], float(kept.sum() / max(counts.sum(), 1))


def place_kind(name: str, series: pd.Series) -> str | None:
    """What kind of place a column holds (``"postal code"``, ``"city"``, ``"coordinates"``,
    ``"address"``, ``"district"``, ``"area code"``, ``"state or province"``), or ``None``.

    Places are read from the column's name (``Zip Code``, ``City``, ``Latitude``,
    ``Lat Long``, ``billing_address``; ``State`` only as the whole name, so that
    ``account_state`` is not one) and from its values: text written as a latitude and
    a longitude (``"33.964131, -118.272783"``). Where customers live can stand in for
    attributes people are protected on (ethnicity, income, age).
    """
    words = name_words(name)
    for word in words:
        if word in _PLACE_WORDS:
            return _PLACE_WORDS[word]
    if words[:2] == ["area", "code"]:
        return "area code"
    if words and words[0] in _NAME_ONLY_PLACES and set(words[1:]) <= {"code", "name"}:
        return _NAME_ONLY_PLACES[words[0]]
    if _is_text(series):
        present = series.dropna().iloc[:1_000].astype("string").str.strip()
        if present.size and present.str.fullmatch(_LAT_LONG).mean() >= PARSE_SHARE:
            return "coordinates"
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
@dataclass
class _Findings:
    """What the passes of :func:`check_data` record as they go, in the report's order.

    ``columns`` holds one report entry per column of the table, in its order;
    ``problems`` the notes for the user, in the order they were found.
    """

    columns: dict[str, dict[str, Any]] = field(default_factory=dict)
    problems: list[dict[str, str]] = field(default_factory=list)

    def note(self, column: str, check: str, message: str, severity: str = "info") -> None:
        self.problems.append(
            {"column": column, "check": check, "message": message, "severity": severity}
        )

    def left_out(self) -> dict[str, str]:
        """Each column left out of the features, with the reason."""
        return {c: e["reason"] for c, e in self.columns.items() if e.get("role") == "left out"}


class _Target(NamedTuple):
    """The target as 0/1 (1 = churned) and the value that means churned, as text."""

    y: np.ndarray
    positive: str


class _Prepared(NamedTuple):
    """What pass 1 hands on: the table with text numbers and dates converted, and how."""

    frame: pd.DataFrame
    preparation: Preparation


class _Profile(NamedTuple):
    """A converted column's share of missing cells, distinct values, and whether it is numeric."""

    missing: float
    distinct: int
    numeric: bool


def _require(frame: pd.DataFrame, columns: tuple[str | None, ...], role: str) -> None:
    for column in columns:
        if column is not None and column not in frame.columns:
            raise ChurnInputError(
                f"The {role} column '{column}' is not in the data; pick one of its columns."
            )


def _check_roles(frame: pd.DataFrame, mapping: ColumnMapping) -> _Target:
    """The target encoded, once the table has rows and every chosen column is in it."""
    if len(frame) == 0:
        raise ChurnInputError("The table has no rows; export it again with data.")
    y = encode_target(frame, mapping.target, mapping.positive)
    positive = resolve_positive(frame[mapping.target], mapping.positive)
    _require(frame, (mapping.id_column,), "id")
    _require(frame, (mapping.value_column,), "customer value")
    _require(frame, tuple(mapping.segments), "segment")
    _require(frame, tuple(mapping.exclude), "left-out")
    return _Target(y, positive)


def _check_duplicates(frame: pd.DataFrame, id_column: str | None, findings: _Findings) -> int:
    """The number of rows that copy an earlier row (noted); repeated ids are refused."""
    duplicates = int(frame.duplicated().sum())
    if duplicates:
        findings.note(
            "",
            "duplicate rows",
            f"{duplicates:,} rows are exact copies of an earlier row; they are kept, but check "
            "the export (a join can repeat customers).",
            "warning",
        )
    if id_column is not None:
        dupes = frame[id_column].dropna().duplicated()
        if dupes.any():
            example = frame[id_column].dropna()[dupes].iloc[0]
            raise ChurnInputError(
                f"The id column '{id_column}' has {int(dupes.sum()):,} repeated value(s) "
                f"(for example {example}); remove the repeated customers or choose another id "
                "column."
            )
    return duplicates


def _latest(stamps: pd.Series) -> pd.Timestamp:
    """The latest time in ``stamps``, without a time zone."""
    reference = stamps.max()
    if getattr(reference, "tz", None) is not None:
        reference = reference.tz_localize(None)
    return reference


def _convert_text(
    column: str, series: pd.Series, is_id: bool, prep: Preparation, findings: _Findings
) -> pd.Series | np.ndarray:
    """A text column with blank cells missing, read as numbers or dates when it holds them.

    The conversion is recorded in ``prep``, the column's report entry and a note.
    """
    entry = findings.columns[column]
    text = _blank_to_missing(series)
    blanks = int(text.isna().sum() - series.isna().sum())
    if blanks:
        entry["blank_cells"] = blanks
        findings.note(column, "blank strings", f"{blanks:,} blank cells are treated as missing.")
    if is_id:
        return text
    share, comma = _number_share(text)
    if share >= PARSE_SHARE:
        prep.numeric_text.append(column)
        if comma:
            prep.decimal_comma.append(column)
        values, bad = _parse_numbers(text, comma)
        entry["converted"] = "numbers stored as text"
        entry["unparsed_cells"] = int(bad.sum())
        findings.note(
            column,
            "numbers stored as text",
            f"numbers stored as text were converted; {int(bad.sum()):,} cells "
            "did not parse and count as missing.",
            "warning" if bad.sum() else "info",
        )
        return values
    date_format = _date_format(text)
    if date_format is None:
        return text
    reference = _latest(pd.to_datetime(text, errors="coerce", format=date_format))
    prep.dates[column] = reference.normalize().isoformat()
    prep.date_formats[column] = date_format
    values, bad = _parse_dates(text, reference.normalize(), date_format)
    entry["converted"] = f"dates, now days before {reference.date()}"
    entry["unparsed_cells"] = int(bad.sum())
    findings.note(
        column,
        "dates",
        f"dates were turned into days before {reference.date()} "
        f"(the latest date in the column); {int(bad.sum()):,} cells did not parse.",
    )
    return values


def _convert_columns(frame: pd.DataFrame, mapping: ColumnMapping, findings: _Findings) -> _Prepared:
    """Pass 1: missing values and conversions, with a report entry for every column."""
    prep = Preparation()
    converted: dict[str, pd.Series | np.ndarray] = {}
    for column in frame.columns:  # every column, so scoring tables match
        series = frame[column]
        entry: dict[str, Any] = {
            "name": column,
            "dtype": str(series.dtype),
            "missing_rate": round(float(series.isna().mean()), 4),
        }
        findings.columns[column] = entry
        width = None
        if column not in (mapping.target, mapping.id_column, mapping.value_column):
            width = _code_width(series, column)
        if column == mapping.target:
            entry.update(role="target", kind="target")
        elif width is not None:
            converted[column] = _convert_codes(column, series, width, prep, findings)
        elif _is_text(series):
            is_id = column == mapping.id_column
            converted[column] = _convert_text(column, series, is_id, prep, findings)
        elif pd.api.types.is_datetime64_any_dtype(series):
            reference = _latest(series)
            prep.dates[column] = reference.normalize().isoformat()
            converted[column], _ = _parse_dates(series, reference.normalize())
            entry["converted"] = f"dates, now days before {reference.date()}"
        else:
            converted[column] = series
        if column in converted:
            converted[column] = _without_out_of_range(column, converted[column], findings)
    return _Prepared(frame.assign(**converted), prep)


def _convert_codes(
    column: str, series: pd.Series, width: int, prep: Preparation, findings: _Findings
) -> pd.Series:
    """A column of codes as text (see :func:`_code_width`), recorded in ``prep``, the
    column's report entry and a note."""
    prep.codes[column] = width
    text, _ = _code_text(series, width)
    entry = findings.columns[column]
    stored = "numbers" if pd.api.types.is_numeric_dtype(series) else "digits"
    entry["converted"] = f"codes stored as {stored}, read as categories"
    kind = place_kind(column, series)
    what = f"{kind}s" if kind in ("postal code", "area code") else "codes"
    example = text.dropna().iloc[0] if text.notna().any() else ""
    findings.note(
        column,
        "codes",
        f"{what} stored as {stored} are read as categories (such as {example}), not as "
        "quantities" + (f"; written with {width} digits" if width else "") + ".",
    )
    return text


def _without_out_of_range(
    column: str, values: pd.Series | np.ndarray, findings: _Findings
) -> pd.Series | np.ndarray:
    """A converted column with infinite or overflowing numbers missing, counted in the report
    (text, booleans and columns without such numbers are returned as they are)."""
    if isinstance(values, pd.Series) and not _is_plain_number(values):
        return values
    numbers = np.asarray(values, dtype=float)
    bad = out_of_range(numbers)
    count = int(bad.sum())
    if not count:
        return values  # (whole numbers stay whole)
    findings.columns[column]["out_of_range_cells"] = count
    findings.note(
        column,
        "infinite or huge numbers",
        f"{count:,} cells are infinite or too large to be a measurement (beyond "
        f"±{MAX_MAGNITUDE:.0e}) and count as missing.",
        "warning",
    )
    return np.where(bad, np.nan, numbers)


def _is_number_like(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)


def _why_not_a_feature(series: pd.Series, column: str, profile: _Profile) -> str | None:
    """Why a column cannot be a feature: empty, constant, an id or free text (else ``None``)."""
    if profile.missing == 1.0:
        return "empty: every cell is missing"
    if profile.distinct <= 1 and profile.missing == 0:
        return "constant: the same value in every row"
    why_id = id_reason(series, column)
    if why_id is not None or profile.numeric:
        return why_id
    lengths = pd.Series(series.dropna().unique()).astype("string").str.len()
    if profile.distinct > max(20, FREE_TEXT_SHARE * (len(series) - series.isna().sum())):
        return "free text or names: almost every row has its own value"
    if profile.distinct > 20 and float(lengths.mean()) > 30:
        return "free text: long sentences, not categories"
    return None


def _screen_columns(
    prepared: pd.DataFrame, mapping: ColumnMapping, prep: Preparation, findings: _Findings
) -> list[str]:
    """Pass 2: the columns that can be features; the others are left out with the reason.

    Categories with many values get their rare values grouped (recorded in ``prep``;
    the caller applies it) or, when the values kept would cover too few rows, are left
    out."""
    reserved = {mapping.target, mapping.id_column} - {None}
    candidates: list[str] = []
    for column in prepared.columns:
        if column in reserved:
            if column == mapping.id_column:
                findings.columns[column].update(role="id", kind="id")
            continue
        entry = findings.columns[column]
        series = prepared[column]
        profile = _Profile(
            float(series.isna().mean()), int(series.nunique()), _is_number_like(series)
        )
        entry.update(
            missing_rate=round(profile.missing, 4),
            distinct=profile.distinct,
            kind="numeric" if profile.numeric else "text",
        )
        many = not profile.numeric and profile.distinct > MAX_CATEGORIES
        kept, covered = _common_levels(series) if many else ([], 1.0)
        if column in mapping.exclude:
            reason = "left out by you"
        else:
            reason = _why_not_a_feature(series, column, profile)
        if reason is None and covered < MIN_KEPT_SHARE:
            reason = (
                f"{profile.distinct:,} distinct values, most of them shared by few customers: "
                f"the {len(kept)} with at least {MIN_LEVEL_ROWS} customers cover only "
                f"{covered:.0%} of the rows, too few to learn from"
            )
        if reason is not None and column in mapping.keep:
            findings.note(column, "put back", f"would be left out ({reason}) but you put it back.")
            reason = None
        if reason is not None:
            entry.update(role="left out", reason=reason)
            if column not in mapping.exclude:
                findings.note(column, "left out", f"left out of the features: {reason}.")
            continue
        if many:
            prep.groups[column] = kept
            entry["grouped"] = {"kept": len(kept), "other_share": round(1.0 - covered, 4)}
            findings.note(
                column,
                "many values",
                f"{profile.distinct:,} distinct values: the {len(kept)} with at least "
                f"{MIN_LEVEL_ROWS} customers are kept, the others ({1.0 - covered:.0%} of the "
                f"rows) are grouped as '{OTHER_LEVEL}'.",
            )
        if profile.missing >= 0.5:
            findings.note(
                column, "missing", f"{profile.missing:.0%} of the cells are missing.", "warning"
            )
        candidates.append(column)
    return candidates


def _leak(series: pd.Series, y: np.ndarray) -> tuple[float, str | None]:
    """The column's own ROC-AUC, and why it looks like a leak (``None`` when it does not)."""
    present = series.notna().to_numpy()
    filled = [float(present[y == k].mean()) for k in (0, 1)]
    auc = _single_column_auc(series, _is_number_like(series), y)
    if min(filled) <= 0.01 and max(filled) >= 0.2:
        only = "churned" if filled[1] > filled[0] else "retained"
        return auc, (
            f"filled only for {only} customers ({max(filled):.0%} of them, "
            f"{min(filled):.1%} of the others): it is probably recorded after the fact"
        )
    if auc >= 0.999 and series.nunique() <= 2:
        return auc, "a copy of the target"
    if auc >= LEAK_AUC:
        return auc, (
            f"alone it predicts churn almost perfectly (ROC-AUC {auc:.3f}): it is probably "
            "known only after the customer left, or derived from the target"
        )
    return auc, None


def leak_reason(series: pd.Series, y: np.ndarray) -> str | None:
    """Why the leakage guard would leave ``series`` out against the 0/1 target ``y`` (a
    copy of the target, filled for one class only, or an almost perfect predictor), or
    ``None``; :func:`churn.suggest.suggest_mapping` uses it so that it never offers a leak."""
    return _leak(series, np.asarray(y, dtype=int))[1]


def _guard_leaks(
    prepared: pd.DataFrame,
    candidates: list[str],
    y: np.ndarray,
    keep: tuple[str, ...],
    findings: _Findings,
) -> list[str]:
    """Pass 3: the leakage guard; returns the features (candidates not left out as leaks)."""
    features: list[str] = []
    for column in candidates:
        entry = findings.columns[column]
        auc, reason = _leak(prepared[column], y)
        entry["single_column_auc"] = round(auc, 4)
        if reason is not None:
            if column in keep:
                findings.note(
                    column, "leakage", f"possible leak ({reason}), kept because you said so."
                )
            else:
                entry.update(role="left out", reason=f"possible leak: {reason}")
                findings.note(
                    column, "leakage", f"left out as a possible leak: {reason}.", "warning"
                )
                continue
        entry["role"] = "feature"
        features.append(column)
    return features


def _flag_places(
    frame: pd.DataFrame, mapping: ColumnMapping, features: list[str], findings: _Findings
) -> None:
    """Pass 4: mark the places (:func:`place_kind`); a note for each one the model uses."""
    for column in frame.columns:
        if column in (mapping.target, mapping.id_column):
            continue
        kind = place_kind(column, frame[column])
        if kind is None:
            continue
        findings.columns[column]["place"] = kind
        if column in features:
            findings.note(
                column,
                "possible proxy",
                f"a place ({kind}): where customers live can be a proxy for attributes people "
                "are protected on (ethnicity, income, age). It is used unless you leave it "
                "out; check the fairness page.",
                "warning",
            )


def _mark_roles(
    prepared: pd.DataFrame, mapping: ColumnMapping, features: list[str], findings: _Findings
) -> None:
    """Mark the segments and the value column; refuse a table with no feature left or a
    value column that is not numeric."""
    if not features:
        left = "; ".join(f"{c}: {reason}" for c, reason in findings.left_out().items())
        raise ChurnInputError(
            "No usable feature is left after the data checks"
            + (f" ({left})" if left else "")
            + "; add customer attributes, or put a left-out column back."
        )
    for column in mapping.segments:
        findings.columns[column]["segment"] = True
    if mapping.value_column is not None:
        findings.columns[mapping.value_column]["customer_value"] = True
        if not pd.api.types.is_numeric_dtype(prepared[mapping.value_column]):
            raise ChurnInputError(
                f"The customer value column '{mapping.value_column}' is not numeric; choose a "
                "column of amounts or use a constant value."
            )


def _for_columns_used(
    prep: Preparation, prepared: pd.DataFrame, features: list[str], value_column: str | None
) -> Preparation:
    """``prep`` with ``features``, only the conversions of the columns the model uses, and
    the columns it uses that were plain numbers (``numbers``)."""
    used = [c for c in prepared.columns if c in features or c == value_column]
    converted = set(prep.numeric_text) | set(prep.dates)
    return Preparation(
        numeric_text=[c for c in prep.numeric_text if c in used],
        decimal_comma=[c for c in prep.decimal_comma if c in used],
        dates={c: d for c, d in prep.dates.items() if c in used},
        date_formats={c: f for c, f in prep.date_formats.items() if c in used},
        features=features,
        numbers=[c for c in used if c not in converted and _is_plain_number(prepared[c])],
        codes={c: w for c, w in prep.codes.items() if c in used},
        groups={c: g for c, g in prep.groups.items() if c in used},
    )


def _is_plain_number(series: pd.Series) -> bool:
    """Numbers, not booleans (which the model reads as yes/no)."""
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def _report(
    frame: pd.DataFrame,
    mapping: ColumnMapping,
    target: _Target,
    duplicates: int,
    features: list[str],
    findings: _Findings,
) -> dict[str, Any]:
    """The JSON-ready summary stored with the model as ``data_check.json``."""
    n = len(frame)
    churned = int(target.y.sum())
    report = {
        "rows": n,
        "columns": len(frame.columns),
        "target": mapping.target,
        "positive_label": target.positive,
        "class_balance": {
            "churned": churned,
            "retained": n - churned,
            "churn_rate": round(churned / n, 4),
            "minimum_per_class": MIN_MINORITY,
        },
        "duplicate_rows": duplicates,
        "features": features,
        "left_out": findings.left_out(),
        "mapping": asdict(mapping),
        "column_details": list(findings.columns.values()),
        "problems": findings.problems,
    }
    return json_ready(report)


def check_data(frame: pd.DataFrame, mapping: ColumnMapping) -> DataCheck:
    """Check and prepare a table for training; see the module docstring for what is checked.

    After the roles and duplicates are checked, four passes run: text numbers, dates and
    codes are converted (every column), the columns that cannot be features are left out
    (and the rare values of categories with many values grouped), the leakage guard
    screens the rest, and the places are flagged; then the roles are marked and the
    report written.

    Raises
    ------
    ChurnInputError
        Target missing, not two values, one class, missing labels, fewer than 50 of the
        smaller class, duplicate ids, or no usable feature left.
    """
    target = _check_roles(frame, mapping)
    # the churned value as the table writes it, inferred or given (in any case): the
    # same table and roles record the same mapping, so they train the same model
    mapping = replace(mapping, positive=target.positive)
    findings = _Findings()
    duplicates = _check_duplicates(frame, mapping.id_column, findings)
    prepared, preparation = _convert_columns(frame, mapping, findings)
    candidates = _screen_columns(prepared, mapping, preparation, findings)
    prepared = prepared.assign(
        **{c: _grouped(prepared[c], kept) for c, kept in preparation.groups.items()}
    )
    features = _guard_leaks(prepared, candidates, target.y, mapping.keep, findings)
    _flag_places(frame, mapping, features, findings)
    _mark_roles(prepared, mapping, features, findings)
    return DataCheck(
        frame=prepared,
        y=target.y,
        preparation=_for_columns_used(preparation, prepared, features, mapping.value_column),
        mapping=mapping,
        report=_report(frame, mapping, target, duplicates, features, findings),
    )


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
