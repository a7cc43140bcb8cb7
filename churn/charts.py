"""Altair chart builders: pure functions, data in, chart out (no streamlit).

Colours are the Okabe-Ito palette, which stays distinguishable for the
common forms of colour blindness. Percentages and money are formatted for
people in axes and tooltips.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

__all__ = [
    "MODEL_COLOURS",
    "PALETTE",
    "gains_chart",
    "metric_intervals_chart",
    "reliability_chart",
]

#: Okabe-Ito, without yellow (too light on white).
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000"]
MODEL_COLOURS = alt.Scale(
    domain=["Churn model", "Logistic regression", "Readable rule"],
    range=["#0072B2", "#E69F00", "#009E73"],
)


def metric_intervals_chart(table: pd.DataFrame, metric_labels: list[str]) -> alt.Chart:
    """Point and 95% interval per model for each metric (one small panel per metric).

    ``table`` is :func:`churn.report.metrics_table` output.
    """
    data = table[table["metric_label"].isin(metric_labels)]
    base = alt.Chart(data).encode(
        y=alt.Y("model_label:N", title=None, sort=list(MODEL_COLOURS.domain)),
        color=alt.Color("model_label:N", scale=MODEL_COLOURS, legend=None),
        tooltip=[
            alt.Tooltip("model_label:N", title="Model"),
            alt.Tooltip("metric_label:N", title="Metric"),
            alt.Tooltip("value:Q", title="Value", format=".3f"),
            alt.Tooltip("low:Q", title="95% low", format=".3f"),
            alt.Tooltip("high:Q", title="95% high", format=".3f"),
            alt.Tooltip("better:N", title="Better when"),
        ],
    )
    rules = base.mark_rule(strokeWidth=2).encode(
        x=alt.X("low:Q", title=None, scale=alt.Scale(zero=False)), x2="high:Q"
    )
    points = base.mark_point(filled=True, size=70).encode(x="value:Q")
    return (
        (rules + points)
        .properties(width=200, height=90)
        .facet(
            facet=alt.Facet("metric_label:N", title=None, sort=metric_labels),
            columns=4,
        )
        .resolve_scale(x="independent")
    )


def reliability_chart(bins: pd.DataFrame) -> alt.LayerChart:
    """Predicted vs observed churn rate per probability bin, with Wilson 95% intervals.

    ``bins`` is :func:`churn.report.reliability_table` output.
    """
    diagonal = (
        alt.Chart(pd.DataFrame({"x": [0.0, 1.0], "y": [0.0, 1.0]}))
        .mark_line(strokeDash=[4, 4], color="#888888")
        .encode(x="x:Q", y="y:Q")
    )
    axis_x = alt.X(
        "mean_predicted:Q",
        title="Predicted churn probability",
        scale=alt.Scale(domain=[0, 1]),
        axis=alt.Axis(format="%"),
    )
    colour = alt.Color("model_label:N", scale=MODEL_COLOURS, title=None)
    tooltip = [
        alt.Tooltip("model_label:N", title="Model"),
        alt.Tooltip("mean_predicted:Q", title="Predicted", format=".1%"),
        alt.Tooltip("observed_rate:Q", title="Observed", format=".1%"),
        alt.Tooltip("observed_low:Q", title="Observed 95% low", format=".1%"),
        alt.Tooltip("observed_high:Q", title="Observed 95% high", format=".1%"),
        alt.Tooltip("n:Q", title="Customers", format=","),
    ]
    errors = (
        alt.Chart(bins)
        .mark_rule(opacity=0.6)
        .encode(x=axis_x, y="observed_low:Q", y2="observed_high:Q", color=colour)
    )
    line = (
        alt.Chart(bins)
        .mark_line(point=True)
        .encode(
            x=axis_x,
            y=alt.Y(
                "observed_rate:Q",
                title="Observed churn rate",
                scale=alt.Scale(domain=[0, 1]),
                axis=alt.Axis(format="%"),
            ),
            color=colour,
            tooltip=tooltip,
        )
    )
    return (diagonal + errors + line).properties(height=340).interactive()


def gains_chart(gains: pd.DataFrame) -> alt.LayerChart:
    """Cumulative gains: share of churners found vs share of customers contacted."""
    diagonal = (
        alt.Chart(pd.DataFrame({"x": [0.0, 1.0], "y": [0.0, 1.0]}))
        .mark_line(strokeDash=[4, 4], color="#888888")
        .encode(x="x:Q", y="y:Q")
    )
    line = (
        alt.Chart(gains)
        .mark_line()
        .encode(
            x=alt.X(
                "share_targeted:Q", title="Share of customers contacted", axis=alt.Axis(format="%")
            ),
            y=alt.Y("capture:Q", title="Share of churners found", axis=alt.Axis(format="%")),
            color=alt.Color("model_label:N", scale=MODEL_COLOURS, title=None),
            tooltip=[
                alt.Tooltip("model_label:N", title="Model"),
                alt.Tooltip("share_targeted:Q", title="Contacted", format=".1%"),
                alt.Tooltip("capture:Q", title="Churners found", format=".1%"),
                alt.Tooltip("lift:Q", title="Lift", format=".2f"),
            ],
        )
    )
    return (diagonal + line).properties(height=340)
