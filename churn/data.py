"""Reading customer tables and checking the target, with errors a PM can act on."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from churn.errors import ChurnInputError
from churn.ingest import read_path

__all__ = [
    "MIN_MINORITY",
    "encode_target",
    "label_text",
    "positive_choices",
    "read_table",
    "resolve_positive",
    "split_features",
    "write_table",
]

MIN_MINORITY = 50
_POSITIVE_WORDS = ("1", "yes", "true", "y", "t", "churned", "churn", "left", "exited")
_NEGATIVE_WORDS = ("0", "no", "false", "n", "f", "stayed", "retained", "active")


def read_table(path: str | Path, text_columns: tuple[str, ...] = ()) -> pd.DataFrame:
    """Read a CSV (any common delimiter and encoding), Parquet or Excel file into a frame.

    ``text_columns`` (such as the customer id) are read as text, so ids like
    ``00123`` keep their leading zeros. See :mod:`churn.ingest`.

    Raises
    ------
    ChurnInputError
        When the file is missing, has an unsupported type, cannot be read or has no rows.
    """
    return read_path(path, text_columns)


def write_table(
    frame: pd.DataFrame, path: str | Path, metadata: dict[str, str] | None = None
) -> None:
    """Write a frame as CSV or Parquet, chosen by the file extension.

    ``metadata`` is stored in a Parquet file's schema metadata (``score`` records the model's
    fingerprint there, :data:`churn.scored_base.FINGERPRINT_KEY`); a CSV has nowhere to keep it.

    Every cell is written exactly as it is, text starting with ``=``, ``+``, ``-`` or ``@``
    included: this is the command line's machine format, and ids must join back exactly.
    A file meant for a spreadsheet goes through :func:`churn.customers.to_safe_csv`
    instead (the app's downloads), which neutralises such text.
    """
    path = Path(path)
    if path.parent and not path.parent.exists():
        raise ChurnInputError(f"The folder {path.parent} does not exist; create it first.")
    if path.is_dir():
        raise ChurnInputError(f"{path} is a folder; give the path of the file to write.")
    suffix = path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq") and metadata:
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.Table.from_pandas(frame, preserve_index=False)
            extra = {k.encode(): v.encode() for k, v in metadata.items()}
            table = table.replace_schema_metadata({**(table.schema.metadata or {}), **extra})
            pq.write_table(table, path)
        elif suffix in (".parquet", ".pq"):
            frame.to_parquet(path, index=False)
        elif suffix == ".tsv":  # read_table reads .tsv tab-separated
            frame.to_csv(path, sep="\t", index=False, lineterminator="\n")
        elif suffix in (".csv", ".txt", ""):
            frame.to_csv(path, index=False, lineterminator="\n")
        else:
            raise ChurnInputError(f"Cannot write {path.name}: use a .csv or .parquet file.")
    except OSError as exc:
        raise ChurnInputError(f"Cannot write {path} ({exc.strerror or exc}).") from None


def label_text(value: object) -> str:
    """A target value as text: a whole float reads as an integer (``1.0`` is ``"1"``),
    surrounding spaces are dropped."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _labels(target: pd.Series) -> list[str]:
    """The distinct non-missing values of ``target`` as text, sorted."""
    return sorted({label_text(v) for v in target.dropna().unique()})


def _listed(values: list[str]) -> str:
    """The first ten values, comma-separated, with ``...`` when there are more."""
    return ", ".join(values[:10]) + (" ..." if len(values) > 10 else "")


def positive_choices(target: pd.Series) -> list[str]:
    """The values a user can pick as "churned": the target's values as text, sorted.

    Raises
    ------
    ChurnInputError
        When the column has more than two values (fewer are left to :func:`encode_target`).
    """
    values = _labels(target)
    if len(values) > 2:
        raise ChurnInputError(
            f"'{target.name}' has {len(values)} values ({_listed(values)}); the churn column "
            "must have two. Pick another."
        )
    return values


def resolve_positive(target: pd.Series, positive: str | None = None) -> str:
    """The target value that means "churned", as text.

    With ``positive=None`` it is inferred when the two values are 1/0, yes/no,
    true/false (any case) or similar words; otherwise the user must say.
    """
    name = target.name
    values = _labels(target)
    if len(values) > 2:
        raise ChurnInputError(
            f"The target column '{name}' must have two values (churned or not) but has "
            f"{len(values)}: {_listed(values)}; pick a yes/no column."
        )
    if len(values) < 2:
        only = values[0] if values else "nothing but missing values"
        raise ChurnInputError(
            f"The target column '{name}' has a single class ({only}); the model needs both "
            "churned and retained customers."
        )
    if positive is not None:
        wanted = label_text(positive)
        for v in values:
            if v == wanted or v.lower() == wanted.lower():
                return v
        raise ChurnInputError(
            f"--positive '{positive}' is not a value of '{name}' (found: {', '.join(values)}); "
            "use one of those."
        )
    lowered = [v.lower() for v in values]
    for word in _POSITIVE_WORDS:
        if word in lowered:
            other = lowered[1 - lowered.index(word)]
            if other in _NEGATIVE_WORDS:  # 1/2, yes/maybe ... are ambiguous: ask
                return values[lowered.index(word)]
    raise ChurnInputError(
        f"Cannot tell which value of '{name}' means churned ({' or '.join(values)}); "
        "say which with --positive."
    )


def encode_target(frame: pd.DataFrame, target: str, positive: str | None = None) -> np.ndarray:
    """The target as 0/1 (1 = churned), after checking it can train a model.

    Raises
    ------
    ChurnInputError
        Target missing, not binary, one class, missing labels, or fewer than
        ``MIN_MINORITY`` customers in the smaller class.
    """
    if target not in frame.columns:
        close = [c for c in frame.columns if c.lower() == target.lower()]
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise ChurnInputError(
            f"The target column '{target}' is not in the data{hint}; columns are: "
            f"{', '.join(map(str, frame.columns[:20]))}."
        )
    series = frame[target]
    missing = int(series.isna().sum())
    if missing:
        raise ChurnInputError(
            f"The target column '{target}' is empty in {missing:,} row(s); fill or remove "
            "those rows before training."
        )
    label = resolve_positive(series, positive)
    if pd.api.types.is_bool_dtype(series):
        y = (series == (label == "True")).to_numpy(dtype=int)
    elif pd.api.types.is_numeric_dtype(series):
        y = (series.astype(float) == float(label)).to_numpy(dtype=int)
    else:
        y = (series.astype("string").str.strip() == label).to_numpy(dtype=int)
    minority = int(min(y.sum(), len(y) - y.sum()))
    if minority < MIN_MINORITY:
        raise ChurnInputError(
            f"Only {minority} customers are in the smaller class of '{target}'; at least "
            f"{MIN_MINORITY} of each class are needed to train and check a model."
        )
    return y


def split_features(
    frame: pd.DataFrame, target: str | None, id_column: str | None
) -> tuple[pd.DataFrame, pd.Series | None]:
    """Feature columns (everything but the target and the id) and the id column."""
    if id_column is not None and id_column not in frame.columns:
        raise ChurnInputError(
            f"The id column '{id_column}' is not in the data; check the name or leave out --id."
        )
    drop = [c for c in (target, id_column) if c is not None and c in frame.columns]
    ids = frame[id_column] if id_column is not None else None
    return frame.drop(columns=drop), ids
