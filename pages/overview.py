"""Can we rely on it? Data summary, model vs baselines with intervals, reliability."""

from __future__ import annotations

import streamlit as st

from churn import charts, report
from churn.report import percent
from pages.common import current_artifact

artifact = current_artifact()
summary = report.data_summary(artifact)
verdict = report.verdict(artifact)

st.title("Can we rely on it?")
st.caption(
    "Every figure below is measured on a holdout of "
    f"{summary['holdout_rows']:,} customers that the model never saw while it was fitted or "
    "calibrated. Ranges are 95% bootstrap intervals."
)

(st.success if verdict["beats_rule"] else st.warning)(verdict["headline"])
for line in verdict["details"]:
    st.markdown(f"- {line}")

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

st.subheader("Model against simple baselines")
table = report.metrics_table(artifact)
st.altair_chart(
    charts.metric_intervals_chart(
        table, ["ROC-AUC", "PR-AUC", "Brier score", "Calibration error (ECE)"]
    ),
    width="content",
)
st.caption("Higher is better for ROC-AUC and PR-AUC; lower is better for the Brier score and ECE.")
st.markdown("**The readable rule** (a depth-2 tree anyone can apply by hand):")
st.code(artifact.info["rule_text"], language="text")

with st.expander("All metrics with intervals"):
    shown = table.assign(
        interval=table.apply(lambda r: f"{r['low']:.3f} – {r['high']:.3f}", axis=1)
    )[["metric_label", "model_label", "value", "interval", "better"]]
    st.dataframe(
        shown.rename(
            columns={
                "metric_label": "Metric",
                "model_label": "Model",
                "value": "Value",
                "interval": "95% interval",
                "better": "Better when",
            }
        ),
        hide_index=True,
        column_config={"Value": st.column_config.NumberColumn(format="%.3f")},
    )

with st.expander("Expected maximum profit (EMP) per customer"):
    emp = report.emp_table(artifact)
    st.dataframe(
        emp.rename(
            columns={
                "model_label": "Model",
                "action": "Action",
                "emp": "EMP per customer",
                "share_targeted": "Share contacted at the best threshold",
            }
        ),
        hide_index=True,
        column_config={
            "EMP per customer": st.column_config.NumberColumn(format="$%.2f"),
            "Share contacted at the best threshold": st.column_config.NumberColumn(
                format="percent"
            ),
        },
    )
    st.caption(
        "EMP (Verbraken et al. 2013): the profit per customer of each model's best threshold, "
        "averaged over an uncertain success rate (Beta distributed around the action's rate), "
        "with the average customer value of "
        f"{report.money(artifact.metrics['emp_customer_value'])}."
    )

st.subheader("Who does it find? Cumulative gains on the holdout")
st.altair_chart(charts.gains_chart(report.gains_table(artifact)), width="stretch")
st.caption(
    "Contacting customers from the highest probability down: the share of all churners found "
    "(the dashed line is contacting at random)."
)

st.subheader("Does 30% mean 30%? Reliability on the holdout")
st.altair_chart(charts.reliability_chart(report.reliability_table(artifact)))
interval = summary["interval"]
st.caption(
    "Points on the dashed line mean the stated probability matches what happened; vertical "
    "bars are 95% intervals of the observed rate. Each customer's probability also carries a "
    f"{interval['confidence']:.0%} interval: its median width is "
    f"{interval['median_width'] * 100:.0f} percentage points, and one customer in ten has an "
    f"interval wider than {interval['p90_width'] * 100:.0f} points (rare kinds of customers "
    "and rare score ranges)."
)

st.subheader("Model card")
card = report.model_card(artifact)
st.markdown(
    f"- **Predicts:** {card['predicts']}\n"
    f"- **For whom:** {card['for_whom']}\n"
    f"- **Model:** {card['model']}\n"
    f"- **Trained:** {card['trained_at'].replace('T', ' ')[:16]} UTC on {card['data']}\n"
    f"- **Fingerprint:** `{card['fingerprint']}`"
)
st.markdown("**Known limitations**")
st.markdown("\n".join(f"- {line}" for line in card["limitations"]))
