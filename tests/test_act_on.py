"""Acting on the training table: honest scores, no customers who already left, no leaks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import train_sample
from sklearn.metrics import roc_auc_score

from churn.decisions import Choice
from churn.economics import Action, Economics
from churn.policy import decide, economics_note
from churn.training import SCORE_COLUMNS, customers_to_act_on, leak_columns, scored_customers


@pytest.fixture(scope="module")
def with_reason(sample_frame: pd.DataFrame):
    """The sample with a churn reason, recorded only for customers who left (a leak)."""
    frame = sample_frame.copy()
    reasons = np.array(["Price", "Competitor", "Moved", "Service"], dtype=object)
    churned = frame["churned"].to_numpy() == 1
    frame["churn_reason"] = np.where(churned, reasons[np.arange(len(frame)) % 4], "")
    return frame, train_sample(frame)


def test_scores_of_the_training_table_are_out_of_fold(trained, sample_frame):
    scores = trained.training_scores
    assert len(scores) == len(sample_frame)
    y = sample_frame["churned"].to_numpy()
    assert scores["churned"].to_numpy().tolist() == (y == 1).tolist()
    # the holdout rows carry the holdout scores
    rows = trained.holdout["row"].to_numpy()
    np.testing.assert_array_equal(
        scores.loc[rows, "churn_probability"].to_numpy(),
        trained.holdout["churn_probability"].to_numpy(),
    )
    # in-sample scores flatter the model; out-of-fold ones look like the holdout's
    fitted = np.setdiff1d(np.arange(len(y)), rows)
    in_sample = scored_customers(trained, sample_frame)["churn_probability"].to_numpy()
    oof = scores["churn_probability"].to_numpy()
    auc_in = roc_auc_score(y[fitted], in_sample[fitted])
    auc_oof = roc_auc_score(y[fitted], oof[fitted])
    holdout_auc = trained.metrics["model"]["roc_auc"]
    assert auc_oof < auc_in - 0.005
    assert abs(auc_oof - holdout_auc) < 0.03
    assert not np.allclose(oof[fitted], in_sample[fitted])
    assert ((scores["probability_low"] <= oof) & (oof <= scores["probability_high"])).all()
    # about (1 - 1/e)^8 of the bagged rows were drawn by every member
    assert 0 < scores["in_bag"].mean() < 0.05


def test_customers_who_already_left_are_not_acted_on(with_reason):
    frame, artifact = with_reason
    base, facts = customers_to_act_on(artifact, frame)
    churned = int((frame["churned"] == 1).sum())
    assert facts["rows"] == len(frame) and facts["churned"] == churned
    assert len(base) + churned == len(frame)  # every row accounted for
    assert (base["churned"] == 0).all()
    assert set(SCORE_COLUMNS) <= set(base.columns)


def test_a_leak_column_is_never_offered_or_listed(with_reason):
    frame, artifact = with_reason
    assert leak_columns(artifact) == ["churn_reason"]
    base, _ = customers_to_act_on(artifact, frame)
    assert "churn_reason" not in base.columns
    assert "churn_reason" not in scored_customers(artifact, frame).columns


def test_without_out_of_fold_scores_the_table_is_scored_as_it_is(trained, sample_frame):
    other = sample_frame.iloc[:100]
    churned = int((other["churned"] == 1).sum())
    base, facts = customers_to_act_on(trained, other, training_table=True)  # not its table
    assert len(base) == 100 - churned
    assert facts == {"rows": 100, "churned": churned, "unscored": 0, "in_bag": 100}


def test_a_fresh_snapshot_leaves_out_who_already_left_and_rows_without_values(
    trained, new_batch_frame
):
    fresh = new_batch_frame.head(300).copy()
    features = [c for c in fresh.columns if c not in ("customer_id", "churned")]
    fresh[features] = fresh[features].astype(object)
    fresh.loc[:9, features] = None  # nothing to score from
    base, facts = customers_to_act_on(trained, fresh)
    churned = int((fresh["churned"].iloc[10:] == 1).sum())
    assert facts == {"rows": 300, "churned": churned, "unscored": 10, "in_bag": 0}
    assert len(base) == 300 - 10 - churned  # every row accounted for
    assert (base["churned"] == 0).all()
    # a snapshot without outcomes keeps everyone it can score
    base, facts = customers_to_act_on(trained, fresh.drop(columns=["churned"]))
    assert len(base) == 290 and facts["churned"] == 0


def test_economics_drive_a_decision_that_contacts_almost_everybody():
    rng = np.random.default_rng(0)
    n = 2000
    p = rng.beta(2, 4, n)
    y = (rng.random(n) < p).astype(float)
    cheap = Economics((Action("Email", 1.0, 0.0, 0.3),), value_constant=3000.0)
    decision = decide(p, p, p, y, np.full(n, 3000.0), cheap, Choice("max_profit"))
    everybody = float(cheap.actions[0].profit(y, np.full(n, 3000.0)).sum()) / n
    baselines = {"chosen": decision.profit / n, "everybody": everybody}
    note = economics_note(decision, baselines)
    assert decision.share_targeted > 0.6
    assert note is not None and "economics" in note and "not the model" in note
    # a decision the model earns its keep on says nothing
    assert economics_note(decision, {"chosen": 50.0, "everybody": 20.0}) is None
    small = decide(p, p, p, y, np.full(n, 3000.0), cheap, Choice("top_share", 0.2))
    assert economics_note(small, baselines) is None
