"""How the pages hand Vega-Lite charts to Streamlit: datasets as Arrow tables, swapped by name.

The chart builders live in :mod:`churn.charts` (pure Altair, no Streamlit); this module is
about Streamlit's transport of their data, so it sits with the pages.
"""

from __future__ import annotations

import threading

import pyarrow as pa

from churn import charts

__all__ = ["ALTAIR_LOCK", "arrow_datasets", "with_dataset"]


def _streamlits_altair_lock() -> threading.Lock:
    """The lock under which ``st.altair_chart`` changes Altair's global settings (its data
    transformer and theme) while it turns a chart into a spec; a private name of
    Streamlit's, so a version without it gets a lock of ours (``tests/test_charts.py``
    fails then, to say the specs are no longer kept apart from its charts)."""
    try:
        from streamlit.elements.vega_charts import _altair_globals_lock
    except ImportError:  # pragma: no cover - another Streamlit
        return threading.Lock()
    return _altair_globals_lock


#: Held by every spec the pages make (:func:`churn.charts.spec`): another visitor's
#: ``st.altair_chart`` cannot change Altair's settings while one is made.
ALTAIR_LOCK = _streamlits_altair_lock()
charts.use_lock(ALTAIR_LOCK)


def arrow_datasets(spec: dict) -> dict:
    """``spec`` (a chart's ``to_dict()``) with its named datasets as Arrow tables.

    Streamlit sends a chart's datasets to the browser in Arrow form; handed Arrow tables
    it has nothing to convert (0.1 ms instead of 7 to 10 ms for the profit curve's 600
    rows), which matters for a spec that is built once and sent on every rerun.
    """
    return {**spec, "datasets": {k: _arrow(rows) for k, rows in spec["datasets"].items()}}


def _arrow(rows: list[dict]) -> pa.Table | list[dict]:
    """Rows as an Arrow table; rows Arrow cannot type (a column mixing text and numbers)
    stay records, which Streamlit converts itself."""
    try:
        return pa.Table.from_pylist(rows)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return rows


def with_dataset(spec: dict, name: str, records: list[dict]) -> dict:
    """``spec`` (a chart's ``to_dict()``) with its named dataset ``name`` replaced.

    The Decide page builds (and validates) its charts once per model and economics and
    then only swaps the data that follow the chosen policy: a threshold move then costs
    no chart building on the server, and the browser can update the view in place.
    ``spec`` itself is left unchanged. The new data take the form of the old (Arrow
    table after :func:`arrow_datasets`, else records).
    """
    if name not in spec.get("datasets", {}):
        raise KeyError(f"the chart has no dataset named {name!r}")
    data = _arrow(records) if isinstance(spec["datasets"][name], pa.Table) else records
    return {**spec, "datasets": {**spec["datasets"], name: data}}
