"""The model artifact: a directory of text files that loads without unpickling anything.

Layout::

    DIR/
      manifest.json      fingerprint, sha256 of every other file, when it was trained
      info.json          artifact version, target, positive label, id column, data summary
                         (:class:`ArtifactInfo`)
      model.json         feature spec, calibration, member list, parameters
      member_00.txt ...  LightGBM text models (the bagged members)
      baselines.json     logistic coefficients and the readable rule
      metrics.json       holdout metrics with bootstrap intervals (model, logistic, rule)
      holdout.csv        holdout scores: row, outcome, model / logistic / rule probabilities
      holdout_data.csv   the holdout customers' original columns (never used to fit)
      data_check.json    the data-check report made before training (churn.checks)
      preparation.json   how raw columns become model inputs (text numbers, dates)
      reference.json     the training reference monitoring compares batches with (churn.drift)

The fingerprint is the sha256 of the sorted ``name  sha256`` lines of every
file but the manifest, so it changes when any file changes. When and how
fast the model was trained is recorded in the manifest, outside the
fingerprint: the same data, settings and seed give the same fingerprint. Loading reads the
artifact version first (a directory written by a newer version, or by one older than
``MIN_ARTIFACT_VERSION``, is refused with a sentence), then checks every file against the
manifest, and what each file holds: a file that is damaged or not what its name says (its
hash re-entered in the manifest) is refused with a sentence naming it, and LightGBM reads
only member trees :func:`churn.model.check_booster_text` checked. Writing goes to a
temporary sibling directory that is renamed into place, so a reader never sees half an
artifact.
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass, field, fields
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from churn.baselines import LogisticBaseline, RuleBaseline
from churn.checks import Preparation
from churn.decisions import SortedGroups, presorted, sorted_groups
from churn.drift import REFERENCE_FILE, check_reference
from churn.errors import ChurnInputError, damaged_file
from churn.features import FeatureSpec

if TYPE_CHECKING:
    from churn.model import ChurnModel

__all__ = [
    "ARTIFACT_VERSION",
    "Artifact",
    "ArtifactInfo",
    "check_destination",
    "check_version",
    "compute_fingerprint",
    "fingerprint_of",
    "load_artifact",
    "read_model_directory",
    "save_artifact",
    "write_model_directory",
]

#: The layout this code writes. Bump it when a file's meaning changes; loading refuses
#: directories written by a newer version and reads those back to ``MIN_ARTIFACT_VERSION``.
ARTIFACT_VERSION = 1
MIN_ARTIFACT_VERSION = 1
#: Facts about the training run, not the model: kept in the manifest, outside the
#: fingerprint, so that training the same data with the same seed gives the same
#: fingerprint (and a policy exported from the app fits a model engineering retrains).
RUN_KEYS = ("trained_at", "training_seconds")
#: Keys ``info.json`` leaves out when they are ``None``, so that models trained without them
#: keep the fingerprints they had before the keys existed.
OPTIONAL_KEYS = ("table_rows",)


@dataclass
class ArtifactInfo:
    """What a model was trained on and how (``info.json``, plus the run facts of the manifest).

    ``features`` maps each model input to its kind (numeric, boolean, category);
    ``segments`` are the attributes for fairness checks; ``left_out`` maps each column the
    checks (or the user) left out of the features to the reason; shares are in [0, 1].
    ``trained_at`` (ISO date-time, UTC) and ``training_seconds`` describe the run and are
    kept outside the fingerprint (:data:`RUN_KEYS`).
    """

    target: str
    positive_label: str
    id_column: str | None = None
    trained_at: str = ""
    source: str = ""
    rows: int = 0
    #: Customers of the table when :func:`churn.training.train` took a stratified sample of
    #: ``rows`` of them (``None``: it trained on the whole table).
    table_rows: int | None = None
    fit_rows: int = 0
    holdout_rows: int = 0
    churn_rate: float = 0.0
    features: dict[str, str] = field(default_factory=dict)
    rule_text: str = ""
    value_column: str | None = None
    segments: list[str] = field(default_factory=list)
    left_out: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    training_seconds: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """Every field, in the order of ``info.json``."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ArtifactInfo:
        """From ``info.json`` (the version key is ignored; unknown keys are dropped).

        ``segments`` written as one column name or as a mapping ``{role: column}`` by
        earlier versions become a list of column names.
        """
        if not isinstance(data, dict) or not isinstance(data.get("target"), str):
            raise ChurnInputError("The model's info.json is damaged (no target); train again.")
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        segments = values.get("segments") or []
        if isinstance(segments, dict):
            segments = list(segments.values())
        elif isinstance(segments, str):
            segments = [segments]
        values["segments"] = [c for c in segments if isinstance(c, str)]
        values["positive_label"] = str(values.get("positive_label", "1"))
        return cls(**values)


class ModelFiles:
    """A model's files, read and checked against the manifest, not yet built.

    Building a :class:`churn.model.ChurnModel` imports LightGBM and scikit-learn (about
    1 s on a cold start); the holdout figures, the data checks and monitoring against
    scores already made need only the feature spec (:attr:`spec`). ``load_artifact(...,
    build_model=False)`` keeps the files in :attr:`Artifact.model` and builds the model
    the first time it is used (once, whichever thread asks first).
    """

    def __init__(self, texts: dict[str, str], where: str | Path) -> None:
        self.texts, self.where = texts, str(where)
        with damaged_file("model.json", where):
            meta = json.loads(texts["model.json"])
            self.spec = FeatureSpec.from_dict(meta["spec"])
            params = meta["params"]
        #: :attr:`Artifact.model_facts` as the files say them (``None``: build to know)
        self.facts = None
        shape = ("num_leaves", "min_child_samples", "n_estimators", "learning_rate")
        needed = {"confidence", "n_members", "random_state", *shape}
        if isinstance(params, dict) and needed <= set(params):
            self.facts = {
                **{k: params[k] for k in ("confidence", "n_members", "random_state")},
                # as churn.model.model_from_files sets ``config_`` for a model saved before
                # the settings were chosen by CV
                "config": meta.get("config") or {k: params[k] for k in shape},
            }

    def build(self) -> ChurnModel:
        from churn.model import model_from_files

        return model_from_files(self.texts.__getitem__, self.where)


_BUILD_LOCK = threading.Lock()


class _BuiltOnFirstUse:
    """The descriptor behind :attr:`Artifact.model`: holds a model, or the
    :class:`ModelFiles` it is built from when first read."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.slot = f"_{name}"

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:  # no class-level default: the dataclass field stays required
            raise AttributeError(self.slot[1:])
        value = obj.__dict__[self.slot]
        if isinstance(value, ModelFiles):
            with _BUILD_LOCK:
                value = obj.__dict__[self.slot]
                if isinstance(value, ModelFiles):
                    value = obj.__dict__[self.slot] = value.build()
        return value

    def __set__(self, obj: Any, value: Any) -> None:
        obj.__dict__[self.slot] = value


@dataclass
class Artifact:
    """Everything a trained model needs to score, explain and be evaluated.

    ``model`` may be given as the :class:`ModelFiles` it is built from on first use
    (:func:`load_artifact` with ``build_model=False``); :attr:`spec` and
    :attr:`model_facts` never build it, while ``repr``, ``==`` and ``dataclasses.replace``
    read ``model`` and so do.
    """

    model: ChurnModel = _BuiltOnFirstUse()  # type: ignore[assignment]
    logistic: LogisticBaseline
    rule: RuleBaseline
    info: ArtifactInfo
    metrics: dict[str, Any]
    holdout: pd.DataFrame
    holdout_data: pd.DataFrame
    fingerprint: str = ""
    extra_files: dict[str, str] = field(default_factory=dict)
    #: ``info.json`` as read from a model directory, with a copy of the info read from it:
    #: written back as it was while ``info`` is unchanged, so a model written by an earlier
    #: version (other keys) zips and saves with the fingerprint it has on disk.
    loaded_info: tuple[ArtifactInfo, str] | None = field(default=None, repr=False, compare=False)
    #: Right after training (never saved): every training row's scores from models that did
    #: not fit it, in the training table's order (:attr:`ChurnModel.oob_frame_` for the rows
    #: the model was fitted on, the holdout scores for the holdout), with ``in_bag`` (no
    #: out-of-bag member: an in-sample score) and ``churned`` (the row's outcome).
    training_scores: pd.DataFrame | None = field(default=None, repr=False, compare=False)
    #: Right after training on a stratified sample (never saved): the positions in the
    #: training table of the sampled rows, which :attr:`training_scores` are in the order
    #: of (``None``: the whole table).
    training_rows: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def spec(self) -> FeatureSpec:
        """The model's feature spec (its columns and their kinds), without building it."""
        value = self.__dict__["_model"]
        return value.spec if isinstance(value, ModelFiles) else value.spec_

    @property
    def model_facts(self) -> dict[str, Any]:
        """What the model card says of the model, without building it: ``confidence`` (the
        per-customer interval's level), ``n_members``, ``random_state`` and ``config`` (the
        tree shapes chosen; ``None`` for a model saved before they were chosen by CV)."""
        value = self.__dict__["_model"]
        if isinstance(value, ModelFiles) and value.facts is not None:
            return value.facts
        model = self.model
        return {
            "confidence": model.confidence,
            "n_members": model.n_members,
            "random_state": model.random_state,
            "config": getattr(model, "config_", None),
        }

    @cached_property
    def holdout_sorted(self) -> tuple[pd.DataFrame, pd.DataFrame, SortedGroups]:
        """The holdout (scores, rows) sorted once by descending churn probability.

        Returns the two frames in that order and their groups of tied scores
        (already in order, so decisions gather nothing): every decision on the
        holdout reuses them.
        """
        groups = sorted_groups(self.holdout["churn_probability"].to_numpy())
        scores = self.holdout.iloc[groups.order].reset_index(drop=True)
        rows = self.holdout_data.iloc[groups.order].reset_index(drop=True)
        return scores, rows, presorted(groups)

    @cached_property
    def preparation(self) -> Preparation:
        """How raw columns become model inputs (``preparation.json``).

        Models from before the checks have none, and models from before ``numbers`` was
        recorded do not list the columns that were plain numbers: both are read from the
        model's feature kinds (and the value column), so a later table that writes such a
        column as text is still read as numbers.
        """
        text = self.extra_files.get("preparation.json")
        data = {} if text is None else json.loads(text)
        preparation = Preparation.from_dict({"features": list(self.spec.columns), **data})
        if "numbers" not in data:
            spec, converted = self.spec, {*preparation.numeric_text, *preparation.dates}
            value = self.info.value_column
            preparation.numbers = [
                c
                for c in [*spec.columns, *([value] if value not in spec.kinds else [])]
                if c is not None
                and c not in converted
                and spec.kinds.get(c, "numeric") == "numeric"
            ]
        return preparation

    @property
    def data_check(self) -> dict[str, Any] | None:
        """The data-check report made before training (``data_check.json``), if stored."""
        text = self.extra_files.get("data_check.json")
        return None if text is None else json.loads(text)

    @property
    def target(self) -> str:
        return self.info.target

    @property
    def id_column(self) -> str | None:
        return self.info.id_column

    def files(self) -> dict[str, str]:
        """All files except the manifest, as ``{name: text}``."""
        from churn.model import model_to_files

        files = model_to_files(self.model)
        files["baselines.json"] = json.dumps(
            {"logistic": self.logistic.to_dict(), "rule": self.rule.to_dict()}, indent=1
        )
        content = _content(self.info)
        if self.loaded_info is not None and _content(self.loaded_info[0]) == content:
            files["info.json"] = self.loaded_info[1]  # as read (the run facts are not in it)
        else:
            files["info.json"] = json.dumps(
                {"artifact_version": ARTIFACT_VERSION, **content}, indent=1
            )
        files["metrics.json"] = json.dumps(self.metrics, indent=1)
        files["holdout.csv"] = _csv_text(self.holdout)
        files["holdout_data.csv"] = _csv_text(self.holdout_data)
        files.update(self.extra_files)
        return files


def _content(info: ArtifactInfo) -> dict[str, Any]:
    """What ``info.json`` holds of ``info``: everything but the run facts."""
    return {
        k: v
        for k, v in info.to_dict().items()
        if k not in RUN_KEYS and not (k in OPTIONAL_KEYS and v is None)
    }


def _csv_text(frame: pd.DataFrame) -> str:
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, lineterminator="\n")
    return buffer.getvalue()


def _sha(text: str | bytes) -> str:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return hashlib.sha256(data).hexdigest()


def fingerprint_of(hashes: dict[str, str]) -> str:
    """sha256 over the sorted ``name  sha256`` lines of the artifact's files."""
    lines = "".join(f"{name}  {digest}\n" for name, digest in sorted(hashes.items()))
    return _sha(lines)


def compute_fingerprint(artifact: Artifact) -> str:
    """The fingerprint the artifact will have on disk (same as :func:`save_artifact` returns)."""
    return fingerprint_of({name: _sha(text) for name, text in artifact.files().items()})


def check_destination(directory: str | Path) -> None:
    """Refuse, before any work, a destination :func:`save_artifact` would not replace: it
    replaces only a model directory or an empty folder, never other data."""
    directory = Path(directory)
    if directory.exists() and not (
        directory.is_dir()
        and ((directory / "manifest.json").exists() or not any(directory.iterdir()))
    ):
        raise ChurnInputError(
            f"{directory} already exists and is not a model directory; choose a new folder "
            "for the model."
        )


def save_artifact(artifact: Artifact, directory: str | Path) -> str:
    """Write the artifact atomically to ``directory``; returns its fingerprint."""
    run = {
        k: getattr(artifact.info, k)
        for k in RUN_KEYS
        if getattr(artifact.info, k) not in (None, "")
    }
    fingerprint = write_model_directory(artifact.files(), directory, run)
    artifact.fingerprint = fingerprint
    return fingerprint


def write_model_directory(
    files: dict[str, str], directory: str | Path, run: dict[str, Any] | None = None
) -> str:
    """Write ``files`` (``{name: text}``) and their ``manifest.json`` (sha256 of each file,
    the fingerprint over them, and the run facts ``run`` outside it) atomically to
    ``directory``, replacing only a model directory or an empty folder; returns the
    fingerprint. Every kind of model directory (churn model, campaign model) is written here.
    """
    directory = Path(directory)
    check_destination(directory)
    parent = directory.parent if str(directory.parent) else Path(".")
    parent.mkdir(parents=True, exist_ok=True)
    hashes = {name: _sha(text) for name, text in files.items()}
    fingerprint = fingerprint_of(hashes)
    tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}.tmp-", dir=parent))
    try:
        for name, text in files.items():
            (tmp / name).write_text(text, encoding="utf-8")
        manifest = {"fingerprint": fingerprint, "files": hashes, **(run or {})}
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")
        for path in tmp.iterdir():  # make the files durable before the rename
            with open(path, "rb") as handle:
                os.fsync(handle.fileno())
        old = None
        if directory.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{directory.name}.old-", dir=parent))
            os.rename(directory, old / "previous")
        os.rename(tmp, directory)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return fingerprint


def read_model_directory(directory: str | Path) -> tuple[dict[str, Any], Any]:
    """The manifest of a model directory and a reader ``read(name) -> text`` that refuses,
    with one sentence, a file that is missing, not listed, not text or changed since it
    was written (its sha256 differs from the manifest's). Any kind of model directory.
    """
    directory = Path(directory)
    manifest_path = directory / "manifest.json"
    if not manifest_path.exists():
        raise ChurnInputError(
            f"{directory} is not a model directory (no manifest.json); train one with "
            "'python -m churn train' or 'python -m churn campaign'."
        )
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        if not isinstance(manifest.get("files"), dict) or not isinstance(
            manifest.get("fingerprint"), str
        ):
            raise ValueError("wrong shape")
        if not all(_plain_name(name) for name in manifest["files"]):
            raise ValueError("a file outside the directory")
    except (ValueError, UnicodeDecodeError, AttributeError):
        raise ChurnInputError(f"{manifest_path} is damaged; train the model again.") from None
    if fingerprint_of(manifest["files"]) != manifest["fingerprint"]:
        raise ChurnInputError(f"The manifest of {directory} is inconsistent; train again.")
    cache: dict[str, str] = {}

    def read(name: str) -> str:
        if name not in cache:
            path = directory / name
            if name not in manifest["files"] or not path.exists():
                raise ChurnInputError(f"The model in {directory} is missing {name}; train again.")
            with damaged_file(name, directory):  # not text: not a file this tool wrote
                try:
                    text = path.read_text(encoding="utf-8")
                except OSError as exc:
                    raise ChurnInputError(
                        f"Cannot read {name} in {directory} ({exc.strerror or exc})."
                    ) from None
            if _sha(text) != manifest["files"][name]:
                raise ChurnInputError(
                    f"{name} in {directory} was changed after training; train the model again."
                )
            cache[name] = text
        return cache[name]

    return manifest, read


def check_version(version: Any, directory: str | Path) -> None:
    """Refuse, with one sentence, a model directory this code cannot read."""
    if isinstance(version, bool) or not isinstance(version, int):
        raise ChurnInputError(
            f"The model in {directory} does not say which version wrote it; train it again."
        )
    if version > ARTIFACT_VERSION:
        raise ChurnInputError(
            f"The model in {directory} was written by a newer version of this tool (artifact "
            f"version {version}; this one reads up to {ARTIFACT_VERSION}); upgrade the tool or "
            "train the model again with this one."
        )
    if version < MIN_ARTIFACT_VERSION:
        raise ChurnInputError(
            f"The model in {directory} was written by an older version of this tool (artifact "
            f"version {version}) that this one no longer reads; train the model again."
        )


def load_artifact(directory: str | Path, *, build_model: bool = True) -> Artifact:
    """Load an artifact, checking every file against the manifest and what it holds.

    With ``build_model=False`` the model's files are read and checked against the
    manifest, and the model (LightGBM) is built when :attr:`Artifact.model` is first read
    (:class:`ModelFiles`): what a damaged member file would raise is then raised there.

    Raises
    ------
    ChurnInputError
        Not a model directory, a version this code does not read, a file missing,
        changed after training, or damaged or not a model file (named in the sentence).
    """
    directory = Path(directory)
    manifest, read = read_model_directory(directory)

    def read_json(name: str) -> dict[str, Any]:
        with damaged_file(name, directory):
            data = json.loads(read(name))
            if not isinstance(data, dict):
                raise ValueError(f"{name} is not a JSON object")
            return data

    if "campaign.json" in manifest["files"] and "info.json" not in manifest["files"]:
        raise ChurnInputError(
            f"{directory} holds a campaign model (uplift), not a churn model; use it with "
            "'score' or 'policy', or give a model directory from 'train'."
        )
    info = read_json("info.json")
    version = info.get("artifact_version")
    check_version(version, directory)
    info.update({k: manifest[k] for k in RUN_KEYS if k in manifest})
    with damaged_file("info.json", directory):
        info = ArtifactInfo.from_dict(info)
    if build_model:
        from churn.model import model_from_files

        model = model_from_files(read, directory)
        spec = model.spec_
    else:
        with damaged_file("model.json", directory):
            members = json.loads(read("model.json"))["members"]
            texts = {name: read(name) for name in ["model.json", *members]}
        model = ModelFiles(texts, directory)
        spec = model.spec
    baselines = read_json("baselines.json")
    with damaged_file("baselines.json", directory):
        logistic = LogisticBaseline.from_dict(spec, baselines["logistic"])
        rule = RuleBaseline.from_dict(spec, baselines["rule"])
    known = {"model.json", *json.loads(read("model.json"))["members"]} | {
        "baselines.json",
        "info.json",
        "metrics.json",
        "holdout.csv",
        "holdout_data.csv",
    }
    extra = {name: read(name) for name in manifest["files"] if name not in known}
    for name in extra:
        if name.endswith(".json"):
            read_json(name)
    metrics = read_json("metrics.json")
    with damaged_file("holdout.csv", directory):
        holdout = _read_holdout(read("holdout.csv"))
    with damaged_file("holdout_data.csv", directory):
        # only an empty cell is missing (as written): "NA" or "None" in a text column stays text
        holdout_data = pd.read_csv(
            io.StringIO(read("holdout_data.csv")),
            low_memory=False,
            keep_default_na=False,
            na_values=[""],
        )
        if len(holdout_data) != len(holdout):
            raise ValueError("the holdout rows and their scores differ in number")
    artifact = Artifact(
        model=model,
        logistic=logistic,
        rule=rule,
        info=info,
        metrics=metrics,
        holdout=holdout,
        holdout_data=holdout_data,
        fingerprint=manifest["fingerprint"],
        extra_files=extra,
        # written back as read only when this version wrote it; an older one is rewritten
        loaded_info=(
            (copy.deepcopy(info), read("info.json")) if version == ARTIFACT_VERSION else None
        ),
    )
    if "preparation.json" in extra:
        with damaged_file("preparation.json", directory):
            artifact.preparation  # noqa: B018 (read now: refused here, not when scoring)
    if REFERENCE_FILE in extra:
        with damaged_file(REFERENCE_FILE, directory):
            check_reference(json.loads(extra[REFERENCE_FILE]), spec)
    return artifact


#: The columns of ``holdout.csv`` that decisions and reports read.
HOLDOUT_COLUMNS = (
    "row",
    "outcome",
    "churn_probability",
    "probability_low",
    "probability_high",
    "logistic_probability",
    "rule_probability",
)


def _read_holdout(text: str) -> pd.DataFrame:
    """``holdout.csv``: its scores, all numbers (``ValueError`` when a column is missing or
    not numbers)."""
    holdout = pd.read_csv(io.StringIO(text))
    values = holdout[list(HOLDOUT_COLUMNS)].to_numpy(dtype=float)
    if not len(holdout) or not np.isfinite(values).all():
        raise ValueError("holdout scores that are not numbers")
    return holdout


def _plain_name(name: object) -> bool:
    """A file name in the model directory itself (no folder, no way out of it)."""
    return isinstance(name, str) and bool(name) and Path(name).name == name and name != ".."
