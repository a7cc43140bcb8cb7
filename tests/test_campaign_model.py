"""The campaign model end to end: training on a campaign table, the model directory
(save, load, tampering), scoring with row accounting, uplift policies (schema version 3)
and the command line (``campaign``, ``score`` and ``policy`` with a campaign model)."""

from __future__ import annotations

import json
import shutil

import jsonschema
import numpy as np
import pandas as pd
import pytest
from _cli import error, ok, run

from churn import policy as pol
from churn.campaign_model import (
    CAMPAIGN_FILE,
    CampaignRoles,
    effect_sentence,
    is_campaign_directory,
    load_campaign,
    save_campaign,
    score_campaign_frame,
    train_campaign,
    treated_flags,
)
from churn.decisions import Choice
from churn.economics import default_economics
from churn.errors import ChurnInputError
from churn.sample import CAMPAIGN_PATH, NEW_BATCH_PATH
from churn.targeting import assigned_index
from churn.uplift import UPLIFT_COLUMNS
from churn.uplift_decisions import (
    build_uplift_policy,
    campaign_action,
    decide_on_campaign,
    expected_gain,
)

ROLES = CampaignRoles(target="churned", treatment="contacted", id_column="customer_id")
SCHEMA = json.loads(pol.SCHEMA_PATH.read_text(encoding="utf-8"))


# ------------------------------------------------------------------------ training
def test_campaign_results_hold_what_the_issue_asks(campaign_trained, campaign_frame):
    r = campaign_trained.results
    for key in ("ate", "success_rate"):
        assert r[key]["low"] < r[key]["estimate"] < r[key]["high"]
    assert r["arms"]["contacted"]["customers"] + r["arms"]["control"]["customers"] == 8_000
    contacted = campaign_frame["contacted"] == 1
    assert r["arms"]["control"]["churn_rate"] == pytest.approx(
        campaign_frame.loc[~contacted, "churned"].mean()
    )
    assert r["ate"]["estimate"] == pytest.approx(
        r["arms"]["contacted"]["churn_rate"] - r["arms"]["control"]["churn_rate"]
    )
    balance = r["balance"]
    assert {f["feature"] for f in balance["features"]} == set(r["features"])
    assert "contacted" not in r["features"] and "customer_id" not in r["features"]
    assert balance["looks_random"] is True and "look alike" in balance["verdict"]
    assert r["warnings"] == []
    holdout = r["holdout"]
    kept = pd.DataFrame(holdout["kept_per_1000_contacts"])
    assert set(kept["ranking"]) == {"uplift", "churn_risk", "random"}
    assert sorted(set(kept["budget"])) == [0.1, 0.2, 0.3, 0.5]
    assert (kept["kept_low"] <= kept["kept_per_1000"]).all()
    assert set(holdout["qini"]) == {"uplift", "churn_risk"}
    assert len(holdout["uplift_by_decile"]) == 10
    assert "control-arm" in holdout["risk_score"]
    assert r["roles"] == {
        "target": "churned",
        "positive_label": "1",
        "treatment": "contacted",
        "treated_label": "1",
        "id_column": "customer_id",
    }


def test_holdout_is_stratified_by_arm_and_outcome(campaign_trained, campaign_frame):
    h = campaign_trained.holdout
    assert len(h) == 1_600 and campaign_trained.results["fit_rows"] == 6_400
    assert h["row"].is_monotonic_increasing
    rows = campaign_frame.iloc[h["row"]]
    assert (rows["churned"].to_numpy() == h["outcome"].to_numpy()).all()
    assert h["contacted"].mean() == pytest.approx(0.5, abs=0.001)
    for arm in (0, 1):
        whole = campaign_frame.loc[campaign_frame["contacted"] == arm, "churned"].mean()
        assert h.loc[h["contacted"] == arm, "outcome"].mean() == pytest.approx(whole, abs=0.002)


def test_out_of_fold_scores_for_every_campaign_customer(campaign_trained, campaign_frame):
    scores = campaign_trained.scores
    assert len(scores) == len(campaign_frame)
    assert scores["customer_id"].tolist() == campaign_frame["customer_id"].tolist()
    assert scores[list(UPLIFT_COLUMNS)].notna().all().all()
    hold = campaign_trained.holdout["row"].to_numpy()
    assert np.allclose(scores["uplift"].to_numpy()[hold], campaign_trained.holdout["uplift"])
    # out of fold, not in sample: the fitted customers' scores differ from the model's
    in_sample = score_campaign_frame(campaign_trained, campaign_frame)
    fitted = np.setdiff1d(np.arange(len(scores)), hold)
    assert (
        np.abs(in_sample["uplift"].to_numpy()[fitted] - scores["uplift"].to_numpy()[fitted]) > 1e-9
    ).mean() > 0.5


@pytest.mark.parametrize(
    ("change", "roles", "message"),
    [
        (lambda f: f.drop(columns="contacted"), ROLES, "no 'contacted' column"),
        (lambda f: f.assign(contacted=1), ROLES, "only the value"),
        (
            lambda f: f.assign(contacted=np.arange(len(f)) % 3),
            ROLES,
            r"3 values \(0, 1, 2\); say which one means contacted with --treated",
        ),
        (
            lambda f: f.assign(contacted=np.where(np.arange(len(f)) < 150, 1, 0)),
            ROLES,
            "at least 200 customers",
        ),
        (
            lambda f: f.assign(contacted=f["contacted"].astype(float).where(f.index > 3)),
            ROLES,
            "empty for 4 customers",
        ),
        (lambda f: f.assign(contacted=np.where(f["contacted"] == 1, "A", "B")), ROLES, "--treated"),
        (lambda f: f, CampaignRoles("churned", "contacted", treated="yes"), "No customer has"),
        (lambda f: f, CampaignRoles("churn", "contacted"), "churn"),
        (lambda f: f, CampaignRoles("churned", "churned"), "must differ"),
    ],
)
def test_bad_campaigns_are_refused_with_one_sentence(campaign_frame, change, roles, message):
    with pytest.raises(ChurnInputError, match=message):
        train_campaign(change(campaign_frame), roles, n_boot=10)


def test_treated_label_reads_numbers_as_numbers(campaign_frame):
    column = campaign_frame["contacted"].astype(float)  # 1.0 / 0.0
    flags, label = treated_flags(column, "1")
    assert (flags == (column == 1).to_numpy()).all() and label == "1.0"


def test_treated_label_picks_the_contacted_among_several_values(campaign_frame):
    channel = np.where(campaign_frame["contacted"] == 1, "call", "none")
    channel[:300] = "letter"  # a third value: with --treated call, letters are control
    frame = campaign_frame.assign(contacted=channel)
    roles = CampaignRoles("churned", "contacted", treated="call", id_column="customer_id")
    model = train_campaign(frame, roles, n_boot=10, model_params={"n_members": 2})
    assert model.results["roles"]["treated_label"] == "call"
    assert model.results["arms"]["contacted"]["customers"] == int((channel == "call").sum())


# ----------------------------------------------------------------- model directory
def test_save_load_round_trip(campaign_trained, campaign_dir, campaign_frame):
    assert is_campaign_directory(campaign_dir)
    assert (campaign_dir / CAMPAIGN_FILE).exists()
    loaded = load_campaign(campaign_dir)
    assert loaded.fingerprint == campaign_trained.fingerprint
    assert loaded.results == json.loads(json.dumps(campaign_trained.results))
    batch = campaign_frame.iloc[:300]
    pd.testing.assert_frame_equal(
        score_campaign_frame(loaded, batch), score_campaign_frame(campaign_trained, batch)
    )
    names = {p.name for p in campaign_dir.iterdir()}
    assert {"manifest.json", "uplift.json", "preparation.json", "holdout.csv"} <= names
    assert not any(name.endswith((".pkl", ".pickle", ".joblib")) for name in names)


def test_saving_a_loaded_campaign_model_keeps_its_fingerprint(campaign_dir, tmp_path):
    loaded = load_campaign(campaign_dir)
    assert save_campaign(loaded, tmp_path / "again") == loaded.fingerprint


@pytest.mark.parametrize(
    ("name", "edit", "message"),
    [
        (CAMPAIGN_FILE, lambda t: t.replace('"estimate": -', '"estimate": +'), "changed after"),
        ("contacted_02.txt", lambda t: t + "\n", "changed after"),
        ("uplift.json", None, "missing uplift.json"),
    ],
)
def test_tampered_campaign_model_is_refused(campaign_dir, tmp_path, name, edit, message):
    copy = tmp_path / "copy"
    shutil.copytree(campaign_dir, copy)
    path = copy / name
    if edit is None:
        path.unlink()
    else:
        path.write_text(edit(path.read_text(encoding="utf-8")), encoding="utf-8")
    with pytest.raises(ChurnInputError, match=message):
        load_campaign(copy)


def test_a_churn_model_is_not_a_campaign_model(model_dir):
    assert not is_campaign_directory(model_dir)
    with pytest.raises(ChurnInputError, match="not a campaign model"):
        load_campaign(model_dir)


# ------------------------------------------------------------------------ scoring
def test_scoring_keeps_every_row_in_order(campaign_trained, campaign_frame):
    batch = campaign_frame.iloc[:50].drop(columns=["contacted", "churned"]).copy()
    features = [c for c in batch.columns if c != "customer_id"]
    batch = batch.astype(dict.fromkeys(features, object))
    batch.loc[batch.index[3], features] = np.nan  # nothing to score from
    batch.loc[batch.index[5], "tenure_months"] = "soon"  # unreadable: scored as missing
    batch.loc[batch.index[7], "customer_id"] = None
    batch = batch.iloc[::-1]  # any order: the output follows the input
    scored = score_campaign_frame(campaign_trained, batch)
    assert len(scored) == 50
    assert list(scored.columns) == ["customer_id", *UPLIFT_COLUMNS, "score_note"]
    assert scored["customer_id"].tolist() == batch["customer_id"].tolist()
    by_id = scored.set_index(scored.index)
    empty = scored.iloc[46]
    assert empty[list(UPLIFT_COLUMNS)].isna().all()
    assert "not scored" in empty["score_note"]
    assert "could not be read" in by_id.iloc[44]["score_note"]
    assert np.isfinite(by_id.iloc[44]["uplift"])
    assert "no customer id" in by_id.iloc[42]["score_note"]
    assert scored[list(UPLIFT_COLUMNS)].notna().sum().min() == 49


def test_scoring_needs_the_id_and_the_features(campaign_trained, campaign_frame):
    with pytest.raises(ChurnInputError, match="customer_id"):
        score_campaign_frame(campaign_trained, campaign_frame.drop(columns="customer_id"))
    with pytest.raises(ChurnInputError, match="tenure_months"):
        score_campaign_frame(campaign_trained, campaign_frame.drop(columns="tenure_months"))


def test_scoring_in_chunks_gives_the_same_rows(campaign_trained, campaign_frame):
    whole = score_campaign_frame(campaign_trained, campaign_frame.iloc[:900])
    parts = pd.concat(
        [
            score_campaign_frame(campaign_trained, campaign_frame.iloc[i : i + 300])
            for i in (0, 300, 600)
        ],
        ignore_index=True,
    )
    pd.testing.assert_frame_equal(whole, parts)


# ------------------------------------------------------------------ uplift policies
def test_expected_gain_is_the_economics_profit_at_the_customers_success_rate():
    economics = default_economics()
    action = campaign_action(economics)
    assert action.name == "Call + discount"  # the most costly action by default
    p0, s, value = np.array([0.1, 0.4, 0.8]), np.array([0.5, 0.2, 0.0]), np.full(3, 600.0)
    p1 = p0 * (1 - s)
    gain = expected_gain(p0 - p1, p1, value, action)
    from churn.economics import contact_profit

    assert np.allclose(
        gain, contact_profit(p0, value, s, action.incentive_cost, action.contact_cost)
    )


@pytest.mark.parametrize(
    "choice",
    [
        Choice("max_profit"),
        Choice("threshold", 0.05),
        Choice("top_share", 0.2),
        Choice("top_n", 100),
    ],
    ids=lambda c: c.method,
)
def test_uplift_policy_is_version_3_and_applies_as_decided(campaign_trained, choice):
    economics = default_economics(campaign_trained.holdout_data.columns)
    decision = decide_on_campaign(campaign_trained, economics, choice)
    policy = build_uplift_policy(decision, economics, campaign_trained.fingerprint)
    jsonschema.Draft202012Validator(SCHEMA).validate(policy)
    assert policy["schema_version"] == 3 and policy["score"] == "uplift"
    assert pol.policy_score(policy) == "uplift"
    h = campaign_trained.holdout
    ids = campaign_trained.holdout_data["customer_id"].to_numpy()
    action = pol.apply_policy(
        policy, h["uplift"].to_numpy(), campaign_trained.holdout_data, "customer_id"
    )
    assert ((action != "none") == decision.contacted).all()
    index = assigned_index(
        h["uplift"].to_numpy(), pol.rules_of(policy), pol.capacity_of(policy), ids=ids
    )
    assert ((index >= 0) == decision.contacted).all()
    if choice.method == "top_share":
        assert decision.n_contacted == int(0.2 * len(h))
        top = np.argsort(-h["uplift"].to_numpy(), kind="stable")[: decision.n_contacted]
        assert decision.contacted[top].all()
    if choice.method == "max_profit":  # every contacted customer is expected to pay
        gain = expected_gain(
            h["uplift"],
            h["churn_probability_if_contacted"],
            economics.customer_value(campaign_trained.holdout_data, len(h)),
            campaign_action(economics),
        )
        assert decision.expected_gain == pytest.approx(gain[decision.contacted].sum() / len(h))
        assert decision.expected_gain > 0
        assert decision.kept_low < decision.kept_per_1000 < decision.kept_high


def test_version_3_policies_are_validated():
    base = {
        "schema_version": 3,
        "score": "uplift",
        "model_fingerprint": "0" * 64,
        "created_at": "2026-01-01T00:00:00+00:00",
        "rules": [{"action": "Call", "min_score": -0.05}],
        "default_action": "none",
    }
    pol.validate_policy(base)
    jsonschema.Draft202012Validator(SCHEMA).validate(base)
    assert pol.rules_of(base)[0].min_probability == -0.05
    assert list(pol.apply_policy(base, np.array([0.1, -0.1, np.nan]))) == ["Call", "none", "none"]
    churn = {**base, "score": "churn_probability", "rules": [{"action": "Call", "min_score": 0.3}]}
    assert list(pol.apply_policy(churn, np.array([0.5, 0.1]))) == ["Call", "none"]
    bad = [
        {k: v for k, v in base.items() if k != "score"},
        {**base, "score": "profit"},
        {**base, "rules": [{"action": "Call", "min_probability": 0.1}]},
        {**base, "rules": [{"action": "Call", "min_score": -1.5}]},
        {**churn, "rules": [{"action": "Call", "min_score": -0.1}]},
        {
            **base,
            "capacity": {"ranking": "churn_probability", "total": {"share": 0.1}, "per_action": {}},
        },
        {**base, "schema_version": 4},
    ]
    for policy in bad:
        with pytest.raises(ChurnInputError):
            pol.validate_policy(policy)
    v2 = {**base, "schema_version": 2, "rules": [{"action": "Call", "min_probability": 0.3}]}
    del v2["score"]
    assert pol.policy_score(v2) == "churn_probability"
    with pytest.raises(ChurnInputError, match="uplift"):  # a v2 policy cannot rank by uplift
        pol.validate_policy(
            {**v2, "capacity": {"ranking": "uplift", "total": {"share": 0.1}, "per_action": {}}}
        )


# ------------------------------------------------------------------ command line
def test_cli_campaign_writes_campaign_json(capsys, tmp_path):
    out = tmp_path / "campaign-model"
    text = ok(
        capsys, "campaign", "--data", CAMPAIGN_PATH, "--target", "churned",
        "--treatment", "contacted", "--id", "customer_id", "--out", out,
    )  # fmt: skip
    assert "contacting changed the churn rate by -5.7%" in text
    assert "by uplift" in text and "by churn risk" in text and "at random" in text
    result = json.loads((out / "campaign.json").read_text(encoding="utf-8"))
    for key in ("ate", "success_rate"):
        assert set(result[key]) >= {"estimate", "low", "high"}
    assert {"features", "verdict"} <= set(result["balance"])
    assert set(result["arms"]) == {"contacted", "control"}
    assert result["holdout"]["kept_per_1000_contacts"]
    assert result["ate"]["estimate"] < 0


def test_cli_score_with_a_campaign_model(capsys, campaign_dir, tmp_path):
    out = tmp_path / "scores.csv"
    ok(capsys, "score", "--model", campaign_dir, "--data", NEW_BATCH_PATH, "--out", out)
    scored = pd.read_csv(out)
    batch = pd.read_csv(NEW_BATCH_PATH)
    assert list(scored.columns) == ["customer_id", *UPLIFT_COLUMNS, "score_note"]
    assert scored["customer_id"].tolist() == batch["customer_id"].tolist()


def test_cli_uplift_policy_and_score_with_it(capsys, campaign_dir, tmp_path):
    policy_path = tmp_path / "policy.json"
    text = ok(capsys, "policy", "--model", campaign_dir, "--top-share", "0.2", "--out", policy_path)
    assert "highest uplift first" in text
    policy = json.loads(policy_path.read_text(encoding="utf-8"))
    assert policy["schema_version"] == 3 and policy["score"] == "uplift"
    out = tmp_path / "scores.csv"
    ok(capsys, "score", "--model", campaign_dir, "--data", NEW_BATCH_PATH, "--policy",
       policy_path, "--out", out)  # fmt: skip
    scored = pd.read_csv(out, keep_default_na=False)
    contacted = scored["action"] != "none"
    assert contacted.sum() == int(0.2 * len(scored))
    assert scored.loc[contacted, "uplift"].min() >= scored.loc[~contacted, "uplift"].max()
    ok(capsys, "policy", "--model", campaign_dir, "--max-profit", "--out", policy_path)
    policy = json.loads(policy_path.read_text(encoding="utf-8"))
    assert policy["choice"]["method"] == "max_profit" and policy["capacity"] is None


def test_cli_policy_refusals_for_a_campaign_model(capsys, campaign_dir, model_dir, tmp_path):
    out = tmp_path / "p.json"
    assert "uplift" in error(
        capsys, "policy", "--model", campaign_dir, "--precision", "0.5", "--out", out
    )
    assert "No action named" in error(
        capsys, "policy", "--model", campaign_dir, "--max-profit", "--action", "Fax", "--out", out
    )
    assert "--action goes with a campaign model" in error(
        capsys, "policy", "--model", model_dir, "--max-profit", "--action", "Fax", "--out", out
    )
    ok(capsys, "policy", "--model", campaign_dir, "--max-profit", "--out", out)
    assert "was made for model" in error(
        capsys, "score", "--model", model_dir, "--data", NEW_BATCH_PATH, "--policy", out,
        "--out", tmp_path / "s.csv",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("change", "flags", "message"),
    [
        (lambda f: f.assign(contacted=1), (), "only the value"),
        (lambda f: f.assign(contacted=np.arange(len(f)) % 3), (), "with --treated"),
        (lambda f: f.assign(contacted=(np.arange(len(f)) < 100).astype(int)), (), "at least 200"),
        (lambda f: f, ("--treated", "maybe"), "No customer has 'maybe'"),
        (lambda f: f.drop(columns="churned"), (), "churned"),
        (lambda f: f.assign(churned=0), (), "single class"),
    ],
)
def test_cli_campaign_refusals(capsys, campaign_frame, tmp_path, change, flags, message):
    data = tmp_path / "campaign.csv"
    change(campaign_frame).to_csv(data, index=False)
    line = error(
        capsys, "campaign", "--data", data, "--target", "churned", "--treatment", "contacted",
        "--id", "customer_id", "--out", tmp_path / "out", *flags,
    )  # fmt: skip
    assert message in line
    assert not (tmp_path / "out").exists()


def test_cli_campaign_refuses_a_destination_that_is_not_a_model(capsys, tmp_path):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("keep me", encoding="utf-8")
    code, _, err = run(
        capsys, "campaign", "--data", CAMPAIGN_PATH, "--target", "churned",
        "--treatment", "contacted", "--out", tmp_path / "taken",
    )  # fmt: skip
    assert code == 2 and "not a model directory" in err
    assert (tmp_path / "taken" / "notes.txt").read_text(encoding="utf-8") == "keep me"


def test_the_verdict_is_one_sentence_for_each_outcome(campaign_trained):
    assert campaign_trained.results["verdict"] == (
        "Contacting reduced churn by 5.7 percentage points (95% interval 3.9 to 7.5 points): "
        "it kept 23% of the customers who would have churned (16% to 29%)."
    )
    up = effect_sentence({"estimate": 0.03, "low": 0.01, "high": 0.05}, {"estimate": 0.0,
                         "low": 0.0, "high": 0.0})  # fmt: skip
    assert up.startswith("Contacting raised churn by 3.0 percentage points")
    unsure = effect_sentence(
        {"estimate": -0.01, "low": -0.03, "high": 0.01}, {"estimate": 0.05, "low": 0, "high": 0.1}
    )
    assert "cannot tell" in unsure and "includes no change" in unsure


def test_commands_that_need_a_churn_model_say_so(capsys, campaign_dir, tmp_path):
    line = error(capsys, "monitor", "--model", campaign_dir, "--data", NEW_BATCH_PATH)
    assert "holds a campaign model" in line


@pytest.mark.parametrize("capacity", [False, True], ids=["rules", "capacity"])
def test_score_in_chunks_equals_the_apps_whole_table(
    campaign_dir, tmp_path, capsys, monkeypatch, capacity: bool
) -> None:
    """`score` with a campaign model reads the file in chunks (a capacity: whole, since it
    ranks the batch); either way every row gets what the app's `uplift_on_customers` gives
    the whole table, in input order."""
    from churn import stream
    from churn.campaign_report import uplift_on_customers
    from churn.data import read_table

    monkeypatch.setattr(stream, "CHUNK_ROWS", 700)  # 5,000 rows: eight chunks
    model = load_campaign(campaign_dir)
    choice = Choice("top_share", 0.15) if capacity else Choice("max_profit")
    economics = default_economics(model.holdout_data.columns)
    decision = decide_on_campaign(model, economics, choice)
    policy = build_uplift_policy(decision, economics, model.fingerprint)
    policy_path = tmp_path / "policy.json"
    pol.save_policy(policy, policy_path)
    out = tmp_path / "uplift.csv"
    code, _, err = run(
        capsys, "score", "--model", campaign_dir, "--data", NEW_BATCH_PATH,
        "--out", out, "--policy", policy_path,
    )  # fmt: skip
    assert code == 0, err
    written = pd.read_csv(out, dtype={"customer_id": str}, keep_default_na=False)
    whole = uplift_on_customers(
        model, read_table(NEW_BATCH_PATH, text_columns=("customer_id",)), policy
    )
    assert written["customer_id"].tolist() == whole["customer_id"].tolist()
    assert written["action"].tolist() == whole["action"].tolist()
    np.testing.assert_allclose(written["uplift"], whole["uplift"], rtol=0, atol=1e-12)
    assert (written["action"] != "none").sum() > 0
