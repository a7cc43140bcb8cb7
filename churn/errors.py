"""The one exception type for problems a user can fix."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["ChurnInputError", "damaged_file"]


class ChurnInputError(ValueError):
    """Bad input that the user can fix; the message is one sentence saying what to do.

    The command line prints it as ``error: <message>`` and exits with code 2;
    the app shows it as a sentence. Nothing else should ever reach a user as a
    traceback.
    """


@contextmanager
def damaged_file(name: str, where: str | Path) -> Iterator[None]:
    """Turn a failure to make sense of a stored file into one sentence naming it: the file
    is damaged, or is not what its name says (a :class:`ChurnInputError` passes as it is)."""
    try:
        yield
    except ChurnInputError:
        raise
    except _FILE_ERRORS + _lightgbm_error():
        raise ChurnInputError(
            f"{name} in {where} is damaged or not a model file; train the model again, or "
            "unzip it again if it came as a zip file."
        ) from None


_FILE_ERRORS = (ValueError, TypeError, KeyError, IndexError, AttributeError)


def _lightgbm_error() -> tuple[type[Exception], ...]:
    """LightGBM's error type, if LightGBM is loaded (it cannot be raised before it is; not
    importing it here keeps this module, and what reads model files, light)."""
    basic = sys.modules.get("lightgbm.basic")
    return (basic.LightGBMError,) if basic is not None else ()
