"""Is it still working? A new batch against the training data: drift, estimated results,
calibration when labels exist, and the model's age."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from churn import charts, monitor
from churn.drift import MODERATE, SIGNIFICANT
from churn.formatting import money, percent
from churn.policy import REVIEW_AFTER_DAYS
from app_pages.common import (
    churn_policy_note,
    current_artifact,
    current_monitor_report,
    show_input_error,
    using_upload,
)

artifact = current_artifact()

st.title("Is it still working?")
if churn_policy_note():
    st.info(churn_policy_note(), icon=":material/science:")
st.caption(
    "A batch of customers compared with the customers the model was trained on: which features "
    "have shifted (Population Stability Index), what the current policy should achieve on them "
    "according to the model's own probabilities, and, when the batch says who churned, what it "
    "actually achieved."
)

SOURCES = [
    "Your uploaded table (the current base)"
    if using_upload()
    else "The latest snapshot (the current base)",
    "Upload a file",
]
source = st.radio("Batch", SOURCES, horizontal=True, key="monitor_source")
upload = None
if source == SOURCES[1]:
    uploaded = st.file_uploader(
        "A CSV or Parquet file with the model's columns (and, optionally, who churned)",
        type=["csv", "tsv", "txt", "parquet", "pq"],
        key="monitor_upload",
    )
    if uploaded is None:
        st.info("Upload a batch of customers to compare it with the training data.")
        st.stop()
    upload = (uploaded.name, uploaded.getvalue())
report = show_input_error(lambda: current_monitor_report(upload))  # bad file: a sentence
drift = report.drift
stale = report.staleness

# ---------------------------------------------------------------- status
show = {"stable": st.success, "moderate": st.info, "significant": st.warning}[report.status]
show(monitor.headline(report), icon=":material/monitor_heart:")
c1, c2, c3, c4 = st.columns(4)
c1.metric("Customers in the batch", f"{drift.rows:,}")
c2.metric("Churn score PSI", f"{drift.score_psi:.3f}", help=f"{drift.score_status}")
c3.metric("Model age", f"{stale['age_days']} days", help=f"Trained {stale['trained_at']} UTC")
c4.metric(
    "Review by",
    stale["review_by"],
    help=f"{REVIEW_AFTER_DAYS} days after training; a policy exported from the Export page has "
    f"its own review date, {REVIEW_AFTER_DAYS} days after its export (the command line's monitor "
    "uses it with --policy).",
)
if stale["overdue"]:
    st.warning(f"The review date {stale['review_by']} has passed; retrain and review the policy.")

# ---------------------------------------------------------------- drift table
st.subheader("Which features have shifted")
table = report.feature_table()
# a change in a share is a difference in percentage points, not a percentage
table = table.assign(missing_change=table["missing_change"] * 100)
st.dataframe(
    table[
        [
            "name",
            "psi",
            "status",
            "missing_reference",
            "missing_new",
            "missing_change",
            "new_categories",
        ]
    ],
    hide_index=True,
    width="stretch",
    column_config={
        "name": "Feature",
        "psi": st.column_config.NumberColumn("PSI", format="%.3f"),
        "status": "Drift",
        "missing_reference": st.column_config.NumberColumn("Missing (training)", format="percent"),
        "missing_new": st.column_config.NumberColumn("Missing (batch)", format="percent"),
        "missing_change": st.column_config.NumberColumn(
            "Missing change", format="%+.1f points", help="Batch minus training, in points"
        ),
        "new_categories": "New values (share of batch)",
    },
)
st.caption(
    f"Most drifted first. PSI below {MODERATE:g} is stable, {MODERATE:g} to "
    f"{SIGNIFICANT:g} moderate, above {SIGNIFICANT:g} significant. The overall "
    "status is the worst of the churn score's and every feature's."
)
st.altair_chart(charts.psi_chart(drift.features, drift.score_psi), width="stretch")

st.markdown("**Training reference against the batch**")
options = [*drift.features["name"], "churn_probability"]
feature = st.selectbox(
    "Feature",
    options,
    format_func=lambda c: "churn score (probability)" if c == "churn_probability" else c,
    key="monitor_feature",
)
st.altair_chart(charts.drift_distribution_chart(drift.distributions, feature), width="stretch")

# ---------------------------------------------------------------- performance
st.subheader("What the current policy should achieve on this batch")
perf = report.performance_table()
realised = "realised" in perf.columns


def _shown(metric: str, x: float) -> str:
    return money(x, 2) if metric == "profit_per_customer" else percent(x)


shown = pd.DataFrame(
    {
        "Metric": perf["label"],
        "Estimated from the probabilities": [
            _shown(m, x) for m, x in zip(perf["metric"], perf["estimated"], strict=True)
        ],
    }
)
if realised:
    shown["Realised (labels)"] = [
        _shown(m, x) for m, x in zip(perf["metric"], perf["realised"], strict=True)
    ]
    shown["Realised − estimated"] = [
        money(x, 2) if m == "profit_per_customer" else f"{x * 100:+.1f} points"
        for m, x in zip(perf["metric"], perf["gap"], strict=True)
    ]
st.table(shown.set_index("Metric"))
st.caption(
    "Estimated without labels (confidence-based performance estimation, as NannyML's CBPE): with "
    "calibrated probabilities, a contacted customer with probability p churns with probability "
    "p, so the expected precision is the average probability of the contacted customers and the "
    "expected recall their share of all expected churners. It holds while the model stays "
    "calibrated, i.e. while only the customers change and not how churn depends on them. "
    "Profit is per customer of the batch, with the session's economics (Decide page)."
)

if report.calibration is not None:
    st.markdown("**Calibration on this batch** (predicted against observed churn, by decile)")
    st.altair_chart(charts.batch_calibration_chart(report.calibration), width="stretch")
    st.caption(
        "Each point is a tenth of the batch, by churn probability; the bar is the 95% Wilson "
        "interval of its observed churn rate. Points on the diagonal mean the probabilities "
        "still say what they mean."
    )
else:
    st.info(
        f"The batch has no '{artifact.target}' column, so only estimated figures are shown; add "
        "it once outcomes are known to compare them with what was forecast."
    )
