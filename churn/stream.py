"""Scoring and monitoring a table of any size in bounded memory, one chunk at a time.

A CSV or Parquet file is read in chunks of :data:`CHUNK_ROWS` rows (:class:`TableChunks`),
each chunk is scored (or counted, for monitoring) and written out before the next is read
(:func:`score_table`, :func:`count_table`), so memory does not grow with the rows.

The chunks are exactly the rows :func:`churn.data.read_table` reads at once: the same
encoding, delimiter and missing-value markers, ids kept as text, and the same type for
every column. A CSV reader decides a column's type from its cells, and the whole file
decides at once: a column of numbers with one word in row 7,000,000 is text in every row.
So when a chunk's type for a column disagrees with an earlier chunk's (numbers, then
text, or the other way round), the file is read again from the start with that column as
text, which is what the whole-file read makes of it (and a file that turns out not to be
UTF-8 half-way is read again as Windows-1252, as the whole-file read falls back). Such
files cost one more pass; every other file is read once.

Output goes to a temporary file next to ``--out``, renamed into place only when every row
is written: a run stopped by bad input (a ragged line, a broken Parquet page) or
interrupted leaves no file that looks complete.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from churn.errors import ChurnInputError
from churn.ingest import _NA_MARKERS, _SNIFF_BYTES, _clean_names, _kind, detect_csv_format

__all__ = [
    "CHUNK_ROWS",
    "ChunkWriter",
    "TableChunks",
    "count_table",
    "score_table",
]

#: Rows read, scored and written at a time (about 60 MB of a 20-column table in memory).
CHUNK_ROWS = 100_000


class Reread(Exception):
    """A later chunk showed that the whole-file read decides otherwise: start again."""


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _column_kind(series: pd.Series) -> str | None:
    """``"bool"``, ``"number"`` or ``"text"`` as a CSV reader typed the column; ``None``
    when every cell is missing (any type fits)."""
    if pd.api.types.is_bool_dtype(series):
        return "bool"
    if pd.api.types.is_numeric_dtype(series):
        return None if series.isna().all() else "number"
    return None if series.isna().all() else "text"


@dataclass
class TableChunks:
    """A CSV or Parquet file read in chunks, exactly as :func:`churn.data.read_table` reads it.

    Iterating yields frames of at most ``chunk_rows`` rows, in file order, with the column
    names and types of the whole-file read. It may raise :class:`Reread` (a CSV whose
    types or encoding a later chunk changes); iterating again then gives the right chunks
    from the start (:func:`score_table` and :func:`count_table` do so). Excel workbooks
    (at most about a million rows) are read whole, as one chunk.

    Attributes
    ----------
    rows_read : rows yielded so far in this pass.
    total_rows : the file's rows when known (Parquet), else an estimate from the bytes read
        so far (CSV), or ``None`` before the first chunk.
    """

    path: Path
    text_columns: tuple[str, ...] = ()
    chunk_rows: int | None = None  # (default CHUNK_ROWS)
    #: Parquet only: read these row groups alone (a piece of a file, on a cluster).
    row_groups: tuple[int, ...] | None = None
    rows_read: int = 0
    total_rows: int | None = None
    kind: str = field(init=False)
    _forced: set[str] = field(default_factory=set, init=False)
    _encoding: str = field(default="utf-8", init=False)
    _delimiter: str = field(default=",", init=False)

    def __post_init__(self) -> None:
        self.chunk_rows = self.chunk_rows or CHUNK_ROWS
        path = self.path = Path(self.path)
        if not path.exists():
            raise ChurnInputError(f"File not found: {path}; check the path and try again.")
        if path.is_dir():
            raise ChurnInputError(f"{path} is a folder; give the path of a CSV or Parquet file.")
        try:
            with open(path, "rb") as handle:
                head = handle.read(_SNIFF_BYTES)
        except OSError as exc:
            raise ChurnInputError(f"Cannot read {path} ({exc.strerror or exc}).") from None
        self.kind = _kind(path.name, head)
        if self.kind == "unknown" or self.kind == "xls" or not head.strip():
            from churn.ingest import read_path

            read_path(path, self.text_columns)  # (raises the whole-file read's sentence)
        if self.kind == "csv":
            self._encoding, self._delimiter = detect_csv_format(head)
            if path.suffix.lower() in (".tsv", ".tab"):
                self._delimiter = "\t"

    # ------------------------------------------------------------------ reading
    def __iter__(self) -> Iterator[pd.DataFrame]:
        self.rows_read = 0
        if self.kind == "parquet":
            chunks = self._parquet_chunks()
        elif self.kind == "csv":
            chunks = self._csv_chunks()
        else:
            from churn.ingest import read_path

            chunks = iter([read_path(self.path, self.text_columns)])
        empty = True
        for chunk in chunks:
            if len(chunk) == 0:
                continue
            empty = False
            self.rows_read += len(chunk)
            yield chunk
        if empty:
            raise ChurnInputError(
                f"{self.path.name} has a header but no rows; export it again with data."
            )

    def _cannot_read(self, exc: BaseException, where: str = "") -> ChurnInputError:
        what = {"csv": "CSV", "parquet": "Parquet"}.get(self.kind, "Excel")
        return ChurnInputError(
            f"Cannot read {where}{self.path.name} ({_first_line(exc)}); check that it is a "
            f"valid {what} file, or export it again."
        )

    def _parquet_chunks(self) -> Iterator[pd.DataFrame]:
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            parquet = pq.ParquetFile(self.path)
            metadata = parquet.metadata
            groups = self.row_groups
            if groups is None:
                self.total_rows = metadata.num_rows
            else:
                self.total_rows = sum(metadata.row_group(k).num_rows for k in groups)
            schema = parquet.schema_arrow
        except Exception as exc:  # any reader failure is the file's
            raise self._cannot_read(exc) from None
        batches = parquet.iter_batches(batch_size=self.chunk_rows, row_groups=groups)
        while True:
            start = self.rows_read
            try:
                batch = next(batches, None)
                if batch is None:
                    return
                frame = pa.Table.from_batches([batch], schema=schema).to_pandas()
            except Exception as exc:
                raise self._cannot_read(exc, f"the rows after row {start:,} of ") from None
            yield self._finish(frame.reset_index(drop=True))

    def _finish(self, frame: pd.DataFrame) -> pd.DataFrame:
        if frame.shape[1] == 0:
            raise ChurnInputError(
                f"{self.path.name} has no columns; export the table again with its header."
            )
        if self.kind == "parquet":  # (before the names are cleaned, as the whole read does)
            for column in self.text_columns:
                if column in frame.columns:
                    frame[column] = frame[column].astype("str").mask(frame[column].isna())
        frame.columns = _clean_names(frame.columns)
        return frame

    def _csv_options(self, read_csv: Callable[..., pd.DataFrame]) -> dict[str, Any]:
        """The whole-file read's keywords (:func:`churn.ingest._text_options`), plus the
        columns found to be text in a later chunk, read as text."""
        if not self.text_columns and not self._forced:
            return {}
        header = read_csv(self.path, nrows=0).columns
        text = [c for c in header if str(c).strip() in self.text_columns]
        forced = [c for c in header if c in self._forced and c not in text]
        options: dict[str, Any] = {"dtype": dict.fromkeys([*text, *forced], "str")}
        if text:
            markers = {c: [""] if c in text else list(_NA_MARKERS) for c in header}
            options.update(keep_default_na=False, na_values=markers)
        return options

    def _csv_chunks(self) -> Iterator[pd.DataFrame]:
        encoding = self._encoding
        errors = "replace" if encoding == "cp1252" else "strict"
        read_csv = partial(
            pd.read_csv,
            sep=self._delimiter,
            low_memory=False,
            skipinitialspace=True,
            encoding=encoding,
            encoding_errors=errors,
        )
        size = max(self.path.stat().st_size, 1)
        kinds: dict[str, str] = {}
        try:
            options = self._csv_options(read_csv)
            with open(self.path, "rb") as handle:
                reader = read_csv(handle, chunksize=self.chunk_rows, **options)
                with reader:
                    for chunk in reader:
                        changed = []
                        for column in chunk.columns:
                            kind = _column_kind(chunk[column])
                            seen = kinds.setdefault(column, kind) if kind else None
                            if kind and seen != kind:
                                changed.append(column)
                        if changed:
                            self._forced.update(changed)
                            raise Reread
                        done = handle.tell()
                        if done:
                            self.total_rows = round((self.rows_read + len(chunk)) * size / done)
                        yield self._finish(chunk)
        except (Reread, ChurnInputError):
            raise
        except UnicodeDecodeError as exc:
            if encoding != "utf-8":
                raise self._cannot_read(exc) from None
            self._encoding = "cp1252"  # UTF-8 at the start, something else later on
            raise Reread from None
        except pd.errors.EmptyDataError:
            raise ChurnInputError(
                f"{self.path.name} is empty; export the table again with its rows."
            ) from None
        except Exception as exc:  # any parser failure is the file's, not ours
            raise self._cannot_read(exc) from None
        self.total_rows = self.rows_read


# ---------------------------------------------------------------------------- writing
_CSV_SUFFIXES = (".csv", ".txt", "")
_PARQUET_SUFFIXES = (".parquet", ".pq")


def check_output(path: str | Path) -> Path:
    """``path`` as a file to write a table to (CSV, TSV or Parquet by its suffix); the
    sentence of :func:`churn.data.write_table` when it cannot be."""
    path = Path(path)
    if path.parent and not path.parent.exists():
        raise ChurnInputError(f"The folder {path.parent} does not exist; create it first.")
    if path.is_dir():
        raise ChurnInputError(f"{path} is a folder; give the path of the file to write.")
    if path.suffix.lower() not in (*_CSV_SUFFIXES, ".tsv", *_PARQUET_SUFFIXES):
        raise ChurnInputError(f"Cannot write {path.name}: use a .csv or .parquet file.")
    return path


class ChunkWriter:
    """Writes a table chunk by chunk to a temporary file renamed into place by :meth:`commit`.

    The file is CSV (``.csv``, ``.txt``), tab-separated (``.tsv``) or Parquet
    (``.parquet``), written as :func:`churn.data.write_table` writes a whole frame: a file
    written in chunks reads back as the frame written at once. Used as a context manager,
    the temporary file is removed when the block fails.
    """

    def __init__(self, path: str | Path, metadata: dict[str, str] | None = None) -> None:
        self.path = check_output(path)
        self.metadata = metadata or {}  # (Parquet: stored in the schema's metadata)
        self.temp = self.path.with_name(f".{self.path.name}.{uuid.uuid4().hex[:8]}.partial")
        self.parquet = self.path.suffix.lower() in _PARQUET_SUFFIXES
        self.rows = 0
        self._handle: Any = None
        self._schema: Any = None

    def write(self, frame: pd.DataFrame) -> None:
        """Append ``frame``'s rows (the same columns every time)."""
        try:
            if self.parquet:
                import pyarrow as pa
                import pyarrow.parquet as pq

                if self._handle is None:
                    table = pa.Table.from_pandas(frame, preserve_index=False)
                    if self.metadata:
                        extra = {k.encode(): v.encode() for k, v in self.metadata.items()}
                        metadata = {**(table.schema.metadata or {}), **extra}
                        table = table.replace_schema_metadata(metadata)
                    self._schema = table.schema
                    self._handle = pq.ParquetWriter(self.temp, self._schema)
                else:
                    table = pa.Table.from_pandas(frame, schema=self._schema, preserve_index=False)
                self._handle.write_table(table)
            else:
                if self._handle is None:
                    self._handle = open(self.temp, "w", encoding="utf-8", newline="")  # noqa: SIM115
                sep = "\t" if self.path.suffix.lower() == ".tsv" else ","
                frame.to_csv(
                    self._handle, sep=sep, index=False, lineterminator="\n", header=self.rows == 0
                )
        except OSError as exc:
            self.discard()
            raise ChurnInputError(f"Cannot write {self.path} ({exc.strerror or exc}).") from None
        self.rows += len(frame)

    def _close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def commit(self) -> None:
        """Close the file and give it its name (replacing a file of that name)."""
        try:
            self._close()
            os.replace(self.temp, self.path)
        except OSError as exc:
            self.discard()
            raise ChurnInputError(f"Cannot write {self.path} ({exc.strerror or exc}).") from None

    def discard(self) -> None:
        """Close and remove the temporary file (nothing is left behind)."""
        try:
            self._close()
        finally:
            self.temp.unlink(missing_ok=True)

    def __enter__(self) -> ChunkWriter:
        return self

    def __exit__(self, kind: type | None, *_: object) -> None:
        if kind is not None:
            self.discard()


# ---------------------------------------------------------------------------- scoring
Progress = Callable[[int, int | None], None]


def _quiet(done: int, total: int | None) -> None:
    pass


class Ranked:
    """A column that needs every scored row before it can be filled (an action under a
    capacity: the top N of the whole batch). :func:`score_table` passes every chunk to
    :meth:`collect`, then writes :meth:`values` into the column ``name`` before ``before``.
    """

    name: str = ""
    before: str = ""

    def reset(self) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def collect(self, chunk: pd.DataFrame, scored: pd.DataFrame) -> None:  # pragma: no cover
        raise NotImplementedError

    def values(self) -> np.ndarray:  # pragma: no cover - interface
        raise NotImplementedError


def score_table(
    source: TableChunks,
    out: str | Path,
    score: Callable[[pd.DataFrame], pd.DataFrame],
    *,
    ranked: Ranked | None = None,
    progress: Progress = _quiet,
    metadata: dict[str, str] | None = None,
) -> int:
    """Score ``source`` chunk by chunk with ``score`` into the table ``out``; returns the rows.

    Parameters
    ----------
    source : the table to score.
    out : the CSV or Parquet file to write (by its suffix); written under a temporary
        name and renamed when complete.
    score : one chunk of customers -> its scored rows, one per input row, in order
        (:func:`churn.training.score_frame` and a policy's actions, or another model
        kind's scoring).
    ranked : a column filled once every row is scored (a policy with a capacity): the
        chunks are then scored into a temporary Parquet file first, and a second pass
        reads it back in chunks to add the column.
    progress : called with (rows done, total rows or an estimate) after each chunk.
    metadata : stored in a Parquet ``out``'s schema metadata (such as the model's
        fingerprint), as :func:`churn.data.write_table` stores it.
    """
    check_output(out)
    path = Path(out)
    # with a ranked column, the scored rows go to a hidden Parquet file first
    target = (
        path if ranked is None else path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.parquet")
    )
    while True:
        step = ChunkWriter(target, metadata if ranked is None else None)
        if ranked is not None:
            ranked.reset()
        try:
            with step, ThreadPoolExecutor(1) as reader, ThreadPoolExecutor(1) as writer:
                # reading the next chunk and writing the last one overlap the scoring (the
                # file readers and writers release the GIL); one of each at a time, in order
                written: Future | None = None
                chunks = iter(source)
                coming = reader.submit(next, chunks, None)
                while (chunk := coming.result()) is not None:
                    coming = reader.submit(next, chunks, None)
                    scored = score(chunk)
                    if ranked is not None:
                        ranked.collect(chunk, scored)
                    if written is not None:
                        written.result()
                    written = writer.submit(step.write, scored)
                    progress(source.rows_read, source.total_rows)
                if written is not None:
                    written.result()
                if step.rows == 0:  # (a header-only source raised already)
                    raise ChurnInputError(f"{source.path.name} has no rows to score.")
                step.commit()
            break
        except Reread:
            continue
    if ranked is None:
        return step.rows
    try:  # the second pass: the ranked column into the scored rows
        import pyarrow.parquet as pq

        column = ranked.values()
        with ChunkWriter(out, metadata) as final:
            done = 0
            for batch in pq.ParquetFile(target).iter_batches(batch_size=source.chunk_rows):
                frame = batch.to_pandas()
                frame.insert(
                    frame.columns.get_loc(ranked.before),
                    ranked.name,
                    column[done : done + len(frame)],
                )
                final.write(frame)
                done += len(frame)
            final.commit()
            return final.rows
    finally:
        target.unlink(missing_ok=True)


def count_table(
    source: TableChunks,
    count: Callable[[pd.DataFrame], Any],
    combine: Callable[[list[Any]], Any],
    *,
    progress: Progress = _quiet,
) -> Any:
    """``combine`` of ``count`` of every chunk of ``source`` (in order): a monitoring
    report's counts (:class:`churn.monitor.BatchCounts`) of a table of any size."""
    while True:
        parts = []
        try:
            for chunk in source:
                parts.append(count(chunk))
                progress(source.rows_read, source.total_rows)
        except Reread:
            continue
        return combine(parts)


# ------------------------------------------------------------- the churn model's scoring
class _CapacityActions(Ranked):
    """The policy's actions under a capacity, assigned over the whole batch at once
    (:func:`churn.policy.apply_policy` on every scored row): the probabilities, the ids
    that break ties and, when the policy ranks by expected value, the values are kept
    (about 30 bytes a customer), then ranked together."""

    name, before = "action", "score_note"

    def __init__(self, artifact: Any, policy: dict[str, Any]) -> None:
        from churn.policy import capacity_of

        self.artifact, self.policy = artifact, policy
        capacity = capacity_of(policy)
        self.value_column = None
        if capacity is not None and capacity.ranking == "expected_value":
            self.value_column = (policy.get("economics") or {}).get("value_column")
        self.reset()

    def reset(self) -> None:
        self.p: list[np.ndarray] = []
        self.ids: list[pd.Series] = []
        self.value: list[np.ndarray] = []

    def collect(self, chunk: pd.DataFrame, scored: pd.DataFrame) -> None:
        self.p.append(scored["churn_probability"].to_numpy(dtype=float))
        id_column = self.artifact.id_column
        if id_column is not None:
            self.ids.append(scored[id_column])
        column = self.value_column
        if column is not None and column in chunk.columns:
            prepared = self.artifact.preparation.apply(chunk[[column]])[0][column]
            self.value.append(
                pd.to_numeric(prepared, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
            )

    def values(self) -> np.ndarray:
        from churn.policy import apply_policy

        p = np.concatenate(self.p)
        customers: dict[str, Any] = {}
        id_column = self.artifact.id_column
        if id_column is not None:
            customers[id_column] = pd.concat(self.ids, ignore_index=True)
        if self.value and self.value_column:
            customers[self.value_column] = np.concatenate(self.value)
        table = pd.DataFrame(customers, index=pd.RangeIndex(p.size))
        return apply_policy(self.policy, p, table, id_column)


def model_scoring(
    artifact: Any, policy: dict[str, Any] | None = None, copy: tuple[str, ...] = ()
) -> tuple[Callable[[pd.DataFrame], pd.DataFrame], Ranked | None]:
    """The churn model's scoring of one chunk for :func:`score_table`, and the ranked column.

    Each chunk gets :func:`churn.training.score_frame` and, with a policy, the ``action``
    column of :func:`churn.policy.apply_policy`: per customer for a policy of rules alone,
    over the whole batch (the second return value) for a policy with a capacity, whose
    top N is the top N of every customer scored, not of each chunk. ``copy``: input
    columns written next to the id, as read. Exactly what the scoring command line writes
    for the whole table at once.
    """
    from churn.policy import apply_policy, capacity_of
    from churn.training import score_frame

    ranked = None
    if policy is not None and capacity_of(policy) is not None:
        ranked = _CapacityActions(artifact, policy)

    def score(chunk: pd.DataFrame) -> pd.DataFrame:
        scored = score_frame(artifact, chunk)
        if policy is not None and ranked is None:  # unscored rows get the default action
            prepared = artifact.preparation.apply(chunk)[0]  # values read as the pages do
            action = apply_policy(
                policy, scored["churn_probability"].to_numpy(), prepared, artifact.id_column
            )
            scored.insert(scored.columns.get_loc("score_note"), "action", action)
        missing = [c for c in copy if c not in chunk.columns]
        if missing:
            raise ChurnInputError(
                f"--copy {missing[0]}: the data has no such column; columns are: "
                f"{', '.join(map(str, chunk.columns[:20]))}."
            )
        at = 1 if artifact.id_column is not None else 0
        for offset, column in enumerate(dict.fromkeys(c for c in copy if c not in scored)):
            scored.insert(at + offset, column, chunk[column].reset_index(drop=True))
        return scored

    return score, ranked
