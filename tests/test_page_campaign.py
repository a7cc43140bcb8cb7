"""The "Did it work?" page, driven headless with AppTest: the shown figures are the library's."""

from __future__ import annotations

import io
import json
import shlex
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from churn import campaign_report
from churn.campaign import arms, average_effect, balance
from churn.campaign_model import load_campaign
from churn.cli import main
from churn.economics import Economics
from churn.formatting import percent
from churn.sample import CAMPAIGN_PATH, NEW_BATCH_PATH

TIMEOUT = 300


def _open(page: str = "app_pages/campaign.py") -> AppTest:
    at = AppTest.from_file("../app.py", default_timeout=TIMEOUT)
    at.run()
    at.switch_page(page)
    at.run()
    assert not at.exception, at.exception
    return at


@pytest.fixture(scope="module")
def campaign() -> pd.DataFrame:
    return pd.read_csv(CAMPAIGN_PATH, dtype={"customer_id": str})


@pytest.fixture(scope="module")
def page() -> Iterator[AppTest]:
    yield _open()


def _features(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns=["customer_id", "contacted", "churned"])


def test_verdict_and_figures_are_the_librarys(page, campaign):
    assert page.title[0].value == "Did it work?"
    effect = average_effect(campaign["churned"], campaign["contacted"])
    assert page.success[0].value == campaign_report.verdict(effect)
    assert "reduced churn by 5.7 percentage points" in page.success[0].value
    shown = {m.label: m.value for m in page.metric}
    assert shown == {
        "Churn, control group": percent(effect.control_rate),
        "Churn, contacted": percent(effect.contacted_rate),
        "Effect of contacting": f"{effect.ate * 100:+.1f} points",
        "Measured success rate": percent(effect.success_rate),
    }
    table = arms(campaign["churned"], campaign["contacted"])
    helps = {m.label: m.help for m in page.metric}
    assert f"{table.loc['control', 'churners']:,} of 4,000" in helps["Churn, control group"]
    assert page.expander[0].label == "Campaign: sample_campaign.csv (the sample's)"


def test_balance_check_is_the_librarys(page, campaign):
    check = balance(_features(campaign), campaign["contacted"])
    assert campaign_report.balance_sentence(check) in [s.value for s in page.success]
    compact, full = (d.value for d in page.dataframe[:2])
    pd.testing.assert_frame_equal(compact, campaign_report.balance_display(check, n=5))
    pd.testing.assert_frame_equal(full, campaign_report.balance_display(check))
    assert len(full) == _features(campaign).shape[1]
    assert not [w for w in page.warning if "split" in w.value]  # random: nothing to warn about


def _sample_model():
    from app_pages.common import SAMPLE_CAMPAIGN, _campaign_model

    return _campaign_model(SAMPLE_CAMPAIGN.roles, None)


def test_uplift_against_risk_and_backfire_groups_are_the_librarys(page):
    model = _sample_model()  # the page's, from the shared cache
    holdout = model.results["holdout"]
    kept = holdout["kept_per_1000_contacts"]
    assert campaign_report.kept_sentence(kept) in [i.value for i in page.info]
    shown_kept, shown_deciles, shown_backfire = (d.value for d in page.dataframe[2:5])
    pd.testing.assert_frame_equal(
        shown_deciles, campaign_report.decile_display(holdout["uplift_by_decile"])
    )
    pd.testing.assert_frame_equal(shown_kept, campaign_report.kept_display(kept))
    assert list(shown_kept.columns) == [
        "Budget", "By measured uplift", "By churn risk", "At random"
    ]  # fmt: skip
    groups = campaign_report.backfire_display(model.results["backfire"])
    rates = ["Churn if contacted", "Churn if not"]  # shown in percent
    pd.testing.assert_frame_equal(shown_backfire.drop(columns=rates), groups.drop(columns=rates))
    pd.testing.assert_frame_equal(shown_backfire[rates], groups[rates] * 100)
    # the sample's annoyed customers (two-year contracts, long tenure) are flagged
    sentence = campaign_report.backfire_sentence(model.results["backfire"])
    assert sentence.startswith("Contacting raised churn in 1 group")
    assert "tenure_months" in sentence and sentence in [w.value for w in page.warning]
    (chart,) = page.get("vega_lite_chart")
    spec = json.loads(chart.proto.spec)
    assert spec["layer"][2]["encoding"]["y"]["title"] == "Customers kept per 1,000 customers"
    qini = campaign_report.qini_frame(holdout["qini"])
    assert set(qini["ranking"]) == {"By measured uplift", "By churn risk", "At random"}
    assert page.session_state["campaign_model_ready"]


def test_assumptions_are_compared_and_one_click_takes_the_rate(page, campaign):
    """On Decide one click takes the measured rate for the chosen action (and says where it
    came from); on "Did it work?" too, for another action. The URL carries it."""
    effect = average_effect(campaign["churned"], campaign["contacted"])
    scenario = page.session_state["scenario"]
    expected = campaign_report.assumption_table(effect, scenario.economics)
    bullets = " ".join(m.value for m in page.markdown)
    assert all(sentence in bullets for sentence in expected["sentence"])

    page.switch_page("app_pages/decide.py").run()
    assert not page.exception, page.exception
    chooser = page.selectbox(key="decide_measured_action")
    assert chooser.value == "Call + discount"
    assert chooser.label.startswith("A campaign measured a success rate of 23.1% (16.4% to")
    page.button(key="decide_use_measured").click().run()
    assert not page.exception, page.exception
    actions = page.session_state["scenario"].economics.actions
    assert [a.success_rate for a in actions] == [0.10, effect.success_rate]
    assert repr(effect.success_rate) in page.query_params["actions"]
    captions = " ".join(c.value for c in page.caption)
    assert (
        "The success rate of Call + discount (23.1%) was measured in the campaign "
        "sample_campaign.csv (95% interval 16.4% to 29.3%)" in captions
    )
    assert not [b for b in page.button if b.key == "decide_use_measured"]  # taken: gone
    shown = {m.label: m.value for m in page.metric}  # Decide's figures follow the new rate
    from churn.policy import decide_on_holdout
    from app_pages.common import sample_artifact

    decision = decide_on_holdout(
        sample_artifact(),
        Economics(actions, value_column="monthly_charges", value_multiplier=12.0),
        page.session_state["scenario"].choice,
    )
    assert shown["Contacted"] == percent(decision.share_targeted)

    page.switch_page("app_pages/campaign.py").run()
    assert not page.exception, page.exception
    use = [b for b in page.button if b.label.startswith("Use the measured")]
    assert use[0].disabled  # the tested action already has it
    page.selectbox(key="campaign_action").set_value("Email offer").run()
    use = [b for b in page.button if b.label.startswith("Use the measured")]
    assert use[0].label == "Use the measured 23.1% for Email offer on Decide"
    use[0].click().run()
    assert not page.exception, page.exception
    actions = page.session_state["scenario"].economics.actions
    assert [a.success_rate for a in actions] == [effect.success_rate, effect.success_rate]
    assert any("Email offer (23.1%) was measured" in c.value for c in page.caption)


def _multi_arm(campaign: pd.DataFrame) -> bytes:
    """The sample campaign exported with a three-valued group column and Yes/No churn."""
    frame = campaign.rename(columns={"churned": "Churned?", "customer_id": "Account"})
    group = np.where(frame.pop("contacted") == 1, "Call", "Control")
    group[(group == "Control") & (np.arange(len(frame)) % 2 == 0)] = "Holdout"
    frame["Test Group"] = group
    frame["Churned?"] = np.where(frame["Churned?"] == 1, "Yes", "No")
    return frame.to_csv(index=False).encode()


def _analyse(at: AppTest) -> None:
    next(b for b in at.button if b.label == "Analyse this campaign").click()
    at.run()
    assert not at.exception, at.exception


def test_an_uploaded_campaign_with_three_groups_needs_its_contacted_value(campaign):
    at = _open()
    at.file_uploader(key="campaign_file").set_value(
        ("retention-test.csv", _multi_arm(campaign), "text/csv")
    )
    at.run()
    assert not at.exception, at.exception
    assert at.selectbox(key="campaign_target").value == "Churned?"
    assert at.selectbox(key="campaign_positive").value == "Yes"
    assert at.selectbox(key="campaign_treatment").value == "Test Group"
    assert at.selectbox(key="campaign_id").value == "Account"
    assert any("Test Group has 3 values that do not say" in i.value for i in at.info)
    assert not [b for b in at.button if b.label == "Analyse this campaign"]
    at.selectbox(key="campaign_treated").set_value("Call").run()
    _analyse(at)
    assert not at.error
    effect = average_effect(campaign["churned"], campaign["contacted"])  # Call = contacted
    assert at.success[0].value == campaign_report.verdict(effect)
    assert at.expander[0].label == "Campaign: retention-test.csv (uploaded)"
    assert "campaign" in at.session_state and "_upload_cache" in at.session_state

    # its model needs an "Account" column the customers to act on do not have: Customers
    # still lists them, without uplift, and says why
    at.switch_page("app_pages/customers.py").run()
    assert not at.exception, at.exception
    assert any("cannot score these customers" in w.value for w in at.warning)
    assert "uplift" not in at.dataframe[0].value.columns
    at.switch_page("app_pages/campaign.py").run()

    other = _open()  # another visitor still sees the sample campaign
    assert other.expander[0].label == "Campaign: sample_campaign.csv (the sample's)"

    next(b for b in at.button if b.label == "Back to the sample campaign").click()
    at.run()
    assert "campaign" not in at.session_state


def test_bad_campaigns_are_one_sentence(campaign):
    at = _open()
    one_arm = campaign.assign(contacted=1).to_csv(index=False).encode()
    at.file_uploader(key="campaign_file").set_value(("all-contacted.csv", one_arm, "text/csv"))
    at.run()
    # one value only: not suggested as a contact column, so the user picks it
    at.selectbox(key="campaign_treatment").set_value("contacted").run()
    _analyse(at)
    assert at.error[0].value == (
        "The contact column has only the value 1; the analysis needs both contacted customers "
        "(1) and a control group (0)."
    )
    assert "campaign" not in at.session_state  # the sample's is still shown
    assert at.success[0].value.startswith("Contacting reduced churn by 5.7")

    # contact given to the month-to-month customers: the page warns under the verdict and
    # in the balance check
    targeted = campaign.assign(
        contacted=(campaign["contract_type"] == "Month-to-month").astype(int)
    ).to_csv(index=False)
    at.file_uploader(key="campaign_file").set_value(("targeted.csv", targeted.encode(), "text/csv"))
    at.run()
    _analyse(at)
    frame = pd.read_csv(io.StringIO(targeted), dtype={"customer_id": str})
    effect = average_effect(frame["churned"], frame["contacted"])
    # the riskier customers were contacted: churn looks raised, and the page says why not to
    # trust it
    assert [e.value for e in at.error] == [campaign_report.verdict(effect)]
    assert at.error[0].value.startswith("Contacting raised churn")
    warnings = [w.value for w in at.warning]
    assert any(w.startswith("The contacted and control customers differed") for w in warnings)
    skewed = balance(_features(frame), frame["contacted"])
    assert not skewed.looks_random and skewed.message in warnings

    small = campaign.head(300).to_csv(index=False).encode()
    at.file_uploader(key="campaign_file").set_value(("small.csv", small, "text/csv"))
    at.run()
    _analyse(at)
    assert at.error[0].value.startswith("Each arm needs at least 200 customers")

    # two values that do not say who was contacted: the page asks, not the command line
    ab = campaign.assign(contacted=np.where(campaign["contacted"] == 1, "B", "A"))
    at.file_uploader(key="campaign_file").set_value(
        ("ab.csv", ab.to_csv(index=False).encode(), "text/csv")
    )
    at.run()
    at.selectbox(key="campaign_treatment").set_value("contacted").run()
    assert at.selectbox(key="campaign_treated").options == ["A", "B"]
    assert any("contacted has 2 values that do not say" in i.value for i in at.info)

    at.file_uploader(key="campaign_file").set_value(("book.xlsx", b"PK\x03\x04 no", "x"))
    at.run()
    assert not at.exception
    assert "valid Excel" in at.error[0].value


def test_customers_decide_and_export_use_the_campaign_model(page, tmp_path):
    """Once the campaign model exists: Customers shows each customer's uplift; Decide can
    target by it (figures from decide_on_campaign), and Customers and Export follow."""
    from churn.policy import policy_score
    from churn.uplift_decisions import decide_on_campaign
    from app_pages.common import sample_artifact

    model = _sample_model()
    base = pd.read_csv(NEW_BATCH_PATH, dtype={"customer_id": str})
    expected = campaign_report.uplift_on_customers(model, base).set_index("customer_id")

    page.switch_page("app_pages/customers.py").run()
    assert not page.exception, page.exception
    listed = page.dataframe[0].value.set_index("customer_id")
    assert {"uplift", "uplift_low", "uplift_high"} <= set(listed.columns)
    for column in ("uplift", "uplift_low", "uplift_high"):  # shown in percentage points
        gap = listed[column] - 100 * expected.loc[listed.index, column]
        assert gap.abs().max() < 1e-9, column

    page.switch_page("app_pages/decide.py").run()
    page.radio(key="decide_target").set_value("uplift").run()
    assert not page.exception, page.exception
    methods = page.radio(key="decide_uplift_method")
    assert methods.options == [
        "Maximum profit", "Uplift cut-off", "Capacity (share or number of customers)"
    ]  # fmt: skip
    scenario = page.session_state["scenario"]
    assert scenario.target == "uplift" and page.query_params["target"] == "uplift"
    decision = decide_on_campaign(model, scenario.economics, scenario.choice)
    shown = {m.label: m.value for m in page.metric}
    assert shown["Contacted"] == percent(decision.share_contacted)
    assert shown["Kept per 1,000 contacts"] == f"{decision.kept_per_1000:,.0f}"
    box = " ".join(i.value for i in page.info)
    economics = scenario.economics
    from churn.uplift_decisions import build_uplift_policy

    policy = build_uplift_policy(decision, economics, model.fingerprint)
    acted = campaign_report.uplift_on_customers(model, base, policy)
    n = int((acted["action"] != "none").sum())
    assert f"this policy contacts exactly {n:,}" in box

    page.switch_page("app_pages/customers.py").run()
    assert not page.exception, page.exception
    listed = page.dataframe[0].value
    assert (
        listed["customer_id"].head(n).tolist()
        == (
            acted[acted["action"] != "none"].sort_values("uplift", ascending=False)["customer_id"]
        ).tolist()
    )
    assert {m.label: m.value for m in page.metric}["Call + discount"] == f"{n:,}"

    page.switch_page("app_pages/export.py").run()
    assert not page.exception, page.exception
    document = json.loads(page.code[0].value)
    assert document["schema_version"] == 3 and policy_score(document) == "uplift"
    assert document["model_fingerprint"] == model.fingerprint
    assert document["rules"] == policy["rules"]
    assert sample_artifact().fingerprint not in [c.value for c in page.code]
    # the command shown trains the same campaign model: the policy's fingerprint fits it
    (train,) = [
        line
        for c in page.code
        for line in c.value.splitlines()
        if line.startswith("python -m churn campaign --data data/sample_campaign.csv")
    ]
    args = shlex.split(train)[3:]
    args[args.index("--data") + 1] = str(CAMPAIGN_PATH)
    args[args.index("--out") + 1] = str(tmp_path / "campaign")
    assert main(["--quiet", *args]) == 0
    assert load_campaign(tmp_path / "campaign").fingerprint == document["model_fingerprint"]
