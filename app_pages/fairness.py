"""Is it fair? The session's policy per group of customers, and where the model does worst."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from churn import charts, fairness
from churn.artifact import Artifact
from churn.formatting import percent
from app_pages.common import (
    churn_policy_note,
    current_artifact,
    current_decision,
    current_scenario,
    model_cache,
    scenario_key,
    show_input_error,
)


@model_cache(show_spinner="Comparing groups...", max_entries=256)
def _group_table(_artifact: Artifact, fingerprint: str, key: str, column: str) -> pd.DataFrame:
    return fairness.fairness_table(_artifact, current_decision(), column)


@model_cache(show_spinner="Searching the slices where the model does worst...", max_entries=4)
def _slices(_artifact: Artifact, fingerprint: str) -> pd.DataFrame:
    return fairness.slice_table(_artifact)


artifact = current_artifact()
decision = show_input_error(current_decision)
key = scenario_key(current_scenario())
candidates = fairness.segment_candidates(artifact)

st.title("Is it fair?")
if churn_policy_note():
    st.info(churn_policy_note(), icon=":material/science:")
st.caption(
    f"How the policy chosen on the Decide page treats groups of customers. Measured on the "
    f"{decision.n_customers:,} holdout customers the model never saw, whose outcomes are known; "
    f"the policy contacts {percent(decision.share_targeted)} of them. Rates have 95% intervals."
)

places = fairness.place_note(fairness.place_features(artifact))
if places:
    st.warning(places, icon=":material/location_on:")

with st.expander("How groups are compared"):
    st.markdown(
        f"""
- **Who gets the offer.** A retention offer is a benefit, so groups are compared on the
  share contacted (selection rate) and on the share of their churners contacted (recall).
  The best-served group is the one with the highest rate among groups large enough to judge.
- **The four-fifths rule.** A group's ratio is its rate divided by the best-served group's.
  A ratio under {fairness.FOUR_FIFTHS:.0%} is a material gap.
- **Flagged** means the ratio is under {fairness.FOUR_FIFTHS:.0%} *and* its interval lies
  below 1, so the gap is unlikely to be chance. The ratio's interval is widened so that the
  comparisons of all pairs of groups hold together at 95%: the best-served group is picked
  from the data, and the largest of several noisy rates would otherwise make chance gaps
  look real. *Could be chance* means the ratio is under
  {fairness.FOUR_FIFTHS:.0%} but the interval still includes parity. Groups with fewer than
  {fairness.MIN_GROUP_SIZE} customers (for recall: churners) are *too few to judge*.
- **Aim.** Precision and the share of stayers contacted show how well the offers are aimed
  in each group; they are shown, not flagged. Predicted and observed churn show whether the
  model's probabilities hold for the group.
- **Groups.** Text columns by value; numbers in bands (age: under 25, 25-44, 45-64,
  65 and over; other numbers: quartiles with rounded edges). Missing values are a group.
- **A gap is not always a fault.** When an attribute really changes churn risk, a calibrated
  model contacts its groups at different rates. Whether that is acceptable is a policy
  decision; the table shows how large the gap is and whether the model is right about
  each group.
"""
    )

columns = st.multiselect(
    "Compare groups by",
    candidates.options,
    default=candidates.default,
    key="fairness_attributes",
    help="The attributes named when the data was loaded, or any column (numbers are banded).",
)
metric_key = st.radio(
    "Chart",
    list(fairness.DISPARITY_METRICS),
    format_func=lambda k: fairness.RATE_METRICS[k].label,
    horizontal=True,
    key="fairness_metric",
)
metric_label = fairness.RATE_METRICS[metric_key].label

if not columns:
    st.info("Choose at least one attribute to compare groups.")
for column in columns:
    table = show_input_error(
        lambda column=column: _group_table(artifact, artifact.fingerprint, key, column)
    )
    st.subheader(column)
    notes = fairness.disparity_notes(table, column)
    if notes:
        st.warning("\n".join(f"- {note}" for note in notes))
    else:
        st.success(f"No group of {column} is flagged under the four-fifths rule for this policy.")
    st.altair_chart(charts.fairness_chart(table, metric_key, metric_label), width="stretch")
    st.caption(
        f"Dashed line: the best-served group. Shaded: under {fairness.FOUR_FIFTHS:.0%} of its "
        "rate. Bars: 95% intervals."
    )
    shown = fairness.display_table(table)
    main = [c for c in shown.columns if c not in fairness.SECONDARY_COLUMNS]
    st.dataframe(shown[main], width="stretch")
    with st.expander(f"Precision, stayers contacted and calibration by {column}"):
        st.dataframe(shown[list(fairness.SECONDARY_COLUMNS)], width="stretch")

st.header("Where the model does worst")
slices = show_input_error(lambda: _slices(artifact, artifact.fingerprint))
overall = slices[slices["feature"] == "(all)"].iloc[0]
by = st.selectbox(
    "Rank slices by",
    list(fairness.SLICE_CRITERIA),
    format_func=lambda k: fairness.SLICE_CRITERIA[k][0],
    key="fairness_slice_by",
)
st.caption(
    f"Every value or band of every column with at least "
    f"{fairness.slice_min_size(decision.n_customers):,} customers "
    f"({len(slices) - 1} slices), ten worst first; this does not depend on the policy. "
    f"On all customers: ROC-AUC {overall['roc_auc']:.3f}, Brier {overall['brier']:.3f}, "
    f"calibration gap {overall['calibration_gap']:+.3f} (predicted minus observed churn). "
    "Brier is higher wherever churn is more common, so compare it with the churn rate. "
    "*Worse beyond its interval* names the measures whose whole interval is worse than on all "
    "customers (for the calibration gap: away from zero)."
)
st.dataframe(
    fairness.slice_display(fairness.worst_slices(slices, by, n=10)),
    width="stretch",
    hide_index=True,
)
st.info(
    "These slices were found by searching many, so the worst of them look worse than they are "
    "by chance alone. Treat a slice as a problem only when its interval stays clear of the "
    "figure on all customers, and check it again on new data."
)
