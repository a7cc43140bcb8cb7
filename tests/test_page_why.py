"""The "Why does it say that?" page, driven headless with AppTest."""

from __future__ import annotations

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from churn.data import read_table
from churn.explain import explain, reason_sentences, what_if, what_if_inputs
from churn.formatting import percent
from churn.sample import NEW_BATCH_PATH

TIMEOUT = 120


def _why_page() -> AppTest:
    app = AppTest.from_file("../app.py", default_timeout=TIMEOUT)
    app.run()
    app.switch_page("app_pages/why.py")
    app.run()
    return app


@pytest.fixture(scope="module")
def library():
    """What the library says about the page's customers (the app's model and base)."""
    from app_pages.common import sample_artifact

    artifact = sample_artifact()
    base = read_table(NEW_BATCH_PATH, text_columns=("customer_id",))
    expl = explain(artifact, base)
    row = int(np.argmax(expl.probability))
    return {"artifact": artifact, "base": base, "expl": expl, "row": row}


@pytest.fixture(scope="module")
def why() -> AppTest:
    return _why_page()


def _metric(app: AppTest, label: str) -> str:
    values = [m.value for m in app.metric if m.label == label]
    assert values, f"no metric {label!r} on the page"
    return values[0]


def test_page_renders_without_exceptions(why):
    assert not why.exception
    assert why.title[0].value == "Why does it say that?"
    assert not why.error


def test_default_customer_is_the_riskiest_with_the_library_figures(why, library):
    base, expl, row = library["base"], library["expl"], library["row"]
    assert why.text_input(key="why_customer").value == base["customer_id"].iloc[row]
    p = library["artifact"].model.predict_proba(base.iloc[[row]])[0, 1]
    assert _metric(why, "Churn probability") == percent(p)
    shown = [m.value for m in why.markdown if m.value.startswith("- ")]
    assert shown == [f"- {s}" for s in reason_sentences(expl, row, k=5)]


def test_unknown_id_gives_a_sentence():
    app = _why_page()
    app.text_input(key="why_customer").input("NOBODY-42").run()
    assert not app.exception
    assert any("There is no customer" in w.value for w in app.warning)
    assert not [m for m in app.metric if m.label == "Churn probability"]


def test_another_customer_by_id(library):
    app = _why_page()
    base = library["base"]
    app.text_input(key="why_customer").input(f"  {base['customer_id'].iloc[10]} ").run()
    assert not app.exception
    assert _metric(app, "Churn probability") == percent(library["expl"].probability[10])


def test_what_if_shows_the_library_after_probability(library):
    app = _why_page()
    base, expl, row = library["base"], library["expl"], library["row"]
    customer_id = base["customer_id"].iloc[row]
    assert _metric(app, "Before") == percent(expl.probability[row])
    item = what_if_inputs(expl, row, k=4)[0]
    key = f"why_what_if_{customer_id}_{item['feature']}"
    if item["kind"] == "numeric":
        new = (item["current"] or 0.0) + 12.0
        app.number_input(key=key).set_value(new).run()
    else:
        new = next(o for o in item["options"] if o != item["current"])
        app.selectbox(key=key).set_value(new).run()
    assert not app.exception
    expected = what_if(library["artifact"], base.iloc[[row]], {item["feature"]: new})
    assert expected["after"]["probability"] != pytest.approx(expected["before"]["probability"])
    assert _metric(app, "After the change") == percent(expected["after"]["probability"])
    assert _metric(app, "Before") == percent(expected["before"]["probability"])


@pytest.mark.parametrize("feature", ["tenure_months", "contract_type", "recent_price_increase"])
def test_dependence_feature_can_change(feature):
    app = _why_page()
    app.selectbox(key="why_dependence_feature").set_value(feature).run()
    assert not app.exception
    assert app.selectbox(key="why_dependence_feature").value == feature


def test_the_interval_is_named_at_the_level_the_model_states():
    """The per-customer interval reads "90%" (what it covers of the true probability), not
    the 95% it once claimed."""
    from app_pages.common import sample_artifact

    at = AppTest.from_file("../app.py", default_timeout=120)
    at.run()
    at.switch_page("app_pages/why.py").run()
    level = f"{sample_artifact().model.confidence:.0%}"
    captions = " ".join(c.value for c in at.caption)
    assert f"{level} interval" in captions and "95% interval" not in captions
