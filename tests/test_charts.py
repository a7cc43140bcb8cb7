"""Decide page charts: built once per economics, then only their policy data change."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from churn import charts
from app_pages.chart_data import arrow_datasets, with_dataset


def _curve(n: int = 50) -> pd.DataFrame:
    share = np.linspace(0.0, 1.0, n)
    profit = 30 * share - 25 * share**2
    return pd.DataFrame(
        {
            "share_targeted": share,
            "threshold": np.r_[np.inf, np.linspace(0.99, 0.01, n - 1)],
            "profit_per_customer": profit,
            "profit_per_customer_low": profit - 2,
            "profit_per_customer_high": profit + 2,
        }
    )


PROFITS = {"nobody": 0.0, "everybody": -3.5, "rule": 4.25, "model_best": 9.0, "chosen": 6.5}


def test_swapping_the_points_gives_the_chart_built_for_that_choice():
    curve = _curve()
    best = int(curve["profit_per_customer"].idxmax())
    built_once = charts.profit_curve_chart(curve, best, best).to_dict()
    for row in (0, 7, best, len(curve) - 1):
        swapped = with_dataset(
            built_once, charts.PROFIT_POINTS, charts.profit_points(curve, row, best)
        )
        assert swapped == charts.profit_curve_chart(curve, row, best).to_dict()


def test_swapping_the_bars_gives_the_chart_built_for_those_profits():
    other = PROFITS | {"chosen": -1.25, "everybody": math.nan}
    built_once = charts.comparison_chart(PROFITS).to_dict()
    swapped = with_dataset(built_once, charts.COMPARISON, charts.comparison_rows(other))
    assert swapped == charts.comparison_chart(other).to_dict()


def test_profit_points_are_the_chosen_and_best_rows():
    curve = _curve()
    points = charts.profit_points(curve, 3, 20)
    assert points == [
        {
            "share_targeted": curve["share_targeted"][20],
            "profit_per_customer": curve["profit_per_customer"][20],
            "point": "Best profit",
        },
        {
            "share_targeted": curve["share_targeted"][3],
            "profit_per_customer": curve["profit_per_customer"][3],
            "point": "Your policy",
        },
    ]


def test_comparison_rows_leave_out_what_is_not_possible_and_format_money():
    rows = charts.comparison_rows(PROFITS | {"everybody": math.nan, "chosen": -1234.5})
    assert [r["option"] for r in rows] == [
        "Your policy",
        "Model, best profit",
        "Readable rule, best",
        "Contact nobody",
    ]
    assert rows[0]["label"] == "-$1,234.50"
    assert rows[0]["profit"] == -1234.5


def test_with_dataset_leaves_the_cached_spec_alone():
    curve = _curve()
    spec = charts.profit_curve_chart(curve, 0, 1).to_dict()
    before = [dict(p) for p in spec["datasets"][charts.PROFIT_POINTS]]
    with_dataset(spec, charts.PROFIT_POINTS, charts.profit_points(curve, 5, 1))
    assert spec["datasets"][charts.PROFIT_POINTS] == before
    with pytest.raises(KeyError, match="no dataset named"):
        with_dataset(spec, "nope", [])


def test_arrow_datasets_carry_the_same_rows_and_swaps_stay_arrow():
    curve = _curve()
    spec = charts.profit_curve_chart(curve, 0, 1).to_dict()
    arrow = arrow_datasets(spec)
    assert {k: v.to_pylist() for k, v in arrow["datasets"].items()} == spec["datasets"]
    assert {k: v for k, v in arrow.items() if k != "datasets"} == {
        k: v for k, v in spec.items() if k != "datasets"
    }
    points = charts.profit_points(curve, 9, 1)
    swapped = with_dataset(arrow, charts.PROFIT_POINTS, points)
    assert swapped["datasets"][charts.PROFIT_POINTS] == pa.Table.from_pylist(points)
    assert swapped == arrow_datasets(charts.profit_curve_chart(curve, 9, 1).to_dict())


def test_points_that_are_not_finite_are_left_undrawn():
    curve = _curve()
    curve.loc[4, "profit_per_customer"] = np.nan
    points = charts.profit_points(curve, 4, 1)
    assert points[1]["profit_per_customer"] is None
    assert points[0]["profit_per_customer"] == curve["profit_per_customer"][1]


def test_rows_arrow_cannot_type_stay_records():
    spec = {"mark": "point", "datasets": {"mixed": [{"a": 1}, {"a": "x"}], "ok": [{"a": 1.5}]}}
    arrow = arrow_datasets(spec)
    assert arrow["datasets"]["mixed"] == [{"a": 1}, {"a": "x"}]
    assert arrow["datasets"]["ok"] == pa.Table.from_pylist([{"a": 1.5}])


def test_the_psi_chart_writes_long_feature_names_in_full():
    import pandas as pd

    features = pd.DataFrame(
        {
            "name": ["recent_price_increase_in_the_last_quarter"],
            "psi": [0.3],
            "status": ["significant"],
        }
    )
    spec = charts.psi_chart(features, 0.05).to_dict()
    limits = [
        layer["encoding"]["y"]["axis"]["labelLimit"]
        for layer in spec["layer"]
        if "axis" in layer.get("encoding", {}).get("y", {})
    ]
    assert limits and min(limits) >= 400


# ------------------------------------------------- Altair's global settings, several visitors
def test_the_pages_specs_hold_the_lock_streamlit_changes_altairs_settings_under() -> None:
    from streamlit.elements import vega_charts

    import app_pages.chart_data as chart_data

    assert chart_data.ALTAIR_LOCK is vega_charts._altair_globals_lock, (
        "Streamlit no longer has _altair_globals_lock: the pages' specs are not kept apart "
        "from another visitor's st.altair_chart any more; find what it locks now"
    )
    assert charts._lock is chart_data.ALTAIR_LOCK


def test_a_spec_waits_while_another_thread_has_altairs_settings_changed() -> None:
    """What ``st.altair_chart`` does for one visitor (another data transformer, under its
    lock) does not leak into the spec another visitor's page makes at the same time: the
    spec waits, and gets its data (a KeyError on ``datasets`` in the app before)."""
    import threading

    import altair as alt

    import app_pages.chart_data as chart_data

    alt.data_transformers.register("leave_data_out", lambda data, **_: {"name": "elsewhere"})
    chart = charts.comparison_chart(PROFITS)
    changed, made = threading.Event(), []

    def other_visitor() -> None:
        with chart_data.ALTAIR_LOCK, alt.data_transformers.enable("leave_data_out"):
            changed.set()
            done.wait(30)  # the spec must not be made meanwhile (set below)

    done = threading.Event()
    other = threading.Thread(target=other_visitor)
    other.start()
    changed.wait(5)
    maker = threading.Thread(target=lambda: made.append(charts.spec(chart)))
    maker.start()
    maker.join(0.3)
    assert not made  # still waiting for the other visitor's chart
    done.set()
    other.join()
    maker.join(10)
    (spec,) = made
    assert spec["datasets"] and alt.data_transformers.active == "default"
    assert arrow_datasets(spec)["datasets"]
