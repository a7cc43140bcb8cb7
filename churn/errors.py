"""The one exception type for problems a user can fix."""

from __future__ import annotations

__all__ = ["ChurnInputError"]


class ChurnInputError(ValueError):
    """Bad input that the user can fix; the message is one sentence saying what to do.

    The command line prints it as ``error: <message>`` and exits with code 2;
    the app shows it as a sentence. Nothing else should ever reach a user as a
    traceback.
    """
