"""What every page shares: the cached model, the data source, and error display.

This module is UI glue only; every number comes from ``churn``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from churn.artifact import Artifact
from churn.data import read_table
from churn.errors import ChurnInputError
from churn.sample import SAMPLE_PATH
from churn.training import train


@st.cache_resource(show_spinner="Training the churn model on the sample data (a few seconds)...")
def sample_artifact() -> Artifact:
    """The model trained on the bundled sample; one shared, read-only object per server."""
    frame = read_table(SAMPLE_PATH)
    return train(frame, "churned", id_column="customer_id", source=SAMPLE_PATH.name)


def current_artifact() -> Artifact:
    """The model the session works with (the sample model until uploads arrive)."""
    return sample_artifact()


def show_input_error(action: Callable[[], Any]) -> Any:
    """Run ``action``; a :class:`ChurnInputError` becomes a sentence on screen, not a traceback."""
    try:
        return action()
    except ChurnInputError as exc:
        st.error(str(exc))
        st.stop()


def percent(x: float, digits: int = 1) -> str:
    return f"{x:.{digits}%}"
