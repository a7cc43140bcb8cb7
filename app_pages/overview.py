"""Can we rely on it? Data summary, model vs baselines with intervals, reliability."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from churn import charts, formatting, report
from churn.artifact import Artifact
from churn.formatting import percent
from app_pages.chart_data import arrow_datasets
from app_pages.common import current_artifact, model_cache


@model_cache(show_spinner=False, max_entries=4)
def _chart_specs(_artifact: Artifact, fingerprint: str) -> dict[str, dict]:
    """The landing page's charts as Vega-Lite specs, built (and validated) once per model."""
    table = report.metrics_table(_artifact)
    metrics = ["ROC-AUC", "PR-AUC", "Brier score", "Calibration error (ECE)"]
    return {
        "metrics": arrow_datasets(charts.spec(charts.metric_intervals_chart(table, metrics))),
        "gains_reliability": arrow_datasets(
            charts.spec(
                charts.gains_and_reliability_chart(
                    report.gains_table(_artifact), report.reliability_table(_artifact)
                )
            )
        ),
    }


artifact = current_artifact()
summary = report.data_summary(artifact)
verdict = report.verdict(artifact)

st.title("Can we rely on it?")
st.caption(
    "Every figure below is measured on a holdout of "
    f"{summary['holdout_rows']:,} customers that the model never saw while it was fitted or "
    "calibrated. Ranges are 95% bootstrap intervals."
)

for warning in artifact.info.warnings:
    st.warning(warning, icon=":material/warning:")
# Few, larger elements: each one costs the browser time to draw, and this is the first
# page every visitor sees.
(st.success if verdict["beats_rule"] else st.warning)(
    verdict["headline"] + "\n\n" + "\n".join(f"- {line}" for line in verdict["details"])
)

st.subheader("The data")
c1, c2, c3, c4 = st.columns(4)
c1.metric("Customers", f"{summary['rows']:,}")
c2.metric("Churn rate (base rate)", percent(summary["churn_rate"]))
c3.metric("Features", f"{summary['n_features']}")
c4.metric("Holdout customers", f"{summary['holdout_rows']:,}")
kinds = ", ".join(f"{n} {kind}" for kind, n in summary["features_by_kind"].items())
st.caption(
    f"Source: {summary['source']}. Target: `{summary['target']}` "
    f"(churned = `{summary['positive_label']}`). Features: {kinds}. "
    f"Fitted on {summary['fit_rows']:,} customers (a quarter of them held back to calibrate)."
)
if summary["sample"]:
    st.caption(summary["sample"])
left_out = artifact.info.left_out
if left_out:
    st.caption(
        "Left out by the data checks: "
        + "; ".join(f"`{column}` ({reason})" for column, reason in left_out.items())
        + ". The Use your own data page can put a column back."
    )

st.subheader("Model against simple baselines")
table = report.metrics_table(artifact)
specs = _chart_specs(artifact, artifact.fingerprint)
st.vega_lite_chart(spec=specs["metrics"], width="content")
st.caption(
    "Higher is better for ROC-AUC and PR-AUC; lower is better for the Brier score and ECE. "
    "The readable rule is a depth-2 tree anyone can apply by hand:"
)
st.text(artifact.info.rule_text)

# The detail tables are drawn only when their expander is opened (``on_change="rerun"``
# makes the open state known to the script): a closed expander's content would still be
# sent to, and drawn by, every new visitor's browser. Static ``st.table`` is cheaper to
# draw than the grid widget.
all_metrics = st.expander(
    "All metrics with intervals", key="overview_all_metrics", on_change="rerun"
)
if all_metrics.open:
    all_metrics.table(
        pd.DataFrame(
            {
                "Metric": table["metric_label"],
                "Model": table["model_label"],
                "Value": table["value"].map("{:.3f}".format),
                "95% interval": [
                    f"{lo:.3f} – {hi:.3f}"
                    for lo, hi in zip(table["low"], table["high"], strict=False)
                ],
                "Better when": table["better"],
            }
        ),
        hide_index=True,
    )

emp_details = st.expander(
    "Expected maximum profit (EMP) per customer", key="overview_emp", on_change="rerun"
)
if emp_details.open:
    emp = report.emp_table(artifact)
    emp_details.table(
        pd.DataFrame(
            {
                "Model": emp["model_label"],
                "Action": emp["action"],
                "EMP per customer": emp["emp"].map(lambda x: formatting.money(x, 2)),
                "Share contacted at the best threshold": emp["share_targeted"].map(percent),
            }
        ),
        hide_index=True,
    )
    emp_details.caption(
        "EMP (Verbraken et al. 2013): the profit per customer of each model's best threshold, "
        "averaged over an uncertain success rate (Beta distributed around the action's rate), "
        "with the average customer value of "
        f"{formatting.money(artifact.metrics['emp_customer_value'])}."
    )

st.subheader("Gains and reliability on the holdout")
st.vega_lite_chart(spec=specs["gains_reliability"])
interval = summary["interval"]
st.caption(
    "Left: contacting customers from the highest probability down, the share of all churners "
    "found (the dashed line is contacting at random). Right: points on the dashed line mean the "
    "stated probability matches what happened; vertical "
    "bars are 95% intervals of the observed rate. Each customer's probability also carries a "
    f"{interval['confidence']:.0%} interval: its median width is "
    f"{formatting.points(interval['median_width'])} percentage points, and one customer in ten has "
    f"an interval wider than {formatting.points(interval['p90_width'])} points (rare kinds of "
    "customers and rare score ranges)."
)

st.subheader("Model card")
card = report.model_card(artifact)
st.markdown(
    f"- **Predicts:** {card['predicts']}\n"
    f"- **For whom:** {card['for_whom']}\n"
    f"- **Model:** {card['model']}\n"
    f"- **Trained:** {card['trained_at'].replace('T', ' ')[:16]} UTC on {card['data']}\n"
    f"- **Fingerprint:** `{card['fingerprint']}`\n\n"
    "**Known limitations**\n\n" + "\n".join(f"- {line}" for line in card["limitations"])
)
