"""Altair chart builders: pure functions, data in, chart out (no streamlit).

Colours are the Okabe-Ito palette, which stays distinguishable for the
common forms of colour blindness. Percentages and money are formatted for
people in axes and tooltips.
"""

from __future__ import annotations

import threading
from typing import Any

import altair as alt
import numpy as np
import pandas as pd

from churn.drift import MODERATE, SIGNIFICANT, psi_status
from churn.formatting import money

__all__ = [
    "COMPARISON",
    "DRIFT_COLOURS",
    "EFFECT_COLOURS",
    "MODEL_COLOURS",
    "PALETTE",
    "PROFIT_POINTS",
    "RANKING_COLOURS",
    "STATUS_COLOURS",
    "batch_calibration_chart",
    "comparison_chart",
    "comparison_rows",
    "drift_distribution_chart",
    "fairness_chart",
    "gains_and_reliability_chart",
    "gains_chart",
    "metric_intervals_chart",
    "profit_curve_chart",
    "profit_points",
    "psi_chart",
    "qini_chart",
    "reliability_chart",
    "shap_beeswarm_chart",
    "shap_dependence_chart",
    "shap_importance_chart",
    "shap_waterfall_chart",
    "spec",
    "use_lock",
    "what_if_chart",
]

#: Okabe-Ito, without yellow (too light on white).
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000"]
MODEL_COLOURS = alt.Scale(
    domain=["Churn model", "Logistic regression", "Readable rule"],
    range=["#0072B2", "#E69F00", "#009E73"],
)


# Altair's data transformer and theme are global to the process. A server that draws
# charts for several visitors at once may change them for one chart while another thread
# turns a chart into a spec (Streamlit's ``st.altair_chart`` does, under its own lock): that
# spec would then get the other's settings (its data left out, another theme). Every spec
# of this library is made under one lock, which the app replaces with Streamlit's.
_lock: Any = threading.Lock()


def use_lock(lock: Any) -> None:
    """Make :func:`spec` hold ``lock``: the one under which whoever else in the process
    changes Altair's global settings changes them (the app passes Streamlit's)."""
    global _lock
    _lock = lock


def spec(chart: alt.TopLevelMixin) -> dict[str, Any]:
    """``chart.to_dict()`` (validated), made while no other thread has Altair's global
    settings changed (:func:`use_lock`)."""
    with _lock:
        return chart.to_dict()


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
        .mark_rule(opacity=0.8, strokeWidth=2, clip=True)
        .encode(x=axis_x, y="observed_low:Q", y2="observed_high:Q", color=colour)
    )
    line = (
        alt.Chart(bins)
        .mark_line(point=True, clip=True)
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
    return (diagonal + errors + line).properties(height=340)


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


def gains_and_reliability_chart(gains: pd.DataFrame, bins: pd.DataFrame) -> alt.HConcatChart:
    """:func:`gains_chart` and :func:`reliability_chart` side by side, sharing one legend.

    One chart instead of two: the browser sets up one Vega view, which keeps the
    landing page quick to draw for a new visitor.
    """
    left = gains_chart(gains).properties(
        width=420, title="Who does it find? Churners found by share contacted"
    )
    right = reliability_chart(bins).properties(
        width=340, title="Does 30% mean 30%? Predicted vs observed churn"
    )
    return (
        alt.hconcat(left, right, spacing=48)
        .resolve_scale(color="shared")
        .configure_legend(orient="bottom")
        .configure_title(anchor="start", fontSize=14)
    )


#: Named datasets of the Decide page's charts: the parts that follow the chosen policy
#: (the page swaps only these when the policy moves).
PROFIT_POINTS = "profit_points"
COMPARISON = "profit_comparison"
_COMPARISON_LABELS = {
    "chosen": "Your policy",
    "model_best": "Model, best profit",
    "rule": "Readable rule, best",
    "everybody": "Contact everybody",
    "nobody": "Contact nobody",
}


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
    points = (
        alt.Chart(alt.NamedData(name=PROFIT_POINTS))
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
    return (band + zero + line + points).properties(
        height=340, datasets={PROFIT_POINTS: profit_points(curve, chosen_row, best_row)}
    )


def profit_points(curve: pd.DataFrame, chosen_row: int, best_row: int) -> list[dict]:
    """The two marked points of :func:`profit_curve_chart` (dataset ``PROFIT_POINTS``);
    a value that is not finite is ``None`` (not drawn), as Altair writes the other data."""
    return [
        {
            "share_targeted": _finite_or_none(curve["share_targeted"].iloc[row]),
            "profit_per_customer": _finite_or_none(curve["profit_per_customer"].iloc[row]),
            "point": point,
        }
        for point, row in (("Best profit", best_row), ("Your policy", chosen_row))
    ]


def _finite_or_none(x: float) -> float | None:
    x = float(x)
    return x if np.isfinite(x) else None


def comparison_chart(profits: dict[str, float]) -> alt.LayerChart:
    """Bars of profit per customer for the policy and its alternatives (from
    :func:`churn.policy.baseline_profits`)."""
    base = alt.Chart(alt.NamedData(name=COMPARISON)).encode(
        y=alt.Y("option:N", title=None, sort=list(_COMPARISON_LABELS.values())),
        x=alt.X("profit:Q", title="Profit per customer", axis=alt.Axis(format="$,.0f")),
        tooltip=[
            alt.Tooltip("option:N", title=""),
            alt.Tooltip("profit:Q", title="Profit per customer", format="$,.2f"),
        ],
    )
    bars = base.mark_bar().encode(
        color=alt.condition(
            alt.datum.option == "Your policy", alt.value(PALETTE[3]), alt.value(PALETTE[0])
        )
    )
    text = base.mark_text(align="left", dx=4, color="#333333").encode(text="label:N")
    return (bars + text).properties(height=200, datasets={COMPARISON: comparison_rows(profits)})


def comparison_rows(profits: dict[str, float]) -> list[dict]:
    """The bars of :func:`comparison_chart` (dataset ``COMPARISON``); options without a
    finite profit are left out."""
    return [
        {
            "option": label,
            "profit": float(profits[key]),
            "label": money(profits[key], 2),
        }
        for key, label in _COMPARISON_LABELS.items()
        if np.isfinite(profits[key])
    ]


# --------------------------------------------------------------------------- why? (SHAP)
#: Raises churn / lowers churn / totals, for SHAP contributions (Okabe-Ito).
EFFECT_COLOURS = alt.Scale(
    domain=["up", "down", "base", "total"],
    range=["#D55E00", "#0072B2", "#999999", "#000000"],
)
#: Low to high feature values: viridis, readable with colour blindness and never white.
_RANK_COLOURS = alt.Scale(domain=[0, 1], scheme="viridis")
#: What the beeswarm's colours mean, for captions (viridis runs from purple to yellow).
BEESWARM_COLOURS = (
    "yellow dots have a high value of the feature, purple a low one, grey a category or a "
    "missing value"
)


def shap_importance_chart(importance: pd.DataFrame) -> alt.Chart:
    """Average absolute effect of each feature on the churn probability, largest on top.

    ``importance`` is :func:`churn.explain.global_importance` output.
    """
    data = importance.assign(points=importance["mean_abs_points"] * 100.0)
    return (
        alt.Chart(data)
        .mark_bar(color=PALETTE[0])
        .encode(
            x=alt.X("points:Q", title="Average effect (percentage points)"),
            y=alt.Y("feature:N", title=None, sort="-x", axis=alt.Axis(labelLimit=220)),
            tooltip=[
                alt.Tooltip("feature:N", title="Feature"),
                alt.Tooltip("points:Q", title="Average |effect| (points)", format=".1f"),
                alt.Tooltip("mean_abs_shap:Q", title="Mean |SHAP| (log-odds)", format=".3f"),
            ],
        )
        .properties(height=alt.Step(22))
    )


def shap_beeswarm_chart(table: pd.DataFrame) -> alt.LayerChart:
    """One dot per customer and feature: its effect in points, coloured by the value's rank.

    ``table`` is :func:`churn.explain.beeswarm_table` output. Categories and
    missing values, which have no rank, are grey.
    """
    data = table.assign(effect=table["points"] * 100.0)
    order = data.sort_values("order")["feature"].drop_duplicates().tolist()
    base = alt.Chart(data).encode(
        x=alt.X("effect:Q", title="Effect on churn probability (percentage points)"),
        y=alt.Y("feature:N", title=None, sort=order, axis=alt.Axis(labelLimit=220)),
        yOffset=alt.YOffset("jitter:Q", scale=alt.Scale(domain=[-0.7, 0.7])),
        tooltip=[
            alt.Tooltip("feature:N", title="Feature"),
            alt.Tooltip("value:N", title="Value"),
            alt.Tooltip("effect:Q", title="Effect (points)", format="+.1f"),
        ],
    )
    ranked = (
        base.transform_filter("isValid(datum.value_rank)")
        .mark_circle(size=18, opacity=0.75)
        .encode(
            color=alt.Color(
                "value_rank:Q",
                scale=_RANK_COLOURS,
                title="Feature value",
                legend=alt.Legend(
                    values=[0, 1],
                    labelExpr="datum.value < 0.5 ? 'low' : 'high'",
                    gradientLength=120,
                ),
            )
        )
    )
    unranked = (
        base.transform_filter("!isValid(datum.value_rank)")
        .mark_circle(size=18, opacity=0.6)
        .encode(color=alt.value("#999999"))
    )
    zero = alt.Chart(pd.DataFrame({"x": [0.0]})).mark_rule(color="#555555").encode(x="x:Q")
    return (zero + unranked + ranked).properties(height=alt.Step(34))


def shap_dependence_chart(table: pd.DataFrame, feature: str, numeric: bool) -> alt.LayerChart:
    """A feature's value (x) against its effect on the churn probability (y), per customer.

    ``table`` is :func:`churn.explain.dependence_table` output; numbers are a
    scatter (missing values left out), categories a jittered strip per value.
    """
    data = table.assign(effect=table["points"] * 100.0)
    y = alt.Y("effect:Q", title="Effect on churn probability (points)")
    tooltip = [
        alt.Tooltip("category:N", title=feature),
        alt.Tooltip("effect:Q", title="Effect (points)", format="+.1f"),
    ]
    if numeric:
        points = (
            alt.Chart(data[~data["missing"]])
            .mark_circle(size=22, opacity=0.55, color=PALETTE[0])
            .encode(
                x=alt.X("number:Q", title=feature, scale=alt.Scale(zero=False)),
                y=y,
                tooltip=tooltip,
            )
        )
    else:
        points = (
            alt.Chart(data)
            .transform_calculate(jitter="random() - 0.5")
            .mark_circle(size=22, opacity=0.55, color=PALETTE[0])
            .encode(
                x=alt.X("category:N", title=feature, axis=alt.Axis(labelAngle=0, labelLimit=160)),
                xOffset=alt.XOffset("jitter:Q", scale=alt.Scale(domain=[-0.7, 0.7])),
                y=y,
                tooltip=tooltip,
            )
        )
    zero = alt.Chart(pd.DataFrame({"y": [0.0]})).mark_rule(color="#555555").encode(y="y:Q")
    return (zero + points).properties(height=320)


def shap_waterfall_chart(table: pd.DataFrame) -> alt.LayerChart:
    """From the typical customer's probability to this customer's, one bar per reason.

    ``table`` is :func:`churn.explain.waterfall_table` output. Vermillion (orange-red)
    bars raise the churn probability, blue bars lower it; grey and black are the totals.
    """
    data = table.assign(
        low=table[["start", "end"]].min(axis=1), high=table[["start", "end"]].max(axis=1)
    )
    order = data.sort_values("order")["step"].tolist()
    y = alt.Y("step:N", title=None, sort=order, axis=alt.Axis(labelLimit=320))
    bars = (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X("low:Q", title="Churn probability", axis=alt.Axis(format="%")),
            x2="high:Q",
            y=y,
            color=alt.Color("kind:N", scale=EFFECT_COLOURS, legend=None),
            tooltip=[
                alt.Tooltip("step:N", title="Step"),
                alt.Tooltip("text:N", title="Effect"),
                alt.Tooltip("start:Q", title="From", format=".1%"),
                alt.Tooltip("end:Q", title="To", format=".1%"),
            ],
        )
    )
    labels = (
        alt.Chart(data)
        .mark_text(align="left", dx=4, fontSize=12)
        .encode(x="high:Q", y=y, text="text:N")
    )
    return (bars + labels).properties(height=alt.Step(28))


def what_if_chart(result: dict, level: str = "90%") -> alt.LayerChart:
    """Churn probability with its interval before and after a what-if change.

    ``result`` is :func:`churn.explain.what_if` output; ``level`` names the interval's
    stated level (the model's ``confidence``, e.g. "90%").
    """
    data = pd.DataFrame(
        [
            {"when": label, **result[key]}
            for key, label in (("before", "Before"), ("after", "After the change"))
        ]
    )
    y = alt.Y("when:N", title=None, sort=["Before", "After the change"])
    colour = alt.Color(
        "when:N",
        scale=alt.Scale(domain=["Before", "After the change"], range=["#999999", PALETTE[0]]),
        legend=None,
    )
    tooltip = [
        alt.Tooltip("when:N", title=" "),
        alt.Tooltip("probability:Q", title="Churn probability", format=".1%"),
        alt.Tooltip("low:Q", title=f"{level} low", format=".1%"),
        alt.Tooltip("high:Q", title=f"{level} high", format=".1%"),
    ]
    rules = (
        alt.Chart(data)
        .mark_rule(strokeWidth=3)
        .encode(
            x=alt.X(
                "low:Q",
                title="Churn probability (95% interval)",
                axis=alt.Axis(format="%"),
                scale=alt.Scale(domain=[0, 1]),
            ),
            x2="high:Q",
            y=y,
            color=colour,
            tooltip=tooltip,
        )
    )
    points = (
        alt.Chart(data)
        .mark_point(filled=True, size=120)
        .encode(x="probability:Q", y=y, color=colour, tooltip=tooltip)
    )
    return (rules + points).properties(height=alt.Step(36))


# --------------------------------------------------------------------------- is it fair?
#: Verdict of a group under the four-fifths rule (see :mod:`churn.fairness`), Okabe-Ito.
STATUS_COLOURS = alt.Scale(
    domain=["reference", "ok", "could be chance", "flagged", "too few to judge", "n/a"],
    range=["#009E73", "#0072B2", "#E69F00", "#D55E00", "#999999", "#999999"],
)


def fairness_chart(
    table: pd.DataFrame, key: str, metric_label: str, four_fifths: float = 0.8
) -> alt.LayerChart:
    """A rate per group with its 95% interval, against the best-served group.

    ``table`` is :func:`churn.fairness.group_table` output and ``key`` one of its benefit
    rates (``selection_rate`` or ``recall``). The shaded band is below ``four_fifths``
    times the reference group's rate: a group whose point falls in it is under the
    four-fifths rule. Points are coloured by the group's verdict.
    """
    data = pd.DataFrame(
        {
            "group": table.index.astype(str),
            "rate": table[key].to_numpy(dtype=float),
            "low": table[f"{key}_low"].to_numpy(dtype=float),
            "high": table[f"{key}_high"].to_numpy(dtype=float),
            "ratio": table[f"{key}_ratio"].to_numpy(dtype=float),
            "customers": table[f"{key}_n"].to_numpy(dtype=int),
            "verdict": table[f"{key}_status"].astype(str).to_numpy(),
        }
    )
    order = list(data["group"])
    x = alt.X("group:N", title=None, sort=order, axis=alt.Axis(labelAngle=0))
    y_scale = alt.Scale(zero=True, nice=True)
    layers = []
    reference = data.loc[data["verdict"] == "reference", "rate"]
    if len(reference):
        best = float(reference.iloc[0])
        limits = pd.DataFrame(
            {"low": [0.0], "high": [four_fifths * best], "best": [best], "line": [four_fifths]}
        )
        layers.append(
            alt.Chart(limits)
            .mark_rect(color=PALETTE[3], opacity=0.08)
            .encode(
                y=alt.Y("low:Q", scale=y_scale),
                y2="high:Q",
                tooltip=[
                    alt.Tooltip("line:Q", title="Under this share of the best rate", format=".0%")
                ],
            )
        )
        layers.append(
            alt.Chart(limits).mark_rule(strokeDash=[4, 4], color="#555555").encode(y="best:Q")
        )
    tooltip = [
        alt.Tooltip("group:N", title="Group"),
        alt.Tooltip("rate:Q", title=metric_label, format=".1%"),
        alt.Tooltip("low:Q", title="95% low", format=".1%"),
        alt.Tooltip("high:Q", title="95% high", format=".1%"),
        alt.Tooltip("ratio:Q", title="Ratio to the best-served", format=".2f"),
        alt.Tooltip("customers:Q", title="Counted", format=","),
        alt.Tooltip("verdict:N", title="Verdict"),
    ]
    base = alt.Chart(data).encode(x=x, tooltip=tooltip)
    layers.append(
        base.mark_rule(strokeWidth=2, color="#555555").encode(
            y=alt.Y("low:Q", scale=y_scale), y2="high:Q"
        )
    )
    layers.append(
        base.mark_point(filled=True, size=110, opacity=1).encode(
            y=alt.Y("rate:Q", title=metric_label, scale=y_scale, axis=alt.Axis(format="%")),
            color=alt.Color("verdict:N", scale=STATUS_COLOURS, title="Verdict"),
        )
    )
    return alt.layer(*layers).properties(height=280)


# ----------------------------------------------------------------------------- monitoring
#: Drift status colours (Okabe-Ito): green, orange, vermillion.
DRIFT_COLOURS = alt.Scale(
    domain=["stable", "moderate", "significant"], range=["#009E73", "#E69F00", "#D55E00"]
)
#: Training reference against the new batch.
BATCH_COLOURS = alt.Scale(domain=["Training reference", "New batch"], range=["#0072B2", "#E69F00"])


def psi_chart(features: pd.DataFrame, score_psi: float | None = None) -> alt.LayerChart:
    """PSI per feature (most drifted on top), coloured by status, with the 0.1 and 0.25 bands.

    ``features`` is :attr:`churn.drift.Drift.features` (``name``, ``psi``, ``status``);
    with ``score_psi`` the churn score is added as a bar of its own.
    """
    data = features[["name", "psi", "status"]].copy()
    if score_psi is not None:
        score = {"name": "churn score", "psi": score_psi, "status": psi_status(score_psi)}
        data = pd.concat([pd.DataFrame([score]), data], ignore_index=True)
    data = data.sort_values("psi", ascending=False, kind="stable")
    # long feature names are written out in full (the default cut them at 180 pixels)
    y = alt.Y("name:N", title=None, sort=list(data["name"]), axis=alt.Axis(labelLimit=400))
    bars = (
        alt.Chart(data)
        .mark_bar()
        .encode(
            y=y,
            x=alt.X("psi:Q", title="Population Stability Index (PSI)"),
            color=alt.Color("status:N", scale=DRIFT_COLOURS, title="Drift"),
            tooltip=[
                alt.Tooltip("name:N", title="Feature"),
                alt.Tooltip("psi:Q", title="PSI", format=".3f"),
                alt.Tooltip("status:N", title="Drift"),
            ],
        )
    )
    bands = (
        alt.Chart(pd.DataFrame({"psi": [MODERATE, SIGNIFICANT]}))
        .mark_rule(strokeDash=[4, 4], color="#888888")
        .encode(x="psi:Q")
    )
    return (bars + bands).properties(height=alt.Step(20))


def drift_distribution_chart(distribution: pd.DataFrame, feature: str) -> alt.Chart:
    """Share of customers per bin, training reference next to the new batch, for one feature.

    ``distribution`` is :attr:`churn.drift.Drift.distributions` (``feature``, ``bin``,
    ``order``, ``reference``, ``new``; shares in [0, 1]).
    """
    rows = distribution[distribution["feature"] == feature].sort_values("order")
    data = rows.melt(
        id_vars=["bin", "order"],
        value_vars=["reference", "new"],
        var_name="which",
        value_name="share",
    )
    data["which"] = data["which"].map({"reference": "Training reference", "new": "New batch"})
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X("bin:N", title=feature, sort=list(rows["bin"]), axis=alt.Axis(labelAngle=-30)),
            xOffset=alt.XOffset("which:N", sort=list(BATCH_COLOURS.domain)),
            y=alt.Y("share:Q", title="Share of customers", axis=alt.Axis(format="%")),
            color=alt.Color("which:N", scale=BATCH_COLOURS, title=None),
            tooltip=[
                alt.Tooltip("bin:N", title=feature),
                alt.Tooltip("which:N", title=" "),
                alt.Tooltip("share:Q", title="Share", format=".1%"),
            ],
        )
        .properties(height=300)
    )


def batch_calibration_chart(deciles: pd.DataFrame) -> alt.LayerChart:
    """Predicted against observed churn rate by probability decile on a batch, with Wilson 95%
    intervals: :func:`reliability_chart` for the churn model alone (no legend).

    ``deciles`` is :func:`churn.monitor.calibration_deciles` output.
    """
    return reliability_chart(deciles).configure_legend(disable=True)


# ----------------------------------------------------------------------------- campaign
#: Targeting rules of the campaign's holdout comparison (labels of
#: :data:`churn.campaign_report.RANKING_LABELS`).
RANKING_COLOURS = alt.Scale(
    domain=["By measured uplift", "By churn risk", "At random"],
    range=["#0072B2", "#E69F00", "#777777"],
)


def qini_chart(frame: pd.DataFrame) -> alt.LayerChart:
    """Customers kept per 1,000 customers against the share contacted, one line per
    targeting rule, each with its 95% bootstrap band.

    ``frame`` is :func:`churn.campaign_report.qini_frame` output (``ranking``, ``share``,
    ``kept``, ``low``, ``high``). The random line is dashed.
    """
    x = alt.X("share:Q", title="Share of customers contacted", axis=alt.Axis(format="%"))
    colour = alt.Color("ranking:N", scale=RANKING_COLOURS, title=None)
    base = alt.Chart(frame)
    band = base.mark_area(opacity=0.1).encode(
        x=x,
        y=alt.Y("low:Q"),
        y2="high:Q",
        color=alt.Color("ranking:N", scale=RANKING_COLOURS, legend=None),
    )
    line = base.mark_line(strokeWidth=2.5).encode(
        x=x,
        y=alt.Y("kept:Q", title="Customers kept per 1,000 customers"),
        color=colour,
        strokeDash=alt.condition(
            alt.datum.ranking == "At random", alt.value([5, 4]), alt.value([1, 0])
        ),
        tooltip=[
            alt.Tooltip("ranking:N", title="Targeting"),
            alt.Tooltip("share:Q", title="Contacted", format=".0%"),
            alt.Tooltip("kept:Q", title="Kept per 1,000", format=",.1f"),
            alt.Tooltip("low:Q", title="95% low", format=",.1f"),
            alt.Tooltip("high:Q", title="95% high", format=",.1f"),
        ],
    )
    zero = alt.Chart(pd.DataFrame({"y": [0.0]})).mark_rule(color="#999999").encode(y="y:Q")
    return alt.layer(band, zero, line).properties(height=340).configure_legend(orient="bottom")
