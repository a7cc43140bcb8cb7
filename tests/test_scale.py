"""Scoring and monitoring at scale: in chunks (``churn.stream``) and on a Dask cluster
(``churn.cluster``) give exactly what the whole table in memory gives.

The chunked runs use chunks of a few hundred rows, so a 3,000-row table crosses many
chunk borders (and a column that turns to text near its end makes the reader read again);
the cluster is a local one of two single-threaded worker processes, started once for the
module and shut down after it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from _cli import error, ok, one_error_line, run

from churn import cluster, stream
from churn.artifact import Artifact, load_artifact
from churn.cli import main
from churn.data import read_table
from churn.economics import Economics, default_economics
from churn.errors import ChurnInputError
from churn.monitor import BatchCounts, count_batch, monitor, report_from_counts
from churn.policy import apply_policy, capacity_of, load_policy, rules_of
from churn.training import score_frame

CHUNK = 400
ROWS = 3_000


# -------------------------------------------------------------------------- helpers
def messy_batch(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame``'s first ``ROWS`` customers with what real exports bring: ids with leading
    zeros, money as text with currency signs and missing markers, a category never seen in
    training, blank booleans, rows with no model value at all, and a count column that
    turns to text (a word) only in the last chunk."""
    batch = frame.head(ROWS).reset_index(drop=True).copy()
    n = len(batch)
    batch["customer_id"] = [f"{i:07d}" for i in range(n)]  # 0000000, 0000001, ...
    charges = batch["monthly_charges"].map(lambda v: "" if pd.isna(v) else f"$ {v:,.2f}")
    charges[::97] = "N/A"
    batch["monthly_charges"] = charges
    batch.loc[5::131, "payment_method"] = "Crypto voucher"  # never seen in training
    paperless = batch["paperless_billing"].map({True: "True", False: "False"})
    batch["paperless_billing"] = paperless.where(np.arange(n) % 53 != 0, "")
    batch["recent_price_increase"] = batch["recent_price_increase"].map(str)
    features = [c for c in batch.columns if c not in ("customer_id", "churned")]
    batch.loc[7::250, features] = np.nan  # unscorable: no value in any model column
    tickets = batch["support_tickets_90d"].astype(object)
    tickets[n - 10] = "many"  # text in the last chunk: the whole column is text
    batch["support_tickets_90d"] = tickets
    return batch


def in_memory_scores(artifact: Artifact, path: Path, policy: dict | None) -> pd.DataFrame:
    """What ``score`` wrote before it streamed: the whole table read, scored, acted on."""
    frame = read_table(path, text_columns=(artifact.id_column,))
    scored = score_frame(artifact, frame)
    if policy is not None:
        prepared = artifact.preparation.apply(frame)[0]
        action = apply_policy(
            policy, scored["churn_probability"].to_numpy(), prepared, artifact.id_column
        )
        scored.insert(scored.columns.get_loc("score_note"), "action", action)
    return scored


def read_back(path: Path) -> pd.DataFrame:
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    return pd.read_csv(path, dtype={"customer_id": str}, keep_default_na=False, na_values=[""])


def report_json(report: Any) -> str:
    return json.dumps(report.to_dict(), sort_keys=True)


# ------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def model(cli_sample_model: Path) -> Artifact:
    return load_artifact(cli_sample_model)


@pytest.fixture(scope="module")
def tables(new_batch_frame: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> dict:
    folder = tmp_path_factory.mktemp("scale")
    batch = messy_batch(new_batch_frame)
    csv = folder / "batch.csv"
    batch.to_csv(csv, index=False)
    parquet = folder / "batch.parquet"
    clean = batch.drop(columns="support_tickets_90d").assign(
        support_tickets_90d=new_batch_frame["support_tickets_90d"].head(ROWS).to_numpy()
    )
    clean.loc[7::250, "support_tickets_90d"] = np.nan  # (still no value in those rows)
    clean.to_parquet(parquet, index=False, row_group_size=700)
    dataset = folder / "dataset"
    dataset.mkdir()
    for k, start in enumerate(range(0, ROWS, 1_000)):
        part = clean.iloc[start : start + 1_000]
        part.to_parquet(dataset / f"part-{k}.parquet", index=False, row_group_size=300)
    return {"folder": folder, "csv": csv, "parquet": parquet, "dataset": dataset}


@pytest.fixture(scope="module")
def policies(cli_sample_model: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    folder = tmp_path_factory.mktemp("scale-policies")
    paths = {}
    for name, how in {
        "rules": ["--max-profit"],
        "capacity": ["--top-share", "0.2"],
        "value": ["--top-share", "0.1", "--ranking", "expected_value"],
    }.items():
        path = folder / f"{name}.json"
        args = ["--quiet", "policy", "--model", str(cli_sample_model), "--out", str(path), *how]
        assert main(args) == 0
        paths[name] = path
    return paths


# --------------------------------------------------------- chunked == in memory
def test_chunks_read_as_the_whole_file(model: Artifact, tables: dict) -> None:
    """The chunks are the whole-file read's rows and types, the late text column included."""
    for kind in ("csv", "parquet"):
        whole = read_table(tables[kind], text_columns=("customer_id",))
        source = stream.TableChunks(tables[kind], ("customer_id",), chunk_rows=CHUNK)
        chunks = None
        for _ in range(3):  # (a CSV may ask to be read again, once per changed column)
            try:
                chunks = list(source)
                break
            except stream.Reread:
                continue
        assert chunks is not None and len(chunks) == -(-ROWS // CHUNK)
        joined = pd.concat(chunks, ignore_index=True)
        # a column of booleans with blanks: the whole file holds Python booleans (object),
        # the chunks their text ("True"), which the model reads the same
        mixed = [c for c in whole if whole[c].dtype == object]
        booleans = ["paperless_billing", "recent_price_increase"]
        assert mixed == (booleans if kind == "csv" else [])
        for column in mixed:
            pd.testing.assert_series_equal(
                joined.pop(column).astype("string"), whole.pop(column).astype("string")
            )
        pd.testing.assert_frame_equal(joined, whole)
    assert whole["customer_id"].iloc[1] == "0000001"


SCORE_CASES = [
    *[(kind, suffix, None) for kind in ("csv", "parquet") for suffix in (".csv", ".parquet")],
    ("csv", ".csv", "rules"),
    ("csv", ".csv", "capacity"),
    ("parquet", ".parquet", "capacity"),
    ("csv", ".parquet", "value"),
]


@pytest.mark.parametrize(("kind", "out_suffix", "policy_name"), SCORE_CASES)
def test_chunked_scores_equal_in_memory(
    model: Artifact,
    tables: dict,
    policies: dict,
    tmp_path: Path,
    kind: str,
    out_suffix: str,
    policy_name: str | None,
) -> None:
    policy = load_policy(policies[policy_name], model.fingerprint) if policy_name else None
    expected = in_memory_scores(model, tables[kind], policy)
    assert expected["churn_probability"].isna().sum() == len(range(7, ROWS, 250))
    source = stream.TableChunks(tables[kind], ("customer_id",), chunk_rows=CHUNK)
    score, ranked = stream.model_scoring(model, policy)
    assert (ranked is not None) == (policy is not None and capacity_of(policy) is not None)
    out = tmp_path / f"scores{out_suffix}"
    seen: list[int] = []
    rows = stream.score_table(
        source, out, score, ranked=ranked, progress=lambda done, total: seen.append(done)
    )
    assert rows == ROWS and seen[-1] == ROWS
    assert not [p for p in tmp_path.iterdir() if p.name != out.name]  # no temporary files
    got = read_back(out)
    if out_suffix == ".csv":  # what the in-memory CSV reads back as, column types included
        expected_out = tmp_path / "expected.csv"
        expected.to_csv(expected_out, index=False)
        expected = read_back(expected_out)
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    if policy_name == "capacity":  # the top 20% of the whole batch, not of each chunk
        contacted = got["action"] != policy["default_action"]
        assert contacted.sum() == int(0.2 * got["churn_probability"].notna().sum() + 1e-9)


@pytest.mark.parametrize("policy_name", [None, "capacity"])
@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_chunked_monitor_equals_in_memory(
    model: Artifact, tables: dict, policies: dict, kind: str, policy_name: str | None
) -> None:
    if policy_name:
        policy = load_policy(policies[policy_name], model.fingerprint)
        rules, capacity = rules_of(policy), capacity_of(policy)
        economics = Economics.from_dict(policy["economics"])
    else:
        policy = json.loads(Path(policies["rules"]).read_text(encoding="utf-8"))
        rules, capacity = rules_of(policy), None
        economics = Economics.from_dict(policy["economics"])
    frame = read_table(tables[kind], text_columns=("customer_id",))
    expected = monitor(model, frame, rules, economics, capacity=capacity)
    source = stream.TableChunks(tables[kind], ("customer_id",), chunk_rows=CHUNK)

    def count(chunk: pd.DataFrame) -> BatchCounts:
        return count_batch(model, chunk, economics, with_ids=capacity is not None)

    counts = stream.count_table(source, count, BatchCounts.combine)
    got = report_from_counts(model, counts, rules, economics, capacity=capacity)
    assert report_json(got) == report_json(expected)
    assert got.rows_left_out == len(range(7, ROWS, 250))
    new = got.feature_table().set_index("name").loc["payment_method", "new_categories"]
    assert "Crypto voucher" in new
    pd.testing.assert_frame_equal(got.drift.distributions, expected.drift.distributions)


# ------------------------------------------------------------ the command line, local
def test_cli_streams_and_reports_progress_on_a_terminal(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    cli_sample_model: Path,
    model: Artifact,
    tables: dict,
    tmp_path: Path,
) -> None:
    monkeypatch.setattr(stream, "CHUNK_ROWS", CHUNK)
    out = tmp_path / "scores.parquet"
    args = ["score", "--model", cli_sample_model, "--data", tables["csv"], "--out", out]
    assert ok(capsys, *args).strip() == f"scored {ROWS:,} customers into {out}"
    expected = in_memory_scores(model, tables["csv"], None)
    pd.testing.assert_frame_equal(pd.read_parquet(out), expected, check_exact=True)
    monkeypatch.setattr("sys.stderr.isatty", lambda: True)
    capsys.readouterr()
    assert main([*map(str, args)]) == 0
    err = capsys.readouterr().err
    assert f"{ROWS:,} rows" in err and "rows/s" in err


def test_bad_line_in_the_middle_stops_without_output(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    cli_sample_model: Path,
    tables: dict,
    tmp_path: Path,
) -> None:
    """A ragged line at row 2,500: one sentence naming it, exit 2, no complete-looking
    file (an earlier file of that name is left as it was)."""
    monkeypatch.setattr(stream, "CHUNK_ROWS", CHUNK)
    lines = tables["csv"].read_text(encoding="utf-8").splitlines()
    lines[2_500] += ",extra,cells"
    bad = tmp_path / "ragged.csv"
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "scores.csv"
    out.write_text("earlier run\n", encoding="utf-8")
    for command, extra in (("score", ["--out", out]), ("monitor", [])):
        line = error(capsys, command, "--model", cli_sample_model, "--data", bad, *extra)
        assert "ragged.csv" in line and "line 2501" in line
    assert out.read_text(encoding="utf-8") == "earlier run\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ragged.csv", "scores.csv"]


def test_late_non_utf8_bytes_read_as_the_whole_file(
    model: Artifact, tables: dict, tmp_path: Path
) -> None:
    """UTF-8 at the start, Windows-1252 in the last chunk: read again as the whole-file
    read falls back."""
    text = tables["csv"].read_text(encoding="utf-8").replace("Crypto voucher", "Crypto café")
    lines = text.splitlines()
    head, tail = "\n".join(lines[:2_900]), "\n".join(lines[2_900:])
    path = tmp_path / "mixed.csv"
    path.write_bytes(head.encode("utf-8") + b"\n" + tail.encode("cp1252") + b"\n")
    expected = in_memory_scores(model, path, None)
    out = tmp_path / "mixed-scores.parquet"
    source = stream.TableChunks(path, ("customer_id",), chunk_rows=CHUNK)
    stream.score_table(source, out, stream.model_scoring(model)[0])
    pd.testing.assert_frame_equal(pd.read_parquet(out), expected, check_exact=True)


# ------------------------------------------------------------------- on a Dask cluster
@pytest.fixture(scope="module")
def client() -> Any:
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            env={"OMP_NUM_THREADS": "1"},
        ) as local,
        distributed.Client(local) as connected,
    ):
        yield connected


def test_dask_scores_equal_local(
    client: Any, model: Artifact, tables: dict, policies: dict, tmp_path: Path
) -> None:
    """A Parquet folder (3 files, 10 row groups) scored on 2 worker processes: the local
    engine's scores to 1e-12, the same ids in the same order, the same actions."""
    policy = load_policy(policies["rules"], model.fingerprint)
    pieces = cluster.plan(str(tables["dataset"]), piece_rows=600)
    assert len(pieces) == 6 and [p.rows for p in pieces] == [600, 400] * 3
    local = tmp_path / "local.parquet"
    source = stream.TableChunks(tables["parquet"], ("customer_id",), chunk_rows=CHUNK)
    stream.score_table(source, local, stream.model_scoring(model, policy)[0])
    out = tmp_path / "scores.parquet"
    rows = cluster.score(client, model, policy, str(tables["dataset"]), out)
    assert rows == ROWS and out.is_dir()
    assert len(list(out.glob("part.*.parquet"))) == len(cluster.plan(str(tables["dataset"])))
    expected, got = pd.read_parquet(local), pd.read_parquet(out)
    assert got["customer_id"].tolist() == expected["customer_id"].tolist()
    assert list(got.columns) == list(expected.columns)
    for column in ("churn_probability", "probability_low", "probability_high"):
        a, b = got[column].to_numpy(), expected[column].to_numpy()
        assert np.array_equal(np.isnan(a), np.isnan(b))
        assert np.nanmax(np.abs(a - b)) <= 1e-12
    assert got["action"].tolist() == expected["action"].tolist()
    assert got["score_note"].tolist() == expected["score_note"].tolist()
    assert not list(tmp_path.glob(".scores.parquet.*"))


def test_dask_monitor_equals_local(
    client: Any, model: Artifact, tables: dict, policies: dict
) -> None:
    policy = load_policy(policies["capacity"], model.fingerprint)
    rules, capacity = rules_of(policy), capacity_of(policy)
    economics = Economics.from_dict(policy["economics"])
    frame = read_table(tables["parquet"], text_columns=("customer_id",))
    expected = monitor(model, frame, rules, economics, capacity=capacity)
    counts = cluster.count(client, model, economics, True, str(tables["dataset"]))
    got = report_from_counts(model, counts, rules, economics, capacity=capacity)
    assert report_json(got) == report_json(expected)


def test_dask_command_line(
    capsys: pytest.CaptureFixture[str],
    client: Any,
    cli_sample_model: Path,
    model: Artifact,
    tables: dict,
    tmp_path: Path,
) -> None:
    """``--engine dask --scheduler ADDRESS`` on a CSV glob: the local engine's scores;
    ``monitor`` prints the local report."""
    for k, start in enumerate(range(0, ROWS, 1_500)):
        lines = tables["csv"].read_text(encoding="utf-8").splitlines()
        body = lines[1 + start : 1 + start + 1_500]
        (tmp_path / f"in-{k}.csv").write_text("\n".join([lines[0], *body]) + "\n", "utf-8")
    address = client.scheduler.address
    dask = ["--engine", "dask", "--scheduler", address]
    out = tmp_path / "scores.parquet"
    glob = str(tmp_path / "in-*.csv")
    model_args = ["--model", cli_sample_model, "--data", glob]
    said = ok(capsys, "score", *model_args, "--out", out, *dask)
    assert said.startswith(f"scored {ROWS:,} customers into {out}")
    got = pd.read_parquet(out)
    parts = [
        in_memory_scores(model, tmp_path / f"in-{k}.csv", None) for k in range(2)
    ]  # each file read whole, as the local engine reads it
    pd.testing.assert_frame_equal(got, pd.concat(parts, ignore_index=True), check_exact=True)
    # monitor: the same report as the local engine on the whole table
    report = tmp_path / "dask.json"
    ok(capsys, "monitor", "--model", cli_sample_model, "--data", tables["dataset"],
       "--out", report, *dask)  # fmt: skip
    local = tmp_path / "local.json"
    ok(capsys, "monitor", "--model", cli_sample_model, "--data", tables["parquet"], "--out", local)
    a, b = (json.loads(p.read_text(encoding="utf-8")) for p in (report, local))
    for side in (a, b):
        side["staleness"].pop("age_days")  # (a day may turn between the two runs)
    assert a == b


def test_dask_failing_partition_is_one_error_line(
    capsys: pytest.CaptureFixture[str],
    client: Any,
    cli_sample_model: Path,
    tables: dict,
    policies: dict,
    tmp_path: Path,
) -> None:
    """A piece that cannot be read (a ragged line in the second CSV) or scored (a file
    without a model column): one ``error:`` line, exit 2, no output folder and nothing
    temporary left."""
    lines = tables["csv"].read_text(encoding="utf-8").splitlines()
    (tmp_path / "in-0.csv").write_text("\n".join(lines[:1_000]) + "\n", "utf-8")
    ragged = [lines[0], *lines[1_000:2_000]]
    ragged[500] += ",1,2,3"
    (tmp_path / "in-1.csv").write_text("\n".join(ragged) + "\n", "utf-8")
    dask = ["--engine", "dask", "--scheduler", client.scheduler.address]
    out = tmp_path / "scores.parquet"
    args = ["score", "--model", cli_sample_model, "--out", out, *dask]
    code, said, err = run(capsys, *args, "--data", tmp_path / "in-*.csv")
    line = one_error_line(code, err)
    assert "in-1.csv" in line and said == ""
    lacking = tmp_path / "lacking"
    lacking.mkdir()
    frame = pd.read_parquet(tables["parquet"])
    frame.head(100).to_parquet(lacking / "a.parquet", index=False)
    frame.iloc[100:200].drop(columns="plan").to_parquet(lacking / "b.parquet", index=False)
    line = error(capsys, *args, "--data", lacking)
    assert "plan" in line
    assert not out.exists() and not list(tmp_path.glob(".scores.parquet*"))
    line = error(capsys, *args, "--data", tables["dataset"], "--policy", policies["capacity"])
    assert "capacity" in line and "local engine" in line


def test_counts_of_parts_without_the_target_combine_by_their_rows(
    model: Artifact, tables: dict
) -> None:
    """Files of a glob may differ: a part without the target column adds its rows as
    unlabelled, so the outcomes stay aligned with the customers."""
    frame = read_table(tables["parquet"], text_columns=("customer_id",)).head(1_000)
    frame["churned"] = (np.arange(1_000) % 3 == 0).astype(int)
    economics = default_economics(model.holdout_data.columns, model.info.value_column)
    labelled = count_batch(model, frame.head(600), economics)
    unlabelled = count_batch(model, frame.iloc[600:].drop(columns="churned"), economics)
    both = BatchCounts.combine([labelled, unlabelled])
    y = both.labels.labels(model.target, model.info.positive_label)
    assert y.shape == (both.p.size,) == (both.drift.rows,)
    kept = labelled.drift.rows
    assert np.isnan(y[kept:]).all() and not np.isnan(y[:kept]).any()


def test_copied_columns_and_parquet_metadata(model: Artifact, tables: dict, tmp_path: Path) -> None:
    """Columns copied from the input sit next to the id, as read, chunk after chunk; a
    Parquet output carries the given metadata (the model's fingerprint)."""
    import pyarrow.parquet as pq

    source = stream.TableChunks(tables["csv"], ("customer_id",), chunk_rows=CHUNK)
    score, _ = stream.model_scoring(model, None, copy=("region", "monthly_charges"))
    out = tmp_path / "copied.parquet"
    metadata = {"churn_model_fingerprint": model.fingerprint}
    stream.score_table(source, out, score, metadata=metadata)
    got = pd.read_parquet(out)
    whole = read_table(tables["csv"], text_columns=("customer_id",))
    assert list(got.columns[:3]) == ["customer_id", "region", "monthly_charges"]
    assert got["monthly_charges"].equals(whole["monthly_charges"])
    stored = pq.read_schema(out).metadata[b"churn_model_fingerprint"].decode()
    assert stored == model.fingerprint
    score, _ = stream.model_scoring(model, None, copy=("no_such_column",))
    with pytest.raises(ChurnInputError, match="no_such_column"):
        stream.score_table(source, tmp_path / "x.csv", score)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["copied.parquet"]
