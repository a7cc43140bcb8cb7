"""Your data: upload a table, map its columns, read the data checks, train on it.

Everything here stays in the visitor's session: the upload, the model trained on
it and every figure computed from it (see ``app_pages.common.model_cache``).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from churn.checks import ColumnMapping, check_data, report_lines
from churn.data import positive_choices
from churn.errors import ChurnInputError
from churn.ingest import MAX_UPLOAD_MB, read_bytes
from churn.suggest import leak_columns, suggest_mapping
from churn.training import train
from app_pages.common import current_artifact, forget_snapshot, reset_scenario, using_upload

NONE = "(none)"


def _why(role: str, column: str | None) -> None:
    """A caption saying why ``column`` was suggested for ``role`` (nothing if it was not)."""
    reason = suggested["why"].get(role, {}).get(column)
    if reason:
        st.caption(f"Suggested: {reason}.")


st.title("Use your own data")
st.caption(
    "Upload a churn table (one row per customer, a column that says who left): CSV with any "
    f"common delimiter and encoding, Parquet or Excel (.xlsx), up to {MAX_UPLOAD_MB} MB. The "
    "file, the model trained on it and every figure from it stay in your session only: other "
    "visitors never see them, and they are gone when you close the tab."
)

if using_upload():
    artifact = current_artifact()
    st.success(
        f"The app is using your table **{artifact.info.source}** "
        f"({artifact.info.rows:,} customers, model `{artifact.fingerprint[:12]}`)."
    )
    if st.button("Back to the sample data"):
        for key in ("user_artifact", "user_table", "_upload_cache", "upload", "upload_keep"):
            st.session_state.pop(key, None)
        forget_snapshot()
        # a new uploader key empties the file widget too, so the file is not read back in
        st.session_state["upload_version"] = st.session_state.get("upload_version", 0) + 1
        reset_scenario()
        st.rerun()

uploaded = st.file_uploader(
    "Customer table",
    type=["csv", "tsv", "txt", "parquet", "xlsx"],
    key=f"upload_file_{st.session_state.get('upload_version', 0)}",
)
if uploaded is None:
    st.info("Choose a file to start. Nothing is read until you do.")
    st.stop()

stored = st.session_state.get("upload")
if stored is None or stored["file_id"] != uploaded.file_id:
    try:
        frame = read_bytes(uploaded.getvalue(), uploaded.name)
    except ChurnInputError as exc:
        st.error(str(exc))
        st.stop()
    stored = {
        "file_id": uploaded.file_id,
        "name": uploaded.name,
        "frame": frame,
        "suggested": suggest_mapping(frame),
        "by_id": {},
    }
    st.session_state["upload"] = stored
    st.session_state.pop("upload_keep", None)  # put-back choices belong to the previous file
frame: pd.DataFrame = stored["frame"]
suggested = stored["suggested"]
columns = list(frame.columns)
st.write(f"**{stored['name']}**: {len(frame):,} rows, {len(columns)} columns.")
st.dataframe(frame.head(20), hide_index=True, height=250)

st.subheader("What is in each column?")
left, right = st.columns(2)
targets = suggested["target"] + [c for c in columns if c not in suggested["target"]]
target = left.selectbox(
    "Churn column (the target)",
    targets,
    help="Suggested: two-valued columns whose name or values say churn.",
)
with left:
    _why("target", target)
try:
    values = positive_choices(frame[target])
except ChurnInputError as exc:
    st.error(str(exc))
    st.stop()
suggested_positive = suggest_mapping(frame[[target]])["positive"].get(target)
positive = left.selectbox(
    "Which value means the customer left?",
    values,
    index=values.index(suggested_positive) if suggested_positive in values else 0,
)
# columns that leak this target are never offered for a role (the checks leave them out)
leaks_by_target = stored.setdefault("leaks", {})
if (target, positive) not in leaks_by_target:
    leaks_by_target[(target, positive)] = leak_columns(frame, target, positive)
leaks = leaks_by_target[(target, positive)]
id_options = [
    NONE,
    *suggested["id_column"],
    *[c for c in columns if c not in suggested["id_column"]],
]
id_choice = left.selectbox(
    "Customer id column",
    [c for c in id_options if c != target],
    index=1 if suggested["id_column"] else 0,
    help="Suggested: columns unique for every row. Ids are never used as features.",
)
id_column = None if id_choice == NONE else id_choice
with left:
    _why("id_column", id_column)
if id_column is not None and pd.api.types.is_numeric_dtype(frame[id_column]):
    # read the ids again as text, so that 00123 stays 00123 (as the CLI's --id does)
    if id_column not in stored["by_id"]:
        stored["by_id"] = {
            id_column: read_bytes(uploaded.getvalue(), uploaded.name, text_columns=(id_column,))
        }
    frame = stored["by_id"][id_column]
numeric = [
    c for c in columns if pd.api.types.is_numeric_dtype(frame[c]) and c != target and c not in leaks
]
suggested_values = [c for c in suggested["value_column"] if c in numeric]
value_kind = right.radio(
    "Customer value (what keeping a customer is worth)",
    ["A constant", "A column"],
    index=1 if suggested_values else 0,
    horizontal=True,
)
value_column = None
if value_kind == "A column":
    value_options = suggested_values + [c for c in numeric if c not in suggested_values]
    if not value_options:
        right.warning("No numeric column to use; the constant value is used.")
    else:
        value_column = right.selectbox(
            "Value column",
            value_options,
            help="A customer lifetime value is suggested before a monthly charge; columns "
            "that leak the churn column are not offered.",
        )
        with right:
            _why("value_column", value_column)
else:
    right.caption("The Decide page lets you set the amount ($500 per customer by default).")
segment_options = [c for c in columns if c != target and c not in leaks]
suggested_segments = [c for c in suggested["segments"] if c in segment_options]
segments = right.multiselect(
    "Segment attributes for fairness checks",
    segment_options,
    default=suggested_segments,
    help="Suggested: columns named like a personal attribute or a place, with two values or "
    "more. Columns that leak the churn column are not offered.",
)
if suggested_segments:
    right.caption(
        "Suggested: "
        + "; ".join(f"{c} ({suggested['why']['segments'][c]})" for c in suggested_segments)
        + "."
    )
exclude = right.multiselect(
    "Columns to leave out of the model", [c for c in columns if c not in (target, id_column)]
)
keep = st.session_state.get("upload_keep", [])

mapping = ColumnMapping(
    target=target,
    positive=positive,
    id_column=id_column,
    value_column=value_column,
    segments=tuple(segments),
    exclude=tuple(exclude),
    keep=tuple(k for k in keep if k in columns),
)
try:
    check = check_data(frame, mapping)
except ChurnInputError as exc:
    st.error(str(exc))
    st.stop()

st.subheader("Data checks")
report = check.report
balance = report["class_balance"]
c1, c2, c3, c4 = st.columns(4)
c1.metric("Customers", f"{report['rows']:,}")
c2.metric("Churned", f"{balance['churned']:,} ({balance['churn_rate']:.1%})")
c3.metric("Features used", f"{len(report['features'])}")
c4.metric("Left out", f"{len(report['left_out'])}")
for problem in report["problems"]:
    where = f"**{problem['column']}**: " if problem["column"] else ""
    (st.warning if problem["severity"] == "warning" else st.info)(where + problem["message"])
details = pd.DataFrame(report["column_details"])
shown = pd.DataFrame(
    {
        "Column": details["name"],
        "Role": details.get("role", pd.Series(dtype="str")).fillna(""),
        "Kind": details.get("kind", pd.Series(dtype="str")).fillna(""),
        "Missing": details.get("missing_rate", pd.Series(dtype=float)),
        "Distinct values": details.get("distinct", pd.Series(dtype=float)),
        "Why left out": details.get("reason", pd.Series(dtype="str")).fillna(""),
    }
)
st.dataframe(
    shown,
    hide_index=True,
    column_config={"Missing": st.column_config.NumberColumn(format="percent")},
)
put_back = [c for c in report["left_out"] if c not in exclude]
if put_back or keep:
    st.multiselect(
        "Put a left-out column back (only if you are sure it is known before a customer leaves)",
        sorted(set(put_back) | set(keep)),
        key="upload_keep",
    )

st.divider()
if st.button("Train on this table", type="primary"):
    with st.status("Training on your table...", expanded=True) as status:
        try:
            artifact = train(frame, check, source=stored["name"], progress=status.write)
        except ChurnInputError as exc:
            status.update(label="Training stopped", state="error")
            st.error(str(exc))
            st.stop()
        status.update(label="Trained", state="complete", expanded=False)
    st.session_state["user_artifact"] = artifact
    st.session_state["user_table"] = frame
    st.session_state.pop("_upload_cache", None)
    forget_snapshot()  # a snapshot to act on belonged to the previous model
    reset_scenario()
    st.rerun()

if using_upload():
    artifact = current_artifact()
    auc = artifact.metrics["model"]["roc_auc"]
    st.success(
        f"Model trained: holdout ROC-AUC {auc:.3f} (logistic regression "
        f"{artifact.metrics['logistic']['roc_auc']:.3f}, readable rule "
        f"{artifact.metrics['rule']['roc_auc']:.3f}). Every page now uses your table."
    )
    for warning in artifact.info.warnings:
        st.warning(warning)
    st.page_link("app_pages/decide.py", label="Go to Decide", icon=":material/tune:")
    with st.expander("The data-check report as text"):
        st.text("\n".join(report_lines(artifact.data_check or report)))
