"""What the app shows for a policy that targets by measured uplift is what
``score --model CAMPAIGN_DIR --policy FILE`` does on the same customers.

The PM targets by uplift on Decide; the Decide box, the Customers list and the exported
version-3 policy, scored by the command line with the campaign model on the same base, must
contact the same customers with the same action.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path, PurePosixPath

import pandas as pd
import pytest
from _cli import ok, read_scores
from apptest_downloads import TIMEOUT, record_downloads
from streamlit.testing.v1 import AppTest

from churn.campaign_model import load_campaign
from churn.sample import NEW_BATCH_PATH


def _download(at: AppTest, store: dict[str, bytes], label_start: str) -> bytes:
    (button,) = [b for b in at.get("download_button") if b.label.startswith(label_start)]
    return store[PurePosixPath(button.proto.url).stem]


@pytest.mark.parametrize(
    "params",
    [
        pytest.param({"method": "top_share", "value": "0.15"}, id="15% by uplift"),
        pytest.param({"method": "max_profit"}, id="maximum profit by uplift"),
    ],
)
def test_decide_customers_and_score_policy_contact_the_same_customers_by_uplift(
    params, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    with pytest.MonkeyPatch.context() as mp:
        store = record_downloads(mp)
        at = AppTest.from_file("../app.py", default_timeout=TIMEOUT)
        for key, value in {**params, "target": "uplift"}.items():
            at.query_params[key] = value
        at.run()
        at.switch_page("app_pages/decide.py").run()
        assert not at.exception, at.exception
        assert at.radio(key="decide_target").value == "uplift"
        box = " ".join(i.value for i in at.info)
        shown = int(re.search(r"contacts exactly ([\d,]+)", box).group(1).replace(",", ""))
        at.switch_page("app_pages/customers.py").run()
        assert not at.exception, at.exception
        listed = pd.read_csv(
            io.BytesIO(_download(at, store, "Download these")), dtype={"customer_id": str}
        )
        at.switch_page("app_pages/export.py").run()
        assert not at.exception, at.exception
        policy = json.loads(_download(at, store, "Download the policy"))
        model_zip = _download(at, store, "Download the campaign model")

    assert policy["schema_version"] == 3 and policy["score"] == "uplift"
    if params["method"] == "top_share":
        assert shown == 750  # exactly the capacity on the 5,000-customer base
        assert policy["capacity"]["ranking"] == "uplift"
    model = tmp_path / "campaign"
    with zipfile.ZipFile(io.BytesIO(model_zip)) as archive:
        archive.extractall(model)
    assert load_campaign(model).fingerprint == policy["model_fingerprint"]
    (tmp_path / "policy.json").write_text(json.dumps(policy), encoding="utf-8")
    out = tmp_path / "scores.csv"
    ok(capsys, "score", "--model", model, "--data", NEW_BATCH_PATH, "--out", out,
       "--policy", tmp_path / "policy.json")  # fmt: skip
    scored = read_scores(out)
    contacted = scored[scored["action"] != policy["default_action"]]
    assert 0 < len(contacted) == shown == len(listed)
    by_cli = dict(zip(contacted["customer_id"], contacted["action"], strict=True))
    by_app = dict(zip(listed["customer_id"], listed["action"], strict=True))
    assert by_app == by_cli
    # the uplift the list shows is the one the command line writes (the list keeps 6 decimals)
    both = listed.merge(scored, on="customer_id", suffixes=("_app", "_cli"))
    assert (both["uplift_app"] - both["uplift_cli"]).abs().max() <= 5e-7
