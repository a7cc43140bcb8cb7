"""Monitoring: PSI drift against the training reference, CBPE, calibration, staleness.

The checks that matter run on the generator's data, where the truth is known: a fresh
sample from the same process has not drifted, the new batch has drifted in exactly the
three features the generator changed, and without concept drift the estimated precision
and recall match the realised ones.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import date

import numpy as np
import pandas as pd
import pytest

from churn import charts, drift, monitor, targeting
from churn.artifact import Artifact, load_artifact
from churn.decisions import Choice
from churn.economics import default_economics
from churn.errors import ChurnInputError
from churn.ingest import read_bytes
from churn.policy import decide_on_holdout
from churn.sample import generate_customers
from churn.targeting import PolicyRule

CHANGED = {"monthly_charges", "recent_price_increase", "payment_method"}


@pytest.fixture(scope="module")
def economics(trained: Artifact):
    return default_economics(trained.holdout_data.columns)


@pytest.fixture(scope="module")
def rules(trained: Artifact, economics) -> list[dict]:
    return decide_on_holdout(trained, economics, Choice("max_profit")).rules


@pytest.fixture(scope="module")
def fresh() -> pd.DataFrame:
    """5,000 customers from the reference process, another seed: no drift at all."""
    frame, _ = generate_customers(5_000, seed=7, id_offset=50_000)
    return frame


@pytest.fixture(scope="module")
def new_report(trained, new_batch_frame, rules, economics) -> monitor.MonitorReport:
    return monitor.monitor(trained, new_batch_frame, rules, economics)


# --------------------------------------------------------------------------- PSI
def test_psi_is_zero_for_equal_distributions_and_matches_the_formula():
    assert drift.psi([0.2, 0.3, 0.5], [0.2, 0.3, 0.5]) == 0.0
    ref, new = np.array([0.5, 0.5]), np.array([0.25, 0.75])
    expected = (0.25 - 0.5) * np.log(0.25 / 0.5) + (0.75 - 0.5) * np.log(0.75 / 0.5)
    assert drift.psi(ref, new) == pytest.approx(expected)
    assert drift.psi(new, ref) == pytest.approx(expected)  # symmetric


def test_psi_of_an_empty_bin_is_large_but_finite():
    value = drift.psi([1.0, 0.0], [0.9, 0.1])
    assert np.isfinite(value)
    assert value == pytest.approx(
        (0.9 - 1.0) * np.log(0.9) + (0.1 - drift.EPSILON) * np.log(0.1 / drift.EPSILON)
    )
    assert drift.psi_status(value) == "significant"


@pytest.mark.parametrize(
    ("value", "status"),
    [
        (0.0, "stable"),
        (0.0999, "stable"),
        (0.1, "moderate"),
        (0.25, "moderate"),
        (0.2501, "significant"),
        (3.0, "significant"),
    ],
)
def test_psi_bands(value, status):
    assert drift.psi_status(value) == status


# ---------------------------------------------------------------------- reference
def test_the_reference_is_stored_in_the_artifact_and_survives_a_save(trained, model_dir):
    reference = drift.load_reference(trained)
    assert set(reference["features"]) == set(trained.model.spec_.columns)
    assert reference["rows"] == trained.info.fit_rows
    assert reference["score_rows"] == trained.info.holdout_rows
    charges = reference["features"]["monthly_charges"]
    assert len(charges["edges"]) == 9 and len(charges["shares"]) == 10
    assert sum(charges["shares"]) + charges["missing"] == pytest.approx(1.0)
    assert 0.005 < charges["missing"] < 0.015  # the generator leaves 1% missing
    payment = reference["features"]["payment_method"]
    assert "Digital wallet" not in payment["categories"]
    assert sum(payment["shares"]) == pytest.approx(1.0)
    loaded = load_artifact(model_dir)
    assert loaded.extra_files[drift.REFERENCE_FILE] == trained.extra_files[drift.REFERENCE_FILE]


def test_a_model_without_a_reference_asks_to_retrain(trained, new_batch_frame, rules, economics):
    old = dataclasses.replace(trained, extra_files={})
    with pytest.raises(ChurnInputError, match="retrain"):
        monitor.monitor(old, new_batch_frame, rules, economics)


def test_a_batch_without_a_model_column_is_refused(trained, new_batch_frame, rules, economics):
    with pytest.raises(ChurnInputError, match="payment_method"):
        monitor.monitor(trained, new_batch_frame.drop(columns="payment_method"), rules, economics)


# -------------------------------------------------------------------------- drift
def test_a_fresh_sample_from_the_same_process_is_stable(trained, fresh, rules, economics):
    report = monitor.monitor(trained, fresh, rules, economics)
    psi = report.drift.features.set_index("name")["psi"]
    assert len(psi) == len(trained.model.spec_.columns)
    assert (psi < 0.1).all(), psi[psi >= 0.1]
    assert report.drift.score_psi < 0.1
    assert report.status == "stable"
    assert report.drift.features["new_share"].eq(0).all()


@pytest.mark.parametrize("size", [0.5, 1_000, 300])
def test_a_random_part_of_the_training_table_is_stable_in_every_column(
    trained, sample_frame, rules, economics, size
):
    for seed in range(3):
        if isinstance(size, float):
            batch = sample_frame.sample(frac=size, random_state=seed)
        else:
            batch = sample_frame.sample(n=size, random_state=seed)
        features = monitor.monitor(trained, batch, rules, economics).drift.features
        unstable = features[features["status"] != "stable"]
        assert unstable.empty, unstable[["name", "psi", "psi_raw", "p_value"]]


def test_category_psi_is_corrected_for_sampling_and_numbers_are_not(new_report):
    """Every category of the sample has enough training rows to be judged by itself, so
    the PSI is the plain one minus what chance gives."""
    features = new_report.drift.features.set_index("name")
    categories = features[features["kind"] != "numeric"]
    assert (categories["psi_chance"] > 0).all()
    expected = (categories["psi_raw"] - categories["psi_chance"]).clip(lower=0)
    np.testing.assert_allclose(categories["psi"], expected)
    assert (categories.loc[["payment_method", "recent_price_increase"], "p_value"] < 0.01).all()
    numbers = features[features["kind"] == "numeric"]
    np.testing.assert_array_equal(numbers["psi"], numbers["psi_raw"])
    assert numbers["p_value"].isna().all()


def test_the_no_change_psi_is_about_k_minus_1_over_the_rows():
    """PSI of two samples of one distribution: about (k - 1)(1/n1 + 1/n2) when every bin has
    enough rows; the draws are seeded."""
    shares = np.full(20, 0.05)
    draws = drift.no_change_psi(shares, shares, 5_000, 2_000)
    assert draws.mean() == pytest.approx(19 * (1 / 5_000 + 1 / 2_000), rel=0.1)
    np.testing.assert_array_equal(draws, drift.no_change_psi(shares, shares, 5_000, 2_000))


def test_the_injected_drift_is_found_where_it_was_injected_and_nowhere_else(new_report):
    features = new_report.drift.features.set_index("name")
    drifted = set(features.index[features["status"] != "stable"])
    assert drifted == CHANGED
    assert (features.loc[list(CHANGED), "psi"] >= 0.1).all()
    assert (features.drop(index=list(CHANGED))["psi"] < 0.1).all()
    # 15% -> 40% price increases: PSI = 0.25 ln(0.40/0.15) + 0.25 ln(0.85/0.60) = 0.332
    assert features.loc["recent_price_increase", "psi"] == pytest.approx(0.33, abs=0.05)
    assert new_report.status == "significant"
    # most drifted first
    assert new_report.drift.features["psi"].is_monotonic_decreasing


def test_new_categories_are_reported_by_name_and_share(new_report):
    features = new_report.drift.features.set_index("name")
    (category,) = features.loc["payment_method", "new_categories"]
    assert category[0] == "Digital wallet"
    assert category[1] == pytest.approx(0.10, abs=0.015)
    assert features.loc["payment_method", "new_share"] == pytest.approx(category[1])
    table = new_report.feature_table().set_index("name")
    assert "Digital wallet (" in table.loc["payment_method", "new_categories"]
    shown = new_report.drift.distributions.query("feature == 'payment_method'")
    wallet = shown[shown["bin"] == "Digital wallet (new)"]
    assert wallet["reference"].item() == 0.0
    assert wallet["new"].item() == pytest.approx(category[1])


def test_a_rise_in_missing_values_is_measured_and_drifts(trained, fresh, rules, economics):
    frame = fresh.copy()
    rng = np.random.default_rng(1)
    frame.loc[rng.random(len(frame)) < 0.3, "age"] = np.nan
    report = monitor.monitor(trained, frame, rules, economics)
    age = report.drift.features.set_index("name").loc["age"]
    expected = frame["age"].isna().mean()
    assert age["missing_new"] == pytest.approx(expected)
    assert age["missing_change"] == pytest.approx(expected - age["missing_reference"])
    assert age["missing_change"] > 0.2
    assert age["status"] == "significant"


def test_each_distribution_sums_to_one(new_report):
    sums = new_report.drift.distributions.groupby("feature")[["reference", "new"]].sum()
    assert np.allclose(sums, 1.0)
    assert "churn_probability" in sums.index


def test_the_score_psi_rises_when_the_scores_shift(trained, fresh, rules, economics):
    p = trained.model.predict_proba(fresh)[:, 1]
    shifted = np.clip(p + 0.15, 0, 1)
    report = monitor.monitor(trained, fresh, rules, economics, p=shifted)
    assert report.drift.score_psi > drift.SIGNIFICANT
    assert report.status == "significant"  # the worst of the score and the features


def test_the_probability_alone_is_the_models(trained, new_batch_frame, monkeypatch):
    expected = trained.model.predict_proba(new_batch_frame)[:, 1]
    monkeypatch.setattr(monitor, "SCORE_CHUNK_ROWS", 1_234)  # chunks join up in order
    assert np.array_equal(monitor.churn_probability(trained.model, new_batch_frame), expected)


# -------------------------------------------------------------------- performance
def test_estimated_figures_by_hand():
    """The figures monitoring reports come from targeting.outlook (CBPE)."""
    econ = default_economics()  # value 500, Email offer (1, 10, 10%), Call (15, 60, 35%)
    rules = [PolicyRule("Email offer", 0.5)]
    p = np.array([0.9, 0.6, 0.2, 0.1])
    y = np.array([1, 0, 1, 0])
    out = targeting.outlook(p, 500.0, rules, econ, y)
    est, real = out["estimated"], out["realised"]
    assert est["share_targeted"] == 0.5
    assert est["precision"] == pytest.approx(0.75)  # (0.9 + 0.6) / 2
    assert est["recall"] == pytest.approx(1.5 / 1.8)
    win, loss = 0.1 * (500 - 10) - 1, 10 + 1
    assert est["profit_per_customer"] == pytest.approx(
        (0.9 * win - 0.1 * loss + 0.6 * win - 0.4 * loss) / 4
    )
    assert real["precision"] == 0.5 and real["recall"] == 0.5
    assert real["profit_per_customer"] == pytest.approx((win - loss) / 4)
    unlabelled = targeting.outlook(p, 500.0, rules, econ, np.full(4, np.nan))
    assert unlabelled["realised"] is None
    nobody = targeting.outlook(p, 500.0, [], econ)
    assert np.isnan(nobody["estimated"]["precision"]) and nobody["estimated"]["recall"] == 0


def test_without_concept_drift_estimated_precision_and_recall_are_within_3_points(
    trained, rules, economics
):
    frame, _ = generate_customers(20_000, seed=11, id_offset=100_000)
    report = monitor.monitor(trained, frame, rules, economics)
    est, real = report.performance["estimated"], report.performance["realised"]
    assert est["share_targeted"] == real["share_targeted"]
    assert abs(est["precision"] - real["precision"]) < 0.03
    assert abs(est["recall"] - real["recall"]) < 0.03
    table = report.performance_table().set_index("metric")
    assert table.loc["precision", "gap"] == pytest.approx(real["precision"] - est["precision"])


def test_labels_are_read_with_the_models_positive_label():
    frame = pd.DataFrame({"churned": ["Yes", "no", None, " YES "]})
    assert np.array_equal(
        monitor.batch_labels(frame, "churned", "Yes"), [1, 0, np.nan, 1], equal_nan=True
    )
    numbers = pd.DataFrame({"churned": [1.0, 0.0, np.nan]})
    assert np.array_equal(
        monitor.batch_labels(numbers, "churned", "1"), [1, 0, np.nan], equal_nan=True
    )
    assert monitor.batch_labels(pd.DataFrame({"x": [1]}), "churned", "1") is None
    with pytest.raises(ChurnInputError, match="one other value"):
        monitor.batch_labels(pd.DataFrame({"churned": [0, 1, 2]}), "churned", "1")


def test_calibration_deciles_are_equal_groups_and_find_miscalibration():
    rng = np.random.default_rng(0)
    p = rng.beta(2, 5, 100_000)
    y = (rng.random(p.size) < p).astype(float)
    table = monitor.calibration_deciles(y, p)
    assert table["n"].tolist() == [10_000] * 10
    assert table["mean_predicted"].is_monotonic_increasing
    assert (table["p_low"] <= table["mean_predicted"]).all()
    assert (table["mean_predicted"] <= table["p_high"]).all()
    assert (table["observed_rate"] - table["mean_predicted"]).abs().max() < 0.02
    assert (table["observed_low"] <= table["observed_rate"]).all()
    assert (table["observed_rate"] <= table["observed_high"]).all()
    # a model that under-states churn: the top deciles sit well above the diagonal
    y_high = (rng.random(p.size) < np.sqrt(p)).astype(float)
    off = monitor.calibration_deciles(y_high, p)
    assert (off["observed_low"] > off["mean_predicted"]).all()
    with pytest.raises(ChurnInputError, match="label"):
        monitor.calibration_deciles(np.array([1.0, np.nan]), np.array([0.5, 0.5]))


# ---------------------------------------------------------------------- staleness
def test_staleness_from_the_training_date_or_the_policys_review_date():
    young = monitor.staleness("2026-11-29T06:00:00+00:00", today=date(2026, 12, 9))
    assert young["age_days"] == 10
    assert young["review_by"] == "2027-02-27"  # 90 days after training
    assert young["days_to_review"] == 80 and not young["overdue"]
    old = monitor.staleness("2026-11-29T06:00:00+00:00", today=date(2027, 3, 1))
    assert old["overdue"] and old["days_to_review"] == -2
    policy = monitor.staleness("2026-11-29T06:00:00+00:00", "2026-12-01", date(2026, 12, 9))
    assert policy["overdue"] and policy["review_by"] == "2026-12-01"
    with pytest.raises(ChurnInputError, match="date"):
        monitor.staleness("yesterday")


def test_banners_for_an_old_model_and_for_significant_drift(
    trained, new_batch_frame, fresh, rules, economics
):
    trained_on = date.fromisoformat(trained.info.trained_at[:10])
    young = trained_on.replace(day=1) if trained_on.day > 1 else trained_on
    calm = monitor.monitor(trained, fresh, rules, economics, today=young)
    assert monitor.banner_messages(calm) == []
    late = date(trained_on.year + 1, trained_on.month, 1)
    old = monitor.monitor(trained, fresh, rules, economics, today=late)
    (message,) = monitor.banner_messages(old)
    assert "due for review" in message and "retrain" in message
    assert "sample" not in message
    (sample,) = monitor.banner_messages(old, age_by_design=True)
    assert sample.startswith(message) and "bundled sample model" in sample
    assert monitor.banner_messages(calm, age_by_design=True) == []
    drifted = monitor.monitor(trained, new_batch_frame, rules, economics, today=young)
    (message,) = monitor.banner_messages(drifted, where="the Monitor page")
    assert "payment_method" in message and "the Monitor page" in message
    assert "on purpose" not in message
    (designed,) = monitor.banner_messages(drifted, drift_by_design=True)
    assert designed.startswith(message.replace("the Monitor page", "the drift report")[:60])
    assert designed.endswith("drifted on purpose, to show what this warning looks like.")
    assert "payment_method" in monitor.headline(drifted)
    assert monitor.headline(calm).startswith("Stable")


# ------------------------------------------------------------------------ report
def test_the_json_report_has_the_promised_shape(new_report):
    data = json.loads(json.dumps(new_report.to_dict(), allow_nan=False))
    assert data["status"] in drift.STATUSES
    assert data["score_psi"] == pytest.approx(new_report.drift.score_psi)
    names = [f["name"] for f in data["features"]]
    assert names == new_report.drift.features["name"].tolist()
    for feature in data["features"]:
        assert {"name", "psi", "status"} <= set(feature)
        assert feature["status"] == drift.psi_status(feature["psi"])
    assert data["performance"]["realised"] is not None  # the new batch has labels
    assert len(data["calibration"]) == 10
    assert data["messages"] == monitor.banner_messages(new_report)
    assert data["policy_rules"] == [r.to_dict() for r in new_report.rules]
    assert data["policy_rules"]


def test_read_batch_reads_an_upload_and_refuses_other_files(new_batch_frame):
    data = new_batch_frame.head(20).to_csv(index=False).encode()
    back = read_bytes(data, "batch.csv", text_columns=("customer_id",))
    assert back["customer_id"].tolist() == new_batch_frame["customer_id"].head(20).tolist()
    with pytest.raises(ChurnInputError, match=r"not an Excel workbook"):
        read_bytes(b"x", "batch.xlsx")
    with pytest.raises(ChurnInputError, match=r"use one of \.csv"):
        read_bytes(b"x", "batch.docx")
    with pytest.raises(ChurnInputError, match=r"empty\.csv"):
        read_bytes(b"", "empty.csv")


def test_charts_build(new_report):
    chart = charts.psi_chart(new_report.drift.features, new_report.drift.score_psi)
    bars = chart.layer[0].data
    assert len(bars) == len(new_report.drift.features) + 1  # every feature and the score
    assert bars["psi"].is_monotonic_decreasing
    assert bars.iloc[0]["name"] == "payment_method"
    chart.to_dict()  # a valid Vega-Lite spec
    chart = charts.drift_distribution_chart(new_report.drift.distributions, "payment_method")
    spec = chart.to_dict()
    assert spec["encoding"]["y"]["axis"]["format"] == "%"
    assert set(chart.data["which"]) == {"Training reference", "New batch"}
    shown = new_report.drift.distributions.query("feature == 'payment_method'")
    assert len(chart.data) == 2 * len(shown)
    assert "(missing)" not in set(shown["bin"])  # no missing payment methods: no such bar
    charges = new_report.drift.distributions.query("feature == 'monthly_charges'")
    assert charges["bin"].iloc[-1] == "(missing)"  # 1% missing
    spec = charts.batch_calibration_chart(new_report.calibration).to_dict()
    assert spec["config"]["legend"]["disable"] is True


# ------------------------------------------------------------------ unscorable rows
def _without_model_values(trained: Artifact, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every model column emptied: rows that ``score_frame`` leaves unscored."""
    blank = frame.copy()
    for column in trained.model.spec_.columns:
        blank[column] = None
    return blank


def test_rows_without_any_model_value_are_left_out_of_the_estimates(
    trained, new_batch_frame, rules, economics
):
    batch = new_batch_frame.head(1000).reset_index(drop=True)
    blank = _without_model_values(trained, batch.head(300))
    mixed = pd.concat([batch.iloc[:500], blank, batch.iloc[500:]], ignore_index=True)
    report = monitor.monitor(trained, mixed, rules, economics)
    alone = monitor.monitor(trained, batch, rules, economics)
    assert report.rows_left_out == 300
    assert report.drift.rows == 1000
    for kind in ("estimated", "realised"):
        assert report.performance[kind] == pytest.approx(alone.performance[kind])
    assert report.drift.score_psi == pytest.approx(alone.drift.score_psi)
    data = report.to_dict()
    assert (data["rows"], data["rows_left_out"]) == (1000, 300)
    assert any("300 of the 1,300 rows" in message for message in data["messages"])
    assert alone.to_dict()["rows_left_out"] == 0


def test_a_batch_where_no_row_can_be_scored_is_refused(trained, new_batch_frame, rules, economics):
    blank = _without_model_values(trained, new_batch_frame.head(50))
    with pytest.raises(ChurnInputError, match=r"^None of the 50 rows") as caught:
        monitor.monitor(trained, blank, rules, economics)
    assert "\n" not in str(caught.value)
