"""Evaluation of binary churn probabilities, with paired bootstrap intervals.

Every metric takes ``y`` (0/1 labels, 1 = churned), ``p`` (probabilities in
[0, 1]) and optional ``weights``:

* ``weights=None`` -- every row has weight 1; a Python ``float`` is returned.
* ``weights`` of shape ``(n,)`` -- non-negative row weights; a ``float``.
* ``weights`` of shape ``(B, n)`` -- ``B`` weightings evaluated in one
  vectorised pass; an array of shape ``(B,)`` is returned.

The 2-D form is how the bootstrap works: each replicate is a row of
multinomial counts (how often each customer was drawn, see
:func:`bootstrap_weights`), so a weighted metric on the full data equals the
metric on the resample. Ranking metrics sort the scores once and take
cumulative sums of the weights along that order, read at the end of each
group of tied scores, so ties are handled exactly as scikit-learn does.

A metric that is undefined for a weighting (e.g. ROC AUC when a replicate has
no churner) is ``nan``; :func:`evaluate` and :func:`compare` ignore such
replicates when taking percentiles.

Memory is ``O(B * n)`` float64 for the 2-D path (200 replicates of 10,000
customers is ~16 MB per temporary).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = [
    "LOG_LOSS_EPS",
    "Z95",
    "bootstrap_weights",
    "brier",
    "capture_at",
    "compare",
    "evaluate",
    "expected_calibration_error",
    "gains_curve",
    "lift_at",
    "log_loss",
    "percentiles",
    "pr_auc",
    "rank_auc",
    "reliability_bins",
    "resample_counts",
    "roc_auc",
    "wilson",
]

#: Probabilities are clipped to ``[LOG_LOSS_EPS, 1 - LOG_LOSS_EPS]`` in :func:`log_loss`.
LOG_LOSS_EPS = 1e-15

#: The standard normal 97.5th percentile: the z of every two-sided 95% interval here.
Z95 = 1.959963984540054
_SHARE_RTOL = 1e-12  # tolerance on ``share * total weight`` (e.g. 0.1 * 30 != 3 exactly)

Weights = np.ndarray | None
MetricValue = float | np.ndarray


# --------------------------------------------------------------------------- input checks


def _check_yp(y: object, p: object) -> tuple[np.ndarray, np.ndarray]:
    """Validate and convert labels and probabilities to 1-D float arrays."""
    y_arr = np.asarray(y)
    p_arr = np.asarray(p)
    if y_arr.ndim != 1 or p_arr.ndim != 1:
        raise ValueError(f"y and p must be 1-D arrays, got shapes {y_arr.shape} and {p_arr.shape}")
    if y_arr.shape[0] != p_arr.shape[0]:
        raise ValueError(f"y and p have different lengths: {y_arr.shape[0]} != {p_arr.shape[0]}")
    if y_arr.shape[0] == 0:
        raise ValueError("y and p are empty: at least one customer is needed")
    for name, arr in (("y", y_arr), ("p", p_arr)):
        if arr.dtype.kind in "USVM":
            raise ValueError(f"{name} must be numeric, got dtype {arr.dtype}")
    try:
        y_float = y_arr.astype(np.float64)
        p_float = p_arr.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"y and p must be numeric: {exc}") from exc
    if not np.all((y_float == 0.0) | (y_float == 1.0)):
        bad = np.unique(y_arr[(y_float != 0.0) & (y_float != 1.0)])[:5]
        raise ValueError(f"y must contain only 0/1 labels (1 = churned); found e.g. {bad.tolist()}")
    if np.isnan(p_float).any():
        raise ValueError(f"p contains {int(np.isnan(p_float).sum())} NaN value(s)")
    if (p_float < 0.0).any() or (p_float > 1.0).any():
        raise ValueError(
            f"p must be probabilities in [0, 1]; found range "
            f"[{p_float.min():.6g}, {p_float.max():.6g}]"
        )
    return y_float, p_float


def _check_weights(weights: object, n: int) -> tuple[np.ndarray, bool]:
    """Return weights as a float ``(B, n)`` array and whether the input was 2-D."""
    if weights is None:
        return np.ones((1, n)), False
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim not in (1, 2) or w.shape[-1] != n:
        raise ValueError(f"weights must have shape ({n},) or (B, {n}), got {w.shape}")
    if w.ndim == 2 and w.shape[0] == 0:
        raise ValueError("2-D weights must have at least one row")
    if not np.isfinite(w).all():
        raise ValueError("weights contain NaN or infinite values")
    if (w < 0).any():
        raise ValueError("weights must be non-negative")
    return np.atleast_2d(w), w.ndim == 2


def _out(values: np.ndarray, is_2d: bool) -> MetricValue:
    """Shape a ``(B,)`` result as the caller asked: array for 2-D weights, else float."""
    return values if is_2d else float(values[0])


def _safe_div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den`` with ``nan`` where ``den == 0`` (no warnings)."""
    num, den = np.broadcast_arrays(np.asarray(num, float), np.asarray(den, float))
    out = np.full(num.shape, np.nan)
    np.divide(num, den, out=out, where=den != 0)
    return out


# --------------------------------------------------------------------------- ranking core


@dataclass(frozen=True)
class _Curve:
    """Cumulative weights at the end of each tie group, scores descending.

    ``tp``/``fp``/``cum`` have shape ``(B, G)`` with a leading zero column
    (``G`` = number of distinct scores + 1): weight of churners, of
    non-churners and of everybody with score >= the group's score.
    """

    tp: np.ndarray
    fp: np.ndarray
    scores: np.ndarray  # (G - 1,) distinct scores, descending

    @property
    def cum(self) -> np.ndarray:
        return self.tp + self.fp


def _curve(y: np.ndarray, p: np.ndarray, w: np.ndarray) -> _Curve:
    """Sort once by descending score and accumulate all weight rows along that order."""
    order = np.argsort(-p, kind="stable")
    p_sorted = p[order]
    # last index of each tie group: where the next score differs, plus the final element
    ends = np.flatnonzero(np.r_[p_sorted[1:] != p_sorted[:-1], True])
    w_sorted = w[:, order]
    tp = np.cumsum(w_sorted * y[order], axis=1)[:, ends]
    cum = np.cumsum(w_sorted, axis=1)[:, ends]
    zero = np.zeros((w.shape[0], 1))
    tp = np.hstack([zero, tp])
    fp = np.hstack([zero, cum - tp[:, 1:]])
    return _Curve(tp=tp, fp=fp, scores=p_sorted[ends])


def _roc_auc_curve(c: _Curve) -> np.ndarray:
    tpr = _safe_div(c.tp, c.tp[:, -1:])
    fpr = _safe_div(c.fp, c.fp[:, -1:])
    return np.sum(np.diff(fpr, axis=1) * (tpr[:, 1:] + tpr[:, :-1]), axis=1) / 2.0


def _pr_auc_curve(c: _Curve) -> np.ndarray:
    recall = _safe_div(c.tp, c.tp[:, -1:])
    # a group with zero weight adds no recall; give it precision 0 rather than 0/0
    precision = np.nan_to_num(_safe_div(c.tp[:, 1:], c.cum[:, 1:]), nan=0.0)
    return np.sum(np.diff(recall, axis=1) * precision, axis=1)


def _top_share(c: _Curve, share: float) -> tuple[np.ndarray, np.ndarray]:
    """Capture and share actually targeted when targeting the top ``share`` by weight.

    Whole tie groups only: a group is targeted iff the cumulative weight at its
    end is <= ``share * total``; a tie group straddling the boundary is left
    out entirely (so the targeted share never exceeds ``share``).
    """
    cum = c.cum
    total = cum[:, -1:]
    limit = share * total * (1.0 + _SHARE_RTOL)
    k = np.sum(cum[:, 1:] <= limit, axis=1, keepdims=True)  # groups targeted (prefix length)
    captured = np.take_along_axis(c.tp, k, axis=1)[:, 0]
    targeted = np.take_along_axis(cum, k, axis=1)[:, 0]
    capture = _safe_div(captured, c.tp[:, -1])
    targeted_share = _safe_div(targeted, total[:, 0])
    return capture, targeted_share


def _check_share(share: float) -> float:
    share = float(share)
    if not 0.0 < share <= 1.0:
        raise ValueError(f"share must be in (0, 1], got {share}")
    return share


# --------------------------------------------------------------------------- metrics


def roc_auc(y: object, p: object, weights: Weights = None) -> MetricValue:
    """Area under the ROC curve, in [0, 1] (0.5 = random ranking).

    Matches ``sklearn.metrics.roc_auc_score(y, p, sample_weight=weights)``,
    including ties (trapezoid across a tie group). ``nan`` when the weighting
    has no churner or no non-churner.
    """
    y, p = _check_yp(y, p)
    w, is_2d = _check_weights(weights, y.size)
    return _out(_roc_auc_curve(_curve(y, p, w)), is_2d)


def pr_auc(y: object, p: object, weights: Weights = None) -> MetricValue:
    """Average precision (area under the precision-recall step curve), in [0, 1].

    Matches ``sklearn.metrics.average_precision_score(y, p, sample_weight=weights)``
    with tied scores grouped into one threshold. Random ranking scores about the
    churn rate. ``nan`` when the weighting has no churner (scikit-learn returns 0
    with a warning).
    """
    y, p = _check_yp(y, p)
    w, is_2d = _check_weights(weights, y.size)
    return _out(_pr_auc_curve(_curve(y, p, w)), is_2d)


def brier(y: object, p: object, weights: Weights = None) -> MetricValue:
    """Weighted mean squared error ``mean((p - y)**2)``, in [0, 1]; lower is better."""
    y, p = _check_yp(y, p)
    w, is_2d = _check_weights(weights, y.size)
    return _out(_safe_div(w @ (p - y) ** 2, w.sum(axis=1)), is_2d)


def log_loss(y: object, p: object, weights: Weights = None) -> MetricValue:
    """Weighted mean negative log-likelihood in nats, >= 0; lower is better.

    ``p`` is clipped to ``[1e-15, 1 - 1e-15]`` (:data:`LOG_LOSS_EPS`). Equals
    ``sklearn.metrics.log_loss`` whenever no ``p`` is exactly 0 or 1 (recent
    scikit-learn clips at float64 machine epsilon instead).
    """
    y, p = _check_yp(y, p)
    w, is_2d = _check_weights(weights, y.size)
    pc = np.clip(p, LOG_LOSS_EPS, 1.0 - LOG_LOSS_EPS)
    losses = -(y * np.log(pc) + (1.0 - y) * np.log1p(-pc))
    return _out(_safe_div(w @ losses, w.sum(axis=1)), is_2d)


def _check_n_bins(n_bins: int) -> int:
    if isinstance(n_bins, bool) or int(n_bins) != n_bins or n_bins < 1:
        raise ValueError(f"n_bins must be a positive integer, got {n_bins}")
    return int(n_bins)


def _bin_index(p: np.ndarray, n_bins: int) -> np.ndarray:
    """Equal-width bin of each probability: ``[k/n_bins, (k+1)/n_bins)``, p == 1 in the last.

    Searches the edges ``k / n_bins`` rather than flooring ``p * n_bins``, which
    misplaces some exact edges (``15/22 * 22 < 15`` in floating point).
    """
    edges = np.arange(n_bins + 1) / n_bins
    return np.minimum(np.searchsorted(edges, p, side="right") - 1, n_bins - 1)


def expected_calibration_error(
    y: object, p: object, n_bins: int = 10, weights: Weights = None
) -> MetricValue:
    """Expected calibration error, in [0, 1]; 0 = perfectly calibrated.

    ``sum_b (W_b / W) * |mean p in b - churn rate in b|`` over ``n_bins``
    equal-width bins on [0, 1] (bin ``k`` is ``[k/n_bins, (k+1)/n_bins)``,
    ``p == 1`` goes to the last bin). Note: ECE is biased upwards on small
    samples, so bootstrap replicates tend to sit above the point estimate.
    """
    y, p = _check_yp(y, p)
    n_bins = _check_n_bins(n_bins)
    w, is_2d = _check_weights(weights, y.size)
    onehot = np.zeros((y.size, n_bins))
    onehot[np.arange(y.size), _bin_index(p, n_bins)] = 1.0
    # (W_b / W) * |sum_b w p / W_b - sum_b w y / W_b| = |sum_b w (p - y)| / W
    gap = np.abs(w @ (onehot * (p - y)[:, None]))
    return _out(_safe_div(gap.sum(axis=1), w.sum(axis=1)), is_2d)


def capture_at(y: object, p: object, share: float = 0.10, weights: Weights = None) -> MetricValue:
    """Share of all churners (by weight) found in the top ``share`` of customers by ``p``.

    In [0, 1]. Customers are targeted from the highest score down, whole tie
    groups at a time: a tie group is included iff the cumulative weight at its
    end is <= ``share`` * total weight, so a group straddling the boundary is
    left out and the share actually targeted is <= ``share`` (it can be 0 when
    the top tie group alone is larger than ``share``). ``nan`` without churners.
    """
    y, p = _check_yp(y, p)
    share = _check_share(share)
    w, is_2d = _check_weights(weights, y.size)
    capture, _ = _top_share(_curve(y, p, w), share)
    return _out(capture, is_2d)


def lift_at(y: object, p: object, share: float = 0.10, weights: Weights = None) -> MetricValue:
    """Churn rate among the targeted top ``share`` divided by the overall churn rate.

    ``capture / share actually targeted`` with the same tie rule as
    :func:`capture_at`; 1 = no better than random, >= 0. ``nan`` when nobody is
    targeted (top tie group larger than ``share``) or there are no churners.
    """
    y, p = _check_yp(y, p)
    share = _check_share(share)
    w, is_2d = _check_weights(weights, y.size)
    capture, targeted = _top_share(_curve(y, p, w), share)
    return _out(_safe_div(capture, targeted), is_2d)


# --------------------------------------------------------------------------- tables for plots


def rank_auc(score: np.ndarray, y: np.ndarray) -> float:
    """ROC-AUC of one score (ties averaged), folded so that 0.5 is no signal and 1.0 perfect.

    ``y`` is 0/1; 0.5 when a class is absent. For screening single columns, where the
    direction of the signal does not matter.
    """
    order = pd.Series(score).rank(method="average").to_numpy()
    n1 = y.sum()
    n0 = y.size - n1
    if n1 == 0 or n0 == 0:
        return 0.5
    auc = (order[y == 1].sum() - n1 * (n1 + 1) / 2) / (n1 * n0)
    return float(max(auc, 1 - auc))


def wilson(k: np.ndarray, n: np.ndarray, z: float = Z95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for ``k`` successes out of ``n`` trials (``n > 0``)."""
    phat = k / n
    denom = 1.0 + z**2 / n
    centre = (phat + z**2 / (2.0 * n)) / denom
    half = z * np.sqrt(phat * (1.0 - phat) / n + z**2 / (4.0 * n**2)) / denom
    return np.clip(centre - half, 0.0, 1.0), np.clip(centre + half, 0.0, 1.0)


def reliability_bins(y: object, p: object, n_bins: int = 10) -> pd.DataFrame:
    """Per-bin calibration table for a reliability diagram.

    Bins are those of :func:`expected_calibration_error`. One row per non-empty
    bin with columns ``bin_low, bin_high`` (bin edges, probabilities), ``n``
    (customers), ``mean_predicted``, ``observed_rate`` (churn rate) and
    ``observed_low, observed_high`` (Wilson 95% interval of the churn rate).
    """
    y, p = _check_yp(y, p)
    n_bins = _check_n_bins(n_bins)
    idx = _bin_index(p, n_bins)
    n = np.bincount(idx, minlength=n_bins)
    sum_p = np.bincount(idx, weights=p, minlength=n_bins)
    sum_y = np.bincount(idx, weights=y, minlength=n_bins)
    keep = np.flatnonzero(n > 0)
    n_k = n[keep].astype(np.float64)
    low, high = wilson(sum_y[keep], n_k)
    return pd.DataFrame(
        {
            "bin_low": keep / n_bins,
            "bin_high": (keep + 1) / n_bins,
            "n": n[keep].astype(np.int64),
            "mean_predicted": sum_p[keep] / n_k,
            "observed_rate": sum_y[keep] / n_k,
            "observed_low": low,
            "observed_high": high,
        }
    )


def gains_curve(y: object, p: object) -> pd.DataFrame:
    """Cumulative gains: what share of churners is caught when targeting by ``p``.

    One row per distinct score, descending, after a leading ``(0, 0)`` row:
    ``share_targeted`` (customers with score >= that score, in [0, 1]),
    ``capture`` (share of all churners among them, in [0, 1]) and ``lift``
    (``capture / share_targeted``; ``nan`` on the first row). Ends at (1, 1).
    ``capture`` is ``nan`` if there is no churner.
    """
    y, p = _check_yp(y, p)
    c = _curve(y, p, np.ones((1, y.size)))
    share = c.cum[0] / y.size
    capture = _safe_div(c.tp[0], c.tp[0, -1])
    return pd.DataFrame(
        {"share_targeted": share, "capture": capture, "lift": _safe_div(capture, share)}
    )


# --------------------------------------------------------------------------- bootstrap


def bootstrap_weights(n: int, n_boot: int = 200, seed: int = 0) -> np.ndarray:
    """Multinomial resampling counts, shape ``(n_boot, n)``, int64, each row summing to ``n``.

    Row ``b`` says how many times each customer is drawn in replicate ``b``
    (``numpy.random.default_rng(seed)``), so the same ``seed`` gives the same
    replicates -- and paired comparisons -- for every model.
    """
    if int(n) != n or n < 1:
        raise ValueError(f"n must be a positive integer, got {n}")
    if int(n_boot) != n_boot or n_boot < 1:
        raise ValueError(f"n_boot must be a positive integer, got {n_boot}")
    rng = np.random.default_rng(seed)
    return rng.multinomial(int(n), np.full(int(n), 1.0 / n), size=int(n_boot))


def resample_counts(n: int, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """Bootstrap counts, shape ``(n_boot, n)``, float: how often each customer is drawn.

    The same distribution as :func:`bootstrap_weights`, drawn as indices (faster for
    many small samples); the caller owns ``rng``.
    """
    draws = rng.integers(0, n, size=(n_boot, n)) + n * np.arange(n_boot)[:, None]
    return np.bincount(draws.ravel(), minlength=n_boot * n).reshape(n_boot, n).astype(float)


def _share_label(share: float) -> str:
    return f"top{share * 100:g}"


def _metric_functions(
    share: float, n_bins: int
) -> dict[str, Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]]:
    """Metric name -> ``f(y, p, w2d) -> (B,)`` on validated inputs; one sort per call."""
    label = _share_label(share)

    def _ece(y: np.ndarray, p: np.ndarray, w: np.ndarray) -> np.ndarray:
        return expected_calibration_error(y, p, n_bins=n_bins, weights=w)

    def _lift(y: np.ndarray, p: np.ndarray, w: np.ndarray) -> np.ndarray:
        capture, targeted = _top_share(_curve(y, p, w), share)
        return _safe_div(capture, targeted)

    return {
        "roc_auc": lambda y, p, w: _roc_auc_curve(_curve(y, p, w)),
        "pr_auc": lambda y, p, w: _pr_auc_curve(_curve(y, p, w)),
        "brier": lambda y, p, w: brier(y, p, weights=w),
        "log_loss": lambda y, p, w: log_loss(y, p, weights=w),
        "ece": _ece,
        f"lift_{label}": _lift,
        f"capture_{label}": lambda y, p, w: _top_share(_curve(y, p, w), share)[0],
    }


def percentiles(values: np.ndarray) -> tuple[float, float]:
    """2.5th and 97.5th percentiles ignoring undefined (``nan``) replicates."""
    finite = values[~np.isnan(values)]
    if finite.size == 0:
        return float("nan"), float("nan")
    low, high = np.percentile(finite, [2.5, 97.5])
    return float(low), float(high)


def _require_both_classes(y: np.ndarray) -> None:
    if y.min() == y.max():
        raise ValueError("y must contain both churners (1) and non-churners (0)")


def evaluate(
    y: object,
    p: object,
    n_boot: int = 200,
    seed: int = 0,
    share: float = 0.10,
    n_bins: int = 10,
) -> dict[str, dict[str, float]]:
    """All metrics with percentile bootstrap 95% intervals.

    Returns ``{name: {"value", "low", "high"}}`` (plain floats) for ``roc_auc,
    pr_auc, brier, log_loss, ece, lift_top10, capture_top10``; ``value`` is the
    point estimate on the full data, ``low``/``high`` the 2.5th/97.5th
    percentiles over ``n_boot`` replicates. The ``top10`` suffix follows
    ``share`` (``share=0.05`` gives ``lift_top5``). All metrics share the
    replicates of :func:`bootstrap_weights` ``(n, n_boot, seed)``, so results of
    different models with the same ``seed`` are paired.
    """
    y, p = _check_yp(y, p)
    _require_both_classes(y)
    share = _check_share(share)
    n_bins = _check_n_bins(n_bins)
    boot = bootstrap_weights(y.size, n_boot, seed).astype(np.float64)
    full = np.ones((1, y.size))
    result: dict[str, dict[str, float]] = {}
    for name, fn in _metric_functions(share, n_bins).items():
        low, high = percentiles(fn(y, p, boot))
        result[name] = {"value": float(fn(y, p, full)[0]), "low": low, "high": high}
    return result


def compare(
    y: object,
    p_a: object,
    p_b: object,
    metric: str = "roc_auc",
    n_boot: int = 200,
    seed: int = 0,
    share: float = 0.10,
    n_bins: int = 10,
) -> dict[str, float]:
    """Paired bootstrap of ``metric(p_a) - metric(p_b)`` on the same customers.

    ``metric`` is one of the :func:`evaluate` names. Returns plain floats
    ``{"difference": on the full data, "low", "high": 2.5th/97.5th percentiles
    of the paired replicate differences}``. For ``brier``, ``log_loss`` and
    ``ece`` lower is better, so model A beats B when ``high < 0``; for the
    others when ``low > 0``.
    """
    y, p_a = _check_yp(y, p_a)
    _, p_b = _check_yp(y, p_b)
    _require_both_classes(y)
    share = _check_share(share)
    functions = _metric_functions(share, _check_n_bins(n_bins))
    if metric not in functions:
        raise ValueError(f"unknown metric {metric!r}; choose one of {sorted(functions)}")
    fn = functions[metric]
    boot = bootstrap_weights(y.size, n_boot, seed).astype(np.float64)
    full = np.ones((1, y.size))
    difference = float(fn(y, p_a, full)[0] - fn(y, p_b, full)[0])
    low, high = percentiles(fn(y, p_a, boot) - fn(y, p_b, boot))
    return {"difference": difference, "low": low, "high": high}
