"""Explanations within a memory and time budget: the engine is chosen by its cost, the
values are the same whichever engine computes them, and a sample says it is one."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

import churn.explain
from churn import _treeshap
from churn._treeshap import MEMORY_BUDGET_MB, ShapPlan, plan_shap, shap_margin_values
from churn.data import read_table
from churn.explain import (
    MIN_SAMPLE,
    explain,
    explain_customer,
    reason_sentences,
    reasons_table,
    top_reasons,
)
from churn.model import ChurnModel
from churn.sample import NEW_BATCH_PATH

TIMEOUT = 120


@pytest.fixture(scope="module")
def deep() -> tuple[ChurnModel, pd.DataFrame]:
    """Deep trees (31 leaves, up to a dozen features on a path) on a wide table of
    interacting numbers, a category with missing values; and 2,000 customers it never saw."""
    rng = np.random.default_rng(0)
    n, width = 6000, 40
    X = pd.DataFrame(rng.normal(size=(n, width)), columns=[f"x{i}" for i in range(width)])
    X.loc[rng.random(n) < 0.1, "x3"] = np.nan
    X["level"] = rng.choice([f"level_{k}" for k in range(12)], n)
    X.loc[rng.random(n) < 0.05, "level"] = None
    logit = (
        2.0 * np.sign(X["x0"] * X["x1"])
        + np.sin(3.0 * X["x2"])
        + 1.0 * X["level"].isin(["level_1", "level_4"]) * np.sign(X["x5"])
        + 0.3 * X.iloc[:, 6:width].sum(axis=1)
    )
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-logit))).astype(int)
    model = ChurnModel(n_members=3, n_estimators=20, num_leaves=31, min_child_samples=5)
    model.fit(X.head(4000), y[:4000])
    return model, X.tail(2000).reset_index(drop=True)


@pytest.fixture(scope="module")
def holdout(trained) -> pd.DataFrame:
    return trained.holdout_data


@pytest.fixture(scope="module")
def full(trained, holdout):
    return explain(trained, holdout, max_seconds=None)


@pytest.fixture(scope="module")
def sampled(trained, holdout):
    """A time budget of nothing: the smallest sample, the first part of a random order."""
    return explain(trained, holdout, max_seconds=0.0)


# ----------------------------------------------------------------- exactness
@pytest.mark.parametrize("which", ["deep", "sample"])
def test_pred_contrib_equals_our_tables_on_each_member(deep, trained, holdout, which):
    model, frame = deep if which == "deep" else (trained.model, holdout)
    matrix = model.spec_.tree_matrix(frame)
    shapes = _treeshap._member_shapes(model)
    for k, booster in enumerate(model.boosters_):
        tables = _treeshap._TreeShap([booster], matrix.shape[1])
        contrib = booster.predict(matrix, pred_contrib=True)
        np.testing.assert_allclose(tables.values(matrix), contrib[:, :-1], rtol=0, atol=1e-9)
        assert tables.base_value == pytest.approx(contrib[0, -1], abs=1e-9)
        assert shapes[k].base_value == pytest.approx(contrib[0, -1], abs=1e-9)


@pytest.mark.parametrize(
    "engines",
    [
        ("tables", "tables", "tables"),
        ("lightgbm", "lightgbm", "lightgbm"),
        ("tables", "lightgbm", "tables"),
        ("lightgbm", "tables", "lightgbm"),
    ],
)
def test_any_mix_of_engines_gives_the_same_values(deep, engines):
    """The ensemble's values are the mean of its members', whichever engine explains each."""
    model, frame = deep
    matrix = model.spec_.tree_matrix(frame)
    reference, reference_base, margin = shap_margin_values(model, matrix, engine="lightgbm")
    plan = ShapPlan(engines, len(frame), len(frame), 700, 0.0, 0.0)  # 700: several chunks
    values, base, mixed_margin = shap_margin_values(model, matrix, plan=plan)
    np.testing.assert_allclose(values, reference, rtol=0, atol=1e-9)
    assert base == pytest.approx(reference_base, abs=1e-12)
    np.testing.assert_allclose(mixed_margin, margin, rtol=0, atol=1e-12)
    np.testing.assert_allclose(base + values.sum(axis=1), model.tree_margin(frame), atol=1e-9)


def test_table_memory_is_estimated_exactly_before_building(deep, trained):
    for model in (deep[0], trained.model):
        estimate = sum(s.table_bytes for s in _treeshap._member_shapes(model))
        built = _treeshap._TreeShap(model.boosters_, len(model.spec_.columns))
        assert built.table.nbytes == estimate


# ----------------------------------------------------------------- the engine's choice
def test_shallow_model_uses_the_tables_for_everyone(trained):
    plan = plan_shap(trained.model, 100_000, max_seconds=10.0)
    assert plan.engines == ("tables",) * len(trained.model.boosters_)
    assert not plan.sampled and plan.explained == 100_000
    assert plan.memory_mb <= MEMORY_BUDGET_MB


def test_deep_model_picks_pred_contrib(deep):
    """Deep trees: building 2^d tables costs more than LightGBM's own TreeSHAP for a few
    thousand customers, and tables that do not fit the memory budget are never built."""
    model, _ = deep
    _treeshap._ENGINES.pop(model, None)  # no tables built yet (built ones cost nothing more)
    lightgbm = ("lightgbm",) * len(model.boosters_)
    for rows in (1, 100, 1000):
        assert plan_shap(model, rows).engines == lightgbm
    shapes = _treeshap._member_shapes(model)
    tables = sum(s.table_bytes for s in shapes) / 2**20
    for budget in (tables / 2, tables / 10):
        plan = plan_shap(model, 1_000_000, memory_mb=budget)
        chosen = sum(
            s.table_bytes for s, e in zip(shapes, plan.engines, strict=True) if e == "tables"
        )
        assert chosen / 2**20 <= budget / 2  # the tables may take half the budget
        assert plan.memory_mb <= budget
    assert plan_shap(model, 1_000_000, memory_mb=tables / 100).engines == lightgbm
    for rows in (10, 20_000, 1_000_000):
        assert plan_shap(model, rows).memory_mb <= MEMORY_BUDGET_MB


def test_explaining_a_deep_model_stays_within_the_memory_budget(deep):
    model, frame = deep
    big = pd.concat([frame] * 5, ignore_index=True)  # 10,000 customers
    _treeshap._ENGINES.pop(model, None)
    tracemalloc.start()
    try:
        expl = explain(model, big, max_seconds=None)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    result = expl.values.nbytes + expl.points.nbytes + expl.data.memory_usage(deep=True).sum()
    assert len(expl) == len(big) and not expl.sampled
    assert (peak - result) / 2**20 <= MEMORY_BUDGET_MB


# ----------------------------------------------------------------- samples
def test_over_the_time_budget_a_random_sample_is_explained(trained, holdout, full, sampled):
    assert sampled.sampled and not full.sampled
    assert len(sampled) == MIN_SAMPLE and sampled.customers == len(holdout)
    rows = sampled.rows
    assert np.all(np.diff(rows) > 0) and rows[0] >= 0 and rows[-1] < len(holdout)
    assert sampled.data.index.equals(holdout.index[rows])
    # The sample's values are the customers' own (exact), not an approximation.
    np.testing.assert_allclose(sampled.values, full.values[rows], rtol=0, atol=1e-12)
    np.testing.assert_allclose(sampled.points, full.points[rows], rtol=0, atol=1e-12)
    assert sampled.base_probability == full.base_probability
    assert sampled.describe_sample().startswith(
        f"explained on a random sample of {MIN_SAMPLE} of the {len(holdout):,} customers"
    )
    assert full.describe_sample() == ""
    again = explain(trained, holdout, max_seconds=0.0)
    other = explain(trained, holdout, max_seconds=0.0, seed=1)
    assert np.array_equal(again.rows, rows) and not np.array_equal(other.rows, rows)


def test_a_sample_is_the_planned_size_whatever_the_machine_does(trained, holdout):
    """The estimate, not the clock, sets the sample: the same table gives the same sample."""
    plan = ShapPlan(("tables",) * len(trained.model.boosters_), len(holdout), 400, 400, 1, 1)
    rows, _, _, _ = churn.explain._explain_sample(trained.model, holdout, plan, 0)
    again, _, _, _ = churn.explain._explain_sample(trained.model, holdout, plan, 0)
    assert rows.size == 400 and np.array_equal(rows, again)
    assert (np.diff(rows) > 0).all()  # in table order


def test_reasons_of_a_sample_cover_every_customer(full, sampled, holdout):
    table = reasons_table(sampled, k=3)
    assert table.index.equals(holdout.index)
    inside = holdout.index[sampled.rows]
    pd.testing.assert_frame_equal(table.loc[inside], reasons_table(full, k=3).loc[inside])
    outside = table.drop(index=inside)
    assert len(outside) == len(holdout) - MIN_SAMPLE
    assert (outside == "").all().all()


def test_one_customer_is_explained_exactly_even_outside_the_sample(trained, holdout, full, sampled):
    left_out = int(np.setdiff1d(np.arange(len(holdout)), sampled.rows)[0])
    one, at = explain_customer(trained, sampled, holdout, left_out)
    assert len(one) == 1 and at == 0 and not one.sampled
    np.testing.assert_allclose(one.values[0], full.values[left_out], rtol=0, atol=1e-12)
    assert reason_sentences(one, at) == reason_sentences(full, left_out)
    kept = int(sampled.rows[7])
    same, at = explain_customer(trained, sampled, holdout, kept)
    assert same is sampled and at == 7
    same, at = explain_customer(trained, full, holdout, left_out)
    assert same is full and at == left_out


def test_top_reasons_explain_everyone(trained, holdout, monkeypatch):
    monkeypatch.setitem(churn.explain.explain.__kwdefaults__, "max_seconds", 0.0)
    assert explain(trained, holdout).sampled
    reasons = top_reasons(trained, holdout)
    assert len(reasons) == len(holdout) and (reasons != "").all().all()


# ----------------------------------------------------------------- pages
def test_pages_say_how_many_were_explained_and_explain_one_customer_exactly(monkeypatch):
    from app_pages.common import sample_artifact

    # No time at all: the pages' explanation is the smallest sample.
    monkeypatch.setitem(churn.explain.explain.__kwdefaults__, "max_seconds", 0.0)
    artifact = sample_artifact()
    base = read_table(NEW_BATCH_PATH, text_columns=("customer_id",))
    exact = explain(artifact, base, max_seconds=None)
    st.cache_data.clear()
    try:
        app = AppTest.from_file("../app.py", default_timeout=TIMEOUT)
        app.run()
        app.switch_page("app_pages/why.py")
        app.run()
        assert not app.exception
        captions = " ".join(c.value for c in app.caption)
        assert f"explained on a random sample of {MIN_SAMPLE} of the {len(base):,} customers" in (
            captions
        )
        # The page's default customer (the riskiest) is most likely outside the sample,
        # and is explained exactly all the same.
        row = int(np.argmax(exact.probability))
        shown = [m.value for m in app.markdown if m.value.startswith("- ")]
        assert shown == [f"- {s}" for s in reason_sentences(exact, row, k=5)]
        app.switch_page("app_pages/customers.py")
        app.run()
        assert not app.exception
        table = app.dataframe[0].value
        assert "reasons" in table.columns
        assert (table["reasons"] == "").any()  # customers outside the sample
        captions = " ".join(c.value for c in app.caption)
        assert f"reasons are shown for a random sample of {MIN_SAMPLE} of the" in captions
    finally:
        st.cache_data.clear()
