"""The "Is it fair?" page, driven headless with AppTest: the shown figures are the library's."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from churn import fairness
from churn.decisions import Choice
from churn.policy import decide_on_holdout
from churn.scenario import Scenario

TIMEOUT = 180


def _artifact():
    from app_pages.common import sample_artifact

    return sample_artifact()


def _open() -> AppTest:
    at = AppTest.from_file("../app.py", default_timeout=TIMEOUT)
    at.run()
    at.switch_page("app_pages/fairness.py")
    at.run()
    assert not at.exception, at.exception
    return at


@pytest.fixture(scope="module")
def page() -> Iterator[AppTest]:
    yield _open()


def _expected_table(choice: Choice, column: str) -> pd.DataFrame:
    artifact = _artifact()
    scenario = Scenario.from_query({}, list(artifact.holdout_data.columns))
    decision = decide_on_holdout(artifact, scenario.economics, choice)
    return fairness.display_table(fairness.fairness_table(artifact, decision, column))


def _shown_tables(at: AppTest) -> dict[str, pd.DataFrame]:
    """The group table under each attribute's subheader, its main and its secondary columns
    side by side again (the slices table comes last)."""
    names = [s.value for s in at.subheader]
    frames = [d.value for d in at.dataframe[: 2 * len(names)]]
    return {
        name: pd.concat([frames[2 * i], frames[2 * i + 1]], axis=1) for i, name in enumerate(names)
    }


def _same(shown: pd.DataFrame, expected: pd.DataFrame) -> bool:
    """Same columns, same text, and the same group labels when the page shows an index."""
    if not isinstance(shown.index, pd.RangeIndex) and list(shown.index) != list(expected.index):
        return False
    shown = shown.reset_index(drop=True)
    expected = expected.reset_index(drop=True)
    return list(shown.columns) == list(expected.columns) and shown.astype(str).equals(
        expected.astype(str)
    )


def test_renders_with_the_default_attributes(page):
    assert page.title[0].value == "Is it fair?"
    assert [s.value for s in page.subheader] == fairness.segment_candidates(_artifact()).default
    assert page.multiselect(key="fairness_attributes").value == ["region", "age", "gender"]


def test_shown_tables_are_the_librarys_for_the_sessions_policy(page):
    shown = _shown_tables(page)
    for column in ("region", "age", "gender"):
        expected = _expected_table(Choice("max_profit"), column)
        assert _same(shown[column], expected), column
    age = shown["age"]
    assert list(age.index) == ["under 25", "25-44", "45-64", "65 and over", "Missing"]
    assert age.loc["65 and over", "Contacted vs best"].endswith(" flagged")


def test_notes_flag_age_and_clear_gender_and_region(page):
    artifact = _artifact()
    scenario = Scenario.from_query({}, list(artifact.holdout_data.columns))
    decision = decide_on_holdout(artifact, scenario.economics, scenario.choice)
    notes = fairness.disparity_notes(fairness.fairness_table(artifact, decision, "age"), "age")
    assert notes
    warnings = " ".join(w.value for w in page.warning)
    assert all(note in warnings for note in notes)
    successes = " ".join(s.value for s in page.success)
    assert "No group of region" in successes and "No group of gender" in successes
    assert "No group of age" not in successes


def test_worst_slices_table_is_the_librarys(page):
    slices = fairness.slice_table(_artifact())
    for by in ("roc_auc", "calibration_gap"):
        page.selectbox(key="fairness_slice_by").set_value(by).run()
        assert not page.exception
        expected = fairness.slice_display(fairness.worst_slices(slices, by, n=10))
        assert _same(page.dataframe[-1].value, expected), by
    assert any("searching many" in i.value for i in page.info)


def test_moving_the_threshold_on_decide_changes_the_table():
    at = _open()
    before = _shown_tables(at)["age"]
    at.switch_page("app_pages/decide.py")
    at.run()
    at.radio(key="decide_method").set_value("threshold").run()
    at.slider(key="decide_threshold").set_value(0.5).run()
    at.switch_page("app_pages/fairness.py")
    at.run()
    assert not at.exception
    after = _shown_tables(at)["age"]
    expected = _expected_table(Choice("threshold", 0.5), "age")
    assert _same(after, expected)
    assert not _same(after, before)


def test_choosing_another_attribute_shows_its_groups():
    at = _open()
    at.multiselect(key="fairness_attributes").set_value(["plan"]).run()
    assert not at.exception
    assert [s.value for s in at.subheader] == ["plan"]
    assert _same(_shown_tables(at)["plan"], _expected_table(Choice("max_profit"), "plan"))
    at.multiselect(key="fairness_attributes").set_value([]).run()
    assert any("at least one attribute" in i.value for i in at.info)


def test_no_place_warning_on_the_sample(page):
    assert not any("place column" in w.value for w in page.warning)


def test_places_the_model_uses_are_flagged_as_possible_proxies(telco_model):
    at = AppTest.from_file("../app.py", default_timeout=TIMEOUT)
    at.session_state["user_artifact"] = telco_model
    at.run()
    at.switch_page("app_pages/fairness.py")
    at.run()
    assert not at.exception, at.exception
    expected = fairness.place_note(fairness.place_features(telco_model))
    assert expected is not None and "Latitude" in expected
    assert [w.value for w in at.warning if "place column" in w.value] == [expected]
