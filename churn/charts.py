"""Altair chart builders: pure functions, data in, chart out (no streamlit).

Colours are the Okabe-Ito palette, which stays distinguishable for the
common forms of colour blindness. Percentages and money are formatted for
people in axes and tooltips.
"""

from __future__ import annotations

import altair as alt
import numpy as np
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
        .properties(width=150, height=90)
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


def profit_curve_chart(
    curve: pd.DataFrame, chosen_row: int, best_row: int, money_label: str = "Profit per customer"
) -> alt.LayerChart:
    """Profit per customer against share contacted, with its 95% band and two marked points.

    ``curve`` is a :class:`churn.policy.Decision` curve (``share_targeted``,
    ``profit_per_customer`` and its ``_low``/``_high`` band).
    """
    data = curve[
        [
            "share_targeted",
            "threshold",
            "profit_per_customer",
            "profit_per_customer_low",
            "profit_per_customer_high",
        ]
    ].copy()
    # thin the line for the browser: at most ~600 points, keeping both ends
    if len(data) > 600:
        keep = np.unique(np.r_[np.linspace(0, len(data) - 1, 600).astype(int), len(data) - 1])
        data = data.iloc[keep]
    data["threshold"] = data["threshold"].where(np.isfinite(data["threshold"]))
    x = alt.X("share_targeted:Q", title="Share of customers contacted", axis=alt.Axis(format="%"))
    y_axis = alt.Axis(format="$,.0f")
    band = (
        alt.Chart(data)
        .mark_area(opacity=0.25, color=PALETTE[0])
        .encode(
            x=x,
            y=alt.Y("profit_per_customer_low:Q", title=money_label, axis=y_axis),
            y2="profit_per_customer_high:Q",
        )
    )
    line = (
        alt.Chart(data)
        .mark_line(color=PALETTE[0])
        .encode(
            x=x,
            y="profit_per_customer:Q",
            tooltip=[
                alt.Tooltip("share_targeted:Q", title="Contacted", format=".1%"),
                alt.Tooltip("threshold:Q", title="Cut-off probability", format=".3f"),
                alt.Tooltip("profit_per_customer:Q", title="Profit per customer", format="$,.2f"),
                alt.Tooltip("profit_per_customer_low:Q", title="95% low", format="$,.2f"),
                alt.Tooltip("profit_per_customer_high:Q", title="95% high", format="$,.2f"),
            ],
        )
    )
    zero = alt.Chart(pd.DataFrame({"y": [0.0]})).mark_rule(color="#888888").encode(y="y:Q")
    marks = pd.DataFrame(
        {
            "share_targeted": [
                curve["share_targeted"].iloc[best_row],
                curve["share_targeted"].iloc[chosen_row],
            ],
            "profit_per_customer": [
                curve["profit_per_customer"].iloc[best_row],
                curve["profit_per_customer"].iloc[chosen_row],
            ],
            "point": ["Best profit", "Your policy"],
        }
    )
    points = (
        alt.Chart(marks)
        .mark_point(filled=True, size=140)
        .encode(
            x="share_targeted:Q",
            y="profit_per_customer:Q",
            color=alt.Color(
                "point:N",
                scale=alt.Scale(
                    domain=["Your policy", "Best profit"], range=[PALETTE[3], PALETTE[2]]
                ),
                title=None,
            ),
            shape=alt.Shape(
                "point:N",
                scale=alt.Scale(domain=["Your policy", "Best profit"], range=["circle", "diamond"]),
                title=None,
            ),
            tooltip=[
                alt.Tooltip("point:N", title=""),
                alt.Tooltip("share_targeted:Q", title="Contacted", format=".1%"),
                alt.Tooltip("profit_per_customer:Q", title="Profit per customer", format="$,.2f"),
            ],
        )
    )
    return (band + zero + line + points).properties(height=340)


def comparison_chart(profits: dict[str, float]) -> alt.Chart:
    """Bars of profit per customer for the policy and its alternatives (from
    :func:`churn.policy.baseline_profits`)."""
    labels = {
        "chosen": "Your policy",
        "model_best": "Model, best profit",
        "rule": "Readable rule, best",
        "everybody": "Contact everybody",
        "nobody": "Contact nobody",
    }
    data = pd.DataFrame(
        {"option": [labels[k] for k in labels], "profit": [profits[k] for k in labels]}
    )
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            y=alt.Y("option:N", title=None, sort=list(labels.values())),
            x=alt.X("profit:Q", title="Profit per customer", axis=alt.Axis(format="$,.0f")),
            color=alt.condition(
                alt.datum.option == "Your policy", alt.value(PALETTE[3]), alt.value(PALETTE[0])
            ),
            tooltip=[
                alt.Tooltip("option:N", title=""),
                alt.Tooltip("profit:Q", title="Profit per customer", format="$,.2f"),
            ],
        )
        .properties(height=200)
    )
