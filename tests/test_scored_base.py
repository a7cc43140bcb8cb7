"""A scored base from the command line, opened to decide on: the model check, the one sort,
and the list a page at a time, equal to the list the pages build for scored customers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from _cli import run
from streamlit.testing.v1 import AppTest

from churn import customers
from churn.data import write_table
from churn.economics import default_economics
from churn.errors import ChurnInputError
from churn.policy import DEFAULT_ACTION
from churn.scored_base import FINGERPRINT_KEY, read_scored_base
from churn.targeting import Capacity, Limit, PolicyRule
from churn.training import score_frame

RULES = [PolicyRule("Email offer", 0.2), PolicyRule("Call + discount", 0.45)]


@pytest.fixture(scope="module")
def scores_file(trained, new_batch_frame, tmp_path_factory) -> str:
    scored = score_frame(trained, new_batch_frame)
    scored.insert(1, "monthly_charges", new_batch_frame["monthly_charges"])
    path = tmp_path_factory.mktemp("scored") / "scores.parquet"
    write_table(scored, path, metadata={FINGERPRINT_KEY: trained.fingerprint})
    return str(path)


def test_score_records_the_model_and_copies_columns(cli_sample_model, tmp_path, capsys):
    from _cli import NEW_BATCH

    out = tmp_path / "scores.parquet"
    code, _, err = run(
        capsys,
        "score",
        "--model",
        cli_sample_model,
        "--data",
        NEW_BATCH,
        "--out",
        out,
        "--copy",
        "monthly_charges",
    )
    assert code == 0, err
    metadata = pq.read_schema(out).metadata
    manifest = (cli_sample_model / "manifest.json").read_text()
    assert metadata[FINGERPRINT_KEY.encode()].decode() in manifest
    assert pq.read_schema(out).names[:3] == ["customer_id", "monthly_charges", "churn_probability"]
    code, _, err = run(
        capsys,
        "score",
        "--model",
        cli_sample_model,
        "--data",
        NEW_BATCH,
        "--out",
        tmp_path / "x.parquet",
        "--copy",
        "nope",
    )
    assert code == 2 and "--copy nope" in err


@pytest.mark.parametrize(
    "capacity",
    [
        None,
        Capacity(total=Limit(customers=700)),
        Capacity(total=Limit(share=0.3), per_action=(("Call + discount", Limit(customers=90)),)),
        Capacity(total=Limit(customers=500), ranking="expected_value"),
    ],
)
def test_the_pages_of_a_scored_base_are_the_action_list(trained, scores_file, capacity):
    base = read_scored_base(scores_file, trained.fingerprint, "customer_id")
    frame = pd.read_parquet(scores_file)
    frame = frame[frame["churn_probability"].notna()].reset_index(drop=True)
    economics = default_economics(["monthly_charges"])
    listed = customers.action_list(
        frame, "customer_id", RULES, DEFAULT_ACTION, economics, segments=[], capacity=capacity
    )
    acted = listed["action"] != DEFAULT_ACTION
    pages = pd.concat(
        [base.page(RULES, economics, capacity, start, 700) for start in range(0, len(frame), 700)],
        ignore_index=True,
    )
    assert len(pages) == len(listed) == base.customers
    # the same action for every customer, and the acted-on ones in the same order
    by_id = pages.set_index("customer_id")["action"]
    assert by_id.loc[listed["customer_id"]].tolist() == listed["action"].tolist()
    n_acted = int(acted.sum())
    assert (
        pages["customer_id"].head(n_acted).tolist() == listed["customer_id"].head(n_acted).tolist()
    )
    if capacity is None or capacity.ranking == "churn_probability":
        assert pages["customer_id"].tolist() == listed["customer_id"].tolist()
    np.testing.assert_allclose(
        pages.set_index("customer_id").loc[listed["customer_id"], "expected_value"],
        listed["expected_value"],
        atol=1e-9,
    )
    summary = base.summary(RULES, economics, capacity).set_index("action")
    counts = listed["action"].value_counts()
    for action, row in summary.iterrows():
        assert row["customers"] == counts.get(action, 0)
        want = listed.loc[listed["action"] == action, "expected_value"].sum()
        assert row["expected_value"] == pytest.approx(want, abs=1e-6)


def test_another_models_scores_or_a_plain_file_are_refused(
    trained, trained_seed_1, scores_file, tmp_path
):
    with pytest.raises(ChurnInputError, match="scored by another model"):
        read_scored_base(scores_file, trained_seed_1.fingerprint, "customer_id")
    plain = tmp_path / "plain.parquet"
    pd.read_parquet(scores_file).to_parquet(plain)
    with pytest.raises(ChurnInputError, match="does not say which model scored it"):
        read_scored_base(plain, trained.fingerprint, "customer_id")
    text = tmp_path / "scores.csv"
    text.write_text("a,b\n1,2\n")
    with pytest.raises(ChurnInputError, match="is not a Parquet file"):
        read_scored_base(text, trained.fingerprint, "customer_id")


def _open(page: str, scores_file: str) -> AppTest:
    at = AppTest.from_file("../app.py", default_timeout=300)
    at.run()
    at.switch_page(page).run()
    data = Path(scores_file).read_bytes()
    at.file_uploader(key="scored_base_file").set_value(
        ("scores.parquet", data, "application/octet-stream")
    ).run()
    assert not at.exception, at.exception
    return at


def test_decide_acts_on_an_opened_scored_base(trained, scores_file):
    at = _open("app_pages/decide.py", scores_file)
    errors = [e.value for e in at.error]
    assert not errors, errors
    base = read_scored_base(scores_file, trained.fingerprint, "customer_id")
    text = " ".join(i.value for i in at.info)
    assert f"On the {base.customers:,} customers of the current base" in text
    assert "scores.parquet" in text
    at.radio(key="decide_method").set_value("top_share").run()
    at.radio(key="decide_capacity_mode").set_value("Number of customers").run()
    at.number_input(key="decide_top_n").set_value(321).run()
    assert not at.exception, at.exception
    text = " ".join(i.value for i in at.info)
    assert "contacts exactly 321 " in text


def test_customers_lists_an_opened_scored_base_a_page_at_a_time(trained, scores_file):
    at = _open("app_pages/customers.py", scores_file)
    assert not [e.value for e in at.error]
    base = read_scored_base(scores_file, trained.fingerprint, "customer_id")
    shown = at.dataframe[0].value
    assert len(shown) == min(1_000, base.customers)
    assert shown["rank"].tolist()[:3] == [1, 2, 3]
    caption = " ".join(c.value for c in at.caption)
    assert f"{base.customers:,} customers" in caption
    at.number_input(key="scored_base_page").set_value(2).run()
    assert at.dataframe[0].value["rank"].iloc[0] == 1_001


def test_a_scores_file_of_another_model_is_refused_in_a_sentence(
    trained_seed_1, new_batch_frame, tmp_path
):
    scored = score_frame(trained_seed_1, new_batch_frame.head(300))
    path = tmp_path / "other.parquet"
    write_table(scored, path, metadata={FINGERPRINT_KEY: trained_seed_1.fingerprint})
    at = _open("app_pages/decide.py", str(path))
    (error,) = [e.value for e in at.error]
    assert "was scored by another model" in error


def test_a_path_opens_only_where_the_app_runs_on_the_pms_computer(
    trained, scores_file, monkeypatch
):
    monkeypatch.delenv("CHURN_LOCAL_FILES", raising=False)
    at = AppTest.from_file("../app.py", default_timeout=300)
    at.run()
    at.switch_page("app_pages/customers.py").run()
    assert not [t for t in at.text_input if t.key == "scored_base_path"]  # a hosted app
    monkeypatch.setenv("CHURN_LOCAL_FILES", "1")
    at.run()
    at.text_input(key="scored_base_path").set_value(scores_file).run()
    next(b for b in at.button if b.label == "Open this file").click().run()
    assert not at.exception, at.exception
    base = read_scored_base(scores_file, trained.fingerprint, "customer_id")
    assert len(at.dataframe[0].value) == min(1_000, base.customers)
    next(b for b in at.button if b.label == "Close the scored base").click().run()
    assert "scored_base" not in at.session_state


@pytest.mark.parametrize(
    "how", [("--top-n", "700"), ("--top-share", "0.1", "--ranking", "expected_value")]
)
def test_a_scored_base_gives_the_actions_score_policy_writes(
    cli_sample_model, tmp_path, capsys, how
):
    import json

    from _cli import NEW_BATCH

    from churn.economics import Economics
    from churn.policy import capacity_of, rules_of

    policy_path = tmp_path / "policy.json"
    code, _, err = run(capsys, "policy", "--model", cli_sample_model, "--out", policy_path, *how)
    assert code == 0, err
    out = tmp_path / "scores.parquet"
    code, _, err = run(
        capsys,
        "score",
        "--model",
        cli_sample_model,
        "--data",
        NEW_BATCH,
        "--out",
        out,
        "--policy",
        policy_path,
        "--copy",
        "monthly_charges",
    )
    assert code == 0, err
    policy = json.loads(policy_path.read_text())
    written = pd.read_parquet(out)
    base = read_scored_base(out, policy["model_fingerprint"], "customer_id")
    economics = Economics.from_dict(policy["economics"])
    rules, capacity = rules_of(policy), capacity_of(policy)
    pages = base.page(rules, economics, capacity, 0, base.rows, policy["default_action"])
    got = pages.set_index("customer_id")["action"]
    scored = written[written["churn_probability"].notna()]
    assert got.loc[scored["customer_id"]].tolist() == scored["action"].tolist()
    outlook = base.outlook(rules, economics, capacity)
    assert outlook["contacted"] == int((written["action"] != policy["default_action"]).sum())
