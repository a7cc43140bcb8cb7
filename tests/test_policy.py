"""Tests for churn.policy: deciding on calibrated synthetic data, the exported document
against its JSON schema, validation, applying, saving and loading."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime

import jsonschema
import numpy as np
import pandas as pd
import pytest

from churn import decisions as d
from churn import policy as pol
from churn.decisions import Choice
from churn.economics import Action, Economics
from churn.errors import ChurnInputError

ECON = Economics(
    (
        Action("Email offer", contact_cost=1.0, incentive_cost=10.0, success_rate=0.10),
        Action("Call + discount", contact_cost=15.0, incentive_cost=60.0, success_rate=0.35),
    ),
    value_column="monthly_charges",
    value_multiplier=12.0,
)
FINGERPRINT = "0123456789abcdef" * 4
OTHER_FINGERPRINT = "f" * 64
SCHEMA = json.loads(pol.SCHEMA_PATH.read_text(encoding="utf-8"))
WHEN = datetime(2024, 5, 17, 9, 30, 12, 345, tzinfo=UTC)

CHOICES = [
    Choice("threshold", 0.4),
    Choice("top_n", 250),
    Choice("top_share", 0.2),
    Choice("precision", 0.5),
    Choice("recall", 0.6),
    Choice("max_profit"),
]


@pytest.fixture(scope="module")
def data() -> dict[str, np.ndarray]:
    """Calibrated synthetic customers: y is drawn from p; p has ties (2 decimals)."""
    rng = np.random.default_rng(42)
    n = 1500
    p = np.round(rng.beta(1.2, 3.0, n), 2)
    y = (rng.random(n) < p).astype(int)
    half = rng.uniform(0.0, 0.1, n)
    value = 12.0 * rng.uniform(20.0, 120.0, n)
    return {
        "p": p,
        "low": np.clip(p - half, 0, 1),
        "high": np.clip(p + half, 0, 1),
        "y": y,
        "value": value,
    }


def _decide(data, choice, labelled=True):
    return pol.decide(
        data["p"],
        data["low"],
        data["high"],
        data["y"] if labelled else None,
        data["value"],
        ECON,
        choice,
    )


@pytest.fixture(scope="module")
def decided(data) -> dict[str, pol.Decision]:
    return {c.method: _decide(data, c) for c in CHOICES}


# -------------------------------------------------------------------------- decide
@pytest.mark.parametrize("choice", CHOICES, ids=lambda c: c.method)
def test_decide_is_consistent_for_each_choice(data, decided, choice):
    dec = decided[choice.method]
    p, n = data["p"], data["p"].size
    curve = dec.curve
    row = curve.iloc[dec.row]
    assert dec.choice == choice
    assert dec.row == d.select(curve, choice)
    assert dec.n_customers == n
    assert dec.share_targeted == pytest.approx(dec.n_targeted / n)
    if choice.method in ("top_n", "top_share"):
        # a capacity contacts exactly that many, ties cut by the documented order; the chart
        # point is the last whole group of tied scores within it
        capacity = 250 if choice.method == "top_n" else int(0.2 * n)
        assert dec.n_targeted == capacity >= row["n_targeted"]
        assert curve["n_targeted"].iloc[dec.row + 1] > capacity
        assert dec.threshold == p[np.argsort(-p, kind="stable")][capacity - 1]
    else:
        assert dec.threshold == row["threshold"]
        assert dec.n_targeted == int((p >= dec.threshold).sum()) == row["n_targeted"]
        assert dec.recall == pytest.approx(row["recall"], rel=1e-12)
        assert dec.profit == pytest.approx(row["profit"], rel=1e-12)

    # the rules do exactly what the curve row describes
    assigned = pol.apply_policy(pol.build_policy(dec, ECON, FINGERPRINT, WHEN), p)
    assert int((assigned != "none").sum()) == dec.n_targeted
    names, counts = np.unique(assigned.astype(str), return_counts=True)
    assert dec.actions_count == dict(zip(names.tolist(), counts.tolist(), strict=True))
    assert sum(dec.actions_count.values()) == n
    if choice.method in ("top_n", "top_share"):  # a capacity: rules without a cut-off
        assert dec.capacity is not None and dec.capacity.total is not None
        assert dec.rules == d.policy_rules(0.0, dec.tiers, ECON)
    else:
        assert dec.capacity is None
        assert dec.rules == d.policy_rules(dec.threshold, dec.tiers, ECON)
        assert all(rule.min_probability >= dec.threshold for rule in dec.rules)
    hit = data["y"][assigned != "none"]
    if hit.size:
        assert dec.precision == pytest.approx(hit.mean())
    assert dec.recall == pytest.approx(hit.sum() / data["y"].sum())

    # intervals are ordered and contain their point
    assert dec.expected_profit_low <= dec.expected_profit <= dec.expected_profit_high
    assert dec.profit_low <= dec.profit_high
    assert np.all(curve["profit_per_customer_low"] <= curve["profit_per_customer_high"])
    assert dec.best_row == int(np.argmax(curve["profit"].to_numpy()))


def test_decide_choice_specifics(data, decided):
    p, n = data["p"], data["p"].size
    assert decided["threshold"].n_targeted == int((p >= 0.4).sum())
    assert decided["top_n"].n_targeted == 250
    assert decided["top_share"].share_targeted == 0.2
    assert decided["precision"].precision >= 0.5
    assert decided["recall"].recall >= 0.6
    best = decided["max_profit"]
    assert best.row == best.best_row
    assert best.profit == pytest.approx(decided["max_profit"].curve["profit"].max(), rel=1e-12)
    for dec in decided.values():
        assert dec.profit <= best.profit + 1e-6
    # top_n is the largest group boundary within capacity: one more group would exceed it
    counts = decided["top_n"].curve["n_targeted"].to_numpy()
    assert counts[decided["top_n"].row + 1] > 250
    shares = decided["top_share"].curve["share_targeted"].to_numpy()
    assert shares[decided["top_share"].row + 1] > 0.2
    assert n == counts[-1]


def test_decide_tiers_maximise_profit(data, decided):
    """No fixed tier cut-off on a grid beats the decision's (DP) tiers at their best threshold."""
    best = decided["max_profit"]
    assert len(best.tiers) == len(ECON.actions) - 1
    assert len(best.rules) == 2  # both actions are worth using on this data
    for tier in np.linspace(0.0, 1.0, 41):
        curve = d.threshold_curve(data["p"], ECON, data["value"], data["y"], [float(tier)])
        assert curve["profit"].max() <= best.profit + 1e-7
    # the same tiers are used whatever the choice
    assert all(dec.tiers == best.tiers for dec in decided.values())


def test_decide_on_calibrated_data_expected_matches_realised(data, decided):
    """y is drawn from p, so the realised profit should sit near the expected one."""
    dec = decided["max_profit"]
    assert dec.profit > 0
    assert dec.profit_low <= dec.profit <= dec.profit_high
    # realised and expected (from p) agree within the bootstrap band's width
    assert abs(dec.expected_profit - dec.profit) <= dec.profit_high - dec.profit_low


def test_decide_without_labels_uses_expected_values(data):
    dec = _decide(data, Choice("max_profit"), labelled=False)
    p = data["p"]
    targeted = p >= dec.threshold
    assert dec.recall == pytest.approx(p[targeted].sum() / p.sum())
    # without labels the realised profit is the expected profit
    assert dec.profit == pytest.approx(dec.expected_profit, rel=1e-9)


def test_decide_impossible_target_raises(data):
    y = data["y"].copy()
    y[data["p"] >= np.sort(data["p"])[-3]] = 0  # the top scores all stayed
    p, n = data["p"], data["p"].size
    best = max(y[p >= t].mean() for t in np.unique(p))
    with pytest.raises(ChurnInputError, match="precision"):
        pol.decide(p, p, p, y, data["value"], ECON, Choice("precision", (best + 1) / 2))
    assert best < 1 and n == y.size


def test_decision_metrics_are_per_customer(decided):
    dec = decided["top_share"]
    got = dec.metrics()
    n = dec.n_customers
    assert got["profit_per_customer"] == pytest.approx(dec.profit / n)
    assert got["expected_profit_per_customer_low"] == pytest.approx(dec.expected_profit_low / n)
    assert set(got) == {
        "share_targeted",
        "precision",
        "recall",
        "profit_per_customer",
        "profit_per_customer_low",
        "profit_per_customer_high",
        "expected_profit_per_customer",
        "expected_profit_per_customer_low",
        "expected_profit_per_customer_high",
    }


# ---------------------------------------------------------------------- build_policy
@pytest.mark.parametrize("choice", CHOICES, ids=lambda c: c.method)
def test_build_policy_validates_against_the_schema(decided, choice):
    policy = pol.build_policy(decided[choice.method], ECON, FINGERPRINT, WHEN)
    validator = jsonschema.Draft202012Validator(
        SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    errors = list(validator.iter_errors(policy))
    assert errors == []
    for key in SCHEMA["required"]:
        assert key in policy
    for key in set(SCHEMA["properties"]) - {"score"}:  # (score: version 3 only)
        assert key in policy  # every documented field is written
    # written when baselines are given, or when a capacity in customers was measured for a
    # batch size
    optional = {"baselines_profit_per_customer", "batch_size"}
    for key in set(SCHEMA["properties"]["expected"]["properties"]) - optional:
        assert key in policy["expected"]
    # and it survives a trip through JSON unchanged
    assert json.loads(json.dumps(policy)) == policy


def test_build_policy_fields(decided):
    dec = decided["max_profit"]
    policy = pol.build_policy(dec, ECON, FINGERPRINT, WHEN)
    assert policy["schema_version"] == pol.SCHEMA_VERSION == 2
    assert policy["capacity"] is None  # chosen by profit: the rules alone decide
    assert policy["model_fingerprint"] == FINGERPRINT
    assert policy["created_at"] == "2024-05-17T09:30:12+00:00"
    assert policy["review_by"] == "2024-08-15"  # 90 days later
    assert policy["default_action"] == "none"
    assert policy["rules"] == [r.to_dict() for r in dec.rules]
    assert Economics.from_dict(policy["economics"]) == ECON
    assert policy["choice"] == {"method": "max_profit", "value": None}
    assert policy["expected"]["evaluated_on"] == "holdout of 1,500 customers"


def test_capacity_choice_is_recorded_with_its_capacity(decided):
    dec = decided["top_share"]
    policy = pol.build_policy(dec, ECON, FINGERPRINT, WHEN)
    assert policy["choice"] == {"method": "top_share", "value": 0.2}
    assert policy["expected"]["share_targeted"] == 0.2
    assert policy["capacity"] == {
        "ranking": "churn_probability",
        "total": {"share": 0.2},
        "per_action": {},
    }
    # the rules only say which action; the capacity says how many
    assert min(r["min_probability"] for r in policy["rules"]) == 0.0
    top_n = pol.build_policy(decided["top_n"], ECON, FINGERPRINT, WHEN)
    assert top_n["capacity"]["total"] == {"customers": 250}


@pytest.mark.parametrize("method", ["max_profit", "recall"])
def test_policy_expected_metrics_equal_the_curve_row(decided, method):
    dec = decided[method]
    expected = pol.build_policy(dec, ECON, FINGERPRINT, WHEN)["expected"]
    row = dec.curve.iloc[dec.row]
    for key in ("share_targeted", "precision", "recall", "profit_per_customer"):
        assert expected[key] == pytest.approx(row[key], rel=1e-12)
    assert expected["profit_per_customer_low"] == pytest.approx(row["profit_per_customer_low"])
    assert expected["profit_per_customer_high"] == pytest.approx(row["profit_per_customer_high"])


def test_nobody_targeted_policy_has_null_precision(data):
    dec = _decide(data, Choice("top_n", 0))
    assert dec.n_targeted == 0 and dec.rules == []
    policy = pol.build_policy(dec, ECON, FINGERPRINT, WHEN)
    assert policy["expected"]["precision"] is None
    jsonschema.Draft202012Validator(SCHEMA).validate(policy)
    assert set(pol.apply_policy(policy, data["p"]).tolist()) == {"none"}


# -------------------------------------------------------------------- validate_policy
def _minimal() -> dict:
    return {
        "schema_version": 1,
        "model_fingerprint": FINGERPRINT,
        "created_at": "2024-05-17T09:30:12+00:00",
        "rules": [
            {"action": "Email offer", "min_probability": 0.3},
            {"action": "Call + discount", "min_probability": 0.7},
        ],
        "default_action": "none",
    }


def test_minimal_policy_is_valid():
    assert pol.validate_policy(_minimal()) == _minimal()
    jsonschema.Draft202012Validator(SCHEMA).validate(_minimal())


@pytest.mark.parametrize(
    "key", ["schema_version", "model_fingerprint", "created_at", "rules", "default_action"]
)
def test_validate_rejects_missing_fields(key):
    policy = _minimal()
    del policy[key]
    with pytest.raises(ChurnInputError, match=key):
        pol.validate_policy(policy)


def _with_rules(rules) -> dict:
    return {**_minimal(), "rules": rules}


@pytest.mark.parametrize(
    "policy",
    [
        pytest.param({**_minimal(), "schema_version": 3}, id="schema_version_3"),
        pytest.param({**_minimal(), "schema_version": "1"}, id="schema_version_text"),
        pytest.param({**_minimal(), "schema_version": True}, id="schema_version_bool"),
        pytest.param(_with_rules({"action": "x", "min_probability": 0.5}), id="rules_dict"),
        pytest.param(_with_rules("Email offer >= 0.3"), id="rules_text"),
        pytest.param(_with_rules(None), id="rules_null"),
        pytest.param(_with_rules([{"action": "x", "min_probability": 1.5}]), id="above_1"),
        pytest.param(_with_rules([{"action": "x", "min_probability": -0.1}]), id="below_0"),
        pytest.param(_with_rules([{"action": "x", "min_probability": "0.5"}]), id="text_prob"),
        pytest.param(_with_rules([{"action": "x", "min_probability": None}]), id="null_prob"),
        pytest.param(_with_rules([{"action": "x", "min_probability": True}]), id="bool_prob"),
        pytest.param(
            _with_rules([{"action": "x", "min_probability": float("nan")}]), id="nan_prob"
        ),
        pytest.param(
            _with_rules(
                [{"action": "a", "min_probability": 0.5}, {"action": "b", "min_probability": 0.5}]
            ),
            id="duplicate",
        ),
        pytest.param(
            _with_rules(
                [{"action": "a", "min_probability": 1}, {"action": "b", "min_probability": 1.0}]
            ),
            id="duplicate_int_float",
        ),
        pytest.param(_with_rules([{"action": "x"}]), id="rule_without_probability"),
        pytest.param(_with_rules([{"min_probability": 0.5}]), id="rule_without_action"),
        pytest.param(_with_rules([{"action": "x", "extra": 1}]), id="rule_with_other_key"),
        pytest.param(_with_rules([["x", 0.5]]), id="rule_as_list"),
        pytest.param(_with_rules([{"action": 3, "min_probability": 0.5}]), id="action_number"),
        pytest.param(_with_rules([{"action": "", "min_probability": 0.5}]), id="action_empty"),
        pytest.param({**_minimal(), "default_action": None}, id="default_action_null"),
        pytest.param({**_minimal(), "model_fingerprint": 12345}, id="fingerprint_number"),
        pytest.param([_minimal()], id="not_an_object"),
        pytest.param("policy", id="text"),
    ],
)
def test_validate_rejects_bad_policies(policy, request):
    with pytest.raises(ChurnInputError):
        pol.validate_policy(copy.deepcopy(policy))
    # and the schema agrees, where it can say it (NaN is not JSON; duplicates are not a
    # JSON-schema notion)
    if request.node.callspec.id not in {"nan_prob", "duplicate", "duplicate_int_float"}:
        assert not jsonschema.Draft202012Validator(SCHEMA).is_valid(policy)


def test_validate_accepts_the_bounds_and_integers():
    """Cut-offs of exactly 0 and 1, as integers, and an empty rule list are valid: the checked
    document comes back as it is (the same object, unchanged) and the schema agrees."""
    bounds = _with_rules(
        [{"action": "a", "min_probability": 0}, {"action": "b", "min_probability": 1}]
    )
    no_rules = _with_rules([])
    for policy in (bounds, no_rules):
        before = copy.deepcopy(policy)
        assert pol.validate_policy(policy) is policy
        assert policy == before
        jsonschema.Draft202012Validator(SCHEMA).validate(policy)
    assert [type(r["min_probability"]) for r in bounds["rules"]] == [int, int]
    # the bounds are usable: 0 takes everybody, 1 only the certain; no rules, nobody
    p = np.array([0.0, 0.5, 1.0])
    assert pol.apply_policy(bounds, p).tolist() == ["a", "a", "b"]
    assert pol.apply_policy(no_rules, p).tolist() == ["none", "none", "none"]


# ------------------------------------------------------------------------ apply_policy
def test_apply_policy_equals_the_rule_by_hand():
    policy = _minimal()
    rng = np.random.default_rng(0)
    p = np.r_[rng.random(500), 0.0, 0.3, 0.7, 1.0, np.nextafter(0.3, 0), np.nextafter(0.7, 0)]
    got = pol.apply_policy(policy, p)
    for prob, action in zip(p, got, strict=True):
        eligible = [r for r in policy["rules"] if r["min_probability"] <= prob]
        want = max(eligible, key=lambda r: r["min_probability"])["action"] if eligible else "none"
        assert action == want
    edges = ["none", "Email offer", "Call + discount", "Call + discount", "none", "Email offer"]
    assert got[-6:].tolist() == edges


def test_apply_policy_validates_first():
    with pytest.raises(ChurnInputError):
        pol.apply_policy({"rules": []}, np.array([0.5]))


# ------------------------------------------------------------------- save and load
def test_save_and_load_round_trip(tmp_path, decided):
    policy = pol.build_policy(decided["top_share"], ECON, FINGERPRINT, WHEN)
    path = tmp_path / "policy.json"
    pol.save_policy(policy, path)
    assert path.read_text(encoding="utf-8").endswith("\n")
    assert pol.load_policy(path) == policy
    assert pol.load_policy(path, fingerprint=FINGERPRINT) == policy
    p = np.linspace(0, 1, 101)
    np.testing.assert_array_equal(
        pol.apply_policy(pol.load_policy(path), p), pol.apply_policy(policy, p)
    )


def test_load_policy_for_another_model_raises(tmp_path):
    path = tmp_path / "policy.json"
    pol.save_policy(_minimal(), path)
    with pytest.raises(ChurnInputError, match="model") as info:
        pol.load_policy(path, fingerprint=OTHER_FINGERPRINT)
    assert FINGERPRINT[:12] in str(info.value) and OTHER_FINGERPRINT[:12] in str(info.value)


def test_load_policy_errors(tmp_path):
    with pytest.raises(ChurnInputError, match="not found"):
        pol.load_policy(tmp_path / "missing.json")
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    with pytest.raises(ChurnInputError, match="not valid JSON"):
        pol.load_policy(broken)
    old = tmp_path / "old.json"
    old.write_text(json.dumps({**_minimal(), "schema_version": 0}), encoding="utf-8")
    with pytest.raises(ChurnInputError, match="schema version"):
        pol.load_policy(old)


def test_save_policy_refuses_an_invalid_policy(tmp_path):
    path = tmp_path / "policy.json"
    with pytest.raises(ChurnInputError):
        pol.save_policy(_with_rules([{"action": "x", "min_probability": 2}]), path)
    assert not path.exists()


def test_baseline_profits_on_the_sample(trained):
    from churn.economics import default_economics
    from churn.policy import baseline_profits, decide_on_holdout

    economics = default_economics(trained.holdout_data.columns)
    decision = decide_on_holdout(trained, economics, Choice("top_share", 0.2))
    base = baseline_profits(trained, economics, decision)
    assert base["nobody"] == 0.0
    assert base["chosen"] == pytest.approx(decision.profit / decision.n_customers)
    assert base["model_best"] >= base["chosen"]
    assert base["model_best"] > base["rule"] > 0  # the model earns more than the rule
    y = trained.holdout["outcome"].to_numpy(dtype=float)
    value = economics.customer_value(trained.holdout_data, len(y))
    by_hand = max(
        (
            y * (a.success_rate * (value - a.incentive_cost) - a.contact_cost)
            - (1 - y) * (a.incentive_cost + a.contact_cost)
        ).sum()
        for a in economics.actions
    ) / len(y)
    assert base["everybody"] == pytest.approx(by_hand)
    policy = pol.build_policy(decision, economics, "0" * 64, baselines=base)
    assert policy["expected"]["baselines_profit_per_customer"] == base
    jsonschema.Draft202012Validator(json.loads(pol.SCHEMA_PATH.read_text())).validate(policy)


def test_decision_confusion_equals_the_standalone_function(trained):
    from churn.economics import default_economics
    from churn.policy import decide_on_holdout
    from churn.targeting import assigned_index, confusion, profit_by_index

    economics = default_economics(trained.holdout_data.columns)
    h = trained.holdout
    value = economics.customer_value(trained.holdout_data, len(h))
    for choice in (Choice("threshold", 0.3), Choice("top_share", 0.1), Choice("max_profit")):
        decision = decide_on_holdout(trained, economics, choice)
        p, y = h["churn_probability"].to_numpy(), h["outcome"].to_numpy()
        index = assigned_index(p, decision.rules, decision.capacity, value, economics)
        money = profit_by_index(index, y, value, decision.rules, economics)
        standalone = confusion(y, index >= 0, money, value)
        inside = decision.confusion
        assert inside["customers"].tolist() == standalone["customers"].tolist()
        np.testing.assert_allclose(inside["money"], standalone["money"], rtol=1e-9, atol=1e-6)
        assert inside["customers"].sum() == len(h)
        assert inside[inside["in_profit"]]["money"].sum() == pytest.approx(decision.profit)


def test_a_threshold_choice_exports_the_chosen_probability(trained):
    from churn.economics import default_economics
    from churn.policy import decide_on_holdout

    economics = default_economics(trained.holdout_data.columns)
    top = float(trained.holdout["churn_probability"].max())
    for value in (0.3, min(top + 0.05, 0.999)):
        decision = decide_on_holdout(trained, economics, Choice("threshold", value))
        assert min(r.min_probability for r in decision.rules) == value
    # above every holdout score: nobody in the holdout, but production customers above it
    assert decision.n_targeted == 0
    assert (
        pol.apply_policy(
            {**pol.build_policy(decision, economics, trained.fingerprint)}, np.array([0.9999])
        )[0]
        != "none"
    )


def test_an_action_cannot_be_called_none():
    with pytest.raises(ChurnInputError, match="no action"):
        Economics((Action(" None ", 1, 0, 0.5),))


def test_with_capacities_everybody_is_not_an_option_and_the_json_stays_valid(trained):
    from churn.policy import baseline_profits, decide_on_holdout

    economics = Economics(
        (Action("Email", 1, 10, 0.1, max_share=0.05), Action("Call", 15, 60, 0.35, max_share=0.02)),
        value_column="monthly_charges",
        value_multiplier=12,
    )
    decision = decide_on_holdout(trained, economics, Choice("max_profit"))
    base = baseline_profits(trained, economics, decision)
    assert np.isnan(base["everybody"])
    assert base["model_best"] >= base["chosen"] - 1e-9
    assert decision.n_targeted <= 0.07 * decision.n_customers + 1
    policy = pol.build_policy(decision, economics, trained.fingerprint, baselines=base)
    text = json.dumps(policy, allow_nan=False)  # strict JSON: no NaN
    assert json.loads(text)["expected"]["baselines_profit_per_customer"]["everybody"] is None
    jsonschema.Draft202012Validator(json.loads(pol.SCHEMA_PATH.read_text())).validate(policy)


def test_expected_profit_band_by_hand():
    """Who is contacted is fixed by p; the band puts them at the low, then high, end."""
    action = Action("Offer", contact_cost=10.0, incentive_cost=50.0, success_rate=0.3)
    econ = Economics((action,), value_constant=1000.0)
    p, low, high = np.array([0.6, 0.2]), np.array([0.4, 0.1]), np.array([0.9, 0.3])
    decision = pol.decide(p, low, high, None, np.full(2, 1000.0), econ, Choice("threshold", 0.5))
    # only the first customer is contacted: q*275 - (1-q)*60 = 335q - 60
    assert decision.expected_profit == pytest.approx(335 * 0.6 - 60)
    assert decision.expected_profit_low == pytest.approx(335 * 0.4 - 60)
    assert decision.expected_profit_high == pytest.approx(335 * 0.9 - 60)
    same = pol.decide(p, p, p, None, np.full(2, 1000.0), econ, Choice("threshold", 0.5))
    assert same.expected_profit_low == same.expected_profit == same.expected_profit_high


ONE = Economics((Action("Offer", 10.0, 50.0, 0.3),), value_constant=1000.0)


def _policy_for(decision, economics=ONE) -> dict:
    return pol.build_policy(decision, economics, FINGERPRINT, WHEN)


def test_a_capacity_is_kept_on_a_base_that_scores_higher():
    """The team can contact 20%: on a later base whose customers all score higher, the
    policy still contacts exactly 20% (today's cut-off would reach far more)."""
    p = np.linspace(0.01, 0.99, 100)
    decision = pol.decide(p, p, p, None, np.full(100, 1000.0), ONE, Choice("top_share", 0.2))
    policy = _policy_for(decision)
    later = np.clip(np.linspace(0.01, 0.99, 500) + 0.3, 0, 1)
    actions = pol.apply_policy(policy, later)
    assert (actions != "none").sum() == 100  # 20% of 500, no more
    assert later[actions != "none"].min() >= later[actions == "none"].max()
    # in customers: exactly N of any batch
    by_count = pol.decide(p, p, p, None, np.full(100, 1000.0), ONE, Choice("top_n", 30))
    assert (pol.apply_policy(_policy_for(by_count), later) != "none").sum() == 30
    assert (pol.apply_policy(_policy_for(by_count), later[:10]) != "none").sum() == 10
    # a cut-off has no capacity: it behaves as a cut-off
    by_cut = pol.decide(p, p, p, None, np.full(100, 1000.0), ONE, Choice("threshold", 0.5))
    assert _policy_for(by_cut)["capacity"] is None
    assert (pol.apply_policy(_policy_for(by_cut), later) != "none").sum() == (later >= 0.5).sum()


def test_a_capacity_counts_only_the_scored_customers_and_unscored_get_the_default():
    p = np.r_[np.linspace(0.9, 0.5, 10), [np.nan] * 10]
    holdout = np.linspace(0.01, 0.99, 100)

    def policy(choice: Choice) -> dict:
        decision = pol.decide(holdout, holdout, holdout, None, np.full(100, 1000.0), ONE, choice)
        return _policy_for(decision)

    actions = pol.apply_policy(policy(Choice("top_share", 0.2)), p)
    assert actions[10:].tolist() == ["none"] * 10  # no probability, no action
    assert actions[:2].tolist() == ["Offer", "Offer"] and (actions[2:10] == "none").all()
    by_rules = pol.apply_policy(policy(Choice("threshold", 0.1)), p)
    assert by_rules[10:].tolist() == ["none"] * 10


def test_ties_at_a_capacity_go_to_the_smaller_id_whatever_the_row_order():
    p = np.array([0.9, 0.5, 0.5, 0.5, 0.1])
    ids = np.array(["c", "b", "e", "a", "d"], dtype=object)
    decision = pol.decide(p, p, p, None, np.full(5, 1000.0), ONE, Choice("top_n", 2))
    policy = _policy_for(decision)
    frame = pd.DataFrame({"id": ids})
    actions = pol.apply_policy(policy, p, frame, "id")
    assert set(ids[actions != "none"]) == {"c", "a"}
    shuffled = np.array([4, 2, 0, 3, 1])
    again = pol.apply_policy(policy, p[shuffled], frame.iloc[shuffled], "id")
    assert set(ids[shuffled][again != "none"]) == {"c", "a"}
    # without ids, the earlier row
    assert pol.apply_policy(policy, p).tolist() == ["Offer", "Offer", "none", "none", "none"]


def test_per_action_capacities_pass_the_rest_to_the_weaker_action():
    actions = (Action("Email", 1.0, 5.0, 0.1), Action("Call", 15.0, 60.0, 0.4, max_share=0.1))
    econ = Economics(actions, value_constant=2000.0)
    p = np.linspace(0.01, 0.99, 200)
    decision = pol.decide(p, p, p, None, np.full(200, 2000.0), econ, Choice("max_profit"))
    policy = _policy_for(decision, econ)
    assert policy["capacity"]["per_action"] == {"Call": {"share": 0.1}}
    assert (pol.apply_policy(policy, p) == "Call").sum() <= 20  # it fits on its own holdout
    later = np.clip(p + 0.3, 0, 1)  # everyone scores higher: more reach the Call tier
    given = pol.apply_policy(policy, later)
    assert (given == "Call").sum() == 20  # 10% of 200, the highest
    assert later[given == "Call"].min() >= later[given == "Email"].max()
    by_rules = pol.apply_policy({**policy, "capacity": None}, later)
    # the ones the Call tier could not take get an Email instead of nothing
    assert (given != "none").sum() == (by_rules != "none").sum()


def test_ranking_by_expected_value_takes_the_customers_worth_most():
    p = np.array([0.9, 0.8, 0.7, 0.6, 0.5])
    values = np.array([100.0, 5000.0, 4000.0, 200.0, 3000.0])
    econ = Economics((Action("Offer", 10.0, 50.0, 0.3),), value_column="clv")
    frame = pd.DataFrame({"clv": values})
    decision = pol.decide(p, p, p, None, values, econ, Choice("top_n", 2), ranking="expected_value")
    assert decision.n_targeted == 2
    policy = _policy_for(decision, econ)
    assert policy["capacity"]["ranking"] == "expected_value"
    actions = pol.apply_policy(policy, p, frame)
    assert actions.tolist() == ["none", "Offer", "Offer", "none", "none"]
    # by probability, the two most likely to leave instead
    by_p = pol.decide(p, p, p, None, values, econ, Choice("top_n", 2))
    assert pol.apply_policy(_policy_for(by_p, econ), p).tolist()[:2] == ["Offer", "Offer"]
    assert decision.expected_profit > by_p.expected_profit
    with pytest.raises(ChurnInputError, match="'clv' column"):
        pol.apply_policy(policy, p)


def test_a_version_1_policy_still_loads_and_applies_as_before(tmp_path):
    old = {**_minimal(), "schema_version": 1, "capacity": {"total": {"share": 0.0}}}
    path = tmp_path / "v1.json"
    path.write_text(json.dumps(old), encoding="utf-8")
    policy = pol.load_policy(path, FINGERPRINT)
    p = np.array([0.1, 0.35, 0.8])
    # version 1 has no capacity: a stray field is not read as one
    assert pol.apply_policy(policy, p).tolist() == ["none", "Email offer", "Call + discount"]


@pytest.mark.parametrize(
    "capacity",
    [
        {"ranking": "churn_probability", "total": {"share": 1.5}, "per_action": {}},
        {"ranking": "churn_probability", "total": {"customers": -1}, "per_action": {}},
        {"ranking": "churn_probability", "total": {"customers": 2.5}, "per_action": {}},
        {"ranking": "churn_probability", "total": {"count": 3}, "per_action": {}},
        {"ranking": "loudest", "total": None, "per_action": {}},
        {"ranking": "churn_probability", "total": None, "per_action": {"Fax": {"share": 0.1}}},
        {"totl": {"customers": 1}},  # a typo must not drop the limit
        {"ranking": "churn_probability", "total": {"customers": 1}},
        {"ranking": "churn_probability", "total": None, "per-action": {}},
        {"ranking": "churn_probability", "total": {"customers": 1}, "per_action": {}, "x": 1},
        "all of them",
    ],
)
def test_a_bad_capacity_is_refused_with_a_sentence(capacity):
    policy = {**_minimal(), "schema_version": 2, "capacity": capacity}
    with pytest.raises(ChurnInputError):
        pol.validate_policy(policy)


def test_expected_profit_band_orders_with_three_tiers():
    """The band holds the expected profit and collapses when every interval is a point."""
    rng = np.random.default_rng(3)
    n = 300
    p = rng.random(n)
    width = rng.uniform(0.0, 0.2, n)
    low, high = np.clip(p - width, 0, 1), np.clip(p + width, 0, 1)
    value = rng.uniform(100, 1000, n)
    actions = (
        Action("Email", 1.0, 5.0, 0.1),
        Action("Voucher", 5.0, 30.0, 0.25),
        Action("Call", 15.0, 60.0, 0.4),
    )
    econ = Economics(actions, value_constant=500.0)
    decision = pol.decide(p, low, high, None, value, econ, Choice("top_share", 0.6))
    assert len(decision.rules) >= 2
    lo, mid, hi = (
        decision.expected_profit_low,
        decision.expected_profit,
        decision.expected_profit_high,
    )
    assert lo <= mid <= hi and lo < hi
    from churn.targeting import assigned_index, profit_by_index

    index = assigned_index(p, decision.rules, decision.capacity)
    assert mid == pytest.approx(profit_by_index(index, p, value, decision.rules, econ).sum())
    nobody = pol.decide(p, low, high, None, value, econ, Choice("top_n", 0))
    assert nobody.expected_profit_low == nobody.expected_profit_high == 0.0


def test_a_capacity_in_plain_words():
    from churn.targeting import Capacity, Limit

    capacity = Capacity(total=Limit(customers=750), per_action=(("Call", Limit(share=0.05)),))
    assert capacity.sentence() == (
        "at most 750 customers in all, at most 5.0% of the customers scored for Call, "
        "highest churn probability first"
    )
    assert Capacity.from_dict(capacity.to_dict()) == capacity
    by_value = Capacity(total=Limit(share=0.1), ranking="expected_value")
    assert (
        by_value.sentence()
        == "at most 10.0% of the customers scored in all, highest expected value first"
    )
    # per-action limits are kept by rank of probability only
    with pytest.raises(ChurnInputError, match="total capacity only"):
        Capacity(
            total=Limit(customers=5),
            per_action=(("Call", Limit(share=0.05)),),
            ranking="expected_value",
        )


def test_the_rank_order_is_the_documented_one_by_brute_force():
    from churn.targeting import rank_order

    rng = np.random.default_rng(5)
    score = np.round(rng.random(2000), 2)  # many ties
    score[::97] = np.nan
    ids = np.array([str(x) for x in rng.permutation(2000)], dtype=object)
    ids[::50] = None
    brute = sorted(
        range(2000),
        key=lambda k: (
            np.isnan(score[k]),
            0 if np.isnan(score[k]) else -score[k],
            ids[k] is None,
            ids[k] or "",
            k,
        ),
    )
    assert rank_order(score, ids).tolist() == brute
    assert rank_order(score).tolist() == sorted(
        range(2000), key=lambda k: (np.isnan(score[k]), 0 if np.isnan(score[k]) else -score[k], k)
    )
