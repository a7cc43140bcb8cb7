"""Helpers for the command-line tests (``test_cli*.py``): run ``churn.cli.main`` in-process
or ``python -m churn`` for real, write tables, read what the commands wrote.

The trained models these tests share are fixtures in ``conftest.py``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

import pandas as pd
import pytest

from churn.artifact import fingerprint_of
from churn.cli import main

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "sample_customers.csv"
NEW_BATCH = ROOT / "data" / "sample_new_batch.csv"


def run(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str, str]:
    """``main(["--quiet", *args])`` in this process -> (exit code, stdout, stderr)."""
    capsys.readouterr()
    code = main(["--quiet", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def ok(capsys: pytest.CaptureFixture[str], *args: object) -> str:
    """Run, expect exit 0 and nothing on stderr; returns stdout."""
    code, out, err = run(capsys, *args)
    assert code == 0, err
    assert err == ""
    return out


def one_error_line(code: int, err: str, expected_code: int = 2) -> str:
    """``err`` is exactly one ``error:`` line (never a traceback) and the code is as expected."""
    assert code == expected_code, err
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, f"stderr should be one line, got {err!r}"
    assert lines[0].startswith("error: ")
    return lines[0]


def error(capsys: pytest.CaptureFixture[str], *args: object) -> str:
    """Run, expect exit 2, nothing on stdout and one ``error:`` line on stderr; returns it."""
    code, out, err = run(capsys, *args)
    assert out == ""
    return one_error_line(code, err)


def start_command(*args: object, cwd: Path = ROOT) -> subprocess.Popen[str]:
    """The real ``python -m churn *args`` (without ``CHURN_DEBUG``), started, not awaited:
    start several, then :func:`finish` them, and they run side by side."""
    env = {k: v for k, v in os.environ.items() if k != "CHURN_DEBUG"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return subprocess.Popen(
        [sys.executable, "-m", "churn", *map(str, args)],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def stop(processes: Iterable[subprocess.Popen[str]]) -> None:
    """Kill the processes still running (a fixture's teardown: a test that failed before
    :func:`finish` leaves nothing behind)."""
    processes = list(processes)
    for process in processes:
        if process.poll() is None:
            process.kill()
    for process in processes:
        with contextlib.suppress(ValueError):  # (output that is not text: the run failed)
            process.communicate()


def finish(process: subprocess.Popen[str], timeout: float = 120) -> subprocess.CompletedProcess:
    """Wait for a :func:`start_command` process; its exit code, stdout and stderr."""
    out, err = process.communicate(timeout=timeout)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def write_table(folder: Path, name: str, frame: pd.DataFrame) -> Path:
    """``frame`` written to ``folder / name`` (Parquet for ``.parquet``, else CSV), no index."""
    path = folder / name
    if path.suffix == ".parquet":
        frame.to_parquet(path, index=False)
    else:
        frame.to_csv(path, index=False)
    return path


def read_scores(path: Path) -> pd.DataFrame:
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    return pd.read_csv(path)


def read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def fingerprint(model: Path) -> str:
    """The fingerprint a model directory's manifest records."""
    return read_json(model / "manifest.json")["fingerprint"]


def forge(model: Path, folder: Path, name: str, change, suffix: str = "") -> Path:
    """A copy of ``model`` whose file ``name`` is replaced by ``change(bytes)``, its sha256
    re-entered in the manifest with the fingerprint, so that the hash check passes."""
    copy = folder / f"forged-{name}{suffix}"
    shutil.copytree(model, copy)
    data = change((copy / name).read_bytes())
    (copy / name).write_bytes(data)
    manifest = json.loads((copy / "manifest.json").read_text(encoding="utf-8"))
    manifest["files"][name] = hashlib.sha256(data).hexdigest()
    manifest["fingerprint"] = fingerprint_of(manifest["files"])
    (copy / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return copy
