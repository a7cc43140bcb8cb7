"""Property: random messy tables never produce a traceback, only a result or a clear error.

Hypothesis builds tables with mixed types, blanks, text numbers, dates, repeated and
odd column names, rare classes and leaky columns, writes them as CSV bytes in a random
delimiter and encoding, and runs the same path as the app and the CLI: read, suggest,
check, and (when the checks pass and the table is big enough) train and score.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from churn.artifact import Artifact
from churn.checks import ColumnMapping, check_data
from churn.errors import ChurnInputError
from churn.ingest import read_bytes
from churn.suggest import suggest_mapping
from churn.training import SCORE_COLUMNS, score_frame

CELL_KINDS = ["number", "text_number", "category", "date", "blank", "free_text", "bool"]


@st.composite
def messy_tables(draw) -> tuple[bytes, str]:
    rows = draw(st.sampled_from([200, 260, 40, 0, 1]))
    n_columns = draw(st.integers(min_value=0, max_value=6))
    seed = draw(st.integers(min_value=0, max_value=2**31 - 1))
    rng = np.random.default_rng(seed)
    columns: dict[str, list] = {}
    churn_rate = draw(st.sampled_from([0.3, 0.5, 0.02, 0.0]))
    target_kind = draw(st.sampled_from(["yes_no", "01", "words", "blank_some", "three"]))
    y = rng.random(rows) < churn_rate
    if target_kind == "yes_no":
        target = np.where(y, "Yes", "No").tolist()
    elif target_kind == "01":
        target = y.astype(int).tolist()
    elif target_kind == "words":
        target = np.where(y, "Attrited Customer", "Existing Customer").tolist()
    elif target_kind == "three":
        target = rng.choice(["a", "b", "c"], rows).tolist()
    else:
        target = np.where(y, "Yes", "No").astype(object)
        target[rng.random(rows) < 0.05] = ""
        target = target.tolist()
    for i in range(n_columns):
        kind = draw(st.sampled_from(CELL_KINDS))
        name = draw(st.sampled_from([f"c{i}", "", "Churn ", "id", f"col {i}", "ünïcode"]))
        if kind == "number":
            values = rng.normal(0, 1, rows).round(3).astype(object)
        elif kind == "text_number":
            values = np.array([f"${v:,.2f}" for v in rng.gamma(2, 50, rows)], dtype=object)
        elif kind == "category":
            values = rng.choice(["a", "b", "c", "d"], rows).astype(object)
        elif kind == "date":
            days = rng.integers(0, 900, rows)
            values = np.array(
                [(pd.Timestamp("2023-01-01") + pd.Timedelta(days=int(d))).date() for d in days],
                dtype=object,
            )
        elif kind == "blank":
            values = np.array([""] * rows, dtype=object)
        elif kind == "free_text":
            values = np.array([f"note {k} about the account" for k in range(rows)], dtype=object)
        else:
            values = rng.choice(["true", "false"], rows).astype(object)
        if rows:
            values[rng.random(rows) < draw(st.sampled_from([0.0, 0.1, 0.6]))] = ""
        if draw(st.integers(0, 5)) == 5 and rows:  # a leak: the target copied with a little noise
            values = np.where(y, "left", "stayed").astype(object)
        columns[f"{name}{'' if name not in columns else i}"] = list(values)
    frame = pd.DataFrame({**columns, "Churn": target})
    delimiter = draw(st.sampled_from([",", ";", "\t"]))
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "utf-16"]))
    text = frame.to_csv(sep=delimiter, index=False) if draw(st.integers(0, 9)) != 9 else ""
    return text.encode(encoding, errors="replace"), "Churn"


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(messy_tables())
def test_messy_tables_give_a_result_or_a_clear_error(
    train_table: Callable[..., Artifact], table: tuple[bytes, str]
) -> None:
    data, target = table
    try:
        frame = read_bytes(data, "messy.csv")
        suggestion = suggest_mapping(frame)
        assert set(suggestion) == {
            "target", "positive", "id_column", "value_column", "segments", "why", "leaks"
        }  # fmt: skip
        if target not in frame.columns:
            return
        mapping = ColumnMapping(target=target, positive=suggestion["positive"].get(target))
        check = check_data(frame, mapping)
        assert len(check.frame) == len(frame)  # every row accounted for
        assert set(check.preparation.features) <= set(frame.columns)
        if len(frame) >= 150:
            artifact = train_table(frame, target, positive=mapping.positive, n_boot=20)
            scored = score_frame(artifact, frame)
            assert len(scored) == len(frame)
            unscored = scored["churn_probability"].isna()
            assert (scored.loc[unscored, "score_note"].str.startswith("not scored")).all()
            assert scored.loc[~unscored, list(SCORE_COLUMNS)].notna().all().all()
    except ChurnInputError as exc:
        message = str(exc)
        assert message and "\n" not in message and "Traceback" not in message
