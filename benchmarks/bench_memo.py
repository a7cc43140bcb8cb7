"""The decision memo: how long building it takes, and how big it is.

Target: <= 3 s for a warm build on 2 cores (what a click on the Export page's "Download the
decision memo" waits for; the page itself builds nothing until the click).

Builds the memo of the sample model's max-profit policy with the latest snapshot's
monitoring report: the first build in a process (it starts the chart renderer,
``vl-convert``'s JavaScript engine), then the best of three warm builds, split into the two
charts' rendering (Altair specification to SVG) and the rest (decision, alternatives,
fairness tables, HTML); and the command line, ``python -m churn memo``, as a fresh process
(import, model load, build, write).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import best_of, emit, peak_memory_mb

from churn import memo
from churn.artifact import save_artifact
from churn.checks import ColumnMapping
from churn.data import read_table
from churn.decisions import Choice
from churn.economics import default_economics
from churn.monitor import monitor
from churn.policy import baseline_profits, build_policy, decide_on_holdout, save_policy
from churn.sample import NEW_BATCH_PATH, SAMPLE_PATH
from churn.training import train

ROOT = Path(__file__).resolve().parent.parent

sample = read_table(SAMPLE_PATH, text_columns=("customer_id",))
artifact = train(sample, ColumnMapping.for_table(sample, "churned", id_column="customer_id"))
economics = default_economics(artifact.holdout_data.columns, artifact.info.value_column)
decision = decide_on_holdout(artifact, economics, Choice("max_profit"))
baselines = baseline_profits(artifact, economics, decision)
policy = build_policy(decision, economics, artifact.fingerprint, baselines=baselines)
batch = read_table(NEW_BATCH_PATH, text_columns=("customer_id",))
report = monitor(artifact, batch, decision.rules, economics).to_dict()

start = time.perf_counter()
page = memo.build_memo(artifact, policy, monitor=report)
first = time.perf_counter() - start
warm = best_of(lambda: memo.build_memo(artifact, policy, monitor=report))
charts = best_of(
    lambda: (
        memo.chart_svg(memo._profit_chart(decision), "profit"),
        memo.chart_svg(memo._gains_reliability_chart(artifact), "gains"),
    )
)

with tempfile.TemporaryDirectory() as folder:
    folder = Path(folder)
    save_artifact(artifact, folder / "model")
    save_policy(policy, folder / "policy.json")
    (folder / "report.json").write_text(json.dumps(report), encoding="utf-8")
    args = [sys.executable, "-m", "churn", "--quiet", "memo", "--model", str(folder / "model")]
    args += ["--policy", str(folder / "policy.json"), "--monitor", str(folder / "report.json")]
    args += ["--out", str(folder / "memo.html")]
    start = time.perf_counter()
    subprocess.run(args, cwd=ROOT, check=True, capture_output=True)
    command = time.perf_counter() - start

emit(
    "memo",
    {
        "first_build_s": round(first, 2),
        "warm_build_s": round(warm, 2),
        "charts_to_svg_s": round(charts, 2),
        "rest_s": round(warm - charts, 2),
        "command_line_s": round(command, 2),
        "memo_kb": round(len(page.encode("utf-8")) / 1024, 1),
        "peak_memory_mb": round(peak_memory_mb(), 1),
    },
)
