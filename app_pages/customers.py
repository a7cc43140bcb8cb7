"""Customers: the ranked list the retention team works from, with the session's policy."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import streamlit as st

from churn import campaign_report, customers
from churn.artifact import Artifact
from churn.customers import SCORE_COLUMNS
from churn.errors import ChurnInputError
from churn.explain import reasons_table
from churn.formatting import action_label, money, percent
from churn.policy import DEFAULT_ACTION
from churn.scenario import Scenario
from churn.targeting import PolicyRule
from app_pages.common import (
    act_on_uploader,
    base_description,
    base_key,
    campaign_model_ready,
    current_artifact,
    current_base,
    current_campaign,
    current_campaign_model,
    current_decision,
    current_explanation,
    current_scenario,
    current_scored_base,
    current_uplift_decision,
    current_uplift_on_base,
    model_cache,
    scenario_key,
    scored_base_opener,
    show_input_error,
    targets_uplift,
)

ALL_CUSTOMERS = "All customers"
#: The campaign model's per-customer columns the list shows.
UPLIFT_SHOWN = ("uplift", "uplift_low", "uplift_high")


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
        base.assign(_position=np.arange(len(base))),  # to match other per-customer columns
        _artifact.id_column,
        _rules,
        DEFAULT_ACTION,
        economics,
        reasons=_reasons(_artifact, fingerprint, base_id),
        segments=[*_segments(_artifact, base), "_position"],
        capacity=_capacity,
    )


def _capacity_cut(capacity, contacted: int) -> None:
    """Where the team's capacity cuts the list, as `score --policy` cuts it."""
    st.info(
        f"The team's capacity ({capacity.sentence()}) cuts the list at "
        f"**{contacted:,} customers**: everyone after them gets no action, as "
        "`score --policy` does.",
        icon=":material/content_cut:",
    )


def _action_metrics(summary: pd.DataFrame) -> None:
    """One figure per action (customers, with share and expected value) and the total."""
    columns = st.columns(len(summary) + 1)
    for column, row in zip(columns, summary.itertuples(index=False), strict=False):
        column.metric(
            action_label(row.action),
            f"{row.customers:,}",
            help=f"{percent(row.share)} of the customers; expected value "
            f"{money(row.expected_value)}",
            border=True,
        )
    columns[-1].metric(
        "Total expected value", money(float(summary["expected_value"].sum())), border=True
    )


#: Customers shown at a time from a scored base (the list itself is never built whole).
PAGE_SIZE = 1_000


def _scored_base_list(scored, decision, economics) -> None:
    """The ranked list of a scored base opened from the command line, a page at a time:
    counts and money from the one sort, rows built only for the page shown."""
    summary = scored.summary(decision.rules, economics, decision.capacity)
    by_value = decision.capacity is not None and decision.capacity.ranking == "expected_value"
    first = "those where the action is worth most first" if by_value else "most at risk first"
    st.caption(
        f"{scored.customers:,} customers, {first}, with the action the policy chosen on the "
        f"Decide page gives each of them. They are {base_description()}; "
        "`score --policy` gives them the same actions."
    )
    if decision.capacity is not None:
        contacted = int(summary.loc[summary["action"] != DEFAULT_ACTION, "customers"].sum())
        _capacity_cut(decision.capacity, contacted)
    _action_metrics(summary)
    pages = max(1, -(-scored.customers // PAGE_SIZE))
    number = st.number_input(
        f"Page (of {pages:,}; {PAGE_SIZE:,} customers a page)",
        1,
        pages,
        1,
        1,
        key="scored_base_page",
    )
    start = (int(number) - 1) * PAGE_SIZE
    shown = scored.page(
        decision.rules, economics, decision.capacity, start, PAGE_SIZE, DEFAULT_ACTION
    )
    st.caption(
        f"Customers ranked {start + 1:,} to {start + len(shown):,} of {scored.customers:,}. "
        "The reasons, segments and downloads are for customers scored in the app; the whole "
        "list with its actions is `python -m churn score --policy`'s output."
    )
    display = customers.sanitise_for_spreadsheet(shown).assign(
        action=shown["action"].map(action_label),
        churn_probability=shown["churn_probability"] * 100,
    )
    id_label = scored.id_column or customers.ROW_COLUMN
    st.dataframe(
        display,
        hide_index=True,
        height=560,
        column_config={
            "rank": st.column_config.NumberColumn("Rank", width="small", pinned=True),
            id_label: st.column_config.TextColumn(id_label, pinned=True),
            "churn_probability": st.column_config.ProgressColumn(
                "Churn probability", format="%.1f%%", min_value=0.0, max_value=100.0
            ),
            "action": st.column_config.TextColumn("Action"),
            "expected_value": st.column_config.NumberColumn("Expected value", format="dollar"),
            "customer_value": st.column_config.NumberColumn("Customer value", format="dollar"),
        },
    )


def _with_uplift(table: pd.DataFrame) -> pd.DataFrame:
    """The churn list with each customer's measured uplift and its interval (campaign model),
    matched by the customer's position in the base."""
    scored = current_uplift_on_base(with_policy=False)
    position = table["_position"].to_numpy()
    return table.assign(**{c: scored[c].to_numpy()[position] for c in UPLIFT_SHOWN}).drop(
        columns="_position"
    )


artifact = current_artifact()
st.title("Customers")
act_on_uploader()  # before the base, so a snapshot can be changed whatever the base does
scored_base_opener()
scenario = current_scenario()
decision = show_input_error(current_decision)
if (scored_base := current_scored_base()) is not None:
    show_input_error(lambda: _scored_base_list(scored_base, decision, scenario.economics))
    st.stop()
key = scenario_key(scenario)
by_uplift = targets_uplift()
if by_uplift:
    uplift_decision = show_input_error(current_uplift_decision)
    tested = uplift_decision.action
    table = show_input_error(
        lambda: campaign_report.uplift_action_list(
            current_uplift_on_base(),
            current_base(),
            scenario.economics,
            tested,
            artifact.id_column,
            DEFAULT_ACTION,
            _segments(artifact, current_base()),
        )
    )
    order = [tested, DEFAULT_ACTION]
else:
    table = show_input_error(
        lambda: _action_list(
            artifact, artifact.fingerprint, key, base_key(), decision.rules, decision.capacity
        )
    )
    order = customers.action_order(decision.rules, DEFAULT_ACTION)
    try:  # the campaign's uplift, when its model exists and can score these customers
        table = _with_uplift(table) if campaign_model_ready() else table.drop(columns="_position")
    except ChurnInputError as exc:
        st.warning(f"The campaign model cannot score these customers: {exc}")
        table = table.drop(columns="_position")
summary = customers.action_summary(table, order)

by_value = decision.capacity is not None and decision.capacity.ranking == "expected_value"
first = "those where the action is worth most first" if by_value else "most at risk first"
if by_uplift:
    first = "those whom contact is measured to help most first"
st.caption(
    f"{len(table):,} customers, {first}, with the action the policy chosen on the "
    "Decide page gives each of them: the list the retention team works from. They are "
    f"{base_description()}."
)
if by_uplift:
    st.info(
        "The policy targets by **measured uplift**: the drop in churn probability that "
        f'contacting brings, from the campaign {current_campaign().name} ("Did it work?" '
        "page), with its interval. `score --model` with the campaign model and the exported "
        "policy gives these customers the same actions.",
        icon=":material/science:",
    )
elif "uplift" in table.columns:
    st.caption(
        "**Uplift** is the drop in churn probability contacting brings, measured by the "
        f'campaign {current_campaign().name} ("Did it work?" page), with its '
        f"{percent(current_campaign_model().uplift.confidence, 0)} interval."
    )
if decision.capacity is not None and not by_uplift:
    _capacity_cut(decision.capacity, int((table["action"] != DEFAULT_ACTION).sum()))

_action_metrics(summary)
explained = current_explanation()
if explained.sampled and not by_uplift:
    st.caption(
        f"The reasons are shown for a random sample of {len(explained):,} of the "
        f"{explained.customers:,} customers (explaining everyone would take too long with this "
        "model's trees); the Why? page explains any one customer exactly."
    )
if by_uplift:
    st.caption(
        "**Expected value** is what the contact is worth for one customer, on average, in "
        "money: uplift × customer value − contact cost − (1 − churn probability if contacted) "
        "× incentive. **Churn probability** and **If contacted** are the campaign model's, "
        "without and with the contact; customers without an action count 0. The uplift "
        "interval shows how much the fit varies, not its bias: the model pulls large effects "
        "towards the campaign's average (on the sample's generator it under-states both the "
        "customers an offer keeps best and those it drives away), so trust the order of the "
        "list more than one customer's interval."
    )
else:
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
    *(UPLIFT_SHOWN if by_uplift else ()),
    *SCORE_COLUMNS,
    *(() if by_uplift else (c for c in UPLIFT_SHOWN if c in shown.columns)),
    "churn_probability_if_contacted",
    "action",
    "expected_value",
    "reasons",
    "customer_value",
]
percent_column = {"format": "%.1f%%", "width": "small"}
level = percent(artifact.model_facts["confidence"], 0)  # the per-customer interval's stated level
# Sanitised for display too: the table's own toolbar can save it as CSV. Probabilities are
# shown as percentage points; the download keeps them in [0, 1].
display = customers.sanitise_for_spreadsheet(shown)
display = display.assign(
    action=display["action"].map(action_label),
    # the three reasons in one column, so the table fits the page (the CSV keeps three)
    reasons=customers.joined_reasons(display),
    **{
        c: display[c] * 100
        for c in (*SCORE_COLUMNS, *UPLIFT_SHOWN, "churn_probability_if_contacted")
        if c in display.columns
    },
).drop(columns=reason_columns)
if by_uplift:  # the reasons explain the churn model's probability, not the uplift
    display = display.drop(columns="reasons")
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
        "uplift": st.column_config.NumberColumn(
            "Uplift",
            format="%+.1f pts",
            help="Drop in churn probability when contacted, in percentage points "
            "(campaign model; negative: contact drives the customer away)",
        ),
        "uplift_low": st.column_config.NumberColumn(
            "Uplift low", format="%+.1f", help="Lower end of the uplift's interval"
        ),
        "uplift_high": st.column_config.NumberColumn(
            "Uplift high", format="%+.1f", help="Upper end of the uplift's interval"
        ),
        "churn_probability_if_contacted": st.column_config.NumberColumn(
            "If contacted", help="Churn probability if contacted (campaign model)", **percent_column
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
