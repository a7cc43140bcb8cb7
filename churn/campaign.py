"""Did an earlier retention campaign work? The average effect of contacting customers.

A campaign table has one row per customer, a 0/1 outcome (churned in the window
after the campaign) and a 0/1 treatment (contacted or left alone as a control).
This module answers three questions, each with a 95% interval:

* :func:`arms` -- how many customers were in each arm and how often they churned
  (Wilson score intervals);
* :func:`balance` -- whether the split into arms looks random, so that the
  difference in churn can be read as the effect of the contact;
* :func:`average_effect` -- the average treatment effect (contacted minus control
  churn rate; negative means contact reduces churn) and the measured *success
  rate*, the share of would-be churners the contact kept, in the [0, 1] form an
  :class:`churn.economics.Action` takes.

Nothing here imports the app.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict, train_test_split

from churn.errors import ChurnInputError
from churn.features import FeatureSpec, _as_text
from churn.metrics import Z95, wilson

__all__ = [
    "AUC_LIMIT",
    "MIN_ARM_SIZE",
    "SMD_LIMIT",
    "AverageEffect",
    "Balance",
    "arms",
    "average_effect",
    "balance",
]

#: Fewest customers an arm may have for the analysis to be worth reading.
MIN_ARM_SIZE = 200
#: A feature whose standardised mean difference exceeds this in magnitude is unbalanced.
SMD_LIMIT = 0.1
#: The split does not look random when the lower end of the classifier's AUC interval
#: is above this.
AUC_LIMIT = 0.55

_TRUE = {"1", "true", "yes", "y", "t", "contacted"}
_FALSE = {"0", "false", "no", "n", "f", "control"}


def _values_text(values: np.ndarray) -> str:
    shown = [repr(v) if isinstance(v, str) else str(v) for v in values[:5]]
    more = f" and {len(values) - 5} more" if len(values) > 5 else ""
    return ", ".join(shown) + more


def _check_treated(treated: object) -> np.ndarray:
    """The treatment as a boolean array (True = contacted)."""
    series = pd.Series(np.asarray(treated, dtype=object).ravel())
    if series.isna().any():
        raise ChurnInputError(
            f"The contact column is empty for {int(series.isna().sum())} customers; give every "
            "customer 1 if contacted and 0 if in the control group."
        )
    found = pd.unique(series)
    if len(found) != 2:
        if len(found) < 2:
            raise ChurnInputError(
                f"The contact column has only the value {_values_text(found)}; the analysis "
                "needs both contacted customers (1) and a control group (0)."
            )
        raise ChurnInputError(
            f"The contact column has {len(found)} values ({_values_text(found)}); code it with "
            "exactly two, 1 for contacted and 0 for the control group."
        )
    meaning = [_flag(value) for value in found]
    if set(meaning) != {False, True}:
        raise ChurnInputError(
            f"The contact column has the values {_values_text(found)}; code it as 1 for "
            "contacted and 0 for the control group."
        )
    return (series == found[meaning.index(True)]).to_numpy(dtype=bool)


def _flag(value: object) -> bool | None:
    """True for contacted, False for control, None when the value means neither."""
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | float | np.integer | np.floating):
        return {1.0: True, 0.0: False}.get(float(value))
    text = str(value).strip().lower()
    return True if text in _TRUE else False if text in _FALSE else None


def _check_outcome(y: object, n: int) -> np.ndarray:
    values = pd.to_numeric(pd.Series(np.asarray(y, dtype=object).ravel()), errors="coerce")
    values = values.to_numpy(dtype=float, na_value=np.nan)
    if len(values) != n:
        raise ChurnInputError(
            f"The outcome has {len(values)} values but the contact column {n}; give one "
            "outcome and one contact flag per customer."
        )
    if not np.isin(values, [0.0, 1.0]).all():
        raise ChurnInputError(
            "The churn outcome must be 0 or 1 for every customer; fill in or drop the "
            "customers whose outcome is missing or not 0/1."
        )
    return values


def _check(y: object, treated: object) -> tuple[np.ndarray, np.ndarray]:
    t = _check_treated(treated)
    y = _check_outcome(y, len(t))
    sizes = {"contacted": int(t.sum()), "control": int((~t).sum())}
    if min(sizes.values()) < MIN_ARM_SIZE:
        raise ChurnInputError(
            f"Each arm needs at least {MIN_ARM_SIZE} customers (contacted: "
            f"{sizes['contacted']}, control: {sizes['control']}); analyse a larger campaign."
        )
    return y, t


def arms(y: object, treated: object) -> pd.DataFrame:
    """Size and churn rate of the contacted and the control arm.

    Parameters
    ----------
    y : array-like of 0/1
        Churned in the window after the campaign.
    treated : array-like
        1 (or True, "yes") if contacted, 0 (or False, "no") if in the control group.

    Returns
    -------
    DataFrame
        Rows ``contacted`` and ``control`` (index ``arm``); columns ``customers``,
        ``churners``, ``churn_rate`` and ``rate_low, rate_high`` (Wilson 95% interval).
    """
    y, t = _check(y, treated)
    customers = np.array([t.sum(), (~t).sum()], dtype=np.int64)
    churners = np.array([y[t].sum(), y[~t].sum()])
    low, high = wilson(churners, customers.astype(float))
    return pd.DataFrame(
        {
            "customers": customers,
            "churners": churners.astype(np.int64),
            "churn_rate": churners / customers,
            "rate_low": low,
            "rate_high": high,
        },
        index=pd.Index(["contacted", "control"], name="arm"),
    )


@dataclass(frozen=True)
class AverageEffect:
    """The average effect of contact, with 95% intervals.

    Attributes
    ----------
    contacted_rate, control_rate : float
        Churn rate in each arm.
    ate, ate_low, ate_high : float
        Contacted minus control churn rate (negative: contact reduces churn) and
        Newcombe's hybrid score interval.
    success_rate, success_low, success_high : float
        Share of would-be churners kept, ``(control - contacted) / control``,
        and its interval, clipped to [0, 1] like
        :attr:`churn.economics.Action.success_rate`.
    success_unclipped : float
        The same share before clipping (negative when contact raised churn).
    """

    contacted_rate: float
    control_rate: float
    ate: float
    ate_low: float
    ate_high: float
    success_rate: float
    success_low: float
    success_high: float
    success_unclipped: float


def average_effect(y: object, treated: object, z: float = Z95) -> AverageEffect:
    """Average treatment effect and success rate of a randomised campaign.

    The ATE interval is Newcombe's hybrid score interval for a difference of two
    independent proportions (method 10 of Newcombe, 1998), built from the two
    arms' Wilson intervals; it stays inside [-1, 1] and keeps its coverage for
    rare outcomes.

    The success rate is ``1 - RR`` with ``RR`` the ratio of the contacted to the
    control churn rate. Its interval comes from the delta method on ``log RR``
    (standard error ``sqrt((1 - p1)/k1 + (1 - p0)/k0)`` with ``k`` the churners of
    each arm; when an arm has no churners, 0.5 is added to every cell of the 2x2 table, the
    Haldane correction, which the estimate itself needs only when no control
    customer churned). Estimate and interval are then clipped to [0, 1]; the
    unclipped estimate is kept as ``success_unclipped``.

    Parameters
    ----------
    y : array-like of 0/1
        Churned in the window after the campaign.
    treated : array-like
        1 if contacted, 0 if in the control group (see :func:`arms`).
    z : float
        Normal quantile of the intervals (95% by default).

    Returns
    -------
    AverageEffect

    Notes
    -----
    The effect is causal only if the contacted customers were chosen at random;
    check with :func:`balance` first.
    """
    table = arms(y, treated)
    k1, k0 = table["churners"].to_numpy(dtype=float)
    n1, n0 = table["customers"].to_numpy(dtype=float)
    p1, p0 = k1 / n1, k0 / n0
    (l1, l0), (u1, u0) = wilson(np.array([k1, k0]), np.array([n1, n0]), z)
    ate = p1 - p0
    ate_low = ate - np.sqrt((p1 - l1) ** 2 + (u0 - p0) ** 2)
    ate_high = ate + np.sqrt((u1 - p1) ** 2 + (p0 - l0) ** 2)

    if k1 == 0 or k0 == 0:
        k1, k0, n1, n0 = k1 + 0.5, k0 + 0.5, n1 + 1.0, n0 + 1.0
    log_rr = np.log(k1 / n1) - np.log(k0 / n0)
    se = np.sqrt((1.0 - k1 / n1) / k1 + (1.0 - k0 / n0) / k0)
    success = 1.0 - (p1 / p0 if p0 > 0 else np.exp(log_rr))
    low, high = 1.0 - np.exp(log_rr + z * se), 1.0 - np.exp(log_rr - z * se)
    return AverageEffect(
        contacted_rate=float(p1),
        control_rate=float(p0),
        ate=float(ate),
        ate_low=float(ate_low),
        ate_high=float(ate_high),
        success_rate=float(np.clip(success, 0.0, 1.0)),
        success_low=float(np.clip(low, 0.0, 1.0)),
        success_high=float(np.clip(high, 0.0, 1.0)),
        success_unclipped=float(success),
    )


@dataclass(frozen=True)
class Balance:
    """Whether the split into contacted and control looks random.

    Attributes
    ----------
    table : DataFrame
        One row per feature (index ``feature``): ``kind``, ``smd`` (standardised
        mean difference, contacted minus control; for a categorical feature the
        level with the largest one in magnitude), ``level`` (that level, empty
        otherwise) and ``unbalanced`` (``|smd| > SMD_LIMIT``). Sorted by ``|smd|``,
        largest first.
    auc, auc_low, auc_high : float
        Cross-validated ROC-AUC of a logistic regression telling the arms apart
        from the features, with a Hanley-McNeil 95% interval. 0.5 means the
        features say nothing about who was contacted.
    looks_random : bool
        No feature unbalanced and ``auc_low <= AUC_LIMIT``.
    message : str
        One sentence when the split does not look random, else empty.
    """

    table: pd.DataFrame
    auc: float
    auc_low: float
    auc_high: float
    looks_random: bool
    message: str


def _smd(values: np.ndarray, t: np.ndarray) -> float:
    """Difference of means over the pooled sd (observed values; 0 when both arms are constant)."""
    seen = ~np.isnan(values)
    a, b = values[t & seen], values[~t & seen]
    if a.size < 2 or b.size < 2:
        return 0.0
    diff = a.mean() - b.mean()
    pooled = np.sqrt((a.var(ddof=1) + b.var(ddof=1)) / 2.0)
    if pooled == 0.0:
        return 0.0 if diff == 0.0 else float(np.sign(diff) * np.inf)
    return float(diff / pooled)


def _level_smd(levels: np.ndarray, t: np.ndarray) -> tuple[float, str]:
    """Largest standardised difference of level shares (missing counts as a level)."""
    names, codes = np.unique(levels, return_inverse=True)
    onehot = np.zeros((len(levels), len(names)))
    onehot[np.arange(len(levels)), codes] = 1.0
    s1, s0 = onehot[t].mean(axis=0), onehot[~t].mean(axis=0)
    pooled = np.sqrt((s1 * (1.0 - s1) + s0 * (1.0 - s0)) / 2.0)
    smd = np.divide(s1 - s0, pooled, out=np.zeros_like(pooled), where=pooled > 0)
    worst = int(np.argmax(np.abs(smd)))
    return float(smd[worst]), str(names[worst])


def _hanley_mcneil(auc: float, n1: int, n0: int, z: float) -> tuple[float, float]:
    q1, q2 = auc / (2.0 - auc), 2.0 * auc**2 / (1.0 + auc)
    var = (auc * (1 - auc) + (n1 - 1) * (q1 - auc**2) + (n0 - 1) * (q2 - auc**2)) / (n1 * n0)
    half = z * np.sqrt(max(var, 0.0))
    return max(auc - half, 0.0), min(auc + half, 1.0)


def balance(
    features: pd.DataFrame,
    treated: object,
    seed: int = 0,
    folds: int = 5,
    max_rows: int = 20_000,
) -> Balance:
    """Check that contacted and control customers looked alike before the campaign.

    Two checks, either of which flags the split:

    * per feature, the standardised mean difference (SMD) between the arms:
      numeric and boolean features, the difference of means over the pooled
      standard deviation (observed values only); categorical features, the level
      share with the largest standardised difference ``(s1 - s0) /
      sqrt((s1(1 - s1) + s0(1 - s0)) / 2)``, missing counting as a level. A
      feature with ``|SMD| > SMD_LIMIT`` (0.1, the usual rule of thumb) is
      unbalanced;
    * a logistic regression on the features encoded like the model's linear
      baseline (:meth:`churn.features.FeatureSpec.linear_matrix`: imputed,
      flagged, standardised, one-hot) tries to tell the arms apart; its
      ``folds``-fold out-of-fold ROC-AUC has a Hanley-McNeil 95% interval. The
      split is flagged when that interval lies wholly above ``AUC_LIMIT`` (0.55):
      the arms differ in a way some combination of features can see.

    Parameters
    ----------
    features : DataFrame
        The customers' features as they were *before* the campaign (no id,
        outcome or contact column).
    treated : array-like
        1 if contacted, 0 if in the control group, one per row of ``features``.
    seed : int
        Seed of the cross-validation split.
    folds : int
        Number of cross-validation folds.
    max_rows : int
        The classifier check uses a stratified random subsample of at most this many
        customers (its interval is that of the subsample; 20,000 customers pin an AUC near
        0.5 to about +/- 0.01); the standardised differences use every customer.

    Returns
    -------
    Balance
    """
    t = _check_treated(treated)
    if len(t) != len(features):
        raise ChurnInputError(
            f"The features have {len(features)} rows but the contact column {len(t)}; give "
            "one contact flag per customer."
        )
    if min(t.sum(), (~t).sum()) < MIN_ARM_SIZE:
        raise ChurnInputError(
            f"Each arm needs at least {MIN_ARM_SIZE} customers (contacted: {int(t.sum())}, "
            f"control: {int((~t).sum())}); analyse a larger campaign."
        )
    features = features.reset_index(drop=True)
    spec = FeatureSpec.learn(features)
    rows = []
    for column in spec.columns:
        kind = spec.kinds[column]
        if kind == "categorical":
            levels = _as_text(features[column]).fillna("(missing)").to_numpy(dtype=str)
            smd, level = _level_smd(levels, t)
        else:
            smd, level = _smd(spec.column_values(features, column), t), ""
        rows.append({"feature": column, "kind": kind, "smd": smd, "level": level})
    table = pd.DataFrame(rows).set_index("feature")
    table["unbalanced"] = table["smd"].abs() > SMD_LIMIT
    table = table.iloc[np.argsort(-table["smd"].abs().to_numpy(), kind="stable")]

    rows = np.arange(len(t))
    if rows.size > max_rows:  # the classifier on a stratified subsample (its interval says so)
        rows = np.sort(
            train_test_split(rows, train_size=max_rows, stratify=t, random_state=seed)[0]
        )
    t = t[rows]
    design = spec.linear_matrix(features.iloc[rows])
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    score = cross_val_predict(
        LogisticRegression(C=1.0, max_iter=5000), design, t, cv=cv, method="decision_function"
    )
    order = pd.Series(score).rank().to_numpy()
    n1, n0 = int(t.sum()), int((~t).sum())
    auc = float((order[t].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))
    auc_low, auc_high = _hanley_mcneil(auc, n1, n0, Z95)

    reasons = []
    worst = table.index[0]
    if table["unbalanced"].any():
        what = f" ({table.loc[worst, 'level']})" if table.loc[worst, "level"] else ""
        reasons.append(
            f"{int(table['unbalanced'].sum())} feature(s) differ between the arms, most of "
            f"all {worst}{what} with a standardised difference of {table.loc[worst, 'smd']:.2f}"
        )
    if auc_low > AUC_LIMIT:
        reasons.append(f"a classifier tells the arms apart with ROC-AUC {auc:.2f}")
    message = ""
    if reasons:
        message = (
            "The contacted and control customers differ before the campaign ("
            + "; ".join(reasons)
            + "), so the split does not look random and the difference in churn may not be "
            "the effect of the contact."
        )
    return Balance(
        table=table,
        auc=auc,
        auc_low=float(auc_low),
        auc_high=float(auc_high),
        looks_random=not reasons,
        message=message,
    )
