"""What the app shows for a capacity is what ``score --policy`` does on the same customers.

The PM picks a capacity on Decide; the Decide box, the Customers list and the exported
policy, scored by the command line on the same base, must contact the same customers with
the same actions: exactly the capacity, no more.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path, PurePosixPath

import pandas as pd
import pytest
from _cli import ok, read_scores
from apptest_downloads import TIMEOUT, record_downloads
from streamlit.testing.v1 import AppTest

from churn.artifact import save_artifact
from churn.sample import NEW_BATCH_PATH


def _download(at: AppTest, store: dict[str, bytes], label_start: str) -> bytes:
    (button,) = [b for b in at.get("download_button") if b.label.startswith(label_start)]
    return store[PurePosixPath(button.proto.url).stem]


def _through_the_app(params: dict[str, str]) -> tuple[int, pd.DataFrame, dict]:
    with pytest.MonkeyPatch.context() as mp:
        store = record_downloads(mp)
        at = AppTest.from_file("../app.py", default_timeout=TIMEOUT)
        for key, value in params.items():
            at.query_params[key] = value
        at.run()
        at.switch_page("app_pages/decide.py").run()
        assert not at.exception, at.exception
        box = " ".join(i.value for i in at.info)
        shown = int(re.search(r"contacts exactly ([\d,]+)", box).group(1).replace(",", ""))
        at.switch_page("app_pages/customers.py").run()
        assert not at.exception, at.exception
        cut = " ".join(i.value for i in at.info)
        assert f"cuts the list at **{shown:,} customers**" in cut  # the list ends where Decide says
        listed = pd.read_csv(
            io.BytesIO(_download(at, store, "Download these")), dtype={"customer_id": str}
        )
        at.switch_page("app_pages/export.py").run()
        assert not at.exception, at.exception
        policy = json.loads(_download(at, store, "Download the policy"))
    return shown, listed, policy


@pytest.mark.parametrize(
    "params",
    [
        pytest.param({"method": "top_n", "value": "750.0"}, id="750 customers by probability"),
        pytest.param(
            {"method": "top_share", "value": "0.15", "rank": "expected_value"},
            id="15% by expected value",
        ),
    ],
)
def test_decide_customers_and_score_policy_contact_the_same_customers(
    params, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    shown, listed, policy = _through_the_app(params)
    assert shown == 750  # exactly the capacity on the 5,000-customer base
    assert policy["schema_version"] == 2 and policy["capacity"]["total"]
    assert policy["capacity"]["ranking"] == params.get("rank", "churn_probability")

    from app_pages.common import sample_artifact

    model = tmp_path / "model"
    save_artifact(sample_artifact(), model)
    (tmp_path / "policy.json").write_text(json.dumps(policy), encoding="utf-8")
    out = tmp_path / "scores.csv"
    ok(capsys, "score", "--model", model, "--data", NEW_BATCH_PATH, "--out", out,
       "--policy", tmp_path / "policy.json")  # fmt: skip
    scored = read_scores(out)
    contacted = scored[scored["action"] != policy["default_action"]]
    assert len(contacted) == shown == len(listed)
    by_cli = dict(zip(contacted["customer_id"], contacted["action"], strict=True))
    by_app = dict(zip(listed["customer_id"], listed["action"], strict=True))
    assert by_app == by_cli
