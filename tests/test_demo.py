"""The hosted demo: the model it starts with is the one the command line trains."""

from __future__ import annotations

import json
from pathlib import Path

from churn.artifact import load_artifact
from churn.sample import MODEL_DIR, SAMPLE_MODEL_TRAIN_ARGS, SAMPLE_PATH

ROOT = Path(__file__).resolve().parent.parent


def _manifest(directory: Path) -> dict:
    return json.loads((directory / "manifest.json").read_text(encoding="utf-8"))


def test_the_shipped_model_is_what_train_makes_from_the_sample(cli_sample_model: Path) -> None:
    """``data/sample_model/`` has the fingerprint (and every file hash) of the model that
    ``python -m churn train`` makes from the sample today: training is deterministic and the
    run facts (when, how long) are outside the fingerprint."""
    shipped, retrained = _manifest(MODEL_DIR), _manifest(cli_sample_model)
    different = sorted(
        name
        for name in shipped["files"].keys() | retrained["files"].keys()
        if shipped["files"].get(name) != retrained["files"].get(name)
    )
    assert not different and shipped["fingerprint"] == retrained["fingerprint"], (
        f"data/sample_model/ is not what training the sample makes now ({different} differ): "
        "regenerate it with 'python -m churn.sample' and commit it"
    )
    assert shipped["trained_at"]  # the run facts are kept, beside the fingerprint


def test_the_command_that_made_it_is_the_documented_one() -> None:
    """The conftest fixture trains with these flags; the README and data/README.md say them."""
    command = "python -m churn train " + " ".join(SAMPLE_MODEL_TRAIN_ARGS[1:])
    assert SAMPLE_MODEL_TRAIN_ARGS[SAMPLE_MODEL_TRAIN_ARGS.index("--data") + 1] == (
        SAMPLE_PATH.relative_to(ROOT).as_posix()
    )
    assert command in (ROOT / "data" / "README.md").read_text(encoding="utf-8")
    assert command == (
        "python -m churn train --data data/sample_customers.csv --target churned --id customer_id"
    )


def test_the_app_loads_the_shipped_model_without_training() -> None:
    from app_pages.common import sample_artifact

    sample_artifact.clear()
    artifact = sample_artifact()
    assert artifact.fingerprint == _manifest(MODEL_DIR)["fingerprint"]
    assert artifact.training_scores is None  # loaded from disk, not trained in the process
    assert artifact.info.source == SAMPLE_PATH.name
    # every file checked against the manifest on the way in
    assert load_artifact(MODEL_DIR).fingerprint == artifact.fingerprint
