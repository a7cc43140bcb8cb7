"""Slow, independent work that runs beside the other tests, on the machine's second core.

A test module may define ``start_beside()``: ``conftest.py`` calls it once, right after
collection, when one of the module's tests is selected. It starts the work (a process, or
a thread that mostly waits on other processes) and returns the job; the module's tests
then wait for the job's :meth:`result`. Everything else in the session runs one test at a
time, so this is where the second core goes. ``stop()`` is called at the session's end: it
ends work still running when the session ended early (``-x``, Ctrl-C).

Work that needs a session fixture (a trained model) cannot start that early:
:func:`start_with_module` starts it when its module starts instead, so it runs beside the
module's other tests.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest


class ProcessJob:
    """``args + [OUT.json]`` in a process of its own; its result is what it wrote to OUT."""

    def __init__(self, args: list[str], cwd: Path) -> None:
        handle, name = tempfile.mkstemp(prefix="churn-tests-", suffix=".json")
        os.close(handle)
        self._out = Path(name)
        self._log = tempfile.TemporaryFile("w+")  # noqa: SIM115  (closed by stop())
        self._process = subprocess.Popen(
            [*args, name], cwd=cwd, stdout=self._log, stderr=subprocess.STDOUT, text=True
        )

    def result(self, timeout: float = 1800) -> Any:
        """What the process wrote; it is killed when it runs past ``timeout`` seconds."""
        if self._log.closed:  # stopped: after a timeout, or at the session's end
            raise RuntimeError(f"{self._process.args} was stopped before it finished")
        try:
            code = self._process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            raise TimeoutError(f"{self._process.args} still running after {timeout} s") from None
        if code != 0:
            self._log.seek(0)
            raise RuntimeError(
                f"{self._process.args} failed (exit {self._process.returncode}):\n"
                f"{self._log.read()[-4000:]}"
            )
        return json.loads(self._out.read_text(encoding="utf-8"))

    def stop(self) -> None:
        if self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        self._log.close()
        self._out.unlink(missing_ok=True)


class ThreadJob:
    """``work(job)`` in a thread; its result is what ``work`` returns, or what it raised.

    ``work`` registers with :meth:`on_stop` how to end what it started (a server, say), for
    a session that ends before the work does.
    """

    def __init__(self, work: Callable[[ThreadJob], Any], name: str) -> None:
        self._value: Any = None
        self._error: BaseException | None = None
        self._cleanups: list[Callable[[], None]] = []
        self._thread = threading.Thread(target=self._run, args=(work,), name=name, daemon=True)
        self._thread.start()

    def _run(self, work: Callable[[ThreadJob], Any]) -> None:
        try:
            self._value = work(self)
        except BaseException as exc:  # re-raised in the test by result()
            self._error = exc

    def on_stop(self, cleanup: Callable[[], None]) -> None:
        self._cleanups.append(cleanup)

    def result(self, timeout: float | None = None) -> Any:
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise TimeoutError(f"{self._thread.name} still running after {timeout} s")
        if self._error is not None:
            raise self._error
        return self._value

    def stop(self) -> None:
        if self._thread.is_alive():
            for cleanup in reversed(self._cleanups):
                cleanup()
            self._thread.join(10)


def start_with_module(fixture: str) -> Any:
    """An autouse module fixture that sets up ``fixture`` (one that starts processes and
    returns them, not their results) before the module's first test, when a selected test
    of the module uses it; assign it to a module-level name."""

    @pytest.fixture(scope="module", autouse=True)
    def _start_with_module(request: pytest.FixtureRequest) -> None:
        needed = any(
            fixture in getattr(item, "fixturenames", ())
            for item in request.session.items
            if getattr(item, "module", None) is request.module
        )
        if needed:
            request.getfixturevalue(fixture)

    return _start_with_module
