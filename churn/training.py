"""Training end to end: checked frame -> model, baselines, holdout evaluation -> artifact."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from churn import decisions, drift, metrics
from churn.artifact import Artifact, ArtifactInfo, compute_fingerprint
from churn.baselines import LogisticBaseline, RuleBaseline
from churn.checks import ColumnMapping, DataCheck, check_data
from churn.economics import default_economics
from churn.errors import ChurnInputError

if TYPE_CHECKING:
    from churn.model import ChurnModel

__all__ = [
    "HOLDOUT_SIZE",
    "SCORE_COLUMNS",
    "TRAIN_SAMPLE_SIZE",
    "customers_to_act_on",
    "holdout_split",
    "leak_columns",
    "no_model_values",
    "sample_sentence",
    "score_frame",
    "score_rows",
    "scored_customers",
    "stratified_sample",
    "train",
]

HOLDOUT_SIZE = 0.20
#: The most customers :func:`train` fits and evaluates on: a larger table is cut to a
#: stratified sample of this size. On the sample's process
#: (``benchmarks/bench_learning_curve.py``: 200,000 fresh customers) the ROC-AUC stops
#: improving at about 100,000 customers (0.8285; 0.8281 at 300,000 and at 600,000, against
#: 0.8309 for the true probabilities); real tables with rarer kinds of customers gain a
#: little longer, hence three times that, at a training time a PM can wait for.
TRAIN_SAMPLE_SIZE = 300_000
#: The columns :func:`score_frame` adds for every customer.
SCORE_COLUMNS = ("churn_probability", "probability_low", "probability_high")


def _quiet(_: str) -> None:
    return None


def holdout_split(y: np.ndarray, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Row positions ``(fit, holdout)``, both sorted: stratified, ``HOLDOUT_SIZE`` held out.

    The one split :func:`train` uses; benchmarks reuse it to compare on the same rows.
    """
    from sklearn.model_selection import train_test_split  # (scoring needs none of it)

    rows = np.arange(len(y))
    dev, hold = train_test_split(rows, test_size=HOLDOUT_SIZE, stratify=y, random_state=seed)
    return np.sort(dev), np.sort(hold)


def stratified_sample(y: np.ndarray, size: int, seed: int = 0) -> np.ndarray:
    """Sorted row positions of a stratified random sample of ``size`` rows of ``y`` (0/1).

    The churn rate of the sample is the table's (to one customer); the same ``y``, size and
    seed give the same rows. With ``size >= len(y)`` every row is returned.
    """
    from sklearn.model_selection import train_test_split

    rows = np.arange(len(y))
    if size >= len(y):
        return rows
    kept, _ = train_test_split(rows, train_size=int(size), stratify=y, random_state=seed)
    return np.sort(kept)


def sample_sentence(rows: int, table_rows: int) -> str:
    """``trained on a stratified sample of 300,000 of 2,000,000 customers``: what the model
    card, ``metrics.json`` and the command line say about a sampled table."""
    return f"trained on a stratified sample of {rows:,} of {table_rows:,} customers"


def train(
    frame: pd.DataFrame,
    roles: ColumnMapping | DataCheck,
    *,
    seed: int = 0,
    n_boot: int = 200,
    source: str = "",
    model_params: dict[str, Any] | None = None,
    progress: Callable[[str], None] = _quiet,
    max_rows: int | None = None,
    note: Callable[[str], None] | None = None,
) -> Artifact:
    """Train the model and both baselines and evaluate them on a holdout.

    A table of more than ``max_rows`` customers (``None``: :data:`TRAIN_SAMPLE_SIZE`) is cut
    first to a stratified sample of that size (:func:`stratified_sample`, by the target,
    with ``seed``): a churn model gains little past a few hundred thousand customers. The
    sample is said through ``progress``, recorded in the model's info (``rows`` is the
    sample, ``table_rows`` the table) and in ``metrics.json`` (``training_sample``), and
    the model card states it.

    The data is split once, stratified: 80% to fit (the model holds back a
    quarter of that to calibrate), 20% holdout that nothing is fitted or
    calibrated on. Metrics carry paired bootstrap 95% intervals.

    Parameters
    ----------
    frame : the customer table, one row per customer.
    roles : what each column is: a :class:`~churn.checks.ColumnMapping` (the target and
        its churned value, the id, the value column, the fairness segments, columns to
        leave out or put back; taken as given, so a mapping without segments records
        none: :meth:`ColumnMapping.for_table` adds the suggested ones, as the app and the
        CLI do), or the :class:`~churn.checks.DataCheck` of ``frame`` when the caller has
        run the checks already (the app shows them before training): its prepared table
        is used, and the checks run again only if it does not have ``frame``'s rows.
    seed : seed of the split, the model and the bootstrap.
    n_boot : bootstrap replicates for the metric intervals.
    source : a description of where the data came from (file name), for the model card.
    model_params : extra :class:`~churn.model.ChurnModel` parameters.
    progress : called with a short message at the start of each long step.
    max_rows : the most customers to train and evaluate on.
    note : called once with the sentence that says the table was sampled (default:
        ``progress``); the command line prints it on stderr.

    The data checks of :mod:`churn.checks` run first (unless ``roles`` is their result);
    their report is stored in the artifact as ``data_check.json`` and the preparation as
    ``preparation.json``.
    """
    started = time.perf_counter()
    progress("checking the data")
    if isinstance(roles, DataCheck) and len(roles.frame) == len(frame):
        check = roles
    else:
        mapping = roles.mapping if isinstance(roles, DataCheck) else roles
        check = check_data(frame, mapping)
    mapping = check.mapping
    frame = check.frame
    y = check.y
    table_rows = len(frame)
    max_rows = TRAIN_SAMPLE_SIZE if max_rows is None else int(max_rows)
    sampled: np.ndarray | None = None
    if table_rows > max_rows:
        sampled = stratified_sample(y, max_rows, seed)
        (note or progress)(
            f"{sample_sentence(sampled.size, table_rows)} (a churn model gains little past "
            f"a few hundred thousand customers; stratified by '{mapping.target}', seed {seed})"
        )
        check = check.subset(sampled)
        frame, y = check.frame, check.y
    positive_label = check.report["positive_label"]
    X = check.features
    dev, hold = holdout_split(y, seed)
    params = {"random_state": seed, **(model_params or {})}
    progress(f"training the model on {dev.size:,} customers (bagged LightGBM + calibration)")
    from churn.model import ChurnModel  # LightGBM: imported when a model is trained

    model = ChurnModel(**params).fit(X.iloc[dev], y[dev])
    progress("fitting the baselines (logistic regression, depth-2 rule)")
    logistic = LogisticBaseline.fit(model.spec_, X.iloc[dev], y[dev])
    rule = RuleBaseline.fit(model.spec_, X.iloc[dev], y[dev])

    progress(f"evaluating on the {hold.size:,}-customer holdout with bootstrap intervals")
    X_hold = X.iloc[hold]
    scored = model.predict_frame(X_hold).reset_index(drop=True)
    holdout = pd.DataFrame({"row": hold, "outcome": y[hold]})
    holdout = pd.concat([holdout, scored], axis=1)
    holdout["logistic_probability"] = logistic.predict_proba(X_hold)
    holdout["rule_probability"] = rule.predict_proba(X_hold)
    y_hold = holdout["outcome"].to_numpy()
    results: dict[str, Any] = {}
    for name, column in (
        ("model", "churn_probability"),
        ("logistic", "logistic_probability"),
        ("rule", "rule_probability"),
    ):
        evaluated = metrics.evaluate(y_hold, holdout[column].to_numpy(), n_boot=n_boot, seed=seed)
        results[name] = {
            f"{metric}{suffix}": figures[key]
            for metric, figures in evaluated.items()
            for suffix, key in (("", "value"), ("_low", "low"), ("_high", "high"))
        }
    results["comparison"] = {
        f"model_vs_{other}": {
            m: metrics.compare(
                y_hold,
                holdout["churn_probability"].to_numpy(),
                holdout[f"{other}_probability"].to_numpy(),
                metric=m,
                n_boot=n_boot,
                seed=seed,
            )
            for m in ("roc_auc", "brier")
        }
        for other in ("logistic", "rule")
    }
    economics = default_economics(frame.columns, mapping.value_column)
    mean_value = float(economics.customer_value(frame.iloc[hold], hold.size).mean())
    results["emp"] = {
        name: {
            action.name: decisions.emp(y_hold, holdout[column].to_numpy(), mean_value, action)
            for action in economics.actions
        }
        for name, column in (
            ("model", "churn_probability"),
            ("logistic", "logistic_probability"),
            ("rule", "rule_probability"),
        )
    }
    results["emp_customer_value"] = mean_value
    width = (holdout["probability_high"] - holdout["probability_low"]).to_numpy()
    results["interval"] = {
        "confidence": model.confidence,
        "mean_width": float(width.mean()),
        "median_width": float(np.median(width)),
        "p90_width": float(np.quantile(width, 0.9)),
    }
    results["holdout_size"] = int(hold.size)
    if sampled is not None:
        results["training_sample"] = {
            "customers": int(sampled.size),
            "table_customers": int(table_rows),
            "stratified_by": mapping.target,
            "seed": int(seed),
            "sentence": sample_sentence(sampled.size, table_rows),
        }

    info = ArtifactInfo(
        target=mapping.target,
        positive_label=positive_label,
        id_column=mapping.id_column,
        trained_at=datetime.now(UTC).replace(microsecond=0).isoformat(),
        source=source,
        rows=len(frame),
        table_rows=None if sampled is None else int(table_rows),
        fit_rows=int(dev.size),
        holdout_rows=int(hold.size),
        churn_rate=float(y.mean()),
        features={c: model.spec_.kinds[c] for c in model.spec_.columns},
        rule_text=rule.to_text(),
        value_column=mapping.value_column,
        segments=list(mapping.segments),
        left_out=check.report["left_out"],
        warnings=_quality_warnings(results),
        training_seconds=round(time.perf_counter() - started, 2),
    )
    holdout_data = frame.iloc[hold].reset_index(drop=True)
    artifact = Artifact(
        model=model,
        logistic=logistic,
        rule=rule,
        info=info,
        metrics=results,
        holdout=holdout,
        holdout_data=holdout_data,
        extra_files={
            "data_check.json": json.dumps(check.report, indent=1),
            "preparation.json": json.dumps(check.preparation.to_dict(), indent=1),
            # the training reference that later batches are monitored against
            **drift.reference_files(
                model.spec_, X.iloc[dev], holdout["churn_probability"].to_numpy()
            ),
        },
    )
    artifact.fingerprint = compute_fingerprint(artifact)
    artifact.training_scores = _out_of_fold(model, holdout, dev, hold, y)
    artifact.training_rows = sampled
    del model.oob_frame_  # kept once, in the artifact's training order
    return artifact


def _out_of_fold(
    model: ChurnModel, holdout: pd.DataFrame, dev: np.ndarray, hold: np.ndarray, y: np.ndarray
) -> pd.DataFrame:
    """Every training row scored by models that never fitted it (see
    :attr:`Artifact.training_scores`)."""
    scores = pd.DataFrame(
        {
            **{c: np.full(y.size, np.nan) for c in SCORE_COLUMNS},
            "in_bag": np.zeros(y.size, dtype=bool),
            "churned": y.astype(bool),
        }
    )
    columns = [*SCORE_COLUMNS, "in_bag"]
    scores.loc[dev, columns] = model.oob_frame_[columns].to_numpy(dtype=object)
    scores.loc[hold, list(SCORE_COLUMNS)] = holdout[list(SCORE_COLUMNS)].to_numpy()
    return scores.astype({c: float for c in SCORE_COLUMNS} | {"in_bag": bool})


#: A holdout ROC-AUC this high is more often a leak than a great model.
SUSPICIOUS_AUC = 0.98


def _quality_warnings(results: dict[str, Any]) -> list[str]:
    auc = results["model"]["roc_auc"]
    if auc >= SUSPICIOUS_AUC:
        return [
            f"The holdout ROC-AUC is {auc:.3f}, close to perfect: real churn is rarely that "
            "predictable, so check that no column is recorded after the customer left (a "
            "cancellation date, a closing balance, a churn reason)."
        ]
    return []


def no_model_values(features: pd.DataFrame) -> np.ndarray:
    """Rows where every column is missing or blank text (checked cheaply: numbers first).

    Given the model's columns of a prepared table, these are the rows :func:`score_frame`
    leaves unscored and :func:`churn.monitor.monitor` leaves out of its figures.
    """
    numeric = [c for c in features.columns if pd.api.types.is_numeric_dtype(features[c])]
    empty = features[numeric].isna().all(axis=1).to_numpy()
    rows = np.flatnonzero(empty)
    for column in features.columns.difference(numeric):
        if rows.size == 0:
            break
        text = features[column].iloc[rows].astype("string").str.strip()
        keep = (text.isna() | (text == "")).to_numpy(dtype=bool, na_value=True)
        rows = rows[keep]
    out = np.zeros(len(features), dtype=bool)
    out[rows] = True
    return out


def score_frame(artifact: Artifact, frame: pd.DataFrame) -> pd.DataFrame:
    """One row per input row, in input order: the id (if any), the three score columns and
    ``score_note``.

    The data is prepared as in training (numbers stored as text, dates). Extra columns are
    ignored; missing values and categories never seen in training are scored. A row with
    no value in any of the model's columns cannot be scored: its probability is left
    empty and ``score_note`` says why; rows with unreadable cells are scored with those
    cells as missing, and the note says how many.
    """
    return score_rows(
        frame,
        artifact.id_column,
        artifact.spec,
        artifact.preparation,
        artifact.model.predict_frame,
        SCORE_COLUMNS,
    )


def score_rows(
    frame: pd.DataFrame,
    id_column: str | None,
    spec: Any,
    preparation: Any,
    predict_frame: Callable[[pd.DataFrame], pd.DataFrame],
    score_columns: Sequence[str],
) -> pd.DataFrame:
    """The row accounting every model's scoring shares (churn and campaign models): one row
    per input row, in input order, with the id (if any), what ``predict_frame`` gives the
    prepared rows, and ``score_note``. Rows with no value in any of ``spec``'s columns get
    empty ``score_columns``; unreadable cells are scored as missing and counted in the note.
    """
    if id_column is not None and id_column not in frame.columns:
        raise ChurnInputError(
            f"The data has no '{id_column}' column, which the model was trained with; add it "
            "so that every score can be matched to its customer."
        )
    spec.check_columns(frame)
    prepared, unreadable = preparation.apply(frame)
    empty = no_model_values(prepared[spec.columns])
    scored = predict_frame(prepared).reset_index(drop=True)
    if empty.any():
        scored.loc[empty, list(score_columns)] = np.nan
    note = np.full(len(frame), "", dtype=object)
    bad = unreadable > 0
    note[bad] = [
        f"{k} value(s) could not be read and were scored as missing" for k in unreadable[bad]
    ]
    note[empty] = "not scored: no value in any of the model's columns"
    if id_column is not None:
        no_id = frame[id_column].isna().to_numpy()
        note[no_id & ~empty] = [
            "no customer id" + (f"; {n}" if n else "") for n in note[no_id & ~empty]
        ]
    scored["score_note"] = pd.array(note, dtype="str")
    if id_column is not None:
        scored.insert(0, id_column, frame[id_column].reset_index(drop=True))
    return scored


def leak_columns(artifact: Artifact) -> list[str]:
    """Columns the checks left out as possible leaks (recorded after a customer left, such as
    a churn reason): never offered as filters or written into lists."""
    return [c for c, why in artifact.info.left_out.items() if str(why).startswith("possible leak")]


def customers_to_act_on(
    artifact: Artifact, frame: pd.DataFrame, training_table: bool = False
) -> tuple[pd.DataFrame, dict]:
    """The customers the pages act on, with their scores, and what was left out.

    ``training_table``: ``frame`` is the table the model was trained on. Each customer is
    then scored by models that never fitted it (:attr:`Artifact.training_scores`:
    out-of-bag for the rows the members were fitted on, the holdout model for the holdout),
    so the scores are as honest as on new customers. Otherwise ``frame`` is a snapshot to
    act on, scored by the model (:func:`scored_customers`).

    Either way, customers whose outcome says they already churned (the target column, when
    the table has it) are left out: no action can keep them; so are rows with no value to
    score from, and leak columns are dropped. Returns the customers (prepared as
    :func:`scored_customers` does, with the :data:`SCORE_COLUMNS`, in table order) and
    ``{"rows", "churned", "unscored", "in_bag"}``: the table's rows, those left out as
    already churned or as impossible to score, and those kept with an in-sample score
    (every bootstrap resample drew them; with a training table whose out-of-fold scores
    are not at hand, an artifact loaded from disk, every customer).
    """
    from churn.monitor import batch_labels  # (monitoring builds on this module)

    scores = artifact.training_scores
    facts = {"rows": len(frame), "churned": 0, "unscored": 0, "in_bag": 0}
    sampled = artifact.training_rows
    if (
        training_table
        and scores is not None
        and sampled is not None
        and len(frame) == artifact.info.table_rows
    ):  # the sample's rows scored out of fold, the rest as new customers
        scores = _with_rows_left_out(artifact, frame, scores, sampled)
    if training_table and scores is not None and len(scores) == len(frame):
        prepared = artifact.preparation.apply(frame)[0].reset_index(drop=True)
        prepared = prepared.drop(columns=[c for c in leak_columns(artifact) if c in prepared])
        churned = scores["churned"].to_numpy(dtype=bool)
        scorable = scores["churn_probability"].notna().to_numpy()
        keep = ~churned & scorable
        base = pd.concat([prepared, scores[list(SCORE_COLUMNS)]], axis=1)[keep]
        facts["churned"] = int((churned & scorable).sum())
        facts["unscored"] = int((~scorable).sum())
        facts["in_bag"] = int(scores["in_bag"].to_numpy(dtype=bool)[keep].sum())
        return base.reset_index(drop=True), facts
    base = scored_customers(artifact, frame)
    facts["unscored"] = len(frame) - len(base)
    if training_table:
        facts["in_bag"] = len(base)
    labels = batch_labels(base, artifact.target, artifact.info.positive_label)
    if labels is not None:
        churned = labels == 1
        facts["churned"] = int(churned.sum())
        base = base[~churned].reset_index(drop=True)
    return base, facts


def _with_rows_left_out(
    artifact: Artifact, frame: pd.DataFrame, scores: pd.DataFrame, sampled: np.ndarray
) -> pd.DataFrame:
    """:attr:`Artifact.training_scores` of a model trained on a sample of ``frame`` (the rows
    at ``sampled``), completed with the other rows scored by the model, which never fitted
    them (as new customers: empty where they cannot be scored)."""
    from churn.monitor import batch_labels  # (monitoring builds on this module)

    rest = np.setdiff1d(np.arange(len(frame)), sampled)
    table = frame.iloc[rest].reset_index(drop=True)
    scored = score_frame(artifact, table)
    labels = batch_labels(
        artifact.preparation.apply(table)[0], artifact.target, artifact.info.positive_label
    )
    full = pd.DataFrame(
        {
            **{c: np.full(len(frame), np.nan) for c in SCORE_COLUMNS},
            "in_bag": np.zeros(len(frame), dtype=bool),
            "churned": np.zeros(len(frame), dtype=bool),
        }
    )
    for column in SCORE_COLUMNS:
        values = full[column].to_numpy(copy=True)
        values[sampled] = scores[column].to_numpy(dtype=float)
        values[rest] = scored[column].to_numpy(dtype=float)
        full[column] = values
    for column in ("in_bag", "churned"):
        values = full[column].to_numpy(copy=True)
        values[sampled] = scores[column].to_numpy(dtype=bool)
        if column == "churned" and labels is not None:
            values[rest] = labels == 1
        full[column] = values
    return full


def scored_customers(
    artifact: Artifact, frame: pd.DataFrame, scores: pd.DataFrame | None = None
) -> pd.DataFrame:
    """The customers to act on: ``frame`` prepared as the model sees it (text numbers and
    dates parsed), with the :data:`SCORE_COLUMNS`, one row per scorable customer in input
    order. Columns the checks left out as leaks are dropped (:func:`leak_columns`).

    Rows with no value in any model column cannot be scored and are left out here (the
    app's lists and decisions need a probability); :func:`score_frame` keeps every row
    and says why such a row has none, which is what the scoring command line writes.

    ``scores``: the :data:`SCORE_COLUMNS` this model already gave ``frame``, one row per
    row in its order (what ``score`` wrote for it, read back); else they are computed.
    """
    base = artifact.preparation.apply(frame)[0].reset_index(drop=True)
    if scores is None:
        scored = score_frame(artifact, base)  # (preparing a prepared table changes nothing)
    elif len(scores) != len(base):
        raise ValueError("there must be one row of scores per customer")
    else:
        scored = scores.reset_index(drop=True)
    base = base.drop(columns=[c for c in leak_columns(artifact) if c in base])
    scorable = scored["churn_probability"].notna().to_numpy()
    return pd.concat([base, scored[list(SCORE_COLUMNS)]], axis=1)[scorable].reset_index(drop=True)
