"""The sample generator: reproducible files, documented properties, known truth."""

from __future__ import annotations

import numpy as np
import pandas as pd

from churn.sample import (
    CAMPAIGN_PATH,
    NEW_BATCH_PATH,
    SAMPLE_PATH,
    generate_customers,
    true_churn_probability,
    write_sample_files,
)


def test_regenerating_reproduces_all_three_files_byte_for_byte(tmp_path):
    written = write_sample_files(tmp_path)
    assert [path.name for path in written] == [
        SAMPLE_PATH.name,
        NEW_BATCH_PATH.name,
        CAMPAIGN_PATH.name,
    ]
    assert written[0].read_bytes() == SAMPLE_PATH.read_bytes()
    assert written[1].read_bytes() == NEW_BATCH_PATH.read_bytes()
    assert written[2].read_bytes() == CAMPAIGN_PATH.read_bytes()


def test_sample_shape_types_and_churn_rate(sample_frame):
    frame = sample_frame
    assert len(frame) == 10_000
    assert frame["customer_id"].is_unique
    assert set(frame["churned"].unique()) == {0, 1}
    assert 0.20 <= frame["churned"].mean() <= 0.27
    features = frame.drop(columns=["customer_id", "churned"])
    assert 14 <= features.shape[1] <= 18
    kinds = {
        "numeric": features.select_dtypes("number").shape[1],
        "boolean": features.select_dtypes("bool").shape[1],
        "text": features.select_dtypes(["object", "string"]).shape[1],
    }
    assert all(count >= 2 for count in kinds.values()), kinds
    assert features.isna().any().sum() >= 2  # some columns have missing values


def test_true_probability_matches_outcomes_and_file():
    frame, p = generate_customers(20_000, seed=11)
    assert np.allclose(p, true_churn_probability(frame))
    # outcomes are Bernoulli draws of the true probability
    order = np.argsort(p)
    for chunk in np.array_split(order, 10):
        assert abs(frame["churned"].to_numpy()[chunk].mean() - p[chunk].mean()) < 0.03


def test_tree_model_has_something_to_find_beyond_linear():
    """Interactions and thresholds: the truth is not additive in the raw features."""
    frame, _ = generate_customers(5_000, seed=3)
    base = frame.copy()
    m2m = base.assign(contract_type="Month-to-month")
    lift_with_increase = (
        true_churn_probability(m2m.assign(recent_price_increase=True))
        - true_churn_probability(m2m.assign(recent_price_increase=False))
    ).mean()
    two_year = base.assign(contract_type="Two year")
    lift_two_year = (
        true_churn_probability(two_year.assign(recent_price_increase=True))
        - true_churn_probability(two_year.assign(recent_price_increase=False))
    ).mean()
    assert lift_with_increase > 3 * lift_two_year


def test_new_batch_has_the_documented_drift(sample_frame, new_batch_frame):
    assert len(new_batch_frame) == 5_000
    assert list(new_batch_frame.columns) == list(sample_frame.columns)
    assert "Digital wallet" not in set(sample_frame["payment_method"])
    assert (new_batch_frame["payment_method"] == "Digital wallet").mean() > 0.05
    ratio = new_batch_frame["monthly_charges"].median() / sample_frame["monthly_charges"].median()
    assert 1.04 < ratio < 1.12
    assert (
        new_batch_frame["recent_price_increase"].mean()
        > 2 * sample_frame["recent_price_increase"].mean()
    )
    assert not set(new_batch_frame["customer_id"]) & set(sample_frame["customer_id"])
    # what did not drift stays put
    for column in ("tenure_months", "age", "weekly_usage_hours"):
        a, b = sample_frame[column].median(), new_batch_frame[column].median()
        assert abs(a - b) / a < 0.1, column
    pd.testing.assert_index_equal(sample_frame.columns, new_batch_frame.columns)
