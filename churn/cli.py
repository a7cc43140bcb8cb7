"""``python -m churn``: train, score, export policies, monitor and write the decision memo.

Exit codes: 0 success, 2 bad input (one line starting with ``error:`` on
stderr), 1 an unexpected failure (set ``CHURN_DEBUG=1`` for the traceback).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from collections.abc import Sequence
from functools import partial
from pathlib import Path

import numpy as np

from churn import stream
from churn.artifact import check_destination, load_artifact, save_artifact
from churn.campaign_model import (
    CampaignRoles,
    is_campaign_directory,
    load_campaign,
    save_campaign,
    train_campaign,
)
from churn.campaign_report import uplift_on_customers
from churn.checks import ColumnMapping, check_data, default_segments, report_lines
from churn.data import read_table, resolve_positive
from churn.decisions import Choice
from churn.drift import load_reference
from churn.economics import Economics, default_economics
from churn.errors import ChurnInputError
from churn.monitor import BatchCounts, count_batch, report_from_counts
from churn.policy import (
    baseline_profits,
    build_policy,
    capacity_of,
    decide_on_holdout,
    load_policy,
    rules_of,
    save_policy,
)
from churn.scored_base import FINGERPRINT_KEY
from churn.suggest import suggest_mapping
from churn.training import sample_sentence, train
from churn.uplift_decisions import build_uplift_policy, decide_on_campaign

__all__ = ["main"]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, no usage block
        raise ChurnInputError(f"{message} (see 'python -m {self.prog} --help')")


class _Progress:
    """Timed step messages on stderr, shown when stderr is a terminal (never in pipes/CI)."""

    def __init__(self, quiet: bool) -> None:
        self.asked_quiet = quiet
        self.quiet = quiet or not sys.stderr.isatty()
        self.started = time.perf_counter()

    def note(self, message: str) -> None:
        """A suggestion or check result: shown on a terminal, like progress."""
        if not self.quiet:
            print(message, file=sys.stderr, flush=True)

    def say(self, message: str) -> None:
        """A fact about the result (such as a sampled table): on stderr unless ``--quiet``,
        in pipes too."""
        if not self.asked_quiet:
            print(f"note: {message}", file=sys.stderr, flush=True)

    def __call__(self, message: str) -> None:
        if not self.quiet:
            elapsed = time.perf_counter() - self.started
            print(f"[{elapsed:6.1f}s] {message}", file=sys.stderr, flush=True)

    def rows(self, done: int, total: int | None) -> None:
        """The progress line of a long read: rows done, rows per second, time left
        (rewritten in place; ``total`` may be an estimate)."""
        if self.quiet:
            return
        elapsed = max(time.perf_counter() - self.started, 1e-9)
        rate = done / elapsed
        line = f"{done:,} rows, {rate:,.0f} rows/s"
        if total and total > done and rate > 0:
            left = (total - done) / rate
            line += f", about {left // 60:.0f} min {left % 60:02.0f} s left"
        print(f"\r{line:<64}", end="", file=sys.stderr, flush=True)
        self._line = True

    def done(self) -> None:
        """End the progress line (if one was shown)."""
        if getattr(self, "_line", False):
            print(file=sys.stderr, flush=True)
            self._line = False


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="churn", description=__doc__.splitlines()[0])
    parser.add_argument("--quiet", action="store_true", help="no progress messages")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--quiet", action="store_true", default=argparse.SUPPRESS, help="no progress messages"
    )

    p = sub.add_parser(
        "train", parents=[common], help="train a model and write the artifact and metrics.json"
    )
    p.add_argument("--data", required=True, help="CSV or Parquet file, one row per customer")
    p.add_argument("--target", required=True, help="the churn column")
    p.add_argument("--positive", help="the target value meaning churned (inferred for 1/0, yes/no)")
    p.add_argument("--id", dest="id_column", help="customer id column (kept out of the features)")
    p.add_argument("--out", required=True, help="model directory to write")
    p.add_argument("--seed", type=int, default=0, help="seed of the split and model (default 0)")
    _mapping_flags(p)

    k = sub.add_parser(
        "campaign",
        parents=[common],
        help="measure a past campaign with a control group and train an uplift model",
        description="Measure a past retention campaign with a control group: the arms, the "
        "average effect and the success rate with 95%% intervals, the balance of the arms, "
        "and a per-customer uplift model compared on a holdout with targeting by churn risk "
        "and at random. Writes the campaign model directory with campaign.json.",
    )
    k.add_argument("--data", required=True, help="CSV or Parquet file, one row per customer")
    k.add_argument("--target", required=True, help="the churn column (churned after the campaign)")
    k.add_argument("--positive", help="the target value meaning churned (inferred for 1/0, yes/no)")
    k.add_argument("--treatment", required=True, help="the column saying who was contacted")
    k.add_argument(
        "--treated",
        help="the treatment value meaning contacted (inferred for 1/0, yes/no; needed when "
        "the column has more than two values: all others are the control group)",
    )
    k.add_argument("--id", dest="id_column", help="customer id column (kept out of the features)")
    k.add_argument("--out", required=True, help="campaign model directory to write")
    k.add_argument("--seed", type=int, default=0, help="seed of the split and model (default 0)")
    _feature_flags(k)

    c = sub.add_parser(
        "check", parents=[common], help="run the data checks only: print the report, no training"
    )
    c.add_argument("--data", required=True, help="CSV, Parquet or Excel file")
    c.add_argument("--target", help="the churn column (suggested when left out)")
    c.add_argument("--positive", help="the target value meaning churned")
    c.add_argument("--id", dest="id_column", help="customer id column")
    c.add_argument("--out", help="also write the report as JSON to this file")
    _mapping_flags(c)

    s = sub.add_parser(
        "score",
        parents=[common],
        help="score customers: probability, interval, optional action",
        description="Score customers: one row per input row, in input order. Ids and text "
        "are written exactly as read, even those starting with =, +, - or @, so that the "
        "scores join back to the customers; the app's downloads are the spreadsheet-safe ones.",
    )
    s.add_argument("--model", required=True, help="model directory from 'train' or 'campaign'")
    s.add_argument("--data", required=True, help="CSV or Parquet file to score")
    s.add_argument("--out", required=True, help="CSV or Parquet file to write (ids as read)")
    s.add_argument("--policy", help="policy JSON: adds an 'action' column")
    s.add_argument(
        "--copy",
        action="append",
        default=[],
        help="input column to copy into the output, after the id (repeat; e.g. the value "
        "column, so the app can price the actions on a scored base)",
    )
    _engine_flags(s)

    q = sub.add_parser(
        "policy", parents=[common], help="export a policy (threshold file) for a model"
    )
    q.add_argument("--model", required=True, help="model directory from 'train' or 'campaign'")
    q.add_argument("--out", required=True, help="policy JSON file to write")
    q.add_argument("--economics", help="economics JSON (default: the built-in actions)")
    how = q.add_mutually_exclusive_group(required=True)
    how.add_argument("--threshold", type=float, help="contact customers with probability >= P")
    how.add_argument("--top-share", type=float, help="contact the top share S of each scored batch")
    how.add_argument("--top-n", type=int, help="contact the top N customers of each scored batch")
    how.add_argument("--precision", type=float, help="reach at least this precision")
    how.add_argument("--recall", type=float, help="reach at least this recall")
    how.add_argument("--max-profit", action="store_true", help="maximise expected profit")
    q.add_argument(
        "--ranking",
        choices=("churn_probability", "expected_value"),
        default="churn_probability",
        help="with --top-share/--top-n or action capacities: who comes first (default: "
        "churn_probability; expected_value needs the value column when scoring)",
    )
    q.add_argument(
        "--action",
        help="with a campaign model: the action the campaign tested, whose costs price a "
        "contact (default: the economics' most costly action)",
    )
    q.add_argument(
        "--batch-size",
        type=int,
        help="with --top-n: customers in a scored batch, to measure the capacity on the "
        "holdout as that share (default: the training table's size)",
    )

    m = sub.add_parser(
        "monitor",
        parents=[common],
        help="compare a new batch with the training data: drift, estimated results, staleness",
    )
    m.add_argument("--model", required=True, help="model directory from 'train'")
    m.add_argument("--data", required=True, help="CSV or Parquet file: the new batch")
    m.add_argument("--out", help="JSON report to write (default: none)")
    m.add_argument(
        "--policy", help="policy JSON whose rules and economics to evaluate (default: max profit)"
    )
    _engine_flags(m)

    w = sub.add_parser(
        "memo",
        parents=[common],
        help="write the decision memo: one self-contained HTML file for stakeholders",
    )
    w.add_argument("--model", required=True, help="model directory from 'train'")
    w.add_argument("--policy", required=True, help="policy JSON for that model")
    w.add_argument(
        "--campaign",
        help="campaign folder from 'campaign --out' (its campaign.json): the measured success rate",
    )
    w.add_argument("--monitor", help="monitoring report from 'monitor --out': drift and results")
    w.add_argument("--out", required=True, help="HTML file to write")
    return parser


def _engine_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--engine",
        choices=("local", "dask"),
        default="local",
        help="local: this machine, in chunks of any number of rows (default); dask: the "
        "partitions of a Parquet file, folder or glob (or a CSV glob) on a Dask cluster",
    )
    parser.add_argument(
        "--scheduler",
        help="with --engine dask: the address of a running Dask scheduler (default: a local "
        "cluster with one worker per core)",
    )


def _feature_flags(parser: argparse.ArgumentParser) -> None:
    """--exclude and --keep: the columns the checks leave in or out (train, check, campaign)."""
    parser.add_argument(
        "--exclude", action="append", default=[], help="column to leave out of the features"
    )
    parser.add_argument(
        "--keep",
        action="append",
        default=[],
        help="column the checks would leave out (id-like, leak, ...) to use anyway",
    )


def _mapping_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--value-column", help="numeric column with each customer's value")
    segments = parser.add_mutually_exclusive_group()
    segments.add_argument(
        "--segment",
        action="append",
        default=None,
        help="attribute for fairness checks (repeat; default: the suggested ones)",
    )
    segments.add_argument(
        "--no-segments",
        action="store_true",
        help="no attributes for fairness checks (instead of the suggested ones)",
    )
    _feature_flags(parser)


def _mapping(args: argparse.Namespace, frame, say) -> ColumnMapping:
    """The column roles from the flags; the target's churned value and the segments are
    suggested when not given (and said on stderr; ``--no-segments`` says there are none),
    the id and value column only suggested."""
    suggested = suggest_mapping(frame)
    target = args.target
    if target is None:
        if not suggested["target"]:
            raise ChurnInputError(
                "No column looks like a churn target (two values); say which with --target."
            )
        target = suggested["target"][0]
        say(f"note: using --target {target} (suggested)")
    positive = args.positive
    if positive is None and target in frame.columns:
        try:
            resolve_positive(frame[target])
        except ChurnInputError:
            positive = suggest_mapping(frame[[target]])["positive"].get(target)
            if positive is None:
                raise
            say(f"note: using --positive '{positive}' (suggested)")
    segments = [] if args.no_segments else args.segment
    if segments is None:  # the same default as the app
        segments = default_segments(frame, target, args.id_column, suggested)
        if segments:
            say(f"note: segments for fairness checks: {', '.join(segments)}")
    hints = []
    if args.id_column is None and suggested["id_column"]:
        hints.append(f"--id {suggested['id_column'][0]}")
    if args.value_column is None and suggested["value_column"]:
        hints.append(f"--value-column {suggested['value_column'][0]}")
    if hints:
        say(f"note: you may want {' '.join(hints)}")
    return ColumnMapping(
        target=target,
        positive=positive,
        id_column=args.id_column,
        value_column=args.value_column,
        segments=tuple(segments),
        exclude=tuple(args.exclude),
        keep=tuple(args.keep),
    )


def _check(args: argparse.Namespace, progress: _Progress) -> int:
    progress(f"reading {args.data}")
    frame = read_table(args.data, text_columns=(args.id_column,) if args.id_column else ())
    check = check_data(frame, _mapping(args, frame, progress.note))
    print("\n".join(report_lines(check.report)))
    if args.out:
        try:
            Path(args.out).write_text(json.dumps(check.report, indent=1), encoding="utf-8")
        except OSError as exc:
            raise ChurnInputError(f"Cannot write {args.out} ({exc.strerror or exc}).") from None
    return 0


def _train(args: argparse.Namespace, progress: _Progress) -> int:
    check_destination(args.out)  # before reading and training, not after
    progress(f"reading {args.data}")
    frame = read_table(args.data, text_columns=(args.id_column,) if args.id_column else ())
    mapping = _mapping(args, frame, progress.note)
    check = check_data(frame, mapping)
    for line in report_lines(check.report)[2:]:
        progress.note(f"check: {line}")
    artifact = train(
        frame,
        check,
        seed=args.seed,
        source=Path(args.data).name,
        progress=progress,
        note=progress.say,
    )
    progress(f"writing {args.out}")
    fingerprint = save_artifact(artifact, args.out)
    m = artifact.metrics
    auc = {name: m[name]["roc_auc"] for name in ("model", "logistic", "rule")}
    info = artifact.info
    sampled = (
        ""
        if info.table_rows is None
        else f" ({sample_sentence(info.rows, info.table_rows).replace('trained on ', '')})"
    )
    print(
        f"trained on {artifact.info.fit_rows:,} customers, checked on "
        f"{artifact.info.holdout_rows:,}{sampled}: holdout ROC-AUC model {auc['model']:.3f}, "
        f"logistic {auc['logistic']:.3f}, rule {auc['rule']:.3f}; "
        f"model {fingerprint[:12]} written to {args.out}"
    )
    left_out = artifact.info.left_out
    if left_out:
        print(
            f"left out of the features: {', '.join(left_out)} "
            f"(reasons in {Path(args.out) / 'data_check.json'})"
        )
    for warning in artifact.info.warnings:
        print(f"warning: {warning}")
    return 0


def _campaign(args: argparse.Namespace, progress: _Progress) -> int:
    check_destination(args.out)  # before reading and training, not after
    progress(f"reading {args.data}")
    frame = read_table(args.data, text_columns=(args.id_column,) if args.id_column else ())
    roles = CampaignRoles(
        target=args.target,
        treatment=args.treatment,
        positive=args.positive,
        treated=args.treated,
        id_column=args.id_column,
        exclude=tuple(args.exclude),
        keep=tuple(args.keep),
    )
    model = train_campaign(
        frame, roles, seed=args.seed, source=Path(args.data).name, progress=progress
    )
    progress(f"writing {args.out}")
    fingerprint = save_campaign(model, args.out)
    r = model.results
    ate, success = r["ate"], r["success_rate"]
    kept = {
        (row["ranking"], row["budget"]): row["kept_per_1000"]
        for row in r["holdout"]["kept_per_1000_contacts"]
    }
    budget = 0.2 if (("uplift", 0.2) in kept) else r["holdout"]["budgets"][0]
    print(
        f"campaign of {r['rows']:,} customers ({r['arms']['contacted']['customers']:,} "
        f"contacted, {r['arms']['control']['customers']:,} control): contacting changed the "
        f"churn rate by {ate['estimate']:+.1%} (95% interval {ate['low']:+.1%} to "
        f"{ate['high']:+.1%}); success rate {success['estimate']:.1%} "
        f"({success['low']:.1%} to {success['high']:.1%})"
    )
    print(
        f"holdout, contacting {budget:.0%}: customers kept per 1,000 contacts "
        f"{kept[('uplift', budget)]:.0f} by uplift, {kept[('churn_risk', budget)]:.0f} by "
        f"churn risk, {kept[('random', budget)]:.0f} at random; model {fingerprint[:12]} "
        f"written to {args.out}"
    )
    backfires = [g for g in r["backfire"] if g["backfires"]]
    for group in backfires:
        print(
            f"backfires: {group['group']} ({group['customers']:,} customers): churn "
            f"{group['effect']:+.1%} when contacted ({group['effect_low']:+.1%} to "
            f"{group['effect_high']:+.1%})"
        )
    for warning in r["warnings"]:
        print(f"warning: {warning}")
    return 0


def _score(args: argparse.Namespace, progress: _Progress) -> int:
    if is_campaign_directory(args.model):
        return _score_campaign(args, progress)
    artifact = load_artifact(args.model)
    policy = load_policy(args.policy, artifact.fingerprint) if args.policy else None
    id_columns = (artifact.id_column,) if artifact.id_column else ()
    copy, metadata = tuple(args.copy), {FINGERPRINT_KEY: artifact.fingerprint}
    if args.engine == "dask":
        from churn import cluster  # (Dask is imported only for this engine)

        with cluster.connect(args.scheduler) as client:
            rows = cluster.score(
                client, artifact, policy, args.data, args.out, progress.rows, copy, metadata
            )
        progress.done()
        print(f"scored {rows:,} customers into {args.out} (a Parquet dataset)")
        return 0
    _no_scheduler(args)
    source = stream.TableChunks(args.data, text_columns=id_columns)
    score, ranked = stream.model_scoring(artifact, policy, copy)
    rows = stream.score_table(
        source, args.out, score, ranked=ranked, progress=progress.rows, metadata=metadata
    )
    progress.done()
    print(f"scored {rows:,} customers into {args.out}")
    return 0


def _score_campaign(args: argparse.Namespace, progress: _Progress) -> int:
    model = load_campaign(args.model)
    policy = load_policy(args.policy, model.fingerprint) if args.policy else None
    if args.engine == "dask" or args.copy:
        raise ChurnInputError(
            "A campaign model scores with the local engine and writes its own columns; leave "
            "out --engine dask and --copy."
        )
    _no_scheduler(args)
    id_columns = (model.id_column,) if model.id_column else ()
    if policy is not None and capacity_of(policy) is not None:  # ranks the whole batch
        progress(f"reading {args.data}")
        frame = read_table(args.data, text_columns=id_columns)
        progress(f"scoring {len(frame):,} customers")
        scored = uplift_on_customers(model, frame, policy)  # what the app lists
        with stream.ChunkWriter(args.out) as writer:  # renamed into place when complete
            writer.write(scored)
            writer.commit()
        rows = len(scored)
    else:  # chunk by chunk, each chunk as the app scores customers
        source = stream.TableChunks(args.data, text_columns=id_columns)
        score = partial(uplift_on_customers, model, policy=policy)
        rows = stream.score_table(source, args.out, score, progress=progress.rows)
        progress.done()
    print(f"scored {rows:,} customers into {args.out}")
    return 0


def _economics_file(path: str) -> Economics:
    path = Path(path)
    try:
        return Economics.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise ChurnInputError(f"Economics file not found: {path}.") from None
    except IsADirectoryError:
        raise ChurnInputError(f"{path} is a folder; give the economics JSON file.") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ChurnInputError(f"{path.name} is not valid JSON.") from None


def _policy_campaign(args: argparse.Namespace, progress: _Progress) -> int:
    model = load_campaign(args.model)
    if args.precision is not None or args.recall is not None:
        raise ChurnInputError(
            "A campaign model's policy targets by uplift; choose it by --max-profit, "
            "--threshold (a minimum uplift), --top-share or --top-n."
        )
    if args.ranking != "churn_probability" or args.batch_size is not None:
        raise ChurnInputError(
            "A campaign model's policy ranks by uplift; leave out --ranking and --batch-size."
        )
    if args.economics:
        economics = _economics_file(args.economics)
    else:
        economics = default_economics(model.holdout_data.columns)
    if args.max_profit:
        choice = Choice("max_profit")
    else:
        for method in ("threshold", "top_share", "top_n"):
            if getattr(args, method) is not None:
                choice = Choice(method, getattr(args, method))
    progress("choosing the policy on the campaign holdout")
    decision = decide_on_campaign(model, economics, choice, args.action)
    policy = build_uplift_policy(decision, economics, model.fingerprint)
    try:
        save_policy(policy, args.out)
    except OSError as exc:
        raise ChurnInputError(f"Cannot write {args.out} ({exc.strerror or exc}).") from None
    cut = decision.min_uplift
    rule = "contact nobody" if cut is None else f"{decision.action} from uplift >= {cut:.3f}"
    if decision.capacity is not None:
        rule += f" ({decision.capacity.sentence()})"
    kept = (
        "n/a"
        if not np.isfinite(decision.kept_per_1000)
        else f"{decision.kept_per_1000:.0f} ({decision.kept_low:.0f} to {decision.kept_high:.0f})"
    )
    print(
        f"policy written to {args.out}: {rule}; {decision.share_contacted:.1%} contacted, "
        f"customers kept per 1,000 contacts {kept}, expected profit "
        f"{decision.expected_gain:.2f} per customer on the campaign holdout"
    )
    return 0


def _no_scheduler(args: argparse.Namespace) -> None:
    if args.scheduler:
        raise ChurnInputError("--scheduler goes with --engine dask; add that or leave it out.")


def _policy(args: argparse.Namespace, progress: _Progress) -> int:
    if is_campaign_directory(args.model):
        return _policy_campaign(args, progress)
    if args.action is not None:
        raise ChurnInputError("--action goes with a campaign model; leave it out.")
    artifact = load_artifact(args.model)
    if args.economics:
        path = Path(args.economics)
        try:
            economics = Economics.from_dict(json.loads(path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            raise ChurnInputError(f"Economics file not found: {path}.") from None
        except IsADirectoryError:
            raise ChurnInputError(f"{path} is a folder; give the economics JSON file.") from None
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise ChurnInputError(f"{path.name} is not valid JSON.") from None
    else:
        economics = default_economics(artifact.holdout_data.columns, artifact.info.value_column)
    if args.max_profit:
        choice = Choice("max_profit")
    else:
        for method in ("threshold", "top_share", "top_n", "precision", "recall"):
            if getattr(args, method) is not None:
                choice = Choice(method, getattr(args, method))
    progress("choosing the cut-offs on the holdout")
    if args.batch_size is not None and args.batch_size < 1:
        raise ChurnInputError("--batch-size must be a number of customers, 1 or more.")
    if args.ranking != "churn_probability" and args.top_n is None and args.top_share is None:
        raise ChurnInputError(
            "--ranking goes with a capacity; choose by --top-n or --top-share, or leave it out."
        )
    if args.batch_size is not None and args.top_n is None:
        raise ChurnInputError("--batch-size goes with --top-n; leave it out or choose by --top-n.")
    decision = decide_on_holdout(
        artifact, economics, choice, ranking=args.ranking, batch_size=args.batch_size
    )
    baselines = baseline_profits(artifact, economics, decision)
    policy = build_policy(decision, economics, artifact.fingerprint, baselines=baselines)
    try:
        save_policy(policy, args.out)
    except OSError as exc:
        raise ChurnInputError(f"Cannot write {args.out} ({exc.strerror or exc}).") from None
    rules = ", ".join(f"{r.action} from p >= {r.min_probability:.3f}" for r in decision.rules)
    if decision.capacity is not None:
        rules += f" ({decision.capacity.sentence()})"
    print(
        f"policy written to {args.out}: {rules or 'contact nobody'}; "
        f"{decision.share_targeted:.1%} targeted, precision "
        f"{'n/a' if decision.n_targeted == 0 else format(decision.precision, '.1%')}, "
        f"recall {decision.recall:.1%} on the holdout"
    )
    return 0


def _monitor(args: argparse.Namespace, progress: _Progress) -> int:
    if args.out and not Path(args.out).resolve().parent.is_dir():
        raise ChurnInputError(
            f"The folder {Path(args.out).parent} does not exist; create it first."
        )
    artifact = load_artifact(args.model)
    if args.policy:
        policy = load_policy(args.policy, artifact.fingerprint)
        if not isinstance(policy.get("economics"), dict):
            raise ChurnInputError(
                f"{Path(args.policy).name} has no economics to price its actions; export it again."
            )
        economics = Economics.from_dict(policy["economics"])
        rules, review_by = rules_of(policy), policy.get("review_by")
        capacity = capacity_of(policy)
    else:
        economics = default_economics(artifact.holdout_data.columns, artifact.info.value_column)
        rules = decide_on_holdout(artifact, economics, Choice("max_profit")).rules
        review_by = capacity = None
    id_columns = (artifact.id_column,) if artifact.id_column else ()
    count = partial(
        count_batch,
        artifact,
        economics=economics,
        with_ids=capacity is not None,
        reference=load_reference(artifact),
    )
    if args.engine == "dask":
        from churn import cluster  # (Dask is imported only for this engine)

        with cluster.connect(args.scheduler) as client:
            counts = cluster.count(
                client, artifact, economics, capacity is not None, args.data, progress.rows
            )
        progress.done()
    else:
        _no_scheduler(args)
        source = stream.TableChunks(args.data, text_columns=id_columns)
        counts = stream.count_table(source, count, BatchCounts.combine, progress=progress.rows)
        progress.done()
    report = report_from_counts(
        artifact, counts, rules, economics, review_by=review_by, capacity=capacity
    )
    result = report.to_dict()
    if args.out:
        try:
            Path(args.out).write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
        except OSError as exc:
            raise ChurnInputError(f"Cannot write {args.out} ({exc.strerror or exc}).") from None
    drifted = [f for f in result["features"] if f["status"] != "stable"]
    shown = ", ".join(f"{f['name']} {f['psi']:.2f} ({f['status']})" for f in drifted[:5])
    est = result["performance"]["estimated"]
    real = result["performance"]["realised"]

    def pct(x: float | None) -> str:
        return "n/a" if x is None else f"{x:.1%}"

    left = (
        f", {result['rows_left_out']:,} rows left out: no value in any model column"
        if result["rows_left_out"]
        else ""
    )
    lines = [
        f"drift: {result['status']} ({result['rows']:,} customers{left}; score PSI "
        f"{result['score_psi']:.3f}; {len(drifted)} of {len(result['features'])} features "
        f"drifted{': ' + shown if shown else ''})",
        f"estimated: {pct(est['share_targeted'])} contacted, precision "
        f"{pct(est['precision'])}, recall {pct(est['recall'])}, profit "
        f"{est['profit_per_customer']:.2f} per customer",
    ]
    if real is not None:
        lines.append(
            f"realised: precision {pct(real['precision'])}, recall {pct(real['recall'])}, "
            f"profit {real['profit_per_customer']:.2f} per customer"
        )
    stale = result["staleness"]
    lines.append(
        f"model age {stale['age_days']} days; review by {stale['review_by']}"
        f"{' (overdue)' if stale['overdue'] else ''}"
    )
    lines += [f"warning: {message}" for message in result["messages"]]
    if args.out:
        lines.append(f"report written to {args.out}")
    print("\n".join(lines))
    return 0


def _memo(args: argparse.Namespace, progress: _Progress) -> int:
    from churn import memo  # the chart renderer loads only for this command

    out = Path(args.out)
    if not out.resolve().parent.is_dir():
        raise ChurnInputError(f"The folder {out.parent} does not exist; create it first.")
    artifact = load_artifact(args.model)
    policy = load_policy(args.policy, artifact.fingerprint)
    campaign = memo.read_campaign(args.campaign) if args.campaign else None
    report = memo.read_monitor_report(args.monitor) if args.monitor else None
    progress("writing the memo")
    text = memo.build_memo(artifact, policy, campaign=campaign, monitor=report)
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ChurnInputError(f"Cannot write {args.out} ({exc.strerror or exc}).") from None
    print(f"decision memo written to {args.out} ({len(text.encode('utf-8')) // 1024:,} KB)")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    try:
        args = _parser().parse_args(argv)
        progress = _Progress(args.quiet)
        handler = {
            "train": _train,
            "campaign": _campaign,
            "check": _check,
            "score": _score,
            "policy": _policy,
            "monitor": _monitor,
            "memo": _memo,
        }[args.command]
        return handler(args, progress)
    except ChurnInputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # an unexpected failure: say so in one line
        if os.environ.get("CHURN_DEBUG"):
            traceback.print_exc()
        print(
            f"error: unexpected failure ({type(exc).__name__}: {exc}); set CHURN_DEBUG=1 for "
            "details and report it",
            file=sys.stderr,
        )
        return 1
