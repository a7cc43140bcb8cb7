"""Per-customer effect of a retention contact (uplift): a bagged two-model learner.

How it works
------------
:class:`UpliftModel` uses the churn model's preparation (:class:`churn.features.FeatureSpec`,
the same tree matrix and categorical handling as :class:`churn.model.ChurnModel`) and two
LightGBM models per member:

* the **control model**, fitted on the control customers: the log-odds of churn *if not
  contacted*;
* the **contact model**, fitted on the contacted customers with a log link (Poisson loss on
  the 0/1 outcome, the "modified Poisson" regression of Zou, 2004), boosting from the
  control model's log churn probability: it learns the log of the ratio of the churn
  probability with contact to that without, ``log(1 - s(x))`` with ``s`` the customer's
  success rate in the sense of :class:`churn.economics.Action`. Its inputs are the
  features and the control model's log-odds, so the success rate may depend on how
  likely the customer is to leave (a customer who is leaving anyway may be beyond reach).

Starting from "contact changes nothing" and shrinking towards "the same success rate for
everybody" is what makes the model usable on campaigns of a few thousand customers: with
no evidence of differences, the uplift ranks customers by churn risk, and it departs from
that ranking only as far as the campaign's outcomes show. (A two-model learner that fits
the arms separately ranked worse on the sample generator: each arm's own shrinkage adds
spurious differences.) Each model's number of trees is chosen by stratified 3-fold
cross-validation with early stopping; then ``n_members`` pairs are trained, each on a
bootstrap resample of each arm (bagging).

* **Probabilities.** ``churn_probability`` (not contacted) is the sigmoid of the control
  members' mean log-odds; ``churn_probability_if_contacted`` is that times the exponential
  of the contact members' mean log ratio (at most 1).
* **Uplift** is ``churn_probability - churn_probability_if_contacted``: the drop
  in churn probability that contacting brings; positive means contacting helps,
  negative that it drives the customer away.
* **Interval.** Each member pair gives an uplift; with ``s`` their standard
  deviation (the bootstrap estimate of how much the uplift would move had the
  campaign drawn other customers of the same kind), the interval is
  ``uplift -/+ t * s`` with ``t`` the Student quantile of ``confidence`` with
  ``n_members - 1`` degrees of freedom. It is an interval for the fit's
  variability, not for its bias: the model shrinks effects towards a common
  success rate, and no label-fitted width can see that bias.
  On the sample generator's true effects (20,000 fresh customers, the default
  90% interval) its coverage is measured in ``tests/test_uplift.py`` and stated
  in the README.
* **Out of fold.** ``oob_frame_`` scores every training customer by models that
  never fitted it: the arm's models whose bootstrap resample left the customer
  out (the other arm's models never saw the customer). A customer every resample
  drew (``in_bag``) keeps its in-sample score.

Evaluation (on a holdout of the campaign, where each customer's outcome in one
arm is known): :func:`qini_curve`, :func:`uplift_by_decile` and
:func:`kept_per_contacts` (customers kept per 1,000 contacts when targeting by
uplift, by churn risk or at random), all with bootstrap bands. Segments where
contacting backfires: :func:`backfire_groups`.

Saved as LightGBM text plus JSON (:func:`uplift_to_files` /
:func:`uplift_from_files`), never pickled; member texts are checked by
:func:`churn.model.check_booster_text` before LightGBM reads them.

API summary
-----------
``UpliftModel(n_members=6, learning_rate=0.1, num_leaves=4, min_child_samples=100,
cv_folds=3, confidence=0.9, random_state=0, n_jobs=0)``
    ``fit(X, y, treated) -> self``; ``predict_frame(X) -> DataFrame`` with
    :data:`UPLIFT_COLUMNS`; ``predict_uplift(X) -> ndarray``; after ``fit``,
    ``oob_frame_`` (the same columns plus ``in_bag``).
``uplift_to_files(model) -> {name: text}``, ``uplift_from_files(read_text, where) -> UpliftModel``
``qini_curve(y, treated, score, n_boot=200, seed=0, points=51) -> DataFrame``
``uplift_by_decile(y, treated, score, n_boot=200, seed=0) -> DataFrame``
``kept_per_contacts(y, treated, scores, budgets=BUDGETS, n_boot=200, seed=0) -> DataFrame``
``backfire_groups(features, y, treated, uplift, ...) -> DataFrame``
"""

from __future__ import annotations

import json
import re
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from scipy.special import expit
from sklearn.base import BaseEstimator
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.tree import DecisionTreeRegressor
from sklearn.utils.validation import check_is_fitted

from churn.campaign import _check_outcome, _check_treated
from churn.errors import ChurnInputError, damaged_file
from churn.features import FeatureSpec, _as_text
from churn.metrics import Z95, wilson
from churn.model import _LOADED_TEXT, check_booster_text, interval_multiplier

__all__ = [
    "BUDGETS",
    "UPLIFT_COLUMNS",
    "UpliftModel",
    "backfire_groups",
    "kept_per_contacts",
    "measured_effect",
    "qini_curve",
    "uplift_by_decile",
    "uplift_from_files",
    "uplift_to_files",
]

#: The columns :meth:`UpliftModel.predict_frame` returns, one row per customer.
UPLIFT_COLUMNS = (
    "churn_probability",
    "churn_probability_if_contacted",
    "uplift",
    "uplift_low",
    "uplift_high",
)
#: Contact budgets (shares of the customers) at which targeting rules are compared.
BUDGETS = (0.1, 0.2, 0.3, 0.5)

_ARMS = ("control", "contacted")
_CV_MAX_ROWS = 20_000  # per arm
_MAX_ROUNDS = 400
_PATIENCE = 40
_CHUNK_ROWS = 100_000
_CONTACT_OBJECTIVE = "poisson"  # how LightGBM writes the contact model's objective


def _log_p(margin: np.ndarray) -> np.ndarray:
    """``log sigmoid(margin)``, computed stably: the log churn probability."""
    return -np.logaddexp(0.0, -np.asarray(margin, dtype=float))


def _with_risk(matrix: np.ndarray, logit: np.ndarray) -> np.ndarray:
    """The contact model's inputs: the features and the log-odds of churn without contact
    (so that the effect of contact can depend on how likely the customer is to leave)."""
    return np.column_stack([matrix, logit])


def _as_frame(X: Any) -> pd.DataFrame:
    if isinstance(X, pd.DataFrame):
        return X
    raise ChurnInputError("Pass the customers as a table (a pandas DataFrame) with named columns.")


class UpliftModel(BaseEstimator):
    """Churn probability with and without contact, and their difference, per customer.

    Parameters
    ----------
    n_members : int
        Bagged pairs of LightGBM models (more: a steadier interval, slower).
    learning_rate, num_leaves, min_child_samples : LightGBM settings of every model.
    cv_folds : int
        Folds of the cross-validation that chooses each arm's number of trees.
    confidence : float
        Level of the uplift interval, in (0, 1).
    random_state : int
        Seed of the cross-validation, the resamples and LightGBM.
    n_jobs : int
        LightGBM threads; 0: one thread to train, all cores to score (as
        :class:`churn.model.ChurnModel`).
    """

    def __init__(
        self,
        n_members: int = 6,
        learning_rate: float = 0.1,
        num_leaves: int = 4,
        min_child_samples: int = 100,
        cv_folds: int = 3,
        confidence: float = 0.9,
        random_state: int = 0,
        n_jobs: int = 0,
    ) -> None:
        self.n_members = n_members
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.cv_folds = cv_folds
        self.confidence = confidence
        self.random_state = random_state
        self.n_jobs = n_jobs

    def _lgb_params(self, seed: int, objective: str = "binary") -> dict[str, Any]:
        return {
            "objective": objective,
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_data_in_leaf": self.min_child_samples,
            "feature_fraction": 0.8,
            "lambda_l2": 1.0,
            "cat_smooth": 10.0,
            "min_data_per_group": 50,
            "max_cat_threshold": 16,
            "num_threads": self.n_jobs or 1,
            "seed": seed,
            "deterministic": True,
            "force_row_wise": True,
            "verbosity": -1,
        }

    def _rounds(
        self,
        matrix: np.ndarray,
        y: np.ndarray,
        categorical: list[int],
        seed: int,
        base: np.ndarray | None = None,
    ) -> int:
        """Trees for one arm's model: the round of the best mean fold loss (early
        stopping). With ``base`` (the log churn probability without contact) it is the
        contact model: log link (Poisson loss) boosting from ``base``."""
        if np.bincount(y, minlength=2).min() < 2 * self.cv_folds:
            return 50 if base is None else 10
        rows = np.arange(len(y))
        if rows.size > _CV_MAX_ROWS:
            rows, _ = train_test_split(
                rows, train_size=_CV_MAX_ROWS, stratify=y, random_state=self.random_state
            )
        folds = list(
            StratifiedKFold(self.cv_folds, shuffle=True, random_state=self.random_state).split(
                rows, y[rows]
            )
        )
        data = lgb.Dataset(
            matrix[rows],
            y[rows],
            init_score=None if base is None else base[rows],
            categorical_feature=categorical,
            free_raw_data=False,
            params={"verbosity": -1, "feature_pre_filter": False},
        )
        objective, metric = ("binary", "binary_logloss") if base is None else ("poisson",) * 2
        curve = lgb.cv(
            {**self._lgb_params(seed, objective), "metric": metric},
            data,
            num_boost_round=_MAX_ROUNDS,
            folds=folds,
            callbacks=[lgb.early_stopping(_PATIENCE, verbose=False)],
        )[f"valid {metric}-mean"]
        return max(len(curve), 1)

    def _train(
        self,
        matrix: np.ndarray,
        y: np.ndarray,
        categorical: list[int],
        seed: int,
        rounds: int,
        base: np.ndarray | None = None,
    ) -> lgb.Booster:
        data = lgb.Dataset(
            matrix,
            label=y,
            init_score=base,
            categorical_feature=categorical,
            free_raw_data=True,
            params={"verbosity": -1},
        )
        objective = "binary" if base is None else "poisson"
        return lgb.train(self._lgb_params(seed, objective), data, num_boost_round=rounds)

    def fit(self, X: pd.DataFrame, y: Any, treated: Any) -> UpliftModel:
        """Fit on feature columns ``X``, 0/1 churn outcomes ``y`` and the contact flag
        ``treated`` (1/True: contacted, 0/False: control), one per row."""
        X = _as_frame(X)
        t = _check_treated(treated)
        y = _check_outcome(y, len(t)).astype(int)
        if len(X) != len(t):
            raise ChurnInputError("The outcomes and the table have different numbers of rows.")
        spec = FeatureSpec.learn(X)
        matrix = spec.tree_matrix(X)
        categorical = spec.categorical_indices
        rng = np.random.default_rng(self.random_state)
        threads = self.n_jobs or 1  # (training: one thread unless told, as ChurnModel)
        control, contacted = np.flatnonzero(~t), np.flatnonzero(t)
        seed = self.random_state * 1000
        rounds = {"control": self._rounds(matrix[control], y[control], categorical, seed + 998)}
        # the contact model boosts from the control model's log churn probability: it learns
        # the log of the ratio of churn with and without contact (1 - the success rate), and
        # with few customers it shrinks towards "the same success rate for everybody"
        whole = self._train(matrix[control], y[control], categorical, seed + 997, rounds["control"])
        logit = whole.predict(matrix[contacted], raw_score=True, num_threads=threads)
        rounds["contacted"] = self._rounds(
            _with_risk(matrix[contacted], logit),
            y[contacted],
            categorical,
            seed + 999,
            _log_p(logit),
        )
        self.spec_ = spec
        self.rounds_ = rounds
        self.boosters_ = {arm: [] for arm in _ARMS}
        oob = {arm: np.full((self.n_members, len(y)), np.nan) for arm in _ARMS}
        for k in range(self.n_members):
            boot0 = rng.choice(control, size=control.size, replace=True)
            boot1 = rng.choice(contacted, size=contacted.size, replace=True)
            b0 = self._train(matrix[boot0], y[boot0], categorical, seed + k, rounds["control"])
            m0 = b0.predict(matrix[boot1], raw_score=True, num_threads=threads)
            b1 = self._train(
                _with_risk(matrix[boot1], m0),
                y[boot1],
                categorical,
                seed + 500 + k,
                rounds["contacted"],
                _log_p(m0),
            )
            for arm, booster, boot in (("control", b0, boot0), ("contacted", b1, boot1)):
                self.boosters_[arm].append(booster)
                in_bag = np.zeros(len(y), dtype=bool)
                in_bag[boot] = True
                out = np.flatnonzero(~in_bag)
                inputs = matrix[out]
                if arm == "contacted":
                    risk = b0.predict(inputs, raw_score=True, num_threads=threads)
                    inputs = _with_risk(inputs, risk)
                oob[arm][k, out] = booster.predict(inputs, raw_score=True, num_threads=threads)
        self.interval_t_ = interval_multiplier(self.confidence, self.n_members)
        self.oob_frame_ = self._oob_frame(oob, matrix)
        self.feature_names_in_ = np.asarray(spec.columns, dtype=object)
        self.n_features_in_ = len(spec.columns)
        return self

    # ----------------------------------------------------------------- predict
    def member_margins(
        self, matrix: np.ndarray, threads: int | None = None
    ) -> dict[str, np.ndarray]:
        """Raw scores of every member, ``{arm: (members, rows)}``: ``"control"`` the log-odds
        of churn without contact, ``"contacted"`` the log of the ratio of the churn
        probability with contact to that without (added to the control partner's log
        probability)."""
        control = np.vstack(
            [
                b.predict(
                    matrix, raw_score=True, num_threads=self.n_jobs if threads is None else threads
                )
                for b in self.boosters_["control"]
            ]
        )
        contacted = np.vstack(
            [
                b.predict(
                    _with_risk(matrix, control[k]),
                    raw_score=True,
                    num_threads=self.n_jobs if threads is None else threads,
                )
                for k, b in enumerate(self.boosters_["contacted"])
            ]
        )
        return {"control": control, "contacted": contacted}

    def _figures(
        self, m0: np.ndarray, ratio: np.ndarray, members0: np.ndarray, ratios: np.ndarray
    ) -> pd.DataFrame:
        """The :data:`UPLIFT_COLUMNS` from the control log-odds and the log churn ratio
        (point and members)."""
        p0 = expit(m0)
        p1 = np.minimum(p0 * np.exp(ratio), 1.0)
        uplift = p0 - p1
        spread = 0.0
        if members0.shape[0] > 1:
            q0 = expit(members0)
            spread = (q0 - np.minimum(q0 * np.exp(ratios), 1.0)).std(axis=0, ddof=1)
        half = self.interval_t_ * spread
        return pd.DataFrame(
            {
                "churn_probability": p0,
                "churn_probability_if_contacted": p1,
                "uplift": uplift,
                "uplift_low": np.clip(uplift - half, -1.0, 1.0),
                "uplift_high": np.clip(uplift + half, -1.0, 1.0),
            }
        )

    def _oob_frame(self, oob: dict[str, np.ndarray], matrix: np.ndarray) -> pd.DataFrame:
        """Out-of-bag figures of the training rows: the control log-odds from the control
        members that left the row out, the churn ratio from the contact members that left
        it out (a row of the other arm: every member)."""
        margins = self.member_margins(matrix, threads=self.n_jobs or 1)
        means, in_bag = {}, np.zeros(matrix.shape[0], dtype=bool)
        for arm in _ARMS:
            counts = np.isfinite(oob[arm]).sum(axis=0)
            seen_by_all = counts == 0
            oob_mean = np.nansum(oob[arm], axis=0) / np.maximum(counts, 1)
            means[arm] = np.where(seen_by_all, margins[arm].mean(axis=0), oob_mean)
            in_bag |= seen_by_all
        frame = self._figures(
            means["control"], means["contacted"], margins["control"], margins["contacted"]
        )
        frame["in_bag"] = in_bag
        return frame

    def predict_frame(self, X: pd.DataFrame) -> pd.DataFrame:
        """The :data:`UPLIFT_COLUMNS` for each row of ``X`` (index kept): probabilities in
        [0, 1], uplift and its interval in [-1, 1] (positive: contacting helps)."""
        check_is_fitted(self, "boosters_")
        X = _as_frame(X)
        self.spec_.check_columns(X)
        if len(X) > _CHUNK_ROWS:  # bounded memory for large tables, same results
            parts = [
                self.predict_frame(X.iloc[start : start + _CHUNK_ROWS])
                for start in range(0, len(X), _CHUNK_ROWS)
            ]
            return pd.concat(parts)
        margins = self.member_margins(self.spec_.tree_matrix(X))
        frame = self._figures(
            margins["control"].mean(axis=0),
            margins["contacted"].mean(axis=0),
            margins["control"],
            margins["contacted"],
        )
        frame.index = X.index
        return frame

    def predict_uplift(self, X: pd.DataFrame) -> np.ndarray:
        """Uplift per customer: churn probability without minus with contact, in [-1, 1]."""
        return self.predict_frame(X)["uplift"].to_numpy()


# ---------------------------------------------------------------- persistence
_MEMBER = re.compile(r"(control|contacted)_\d{2}\.txt")


def uplift_to_files(model: UpliftModel) -> dict[str, str]:
    """``{file name: text}``: ``uplift.json`` and one LightGBM text per member model
    (``control_00.txt``, ``contacted_00.txt``, ...)."""
    check_is_fitted(model, "boosters_")
    files = {
        f"{arm}_{k:02d}.txt": _LOADED_TEXT.get(booster) or booster.model_to_string()
        for arm, boosters in model.boosters_.items()
        for k, booster in enumerate(boosters)
    }
    files["uplift.json"] = json.dumps(
        {
            "params": model.get_params(),
            "spec": model.spec_.to_dict(),
            "rounds": model.rounds_,
            "interval_t": model.interval_t_,
            "members": {
                arm: [f"{arm}_{k:02d}.txt" for k in range(len(b))]
                for arm, b in model.boosters_.items()
            },
        },
        indent=1,
    )
    return files


def uplift_from_files(read_text: Any, where: str = "the model directory") -> UpliftModel:
    """Rebuild a model from ``read_text(file name) -> str`` (never unpickled; a damaged
    file is refused with a :class:`ChurnInputError` naming it)."""
    with damaged_file("uplift.json", where):
        meta = json.loads(read_text("uplift.json"))
        model = UpliftModel(**meta["params"])
        model.spec_ = FeatureSpec.from_dict(meta["spec"])
        model.rounds_ = {arm: int(meta["rounds"][arm]) for arm in _ARMS}
        model.interval_t_ = float(meta["interval_t"])
        members = meta["members"]
        if set(members) != set(_ARMS) or not all(
            members[arm]
            and len(members[arm]) == len(members["control"])
            and all(_MEMBER.fullmatch(name) and name.startswith(arm) for name in members[arm])
            for arm in _ARMS
        ):
            raise ValueError("no member models")
        if not np.isfinite(model.interval_t_) or model.interval_t_ < 0:
            raise ValueError("a bad interval multiplier")
    model.boosters_ = {arm: [] for arm in _ARMS}
    n_features = len(model.spec_.columns)
    for arm in _ARMS:
        inputs, objective = (n_features, "binary sigmoid:1")
        if arm == "contacted":  # (the features and the control log-odds; log link)
            inputs, objective = (n_features + 1, _CONTACT_OBJECTIVE)
        for name in members[arm]:
            text = read_text(name)
            with damaged_file(name, where):
                booster = lgb.Booster(model_str=check_booster_text(text, inputs, objective))
            _LOADED_TEXT[booster] = text  # written back as read (LightGBM saw only the trees)
            model.boosters_[arm].append(booster)
    model.feature_names_in_ = np.asarray(model.spec_.columns, dtype=object)
    model.n_features_in_ = n_features
    with damaged_file("uplift.json", where):  # everything fits together: one customer scores
        model.predict_frame(pd.DataFrame({c: [np.nan] for c in model.spec_.columns}))
    return model


# ---------------------------------------------------------------- evaluation
def _arrays(y: Any, treated: Any, score: Any = None) -> tuple[np.ndarray, ...]:
    t = _check_treated(treated)
    y = _check_outcome(y, len(t))
    if score is None:
        return y, t
    score = np.asarray(score, dtype=float).ravel()
    if score.size != t.size:
        raise ChurnInputError("The scores and the outcomes have different numbers of rows.")
    return y, t, score


def _boot_weights(n: int, n_boot: int, seed: int) -> np.ndarray:
    """Poisson(1) bootstrap weights, shape ``(n_boot, n)`` (row 0 is not a replicate)."""
    rng = np.random.default_rng(seed)
    return rng.poisson(1.0, size=(n_boot, n)).astype(np.float32)


def _top_effect(
    y: np.ndarray, t: np.ndarray, order: np.ndarray, cuts: np.ndarray, weights: np.ndarray | None
) -> np.ndarray:
    """Control minus contacted churn rate among the first ``cuts`` customers of ``order``
    (shape ``(len(cuts),)``, or ``(n_boot, len(cuts))`` with bootstrap ``weights``)."""
    ys, ts = y[order], t[order].astype(float)
    w = np.ones((1, ys.size)) if weights is None else weights[:, order]
    cum = lambda a: np.concatenate(  # noqa: E731
        [np.zeros((w.shape[0], 1)), np.cumsum(a, axis=1, dtype=float)], axis=1
    )[:, cuts]
    n1, n0 = cum(w * ts), cum(w * (1.0 - ts))
    k1, k0 = cum(w * ts * ys), cum(w * (1.0 - ts) * ys)
    with np.errstate(invalid="ignore", divide="ignore"):
        effect = k0 / n0 - k1 / n1
    return effect[0] if weights is None else effect


def _order(score: np.ndarray) -> np.ndarray:
    """Highest score first; ties by row (NaN last)."""
    key = np.where(np.isnan(score), np.inf, -score)
    return np.lexsort((np.arange(score.size), key))


def qini_curve(
    y: Any, treated: Any, score: Any, n_boot: int = 200, seed: int = 0, points: int = 51
) -> pd.DataFrame:
    """Customers kept per 1,000 customers when contacting the top share by ``score``.

    At each share ``s`` (``points`` shares from 0 to 1) the customers with the highest
    scores are taken; among them, the churn rate of the control customers minus that of
    the contacted customers is the effect of contacting them, and ``effect * s * 1000``
    is the number of customers kept per 1,000 customers of the base had that top share
    been contacted (the uplift curve of Rzepakowski and Jaroszewicz, 2012, on the scale
    of the Qini curve). Contacting at random keeps ``ATE * s * 1000``: the straight line
    ``random``. Bands: 95% percentile intervals over ``n_boot`` Poisson bootstrap
    replicates of the customers (ranking fixed).

    Returns
    -------
    DataFrame with ``share``, ``contacted`` (customers in the top share), ``kept``,
    ``kept_low``, ``kept_high`` (per 1,000 customers), ``random``, ``random_low``,
    ``random_high``.
    """
    y, t, score = _arrays(y, treated, score)
    n = y.size
    shares = np.linspace(0.0, 1.0, points)
    cuts = np.round(shares * n).astype(int)
    order = _order(score)
    effect = np.nan_to_num(_top_effect(y, t, order, cuts, None))
    weights = _boot_weights(n, n_boot, seed)
    boot = np.nan_to_num(_top_effect(y, t, order, cuts, weights))
    overall = _top_effect(y, t, order, np.array([n]), weights)[:, 0]
    ate = float(_top_effect(y, t, order, np.array([n]), None)[0])
    scale = shares * 1000.0
    low, high = np.percentile(boot * scale, [2.5, 97.5], axis=0)
    r_low, r_high = np.percentile(overall[:, None] * scale, [2.5, 97.5], axis=0)
    return pd.DataFrame(
        {
            "share": shares,
            "contacted": cuts,
            "kept": effect * scale,
            "kept_low": low,
            "kept_high": high,
            "random": ate * scale,
            "random_low": r_low,
            "random_high": r_high,
        }
    )


def uplift_by_decile(
    y: Any, treated: Any, score: Any, n_boot: int = 200, seed: int = 0, groups: int = 10
) -> pd.DataFrame:
    """Measured effect in each tenth of the customers, highest ``score`` first.

    Returns
    -------
    DataFrame, one row per decile (``decile`` 1 = highest scores): ``customers``,
    ``mean_score`` (the model's average uplift there), ``control_rate``,
    ``contacted_rate``, ``measured_uplift`` (control minus contacted churn rate) with
    ``uplift_low`` and ``uplift_high`` (95% Poisson-bootstrap percentile interval).
    A good uplift model has measured uplift falling from the first decile to the last.
    """
    y, t, score = _arrays(y, treated, score)
    n = y.size
    order = _order(score)
    bounds = np.round(np.linspace(0, n, groups + 1)).astype(int)
    decile = np.empty(n, dtype=int)
    decile[order] = np.searchsorted(bounds, np.arange(n), side="right") - 1
    weights = _boot_weights(n, n_boot, seed)
    rows = []
    for d in range(groups):
        members = np.flatnonzero(decile == d)
        yd, td = y[members], t[members]
        w = weights[:, members]
        with np.errstate(invalid="ignore", divide="ignore"):
            boot = (w * (~td) * yd).sum(1) / (w * (~td)).sum(1) - (w * td * yd).sum(1) / (
                w * td
            ).sum(1)
        control = float(yd[~td].mean()) if (~td).any() else np.nan
        contacted = float(yd[td].mean()) if td.any() else np.nan
        boot = boot[np.isfinite(boot)]
        low, high = np.percentile(boot, [2.5, 97.5]) if boot.size else (np.nan, np.nan)
        rows.append(
            {
                "decile": d + 1,
                "customers": int(members.size),
                "mean_score": float(np.nanmean(score[members])) if members.size else np.nan,
                "control_rate": control,
                "contacted_rate": contacted,
                "measured_uplift": control - contacted,
                "uplift_low": float(low),
                "uplift_high": float(high),
            }
        )
    return pd.DataFrame(rows)


def kept_per_contacts(
    y: Any,
    treated: Any,
    scores: dict[str, Any],
    budgets: tuple[float, ...] = BUDGETS,
    n_boot: int = 200,
    seed: int = 0,
) -> pd.DataFrame:
    """Customers kept per 1,000 contacts at each budget, for each ranking and at random.

    For a ranking and a budget ``b`` (share of the customers contacted), the top ``b``
    by the ranking's score are taken; the measured effect of contacting them (control
    minus contacted churn rate among them) times 1,000 is the number of customers kept
    per 1,000 contacts. ``random`` is the effect over everybody (a random ``b`` keeps
    the average). Intervals: 95% Poisson-bootstrap percentile intervals, with the same
    replicates for every ranking (so the rankings are compared on the same draws).

    Parameters
    ----------
    scores : ``{name: score per customer}``, e.g. ``{"uplift": ..., "churn_risk": ...}``.

    Returns
    -------
    DataFrame with ``ranking``, ``budget``, ``contacts`` (customers in the top share),
    ``kept_per_1000``, ``kept_low``, ``kept_high``.
    """
    y, t = _arrays(y, treated)
    n = y.size
    cuts = np.maximum(np.round(np.asarray(budgets) * n).astype(int), 1)
    weights = _boot_weights(n, n_boot, seed)
    rows = []
    rankings = {name: np.asarray(s, dtype=float).ravel() for name, s in scores.items()}
    for name, score in [*rankings.items(), ("random", None)]:
        if score is None:
            order = np.arange(n)
            effect = np.repeat(_top_effect(y, t, order, np.array([n]), None), len(cuts))
            boot = np.repeat(_top_effect(y, t, order, np.array([n]), weights), len(cuts), 1)
        else:
            if score.size != n:
                raise ChurnInputError(f"The '{name}' scores and the outcomes differ in length.")
            order = _order(score)
            effect = _top_effect(y, t, order, cuts, None)
            boot = _top_effect(y, t, order, cuts, weights)
        for j, budget in enumerate(budgets):
            column = boot[:, j][np.isfinite(boot[:, j])]
            low, high = np.percentile(column, [2.5, 97.5]) if column.size else (np.nan,) * 2
            rows.append(
                {
                    "ranking": name,
                    "budget": float(budget),
                    "contacts": int(cuts[j]),
                    "kept_per_1000": float(effect[j]) * 1000.0,
                    "kept_low": float(low) * 1000.0,
                    "kept_high": float(high) * 1000.0,
                }
            )
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- backfire
def measured_effect(
    y: np.ndarray, t: np.ndarray, z: float = Z95
) -> tuple[float, float, float, float, float]:
    """``(contacted_rate, control_rate, effect, low, high)``: contacted minus control churn
    rate with Newcombe's hybrid score interval (as :func:`churn.campaign.average_effect`)."""
    k1, n1 = float(y[t].sum()), float(t.sum())
    k0, n0 = float(y[~t].sum()), float((~t).sum())
    if n1 == 0 or n0 == 0:
        return (np.nan,) * 5
    p1, p0 = k1 / n1, k0 / n0
    (l1, l0), (u1, u0) = wilson(np.array([k1, k0]), np.array([n1, n0]), z)
    d = p1 - p0
    low = d - np.sqrt((p1 - l1) ** 2 + (u0 - p0) ** 2)
    high = d + np.sqrt((u1 - p1) ** 2 + (p0 - l0) ** 2)
    return p1, p0, d, float(low), float(high)


def _tree_design(features: pd.DataFrame, spec: FeatureSpec) -> tuple[np.ndarray, list[tuple]]:
    """Numbers as they are (NaN kept: scikit-learn trees route missing values), categories
    one-hot; with a description of each column: ``(feature, level)``, the level ``None``
    for a number and ``True`` for a yes/no feature."""
    columns, described = [], []
    for column in spec.columns:
        if spec.kinds[column] == "categorical":
            text = _as_text(features[column])
            for level in spec.categories[column]:
                columns.append((text == level).to_numpy(dtype=float, na_value=0.0))
                described.append((column, level))
        else:
            columns.append(spec.column_values(features, column))
            described.append((column, True if spec.kinds[column] == "boolean" else None))
    return np.column_stack(columns), described


def _render(conditions: list[tuple[str, str, Any]]) -> str:
    """One readable condition from a path's ``(column, kind, value)`` steps: per column,
    the level it is, or the levels it is not, or its tightest bounds."""
    by_column: dict[str, list[tuple[str, Any]]] = {}
    for column, kind, value in conditions:
        by_column.setdefault(column, []).append((kind, value))
    parts = []
    for column, steps in by_column.items():
        kinds = [k for k, _ in steps]
        if "is" in kinds:
            parts.append(f"{column} is {steps[kinds.index('is')][1]}")
            continue
        if "is not" in kinds:
            levels = [v for k, v in steps if k == "is not"]
            parts.append(f"{column} is not {' or '.join(levels)}")
        above = [v for k, v in steps if k == ">"]
        below = [v for k, v in steps if k == "<="]
        if above:
            low, missing = max(above, key=lambda v: v[0])
            parts.append(f"{column} > {low:g}" + (" (or missing)" if missing else ""))
        if below:
            high, missing = min(below, key=lambda v: v[0])
            parts.append(f"{column} <= {high:g}" + (" (or missing)" if missing else ""))
    return " and ".join(parts) if parts else "everybody"


def _leaf_rules(tree: DecisionTreeRegressor, described: list[tuple]) -> dict[int, str]:
    """A readable condition for every leaf of ``tree``."""
    inner = tree.tree_
    rules: dict[int, str] = {}

    def walk(node: int, path: list[tuple[str, str, Any]]) -> None:
        left, right = inner.children_left[node], inner.children_right[node]
        if left == -1:
            rules[node] = _render(path)
            return
        column, level = described[inner.feature[node]]
        cut = float(inner.threshold[node])
        if level is True:  # a yes/no feature (0/1): the cut is between them
            missing = " (or missing)"
            left_missing = bool(inner.missing_go_to_left[node])
            walk(left, [*path, (column, "is", "false" + (missing if left_missing else ""))])
            walk(right, [*path, (column, "is", "true" + ("" if left_missing else missing))])
        elif level is not None:
            walk(left, [*path, (column, "is not", level)])
            walk(right, [*path, (column, "is", level)])
        else:
            missing_left = bool(inner.missing_go_to_left[node])
            walk(left, [*path, (column, "<=", (cut, missing_left))])
            walk(right, [*path, (column, ">", (cut, not missing_left))])

    walk(0, [])
    return rules


def backfire_groups(
    features: pd.DataFrame,
    y: Any,
    treated: Any,
    uplift: Any,
    max_depth: int = 3,
    min_share: float = 0.05,
    min_arm: int = 100,
    seed: int = 0,
    z: float = Z95,
) -> pd.DataFrame:
    """Groups of customers and the measured effect of contacting them; where it backfires.

    The groups are the leaves of a shallow regression tree (depth ``max_depth``, each leaf
    at least ``min_share`` of the customers) fitted to the customers' out-of-fold
    ``uplift`` estimates (as EconML's ``SingleTreeCateInterpreter``): readable segments
    whose estimated effects differ most. In each group the *measured* effect is computed
    from the outcomes alone: contacted minus control churn rate with Newcombe's 95%
    interval. A group **backfires** when that interval lies wholly above 0 (contacting
    raised churn) and both arms have at least ``min_arm`` customers in it.

    The interval is not adjusted for the search: the groups were chosen on the same
    campaign (through the out-of-fold estimates), so a flagged group is a finding to
    confirm with the next campaign, not a proof.

    Parameters
    ----------
    features : the campaign's feature columns (prepared as the model reads them).
    y, treated : outcome (0/1) and contact flag per customer.
    uplift : out-of-fold uplift per customer (:attr:`UpliftModel.oob_frame_`).

    Returns
    -------
    DataFrame, one row per group, most harmful first: ``group`` (the condition),
    ``customers``, ``contacted``, ``control``, ``share``, ``estimated_uplift`` (mean
    out-of-fold uplift), ``contacted_rate``, ``control_rate``, ``effect`` (contacted minus
    control churn rate; positive: contacting raised churn), ``effect_low``,
    ``effect_high`` and ``backfires`` (bool).
    """
    y, t = _arrays(y, treated)
    uplift = np.asarray(uplift, dtype=float).ravel()
    if len(features) != y.size or uplift.size != y.size:
        raise ChurnInputError("The features, outcomes and uplift differ in number of rows.")
    features = features.reset_index(drop=True)
    spec = FeatureSpec.learn(features)
    design, described = _tree_design(features, spec)
    known = np.isfinite(uplift)
    tree = DecisionTreeRegressor(
        max_depth=max_depth,
        min_samples_leaf=max(int(np.ceil(min_share * known.sum())), 2 * min_arm),
        random_state=seed,
    ).fit(design[known], uplift[known])
    leaf = tree.apply(design)
    rules = _leaf_rules(tree, described)
    rows = []
    for node, rule in rules.items():
        members = leaf == node
        yg, tg = y[members], t[members]
        p1, p0, effect, low, high = measured_effect(yg, tg, z)
        enough = min(int(tg.sum()), int((~tg).sum())) >= min_arm
        rows.append(
            {
                "group": rule,
                "customers": int(members.sum()),
                "contacted": int(tg.sum()),
                "control": int((~tg).sum()),
                "share": float(members.mean()),
                "estimated_uplift": float(np.nanmean(uplift[members])),
                "contacted_rate": p1,
                "control_rate": p0,
                "effect": effect,
                "effect_low": low,
                "effect_high": high,
                "backfires": bool(enough and low > 0),
            }
        )
    table = pd.DataFrame(rows)
    return table.sort_values("effect", ascending=False, kind="stable").reset_index(drop=True)
