"""Scoring and monitoring 10,000,000 customers: the local engine (chunks) and a local Dask
cluster of 2 worker processes.

The customers are drawn from the sample's process (:func:`churn.sample.generate_customers`,
the drifted "new" snapshot, in blocks with their own seeds) into a Parquet file of
250,000-row row groups, and (local engine) the same rows as CSV. Every run is the real
command line (``python -m churn score|monitor``) in a subprocess: rows per second are the
rows over its wall time (start-up, model loading and the cluster's start included), and
per CPU-second of all its processes (the work, whatever else the machine runs), and
peak memory is every process's kernel high-water mark (``VmHWM``): the command's and
the Dask workers', read every 0.1 s while they run.

Targets (issue 14): 10,000,000 rows scored with peak memory <= 1.5 GB, at >= 150,000 rows/s
on 2 cores; ``monitor`` both ways gives the same report.

Usage: ``python benchmarks/bench_scale.py [--rows N] [--no-csv]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from _common import emit, peak_memory_mb

ROOT = Path(__file__).resolve().parent.parent
TARGET_ROWS_PER_SECOND = 150_000
TARGET_PEAK_MB = 1_536
BLOCK = 500_000


def make_data(folder: Path, rows: int, csv: bool) -> tuple[Path, Path | None, float]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from churn.sample import generate_customers

    start = time.perf_counter()
    parquet, text = folder / "customers.parquet", folder / "customers.csv" if csv else None
    writer = None
    with open(text, "w", encoding="utf-8") if text else open(os.devnull, "w") as handle:
        for k, first in enumerate(range(0, rows, BLOCK)):
            n = min(BLOCK, rows - first)
            frame, _ = generate_customers(n, seed=1_000 + k, snapshot="new", id_offset=first)
            table = pa.Table.from_pandas(frame, preserve_index=False)
            writer = writer or pq.ParquetWriter(parquet, table.schema)
            writer.write_table(table, row_group_size=250_000)
            if text:
                frame.to_csv(handle, index=False, header=k == 0, lineterminator="\n")
    writer.close()
    return parquet, text, time.perf_counter() - start


def _high_water_mb(pid: int) -> float | None:
    """A process's peak resident memory so far (``VmHWM``), in MB."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def measured(args: list[str]) -> dict[str, object]:
    """Run ``python -m churn ARGS``: wall seconds and the peak memory of the command and of
    every process it started (the Dask nanny and workers), each its kernel high-water mark
    (``VmHWM``) read every 0.1 s until it exits."""
    import resource

    import psutil

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "churn", "--quiet", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    peaks: dict[int, float] = {}
    stop = threading.Event()

    def sample() -> None:
        try:
            parent = psutil.Process(process.pid)
        except psutil.Error:
            return
        while not stop.is_set():
            try:
                pids = [process.pid, *(c.pid for c in parent.children(recursive=True))]
            except psutil.Error:
                break
            for pid in pids:
                peak = _high_water_mb(pid)
                if peak is not None:
                    peaks[pid] = max(peaks.get(pid, 0.0), peak)
            stop.wait(0.1)

    watcher = threading.Thread(target=sample, daemon=True)
    watcher.start()
    out, err = process.communicate()
    seconds = time.perf_counter() - start
    stop.set()
    watcher.join()
    if process.returncode != 0:
        raise SystemExit(f"{args[0]} failed: {err.strip()}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    command = peaks.pop(process.pid, float("nan"))
    return {
        "seconds": round(seconds, 1),
        # every process's CPU time (workers included): the work, whatever the machine's load
        "cpu_seconds": round(cpu, 1),
        "command_peak_mb": round(command, 1),
        "other_processes_peak_mb": sorted(round(v, 1) for v in peaks.values()),
        "stdout": out.strip().splitlines()[0] if out.strip() else "",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--no-csv", action="store_true", help="skip the CSV input")
    options = parser.parse_args()
    rows = options.rows

    from churn.artifact import save_artifact
    from churn.checks import ColumnMapping
    from churn.data import read_table
    from churn.sample import SAMPLE_PATH
    from churn.training import train

    figures: dict[str, object] = {"rows": rows, "load_before": os.getloadavg()}
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMP")) as tmp:
        folder = Path(tmp)
        sample = read_table(SAMPLE_PATH)
        artifact = train(
            sample, ColumnMapping.for_table(sample, "churned", id_column="customer_id")
        )
        model = folder / "model"
        save_artifact(artifact, model)
        parquet, text, seconds = make_data(folder, rows, csv=not options.no_csv)
        figures["generate_seconds"] = round(seconds, 1)
        figures["parquet_mb"] = round(parquet.stat().st_size / 2**20, 1)
        runs = {
            "score_local_parquet": ["score", "--data", parquet, "--out", folder / "a.parquet"],
            "score_dask_parquet": [
                "score", "--data", parquet, "--out", folder / "b.parquet", "--engine", "dask",
            ],
            "monitor_local": ["monitor", "--data", parquet, "--out", folder / "local.json"],
            "monitor_dask": [
                "monitor", "--data", parquet, "--out", folder / "dask.json", "--engine", "dask",
            ],
        }  # fmt: skip
        if text is not None:
            figures["csv_mb"] = round(text.stat().st_size / 2**20, 1)
            runs["score_local_csv"] = ["score", "--data", text, "--out", folder / "c.csv"]
        for name, args in runs.items():
            result = measured([str(a) for a in (args[0], "--model", model, *args[1:])])
            result["rows_per_second"] = round(rows / result["seconds"])
            result["rows_per_cpu_second"] = round(rows / max(result["cpu_seconds"], 1e-9))
            figures[name] = result
            print(f"{name}: {result}", file=sys.stderr, flush=True)
        local = json.loads((folder / "local.json").read_text(encoding="utf-8"))
        dask = json.loads((folder / "dask.json").read_text(encoding="utf-8"))
        figures["monitor_reports_equal"] = local == dask
        import pandas as pd

        a = pd.read_parquet(folder / "a.parquet", columns=["customer_id", "churn_probability"])
        b = pd.read_parquet(folder / "b.parquet", columns=["customer_id", "churn_probability"])
        figures["dask_scores_equal_local"] = bool(
            a["customer_id"].equals(b["customer_id"])
            and (a["churn_probability"] - b["churn_probability"]).abs().max() <= 1e-12
        )
        del a, b
    local_score = figures["score_local_parquet"]
    figures.update(
        {
            "target_rows_per_second": TARGET_ROWS_PER_SECOND,
            "target_peak_mb": TARGET_PEAK_MB,
            "meets_target_local": local_score["rows_per_second"] >= TARGET_ROWS_PER_SECOND
            and local_score["command_peak_mb"] <= TARGET_PEAK_MB,
            "load_after": os.getloadavg(),
            "benchmark_process_peak_mb": round(peak_memory_mb(), 1),
        }
    )
    emit("scale", figures)


if __name__ == "__main__":
    main()
