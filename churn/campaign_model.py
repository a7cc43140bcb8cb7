"""A campaign model: train on a past campaign with a control group, save, load, score.

:func:`train_campaign` takes a campaign table (one row per customer: features as they
were before the campaign, whether the customer was contacted, whether they churned
afterwards) and its column roles, runs the same data checks as :func:`churn.training.train`
(:func:`churn.checks.check_data`, the contact column left out of the features), holds back
a stratified 20% of the campaign (by arm and outcome), fits an
:class:`churn.uplift.UpliftModel` on the rest and computes everything ``campaign.json``
holds:

* ``arms`` -- size and churn rate of each arm (:func:`churn.campaign.arms`);
* ``ate`` and ``success_rate`` -- the average effect on the whole campaign
  (:func:`churn.campaign.average_effect`), and ``verdict``, one sentence
  (:func:`effect_sentence`);
* ``balance`` -- per-feature standardised differences and the classifier check, with a
  verdict sentence (:func:`churn.campaign.balance`);
* ``holdout`` -- on the held-back customers: customers kept per 1,000 contacts when
  targeting by uplift, by churn risk and at random at :data:`churn.uplift.BUDGETS`, the
  Qini curves of both rankings and the uplift by decile, all with bootstrap bands;
* ``backfire`` -- groups where contacting raised churn (:func:`churn.uplift.backfire_groups`
  on the out-of-fold uplift of every campaign customer).

**Churn risk** is the uplift model's own churn probability *if not contacted* (its
control-arm model). It is a churn model trained on the same customers, with the same
features and preparation, on the customers no contact touched: so the comparison is
between two rankings of equal footing (who is likely to leave vs who is likely to be
kept), not between two models trained on different data; and it exists for any
uploaded campaign, where a churn model trained on other customers may not.

The model directory (written by :func:`save_campaign`, read by :func:`load_campaign`,
checked file by file against ``manifest.json`` like a churn model's):

``campaign.json``      roles, figures above, model settings (``"kind": "campaign"``)
``uplift.json``        the uplift model's settings and feature preparation
``control_NN.txt``     LightGBM text of the control-arm members
``contacted_NN.txt``   LightGBM text of the contact members (change of log-odds)
``preparation.json``   how raw columns become model inputs (as for a churn model)
``data_check.json``    the data-check report
``holdout.csv``        the held-back customers' outcome, arm and scores
``holdout_data.csv``   their columns (for the customer value of policies)
``campaign_scores.csv`` out-of-fold scores of every campaign customer, in table order
``manifest.json``      sha256 of every file and the fingerprint over them

API summary
-----------
``train_campaign(frame, roles: CampaignRoles, *, seed=0, n_boot=200, source="",
model_params=None, progress=...) -> CampaignModel``
``save_campaign(model, directory) -> fingerprint``; ``load_campaign(directory) -> CampaignModel``
``is_campaign_directory(directory) -> bool``
``effect_sentence(ate, success_rate) -> str``: the verdict (also ``results["verdict"]``)
``score_campaign_frame(model, frame) -> DataFrame``: id, :data:`churn.uplift.UPLIFT_COLUMNS`,
``score_note``; one row per input row, in input order.
``CampaignModel``: ``uplift`` (UpliftModel), ``results`` (the ``campaign.json`` dict),
``holdout``, ``holdout_data``, ``scores`` (out of fold), ``preparation``, ``fingerprint``,
``id_column``, ``treatment``, ``target``.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from churn import campaign
from churn.artifact import (
    _csv_text,
    _sha,
    fingerprint_of,
    read_model_directory,
    write_model_directory,
)
from churn.checks import ColumnMapping, Preparation, check_data
from churn.errors import ChurnInputError, damaged_file
from churn.formatting import json_ready
from churn.training import HOLDOUT_SIZE, score_rows
from churn.uplift import (
    BUDGETS,
    UPLIFT_COLUMNS,
    UpliftModel,
    backfire_groups,
    kept_per_contacts,
    qini_curve,
    uplift_by_decile,
    uplift_from_files,
    uplift_to_files,
)

__all__ = [
    "CAMPAIGN_FILE",
    "CAMPAIGN_VERSION",
    "CampaignModel",
    "CampaignRoles",
    "effect_sentence",
    "is_campaign_directory",
    "load_campaign",
    "save_campaign",
    "score_campaign_frame",
    "train_campaign",
    "treated_flags",
]

CAMPAIGN_FILE = "campaign.json"
CAMPAIGN_VERSION = 1
RUN_KEYS = ("trained_at", "training_seconds")
#: Where the churn risk of the holdout comparison comes from (said in ``campaign.json``).
RISK_SOURCE = (
    "the uplift model's churn probability if not contacted (its control-arm model, "
    "trained on the same customers and features)"
)


def _quiet(_: str) -> None:
    return None


@dataclass(frozen=True)
class CampaignRoles:
    """The column roles of a campaign table.

    ``target`` is the churn outcome and ``positive`` its churned value (inferred for
    1/0, yes/no); ``treatment`` says who was contacted and ``treated`` its value for
    contacted (inferred for 1/0, true/false, yes/no, contacted/control; required when the
    column has more than two values: every other value is then the control group);
    ``id_column`` the customer id; ``exclude`` and ``keep`` as in
    :class:`~churn.checks.ColumnMapping`.
    """

    target: str
    treatment: str
    positive: str | None = None
    treated: str | None = None
    id_column: str | None = None
    exclude: tuple[str, ...] = ()
    keep: tuple[str, ...] = ()

    def mapping(self) -> ColumnMapping:
        """The churn model's column mapping: the contact column left out of the features."""
        return ColumnMapping(
            target=self.target,
            positive=self.positive,
            id_column=self.id_column,
            exclude=tuple(dict.fromkeys((*self.exclude, self.treatment))),
            keep=self.keep,
        )


def treated_flags(column: pd.Series, treated: str | None = None) -> tuple[np.ndarray, str]:
    """Who was contacted (bool per row) and the contacted value as text.

    Without ``treated`` the column must have exactly two values that read as contacted
    and control (:func:`churn.campaign.arms`' coding); with it, the rows whose value reads
    as ``treated`` (compared as text, spaces and case ignored) are contacted and every
    other value is the control group. Empty cells are refused.
    """
    name = column.name
    if column.isna().any():
        raise ChurnInputError(
            f"The contact column '{name}' is empty for {int(column.isna().sum())} customers; "
            "say for every customer whether they were contacted."
        )
    text = column.astype("string").str.strip()
    raw = pd.unique(column.to_numpy(dtype=object))  # as the table writes them, for messages
    found = np.array([v.item() if isinstance(v, np.generic) else v for v in raw], dtype=object)
    if treated is not None:
        wanted = str(treated).strip().lower()
        flags = (text.str.lower() == wanted).to_numpy(dtype=bool)
        number = pd.to_numeric(pd.Series([wanted]), errors="coerce").iloc[0]
        if not flags.any() and pd.api.types.is_numeric_dtype(column) and pd.notna(number):
            flags = (column.to_numpy(dtype=float) == float(number)).astype(bool)  # 1 vs 1.0
        if not flags.any():
            raise ChurnInputError(
                f"No customer has '{treated}' in the contact column '{name}' (its values: "
                f"{campaign._values_text(found)}); give --treated one of them."
            )
        if flags.all():
            raise ChurnInputError(
                f"Every customer has '{treated}' in the contact column '{name}'; the analysis "
                "needs a control group that was not contacted."
            )
        return flags, str(text[flags].iloc[0])
    if len(found) > 2:
        raise ChurnInputError(
            f"The contact column '{name}' has {len(found)} values "
            f"({campaign._values_text(found)}); say which one means contacted with --treated."
        )
    try:
        flags = campaign._check_treated(column.to_numpy(dtype=object))
    except ChurnInputError as exc:
        if len(found) < 2:
            raise
        raise ChurnInputError(
            f"The contact column '{name}' has the values {campaign._values_text(found)}; say "
            "which one means contacted with --treated."
        ) from exc
    return flags, str(text[flags].iloc[0])


@dataclass
class CampaignModel:
    """A trained campaign model: the uplift model and everything ``campaign.json`` holds."""

    uplift: UpliftModel
    results: dict[str, Any]
    holdout: pd.DataFrame
    holdout_data: pd.DataFrame
    extra_files: dict[str, str] = field(default_factory=dict)
    scores: pd.DataFrame | None = None
    fingerprint: str = ""
    run: dict[str, Any] = field(default_factory=dict)

    @property
    def roles(self) -> dict[str, Any]:
        return self.results["roles"]

    @property
    def target(self) -> str:
        return self.roles["target"]

    @property
    def treatment(self) -> str:
        return self.roles["treatment"]

    @property
    def id_column(self) -> str | None:
        return self.roles["id_column"]

    @cached_property
    def preparation(self) -> Preparation:
        return Preparation.from_dict(json.loads(self.extra_files["preparation.json"]))

    def files(self) -> dict[str, str]:
        """All files except the manifest, as ``{name: text}``."""
        files = uplift_to_files(self.uplift)
        files[CAMPAIGN_FILE] = json.dumps(
            {"kind": "campaign", "campaign_version": CAMPAIGN_VERSION, **self.results}, indent=1
        )
        files["holdout.csv"] = _csv_text(self.holdout)
        files["holdout_data.csv"] = _csv_text(self.holdout_data)
        if self.scores is not None:
            files["campaign_scores.csv"] = _csv_text(self.scores)
        files.update(self.extra_files)
        return files


def effect_sentence(ate: dict[str, float], success: dict[str, float]) -> str:
    """The campaign's verdict in one sentence: did contacting reduce churn, by how much
    (percentage points, with the 95% interval), and the measured success rate."""
    est, low, high = (100.0 * ate[k] for k in ("estimate", "low", "high"))
    interval = f"95% interval {-high:.1f} to {-low:.1f} points"
    if high < 0:
        return (
            f"Contacting reduced churn by {-est:.1f} percentage points ({interval}): it kept "
            f"{success['estimate']:.0%} of the customers who would have churned "
            f"({success['low']:.0%} to {success['high']:.0%})."
        )
    if low > 0:
        return (
            f"Contacting raised churn by {est:.1f} percentage points (95% interval {low:.1f} "
            f"to {high:.1f} points): on average the contact drove customers away."
        )
    return (
        f"The campaign cannot tell whether contacting changed churn: {-est:+.1f} percentage "
        f"points fewer churned ({interval}, which includes no change)."
    )


def _interval(estimate: float, low: float, high: float) -> dict[str, float]:
    return {"estimate": float(estimate), "low": float(low), "high": float(high)}


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return json_ready(frame.to_dict(orient="records"))


def holdout_split_campaign(y: np.ndarray, t: np.ndarray, seed: int = 0) -> tuple[np.ndarray, ...]:
    """Row positions ``(fit, holdout)``, sorted: ``HOLDOUT_SIZE`` held out, stratified by
    arm and outcome."""
    rows = np.arange(y.size)
    dev, hold = train_test_split(
        rows, test_size=HOLDOUT_SIZE, stratify=2 * t.astype(int) + y.astype(int), random_state=seed
    )
    return np.sort(dev), np.sort(hold)


def train_campaign(
    frame: pd.DataFrame,
    roles: CampaignRoles,
    *,
    seed: int = 0,
    n_boot: int = 200,
    source: str = "",
    model_params: dict[str, Any] | None = None,
    progress: Callable[[str], None] = _quiet,
) -> CampaignModel:
    """Check a campaign table, fit the uplift model and evaluate it (see the module doc).

    Raises
    ------
    ChurnInputError
        The usual bad input of :func:`churn.checks.check_data`; the contact column missing,
        empty cells in it, a single arm, more than two values without ``roles.treated``,
        or fewer than :data:`churn.campaign.MIN_ARM_SIZE` customers in an arm.
    """
    started = time.perf_counter()
    if roles.treatment not in frame.columns:
        raise ChurnInputError(
            f"The table has no '{roles.treatment}' column; give the column that says who was "
            "contacted with --treatment."
        )
    if roles.treatment in (roles.target, roles.id_column):
        raise ChurnInputError(
            "The contact column must differ from the churn column and the id; give the column "
            "that says who was contacted."
        )
    t, treated_label = treated_flags(frame[roles.treatment], roles.treated)
    sizes = {"contacted": int(t.sum()), "control": int((~t).sum())}
    if min(sizes.values()) < campaign.MIN_ARM_SIZE:
        raise ChurnInputError(
            f"Each arm needs at least {campaign.MIN_ARM_SIZE} customers (contacted: "
            f"{sizes['contacted']}, control: {sizes['control']}); analyse a larger campaign."
        )
    progress("checking the data")
    check = check_data(frame, roles.mapping())
    roles = replace(roles, positive=check.mapping.positive)
    y = check.y.astype(int)
    X = check.features
    dev, hold = holdout_split_campaign(y, t, seed)
    for part, rows in (("fitted on", dev), ("held back", hold)):
        small = min(int(t[rows].sum()), int((~t[rows]).sum()))
        if small < 50:
            raise ChurnInputError(
                f"Only {small} customers of an arm are {part}; analyse a larger campaign."
            )

    progress("measuring the average effect and the balance of the arms")
    arms = campaign.arms(y, t)
    effect = campaign.average_effect(y, t)
    balance = campaign.balance(X, t, seed=seed)

    params = {"random_state": seed, **(model_params or {})}
    progress(f"training the uplift model on {dev.size:,} customers (two bagged LightGBM arms)")
    model = UpliftModel(**params).fit(X.iloc[dev], y[dev], t[dev])

    progress(f"evaluating on the {hold.size:,}-customer holdout with bootstrap bands")
    scored = model.predict_frame(X.iloc[hold]).reset_index(drop=True)
    holdout = pd.concat(
        [pd.DataFrame({"row": hold, "outcome": y[hold], "contacted": t[hold].astype(int)}), scored],
        axis=1,
    )
    y_h, t_h = y[hold], t[hold]
    rankings = {
        "uplift": scored["uplift"].to_numpy(),
        "churn_risk": scored["churn_probability"].to_numpy(),
    }
    kept = kept_per_contacts(y_h, t_h, rankings, BUDGETS, n_boot=n_boot, seed=seed)
    qini = {
        name: _records(qini_curve(y_h, t_h, score, n_boot=n_boot, seed=seed))
        for name, score in rankings.items()
    }
    deciles = uplift_by_decile(y_h, t_h, rankings["uplift"], n_boot=n_boot, seed=seed)

    progress("looking for groups where contacting backfires")
    # every campaign customer scored by models that never fitted it: the fitted part out
    # of bag, the holdout by the model
    columns = list(UPLIFT_COLUMNS)
    full = pd.DataFrame(np.nan, index=range(len(frame)), columns=columns)
    full.iloc[dev] = model.oob_frame_[columns].to_numpy()
    full.iloc[hold] = scored[columns].to_numpy()
    in_bag_full = np.zeros(len(frame), dtype=bool)
    in_bag_full[dev] = model.oob_frame_["in_bag"].to_numpy(dtype=bool)
    backfire = backfire_groups(X, y, t, full["uplift"].to_numpy(), seed=seed)

    width = (scored["uplift_high"] - scored["uplift_low"]).to_numpy()
    balance_table = balance.table.reset_index()
    verdict = balance.message or (
        "The contacted and control customers look alike before the campaign (no feature "
        f"differs by more than {campaign.SMD_LIMIT} standardised difference, and a classifier "
        f"tells the arms apart with ROC-AUC {balance.auc:.2f}), so the difference in churn can "
        "be read as the effect of the contact."
    )
    results: dict[str, Any] = {
        "roles": {
            "target": roles.target,
            "positive_label": check.report["positive_label"],
            "treatment": roles.treatment,
            "treated_label": treated_label,
            "id_column": roles.id_column,
        },
        "source": source,
        "rows": len(frame),
        "fit_rows": int(dev.size),
        "holdout_rows": int(hold.size),
        "features": {c: model.spec_.kinds[c] for c in model.spec_.columns},
        "left_out": {c: why for c, why in check.report["left_out"].items() if c != roles.treatment},
        "arms": {
            arm: {
                "customers": int(row["customers"]),
                "churners": int(row["churners"]),
                "churn_rate": float(row["churn_rate"]),
                "rate_low": float(row["rate_low"]),
                "rate_high": float(row["rate_high"]),
            }
            for arm, row in arms.iterrows()
        },
        "ate": _interval(effect.ate, effect.ate_low, effect.ate_high),
        "success_rate": {
            **_interval(effect.success_rate, effect.success_low, effect.success_high),
            "unclipped": effect.success_unclipped,
        },
        "verdict": effect_sentence(
            _interval(effect.ate, effect.ate_low, effect.ate_high),
            _interval(effect.success_rate, effect.success_low, effect.success_high),
        ),
        "balance": {
            "features": _records(balance_table),
            "auc": balance.auc,
            "auc_low": balance.auc_low,
            "auc_high": balance.auc_high,
            "looks_random": balance.looks_random,
            "verdict": verdict,
        },
        "holdout": {
            "customers": int(hold.size),
            "risk_score": RISK_SOURCE,
            "budgets": list(BUDGETS),
            "kept_per_1000_contacts": _records(kept),
            "qini": qini,
            "uplift_by_decile": _records(deciles),
        },
        "backfire": _records(backfire),
        "interval": {
            "confidence": model.confidence,
            "mean_width": float(width.mean()),
            "median_width": float(np.median(width)),
        },
        "model": {"params": model.get_params(), "rounds": model.rounds_},
        "warnings": [balance.message] if balance.message else [],
    }
    scores_out = full.copy()
    scores_out.insert(0, "in_bag", in_bag_full)
    scores_out.insert(0, "churned", y)
    scores_out.insert(0, "contacted", t.astype(int))
    if roles.id_column is not None:
        scores_out.insert(0, roles.id_column, check.frame[roles.id_column].to_numpy())
    del model.oob_frame_  # kept once, in the campaign's order
    result = CampaignModel(
        uplift=model,
        results=json_ready(results),
        holdout=holdout,
        holdout_data=check.frame.iloc[hold].reset_index(drop=True),
        extra_files={
            "data_check.json": json.dumps(check.report, indent=1),
            "preparation.json": json.dumps(check.preparation.to_dict(), indent=1),
        },
        scores=scores_out,
        run={
            "trained_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
            "training_seconds": round(time.perf_counter() - started, 2),
        },
    )
    result.fingerprint = fingerprint_of({n: _sha(text) for n, text in result.files().items()})
    return result


def save_campaign(model: CampaignModel, directory: str | Path) -> str:
    """Write the campaign model directory atomically; returns its fingerprint."""
    fingerprint = write_model_directory(model.files(), directory, model.run)
    model.fingerprint = fingerprint
    return fingerprint


def is_campaign_directory(directory: str | Path) -> bool:
    """Whether ``directory`` holds a campaign model (a ``campaign.json`` beside the manifest)."""
    directory = Path(directory)
    return (directory / CAMPAIGN_FILE).is_file() and (directory / "manifest.json").is_file()


def _read_csv(text: str) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(text), low_memory=False, keep_default_na=False, na_values=[""])


def load_campaign(directory: str | Path) -> CampaignModel:
    """Load a campaign model directory, every file checked against the manifest.

    Raises
    ------
    ChurnInputError
        Not a model directory, not a campaign model, a newer version, a file missing,
        changed after training, or damaged (named in the sentence).
    """
    directory = Path(directory)
    manifest, read = read_model_directory(directory)
    if CAMPAIGN_FILE not in manifest["files"]:
        raise ChurnInputError(
            f"{directory} holds a churn model, not a campaign model; train one with "
            "'python -m churn campaign'."
        )
    with damaged_file(CAMPAIGN_FILE, directory):
        results = json.loads(read(CAMPAIGN_FILE))
        if not isinstance(results, dict) or results.get("kind") != "campaign":
            raise ValueError("not a campaign file")
        version = results.pop("campaign_version")
        results.pop("kind")
        if isinstance(version, bool) or not isinstance(version, int):
            raise ValueError("no version")
        for key in ("roles", "ate", "success_rate", "arms", "balance", "holdout"):
            if not isinstance(results[key], dict):
                raise ValueError(f"no {key}")
    if version > CAMPAIGN_VERSION:
        raise ChurnInputError(
            f"The campaign model in {directory} was written by a newer version of this tool "
            f"(campaign version {version}); upgrade the tool or train it again with this one."
        )
    uplift = uplift_from_files(read, directory)
    known = {CAMPAIGN_FILE, "uplift.json", "holdout.csv", "holdout_data.csv"}
    known |= {n for n in manifest["files"] if n.startswith(("control_", "contacted_"))}
    extra = {n: read(n) for n in manifest["files"] if n not in known | {"campaign_scores.csv"}}
    with damaged_file("holdout.csv", directory):
        holdout = pd.read_csv(io.StringIO(read("holdout.csv")))
        values = holdout[["row", "outcome", "contacted", *UPLIFT_COLUMNS]].to_numpy(dtype=float)
        if not len(holdout) or not np.isfinite(values).all():
            raise ValueError("holdout scores that are not numbers")
    with damaged_file("holdout_data.csv", directory):
        holdout_data = _read_csv(read("holdout_data.csv"))
        if len(holdout_data) != len(holdout):
            raise ValueError("the holdout rows and their scores differ in number")
    scores = None
    if "campaign_scores.csv" in manifest["files"]:
        with damaged_file("campaign_scores.csv", directory):
            scores = _read_csv(read("campaign_scores.csv"))
    model = CampaignModel(
        uplift=uplift,
        results=results,
        holdout=holdout,
        holdout_data=holdout_data,
        extra_files=extra,
        scores=scores,
        fingerprint=manifest["fingerprint"],
        run={k: manifest[k] for k in RUN_KEYS if k in manifest},
    )
    with damaged_file("preparation.json", directory):
        model.preparation  # noqa: B018 (read now: refused here, not when scoring)
        if set(model.preparation.features) != set(uplift.spec_.columns):
            raise ValueError("the preparation does not match the model")
    return model


def score_campaign_frame(model: CampaignModel, frame: pd.DataFrame) -> pd.DataFrame:
    """One row per input row, in input order: the id (if the model has one), the
    :data:`churn.uplift.UPLIFT_COLUMNS` and ``score_note``.

    A pure frame -> frame function (a chunk of a larger table scores the same as within
    it). The data is prepared as in training; extra columns are ignored; missing values
    and unseen categories are scored. A row with no value in any of the model's columns
    is left empty, and ``score_note`` says why; unreadable cells are scored as missing and
    counted in the note.
    """
    return score_rows(
        frame,
        model.id_column,
        model.uplift.spec_,
        model.preparation,
        model.uplift.predict_frame,
        UPLIFT_COLUMNS,
    )
