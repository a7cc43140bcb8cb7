"""Scoring and monitoring on a Dask cluster (``--engine dask``).

The input is a Parquet file, a folder of Parquet files (a dataset, folders within it
included) or a glob of Parquet or CSV files. It is cut into pieces (:func:`plan`): the
row groups of each Parquet file, gathered up to about :data:`PIECE_ROWS` rows, and each
CSV file whole. Every piece is read on a worker by the same reader as the local engine
(:class:`churn.stream.TableChunks`, in chunks), so a piece's rows, types and ids are
exactly the local engine's.

The model goes to every worker once (``Client.scatter(..., broadcast=True)``); tasks get
a reference to it. Scoring writes one Parquet file per piece (``part.00000.parquet``
...) into a temporary folder next to ``--out``, renamed into place when every piece has
been written: the dataset reads back (``pandas.read_parquet(out)``) as the rows in input
order, with the columns the local engine writes. Monitoring brings every piece's counts
(:class:`churn.monitor.BatchCounts`) back and combines them, in order, into exactly the
report of the whole batch on one machine.

Dask is imported only here, so the app and the local command line never load it. The
workers need this package and its requirements installed (see the README's "Running at
scale"), and must see the input and output paths at the same place as the client (a
shared file system).
"""

from __future__ import annotations

import contextlib
import glob
import logging
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from churn.errors import ChurnInputError
from churn.stream import TableChunks, model_scoring, score_table

__all__ = ["PIECE_ROWS", "Piece", "connect", "count", "plan", "score"]

#: Rows of Parquet row groups gathered into one task (a CSV file is one task).
PIECE_ROWS = 250_000
_PARQUET = (".parquet", ".pq")
_CSV = (".csv", ".tsv", ".txt")


@dataclass(frozen=True)
class Piece:
    """A part of the input read by one task: a file, or some of a Parquet file's row groups."""

    path: str
    row_groups: tuple[int, ...] | None = None
    rows: int | None = None


def _files(data: str) -> list[Path]:
    if any(ch in data for ch in "*?["):
        found = sorted(Path(p) for p in glob.glob(data, recursive=True) if Path(p).is_file())
        if not found:
            raise ChurnInputError(f"No file matches {data}; check the pattern.")
        return found
    path = Path(data)
    if not path.exists():
        raise ChurnInputError(f"File not found: {path}; check the path and try again.")
    if path.is_dir():
        found = sorted(p for p in path.rglob("*") if p.suffix.lower() in _PARQUET and p.is_file())
        if not found:
            raise ChurnInputError(
                f"The folder {path} has no Parquet files; give a folder of .parquet files, a "
                "Parquet file or a glob."
            )
        return found
    return [path]


def plan(data: str, piece_rows: int = PIECE_ROWS) -> list[Piece]:
    """The pieces of ``data`` (a file, folder or glob), in input order: files sorted by
    path, row groups in file order; Parquet files without rows are skipped."""
    import pyarrow.parquet as pq

    pieces = []
    for path in _files(data):
        if path.suffix.lower() not in _PARQUET:
            if path.suffix.lower() not in _CSV:
                raise ChurnInputError(
                    f"Cannot read {path.name} on a cluster: use Parquet or CSV files."
                )
            pieces.append(Piece(str(path)))
            continue
        try:
            metadata = pq.ParquetFile(path).metadata
        except Exception as exc:  # the file's fault
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ChurnInputError(
                f"Cannot read {path.name} ({first}); check that it is a valid Parquet file, or "
                "export it again."
            ) from None
        groups: list[int] = []
        rows = 0
        for k in range(metadata.num_row_groups):
            n = metadata.row_group(k).num_rows
            if groups and rows + n > piece_rows:
                pieces.append(Piece(str(path), tuple(groups), rows))
                groups, rows = [], 0
            if n:
                groups.append(k)
                rows += n
        if groups:
            pieces.append(Piece(str(path), tuple(groups), rows))
    if not pieces:
        raise ChurnInputError(f"{data} has no rows; give Parquet or CSV files with customers.")
    return pieces


def _source(piece: Piece, text_columns: tuple[str, ...]) -> TableChunks:
    return TableChunks(Path(piece.path), text_columns, row_groups=piece.row_groups)


@contextlib.contextmanager
def connect(scheduler: str | None = None) -> Iterator[Any]:
    """A ``distributed.Client``: of the scheduler at ``scheduler`` (``tcp://host:8786``),
    or of a local cluster of one single-threaded worker process per core, shut down on
    exit."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:  # pragma: no cover - a requirement
        raise ChurnInputError(
            "--engine dask needs Dask: pip install 'dask[dataframe]' distributed."
        ) from None
    if scheduler:
        try:
            client = Client(scheduler, timeout="20s")
        except (OSError, TimeoutError) as exc:
            raise ChurnInputError(
                f"Cannot reach the Dask scheduler at {scheduler} ({exc}); check the address "
                "and that the cluster is running."
            ) from None
        with client:
            yield client
        return
    cluster = LocalCluster(
        n_workers=os.cpu_count() or 1,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        silence_logs=logging.ERROR,
        env={"OMP_NUM_THREADS": "1"},  # one core per worker, LightGBM included
    )
    with cluster, Client(cluster) as client:
        yield client


def _gather(
    client: Any, futures: list[Any], progress: Callable[[int, int | None], None], total: int
) -> list[Any]:
    """The futures' results in order; the first failure cancels the rest and is raised."""
    from distributed import as_completed

    done = 0
    try:
        for future in as_completed(futures):
            result = future.result()  # (raises the task's error, a ChurnInputError included)
            done += result[0]
            progress(done, total)
    except BaseException:
        client.cancel(futures)
        raise
    return [f.result()[1] for f in futures]


def _score_piece(
    artifact: Any,
    policy: dict[str, Any] | None,
    piece: Piece,
    out: str,
    copy: tuple[str, ...] = (),
    metadata: dict[str, str] | None = None,
) -> tuple[int, int]:
    score, _ = model_scoring(artifact, policy, copy)
    source = _source(piece, (artifact.id_column,) if artifact.id_column else ())
    rows = score_table(source, out, score, metadata=metadata)
    return rows, rows


def score(
    client: Any,
    artifact: Any,
    policy: dict[str, Any] | None,
    data: str,
    out: str | Path,
    progress: Callable[[int, int | None], None] = lambda done, total: None,
    copy: tuple[str, ...] = (),
    metadata: dict[str, str] | None = None,
) -> int:
    """Score ``data`` on the cluster into the Parquet dataset ``out`` (a folder of part files,
    replaced when it exists); returns the rows scored. ``copy`` and ``metadata`` as in
    :func:`churn.stream.model_scoring` and :func:`churn.stream.score_table` (every part file
    carries the metadata).

    A policy with a capacity ranks the whole batch at once, which the pieces cannot do
    apart: it is refused here (score with the local engine, which ranks every customer).
    """
    from churn.policy import capacity_of

    if policy is not None and capacity_of(policy) is not None:
        raise ChurnInputError(
            "A policy with a capacity ranks the whole batch at once, which --engine dask does "
            "not do yet; score with the local engine (it streams any number of rows)."
        )
    out = Path(out)
    if out.suffix.lower() in (*_CSV, ".xlsx"):
        raise ChurnInputError(
            f"--engine dask writes a Parquet dataset (a folder of part files); give --out a "
            f"name such as {out.with_suffix('.parquet').name}."
        )
    if not out.parent.is_dir():
        raise ChurnInputError(f"The folder {out.parent} does not exist; create it first.")
    if out.exists() and not out.is_dir():
        raise ChurnInputError(f"{out} is a file; give the name of a folder to write the parts to.")
    pieces = plan(data)
    total = sum(p.rows or 0 for p in pieces) or None
    temp = out.with_name(f".{out.name}.{uuid.uuid4().hex[:8]}.partial")
    temp.mkdir()
    try:
        model = client.scatter(artifact, broadcast=True, hash=False)  # once, not per task
        futures = [
            client.submit(
                _score_piece,
                model,
                policy,
                piece,
                str(temp / f"part.{i:05d}.parquet"),
                copy,
                metadata,
                pure=False,
            )
            for i, piece in enumerate(pieces)
        ]
        rows = sum(_gather(client, futures, progress, total))
        if out.exists():
            old = out.with_name(f".{out.name}.{uuid.uuid4().hex[:8]}.old")
            out.rename(old)
            temp.rename(out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            temp.rename(out)
    finally:
        shutil.rmtree(temp, ignore_errors=True)
    return rows


def _count_piece(
    artifact: Any,
    economics: Any,
    with_ids: bool,
    reference: dict[str, Any],
    piece: Piece,
) -> tuple[int, Any]:
    from churn.monitor import BatchCounts, count_batch
    from churn.stream import count_table

    source = _source(piece, (artifact.id_column,) if artifact.id_column else ())

    def counted(chunk: Any) -> Any:
        return count_batch(artifact, chunk, economics, with_ids=with_ids, reference=reference)

    counts = count_table(source, counted, BatchCounts.combine)
    return counts.rows, counts


def count(
    client: Any,
    artifact: Any,
    economics: Any,
    with_ids: bool,
    data: str,
    progress: Callable[[int, int | None], None] = lambda done, total: None,
) -> Any:
    """The :class:`churn.monitor.BatchCounts` of ``data``, counted piece by piece on the
    cluster and combined in input order (the report is then exactly the local one)."""
    from churn.drift import load_reference
    from churn.monitor import BatchCounts

    pieces = plan(data)
    total = sum(p.rows or 0 for p in pieces) or None
    reference = load_reference(artifact)
    model = client.scatter(artifact, broadcast=True, hash=False)
    futures = [
        client.submit(_count_piece, model, economics, with_ids, reference, piece, pure=False)
        for piece in pieces
    ]
    return BatchCounts.combine(_gather(client, futures, progress, total))
