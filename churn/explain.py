"""SHAP explanations of the churn model and plain-language reasons.

What is explained
-----------------
The model's probability is a beta calibration of the *ensemble margin*, the
mean of the bagged LightGBM members' log-odds (:meth:`ChurnModel.tree_margin`).
SHAP values are linear in the model, so the ensemble's TreeSHAP values are the
mean of the members' TreeSHAP values, and ``base_value + values.sum(axis=1)``
equals the ensemble margin exactly (up to float rounding). The values are the
path-dependent ("tree_path_dependent") TreeSHAP values of Lundberg et al.
(2020), the ones ``shap.TreeExplainer(booster)`` and LightGBM's
``booster.predict(X, pred_contrib=True)`` return.

How they are computed, and why not with ``shap.TreeExplainer`` directly
-----------------------------------------------------------------------
``shap.TreeExplainer`` works on our boosters, but only because, for a LightGBM
model without background data, it hands the work to LightGBM's own
``pred_contrib`` (same numbers, checked in ``tests/test_explain.py``). Its own
tree parser does not understand LightGBM's native categorical splits
(``contract_type`` etc.): with background data ("interventional") its values
fail its additivity check on our boosters. And ``pred_contrib`` is slow for
what the app needs: it runs the O(leaves x depth^2) TreeSHAP recursion for
every customer in every tree (256 trees of up to 15 leaves in the model this
was measured on: about 0.85 s for the 2,000-customer holdout and over 2 s for
5,000 customers on 2 idle cores, and 5-6 times as long as the tables below on
the same (busy) machine). The number and shape of the trees is chosen per
table by cross-validation (:data:`churn.model.TREE_SHAPES`).

So this module computes the same TreeSHAP values in numpy (``_TreeShap``),
exactly, from a table per leaf (the idea of "Fast TreeSHAP v2", Yang 2021):

* A leaf's share of the SHAP values depends on a customer only through which
  of the distinct features on the leaf's path the customer satisfies (all the
  splits on that feature), a pattern of ``d`` bits. For each leaf, the values
  for all ``2^d`` patterns are computed once per model from the leaf value and
  the training counts down the path (``d`` is at most 6 on the sample's
  model, whose trees have up to 7 leaves; leaves with more than 16 would make
  the tables too big, and such models use ``pred_contrib``).
* Per tree, a customer is described by the directions taken at the tree's
  (at most ``num_leaves - 1``) split nodes, read from which interval between the tree's
  thresholds each value falls in; customers with the same directions get the
  same values, so each tree is evaluated once per distinct direction pattern
  (far fewer patterns than customers in practice) by table
  look-ups.

Split directions follow LightGBM's rules (numeric ``<=`` with its missing-value
handling; categories in the left set go left, missing and unseen ones go
right). As a guard, every result is checked for additivity against the
members' own predictions; if any customer is off by more than 1e-6, the values
are recomputed with ``pred_contrib``. Tests check agreement with
``pred_contrib`` and with ``shap.TreeExplainer`` to 1e-9.

Probability points
------------------
A PM reads probabilities, not log-odds. With ``p`` the calibrated churn
probability and ``p_base`` the calibrated probability at the base value (the
average margin of the training data, as the trees saw it), the difference
``p - p_base`` is shared among the features in proportion to their margin SHAP
values::

    points_j = values_j * (p - p_base) / (margin - base_value)

so the points of a customer sum exactly to ``p - p_base`` and keep the sign of
the SHAP values whenever the calibration is increasing (both beta parameters
positive, as on the sample: 0.96 and 1.12). When the margin equals the
base value, the ratio is the calibration's slope there. Points are shares of
probability in [-1, 1]; sentences show them as percentage points ("+12
points"). They are an allocation, not a second SHAP analysis: features are not
re-explained on the probability scale, where effects do not add up.
"""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.special import expit

from churn import formatting
from churn.artifact import Artifact
from churn.errors import ChurnInputError
from churn.features import FeatureSpec
from churn.model import ChurnModel, beta_logit

__all__ = [
    "Explanation",
    "beeswarm_table",
    "dependence_table",
    "describe_value",
    "explain",
    "global_importance",
    "missing_effect",
    "reason_sentences",
    "reasons_table",
    "shap_margin_values",
    "top_reasons",
    "waterfall_table",
    "what_if",
    "what_if_inputs",
]

_ZERO = 1e-35  # LightGBM's kZeroThreshold: |x| <= this counts as zero
_MAX_PATH_FEATURES = 16  # larger leaves would need 2^d tables; use pred_contrib instead
_CHUNK_ROWS = 20_000


# --------------------------------------------------------------------------- result
@dataclass
class Explanation:
    """SHAP values of a set of customers, on the margin and on the probability scale.

    Attributes
    ----------
    values : ndarray (n, n_features)
        Margin (log-odds) SHAP values of the ensemble; ``base_value + values.sum(1)``
        is the ensemble margin.
    base_value : float
        Expected ensemble margin (log-odds) over the trees' training data.
    points : ndarray (n, n_features)
        The same contributions in probability (share in [-1, 1]); a row sums to
        ``probability - base_probability``.
    base_probability : float
        Calibrated churn probability at ``base_value``, in [0, 1].
    feature_names : list of str
        Feature columns, in the model's order (the columns of ``values``).
    data : DataFrame
        The explained customers' feature values as given (index of the input frame).
    probability : ndarray (n,)
        Calibrated churn probability of each customer, in [0, 1].
    kinds : dict
        ``feature -> "numeric" | "boolean" | "categorical"``.
    categories : dict
        ``feature -> categories seen in training`` (others go down the missing branch).
    """

    values: np.ndarray
    base_value: float
    points: np.ndarray
    base_probability: float
    feature_names: list[str]
    data: pd.DataFrame
    probability: np.ndarray
    kinds: dict[str, str]
    categories: dict[str, list[str]]

    def __len__(self) -> int:
        return self.values.shape[0]


# --------------------------------------------------------------------------- TreeSHAP
def _shapley_tables(z: np.ndarray, v: np.ndarray, d: int) -> np.ndarray:
    """TreeSHAP values of leaves with ``d`` distinct path features, for every pattern.

    ``z`` (L, d): share of training count that follows the path at each feature's
    splits; ``v`` (L,): leaf values. Returns (L, 2^d, d): entry ``[l, p, i]`` is
    the SHAP value of feature ``i`` from leaf ``l`` for a customer who satisfies
    exactly the path features set in the bits of ``p``. The leaf's term is
    ``v * prod_j (o_j if j in S else z_j)``; its Shapley value for ``i`` is
    ``v (o_i - z_i) sum_k w(k) [t^k] prod_{j != i} (z_j + o_j t)`` with
    ``w(k) = k! (d - 1 - k)! / d!``.
    """
    n_patterns = 1 << d
    bits = ((np.arange(n_patterns)[:, None] >> np.arange(d)) & 1).astype(float)  # (P, d)
    # Polynomial prod_j (z_j + o_j t), coefficients by power of t: (L, P, d + 1).
    poly = np.zeros((z.shape[0], n_patterns, d + 1))
    poly[..., 0] = 1.0
    for j in range(d):
        zj = z[:, j, None, None]
        shifted = np.zeros_like(poly)
        shifted[..., 1:] = poly[..., :-1]
        poly = zj * poly + bits[None, :, j, None] * shifted
    weights = np.array(
        [math.factorial(k) * math.factorial(d - 1 - k) / math.factorial(d) for k in range(d)]
    )
    out = np.empty((z.shape[0], n_patterns, d))
    for i in range(d):
        zi = z[:, i, None]  # (L, 1)
        # Divide out feature i: by z_i where it is not satisfied, by (t + z_i) where it is
        # (backward synthetic division, stable because 0 < z_i <= 1).
        cold = poly[..., :d] / zi[..., None]
        hot = np.empty_like(cold)
        hot[..., d - 1] = poly[..., d]
        for k in range(d - 1, 0, -1):
            hot[..., k - 1] = poly[..., k] - zi * hot[..., k]
        satisfied = bits[None, :, i]
        rest = np.where(satisfied[..., None] > 0, hot, cold) @ weights  # (L, P)
        out[..., i] = v[:, None] * (satisfied - zi) * rest
    return out


class _TreeShap:
    """Exact path-dependent TreeSHAP for the ensemble, precomputed per model."""

    def __init__(self, boosters: list[Any], n_features: int) -> None:
        scale = 1.0 / len(boosters)
        feat, thr, is_cat, default_left, missing = [], [], [], [], []
        cat_sets: list[set[int]] = []
        self.trees: list[dict[str, Any]] = []
        self.base_value = 0.0
        leaves: list[tuple[np.ndarray, float, int]] = []  # z, value, d per leaf
        for booster in boosters:
            for info in booster.dump_model()["tree_info"]:
                root = info["tree_structure"]
                if "split_index" not in root:  # a single leaf: only shifts the base value
                    self.base_value += scale * float(root["leaf_value"])
                    continue
                start = len(feat)
                entries: list[tuple[int, bool, int]] = []  # (node position, left?, slot)
                slot_info: list[tuple[int, int, int]] = []  # (leaf, k, feature)
                leaf_slots: list[int] = []
                expected = 0.0
                stack: list[tuple[dict[str, Any], list[tuple[int, bool, float]]]] = [(root, [])]
                while stack:
                    node, path = stack.pop()
                    if "split_index" in node:
                        pos = len(feat) - start
                        f = int(node["split_feature"])
                        feat.append(f)
                        categorical = node["decision_type"] == "=="
                        is_cat.append(categorical)
                        if categorical:
                            thr.append(np.nan)
                            cat_sets.append({int(c) for c in str(node["threshold"]).split("||")})
                        else:
                            thr.append(float(node["threshold"]))
                            cat_sets.append(set())
                        default_left.append(bool(node["default_left"]))
                        missing.append({"None": 0, "Zero": 1, "NaN": 2}[node["missing_type"]])
                        count = float(node["internal_count"])
                        for child, left in (
                            (node["right_child"], False),
                            (node["left_child"], True),
                        ):
                            share = _count(child) / count
                            stack.append((child, [*path, (pos, left, share)]))
                    else:
                        value = scale * float(node["leaf_value"])
                        expected += (
                            value * float(node["leaf_count"]) / float(root["internal_count"])
                        )
                        # Distinct features on the path, in order of first appearance.
                        order: dict[int, int] = {}
                        z: list[float] = []
                        leaf_index = len(leaf_slots)
                        for pos, _left, share in path:
                            f = feat[start + pos]
                            if f not in order:
                                order[f] = len(order)
                                z.append(1.0)
                                slot_info.append((leaf_index, order[f], f))
                            z[order[f]] *= share
                        first_slot = len(slot_info) - len(order)
                        for pos, left, _ in path:
                            entries.append((pos, left, first_slot + order[feat[start + pos]]))
                        leaf_slots.append(first_slot)
                        leaves.append((np.asarray(z), value, len(order)))
                self.base_value += expected
                entries.sort(key=lambda e: e[2])
                slots = np.asarray(slot_info, dtype=np.int64)
                self.trees.append(
                    {
                        "nodes": (start, len(feat)),
                        "pos": np.asarray([e[0] for e in entries], dtype=np.int64),
                        "left": np.asarray([e[1] for e in entries], dtype=bool),
                        "entry_starts": np.searchsorted(
                            [e[2] for e in entries], np.arange(len(slots))
                        ),
                        "slot_leaf": slots[:, 0],
                        "slot_k": slots[:, 1],
                        "slot_feature": slots[:, 2],
                        "leaf_starts": np.asarray(leaf_slots, dtype=np.int64),
                        "first_leaf": len(leaves) - len(leaf_slots),
                    }
                )
        self.n_features = n_features
        self.feature = np.asarray(feat, dtype=np.int64)
        self.usable = all(d <= _MAX_PATH_FEATURES for _, _, d in leaves)
        self._build_decisions(thr, is_cat, default_left, missing, cat_sets)
        if self.usable:
            self._build_tables(leaves)

    def _build_decisions(
        self,
        thresholds: list[float],
        is_cat: list[bool],
        default_left: list[bool],
        missing: list[int],
        cat_sets: list[set[int]],
    ) -> None:
        """Direction tables: node x value class -> goes left, as LightGBM decides.

        A feature's value class is what every split on it can see: for numbers,
        the interval between the split thresholds plus "was missing" and "is
        zero" flags (for LightGBM's missing-value rules); for categories, the
        category code (0 = missing, negative or beyond every split's set, which
        always goes right).
        """
        self.cuts: dict[int, np.ndarray] = {}
        self.limits: dict[int, int] = {}
        for f in np.unique(self.feature):
            nodes = np.flatnonzero(self.feature == f)
            kinds = {is_cat[i] for i in nodes}
            if len(kinds) > 1:  # not produced by LightGBM; keep its own algorithm
                self.usable = False
            if is_cat[nodes[0]]:
                self.limits[int(f)] = 1 + max(max(cat_sets[i], default=0) for i in nodes)
            else:
                self.cuts[int(f)] = np.unique([thresholds[i] for i in nodes])
        widths = [4 * (c.size + 1) for c in self.cuts.values()]
        widths += [limit + 1 for limit in self.limits.values()]
        self.lut = np.zeros((self.feature.size, max(widths, default=1)), dtype=bool)
        for i, f in enumerate(self.feature):
            if is_cat[i]:
                self.lut[i, [c + 1 for c in cat_sets[i]]] = True
            elif int(f) in self.cuts:
                cuts = self.cuts[int(f)]
                classes = np.arange(4 * (cuts.size + 1))
                interval, was_nan, is_zero = classes // 4, (classes // 2) % 2, classes % 2
                goes_default = ((missing[i] == 2) & (was_nan == 1)) | (
                    (missing[i] == 1) & (is_zero == 1)
                )
                rank = np.searchsorted(cuts, thresholds[i])
                self.lut[i, classes] = np.where(goes_default, default_left[i], interval <= rank)

    def _classes(self, matrix: np.ndarray) -> np.ndarray:
        """Value class of every feature for every row (see :meth:`_build_decisions`)."""
        out = np.zeros(matrix.shape, dtype=np.int64)
        for f, cuts in self.cuts.items():
            x = matrix[:, f]
            nan = np.isnan(x)
            x = np.where(nan, 0.0, x)  # LightGBM reads NaN as 0 unless the split handles NaN
            interval = np.searchsorted(cuts, x, side="left")
            out[:, f] = 4 * interval + 2 * nan + (np.abs(x) <= _ZERO)
        for f, limit in self.limits.items():
            x = matrix[:, f]
            valid = ~np.isnan(x) & (x < limit)
            code = np.trunc(np.where(valid, x, -1.0)).astype(np.int64)
            out[:, f] = np.where(valid & (code >= 0), code + 1, 0)
        return out

    def _build_tables(self, leaves: list[tuple[np.ndarray, float, int]]) -> None:
        d_all = np.asarray([d for _, _, d in leaves], dtype=np.int64)
        sizes = (1 << d_all) * d_all
        self.leaf_offset = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        self.leaf_d = d_all
        self.table = np.empty(int(sizes.sum()))
        for d in np.unique(d_all):
            which = np.flatnonzero(d_all == d)
            z = np.stack([leaves[i][0] for i in which])
            v = np.asarray([leaves[i][1] for i in which])
            tables = _shapley_tables(z, v, int(d)).reshape(which.size, -1)
            for row, leaf in enumerate(which):
                self.table[self.leaf_offset[leaf] : self.leaf_offset[leaf] + sizes[leaf]] = tables[
                    row
                ]
        for tree in self.trees:
            start, stop = tree["nodes"]
            width = stop - start
            # Slots in feature order, so one sum per feature adds a pattern's values up.
            by_feature = np.argsort(tree["slot_feature"], kind="stable")
            features = tree["slot_feature"][by_feature]
            leaf = tree["first_leaf"] + tree["slot_leaf"][by_feature]
            tree["slot_base"] = self.leaf_offset[leaf] + tree["slot_k"][by_feature]
            tree["slot_d"] = self.leaf_d[leaf]
            tree["slot_leaf_sorted"] = tree["slot_leaf"][by_feature]
            tree["slot_bit"] = np.left_shift(1, tree["slot_k"])
            tree["feature_starts"] = np.flatnonzero(np.r_[True, features[1:] != features[:-1]])
            tree["features"] = features[tree["feature_starts"]]
            if width <= 62:
                # Per feature of the tree: value class -> bits of the directions at its splits.
                used = np.unique(self.feature[start:stop])
                codes = np.zeros((used.size, self.lut.shape[1]), dtype=np.int64)
                for pos in range(width):
                    row = np.searchsorted(used, self.feature[start + pos])
                    codes[row] |= self.lut[start + pos].astype(np.int64) << pos
                tree["code_features"] = used
                tree["code_tables"] = codes

    def values(self, matrix: np.ndarray) -> np.ndarray:
        """SHAP values (n, n_features) of the ensemble margin."""
        out = np.zeros((matrix.shape[0], self.n_features))
        for lo in range(0, matrix.shape[0], _CHUNK_ROWS):
            block = matrix[lo : lo + _CHUNK_ROWS]
            out[lo : lo + block.shape[0]] = self._block_values(self._classes(block))
        return out

    def _patterns(self, tree: dict[str, Any], classes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The tree's distinct direction patterns (u, nodes) and each row's pattern (n,)."""
        start, stop = tree["nodes"]
        width = stop - start
        if width > 62:
            nodes = np.arange(start, stop)
            directions = self.lut[nodes[None, :], classes[:, self.feature[start:stop]]]
            patterns, inverse = np.unique(directions, axis=0, return_inverse=True)
            return patterns, inverse.ravel()
        code = np.zeros(classes.shape[0], dtype=np.int64)
        for table, f in zip(tree["code_tables"], tree["code_features"], strict=True):
            code |= table[classes[:, f]]
        if width <= 16:  # distinct codes by marking, no sort
            seen = np.zeros(1 << width, dtype=bool)
            seen[code] = True
            distinct = np.flatnonzero(seen)
            inverse = (np.cumsum(seen) - 1)[code]
        else:
            distinct, inverse = np.unique(code, return_inverse=True)
        return ((distinct[:, None] >> np.arange(width)) & 1).astype(bool), inverse.ravel()

    def _block_values(self, classes: np.ndarray) -> np.ndarray:
        n = classes.shape[0]
        per_pattern: list[np.ndarray] = []  # SHAP values of each tree's distinct patterns
        which = np.empty((n, len(self.trees)), dtype=np.int64)  # row -> pattern, per tree
        offset = 0
        for t, tree in enumerate(self.trees):
            patterns, inverse = self._patterns(tree, classes)
            # Which distinct path features each pattern satisfies, as bits per leaf.
            match = patterns[:, tree["pos"]] == tree["left"]
            satisfied = np.logical_and.reduceat(match, tree["entry_starts"], axis=1)
            mask = np.add.reduceat(satisfied * tree["slot_bit"], tree["leaf_starts"], axis=1)
            # Look the leaves' values up and add them per feature.
            index = tree["slot_base"] + mask[:, tree["slot_leaf_sorted"]] * tree["slot_d"]
            sums = np.add.reduceat(self.table[index], tree["feature_starts"], axis=1)
            values = np.zeros((patterns.shape[0], self.n_features))
            values[:, tree["features"]] = sums
            per_pattern.append(values)
            which[:, t] = offset + inverse
            offset += patterns.shape[0]
        if not per_pattern:
            return np.zeros((n, self.n_features))
        gather = sparse.csr_matrix(
            (np.ones(which.size), which.ravel(), np.arange(0, which.size + 1, which.shape[1])),
            shape=(n, offset),
        )
        return np.asarray(gather @ np.vstack(per_pattern))


def _count(node: dict[str, Any]) -> float:
    return float(node["internal_count"] if "split_index" in node else node["leaf_count"])


_ENGINES: weakref.WeakKeyDictionary[ChurnModel, tuple[tuple[int, ...], _TreeShap]] = (
    weakref.WeakKeyDictionary()
)


def _engine(model: ChurnModel) -> _TreeShap:
    """The model's TreeSHAP tables (built on first use, kept while the model lives)."""
    key = tuple(id(b) for b in model.boosters_)
    cached = _ENGINES.get(model)
    if cached is not None and cached[0] == key:
        return cached[1]
    engine = _TreeShap(model.boosters_, len(model.spec_.columns))
    _ENGINES[model] = (key, engine)
    return engine


def _pred_contrib(model: ChurnModel, matrix: np.ndarray) -> np.ndarray:
    """LightGBM's own TreeSHAP, averaged over members: (n, F + 1), last column the base."""
    return np.mean(
        [b.predict(matrix, pred_contrib=True, num_threads=model.n_jobs) for b in model.boosters_],
        axis=0,
    )


def shap_margin_values(
    model: ChurnModel, matrix: np.ndarray, engine: str = "numpy"
) -> tuple[np.ndarray, float, np.ndarray]:
    """Ensemble TreeSHAP values of a tree matrix: ``(values (n, F), base_value, margin (n,))``.

    ``engine="numpy"`` uses the per-leaf tables (checked for additivity, with
    ``pred_contrib`` as fallback); ``engine="lightgbm"`` uses LightGBM's
    ``pred_contrib`` directly (slower, same numbers).
    """
    if engine not in ("numpy", "lightgbm"):
        raise ValueError(f"unknown SHAP engine {engine!r}")
    tables = _engine(model)
    if matrix.shape[0] == 0:
        return np.zeros((0, matrix.shape[1])), tables.base_value, np.zeros(0)
    margin = model._member_margins_matrix(matrix).mean(axis=0)
    if engine == "numpy" and tables.usable:
        values = tables.values(matrix)
        error = np.abs(tables.base_value + values.sum(axis=1) - margin)
        if np.all(error <= 1e-6):  # NaN (a broken table) fails too
            return values, tables.base_value, margin
    contrib = _pred_contrib(model, matrix)
    return contrib[:, :-1], float(contrib[0, -1]), margin


# --------------------------------------------------------------------------- explain
def _model_of(artifact_or_model: Artifact | ChurnModel) -> ChurnModel:
    if isinstance(artifact_or_model, Artifact):
        return artifact_or_model.model
    if isinstance(artifact_or_model, ChurnModel):
        return artifact_or_model
    raise ChurnInputError("Explain needs a trained churn model or model artifact.")


def _calibrated(model: ChurnModel, margin: np.ndarray) -> np.ndarray:
    return expit(beta_logit(model.calibration_, margin))


def _slope(model: ChurnModel, margin: np.ndarray) -> np.ndarray:
    """d p / d margin of the calibrated probability (the limit of the points ratio)."""
    a, b, _ = model.calibration_
    s = expit(margin)
    p = _calibrated(model, margin)
    return p * (1.0 - p) * (a * (1.0 - s) + b * s)


def explain(artifact_or_model: Artifact | ChurnModel, frame: pd.DataFrame) -> Explanation:
    """SHAP values of every customer (row) of ``frame``, vectorised over customers.

    ``frame`` needs the model's feature columns; other columns (id, target,
    scores) are ignored. See the module docstring for the method.
    """
    model = _model_of(artifact_or_model)
    if not isinstance(frame, pd.DataFrame):
        raise ChurnInputError("Pass the customers as a table (a pandas DataFrame).")
    spec = model.spec_
    matrix = spec.tree_matrix(frame)
    values, base, margin = shap_margin_values(model, matrix)
    probability = _calibrated(model, margin)
    base_probability = float(_calibrated(model, np.array([base]))[0])
    delta = values.sum(axis=1)  # margin - base, up to rounding
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(
            np.abs(delta) > 1e-9,
            (probability - base_probability) / delta,
            _slope(model, np.full(delta.shape, base)),
        )
    return Explanation(
        values=values,
        base_value=float(base),
        points=values * ratio[:, None],
        base_probability=base_probability,
        feature_names=list(spec.columns),
        data=frame[spec.columns],
        probability=probability,
        kinds=dict(spec.kinds),
        categories={c: list(v) for c, v in spec.categories.items()},
    )


def global_importance(expl: Explanation) -> pd.DataFrame:
    """Mean |SHAP| per feature (log-odds) and in probability points, largest first.

    Columns: ``feature``, ``mean_abs_shap`` (log-odds), ``mean_abs_points``
    (probability, a share in [0, 1]); sorted by ``mean_abs_shap`` descending.
    """
    n_features = len(expl.feature_names)
    table = pd.DataFrame(
        {
            "feature": expl.feature_names,
            "mean_abs_shap": np.abs(expl.values).mean(axis=0)
            if len(expl)
            else np.zeros(n_features),
            "mean_abs_points": (
                np.abs(expl.points).mean(axis=0) if len(expl) else np.zeros(n_features)
            ),
        }
    )
    return table.sort_values("mean_abs_shap", ascending=False, kind="stable").reset_index(drop=True)


# --------------------------------------------------------------------------- sentences
def describe_value(expl: Explanation, feature: str, rows: np.ndarray) -> list[str]:
    """What customers ``rows`` (positions) have for ``feature``, as words.

    ``"contract_type is Month-to-month"``, ``"tenure_months = 3"``,
    ``"paperless_billing is yes"``, ``"satisfaction_score is missing"``; a category
    the model never saw in training says so.
    """
    kind = expl.kinds.get(feature, "numeric")
    series = expl.data[feature].iloc[rows]
    if kind == "categorical":
        text = series.astype("string").str.strip()
        known = set(expl.categories.get(feature, []))
        return [
            f"{feature} is missing"
            if value is pd.NA or value == ""
            else f"{feature} is {value}" + ("" if value in known else " (new to the model)")
            for value in text.tolist()
        ]
    spec = FeatureSpec(columns=[feature], kinds={feature: kind})
    numbers = spec.column_values(series.to_frame(), feature)
    if kind == "boolean":
        words = {1.0: "yes", 0.0: "no"}
        return [f"{feature} is missing" if v != v else f"{feature} is {words[v]}" for v in numbers]
    return [
        f"{feature} is missing" if v != v else f"{feature} = {formatting.number(v)}"
        for v in numbers
    ]


def _reasons(expl: Explanation, order: np.ndarray) -> np.ndarray:
    """Reason sentences for the cells ``(row, order[row, i])``: an object array like ``order``."""
    out = np.empty(order.shape, dtype=object)
    for j, feature in enumerate(expl.feature_names):
        rows, slots = np.nonzero(order == j)
        if rows.size == 0:
            continue
        described = describe_value(expl, feature, rows)
        out[rows, slots] = [
            f"{words}: {formatting.signed_points(p)}"
            for words, p in zip(described, expl.points[rows, j], strict=True)
        ]
    return out


def reason_sentences(expl: Explanation, row: int, k: int = 5) -> list[str]:
    """The ``k`` largest contributions of customer ``row`` (a position) as sentences.

    Sorted by absolute probability points, e.g. ``"contract_type is Month-to-month:
    +12 points"``, ``"tenure_months = 3: +8 points"``, ``"satisfaction_score is
    missing: +2 points"``. Positive points raise the churn probability.
    """
    if not 0 <= row < len(expl):
        raise ChurnInputError(f"There is no customer number {row} in this explanation.")
    order = np.argsort(-np.abs(expl.points[row]), kind="stable")[: max(int(k), 0)]
    cells = np.full((len(expl), order.size), -1)
    cells[row] = order
    return [str(text) for text in _reasons(expl, cells)[row]]


def top_reasons(artifact: Artifact | ChurnModel, frame: pd.DataFrame, k: int = 3) -> pd.DataFrame:
    """The ``k`` largest reasons per customer, by absolute probability points.

    Returns a frame with the index of ``frame`` and columns ``reason_1`` ...
    ``reason_k``: signed sentences such as ``"contract_type is Month-to-month:
    +12 points"`` (positive points raise the churn probability), largest first,
    whether they raise or lower it. Under a second for 5,000 customers.
    """
    return reasons_table(explain(artifact, frame), k)


def reasons_table(expl: Explanation, k: int = 3) -> pd.DataFrame:
    """:func:`top_reasons` from an existing explanation (no SHAP recomputation)."""
    k = max(1, min(int(k), len(expl.feature_names)))
    order = np.argsort(-np.abs(expl.points), axis=1, kind="stable")[:, :k]
    return pd.DataFrame(
        _reasons(expl, order),
        index=expl.data.index,
        columns=[f"reason_{i + 1}" for i in range(k)],
        dtype="str",
    )


# --------------------------------------------------------------------------- what-if
def what_if(
    artifact: Artifact | ChurnModel, row_frame: pd.DataFrame, changes: dict[str, Any]
) -> dict[str, Any]:
    """Probability and interval of one customer before and after changing some values.

    Parameters
    ----------
    row_frame : a one-row frame with the model's feature columns.
    changes : ``{feature: new value}``; a missing value is ``None`` or NaN.

    Returns
    -------
    ``{"before": {...}, "after": {...}, "change": float, "changed": {...}}`` where
    ``before`` and ``after`` hold ``probability``, ``low``, ``high`` (in [0, 1])
    and ``change`` is the after minus before probability.
    """
    model = _model_of(artifact)
    if not isinstance(row_frame, pd.DataFrame) or len(row_frame) != 1:
        raise ChurnInputError("A what-if needs exactly one customer (a one-row table).")
    spec = model.spec_
    spec.check_columns(row_frame)
    unknown = [c for c in changes if c not in spec.columns]
    if unknown:
        raise ChurnInputError(
            f"The model has no feature called {', '.join(map(str, unknown))}; choose one of "
            f"{', '.join(spec.columns)}."
        )
    before_row = row_frame[spec.columns]
    after_row = before_row.copy()
    for column, value in changes.items():
        kind = spec.kinds[column]
        missing = value is None or (isinstance(value, float) and value != value)
        if kind == "numeric" and not missing:
            try:
                value = float(value)
            except (TypeError, ValueError):
                raise ChurnInputError(f"{column} takes a number; '{value}' is not one.") from None
        after_row[column] = pd.Series([None if missing else value], index=after_row.index)
    both = pd.concat([before_row, after_row], ignore_index=True)
    scores = model.predict_frame(both)
    out = {
        name: {
            "probability": float(scores["churn_probability"].iloc[i]),
            "low": float(scores["probability_low"].iloc[i]),
            "high": float(scores["probability_high"].iloc[i]),
        }
        for i, name in enumerate(("before", "after"))
    }
    out["change"] = out["after"]["probability"] - out["before"]["probability"]
    out["changed"] = dict(changes)
    return out


def what_if_inputs(expl: Explanation, row: int, k: int = 4) -> list[dict[str, Any]]:
    """The ``k`` features that move customer ``row`` the most, ready for what-if widgets.

    Each item: ``feature``, ``kind`` ("numeric" | "boolean" | "categorical"),
    ``current`` (the customer's value: a float or None for numbers, "yes"/"no"
    or None for booleans, a string or None for categories), ``options`` (the
    categories the model knows, plus the current one if new; ["yes", "no"] for
    booleans; empty for numbers) and ``points`` (its contribution, a share).
    """
    if not 0 <= row < len(expl):
        raise ChurnInputError(f"There is no customer number {row} in this explanation.")
    order = np.argsort(-np.abs(expl.points[row]), kind="stable")[: max(int(k), 0)]
    items = []
    for j in order:
        feature = expl.feature_names[j]
        kind = expl.kinds.get(feature, "numeric")
        raw = expl.data[feature].iloc[row : row + 1]
        options: list[str] = []
        if kind == "categorical":
            text = raw.astype("string").str.strip().iloc[0]
            current = None if text is pd.NA or text == "" else str(text)
            options = list(expl.categories.get(feature, []))
            if current is not None and current not in options:
                options.append(current)
        else:
            spec = FeatureSpec(columns=[feature], kinds={feature: kind})
            value = float(spec.column_values(raw.to_frame(), feature)[0])
            if kind == "boolean":
                current = None if value != value else ("yes" if value == 1.0 else "no")
                options = ["yes", "no"]
            else:
                current = None if value != value else value
        items.append(
            {
                "feature": feature,
                "kind": kind,
                "current": current,
                "options": options,
                "points": float(expl.points[row, j]),
            }
        )
    return items


# --------------------------------------------------------------------------- chart data
def _value_rank(expl: Explanation, feature: str) -> np.ndarray:
    """Percentile rank in [0, 1] of each customer's value (NaN for categories and missing)."""
    kind = expl.kinds.get(feature, "numeric")
    if kind == "categorical":
        return np.full(len(expl), np.nan)
    spec = FeatureSpec(columns=[feature], kinds={feature: kind})
    values = pd.Series(spec.column_values(expl.data, feature))
    return values.rank(pct=True, method="average").to_numpy(dtype=float, na_value=np.nan)


def _value_text(expl: Explanation, feature: str, rows: np.ndarray) -> list[str]:
    """The value part of :func:`describe_value` ("Month-to-month", "3", "missing")."""
    described = describe_value(expl, feature, rows)
    cut = len(feature) + 1
    return [
        text[cut + 3 :] if text[cut:].startswith("is ") else text[cut + 2 :] for text in described
    ]


def beeswarm_table(
    expl: Explanation, max_points: int = 1500, features: int = 10, seed: int = 0
) -> pd.DataFrame:
    """Long table for a beeswarm of per-customer points, subsampled for the browser.

    The ``features`` most important features (by mean |points|) and a random
    sample of customers so that there are at most about ``max_points`` rows.
    Columns: ``feature``, ``order`` (0 = most important), ``points`` (share),
    ``value`` (as text), ``value_rank`` (percentile rank of the value within the
    feature, in [0, 1]; NaN for categories and missing values), ``jitter``
    (in [-0.5, 0.5], a deterministic vertical offset), ``row`` (position).
    """
    importance = global_importance(expl).sort_values(
        "mean_abs_points", ascending=False, kind="stable"
    )
    chosen = importance["feature"].tolist()[: max(int(features), 1)]
    per_feature = max(1, int(max_points) // len(chosen))
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(len(expl), size=min(per_feature, len(expl)), replace=False))
    parts = []
    for order, feature in enumerate(chosen):
        j = expl.feature_names.index(feature)
        parts.append(
            pd.DataFrame(
                {
                    "feature": feature,
                    "order": order,
                    "points": expl.points[rows, j],
                    "value": _value_text(expl, feature, rows),
                    "value_rank": _value_rank(expl, feature)[rows],
                    "jitter": rng.uniform(-0.5, 0.5, rows.size),
                    "row": rows,
                }
            )
        )
    if not parts or rows.size == 0:
        return pd.DataFrame(
            columns=["feature", "order", "points", "value", "value_rank", "jitter", "row"]
        )
    return pd.concat(parts, ignore_index=True)


def missing_effect(expl: Explanation, feature: str) -> dict[str, float]:
    """Customers with no value for ``feature`` and its average effect on them, over all rows.

    Returns ``{"customers": count, "mean_points": average points (share of probability,
    NaN when no customer lacks a value)}``.
    """
    j = expl.feature_names.index(feature)
    missing = expl.data[feature].isna().to_numpy()
    count = int(missing.sum())
    mean = float(expl.points[missing, j].mean()) if count else float("nan")
    return {"customers": count, "mean_points": mean}


def dependence_table(
    expl: Explanation, feature: str, max_points: int = 1500, seed: int = 0
) -> pd.DataFrame:
    """A feature's value against its points, per customer (a random sample of ``max_points``).

    Columns: ``number`` (the value for numbers and booleans, NaN for categories
    and missing), ``category`` (the value as text: the category, "yes"/"no",
    "missing" or the formatted number), ``points`` (share), ``missing`` (bool),
    ``row`` (position).
    """
    if feature not in expl.feature_names:
        raise ChurnInputError(
            f"The model has no feature called {feature}; choose one of "
            f"{', '.join(expl.feature_names)}."
        )
    j = expl.feature_names.index(feature)
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(len(expl), size=min(int(max_points), len(expl)), replace=False))
    kind = expl.kinds.get(feature, "numeric")
    text = _value_text(expl, feature, rows)
    if kind == "categorical":
        number = np.full(rows.size, np.nan)
    else:
        spec = FeatureSpec(columns=[feature], kinds={feature: kind})
        number = spec.column_values(expl.data.iloc[rows], feature)
    missing = np.asarray([t == "missing" for t in text], dtype=bool)
    return pd.DataFrame(
        {
            "number": number,
            "category": text,
            "points": expl.points[rows, j],
            "missing": missing,
            "row": rows,
        }
    )


def waterfall_table(expl: Explanation, row: int, k: int = 8) -> pd.DataFrame:
    """Steps from the base probability to customer ``row``'s probability.

    Rows in display order: "Typical customer" (the base probability), the ``k``
    largest contributions (by |points|), one row for all other features, and
    "This customer". Columns: ``step`` (label), ``order``, ``start``, ``end``
    (probabilities in [0, 1]), ``points`` (end - start, a share), ``kind``
    ("base" | "up" | "down" | "total"), ``text`` (signed points as words).
    """
    if not 0 <= row < len(expl):
        raise ChurnInputError(f"There is no customer number {row} in this explanation.")
    points = expl.points[row]
    order = np.argsort(-np.abs(points), kind="stable")
    top = order[: max(int(k), 0)]
    rest = order[len(top) :]
    labels = [describe_value(expl, expl.feature_names[j], np.array([row]))[0] for j in top]
    amounts = [float(points[j]) for j in top]
    if rest.size:
        labels.append(f"{rest.size} other features")
        amounts.append(float(points[rest].sum()))
    start = expl.base_probability
    rows = [
        {
            "step": "Typical customer",
            "start": 0.0,
            "end": start,
            "points": start,
            "kind": "base",
            "text": f"{start:.1%}",
        }
    ]
    for label, amount in zip(labels, amounts, strict=True):
        rows.append(
            {
                "step": label,
                "start": start,
                "end": start + amount,
                "points": amount,
                "kind": "up" if amount >= 0 else "down",
                "text": formatting.signed_points(amount),
            }
        )
        start += amount
    final = float(expl.probability[row])
    rows.append(
        {
            "step": "This customer",
            "start": 0.0,
            "end": final,
            "points": final,
            "kind": "total",
            "text": f"{final:.1%}",
        }
    )
    table = pd.DataFrame(rows)
    table.insert(1, "order", np.arange(len(table)))
    return table
