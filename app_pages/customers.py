"""Customers: the ranked list the retention team works from, with the session's policy."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from churn import customers
from churn.artifact import Artifact
from churn.customers import SCORE_COLUMNS
from churn.explain import reasons_table
from churn.formatting import action_label, money, percent
from churn.policy import DEFAULT_ACTION
from churn.scenario import Scenario
from churn.targeting import PolicyRule
from app_pages.common import (
    act_on_uploader,
    base_description,
    base_key,
    current_artifact,
    current_base,
    current_decision,
    current_explanation,
    current_scenario,
    model_cache,
    scenario_key,
    show_input_error,
)

ALL_CUSTOMERS = "All customers"


@model_cache(show_spinner=False, max_entries=4)
def _reasons(_artifact: Artifact, fingerprint: str, base: str) -> pd.DataFrame:
    return reasons_table(current_explanation(), k=3)


def _segments(artifact: Artifact, base: pd.DataFrame) -> list[str]:
    return customers.segment_columns(base, exclude=(artifact.id_column, artifact.target))


@model_cache(show_spinner="Ranking the customers...", max_entries=16)
def _action_list(
    _artifact: Artifact,
    fingerprint: str,
    key: str,
    base_id: str,
    _rules: list[PolicyRule],
    _capacity,
) -> pd.DataFrame:
    base = current_base()
    economics = Scenario.from_query(json.loads(key)).economics
    return customers.action_list(
        base,
        _artifact.id_column,
        _rules,
        DEFAULT_ACTION,
        economics,
        reasons=_reasons(_artifact, fingerprint, base_id),
        segments=_segments(_artifact, base),
        capacity=_capacity,
    )


artifact = current_artifact()
st.title("Customers")
act_on_uploader()  # before the base, so a snapshot can be changed whatever the base does
scenario = current_scenario()
decision = show_input_error(current_decision)
key = scenario_key(scenario)
table = show_input_error(
    lambda: _action_list(
        artifact, artifact.fingerprint, key, base_key(), decision.rules, decision.capacity
    )
)
order = customers.action_order(decision.rules, DEFAULT_ACTION)
summary = customers.action_summary(table, order)

by_value = decision.capacity is not None and decision.capacity.ranking == "expected_value"
first = "those where the action is worth most first" if by_value else "most at risk first"
st.caption(
    f"{len(table):,} customers, {first}, with the action the policy chosen on the "
    "Decide page gives each of them: the list the retention team works from. They are "
    f"{base_description()}."
)
if decision.capacity is not None:
    contacted_n = int((table["action"] != DEFAULT_ACTION).sum())
    st.info(
        f"The team's capacity ({decision.capacity.sentence()}) cuts the "
        f"list at **{contacted_n:,} customers**: everyone after them gets no action, as "
        "`score --policy` does.",
        icon=":material/content_cut:",
    )

columns = st.columns(len(summary) + 1)
for column, row in zip(columns, summary.itertuples(index=False), strict=False):
    column.metric(
        action_label(row.action),
        f"{row.customers:,}",
        help=f"{percent(row.share)} of the customers; expected value {money(row.expected_value)}",
        border=True,
    )
columns[-1].metric(
    "Total expected value", money(float(summary["expected_value"].sum())), border=True
)
explained = current_explanation()
if explained.sampled:
    st.caption(
        f"The reasons are shown for a random sample of {len(explained):,} of the "
        f"{explained.customers:,} customers (explaining everyone would take too long with this "
        "model's trees); the Why? page explains any one customer exactly."
    )
st.caption(
    "**Expected value** is what an action is worth for one customer, on average, in money: "
    "the churn probability × (the action's success rate × (customer value − incentive) − "
    "contact cost), minus (1 − churn probability) × (incentive + contact cost) spent on "
    "customers who would have stayed anyway. Customers without an action count 0. The "
    "**reasons** are the three features that move a customer's probability most, in "
    "percentage points (SHAP values; + raises the risk)."
)

st.subheader("Filter the list")
left, middle, right = st.columns([2, 1, 2])
contacted = [a for a in order if a != DEFAULT_ACTION] or order
chosen_actions = left.multiselect("Actions", order, default=contacted, format_func=action_label)
segment_options = [ALL_CUSTOMERS, *_segments(artifact, current_base())]
segment = middle.selectbox("Segment", segment_options)
values = None
if segment != ALL_CUSTOMERS:
    levels = sorted(table[segment].dropna().unique().tolist(), key=str)
    values = right.multiselect(f"{segment} is one of", levels, default=levels)
shown = customers.filter_action_list(
    table, chosen_actions, None if segment == ALL_CUSTOMERS else segment, values
)
st.caption(
    f"Showing **{len(shown):,}** of {len(table):,} customers; their expected value is "
    f"**{money(float(shown['expected_value'].sum()))}**."
)

id_label = artifact.id_column or customers.ROW_COLUMN
reason_columns = [c for c in ("reason_1", "reason_2", "reason_3") if c in shown.columns]
leading = [
    "rank",
    id_label,
    *SCORE_COLUMNS,
    "action",
    "expected_value",
    "reasons",
    "customer_value",
]
percent_column = {"format": "%.1f%%", "width": "small"}
level = percent(artifact.model.confidence, 0)  # the per-customer interval's stated level
# Sanitised for display too: the table's own toolbar can save it as CSV. Probabilities are
# shown as percentage points; the download keeps them in [0, 1].
display = customers.sanitise_for_spreadsheet(shown)
display = display.assign(
    action=display["action"].map(action_label),
    # the three reasons in one column, so the table fits the page (the CSV keeps three)
    reasons=customers.joined_reasons(display),
    **{c: display[c] * 100 for c in SCORE_COLUMNS},
).drop(columns=reason_columns)
st.dataframe(
    display,
    hide_index=True,
    height=560,
    column_order=[*leading, *[c for c in display.columns if c not in leading]],
    column_config={
        "rank": st.column_config.NumberColumn(
            "Rank",
            help="1 = first in line" + (" (by expected value)" if by_value else ": most at risk"),
            width="small",
            pinned=True,
        ),
        id_label: st.column_config.TextColumn(id_label, pinned=True),
        "churn_probability": st.column_config.ProgressColumn(
            "Churn probability", format="%.1f%%", min_value=0.0, max_value=100.0
        ),
        "probability_low": st.column_config.NumberColumn(
            "Low", help=f"Lower end of the probability's {level} interval", **percent_column
        ),
        "probability_high": st.column_config.NumberColumn(
            "High", help=f"Upper end of the probability's {level} interval", **percent_column
        ),
        "action": st.column_config.TextColumn("Action"),
        "expected_value": st.column_config.NumberColumn(
            "Expected value", format="dollar", help="Expected profit of the action, in money"
        ),
        "customer_value": st.column_config.NumberColumn(
            "Customer value", format="dollar", help="What keeping the customer is worth"
        ),
        "reasons": st.column_config.TextColumn(
            "Top reasons",
            width="large",
            help="The features that move this customer's probability most, strongest first",
        ),
    },
)
st.download_button(
    f"Download these {len(shown):,} customers (CSV)",
    data=customers.to_safe_csv(shown),
    file_name="churn-action-list.csv",
    mime="text/csv",
    icon=":material/download:",
    on_click="ignore",
)
st.caption(
    "Text that a spreadsheet would run as a formula (starting with =, +, −, @) is prefixed "
    "with ' in the file; numbers are kept as numbers."
)
