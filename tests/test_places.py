"""Codes and places on a look-alike of the IBM telco export (``_telco.py``).

Zip codes are codes, not quantities; a city column with 1,100 values is grouped or left
out, never a pile of "rare groups"; places are flagged as possible proxies for
protected attributes and stay usable; and a random part of the training table does not
drift just because a column has many small categories.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from churn import drift, explain, fairness, report
from churn.artifact import Artifact
from churn.checks import OTHER_LEVEL
from churn.features import FeatureSpec
from churn.training import holdout_split, scored_customers

SPARSE = ("City", "Zip Code", "Lat Long")


@pytest.fixture(scope="module")
def kept_model(telco_frame: pd.DataFrame, train_table) -> Artifact:
    """City and Zip Code put back by the user: grouped, and read as categories."""
    return train_table(
        telco_frame.iloc[:3_000],
        "Churn Label",
        id_column="CustomerID",
        keep=("City", "Zip Code"),
        n_boot=20,
    )


# ------------------------------------------------------------------------ the checks
def test_codes_and_sparse_places_are_left_out_with_the_reason(telco_model: Artifact) -> None:
    spec = telco_model.model.spec_
    left_out = telco_model.data_check["left_out"]
    for column in SPARSE:
        assert column not in spec.columns
        assert "distinct values, most of them shared by few customers" in left_out[column]
    for column in ("Country", "State", "Count"):
        assert left_out[column].startswith("constant")
    assert left_out["Churn Value"] == "possible leak: a copy of the target"
    assert left_out["Churn Reason"].startswith("possible leak: filled only for churned")
    assert telco_model.preparation.codes == {}  # Zip Code is not used, so not recorded


def test_places_the_model_uses_are_flagged_and_stay_usable(telco_model: Artifact) -> None:
    details = {e["name"]: e for e in telco_model.data_check["column_details"]}
    assert {c: details[c].get("place") for c in (*SPARSE, "Latitude", "Longitude")} == {
        "City": "city",
        "Zip Code": "postal code",
        "Lat Long": "coordinates",
        "Latitude": "coordinates",
        "Longitude": "coordinates",
    }
    assert {"Latitude", "Longitude"} <= set(telco_model.model.spec_.columns)
    assert fairness.place_features(telco_model) == {
        "Latitude": "coordinates",
        "Longitude": "coordinates",
    }
    warned = [
        p["column"]
        for p in telco_model.data_check["problems"]
        if p["check"] == "possible proxy" and p["severity"] == "warning"
    ]
    assert warned == ["Latitude", "Longitude"]


def test_the_place_note_names_the_places_and_how_to_leave_them_out(trained) -> None:
    note = fairness.place_note({"Latitude": "coordinates", "Longitude": "coordinates"})
    assert note.startswith(
        "The model uses 2 place columns: Latitude (coordinates) and Longitude (coordinates)."
    )
    assert "proxy" in note and "Columns to leave out" in note
    assert "1 place column: City (city)." in fairness.place_note({"City": "city"})
    assert fairness.place_note({}) is None
    assert fairness.place_features(trained) == {}  # the sample's region is not flagged


def test_the_model_card_names_no_city_as_a_rare_group(telco_model: Artifact) -> None:
    limitations = " ".join(report.model_card(telco_model)["limitations"])
    assert "City" not in limitations and "San Diego" not in limitations


# ------------------------------------------------------- put back: grouped, categories
def test_a_city_put_back_is_grouped_and_scoring_groups_the_same_way(
    kept_model: Artifact, telco_frame: pd.DataFrame
) -> None:
    spec, prep = kept_model.model.spec_, kept_model.preparation
    assert spec.kinds["City"] == spec.kinds["Zip Code"] == "categorical"
    assert prep.codes == {"Zip Code": 5}
    kept = prep.groups["City"]
    assert "Los Angeles" in kept and "Town 0001" not in kept
    assert set(spec.categories["City"]) == {*kept, OTHER_LEVEL}
    new = telco_frame.iloc[3_000:3_500]
    base = scored_customers(kept_model, new)
    small = ~new["City"].isin(kept).to_numpy()
    assert (base.loc[small, "City"] == OTHER_LEVEL).all()
    assert (base.loc[~small, "City"] == new.loc[~small, "City"].to_numpy()).all()
    assert base["Zip Code"].map(type).eq(str).all()


def test_a_code_is_described_as_text_never_as_a_number(
    kept_model: Artifact, telco_frame: pd.DataFrame
) -> None:
    base = scored_customers(kept_model, telco_frame.iloc[3_000:3_300])
    expl = explain.explain(kept_model, base)
    k = len(kept_model.model.spec_.columns)
    sentences = [s for row in range(300) for s in explain.reason_sentences(expl, row, k)]
    zips = [s for s in sentences if s.startswith("Zip Code")]
    assert zips and all(re.fullmatch(r"Zip Code is (\d{5}|\(other\)).*", s) for s in zips), zips[:5]
    assert not any(re.search(r"\d,\d{3}", s) for s in zips)
    levers = explain.what_if_inputs(expl, 0, k)
    lever = next(item for item in levers if item["feature"] == "Zip Code")
    assert lever["kind"] == "categorical" and isinstance(lever["current"], str)


# ------------------------------------------------------------------------ drift
def _drift(artifact: Artifact, batch: pd.DataFrame) -> drift.Drift:
    prepared = artifact.preparation.apply(batch)[0]
    p = artifact.model.predict_proba(prepared)[:, 1]
    return drift.compare(drift.load_reference(artifact), artifact.model.spec_, prepared, p)


@pytest.mark.parametrize("size", [0.5, 1_000, 400])
def test_a_random_part_of_the_training_table_is_stable_in_every_column(
    telco_model: Artifact, kept_model: Artifact, telco_frame: pd.DataFrame, size
) -> None:
    for artifact in (telco_model, kept_model):
        for seed in range(3):
            if isinstance(size, float):
                batch = telco_frame.sample(frac=size, random_state=seed)
            else:
                batch = telco_frame.sample(n=size, random_state=seed)
            result = _drift(artifact, batch)
            features = result.features.set_index("name")
            assert (features["status"] == "stable").all(), features.loc[
                features["status"] != "stable", ["psi", "status"]
            ]


def _raw_city_reference(frame: pd.DataFrame) -> tuple[FeatureSpec, dict, np.ndarray]:
    """A reference with every column as given (City with all its 1,100 values), fitted on
    the rows ``train()`` fits on; and the holdout rows."""
    columns = ["City", "Lat Long", "Payment Method", "Contract", "Tenure Months"]
    x = frame[columns].assign(**{"Zip Code": frame["Zip Code"].astype(str)})
    dev, hold = holdout_split((frame["Churn Label"] == "Yes").to_numpy())
    spec = FeatureSpec.learn(x.iloc[dev])
    p = np.random.default_rng(0).random(hold.size)
    return spec, drift.build_reference(spec, x.iloc[dev], p), hold


def test_many_small_categories_do_not_drift_by_sample_size_alone(telco_frame) -> None:
    spec, reference, hold = _raw_city_reference(telco_frame)
    x = telco_frame.assign(**{"Zip Code": telco_frame["Zip Code"].astype(str)})
    rng = np.random.default_rng(1)
    batches = {
        "half": x.sample(frac=0.5, random_state=1),
        "1,000": x.sample(n=1_000, random_state=1),
        "400": x.sample(n=400, random_state=1),
        "holdout": x.iloc[hold],  # never in the reference
    }
    for name, batch in batches.items():
        result = drift.compare(reference, spec, batch, rng.random(len(batch)))
        features = result.features.set_index("name")
        assert (features["status"] == "stable").all(), (name, features[["psi", "status"]])
    # the bias the status no longer suffers from: the plain PSI of the holdout's cities
    holdout = drift.compare(reference, spec, batches["holdout"], rng.random(hold.size))
    assert holdout.features.set_index("name").loc["City", "psi_raw"] > drift.MODERATE


def test_a_real_change_in_a_many_valued_column_is_still_caught(telco_frame) -> None:
    spec, reference, _ = _raw_city_reference(telco_frame)
    x = telco_frame.assign(**{"Zip Code": telco_frame["Zip Code"].astype(str)})
    rng = np.random.default_rng(2)
    # a campaign in Los Angeles: a third of the batch comes from there (4% in training)
    la = x[x["City"] == "Los Angeles"].sample(n=300, random_state=2, replace=True)
    batch = pd.concat([x.sample(n=700, random_state=2), la], ignore_index=True)
    # and electronic checks replace mailed checks
    mailed = batch["Payment Method"] == "Mailed check"
    batch.loc[mailed, "Payment Method"] = "Electronic check"
    features = drift.compare(reference, spec, batch, rng.random(len(batch))).features
    status = features.set_index("name")["status"]
    assert status["City"] != "stable"
    assert status["Payment Method"] != "stable"
    assert status["Contract"] == status["Tenure Months"] == "stable"


def test_quantities_named_after_phones_or_areas_are_not_codes() -> None:
    """Minutes on the phone and square metres of an area are numbers; a phone number and an
    area code are codes."""
    from churn.checks import ColumnMapping, check_data

    rng = np.random.default_rng(1)
    n = 3000
    frame = pd.DataFrame(
        {
            "phone_minutes": rng.integers(100, 1000, n),
            "service_area_sqft": rng.integers(1000, 9999, n),
            "living_area": rng.integers(100, 999, n),
            "area_code": rng.choice([408, 415, 510], n),
            "tenure": rng.integers(1, 70, n),
            "churn": rng.choice(["Yes", "No"], n),
        }
    )
    check = check_data(frame, ColumnMapping(target="churn"))
    features = check.preparation.features
    assert {"phone_minutes", "service_area_sqft", "living_area"} <= set(features)
    assert pd.api.types.is_numeric_dtype(check.frame["phone_minutes"])
    assert not pd.api.types.is_numeric_dtype(check.frame["area_code"])  # a code: a category
