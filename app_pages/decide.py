"""Decide: pick the policy, see what it does in customers and in money."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from churn import charts, export, report, targeting
from churn.customers import to_safe_csv
from churn.decisions import Choice
from churn.economics import NO_ACTION, Action, Economics
from churn.errors import ChurnInputError
from churn.formatting import NO_ACTION_LABEL, action_label, money, percent
from churn.policy import economics_note, on_customers, review_on_customers
from churn.scenario import UPLIFT_METHODS, Scenario
from churn.uplift_decisions import campaign_action
from app_pages.chart_data import arrow_datasets, with_dataset
from app_pages.common import (
    act_on_uploader,
    acting_on_training_table,
    base_description,
    base_size,
    campaign_applies,
    current_artifact,
    current_base,
    current_baselines,
    current_campaign,
    current_campaign_effect,
    current_campaign_model,
    current_decision,
    current_scenario,
    current_scored_base,
    current_uplift_decision,
    current_uplift_on_base,
    economics_key,
    measured_success_note,
    model_cache,
    scored_base_opener,
    set_scenario,
    show_input_error,
    take_measured_success,
)

METHODS = {
    "max_profit": "Maximum profit",
    "threshold": "Probability cut-off",
    "top_share": "Capacity (share or number of customers)",
    "precision": "Target precision",
    "recall": "Target recall",
}

artifact = current_artifact()
st.title("Decide")
act_on_uploader()  # before the base, so a snapshot can be changed whatever the base does
scored_base_opener()
base = show_input_error(current_base)


@model_cache(max_entries=64)
def _chart_specs(_artifact, fingerprint: str, economics: str, tiers: str, _decision, _profits):
    """The page's two charts as Vega-Lite specs, built (and validated) once per model,
    economics and action tiers (which fix the profit curve). Moving the policy then only
    swaps the data that follow it (``with_dataset``): no chart is rebuilt on the
    server, and the browser updates the views in place."""
    return {
        "profit": arrow_datasets(
            charts.spec(
                charts.profit_curve_chart(_decision.curve, _decision.row, _decision.best_row)
            )
        ),
        "comparison": arrow_datasets(charts.spec(charts.comparison_chart(_profits))),
    }


st.caption(
    f"Choose who to contact and with which action. Figures are measured on the "
    f"{len(artifact.holdout):,} holdout customers the model never saw; money is per customer "
    "of the base, with 95% intervals."
)


def _choice_controls(scenario: Scenario, uplift: bool = False) -> Choice:
    current = scenario.choice
    options = [m for m in METHODS if not uplift or m in UPLIFT_METHODS]
    shown = "top_share" if current.method == "top_n" else current.method
    method = st.radio(
        "Choose the policy by",
        options,
        index=options.index(shown) if shown in options else 0,
        format_func=(METHODS | UPLIFT_METHOD_LABELS).get if uplift else METHODS.get,
        horizontal=True,
        key="decide_uplift_method" if uplift else "decide_method",
    )
    value = current.value if method == current.method else None
    if method == "threshold" and uplift:
        v = st.slider(
            "Contact customers whose measured uplift (the drop in churn probability contact "
            "brings) is at least",
            0.0,
            1.0,
            float(value if value is not None else 0.05),
            0.01,
            key="decide_uplift_threshold",
        )
        return Choice("threshold", v)
    if method == "threshold":
        v = st.slider(
            "Contact customers with a churn probability of at least",
            0.0,
            1.0,
            float(value if value is not None else 0.3),
            0.01,
            key="decide_threshold",
        )
        return Choice("threshold", v)
    if method == "top_share":
        n_base = base_size()
        by_count = current.method == "top_n"
        mode = st.radio(
            "Capacity as",
            ["Share of customers", "Number of customers"],
            index=1 if by_count else 0,
            horizontal=True,
            key="decide_capacity_mode",
        )
        if mode == "Share of customers":
            share = float(current.value) / n_base if by_count else float(value or 0.2)
            pct = st.slider(
                "Share of customers the team can contact (%)",
                0,
                100,
                min(100, round(share * 100)),
                1,
                key="decide_share",
            )
            st.caption(
                f"= {round(pct / 100 * n_base):,} of the {n_base:,} customers in the current "
                "base. Every scored batch gets exactly this share, the highest-ranked first."
            )
            return Choice("top_share", pct / 100)
        n = st.number_input(
            f"Customers the team can contact (out of {n_base:,} in the current base)",
            0,
            max(n_base, int(current.value or 0)),
            int(current.value) if by_count else round(float(value or 0.2) * n_base),
            50,
            key="decide_top_n",
        )
        st.caption(
            f"= {percent(n / n_base if n_base else 0.0)} of the current base. Every scored "
            "batch gets exactly this many contacts, the highest-ranked first."
        )
        return Choice("top_n", float(n))
    if method in ("precision", "recall"):
        default = 0.5 if method == "precision" else 0.7
        v = st.slider(
            f"Target {method}",
            0.0,
            1.0,
            float(value if value is not None else default),
            0.01,
            key=f"decide_{method}",
        )
        return Choice(method, v)
    return Choice("max_profit")


def _economics_controls(scenario: Scenario) -> Economics:
    e = scenario.economics
    numeric = [
        c
        for c in artifact.holdout_data.select_dtypes("number").columns
        if c not in (artifact.target,)
    ]
    kinds = (
        ["A column of the data", "The same for every customer"]
        if numeric
        else ["The same for every customer"]
    )
    kind = st.radio(
        "Customer value (what keeping a customer is worth)",
        kinds,
        index=0 if e.value_column and numeric else len(kinds) - 1,
        horizontal=True,
        key="decide_value_kind",
    )
    if kind == "A column of the data":
        c1, c2 = st.columns(2)
        column = c1.selectbox(
            "Column",
            numeric,
            index=numeric.index(e.value_column) if e.value_column in numeric else 0,
            key="decide_value_column",
        )
        multiplier = c2.number_input(
            "times",
            0.01,
            1000.0,
            float(e.value_multiplier),
            1.0,
            key="decide_multiplier",
            help="For example 12 turns monthly charges into a year of revenue.",
        )
        value_args = {"value_column": column, "value_multiplier": float(multiplier)}
    else:
        constant = st.number_input(
            "Value per customer ($)",
            1.0,
            1e7,
            float(e.value_constant),
            50.0,
            key="decide_value_constant",
        )
        value_args = {"value_constant": float(constant)}

    st.markdown("**Actions** (edit the table; stronger actions go to higher probabilities)")
    table = pd.DataFrame(
        {
            "name": [a.name for a in e.actions],
            "contact_cost": [a.contact_cost for a in e.actions],
            "incentive_cost": [a.incentive_cost for a in e.actions],
            "success_rate": [a.success_rate for a in e.actions],
            "max_share": [a.max_share for a in e.actions],
        }
    )
    edited = st.data_editor(
        table,
        num_rows="dynamic",
        hide_index=True,
        key="decide_actions",
        column_config={
            "name": st.column_config.TextColumn("Action", required=True),
            "contact_cost": st.column_config.NumberColumn(
                "Contact cost ($)", min_value=0.0, format="$%.2f", required=True
            ),
            "incentive_cost": st.column_config.NumberColumn(
                "Incentive cost ($)",
                min_value=0.0,
                format="$%.2f",
                required=True,
                help="Paid by every contacted customer who accepts: retained churners and "
                "customers who would have stayed anyway.",
            ),
            "success_rate": st.column_config.NumberColumn(
                "Success rate",
                min_value=0.0,
                max_value=1.0,
                format="percent",
                required=True,
                help="The chance that a would-be churner who is contacted stays.",
            ),
            "max_share": st.column_config.NumberColumn(
                "Capacity (share of customers)",
                min_value=0.0,
                max_value=1.0,
                format="percent",
                help="Optional: at most this share of customers can get the action "
                "(leave empty for no limit).",
            ),
        },
    )
    required = ["name", "contact_cost", "incentive_cost", "success_rate"]
    rows = edited.dropna(how="any", subset=required)
    actions = tuple(
        Action(
            str(r.name).strip(),
            float(r.contact_cost),
            float(r.incentive_cost),
            float(r.success_rate),
            None if pd.isna(r.max_share) else float(r.max_share),
        )
        for r in rows.itertuples(index=False)
    )
    return Economics(actions, **value_args)


UPLIFT_METHOD_LABELS = {"threshold": "Uplift cut-off"}
TARGETS = {
    "churn_probability": "Churn risk (the churn model)",
    "uplift": "Measured uplift (the campaign model)",
}


def _target_control(scenario: Scenario) -> str:
    """Target by churn risk or by the uplift a campaign measured (only when one applies)."""
    if not campaign_applies():
        return "churn_probability"
    options = list(TARGETS)
    return st.radio(
        "Target by",
        options,
        index=options.index(scenario.target),
        format_func=TARGETS.get,
        horizontal=True,
        key="decide_target",
        help="Churn risk contacts the customers most likely to leave, with the success rates "
        "of the economics. Measured uplift contacts those whom contact is measured to keep "
        f'(the campaign {current_campaign().name}, "Did it work?" page): it leaves out those '
        "who stay anyway, those no call can keep and those a call drives away.",
    )


def _tested_action_control(scenario: Scenario, economics: Economics) -> str | None:
    names = [a.name for a in economics.actions]
    default = campaign_action(economics, None).name
    chosen = scenario.tested_action if scenario.tested_action in names else default
    picked = st.selectbox(
        "The action the campaign tested (its costs price each contact)",
        names,
        index=names.index(chosen),
        key="decide_tested_action",
        help="Its success rate is not used: the campaign measured the effect per customer.",
    )
    return None if picked == default and scenario.tested_action is None else picked


RANKINGS = {
    "churn_probability": "Churn probability",
    "expected_value": "Expected value of the action",
}


def _ranking_control(scenario: Scenario, choice: Choice, economics: Economics) -> str:
    """Who comes first when a capacity cuts the list (only asked when there is one)."""
    if choice.method not in ("top_share", "top_n"):
        return "churn_probability"
    if any(a.max_share is not None for a in economics.actions):
        st.caption(
            "With per-action capacities the customers are ranked by churn probability (ranking "
            "by expected value works with a total capacity only)."
        )
        return "churn_probability"
    options = list(RANKINGS)
    return st.radio(
        "Within the capacity, contact first the customers with the highest",
        options,
        index=options.index(scenario.ranking),
        format_func=RANKINGS.get,
        horizontal=True,
        key="decide_ranking",
        help="Churn probability: the most likely to leave. Expected value: where the action "
        "is worth most (likelihood × what the customer is worth × the action's success, net "
        "of its cost); with customer values that differ, this earns more from the same "
        "capacity. Scoring then needs the value column.",
    )


def _measured_success_control(scenario: Scenario) -> None:
    """One click takes the campaign's measured success rate into the economics."""
    if not campaign_applies():
        return
    effect = show_input_error(lambda: current_campaign_effect()[1])
    names = [a.name for a in scenario.economics.actions]
    note = measured_success_note(scenario.economics)
    if note:
        st.caption(note)
        return
    left, right = st.columns([2, 3], vertical_alignment="bottom")
    action = left.selectbox(
        f"A campaign measured a success rate of {percent(effect.success_rate)} "
        f"({percent(effect.success_low)} to {percent(effect.success_high)}); take it for",
        names,
        index=len(names) - 1,
        key="decide_measured_action",
        help=f"Measured on {current_campaign().name}, with a random control group "
        '(the "Did it work?" page). It replaces the rate typed for this action.',
    )
    if right.button(
        f"Use the measured {percent(effect.success_rate)}",
        icon=":material/input:",
        key="decide_use_measured",
    ):
        take_measured_success(action)
        st.rerun()


@st.fragment
def decide_fragment() -> None:
    scenario = current_scenario()
    tested = None
    with st.container(border=True):
        target = _target_control(scenario)
        uplift = target == "uplift"
        choice = _choice_controls(scenario, uplift)
        if not uplift:
            _measured_success_control(scenario)
        with st.expander("Economics: customer value and actions", expanded=False):
            try:
                economics = _economics_controls(scenario)
            except ChurnInputError as exc:
                st.error(f"{exc} The last valid economics are used until this is fixed.")
                economics = scenario.economics
        if uplift:
            tested = _tested_action_control(scenario, economics)
            ranking = "churn_probability"
        else:
            ranking = _ranking_control(scenario, choice, economics)
    try:
        new = Scenario(
            choice=choice, economics=economics, ranking=ranking, target=target, tested_action=tested
        )
    except ChurnInputError as exc:
        st.error(str(exc))
        new = scenario
    if new != scenario:
        set_scenario(new)
    if uplift:
        try:
            _uplift_results(new)
        except ChurnInputError as exc:
            st.error(str(exc))
        return
    try:
        decision = current_decision()
    except ChurnInputError as exc:
        st.error(str(exc))
        return
    try:
        _results(decision, new)
    except ChurnInputError as exc:  # a fragment rerun does not pass through app.py
        st.error(str(exc))


def _results(decision, scenario: Scenario) -> None:
    economics = scenario.economics
    profits = current_baselines()
    specs = _chart_specs(
        artifact,
        artifact.fingerprint,
        economics_key(scenario),
        repr(tuple(decision.tiers)),
        decision,
        profits,
    )
    m = decision.metrics()
    st.markdown("; ".join(export.describe_rules(decision.rules, NO_ACTION_LABEL)) + ".")
    c1, c2, c3, c4 = st.columns(4)
    c1.metric(
        "Contacted",
        percent(decision.share_targeted),
        help=f"{decision.n_targeted:,} of {decision.n_customers:,} holdout customers",
    )
    c2.metric(
        "Precision",
        percent(decision.precision),
        help="Share of contacted customers who would have churned.",
    )
    c3.metric("Recall", percent(decision.recall), help="Share of all churners who are contacted.")
    c4.metric(
        "Profit per customer",
        money(m["profit_per_customer"], 2),
        help="Realised on the holdout outcomes.",
    )
    st.caption(
        f"Profit per customer, 95% interval over holdout resamples: "
        f"{money(m['profit_per_customer_low'], 2)} to {money(m['profit_per_customer_high'], 2)}. "
        f"From the model's probabilities: {money(m['expected_profit_per_customer'], 2)} "
        f"(range over the per-customer intervals {money(m['expected_profit_per_customer_low'], 2)}"
        f" to {money(m['expected_profit_per_customer_high'], 2)})."
    )
    ahead = _on_base(decision, economics)
    on_base = ahead["estimated"]
    note = economics_note(decision, profits)
    if note:
        st.info(note, icon=":material/balance:")
    if decision.capacity is not None:
        st.markdown(f"**Capacity:** {decision.capacity.sentence()}.")
    same = (
        ""
        # scoring these rows again would give in-sample scores (not so a scored base)
        if acting_on_training_table() and current_scored_base() is None
        else "; `score --policy` gives these customers the same actions"
    )
    st.info(
        f"**On the {on_base['customers']:,} customers of the current base** (listed on the "
        f"Customers page) this policy contacts exactly {on_base['contacted']:,} "
        f"({percent(on_base['share_targeted'])}), about "
        f"{on_base['churners_contacted']:,.0f} of them expected to churn, for an expected "
        f"value of {money(on_base['profit'])}{same}. It can differ from the holdout: the base "
        f"is {base_description()}.",
        icon=":material/groups:",
    )

    st.markdown("**Profit against share contacted**")
    points = charts.profit_points(decision.curve, decision.row, decision.best_row)
    st.vega_lite_chart(with_dataset(specs["profit"], charts.PROFIT_POINTS, points), width="stretch")
    st.markdown("**What the decision does on the holdout**")
    st.dataframe(report.confusion_table(decision.confusion), width="stretch")
    counts = ", ".join(f"{action_label(k)}: {v:,}" for k, v in decision.actions_count.items())
    st.caption(
        "Contacted churners: what the actions save net of their cost; contacted stayers: "
        "incentives and contacts spent on them. Churners not contacted: value that walks away "
        "(not part of the profit, which compares with doing nothing). "
        f"Actions on the holdout: {counts}."
    )

    st.markdown("**Compared with the alternatives** (profit per customer on the holdout)")
    bars = charts.comparison_rows(profits)
    st.vega_lite_chart(with_dataset(specs["comparison"], charts.COMPARISON, bars), width="stretch")

    st.markdown("**Customers the model is unsure about**")
    if ahead["review"] is None:
        st.caption(
            "The review list is made on the customers scored in the app; a scored base opened "
            "from the command line keeps only the probabilities (close it to see the list)."
        )
        return
    st.markdown(
        f"{ahead['review']:,} of the {len(base):,} customers in the current base "
        f"({percent(ahead['share_review'])}) have a probability interval that crosses a cut-off: "
        "within what the model can tell, they could get a different action."
    )
    if ahead["review"]:
        _review_section(decision, economics)


def _on_base(decision, economics: Economics) -> dict:
    """What the policy does on the customers the pages act on: a scored base opened from
    the command line (sorted once: a few binary searches), or the base scored in the app."""
    scored = current_scored_base()
    if scored is not None:
        estimated = scored.outlook(decision.rules, economics, decision.capacity)
        return {"estimated": estimated, "review": None, "share_review": None}
    return on_customers(decision, economics, base, artifact.id_column)


def _uplift_results(scenario: Scenario) -> None:
    """What the uplift policy does: on the campaign's holdout (measured) and on the base."""
    decision = current_uplift_decision()
    model = current_campaign_model()
    cut = decision.min_uplift
    if cut is None:
        rule = "Contact nobody: no customer's expected gain from the contact is positive"
    elif decision.capacity is not None:
        rule = f"{decision.action} for {decision.capacity.sentence()}"
    else:
        rule = f"{decision.action} for customers whose measured uplift is at least {cut:.3f}"
    st.markdown(rule + ".")
    c1, c2, c3 = st.columns(3)
    c1.metric(
        "Contacted",
        percent(decision.share_contacted),
        help=f"{decision.n_contacted:,} of the {decision.n_customers:,} customers of the "
        "campaign's holdout",
    )
    kept = decision.kept_per_1000
    c2.metric(
        "Kept per 1,000 contacts",
        "n/a" if kept != kept else f"{kept:,.0f}",
        help="Measured on the holdout outcomes: the control minus the contacted churn rate "
        "among the customers the policy contacts, per 1,000 contacts.",
    )
    c3.metric(
        "Expected profit per customer",
        money(decision.expected_gain, 2),
        help="The model's expected gain of the contacts (uplift × value − contact − "
        "incentive paid by those who stay), per holdout customer.",
    )
    interval = (
        ""
        if kept != kept
        else f"Kept per 1,000 contacts, 95% interval {decision.kept_low:,.0f} to "
        f"{decision.kept_high:,.0f}. "
    )
    st.caption(
        f"{interval}Measured on the {decision.n_customers:,} customers of the campaign "
        f"{model.results['source'] or current_campaign().name} held back from its uplift "
        "model. The campaign kept the average customer with "
        f"{percent(model.results['success_rate']['estimate'])} success; targeting by uplift "
        "spends the contacts where the measured effect is largest."
    )
    on_base = current_uplift_on_base()
    contacted = int((on_base["action"] != NO_ACTION).sum())
    st.info(
        f"**On the {len(on_base):,} customers of the current base** (listed on the Customers "
        f"page) this policy contacts exactly {contacted:,} "
        f"({percent(contacted / len(on_base) if len(on_base) else 0.0)}); "
        "`score --model` with the campaign model and this policy gives them the same actions. "
        f"The base is {base_description()}.",
        icon=":material/groups:",
    )


def _review_section(decision, economics: Economics) -> None:
    doubtful = review_on_customers(
        decision, economics, base, artifact.id_column, default_action=NO_ACTION_LABEL
    )
    reviewed = st.number_input(
        "Customers the team can review",
        0,
        len(doubtful),
        min(100, len(doubtful)),
        10,
        key="decide_review_n",
        help="The doubtful customers are ranked by what a review is worth: how far their "
        "interval reaches across the cut-off, times the money the two actions differ by.",
    )
    worth = targeting.review_worth(doubtful, reviewed)
    st.markdown(
        f"Reviewing the **{worth['reviewed']:,}** with the most at stake is worth about "
        f"**{money(worth['worth'])}** in expected profit: "
        f"{percent(worth['share'])} of the {money(worth['worth_all'])} at stake over all "
        f"{len(doubtful):,} doubtful customers."
    )
    listed = doubtful.head(worth["reviewed"]).drop(columns=["position"])
    if artifact.id_column is None:
        listed = listed.assign(row=doubtful["position"].head(worth["reviewed"]) + 1)
    st.dataframe(
        listed,
        hide_index=True,
        column_config={
            "churn_probability": st.column_config.NumberColumn(
                "Churn probability", format="percent"
            ),
            "probability_low": st.column_config.NumberColumn("Low", format="percent"),
            "probability_high": st.column_config.NumberColumn("High", format="percent"),
            "action": st.column_config.TextColumn("Action now"),
            "could_be": st.column_config.TextColumn("Could be"),
            "worth": st.column_config.NumberColumn(
                "Worth of a review",
                format="dollar",
                help="Expected profit a review that found the true probability would add",
            ),
        },
    )
    st.download_button(
        f"Download the review list ({worth['reviewed']:,} customers, CSV)",
        to_safe_csv(listed),
        file_name="churn-review-list.csv",
        mime="text/csv",
        on_click="ignore",
    )


decide_fragment()

with st.expander("How these numbers are computed"):
    st.markdown(
        "- A contacted **would-be churner** is worth *success × (value − incentive) − contact*; "
        "a contacted customer who **would have stayed** costs *incentive + contact* "
        "(Verbraken et al. 2013). Not contacting anyone is the zero line.\n"
        "- With several actions, the cut-offs between them are the ones that maximise profit "
        "on the holdout (exact dynamic programming).\n"
        "- The band around the profit curve is the 95% bootstrap interval over holdout "
        "resamples.\n"
        f"- The holdout has {len(artifact.holdout):,} customers; precision and recall are "
        "counted on their real outcomes.\n"
        '- **Targeting by measured uplift** (with a campaign, "Did it work?" page): a '
        "contact is worth *uplift × value − contact − (1 − churn if contacted) × incentive*, "
        "the uplift coming from the campaign model; maximum profit contacts the customers whose "
        "expected gain is positive (as a cut-off on the uplift), measured on the campaign's "
        "holdout, whose kept customers per 1,000 contacts come from the real outcomes."
    )
