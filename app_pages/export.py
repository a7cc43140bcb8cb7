"""Export: the policy file, the model it is for, the commands and a golden test for engineering."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pandas as pd
import streamlit as st

from churn import campaign_report, export, memo
from churn.artifact import Artifact
from churn.customers import SCORE_COLUMNS, sanitise_for_spreadsheet, to_safe_csv
from churn.economics import NO_ACTION, Economics
from churn.errors import ChurnInputError
from churn.formatting import action_label, money, percent
from churn.monitor import monitor
from churn.policy import REVIEW_AFTER_DAYS, Decision, build_policy, rules_of
from churn.sample import CAMPAIGN_PATH
from app_pages.common import (
    acting_on_training_table,
    base_key,
    current_artifact,
    current_base,
    current_baselines,
    current_campaign,
    current_campaign_model,
    current_decision,
    current_scenario,
    current_uplift_decision,
    current_uplift_policy,
    model_cache,
    scenario_key,
    show_input_error,
    targets_uplift,
)

MODEL_DIR, SCORES_PATH, ECONOMICS_PATH = export.MODEL_DIR, export.SCORES_PATH, export.ECONOMICS_PATH
GOLDEN_PATH = "golden-sample.csv"


@model_cache(show_spinner="Choosing the golden customers...", max_entries=16)
def _golden(_artifact: Artifact, fingerprint: str, key: str, _policy: dict) -> pd.DataFrame:
    base = current_base().drop(columns=list(SCORE_COLUMNS))
    return export.golden_sample(_artifact, base, _policy, n=20, seed=0)


@model_cache(show_spinner="Packing the model...", max_entries=2)
def _model_zip(_artifact: Artifact, fingerprint: str) -> bytes:
    return export.model_zip(_artifact)


#: Memos kept per session (the newest few): each takes a second or two to draw.
MEMOS_KEPT = 4


def _memo_builder(
    artifact: Artifact,
    policy: dict,
    decision: Decision,
    economics: Economics,
    base: pd.DataFrame | None,
    key: str,
) -> Callable[[], str]:
    """What the memo button runs when clicked (on a thread of its own, outside the page's
    run): :func:`churn.memo.build_memo` for the page's policy, with the current base
    monitored when it is a later snapshot than the training data. Kept in the session, so
    a second click, or the same decision later, costs nothing; nothing is shared with other
    sessions."""
    kept = st.session_state.setdefault("_memo_cache", {})
    today = datetime.now(UTC).date()
    key = f"{artifact.fingerprint}|{key}|{policy['created_at'][:10]}|{today.isoformat()}"

    def build() -> str:
        if key not in kept:
            report = None
            if base is not None:
                report = monitor(
                    artifact,
                    base,
                    decision.rules,
                    economics,
                    p=base["churn_probability"].to_numpy(),
                    review_by=policy["review_by"],
                    today=today,
                    capacity=decision.capacity,
                )
            while len(kept) >= MEMOS_KEPT:
                kept.pop(next(iter(kept)))
            try:
                kept[key] = memo.build_memo(artifact, policy, monitor=report, today=today)
            except ChurnInputError as exc:  # the click gets the sentence, not a traceback
                return memo.error_page(str(exc))
        return kept[key]

    return build


CAMPAIGN_DIR = "models/campaign"


def _uplift_export() -> None:
    """Export a policy that targets by measured uplift, with the campaign model it is for."""
    model = show_input_error(current_campaign_model)
    policy = show_input_error(current_uplift_policy)
    decision = current_uplift_decision()
    text = export.policy_json(policy)
    name = export.policy_file_name(policy)
    campaign = current_campaign()
    source = f"data/{CAMPAIGN_PATH.name}" if campaign.upload is None else campaign.name
    st.title("Export")
    st.caption(
        "Everything engineering needs so that production makes the decision chosen on Decide: "
        "a policy that targets by **measured uplift** (schema version 3), the campaign model "
        "it applies to and the commands to run. Nothing is saved on the server; every file is "
        "a download."
    )
    st.subheader("The policy")
    left, right = st.columns([2, 3])
    with left:
        st.markdown("Each scored customer gets:")
        for line in campaign_report.describe_uplift_policy(policy, action_label(NO_ACTION)):
            st.markdown(f"- {line}")
        expected = policy["expected"]
        kept = decision.kept_per_1000
        st.caption(
            f"Chosen by `{policy['choice']['method']}`"
            + (f" = {policy['choice']['value']:g}" if policy["choice"]["value"] is not None else "")
            + f". On the {expected['evaluated_on']}: {percent(expected['share_targeted'])} "
            "contacted"
            + ("" if kept != kept else f", {kept:,.0f} customers kept per 1,000 contacts")
            + f", {money(expected['expected_profit_per_customer'], 2)} expected profit per "
            "customer."
        )
        st.download_button(
            "Download the policy (JSON)",
            data=text,
            file_name=name,
            mime="application/json",
            icon=":material/download:",
            on_click="ignore",
        )
        st.info(
            f"**Review by {policy['review_by']}** ({REVIEW_AFTER_DAYS} days after export). "
            "Run a new campaign with a control group by then: effects change with customers, "
            "offers and prices.",
            icon=":material/event:",
        )
    with right:
        st.code(text, language="json", height=420, wrap_lines=True)

    st.subheader("The campaign model it is for")
    st.markdown("Model fingerprint (sha256 of every file of the campaign model):")
    st.code(model.fingerprint, language=None)
    zip_name = f"campaign-model-{model.fingerprint[:12]}.zip"
    st.download_button(
        "Download the campaign model (zip)",
        data=_campaign_zip(campaign.key, campaign.upload, model),
        file_name=zip_name,
        mime="application/zip",
        icon=":material/download:",
        on_click="ignore",
    )
    st.subheader("Commands for engineering")
    score_cmd = export.score_command(CAMPAIGN_DIR, score_data, name, SCORES_PATH)
    with_app_model, with_own_model = st.tabs(["With this app's model", "With a model you train"])
    with with_app_model:
        st.code(
            "# 1. Unzip the campaign model downloaded above\n"
            f"python -m zipfile -e {zip_name} {CAMPAIGN_DIR}\n"
            "# 2. Score customers with the downloaded policy (adds uplift and action)\n"
            f"{score_cmd}\n",
            language="bash",
            wrap_lines=True,
        )
    with with_own_model:
        st.code(
            "# 1. Train on the same campaign with the same seed: same model, same fingerprint\n"
            + campaign_report.campaign_command(
                source, model.results["roles"], CAMPAIGN_DIR, model.uplift.random_state
            )
            + "\n# 2. Score customers with the downloaded policy\n"
            f"{score_cmd}\n",
            language="bash",
            wrap_lines=True,
        )
    st.caption(
        "Scoring writes, per customer, the churn probability without and with contact, the "
        "uplift and its interval, and the action: exactly the actions the Customers page lists "
        "for the same customers. (The golden test of a churn-risk policy is not made for an "
        "uplift policy.)"
    )


@model_cache(show_spinner="Packing the campaign model...", max_entries=2)
def _campaign_zip(key: str, upload: tuple[str, bytes] | None, _model) -> bytes:
    return export.model_zip(_model)


artifact = current_artifact()
scenario = current_scenario()
train_data, score_data = export.data_paths(artifact)
if targets_uplift():
    _uplift_export()
    st.stop()
decision = show_input_error(current_decision)
key = scenario_key(scenario)
baselines = show_input_error(current_baselines)
policy = show_input_error(
    lambda: build_policy(decision, scenario.economics, artifact.fingerprint, baselines=baselines)
)
policy_text = export.policy_json(policy)
policy_name = export.policy_file_name(policy)

st.title("Export")
st.caption(
    "Everything engineering needs so that production makes the decision chosen here: the "
    "policy file, the model it belongs to, the commands to run and a golden test. Nothing is "
    "saved on the server; every file is a download."
)

st.subheader("For stakeholders")
st.download_button(
    "Download the decision memo (HTML)",
    data=_memo_builder(
        artifact,
        policy,
        decision,
        scenario.economics,
        None if acting_on_training_table() else current_base(),
        key + base_key(),
    ),
    file_name=memo.memo_file_name(policy),
    mime="text/html",
    icon=":material/description:",
    on_click="ignore",
)
st.caption(
    "One HTML file with this decision for people who do not use the app: who is contacted "
    "and what it earns against the alternatives, whether the model can be relied on, the "
    "profit curve, what could go wrong (fairness, drift, the review date), the assumptions, "
    "and the fingerprint and commands for engineering. It opens offline, can be mailed, and "
    "prints on A4 or Letter. It is drawn when you click (a second or two)."
)

st.subheader("The policy")
left, right = st.columns([2, 3])
with left:
    st.markdown("Each customer gets the action of the highest cut-off their probability reaches:")
    for line in export.describe_rules(rules_of(policy), action_label(policy["default_action"])):
        st.markdown(f"- {line}")
    if decision.capacity is not None:
        st.markdown(
            "Then the capacity cuts every scored batch: " + decision.capacity.sentence() + "."
        )
    expected = policy["expected"]
    st.caption(
        f"Chosen by `{policy['choice']['method']}`"
        + (f" = {policy['choice']['value']:g}" if policy["choice"]["value"] is not None else "")
        + f". On the {expected['evaluated_on']}: {percent(expected['share_targeted'])} "
        f"contacted, {money(expected['profit_per_customer'], 2)} profit per customer."
    )
    st.download_button(
        "Download the policy (JSON)",
        data=policy_text,
        file_name=policy_name,
        mime="application/json",
        icon=":material/download:",
        on_click="ignore",
    )
    st.info(
        f"**Review by {policy['review_by']}** ({REVIEW_AFTER_DAYS} days after export). Customers, "
        "prices and the model's data drift: check the policy against fresh outcomes by then, "
        "retrain, and export again.",
        icon=":material/event:",
    )
with right:
    st.code(policy_text, language="json", height=420, wrap_lines=True)

st.subheader("The model it is for")
st.markdown("Model fingerprint (sha256 of every file of the model):")
st.code(artifact.fingerprint, language=None)
st.caption(
    "Scoring refuses a policy whose fingerprint is not the model's. Training again on the same "
    "data with the same seed gives the same model and the same fingerprint, so this policy "
    "also fits a model engineering retrains that way (second tab below)."
)
st.download_button(
    "Download this model (zip)",
    data=_model_zip(artifact, artifact.fingerprint),
    file_name=export.model_zip_name(artifact),
    mime="application/zip",
    icon=":material/download:",
    on_click="ignore",
)

st.subheader("Commands for engineering")
st.markdown(
    f"The model directory is the one `python -m churn train` wrote (its `--out`, here "
    f"`{MODEL_DIR}`). Scoring adds an `action` column to the churn probability and its interval."
)
train_cmd = export.train_command(
    train_data,
    export.training_mapping(artifact),
    MODEL_DIR,
    seed=artifact.model_facts["random_state"],
)
score_cmd = export.score_command(MODEL_DIR, score_data, policy_name, SCORES_PATH)
with_app_model, with_own_model = st.tabs(["With this app's model", "With a model you train"])
with with_app_model:
    st.code(
        "# 1. Unzip the model downloaded above into the model directory\n"
        f"python -m zipfile -e {export.model_zip_name(artifact)} {MODEL_DIR}\n"
        "# 2. Score customers with the downloaded policy\n"
        f"{score_cmd}\n",
        language="bash",
        wrap_lines=True,
    )
with with_own_model:
    economics_text = export.economics_json(scenario.economics)
    st.code(
        "# 1. Train on the same data with the same seed: same model, same fingerprint\n"
        f"{train_cmd}\n"
        "# 2. Score customers with the downloaded policy\n"
        f"{score_cmd}\n",
        language="bash",
        wrap_lines=True,
    )
    st.markdown(
        "For a model trained on **other** data (it has its own fingerprint), export the same "
        "choice and economics for it instead of step 2's policy:"
    )
    st.code(
        f"cat > {ECONOMICS_PATH} <<'EOF'\n{economics_text}EOF\n"
        + export.policy_command(
            MODEL_DIR,
            policy_name,
            decision.choice,
            ECONOMICS_PATH,
            ranking=scenario.ranking,
            batch_size=decision.batch_size,
        )
        + "\n"
        f"{score_cmd}\n",
        language="bash",
        wrap_lines=True,
    )

st.subheader("Golden test")
golden = show_input_error(lambda: _golden(artifact, artifact.fingerprint, key + base_key(), policy))
st.markdown(
    f"{len(golden)} customers of the latest snapshot with the probability and action the "
    "policy must give them: an example of every action, the customers closest to each "
    "cut-off on both sides, and random ones."
)
first = [c for c in (artifact.id_column, "churn_probability", "expected_action") if c]
first.append("chosen_because")
st.dataframe(
    sanitise_for_spreadsheet(golden),  # as in the file (the table's toolbar can save a CSV)
    hide_index=True,
    height="content",
    column_order=[*first, *[c for c in golden.columns if c not in first]],
    column_config={
        "churn_probability": st.column_config.NumberColumn("churn_probability", format="%.6f"),
        "chosen_because": st.column_config.TextColumn("chosen because", width="large"),
    },
)
st.download_button(
    f"Download the golden sample ({GOLDEN_PATH})",
    data=to_safe_csv(golden, decimals=None),  # checked to 1e-6: every digit kept
    file_name=GOLDEN_PATH,
    mime="text/csv",
    icon=":material/download:",
    on_click="ignore",
)
st.markdown(
    f"Put `{GOLDEN_PATH}` next to the model directory and the policy, then run this; it "
    "scores the sample and checks that every `churn_probability` agrees to 6 decimal places "
    "and every `action` equals `expected_action`:"
)
st.code(
    export.golden_commands(MODEL_DIR, policy_name, GOLDEN_PATH), language="bash", wrap_lines=True
)
