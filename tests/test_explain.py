"""SHAP explanations: exactness, probability points, sentences, reasons and what-if."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest

from churn import charts, formatting
from churn.errors import ChurnInputError
from churn.explain import (
    beeswarm_table,
    dependence_table,
    explain,
    global_importance,
    reason_sentences,
    reasons_table,
    shap_margin_values,
    top_reasons,
    waterfall_table,
    what_if,
    what_if_inputs,
)
from churn.model import ChurnModel


@pytest.fixture(scope="module")
def holdout(trained) -> pd.DataFrame:
    return trained.holdout_data


@pytest.fixture(scope="module")
def expl(trained, holdout):
    return explain(trained, holdout)


@pytest.fixture(scope="module")
def awkward(trained, new_batch_frame) -> pd.DataFrame:
    """Customers LightGBM routes through its special cases: missing values everywhere,
    unseen categories (Digital wallet), zeros, negatives, out-of-range numbers."""
    frame = new_batch_frame.head(300).copy()
    n = len(frame)
    for j, column in enumerate(trained.model.spec_.columns):
        values = frame[column].astype(object).to_numpy(copy=True)
        values[np.arange(n) % 7 == j % 7] = None
        frame[column] = values
    frame.loc[frame.index[:20], "tenure_months"] = 0
    frame.loc[frame.index[20:40], "usage_trend_pct"] = -1e6
    frame.loc[frame.index[40:60], "monthly_charges"] = 0.0
    frame.loc[frame.index[60:80], "plan"] = "Platinum"
    frame.loc[frame.index[80:100], "discount_pct"] = -5
    return frame


# ----------------------------------------------------------------- exactness
def test_values_add_up_to_the_ensemble_margin(trained, holdout, expl):
    margin = trained.model.tree_margin(holdout)
    np.testing.assert_allclose(expl.base_value + expl.values.sum(axis=1), margin, atol=1e-9)
    assert expl.values.shape == (len(holdout), len(trained.model.spec_.columns))


def test_points_add_up_to_the_probability_difference(trained, holdout, expl):
    p = trained.model.predict_proba(holdout)[:, 1]
    np.testing.assert_allclose(expl.probability, p, atol=1e-12)
    np.testing.assert_allclose(expl.points.sum(axis=1), p - expl.base_probability, atol=1e-12)
    assert 0.0 < expl.base_probability < 1.0
    # Points keep the sign of the SHAP values (the calibration is increasing).
    big = np.abs(expl.values) > 1e-6
    assert np.all(np.sign(expl.points[big]) == np.sign(expl.values[big]))


@pytest.mark.parametrize("which", ["holdout", "awkward"])
def test_values_equal_lightgbm_pred_contrib(trained, holdout, awkward, which):
    frame = holdout if which == "holdout" else awkward
    model = trained.model
    matrix = model.spec_.tree_matrix(frame)
    values, base, _ = shap_margin_values(model, matrix)
    contrib = np.mean([b.predict(matrix, pred_contrib=True) for b in model.boosters_], axis=0)
    np.testing.assert_allclose(values, contrib[:, :-1], atol=1e-9)
    assert base == pytest.approx(contrib[0, -1], abs=1e-9)
    # The library's own fallback gives the same numbers.
    fallback, fallback_base, _ = shap_margin_values(model, matrix, engine="lightgbm")
    np.testing.assert_allclose(values, fallback, atol=1e-9)
    assert base == pytest.approx(fallback_base, abs=1e-12)


def test_values_equal_shap_tree_explainer(trained, awkward):
    shap = pytest.importorskip("shap")
    model = trained.model
    matrix = model.spec_.tree_matrix(awkward)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        explainers = [shap.TreeExplainer(b) for b in model.boosters_]
        members = [e.shap_values(matrix) for e in explainers]
    expected = np.mean(members, axis=0)
    values, base, _ = shap_margin_values(model, matrix)
    np.testing.assert_allclose(values, expected, atol=1e-9)
    assert base == pytest.approx(np.mean([e.expected_value for e in explainers]), abs=1e-9)


def test_exact_for_other_tree_shapes(sample_frame):
    """Deeper trees and more leaves than the default, with missing values in training."""
    frame = sample_frame.head(3000)
    X = frame.drop(columns=["customer_id", "churned"])
    model = ChurnModel(n_members=2, n_estimators=12, num_leaves=40, min_child_samples=10)
    model.fit(X, frame["churned"])
    matrix = model.spec_.tree_matrix(X.head(500))
    values, _, _ = shap_margin_values(model, matrix)
    contrib = np.mean([b.predict(matrix, pred_contrib=True) for b in model.boosters_], axis=0)
    np.testing.assert_allclose(values, contrib[:, :-1], atol=1e-9)


def test_empty_frame(trained, holdout):
    empty = explain(trained, holdout.head(0))
    assert empty.values.shape == (0, len(empty.feature_names))
    assert len(global_importance(empty)) == len(empty.feature_names)
    assert reasons_table(empty).shape == (0, 3)


def test_missing_columns_are_named(trained, holdout):
    with pytest.raises(ChurnInputError, match="contract_type"):
        explain(trained, holdout.drop(columns=["contract_type"]))


# ----------------------------------------------------------------- what matters
def test_features_without_effect_matter_little(expl):
    table = global_importance(expl).set_index("feature")
    assert list(global_importance(expl).columns) == ["feature", "mean_abs_shap", "mean_abs_points"]
    assert table["mean_abs_shap"].is_monotonic_decreasing
    strong = table.loc[["contract_type", "usage_trend_pct", "tenure_months"], "mean_abs_shap"]
    weak = table.loc[["gender", "region"], "mean_abs_shap"]
    assert weak.max() < 0.4 * strong.min()
    assert table.index[0] == "contract_type"


# ----------------------------------------------------------------- sentences
def test_number_and_points_formatting():
    assert formatting.number(3.0) == "3"
    assert formatting.number(72.349) == "72.35"
    assert formatting.number(1234.5) == "1,234.5"
    assert formatting.number(-23.40) == "-23.4"
    assert formatting.number(float("nan")) == "missing"
    assert formatting.signed_points(0.1234) == "+12 points"
    assert formatting.signed_points(-0.081) == "-8 points"
    assert formatting.signed_points(0.004) == "+0.4 points"
    assert formatting.signed_points(-0.0004) == "0.0 points"


def test_reason_sentences_read_plainly(expl):
    pattern = re.compile(r"^(\w+) (is .+|= -?[\d,.]+): ([+-]\d+(\.\d)? points|0\.0 points)$")
    for row in range(50):
        sentences = reason_sentences(expl, row, k=5)
        assert len(sentences) == 5
        assert all(pattern.match(s) for s in sentences), sentences
        order = np.argsort(-np.abs(expl.points[row]), kind="stable")[:5]
        assert [s.split(" ")[0] for s in sentences] == [expl.feature_names[j] for j in order]
    everything = reason_sentences(expl, 0, k=100)
    assert len(everything) == len(expl.feature_names)


def test_reason_sentences_by_kind(trained, holdout):
    row = holdout.head(1).copy()
    row["contract_type"] = "Month-to-month"
    row["tenure_months"] = 3
    row["satisfaction_score"] = np.nan
    row["payment_method"] = "Digital wallet"
    row["recent_price_increase"] = True
    one = explain(trained, row)
    text = reason_sentences(one, 0, k=len(one.feature_names))
    starts = {s.split(":")[0] for s in text}
    assert "contract_type is Month-to-month" in starts
    assert "tenure_months = 3" in starts
    assert "satisfaction_score is missing" in starts
    assert "payment_method is Digital wallet (new to the model)" in starts
    assert "recent_price_increase is yes" in starts
    contract = next(s for s in text if s.startswith("contract_type"))
    assert contract.endswith(
        formatting.signed_points(one.points[0, one.feature_names.index("contract_type")])
    )
    with pytest.raises(ChurnInputError):
        reason_sentences(one, 5)


def test_top_reasons_shape_order_and_index(trained, holdout, expl):
    frame = holdout.head(200).copy()
    frame.index = [f"x{i}" for i in range(len(frame))][::-1]
    reasons = top_reasons(trained, frame, k=3)
    assert list(reasons.columns) == ["reason_1", "reason_2", "reason_3"]
    assert reasons.index.equals(frame.index)
    for i in (0, 7, 199):
        assert reasons.iloc[i].tolist() == reason_sentences(expl, i, k=3)
    assert reasons.map(lambda s: isinstance(s, str) and ": " in s).all().all()
    assert top_reasons(trained, frame, k=50).shape[1] == len(expl.feature_names)


# ----------------------------------------------------------------- what-if
def test_what_if_two_year_contract_lowers_churn(trained, holdout):
    monthly = holdout[holdout["contract_type"] == "Month-to-month"].head(20)
    for i in range(len(monthly)):
        result = what_if(trained, monthly.iloc[[i]], {"contract_type": "Two year"})
        before = trained.model.predict_frame(monthly.iloc[[i]]).iloc[0]
        assert result["before"]["probability"] == pytest.approx(before["churn_probability"])
        assert result["before"]["low"] == pytest.approx(before["probability_low"])
        assert result["after"]["probability"] < result["before"]["probability"]
        assert result["after"]["low"] <= result["after"]["probability"] <= result["after"]["high"]
        assert result["change"] == pytest.approx(
            result["after"]["probability"] - result["before"]["probability"]
        )


def test_what_if_without_changes_and_with_bad_input(trained, holdout):
    row = holdout.iloc[[0]]
    same = what_if(trained, row, {})
    assert same["after"] == same["before"]
    missing = what_if(trained, row, {"satisfaction_score": None, "tenure_months": "60"})
    assert missing["after"]["probability"] != missing["before"]["probability"]
    with pytest.raises(ChurnInputError, match="no feature"):
        what_if(trained, row, {"shoe_size": 42})
    with pytest.raises(ChurnInputError, match="number"):
        what_if(trained, row, {"tenure_months": "long"})
    with pytest.raises(ChurnInputError, match="one customer"):
        what_if(trained, holdout.head(2), {})


def test_what_if_inputs_describe_the_widgets(expl):
    items = what_if_inputs(expl, 0, k=4)
    assert len(items) == 4
    order = np.argsort(-np.abs(expl.points[0]), kind="stable")[:4]
    assert [i["feature"] for i in items] == [expl.feature_names[j] for j in order]
    for item in items:
        if item["kind"] == "categorical":
            assert item["current"] is None or item["current"] in item["options"]
        elif item["kind"] == "boolean":
            assert item["options"] == ["yes", "no"]
        else:
            assert item["current"] is None or isinstance(item["current"], float)


# ----------------------------------------------------------------- chart data
def test_waterfall_steps_add_up(expl):
    table = waterfall_table(expl, 3, k=5)
    assert table["step"].iloc[0] == "Typical customer"
    assert table["step"].iloc[-1] == "This customer"
    steps = table.iloc[1:-1]
    assert len(steps) == 6  # 5 reasons and the other features
    assert table["end"].iloc[0] == pytest.approx(expl.base_probability)
    assert steps["end"].iloc[-1] == pytest.approx(expl.probability[3], abs=1e-12)
    np.testing.assert_allclose(steps["start"].iloc[1:], steps["end"].iloc[:-1])
    assert set(steps["kind"]) <= {"up", "down"}
    charts.shap_waterfall_chart(table).to_dict()


def test_beeswarm_and_dependence_tables(expl):
    swarm = beeswarm_table(expl, max_points=1500, features=10)
    assert len(swarm) <= 1500 and swarm["feature"].nunique() == 10
    ranks = swarm["value_rank"].dropna()
    assert ranks.between(0, 1).all()
    assert swarm.loc[swarm["feature"] == "contract_type", "value_rank"].isna().all()
    charts.shap_beeswarm_chart(swarm).to_dict()
    charts.shap_importance_chart(global_importance(expl)).to_dict()
    numeric = dependence_table(expl, "satisfaction_score")
    assert numeric["missing"].any() and numeric.loc[numeric["missing"], "number"].isna().all()
    j = expl.feature_names.index("satisfaction_score")
    np.testing.assert_allclose(numeric["points"], expl.points[numeric["row"], j])
    charts.shap_dependence_chart(numeric, "satisfaction_score", True).to_dict()
    categorical = dependence_table(expl, "contract_type")
    assert set(categorical["category"]) == {"Month-to-month", "One year", "Two year"}
    charts.shap_dependence_chart(categorical, "contract_type", False).to_dict()
    with pytest.raises(ChurnInputError):
        dependence_table(expl, "shoe_size")


def test_missing_effect_is_over_every_customer(trained, sample_frame):
    from churn.explain import explain, missing_effect

    frame = sample_frame.iloc[:800]
    expl = explain(trained, frame)
    absent = missing_effect(expl, "satisfaction_score")
    missing = frame["satisfaction_score"].isna().to_numpy()
    assert absent["customers"] == missing.sum() > 0
    j = expl.feature_names.index("satisfaction_score")
    assert absent["mean_points"] == pytest.approx(expl.points[missing, j].mean())
    assert np.isnan(missing_effect(expl, "tenure_months")["mean_points"])  # never missing


def test_the_typical_customer_and_the_average_are_told_apart(expl):
    """The explanations start at the probability of the average log-odds, which is below
    the customers' average probability; the Why? page says both."""
    from churn.explain import typical_customer

    typical = typical_customer(expl)
    assert typical["typical"] == pytest.approx(expl.base_probability)
    assert typical["average"] == pytest.approx(float(np.mean(expl.probability)))
    assert typical["typical"] < typical["average"]


def test_the_beeswarm_caption_names_the_colours_it_draws(expl):
    from churn.explain import beeswarm_table

    spec = charts.shap_beeswarm_chart(beeswarm_table(expl)).to_dict()
    scales = [
        layer["encoding"]["color"]["scale"]
        for layer in spec.get("layer", [spec])
        if "color" in layer.get("encoding", {}) and "scale" in layer["encoding"]["color"]
    ]
    assert any(s.get("scheme") == "viridis" for s in scales)
    assert "yellow" in charts.BEESWARM_COLOURS and "purple" in charts.BEESWARM_COLOURS
    assert "orange" not in charts.BEESWARM_COLOURS
