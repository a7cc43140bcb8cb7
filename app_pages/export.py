"""Export: the policy file, the model it is for, the commands and a golden test for engineering."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from churn import export
from churn.artifact import Artifact
from churn.customers import SCORE_COLUMNS, sanitise_for_spreadsheet, to_safe_csv
from churn.formatting import action_label, money, percent
from churn.policy import REVIEW_AFTER_DAYS, build_policy, rules_of
from churn.sample import NEW_BATCH_PATH, SAMPLE_PATH
from app_pages.common import (
    base_key,
    current_artifact,
    current_base,
    current_baselines,
    current_decision,
    current_scenario,
    model_cache,
    scenario_key,
    show_input_error,
)

MODEL_DIR = "models/churn"
SCORES_PATH = "scores.csv"
ECONOMICS_PATH = "economics.json"
GOLDEN_PATH = "golden-sample.csv"


@model_cache(show_spinner="Choosing the golden customers...", max_entries=16)
def _golden(_artifact: Artifact, fingerprint: str, key: str, _policy: dict) -> pd.DataFrame:
    base = current_base().drop(columns=list(SCORE_COLUMNS))
    return export.golden_sample(_artifact, base, _policy, n=20, seed=0)


@model_cache(show_spinner="Packing the model...", max_entries=2)
def _model_zip(_artifact: Artifact, fingerprint: str) -> bytes:
    return export.model_zip(_artifact)


artifact = current_artifact()
scenario = current_scenario()
decision = show_input_error(current_decision)
key = scenario_key(scenario)
baselines = show_input_error(current_baselines)
policy = show_input_error(
    lambda: build_policy(decision, scenario.economics, artifact.fingerprint, baselines=baselines)
)
policy_text = export.policy_json(policy)
policy_name = export.policy_file_name(policy)
is_sample = artifact.info.source == SAMPLE_PATH.name
train_data = f"data/{SAMPLE_PATH.name}" if is_sample else artifact.info.source or "data.csv"
score_data = f"data/{NEW_BATCH_PATH.name}" if is_sample else "customers.csv"

st.title("Export")
st.caption(
    "Everything engineering needs so that production makes the decision chosen here: the "
    "policy file, the model it belongs to, the commands to run and a golden test. Nothing is "
    "saved on the server; every file is a download."
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
    train_data, export.training_mapping(artifact), MODEL_DIR, seed=artifact.model.random_state
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
