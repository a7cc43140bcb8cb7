"""How the pages hand Vega-Lite charts to Streamlit: datasets as Arrow tables, swapped by name.

The chart builders live in :mod:`churn.charts` (pure Altair, no Streamlit); this module is
about Streamlit's transport of their data, so it sits with the pages.
"""

from __future__ import annotations

import pyarrow as pa

__all__ = ["arrow_datasets", "with_dataset"]


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
