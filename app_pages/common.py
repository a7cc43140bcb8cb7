"""What every page shares: the cached model, the session's scenario, and error display.

This module is UI glue only; every number comes from ``churn``. Pages import
from here and never compute figures themselves.
"""

from __future__ import annotations

import functools
import gc
import hashlib
import inspect
import json
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

import pandas as pd
import streamlit as st

from churn.artifact import Artifact, load_artifact
from churn.data import encode_target, read_table
from churn.errors import ChurnInputError
from churn.formatting import percent
from churn.ingest import read_bytes
from churn.monitor import MonitorReport, banner_messages, monitor
from churn.policy import Decision, baseline_profits, decide_on_holdout
from churn.sample import CAMPAIGN_PATH, MODEL_DIR, latest_snapshot
from churn.scenario import Scenario, default_scenario
from churn.scored_base import ScoredBase, read_scored_base
from churn.training import customers_to_act_on
from app_pages.chart_data import ALTAIR_LOCK  # noqa: F401  (Streamlit's lock on every spec)

# SHAP and the campaign's uplift model (scikit-learn, LightGBM) are imported where they are
# used: the landing page needs neither, and importing them takes a second of a cold start.
if TYPE_CHECKING:
    from churn.campaign import AverageEffect, Balance
    from churn.campaign_model import CampaignModel
    from churn.explain import Explanation
    from churn.uplift_decisions import UpliftDecision


def _freeze_imported_modules() -> None:
    """Leave the imported libraries out of the garbage collector's full passes.

    Streamlit runs ``gc.collect()`` after every script run (``runner.postScriptGC``).
    With pandas, scikit-learn, LightGBM and Altair imported, that pass walks over 200,000
    objects (functions, classes, schema objects): about 0.2 s per run on a 2-core machine,
    holding the GIL while the run's last messages wait to be sent. Those objects live as
    long as the process, so once, when this module is first imported (before any page has
    run and before any visitor's data exists), they are moved to the permanent generation
    (``gc.freeze()``). Everything created later, every session's data included, is
    collected as usual. Altair is imported here for the pages' charts so it is frozen too.
    LightGBM and scikit-learn come later (the first page needs neither): :func:`warm_up`
    freezes them once imported.
    """
    import churn.charts  # noqa: F401  (Altair, imported by the pages anyway)

    gc.collect()
    gc.freeze()


_freeze_imported_modules()


def model_cache(
    show_spinner: bool | str = False, max_entries: int = 16, resource: bool = False
) -> Callable:
    """Cache ``f(_artifact, fingerprint, *args)`` per model, keeping uploads private.

    For the bundled sample model it is ``st.cache_data`` (shared by every visitor; with
    ``resource=True`` ``st.cache_resource``: one shared, read-only object, not a copy).
    For a model trained on an uploaded table, or a call with an uploaded file (an
    ``upload`` argument that is not ``None``), results live in the session's own
    state: another session never sees them, and they go when the session ends.
    Parameters whose names start with ``_`` are not part of the key (as in Streamlit).
    """

    def wrap(function: Callable) -> Callable:
        cache = st.cache_resource if resource else st.cache_data
        shared = cache(show_spinner=show_spinner, max_entries=max_entries)(function)
        signature = inspect.signature(function)

        @functools.wraps(function)
        def cached(*args: Any, **kwargs: Any) -> Any:
            bound = signature.bind(*args, **kwargs)
            artifact = bound.arguments.get("_artifact")
            # private: a model trained on an upload, or an uploaded file among the arguments
            if not _is_uploaded(artifact) and bound.arguments.get("upload") is None:
                return shared(*args, **kwargs)
            memo = st.session_state.setdefault("_upload_cache", {})
            key = (
                function.__qualname__,
                *((n, _key_part(v)) for n, v in bound.arguments.items() if not n.startswith("_")),
            )
            if key in memo:  # least recently used goes first: keep this one at the end
                memo[key] = memo.pop(key)
            else:
                if len(memo) >= 64:  # bounded, least recently used first
                    memo.pop(next(iter(memo)))
                if isinstance(show_spinner, str):
                    with st.spinner(show_spinner):
                        memo[key] = function(*args, **kwargs)
                else:
                    memo[key] = function(*args, **kwargs)
            return memo[key]

        return cached

    return wrap


def _key_part(value: Any) -> Any:
    """A file's bytes are keyed by their sha256, so the memo keeps no copy of them."""
    if isinstance(value, bytes):
        return hashlib.sha256(value).hexdigest()
    if isinstance(value, tuple):
        return tuple(_key_part(v) for v in value)
    return value


def _is_uploaded(artifact: Artifact | None) -> bool:
    return artifact is not None and artifact is st.session_state.get("user_artifact")


@st.cache_resource(show_spinner="Loading the sample model...")
def sample_artifact() -> Artifact:
    """The model trained on the bundled sample; one shared, read-only object per server.

    It is loaded from ``data/sample_model/`` (checked against its manifest), which is what
    ``python -m churn train`` makes from ``data/sample_customers.csv``: a test retrains it
    and compares the fingerprints, and ``python -m churn.sample`` rewrites it. Loading
    instead of training keeps training out of a cold start. Its out-of-fold training scores
    (:attr:`Artifact.training_scores`) are not saved and not needed: the pages act on the
    sample's latest snapshot, not on its training table. Every file is checked against the
    manifest here; the LightGBM model is built when a page first needs it (or by
    :func:`warm_up`), so a member file LightGBM cannot read is reported by that page.
    """
    return load_artifact(MODEL_DIR, build_model=False)  # LightGBM: when first used


_WARM_UP: list[threading.Timer] = []
_WARM_UP_LOCK = threading.Lock()
#: Seconds between the first page's run and the warm-up: the browser draws the page
#: meanwhile, and the server sends it, without a thread importing beside them.
WARM_UP_AFTER_S = 3.0


def warm_up(after_s: float = WARM_UP_AFTER_S) -> threading.Timer:
    """Once per server, shortly after the first page has run: build the shared sample model
    and import what the other pages use (LightGBM, scikit-learn, SHAP's tree algorithm) in
    a background thread, so that the visitor's next page does not wait for them.

    The landing page needs none of it (``tests/test_first_page.py``), so a cold start shows
    it without them; a page that needs them first imports them itself. The imported modules
    (65,000 objects: 30 ms of every later run's ``gc.collect()``) are then left out of the
    garbage collector's full passes, as those imported before the first page were
    (:func:`_freeze_imported_modules`). That freeze also takes in what the sessions open at
    that moment hold, once per server, seconds after its first page: their objects are
    still freed when nothing refers to them, but not if they end up in a reference cycle.
    Whatever those sessions create afterwards, and every later session, is collected as
    usual (``tests/test_app.py``). A damaged model is not reported here: the page that
    needs the model says so. Returns the timer (a thread).
    """
    with _WARM_UP_LOCK:
        if not _WARM_UP:
            timer = threading.Timer(after_s, _build_and_import, args=(sample_artifact(),))
            timer.name, timer.daemon = "warm up", True
            timer.start()
            _WARM_UP.append(timer)
        return _WARM_UP[0]


def _build_and_import(artifact: Artifact) -> None:
    import importlib

    try:
        artifact.model  # noqa: B018 (built once; a page asking meanwhile waits for it)
    except ChurnInputError:  # a damaged model: the page that needs it says so
        return
    for module in (
        "churn.training",
        "churn.explain",
        "churn.fairness",
        "churn.campaign_model",
        "churn.campaign_report",
        "churn.uplift_decisions",
    ):
        importlib.import_module(module)
    gc.collect()
    gc.freeze()


def current_artifact() -> Artifact:
    """The model the session works with: the one trained on the session's upload, if any,
    else the shared sample model."""
    return st.session_state.get("user_artifact") or sample_artifact()


def using_upload() -> bool:
    """Whether the session works on its own uploaded table."""
    return st.session_state.get("user_artifact") is not None


@model_cache(show_spinner="Scoring the customer base...", max_entries=4)
def _scored_base(
    _artifact: Artifact, fingerprint: str, upload: tuple[str, bytes] | None = None
) -> tuple[pd.DataFrame, dict]:
    if upload is not None:  # a fresh snapshot to act on
        return customers_to_act_on(_artifact, _read_upload(_artifact, upload))
    if _is_uploaded(_artifact):
        return customers_to_act_on(_artifact, st.session_state["user_table"], training_table=True)
    base = latest_snapshot(_artifact)  # scored by ``score`` already, for the sample model
    return base, {"rows": len(base), "churned": 0, "unscored": 0, "in_bag": 0}


def _read_upload(artifact: Artifact, upload: tuple[str, bytes]) -> pd.DataFrame:
    id_columns = (artifact.id_column,) if artifact.id_column else ()
    return read_bytes(upload[1], upload[0], text_columns=id_columns)


def acting_on_upload() -> tuple[str, bytes] | None:
    """The fresh snapshot the session acts on, as ``(name, bytes)``, if one was uploaded."""
    if not using_upload():
        return None
    return st.session_state.get("act_on_upload")


def act_on_uploader() -> None:
    """On the pages that act on customers: upload a fresh snapshot to act on instead of the
    training table (only after training on an upload). Call it before reading the base, so
    it is there whatever the base does. A file that cannot be scored, or leaves nobody to act
    on, is refused with a sentence and the pages keep their customers."""
    if not using_upload():
        return
    upload = acting_on_upload()
    with st.expander(
        "Customers to act on: " + (upload[0] if upload else "the training table"),
        expanded=upload is None and "act_on_refused" in st.session_state,
    ):
        st.markdown(
            "Upload the customers to act on (a recent snapshot with the same columns, which "
            "the model never trained on). Without one, the pages act on the training table, "
            "each customer scored by models that did not fit them. Customers whose outcome "
            "says they already churned are left out either way."
        )
        file = st.file_uploader(
            "Customers to act on", type=["csv", "parquet", "xlsx"], key="act_on_file"
        )
        if "act_on_refused" in st.session_state:
            st.error(st.session_state["act_on_refused"])
        if file is not None:
            candidate = (file.name, file.getvalue())
            if candidate != upload and candidate[1] != st.session_state.get("act_on_seen"):
                st.session_state["act_on_seen"] = candidate[1]
                _take_snapshot(candidate)
        if upload is not None and st.button("Use the training table"):
            forget_snapshot()
            st.rerun()


def _take_snapshot(candidate: tuple[str, bytes]) -> None:
    """Act on ``candidate`` if it can be scored and leaves somebody to act on."""
    artifact = current_artifact()
    st.session_state.pop("act_on_refused", None)
    try:
        base, facts = _scored_base(artifact, artifact.fingerprint, candidate)
        if base.empty:
            raise ChurnInputError(
                f"{candidate[0]} leaves nobody to act on ({facts['rows']:,} rows: "
                f"{facts['unscored']:,} with no value to score from, {facts['churned']:,} "
                "already churned); upload a snapshot of current customers."
            )
    except ChurnInputError as exc:
        st.session_state["act_on_refused"] = str(exc)
    else:
        st.session_state["act_on_upload"] = candidate
    st.rerun()


def forget_snapshot() -> None:
    """Act on the training table again (also when the model changes)."""
    for key in ("act_on_upload", "act_on_refused", "act_on_seen"):
        st.session_state.pop(key, None)


def acting_on_training_table() -> bool:
    """Whether the pages act on the uploaded training table (scored out-of-fold), whose
    scores a later ``score --policy`` of the same rows would not reproduce."""
    return using_upload() and acting_on_upload() is None


def base_key() -> str:
    """Which customers the pages act on, as a cache key ("" for the default base)."""
    upload = acting_on_upload()
    return "" if upload is None else _key_part(upload[1])


def decision_key() -> str:
    """:func:`base_key`, and the scored base when one is open (a capacity in customers is
    a share of the customers decided on): the key of everything a decision depends on."""
    scored = current_scored_base()
    return base_key() + ("" if scored is None else f"|{st.session_state['scored_base_key']}")


def base_size() -> int:
    """How many customers the pages act on (a capacity in customers is a number of them)."""
    scored = current_scored_base()
    return scored.customers if scored is not None else len(current_base())


# ----------------------------------------------------------------- a scored base (issue 14)
#: Set to 1 where the app runs on the PM's own computer: the pages then also open a scored
#: base by its path, for files larger than an upload may be. Never on a hosted demo: a
#: visitor must not read the server's files.
LOCAL_FILES_ENV = "CHURN_LOCAL_FILES"


def local_files_allowed() -> bool:
    """Whether a scored base can be opened by its path on this computer."""
    return os.environ.get(LOCAL_FILES_ENV, "") == "1"


def current_scored_base() -> ScoredBase | None:
    """The scored base the session opened for the current model, if any (kept in the
    session's own state: sorted once when opened, private to the session)."""
    scored = st.session_state.get("scored_base")
    if scored is None:
        return None
    if st.session_state.get("scored_base_model") != current_artifact().fingerprint:
        close_scored_base()  # opened for another model
        return None
    return scored


def close_scored_base() -> None:
    for key in ("scored_base", "scored_base_model", "scored_base_key"):
        st.session_state.pop(key, None)


def _open_scored_base(source: str | bytes, name: str, key: str) -> None:
    artifact = current_artifact()
    st.session_state.pop("scored_base_refused", None)
    try:
        with st.spinner(f"Opening {name}: reading the scores and sorting them once..."):
            scored = read_scored_base(source, artifact.fingerprint, artifact.id_column, name)
    except ChurnInputError as exc:
        st.session_state["scored_base_refused"] = str(exc)
    else:
        close_scored_base()
        st.session_state["scored_base"] = scored
        st.session_state["scored_base_model"] = artifact.fingerprint
        st.session_state["scored_base_key"] = key
    st.rerun()


def scored_base_opener() -> None:
    """On Decide and Customers: open the scores ``python -m churn score --out FILE.parquet``
    wrote, to decide on the whole scored base (up to 10,000,000 customers), or close it."""
    scored = current_scored_base()
    title = "Scored base: " + (scored.name if scored else "none (open one from the command line)")
    with st.expander(title, expanded="scored_base_refused" in st.session_state):
        st.markdown(
            "Open the scores of your whole customer base, written by "
            "`python -m churn score --model DIR --data customers.parquet --out scores.parquet` "
            "(add `--copy COLUMN` for a value column). The model must be this one. Decide and "
            "Customers then act on every scored customer; the list shows a page at a time."
        )
        file = st.file_uploader("Scores (Parquet)", type=["parquet"], key="scored_base_file")
        if file is not None and file.file_id != st.session_state.get("scored_base_seen"):
            st.session_state["scored_base_seen"] = file.file_id
            _open_scored_base(file.getvalue(), file.name, f"upload:{file.file_id}")
        if local_files_allowed():
            path = st.text_input(
                "Or the path of a scores file on this computer (for files larger than an "
                "upload may be)",
                key="scored_base_path",
            )
            if st.button("Open this file", disabled=not path.strip()):
                path = os.path.expanduser(path.strip())
                _open_scored_base(path, os.path.basename(path), f"path:{path}")
        else:
            st.caption(
                "Files larger than an upload may be open by their path when the app runs on "
                f"your own computer (start it with {LOCAL_FILES_ENV}=1); a hosted app reads "
                "uploads only."
            )
        if "scored_base_refused" in st.session_state:
            st.error(st.session_state["scored_base_refused"])
        if scored is not None:
            left = (
                f"; {scored.unscored:,} rows without a probability are left out"
                if scored.unscored
                else ""
            )
            st.caption(f"{scored.customers:,} scored customers{left}.")
            if st.button("Close the scored base"):
                close_scored_base()
                st.rerun()


def base_description() -> str:
    """What the current base is, in words, for captions."""
    scored = current_scored_base()
    if scored is not None:
        return (
            f"the {scored.customers:,} scored customers of {scored.name}, scored by this model "
            "from the command line"
        )
    artifact = current_artifact()
    upload = acting_on_upload()
    _, facts = _scored_base(artifact, artifact.fingerprint, upload)
    left = []
    if facts["churned"]:
        left.append(f"{facts['churned']:,} customers who already churned: no action can keep them")
    if facts["unscored"]:
        left.append(f"{facts['unscored']:,} rows with no value to score from")
    without = f", without the {' and the '.join(left)}" if left else ""
    if upload is not None:
        return f"the customers of {upload[0]}, a snapshot the model was not trained on{without}"
    if using_upload():
        text = (
            "your training table, each customer scored by models that did not fit them "
            f"(out-of-bag or holdout scores){without}"
        )
        if facts["in_bag"]:
            text += f"; {facts['in_bag']:,} customers every resample drew keep an in-sample score"
        return text + ". Upload a recent snapshot to act on it instead"
    return "the latest snapshot, a later table than the one the model was trained on"


def current_base() -> pd.DataFrame:
    """The customers to act on, with their scores: for the sample, the latest snapshot
    (``data/sample_new_batch.csv``); after an upload, the snapshot uploaded to act on, else
    the training table scored out-of-fold without the customers who already churned
    (:func:`churn.training.customers_to_act_on`). One row per customer, in file order; rows
    with no value to score from are left out (the scoring CLI lists them with the reason)."""
    artifact = current_artifact()
    return _scored_base(artifact, artifact.fingerprint, acting_on_upload())[0]


@model_cache(show_spinner="Explaining the customers' probabilities (SHAP)...", max_entries=4)
def _explanation(_artifact: Artifact, fingerprint: str, base: str) -> Explanation:
    from churn.explain import explain

    return explain(_artifact, current_base())


def current_explanation() -> Explanation:
    """SHAP values of the customer base, computed once per model (Why? and Customers share it)."""
    artifact = current_artifact()
    return _explanation(artifact, artifact.fingerprint, base_key())


def current_scenario() -> Scenario:
    """The session's choice and economics; first read from the URL, if it carries one."""
    if "scenario" not in st.session_state:
        artifact = current_artifact()
        columns = list(artifact.holdout_data.columns)
        scenario = Scenario.from_query(
            st.query_params.to_dict(), columns, artifact.info.value_column
        )
        st.session_state["scenario"] = scenario
        st.session_state["scenario_problems"] = scenario.problems
    return st.session_state["scenario"]


def reset_scenario() -> None:
    """Start the session's scenario afresh for the current model (after a model switch)."""
    artifact = current_artifact()
    st.session_state["scenario"] = default_scenario(
        list(artifact.holdout_data.columns), artifact.info.value_column
    )
    sync_query_params()


def set_scenario(scenario: Scenario) -> None:
    """Make ``scenario`` the session's and put it in the URL."""
    st.session_state["scenario"] = scenario
    sync_query_params()


def sync_query_params() -> None:
    """Mirror the session's scenario in the URL (page switches clear the query string)."""
    wanted = current_scenario().to_query()
    if st.query_params.to_dict() != wanted:
        st.query_params.from_dict(wanted)


def scenario_key(scenario: Scenario) -> str:
    return json.dumps(scenario.to_query(), sort_keys=True)


def economics_key(scenario: Scenario) -> str:
    """The scenario's economics alone (the choice left out), as a cache key."""
    query = scenario.to_query()
    return json.dumps(
        {k: v for k, v in query.items() if k not in ("method", "value")}, sort_keys=True
    )


@model_cache(max_entries=256)
def _decision(_artifact: Artifact, fingerprint: str, key: str, base: str = "") -> Decision:
    scenario = Scenario.from_query(json.loads(key))
    batch = base_size() if scenario.choice.method == "top_n" else None
    return decide_on_holdout(
        _artifact, scenario.economics, scenario.choice, scenario.ranking, batch_size=batch
    )


def current_decision() -> Decision:
    """The session's policy measured on the holdout (cached per model and scenario)."""
    artifact = current_artifact()
    return _decision(
        artifact, artifact.fingerprint, scenario_key(current_scenario()), decision_key()
    )


@model_cache(max_entries=256)
def _baselines(_artifact: Artifact, fingerprint: str, key: str, base: str) -> dict[str, float]:
    scenario = Scenario.from_query(json.loads(key))
    decision = _decision(_artifact, fingerprint, key, decision_key())
    return baseline_profits(_artifact, scenario.economics, decision)


def current_baselines() -> dict[str, float]:
    """Profit per customer of the session's policy and its alternatives (cached)."""
    artifact = current_artifact()
    return _baselines(
        artifact, artifact.fingerprint, scenario_key(current_scenario()), decision_key()
    )


def show_input_error(action: Callable[[], Any]) -> Any:
    """Run ``action``; a :class:`ChurnInputError` becomes a sentence on screen, not a traceback."""
    try:
        return action()
    except ChurnInputError as exc:
        st.error(str(exc))
        st.stop()


@model_cache(show_spinner="Comparing the customers with the training data...", max_entries=64)
def _monitor_report(
    _artifact: Artifact,
    fingerprint: str,
    key: str,
    today: str,
    upload: tuple[str, bytes] | None,
    base: str = "",
) -> MonitorReport:
    scenario = Scenario.from_query(json.loads(key))
    decision = _decision(_artifact, fingerprint, key, decision_key())
    rules = decision.rules
    if upload is None:
        base = _scored_base(_artifact, fingerprint, acting_on_upload())[0]
        p = base["churn_probability"].to_numpy()
    else:
        id_columns = (_artifact.id_column,) if _artifact.id_column else ()
        base, p = read_bytes(upload[1], upload[0], text_columns=id_columns), None
    return monitor(
        _artifact,
        base,
        rules,
        scenario.economics,
        p=p,
        today=date.fromisoformat(today),
        capacity=decision.capacity,
    )


def _today() -> str:
    return datetime.now(UTC).date().isoformat()


def current_monitor_report(upload: tuple[str, bytes] | None = None) -> MonitorReport:
    """The batch compared with the training reference, with the session's policy estimated on
    it: the current base (the latest snapshot) by default, or an uploaded ``(name, bytes)``
    file. Cached per model, scenario, day and file."""
    artifact = current_artifact()
    key = scenario_key(current_scenario())
    return _monitor_report(artifact, artifact.fingerprint, key, _today(), upload, decision_key())


BANNER_WHERE = 'the "Is it still working?" page'


def current_banners() -> list[str]:
    """Warnings for every page: the model is past its review date, or the current base has
    drifted significantly. Cached per model and day (the default policy; drift and age do
    not depend on the policy), so every page but the first pays nothing."""
    if using_upload():  # its own table is not a later snapshot: nothing to warn about yet
        return []
    artifact = current_artifact()
    key = scenario_key(
        default_scenario(list(artifact.holdout_data.columns), artifact.info.value_column)
    )
    try:
        report = _monitor_report(artifact, artifact.fingerprint, key, _today(), None)
    except ChurnInputError:  # e.g. a model without a reference: the Monitor page says so
        return []
    # the sample model and its drifted snapshot, as bundled with the app
    return banner_messages(report, where=BANNER_WHERE, drift_by_design=True, age_by_design=True)


# ------------------------------------------------------------------------ the campaign
@dataclass(frozen=True)
class Campaign:
    """The campaign the session looks at: the sample's, or an upload with its roles.

    ``upload`` is ``(name, bytes)`` of an uploaded file (``None`` for the sample);
    ``treated`` is the value of ``treatment`` that means contacted when the column has
    more than two values (``None`` otherwise).
    """

    name: str
    target: str
    positive: str | None
    treatment: str
    treated: str | None
    id_column: str | None
    upload: tuple[str, bytes] | None = None

    @property
    def key(self) -> str:
        """The campaign's file and roles, as a key (an upload by its sha256)."""
        return self.roles + ("" if self.upload is None else _key_part(self.upload[1]))

    @property
    def roles(self) -> str:
        """The column roles, as a cache key."""
        return json.dumps(
            [self.target, self.positive, self.treatment, self.treated, self.id_column]
        )


SAMPLE_CAMPAIGN = Campaign(
    name=CAMPAIGN_PATH.name,
    target="churned",
    positive="1",
    treatment="contacted",
    treated=None,
    id_column="customer_id",
)


def current_campaign() -> Campaign:
    """The session's campaign: the one it uploaded on "Did it work?", else the sample's."""
    return st.session_state.get("campaign") or SAMPLE_CAMPAIGN


def set_campaign(campaign: Campaign | None) -> None:
    """Look at ``campaign`` from now on (``None``: the sample's again)."""
    if campaign is None or campaign == SAMPLE_CAMPAIGN:
        st.session_state.pop("campaign", None)
    else:
        st.session_state["campaign"] = campaign


@st.cache_resource(show_spinner=False)
def _sample_campaign_table() -> pd.DataFrame:
    """The bundled campaign (one shared, read-only frame)."""
    return read_table(CAMPAIGN_PATH, text_columns=("customer_id",))


def campaign_table(campaign: Campaign) -> pd.DataFrame:
    """The campaign's rows as read from its file (ids as text)."""
    if campaign.upload is None:
        return _sample_campaign_table()
    ids = (campaign.id_column,) if campaign.id_column else ()
    return read_bytes(campaign.upload[1], campaign.upload[0], text_columns=ids)


def _campaign_columns(roles: str, upload: tuple[str, bytes] | None):
    """The campaign's outcome (0/1), contact flags and features, checked."""
    from churn.campaign_model import treated_flags

    target, positive, treatment, treated, id_column = json.loads(roles)
    frame = campaign_table(Campaign("", target, positive, treatment, treated, id_column, upload))
    missing = [c for c in (target, treatment, id_column) if c and c not in frame.columns]
    if missing:
        raise ChurnInputError(f"The campaign has no column {missing[0]}; pick its columns again.")
    y = encode_target(frame, target, positive)
    contacted = treated_flags(frame[treatment], treated)[0]
    features = frame.drop(columns=[c for c in (target, treatment, id_column) if c])
    return y, contacted, features


@model_cache(show_spinner="Measuring the campaign's effect...", max_entries=8)
def _campaign_effect(
    roles: str, upload: tuple[str, bytes] | None
) -> tuple[pd.DataFrame, AverageEffect]:
    from churn.campaign import arms as campaign_arms
    from churn.campaign import average_effect

    y, contacted, _ = _campaign_columns(roles, upload)
    return campaign_arms(y, contacted), average_effect(y, contacted)


@model_cache(show_spinner="Checking that the split into arms looks random...", max_entries=8)
def _campaign_balance(roles: str, upload: tuple[str, bytes] | None) -> Balance:
    from churn.campaign import balance

    _, contacted, features = _campaign_columns(roles, upload)
    return balance(features, contacted)


def current_campaign_effect() -> tuple[pd.DataFrame, AverageEffect]:
    """The arms (:func:`churn.campaign.arms`) and average effect of the session's campaign
    (cached; an uploaded campaign's stay in the session)."""
    campaign = current_campaign()
    return _campaign_effect(campaign.roles, campaign.upload)


def current_campaign_balance() -> Balance:
    """The balance check of the session's campaign (cached like its effect)."""
    campaign = current_campaign()
    return _campaign_balance(campaign.roles, campaign.upload)


def campaign_applies() -> bool:
    """Whether the session's campaign is about the session's customers: a campaign uploaded
    in the session, or the sample's while the session works on the sample."""
    return current_campaign().upload is not None or not using_upload()


def take_measured_success(action: str) -> None:
    """Put the campaign's measured success rate into the session's economics for ``action``,
    and remember where it came from (Decide and "Did it work?" say so)."""
    from churn.campaign_report import with_success_rate

    campaign = current_campaign()
    effect = current_campaign_effect()[1]
    scenario = current_scenario()
    economics = with_success_rate(scenario.economics, action, effect.success_rate)
    set_scenario(replace(scenario, economics=economics))
    st.session_state.pop("decide_actions", None)  # the table's edits would undo the new rate
    st.session_state["measured_success"] = {
        "action": action,
        "rate": effect.success_rate,
        "low": effect.success_low,
        "high": effect.success_high,
        "campaign": campaign.name,
    }


def measured_success_note(economics: Any) -> str | None:
    """Where an action's success rate came from, when it is the one taken from a campaign
    and still unchanged in ``economics`` (else ``None``)."""
    taken = st.session_state.get("measured_success")
    if not taken:
        return None
    rates = {a.name: a.success_rate for a in economics.actions}
    if rates.get(taken["action"]) != taken["rate"]:
        return None
    return (
        f"The success rate of {taken['action']} ({percent(taken['rate'])}) was measured in the "
        f"campaign {taken['campaign']} (95% interval {percent(taken['low'])} to "
        f'{percent(taken["high"])}), on the "Did it work?" page.'
    )


@model_cache(
    show_spinner="Training the uplift model on the campaign (a few seconds)...",
    max_entries=4,
    resource=True,
)
def _campaign_model(roles: str, upload: tuple[str, bytes] | None) -> CampaignModel:
    from churn.campaign_model import CampaignRoles, train_campaign

    target, positive, treatment, treated, id_column = json.loads(roles)
    campaign = Campaign("", target, positive, treatment, treated, id_column, upload)
    return train_campaign(
        campaign_table(campaign),
        CampaignRoles(
            target=target,
            treatment=treatment,
            positive=positive,
            treated=treated,
            id_column=id_column,
        ),
        source=upload[0] if upload is not None else CAMPAIGN_PATH.name,
    )


def current_campaign_model() -> CampaignModel:
    """The uplift model of the session's campaign (:func:`churn.campaign_model.train_campaign`),
    trained the first time a page asks for it: the sample's once per server (shared,
    read-only), an uploaded campaign's once per session. Marks the session as having one."""
    campaign = current_campaign()
    model = _campaign_model(campaign.roles, campaign.upload)
    st.session_state["campaign_model_ready"] = campaign.key
    return model


def campaign_model_ready() -> bool:
    """Whether the session's campaign model has been trained and applies to its customers."""
    return (
        campaign_applies()
        and st.session_state.get("campaign_model_ready") == current_campaign().key
    )


# ------------------------------------------------------------- targeting by measured uplift
@model_cache(
    show_spinner="Choosing the uplift policy on the campaign's holdout...", max_entries=256
)
def _uplift_decision(roles: str, upload: tuple[str, bytes] | None, key: str) -> UpliftDecision:
    from churn.uplift_decisions import decide_on_campaign

    scenario = Scenario.from_query(json.loads(key))
    model = _campaign_model(roles, upload)
    return decide_on_campaign(model, scenario.economics, scenario.choice, scenario.tested_action)


def current_uplift_decision() -> UpliftDecision:
    """The session's uplift policy measured on the campaign's holdout (cached per campaign
    and scenario): :func:`churn.uplift_decisions.decide_on_campaign`."""
    campaign = current_campaign()
    current_campaign_model()  # trained here when it is not yet (with its spinner)
    key = scenario_key(current_scenario())
    return _uplift_decision(campaign.roles, campaign.upload, key)


def current_uplift_policy(created_at: datetime | None = None) -> dict:
    """The session's uplift policy as the version-3 document ``score --policy`` applies."""
    from churn.uplift_decisions import build_uplift_policy

    model = current_campaign_model()
    return build_uplift_policy(
        current_uplift_decision(), current_scenario().economics, model.fingerprint, created_at
    )


_FIXED_TIME = datetime(2000, 1, 1, tzinfo=UTC)  # the policy's dates do not change its actions


@model_cache(show_spinner="Scoring the customers' uplift...", max_entries=16)
def _uplift_on_base(
    roles: str, upload: tuple[str, bytes] | None, key: str | None, base: str
) -> pd.DataFrame:
    from churn.campaign_report import uplift_on_customers
    from churn.uplift_decisions import build_uplift_policy

    model = _campaign_model(roles, upload)
    policy = None
    if key is not None:
        scenario = Scenario.from_query(json.loads(key))
        decision = _uplift_decision(roles, upload, key)
        policy = build_uplift_policy(decision, scenario.economics, model.fingerprint, _FIXED_TIME)
    return uplift_on_customers(model, current_base(), policy)


def current_uplift_on_base(with_policy: bool = True) -> pd.DataFrame:
    """The customers of the current base scored by the campaign model, one row per customer
    in base order, with the uplift policy's action (``with_policy``): what
    ``score --model CAMPAIGN_DIR --policy FILE`` writes for them."""
    campaign = current_campaign()
    current_campaign_model()
    key = scenario_key(current_scenario()) if with_policy else None
    return _uplift_on_base(campaign.roles, campaign.upload, key, base_key())


def targets_uplift() -> bool:
    """Whether the session's policy targets by measured uplift (and a campaign applies)."""
    return current_scenario().target == "uplift" and campaign_applies()


def churn_policy_note() -> str | None:
    """On pages that judge the churn-risk policy: a sentence when Decide targets by uplift."""
    if not targets_uplift():
        return None
    return (
        "Decide targets by measured uplift; this page shows the churn-risk policy with the same "
        "choice instead (it does not yet cover a policy that targets by uplift)."
    )
