"""Why does it say that? SHAP explanations of the customer base and of one customer."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import streamlit as st

from churn import charts, formatting
from churn.customers import find_customer
from churn.errors import ChurnInputError
from churn.explain import (
    beeswarm_table,
    dependence_table,
    explain_customer,
    global_importance,
    missing_effect,
    reason_sentences,
    typical_customer,
    waterfall_table,
    what_if,
    what_if_inputs,
)
from churn.formatting import percent
from app_pages.common import (
    act_on_uploader,
    base_description,
    current_artifact,
    current_base,
    current_explanation,
    show_input_error,
)

TITLE = "Why does it say that?"


def _customer_ids(base: pd.DataFrame, id_column: str | None) -> pd.Series:
    if id_column is not None and id_column in base.columns:
        return base[id_column].astype("string").str.strip()
    return pd.Series([str(i + 1) for i in range(len(base))], index=base.index, dtype="string")


artifact = show_input_error(current_artifact)
st.title(TITLE)
act_on_uploader()  # before the base, so a snapshot can be changed whatever the base does
base = show_input_error(current_base)
expl = show_input_error(current_explanation)
typical = typical_customer(expl)
level = percent(artifact.model_facts["confidence"], 0)  # the per-customer interval's stated level
id_column = artifact.id_column
ids = _customer_ids(base, id_column)
id_label = id_column or "row number"

st.caption(
    f"SHAP values of the model's probability for the {len(base):,} customers of "
    f"{base_description()}. A typical customer (the model's average log-odds) has a churn "
    f"probability of {percent(typical['typical'])}, "
    f"{'below' if typical['typical'] < typical['average'] else 'above'} these customers' "
    "average probability "
    f"({percent(typical['average'])}): averaging on the log-odds scale gives the few customers "
    "who are very likely to leave less weight. Each feature moves a customer's probability up "
    "or down from there, and the moves add up exactly to the customer's probability. Moves are in "
    "percentage points: +5 points takes 20% to 25%. They explain the model, not the world: "
    "a feature with a large effect here is one the model relies on, which need not be a cause."
    + (f" The charts below are {expl.describe_sample()}." if expl.sampled else "")
)

# ------------------------------------------------------------------ the whole base
st.subheader("What drives churn overall")
importance = global_importance(expl)
left, right = st.columns([2, 3])
with left:
    st.markdown("**Average effect per feature**")
    st.altair_chart(charts.shap_importance_chart(importance), width="stretch")
with right:
    swarm = beeswarm_table(expl)
    st.markdown("**Effect per customer** (a sample of customers, top 10 features)")
    st.altair_chart(charts.shap_beeswarm_chart(swarm), width="stretch")
top = importance.iloc[0]
st.caption(
    f"`{top['feature']}` moves the probability most: by "
    f"{top['mean_abs_points'] * 100:.1f} points on average, up or down. Each dot on the right is "
    f"one customer ({swarm['row'].nunique():,} of {len(expl):,} shown); "
    f"{charts.BEESWARM_COLOURS}."
)

st.subheader("How one feature acts")
feature = st.selectbox(
    "Feature", importance["feature"].tolist(), index=0, key="why_dependence_feature"
)
dependence = dependence_table(expl, feature)
numeric = expl.kinds.get(feature) == "numeric"
st.altair_chart(charts.shap_dependence_chart(dependence, feature, numeric), width="stretch")
absent = missing_effect(expl, feature)
note = (
    f" {absent['customers']:,} customers have no value; on average that moves their "
    f"probability by {formatting.signed_points(absent['mean_points'])}."
    if numeric and absent["customers"]
    else ""
)
st.caption(
    f"Each dot is a customer (a sample of {len(dependence):,}): their `{feature}` and how much it "
    f"moves their churn probability.{note}"
)

# ------------------------------------------------------------------ one customer
st.subheader("One customer")
default_row = int(np.argmax(base["churn_probability"].to_numpy()))
typed = st.text_input(
    f"Customer ({id_label})",
    value=str(ids.iloc[default_row]),
    key="why_customer",
    help="Starts with the customer the model thinks most likely to churn.",
)
matches = find_customer(ids, typed)
if typed.strip() == "":
    st.info(f"Type a customer's {id_label} to see why the model gives them their probability.")
    st.stop()
if matches.size == 0:
    st.warning(
        f"There is no customer with {id_label} '{typed.strip()}' in the latest snapshot "
        f"(ids look like {ids.iloc[0]}). Try {ids.iloc[default_row]}, the customer the model "
        "rates most likely to churn."
    )
    st.stop()
row = int(matches[0])
customer_id = str(ids.iloc[row])
one, at = explain_customer(artifact, expl, base, row)  # exact, even outside a sample
p = float(base["churn_probability"].iloc[row])
low = float(base["probability_low"].iloc[row])
high = float(base["probability_high"].iloc[row])

c1, c2 = st.columns([1, 3])
with c1:
    st.metric("Churn probability", percent(p))
    st.caption(
        f"{level} interval {percent(low)} to {percent(high)}: the range the probability would "
        "plausibly take had the model been trained on another sample of similar customers."
    )
    st.markdown("**Top reasons**")
    for sentence in reason_sentences(one, at, k=5):
        st.markdown(f"- {sentence}")
with c2:
    st.altair_chart(charts.shap_waterfall_chart(waterfall_table(one, at, k=8)), width="stretch")
    st.caption(
        "From a typical customer's probability (grey) to this customer's (black). Orange-red "
        "bars raise the probability, blue bars lower it."
    )


# ------------------------------------------------------------------ what-if
def _widget(item: dict, key: str) -> object:
    feature, current = item["feature"], item["current"]
    if item["kind"] == "numeric":
        whole = current is None or float(current).is_integer()
        return st.number_input(
            feature,
            value=None if current is None else float(current),
            step=1.0 if whole else 0.1,
            key=key,
            format="%g",
            placeholder="missing (no value)",
        )
    options = list(item["options"])
    index = options.index(current) if current in options else None
    return st.selectbox(feature, options, index=index, key=key, placeholder="missing (no value)")


@st.fragment
def what_if_panel(row: int, customer_id: str) -> None:
    st.subheader("What if?")
    st.caption(
        "Change this customer's values for the features that move them most, and see the "
        "probability the model would give. This shows what the model does, not what a customer "
        "would do: changing a contract is not the same as the customer choosing one."
    )
    items = what_if_inputs(one, at, k=4)
    changes: dict[str, object] = {}
    columns = st.columns(len(items))
    for column, item in zip(columns, items, strict=True):
        with column:
            value = _widget(item, key=f"why_what_if_{customer_id}_{item['feature']}")
            changed = (
                not (value is None and item["current"] is None)
                and value != item["current"]
                and not (
                    isinstance(value, float)
                    and isinstance(item["current"], float)
                    and math.isclose(value, item["current"])
                )
            )
            if changed:
                changes[item["feature"]] = value
    try:
        result = what_if(artifact, base.iloc[[row]], changes)
    except ChurnInputError as exc:
        st.error(str(exc))
        return
    before, after = result["before"], result["after"]
    b1, b2, b3 = st.columns([1, 1, 2])
    b1.metric("Before", percent(before["probability"]))
    b1.caption(f"{level} interval {percent(before['low'])} to {percent(before['high'])}")
    b2.metric(
        "After the change",
        percent(after["probability"]),
        delta=f"{result['change'] * 100:+.1f} points" if changes else None,
        delta_color="inverse",
    )
    b2.caption(f"{level} interval {percent(after['low'])} to {percent(after['high'])}")
    with b3:
        st.altair_chart(charts.what_if_chart(result, level), width="stretch")
    if not changes:
        st.caption("Change a value above to see its effect.")


what_if_panel(row, customer_id)
