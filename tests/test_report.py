"""Overview figures: data summary, metric table, reliability, gains, verdict, charts."""

from __future__ import annotations

import copy

import altair as alt
import numpy as np
import pytest

from churn import charts, formatting, metrics, report
from churn.targeting import PolicyRule


def test_data_summary_counts_the_sample(trained, sample_frame):
    summary = report.data_summary(trained)
    assert summary["rows"] == len(sample_frame)
    assert summary["churn_rate"] == pytest.approx(sample_frame["churned"].mean())
    assert summary["churners"] == sample_frame["churned"].sum()
    assert summary["n_features"] == sample_frame.shape[1] - 2
    assert sum(summary["features_by_kind"].values()) == summary["n_features"]
    assert summary["fit_rows"] + summary["holdout_rows"] == summary["rows"]
    assert 0 < summary["interval"]["median_width"] < summary["interval"]["p90_width"] < 1


def test_metrics_table_matches_a_recomputation_on_the_holdout(trained):
    table = report.metrics_table(trained)
    assert len(table) == 3 * len(report.METRIC_LABELS)
    assert (table["low"] <= table["high"]).all()
    h = trained.holdout
    row = table[(table["model"] == "logistic") & (table["metric"] == "roc_auc")].iloc[0]
    assert row["value"] == pytest.approx(
        metrics.roc_auc(h["outcome"].to_numpy(), h["logistic_probability"].to_numpy())
    )


def test_reliability_and_gains_tables_cover_every_holdout_customer(trained):
    bins = report.reliability_table(trained)
    n = len(trained.holdout)
    assert bins.groupby("model")["n"].sum().to_dict() == {"model": n, "logistic": n, "rule": n}
    gains = report.gains_table(trained)
    ends = gains.groupby("model")[["share_targeted", "capture"]].max()
    np.testing.assert_allclose(ends.to_numpy(), 1.0)


def test_verdict_on_the_sample_says_the_model_earns_its_place(trained):
    verdict = report.verdict(trained)
    assert verdict["beats_rule"] and verdict["earns_its_place"]
    assert "earns its place" in verdict["headline"]
    assert any("+0.0" in line or "+0.1" in line for line in verdict["details"])


def test_verdict_says_so_when_the_rule_is_as_good(trained):
    weak = copy.copy(trained)
    weak.metrics = copy.deepcopy(trained.metrics)
    weak.metrics["comparison"]["model_vs_rule"]["roc_auc"].update(
        difference=0.004, low=-0.01, high=0.02
    )
    verdict = report.verdict(weak)
    assert not verdict["earns_its_place"]
    assert "does not clearly beat" in verdict["headline"]


def test_emp_ranks_the_model_above_the_rule(trained):
    emp = trained.metrics["emp"]
    for action in emp["model"]:
        assert emp["model"][action]["emp"] > emp["rule"][action]["emp"] > 0


def test_charts_build_valid_vega_lite(trained):
    table = report.metrics_table(trained)
    for chart in (
        charts.metric_intervals_chart(table, ["ROC-AUC", "Brier score"]),
        charts.reliability_chart(report.reliability_table(trained)),
        charts.gains_chart(report.gains_table(trained)),
    ):
        spec = chart.to_dict()  # validates against the Vega-Lite schema
        assert spec["$schema"].startswith("https://vega.github.io/schema/vega-lite/")
    assert isinstance(charts.reliability_chart(report.reliability_table(trained)), alt.LayerChart)


@pytest.mark.parametrize(
    ("x", "shown"), [(0.2346, "23.5%"), (0.0, "0.0%"), (1.0, "100.0%"), (float("nan"), "n/a")]
)
def test_percent(x, shown):
    assert formatting.percent(x) == shown


@pytest.mark.parametrize(
    ("x", "shown"), [(1234.5, "$1,234"), (-1234.5, "-$1,234"), (0.0, "$0"), (float("nan"), "n/a")]
)
def test_money(x, shown):
    assert formatting.money(x) == shown


def test_model_card_names_the_model_and_its_limits(trained):
    card = report.model_card(trained)
    assert card["fingerprint"] == trained.fingerprint
    assert "churned = 1" in card["predicts"]
    assert "10,000" in card["for_whom"]
    assert any("Enterprise" in line or "Non-binary" in line for line in card["limitations"])
    assert any("not causes" in line for line in card["limitations"])
    assert len(card["limitations"]) >= 4


def test_confusion_table_reads_each_cell():
    from churn.economics import Action, Economics
    from churn.targeting import confusion, profit_under_rules, rule_index

    p = np.array([0.9, 0.8, 0.3, 0.1])
    y = np.array([1, 0, 1, 0])
    econ = Economics((Action("Call", 10, 50, 0.3),), value_constant=1000.0)
    rules = [PolicyRule("Call", 0.5)]
    value = np.full(4, 1000.0)
    money = profit_under_rules(p, y, value, rules, econ)
    table = report.confusion_table(confusion(y, rule_index(p, rules) >= 0, money, value))
    assert list(table.index) == ["Contacted", "Not contacted"]
    assert list(table.columns) == ["Would have churned", "Would have stayed"]
    assert table.loc["Contacted", "Would have churned"] == "1 customers, $275"
    assert table.loc["Contacted", "Would have stayed"] == "1 customers, -$60"
    assert table.loc["Not contacted", "Would have churned"] == "1 customers, -$1,000"
    assert table.loc["Not contacted", "Would have stayed"] == "1 customers, $0"


def test_emp_table_lists_every_model_and_action(trained):
    table = report.emp_table(trained)
    assert len(table) == 3 * len(trained.metrics["emp"]["model"])
    model = table[table["model_label"] == "Churn model"].set_index("action")["emp"]
    for action, figures in trained.metrics["emp"]["model"].items():
        assert model[action] == figures["emp"]
    assert ((table["share_targeted"] >= 0) & (table["share_targeted"] <= 1)).all()


def test_points_keep_a_decimal_below_one_point():
    assert formatting.points(0.17) == "17"
    assert formatting.points(0.004) == "0.4"
    assert formatting.points(0.0) == "0.0"
