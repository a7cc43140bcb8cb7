"""Did it work? What an earlier campaign with a random control group measured."""

from __future__ import annotations

import streamlit as st

from churn import campaign_report, charts
from churn.campaign_model import treated_flags
from churn.data import label_text, positive_choices
from churn.errors import ChurnInputError
from churn.formatting import percent
from churn.ingest import read_bytes
from churn.suggest import suggest_campaign_roles
from app_pages.common import (
    Campaign,
    campaign_applies,
    current_campaign,
    current_campaign_balance,
    current_campaign_effect,
    current_campaign_model,
    current_scenario,
    measured_success_note,
    set_campaign,
    show_input_error,
    take_measured_success,
)

st.title("Did it work?")
st.caption(
    "What an earlier retention campaign measured, when a random part of the customers was "
    "contacted and the rest left alone as a control group: whether contacting reduced churn, "
    "the success rate that the money on Decide rests on, and whether the comparison is fair. "
    "Intervals are 95%."
)


def _campaign_chooser(campaign: Campaign) -> None:
    """Upload another campaign and name its columns, or go back to the sample's."""
    with st.expander(
        f"Campaign: {campaign.name}"
        + (" (the sample's)" if campaign.upload is None else " (uploaded)"),
        expanded="campaign_file" in st.session_state
        and st.session_state["campaign_file"] is not None,
    ):
        st.markdown(
            "Upload a campaign of your own: one row per customer, their features as they were "
            "**before** the campaign, a column that says who was contacted (the rest being "
            "the control group) and one that says who churned afterwards. It stays in your "
            "session only."
        )
        if campaign.upload is not None and st.button("Back to the sample campaign"):
            set_campaign(None)
            st.rerun()
        file = st.file_uploader(
            "Campaign table", type=["csv", "tsv", "txt", "parquet", "xlsx"], key="campaign_file"
        )
        if file is not None:
            _roles_form(file.name, file.getvalue())


def _reads_as_contact(column) -> bool:
    """Whether the contact column's values say by themselves who was contacted (1/0, yes/no,
    true/false, contacted/control)."""
    try:
        treated_flags(column)
    except ChurnInputError:
        return False
    return True


def _roles_form(name: str, data: bytes) -> None:
    frame = show_input_error(lambda: read_bytes(data, name))
    suggested = suggest_campaign_roles(frame)
    columns = list(frame.columns)
    st.write(f"**{name}**: {len(frame):,} rows, {len(columns)} columns.")

    def ordered(first: list[str]) -> list[str]:
        return first + [c for c in columns if c not in first]

    def why(role: str, column: str | None) -> None:
        reason = suggested["why"].get(role, {}).get(column)
        if reason:
            st.caption(f"Suggested: {reason}.")

    left, right = st.columns(2)
    with left:
        target = st.selectbox(
            "Churn column (churned after the campaign)",
            ordered(suggested["target"]),
            key="campaign_target",
        )
        why("target", target)
        try:
            values = positive_choices(frame[target])
        except ChurnInputError as exc:
            st.error(str(exc))
            return
        guess = suggested["positive"].get(target)
        positive = st.selectbox(
            "Which value means the customer left?",
            values,
            index=values.index(guess) if guess in values else 0,
            key="campaign_positive",
        )
    with right:
        treatment = st.selectbox(
            "Contact column (who was contacted, who was the control group)",
            ordered([c for c in suggested["treatment"] if c != target]),
            key="campaign_treatment",
        )
        why("treatment", treatment)
        ids = [c for c in suggested["id_column"] if c not in (target, treatment)]
        id_choice = st.selectbox(
            "Customer id column",
            ["(none)", *ordered(ids)],
            index=1 if ids else 0,
            key="campaign_id",
        )
        why("id_column", id_choice)
        levels = sorted({label_text(v) for v in frame[treatment].dropna().unique()})
        treated = None
        if len(levels) > 2 or (len(levels) == 2 and not _reads_as_contact(frame[treatment])):
            treated = st.selectbox(
                f"Which value of {treatment} means contacted? (every other value is the "
                "control group)",
                levels,
                index=None,
                placeholder="Choose the contacted value",
                key="campaign_treated",
            )
            if treated is None:
                st.info(
                    f"{treatment} has {len(levels)} values that do not say who was contacted "
                    "by themselves: say which one means contacted."
                )
                return
    chosen = Campaign(
        name=name,
        target=target,
        positive=positive,
        treatment=treatment,
        treated=treated,
        id_column=None if id_choice == "(none)" else id_choice,
        upload=(name, data),
    )
    if len({target, treatment, chosen.id_column} - {None}) < 2 + (chosen.id_column is not None):
        st.error("Give each role its own column: the churn, contact and id columns must differ.")
        return
    if st.button("Analyse this campaign", type="primary"):
        previous = current_campaign()
        set_campaign(chosen)
        try:
            current_campaign_effect()
            current_campaign_balance()
        except ChurnInputError as exc:
            set_campaign(previous if previous.upload is not None else None)
            st.error(str(exc))
            return
        st.rerun()


campaign = current_campaign()
_campaign_chooser(campaign)
if not campaign_applies():
    st.info(
        "This is the sample's campaign, about the sample's customers, not about your table: "
        "upload a campaign of your own above to measure your actions, to target your customers "
        "by uplift on Decide and to see their uplift on Customers.",
        icon=":material/info:",
    )
arms, effect = show_input_error(current_campaign_effect)

verdict = campaign_report.verdict(effect)
how = campaign_report.direction(effect)
{"reduced": st.success, "raised": st.error, "unclear": st.warning}[how](
    verdict, icon=":material/insights:"
)
check = show_input_error(current_campaign_balance)
if not check.looks_random:
    st.warning(
        'The contacted and control customers differed before the campaign (see "Is the '
        'comparison fair?" below): these effects may be biased.',
        icon=":material/warning:",
    )
c1, c2, c3, c4 = st.columns(4)
control, contacted = arms.loc["control"], arms.loc["contacted"]
c1.metric(
    "Churn, control group",
    percent(effect.control_rate),
    help=f"{int(control['churners']):,} of {int(control['customers']):,} customers left alone; "
    f"95% interval {percent(control['rate_low'])} to {percent(control['rate_high'])}",
    border=True,
)
c2.metric(
    "Churn, contacted",
    percent(effect.contacted_rate),
    help=f"{int(contacted['churners']):,} of {int(contacted['customers']):,} contacted "
    f"customers; 95% interval {percent(contacted['rate_low'])} to "
    f"{percent(contacted['rate_high'])}",
    border=True,
)
c3.metric(
    "Effect of contacting",
    f"{effect.ate * 100:+.1f} points",
    help="Contacted minus control churn rate, in percentage points (negative: fewer left); "
    f"95% interval {effect.ate_low * 100:+.1f} to {effect.ate_high * 100:+.1f}",
    border=True,
)
c4.metric(
    "Measured success rate",
    percent(effect.success_rate),
    help="Share of would-be churners the contact kept, (control − contacted) / control; "
    f"95% interval {percent(effect.success_low)} to {percent(effect.success_high)}",
    border=True,
)

st.subheader("Against the success rate Decide assumes")
scenario = current_scenario()
assumptions = campaign_report.assumption_table(effect, scenario.economics)
st.markdown(
    f"The campaign kept **{percent(effect.success_rate)}** of the customers who would have "
    f"churned (95% interval {percent(effect.success_low)} to {percent(effect.success_high)}). "
    "The money on Decide uses the success rates typed into its economics:"
)
for sentence in assumptions["sentence"]:
    st.markdown(f"- {sentence}")
names = list(assumptions.index)
left, right = st.columns([2, 3], vertical_alignment="bottom")
action = left.selectbox(
    "The action the campaign tested",
    names,
    index=len(names) - 1,
    key="campaign_action",
    help="The measured rate replaces this action's assumed one in the session's economics.",
)
if right.button(
    f"Use the measured {percent(effect.success_rate)} for {action} on Decide",
    icon=":material/input:",
    disabled=bool(assumptions.loc[action, "assumed"] == effect.success_rate),
):
    show_input_error(lambda: take_measured_success(action))
    st.rerun()
note = measured_success_note(scenario.economics)
if note:
    st.caption(note)

st.subheader("Is the comparison fair?")
(st.success if check.looks_random else st.warning)(
    campaign_report.balance_sentence(check), icon=":material/balance:"
)
column_config = {
    "|SMD|": st.column_config.NumberColumn(
        "|SMD|",
        format="%.3f",
        help="Size of the standardised mean difference between the arms (over 0.1: unbalanced)",
    )
}
st.dataframe(
    campaign_report.balance_display(check, n=5),
    hide_index=True,
    column_config=column_config,
)
with st.expander(f"Every feature ({len(check.table)}) and how balance is judged"):
    st.markdown(
        "- **Standardised mean difference (SMD)**: contacted minus control mean over the "
        "pooled standard deviation; for a categorical feature, the level whose share differs "
        "most. Above 0.1 in magnitude a feature is unbalanced.\n"
        "- **Can a classifier tell the arms apart?** A logistic regression on the features, "
        f"cross-validated: ROC-AUC {check.auc:.3f} (95% interval {check.auc_low:.3f} to "
        f"{check.auc_high:.3f}). 0.5 means the features say nothing about who was contacted; "
        "a random split stays near it.\n"
        "- If the split is not random, the difference in churn mixes the contact's effect "
        "with the difference between the customers, and every figure on this page is biased."
    )
    st.dataframe(
        campaign_report.balance_display(check), hide_index=True, column_config=column_config
    )

st.subheader("Whom to contact: measured uplift against churn risk")
model = show_input_error(current_campaign_model)
holdout = model.results["holdout"]
st.info(campaign_report.kept_sentence(holdout["kept_per_1000_contacts"]), icon=":material/target:")
st.altair_chart(charts.qini_chart(campaign_report.qini_frame(holdout["qini"])), width="stretch")
st.caption(
    f"Measured on the {holdout['customers']:,} customers of the campaign held back from the "
    "uplift model (20%, by arm and outcome). Each line contacts the customers ranked first "
    "by its rule and counts how many of every 1,000 customers stay who would have left: "
    "the churn rate of the control customers among them minus that of the contacted ones. "
    "**Uplift** is the model's drop in churn probability when contacted; **churn risk** its "
    "churn probability if not contacted (the same customers and features). Bands: 95% "
    "bootstrap intervals."
)
st.markdown("**Customers kept per 1,000 contacts** (95% intervals)")
st.dataframe(campaign_report.kept_display(holdout["kept_per_1000_contacts"]), hide_index=True)

with st.expander("Measured effect by tenth of the uplift ranking"):
    st.markdown(
        "The holdout's customers in ten equal groups, highest predicted uplift first; in each, "
        "the measured uplift is the control group's churn rate minus the contacted customers' "
        "(percentage points, 95% bootstrap interval). A ranking that works has it falling from "
        "the first tenth to the last."
    )
    points = st.column_config.NumberColumn(format="%+.1f")
    st.dataframe(
        campaign_report.decile_display(holdout["uplift_by_decile"]),
        hide_index=True,
        column_config={"Predicted uplift": points, "Measured uplift": points},
    )

st.subheader("Where contacting backfires")
backfire = model.results["backfire"]
(st.warning if any(g["backfires"] for g in backfire) else st.success)(
    campaign_report.backfire_sentence(backfire), icon=":material/trending_up:"
)
percent_column = st.column_config.NumberColumn(format="%.1f%%")
groups = campaign_report.backfire_display(backfire)
st.markdown("**Every group, most harmful first**")
st.dataframe(
    groups.assign(**{c: groups[c] * 100 for c in ("Churn if contacted", "Churn if not")}),
    hide_index=True,
    column_order=[
        "Effect of contacting",
        "Backfires",
        "Customers",
        "Churn if contacted",
        "Churn if not",
        "Group",
    ],
    column_config={
        "Group": st.column_config.TextColumn("Group", width="large"),
        "Customers": st.column_config.NumberColumn("Customers", format="localized"),
        "Churn if contacted": percent_column,
        "Churn if not": percent_column,
    },
)
st.caption(
    "Groups: the leaves of a shallow tree fitted to every campaign customer's out-of-fold "
    "uplift; in each, the effect is measured from the outcomes alone (contacted minus control "
    "churn rate, 95% interval). The groups were found on this campaign, so a flagged group is "
    "a finding to confirm with the next one."
)

with st.expander("How these numbers are computed"):
    st.markdown(
        "- **Effect of contacting**: the churn rate among the contacted minus the churn rate "
        "of the control group; its interval is Newcombe's hybrid score interval for a "
        "difference of two proportions.\n"
        "- **Measured success rate**: the share of would-be churners the contact kept, "
        "1 − (contacted churn rate / control churn rate); its interval comes from the delta "
        "method on the log of that ratio. It is the form the economics on Decide take.\n"
        "- Both are causal only because the contacted customers were picked at random: see "
        "the balance check."
    )
