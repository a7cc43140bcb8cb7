"""Training on a table larger than it needs: a stratified sample of a stated size."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import train_sample

from churn import report, training
from churn.artifact import load_artifact, save_artifact
from churn.cli import main
from churn.training import customers_to_act_on, stratified_sample

SIZE = 2_500


@pytest.fixture(scope="module")
def sampled(sample_frame: pd.DataFrame):
    return train_sample(sample_frame, max_rows=SIZE, n_boot=20)


def test_stratified_sample_keeps_the_churn_rate_and_is_deterministic() -> None:
    y = (np.random.default_rng(3).random(40_000) < 0.07).astype(int)
    rows = stratified_sample(y, 3_000, seed=5)
    assert rows.size == 3_000 and np.all(np.diff(rows) > 0)
    assert abs(y[rows].mean() - y.mean()) <= 1 / 3_000
    assert np.array_equal(rows, stratified_sample(y, 3_000, seed=5))
    assert not np.array_equal(rows, stratified_sample(y, 3_000, seed=6))
    assert np.array_equal(stratified_sample(y, 50_000), np.arange(y.size))


def test_train_on_a_larger_table_takes_the_sample_and_says_so(sample_frame, sampled) -> None:
    info = sampled.info
    assert info.rows == SIZE and info.table_rows == len(sample_frame)
    assert info.fit_rows + info.holdout_rows == SIZE
    y = sample_frame["churned"].to_numpy()
    assert abs(info.churn_rate - y.mean()) <= 1 / SIZE
    sentence = f"trained on a stratified sample of {SIZE:,} of {len(sample_frame):,} customers"
    assert sampled.metrics["training_sample"]["sentence"] == sentence
    assert sampled.metrics["training_sample"]["table_customers"] == len(sample_frame)
    assert sentence in report.data_summary(sampled)["sample"].lower()
    card = report.model_card(sampled)
    assert f"a stratified sample of {SIZE:,} of its {len(sample_frame):,}" in card["data"]
    # the holdout and its data are the sample's rows, not the table's
    assert len(sampled.holdout) == info.holdout_rows == len(sampled.holdout_data)


def test_the_sample_is_reproducible(sample_frame, sampled, tmp_path) -> None:
    again = train_sample(sample_frame, max_rows=SIZE, n_boot=20)
    assert again.fingerprint == sampled.fingerprint
    other = train_sample(sample_frame, max_rows=SIZE, n_boot=20, seed=1)
    assert other.fingerprint != sampled.fingerprint
    assert save_artifact(sampled, tmp_path / "m") == sampled.fingerprint
    loaded = load_artifact(tmp_path / "m")
    assert loaded.info.table_rows == len(sample_frame)
    metrics = json.loads((tmp_path / "m" / "metrics.json").read_text())
    assert "stratified sample of 2,500 of 10,000" in metrics["training_sample"]["sentence"]


def test_a_table_within_the_size_is_not_sampled(trained, model_dir) -> None:
    assert trained.info.table_rows is None
    assert "training_sample" not in trained.metrics
    assert report.data_summary(trained)["sample"] is None
    info = json.loads((model_dir / "info.json").read_text())
    assert "table_rows" not in info  # models trained without a sample keep their fingerprint


def test_acting_on_a_sampled_training_table_accounts_for_every_row(sample_frame, sampled) -> None:
    base, facts = customers_to_act_on(sampled, sample_frame, training_table=True)
    assert facts["rows"] == len(sample_frame)
    churned = int(sample_frame["churned"].sum())
    assert facts["churned"] == churned
    assert len(base) == len(sample_frame) - churned - facts["unscored"]
    # rows outside the sample are scored by the model, which never fitted them: not in-bag
    assert facts["in_bag"] <= SIZE
    assert base["churn_probability"].notna().all()
    rest = np.setdiff1d(np.arange(len(sample_frame)), sampled.training_rows)
    stayed = rest[sample_frame["churned"].to_numpy()[rest] == 0]
    fresh = training.score_frame(sampled, sample_frame.iloc[stayed[:50]])
    kept = base.set_index("customer_id").loc[fresh["customer_id"], "churn_probability"]
    np.testing.assert_allclose(kept.to_numpy(), fresh["churn_probability"].to_numpy())


def test_the_command_line_says_so_on_stderr(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.setattr(training, "TRAIN_SAMPLE_SIZE", 3_000)
    data = tmp_path / "customers.csv"
    from churn.sample import SAMPLE_PATH

    data.write_bytes(SAMPLE_PATH.read_bytes())
    capsys.readouterr()
    code = main(
        [
            "train",
            "--data",
            str(data),
            "--target",
            "churned",
            "--id",
            "customer_id",
            "--out",
            str(tmp_path / "m"),
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "note: trained on a stratified sample of 3,000 of 10,000 customers" in err
    assert "(a stratified sample of 3,000 of 10,000 customers)" in out


def test_the_app_trains_an_upload_on_the_sample_and_says_so(sample_frame, monkeypatch) -> None:
    from streamlit.testing.v1 import AppTest

    monkeypatch.setattr(training, "TRAIN_SAMPLE_SIZE", 1_200)
    at = AppTest.from_file("../app.py", default_timeout=300)
    at.run()
    at.switch_page("app_pages/data.py").run()
    data = sample_frame.head(2_000).to_csv(index=False).encode("utf-8")
    at.file_uploader[0].set_value(("customers.csv", data, "text/csv")).run()
    next(b for b in at.button if b.label == "Train on this table").click().run()
    assert not at.exception, at.exception
    assert at.session_state["user_artifact"].info.table_rows == 2_000
    at.switch_page("app_pages/overview.py").run()
    assert not at.exception, at.exception
    captions = " ".join(c.value for c in at.caption)
    assert "Trained on a stratified sample of 1,200 of 2,000 customers" in captions
    card = " ".join(m.value for m in at.markdown)
    assert "a stratified sample of 1,200 of its 2,000 customers" in card
