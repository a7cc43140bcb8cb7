"""Exact path-dependent TreeSHAP values of the bagged ensemble, by the cheaper of two engines.

What is computed
----------------
The SHAP values of the *ensemble margin*, the mean of the bagged LightGBM
members' log-odds (:meth:`ChurnModel.tree_margin`). SHAP values are linear in
the model, so the ensemble's TreeSHAP values are the mean of the members'
TreeSHAP values, and ``base_value + values.sum(axis=1)`` equals the ensemble
margin exactly (up to float rounding). The values are the path-dependent
("tree_path_dependent") TreeSHAP values of Lundberg et al. (2020), the ones
``shap.TreeExplainer(booster)`` and LightGBM's
``booster.predict(X, pred_contrib=True)`` return.

Why not with ``shap.TreeExplainer`` or ``pred_contrib`` directly
----------------------------------------------------------------
``shap.TreeExplainer`` works on our boosters, but only because, for a LightGBM
model without background data, it hands the work to LightGBM's own
``pred_contrib`` (same numbers, checked in ``tests/test_explain.py``). Its own
tree parser does not understand LightGBM's native categorical splits
(``contract_type`` etc.): with background data ("interventional") its values
fail its additivity check on our boosters. And ``pred_contrib`` does more work
than the app needs: it runs the O(leaves x depth^2) TreeSHAP recursion for
every customer in every tree, so its time grows with customers x trees x leaves
x depth^2. The tables below do that recursion once per leaf and model; a
customer then costs a direction pattern per tree, and each tree is evaluated
once per distinct pattern by look-ups. On the sample's model this takes a
fraction of ``pred_contrib``'s time, a smaller one the more customers there are.
The number and shape of the trees is chosen per table by cross-validation
(:data:`churn.model.TREE_SHAPES`), and on deep trees the tables lose: their
memory grows with ``2^d`` per leaf, and customers rarely share a direction
pattern. There ``pred_contrib`` is the engine (next section).

Which engine, chosen by cost
----------------------------
:func:`plan_shap` decides before anything is built. It reads each member's
trees from LightGBM's model text (``_MemberShape``: per leaf its depth and the
number ``d`` of distinct features on its path, no tables) and estimates, for
the number of customers asked about, each engine's memory (tables: exactly
``8 * 2^d * d`` bytes per leaf; ``pred_contrib``: one result per chunk of
customers) and time (tables: building them, then per customer and per distinct
pattern; ``pred_contrib``: about ``(depth + 1)^2`` per leaf and customer). Per
member it takes the faster engine whose memory fits :data:`MEMORY_BUDGET_MB`
(the tables at most half of it, all members together): a member's SHAP values
are its own whichever engine computes them, and the ensemble's are their mean,
so members may differ. Customers go through in chunks whose working memory
fits the rest of the budget. The plan also says how many customers fit a time
budget, which :func:`churn.explain.explain` uses to explain a random sample
when everyone would take too long.

How
---
This module computes the same TreeSHAP values in numpy (``_TreeShap``),
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

The tables are built on the first explanation that uses them and kept, per model,
while the model lives (a weak-keyed cache, rebuilt if its boosters or the members
that use the tables change); so is what was read of the trees.
Used by :mod:`churn.explain`, which turns the values into probability points
and sentences.
"""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass
from typing import Any

import numpy as np

from churn.model import ChurnModel

__all__ = ["MEMORY_BUDGET_MB", "ShapPlan", "plan_shap", "shap_margin_values"]

_ZERO = 1e-35  # LightGBM's kZeroThreshold: |x| <= this counts as zero
_MAX_PATH_FEATURES = 16  # larger leaves would need 2^d tables; use pred_contrib instead
_CHUNK_ROWS = 20_000
_BUILD_BYTES = 32 << 20  # temporaries of one slice of leaves while the tables are built


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

    def __init__(self, boosters: list[Any], n_features: int, members: int | None = None) -> None:
        # The ensemble averages ``members`` boosters; these are some (or all) of them.
        scale = 1.0 / (members or len(boosters))
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
            group = np.flatnonzero(d_all == d)
            # Slices of leaves, so the temporaries stay near _BUILD_BYTES whatever the model.
            step = max(1, _BUILD_BYTES // (48 * (int(d) + 1) * (1 << int(d))))
            for lo in range(0, group.size, step):
                which = group[lo : lo + step]
                z = np.stack([leaves[i][0] for i in which])
                v = np.asarray([leaves[i][1] for i in which])
                tables = _shapley_tables(z, v, int(d)).reshape(which.size, -1)
                for row, leaf in enumerate(which):
                    start = self.leaf_offset[leaf]
                    self.table[start : start + sizes[leaf]] = tables[row]
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
        out = np.zeros((n, self.n_features))
        for tree in self.trees:
            patterns, inverse = self._patterns(tree, classes)
            # Which distinct path features each pattern satisfies, as bits per leaf.
            match = patterns[:, tree["pos"]] == tree["left"]
            satisfied = np.logical_and.reduceat(match, tree["entry_starts"], axis=1)
            mask = np.add.reduceat(satisfied * tree["slot_bit"], tree["leaf_starts"], axis=1)
            # Look the leaves' values up and add them per feature; then per customer, so
            # the working memory is one tree's patterns, not every tree's.
            index = tree["slot_base"] + mask[:, tree["slot_leaf_sorted"]] * tree["slot_d"]
            sums = np.add.reduceat(self.table[index], tree["feature_starts"], axis=1)
            out[:, tree["features"]] += sums[inverse]
        return out


def _count(node: dict[str, Any]) -> float:
    return float(node["internal_count"] if "split_index" in node else node["leaf_count"])


# --------------------------------------------------------------------------- cost
#: Seconds per unit of work, measured on the development machine (2 cores shared with
#: other work, load average about 4) on deep models (31 leaves, up to 13 features on a
#: path) and the sample's shallow one. Only the ratios between engines and the order of
#: magnitude matter: they choose the engines and whether to sample (where a sample stops
#: is measured, see :func:`churn.explain.explain`).
_SECONDS_LGB = 6e-9  # pred_contrib: per row and unit of sum over leaves of (depth + 1)^2
_SECONDS_TABLE_BUILD = 3e-8  # tables: per unit of sum over leaves of 2^d d^2
_SECONDS_TABLE_LEAF = 5e-5  # tables: per leaf (reading the tree, arranging its slots)
_SECONDS_TABLE_ROW = 2e-8  # tables: per row and feature of a tree (codes, adding up)
_SECONDS_TABLE_PATTERN = 1.5e-8  # tables: per distinct pattern and path entry or slot
_SECONDS_TABLE_TREE = 5e-5  # tables: per tree and chunk of rows (numpy calls)
#: Memory the explanation may use beyond its inputs and result; tables bigger than this
#: are never built.
MEMORY_BUDGET_MB = 256.0


class _MemberShape:
    """What the cost of explaining one member depends on, read from its trees' structure.

    Read from LightGBM's model text (no tables, no JSON dump): per leaf, its depth and
    the number ``d`` of distinct features on its path; per tree, its splits and features.
    """

    def __init__(self, booster: Any) -> None:
        self.trees = 0
        self.leaves = 0
        self.max_d = 0
        self.max_depth = 0
        self.base_value = 0.0  # expected raw score over the training data
        self.table_bytes = 0.0  # 8 * sum 2^d d over leaves
        self.build_work = 0.0  # sum 2^d d^2 over leaves
        self.lgb_row_work = 0.0  # per row: sum (depth + 1)^2 over leaves
        self.table_row_work = 0.0  # per row: sum of the trees' distinct features
        self.pattern_bound: list[tuple[int, float]] = []  # per tree: (splits, entries + slots)
        text = booster.model_to_string()
        for block in text.split("\nTree=")[1:]:
            fields = dict(
                line.split("=", 1) for line in block.split("\n\n", 1)[0].splitlines() if "=" in line
            )
            self._read_tree(fields)

    def _read_tree(self, fields: dict[str, str]) -> None:
        leaf_value = np.array(fields["leaf_value"].split(), dtype=float)
        if int(fields["num_leaves"]) <= 1 or "split_feature" not in fields:
            self.base_value += float(leaf_value[0]) if leaf_value.size else 0.0
            return
        feature = np.array(fields["split_feature"].split(), dtype=np.int64)
        left = np.array(fields["left_child"].split(), dtype=np.int64)
        right = np.array(fields["right_child"].split(), dtype=np.int64)
        count = np.array(fields["leaf_count"].split(), dtype=float)
        self.trees += 1
        self.leaves += leaf_value.size
        self.base_value += float(leaf_value @ count / max(count.sum(), 1.0))
        entries = slots = 0
        stack: list[tuple[int, int, frozenset[int]]] = [(0, 0, frozenset())]
        while stack:
            node, depth, used = stack.pop()
            if node < 0:  # a leaf
                d = len(used)
                self.max_d = max(self.max_d, d)
                self.max_depth = max(self.max_depth, depth)
                self.table_bytes += 8.0 * d * (1 << min(d, 60))
                self.build_work += float(d * d * (1 << min(d, 60)))
                self.lgb_row_work += float((depth + 1) ** 2)
                entries += depth
                slots += d
                continue
            used = used | {int(feature[node])}
            stack.append((int(left[node]), depth + 1, used))
            stack.append((int(right[node]), depth + 1, used))
        self.table_row_work += float(np.unique(feature).size)
        self.pattern_bound.append((int(feature.size), float(entries + slots)))

    def lightgbm_seconds(self, rows: int) -> float:
        return _SECONDS_LGB * rows * self.lgb_row_work

    def build_seconds(self) -> float:
        return _SECONDS_TABLE_BUILD * self.build_work + _SECONDS_TABLE_LEAF * self.leaves

    def tables_seconds(self, rows: int, chunk: int, built: bool = False) -> float:
        """Building the tables and explaining ``rows`` in chunks of ``chunk`` rows.

        A tree costs per distinct direction pattern of a chunk; there are at most
        ``2^splits`` of them, and at most as many as rows.
        """
        chunks = max(1, -(-rows // chunk))
        last = rows - (chunks - 1) * chunk
        patterns = sum(
            ((chunks - 1) * min(chunk, 2.0**splits) + min(last, 2.0**splits)) * work
            for splits, work in self.pattern_bound
        )
        return (
            (0.0 if built else self.build_seconds())
            + _SECONDS_TABLE_ROW * rows * self.table_row_work
            + _SECONDS_TABLE_PATTERN * patterns
            + _SECONDS_TABLE_TREE * self.trees * chunks
        )


@dataclass(frozen=True)
class ShapPlan:
    """How the SHAP values of a number of customers are computed, chosen by cost.

    Attributes
    ----------
    engines : per member, ``"tables"`` (this module's per-leaf tables) or ``"lightgbm"``
        (LightGBM's ``pred_contrib``, exact TreeSHAP in C++: slower on shallow trees, but
        its memory does not grow with the trees' depth).
    rows : customers asked about.
    explained : customers to explain: ``rows``, or, when explaining everyone would
        take longer than the time budget, the estimated size of a random sample that
        fits (:func:`churn.explain.explain` explains that many: the estimate, not the
        clock, so the same table always gives the same sample).
    chunk_rows : customers explained at a time (bounds the working memory).
    seconds : estimated time for the ``explained`` customers (development machine).
    memory_mb : estimated working memory (tables and one chunk), in MB.
    """

    engines: tuple[str, ...]
    rows: int
    explained: int
    chunk_rows: int
    seconds: float
    memory_mb: float

    @property
    def engine(self) -> str:
        """``"tables"``, ``"lightgbm"`` or ``"tables+lightgbm"`` (members differ)."""
        return "+".join(e for e in ("tables", "lightgbm") if e in self.engines)

    @property
    def sampled(self) -> bool:
        return self.explained < self.rows


_SHAPES: weakref.WeakKeyDictionary[ChurnModel, tuple[tuple[int, ...], list[_MemberShape]]] = (
    weakref.WeakKeyDictionary()
)


def _member_shapes(model: ChurnModel) -> list[_MemberShape]:
    """Each member's :class:`_MemberShape` (read once, kept while the model lives)."""
    key = tuple(id(b) for b in model.boosters_)
    cached = _SHAPES.get(model)
    if cached is not None and cached[0] == key:
        return cached[1]
    shapes = [_MemberShape(b) for b in model.boosters_]
    _SHAPES[model] = (key, shapes)
    return shapes


def plan_shap(
    model: ChurnModel,
    rows: int,
    max_seconds: float | None = None,
    memory_mb: float = MEMORY_BUDGET_MB,
    min_rows: int = 0,
) -> ShapPlan:
    """Choose, before building anything, how to explain ``rows`` customers.

    Per member, the engine with the smaller estimated time among those whose memory
    fits ``memory_mb``: the tables need ``8 * 2^d * d`` bytes per leaf (``d``
    distinct features on its path; at most half the budget for all of them), built
    once per model, and make each customer cheap while the trees are shallow;
    ``pred_contrib`` needs no tables but costs each customer about ``(depth + 1)^2``
    per leaf. Rows go in chunks whose working memory fits what the tables leave of
    the budget. When ``max_seconds`` is given and explaining everyone would take
    longer, ``explained`` is the number of customers that fits (at least
    ``min_rows``, at most ``rows``): the caller explains a random sample of that size.
    """
    rows = max(int(rows), 0)
    plan = _plan(model, rows, rows, memory_mb)
    if max_seconds is None or rows == 0 or plan.seconds <= max_seconds:
        return plan
    # Fewer customers may favour other engines (the tables' build is paid once): twice.
    explained = rows
    for _ in range(2):
        fixed = _plan(model, rows, 0, memory_mb, plan.engines).seconds
        per_row = (plan.seconds - fixed) / max(plan.explained, 1)
        fit = int((max_seconds - fixed) / per_row) if per_row > 0 else rows
        explained = min(rows, max(fit, int(min_rows), 1))
        plan = _plan(model, rows, explained, memory_mb)
    return plan


def _plan(
    model: ChurnModel,
    rows: int,
    explained: int,
    memory_mb: float,
    engines: tuple[str, ...] | None = None,
) -> ShapPlan:
    """The cheapest engines for ``explained`` customers (or the estimate for ``engines``)."""
    shapes = _member_shapes(model)
    n_features = len(model.spec_.columns)
    budget = memory_mb * 2**20
    cached = _ENGINES.get(model)
    built: tuple[int, ...] = ()
    if cached is not None and cached[0][0] == tuple(id(b) for b in model.boosters_):
        built = cached[0][1]
    chosen = []
    table_bytes = 0.0
    for k, shape in enumerate(shapes):
        if engines is not None:
            use_tables = engines[k] == "tables"
        else:
            fits = (
                shape.max_d <= _MAX_PATH_FEATURES and table_bytes + shape.table_bytes <= budget / 2
            )
            chunk = _chunk_rows(n_features, budget - table_bytes - shape.table_bytes)
            tables = shape.tables_seconds(explained, chunk, built=k in built)
            use_tables = fits and tables <= shape.lightgbm_seconds(explained)
        chosen.append("tables" if use_tables else "lightgbm")
        table_bytes += shape.table_bytes if use_tables else 0.0
    chunk = _chunk_rows(n_features, budget - table_bytes)
    seconds = sum(
        shape.tables_seconds(explained, chunk, built=k in built)
        if engine == "tables"
        else shape.lightgbm_seconds(explained)
        for k, (shape, engine) in enumerate(zip(shapes, chosen, strict=True))
    )
    return ShapPlan(
        engines=tuple(chosen),
        rows=rows,
        explained=explained,
        chunk_rows=max(1, min(chunk, explained)),
        seconds=seconds,
        memory_mb=(table_bytes + min(chunk, explained) * _row_bytes(n_features)) / 2**20,
    )


def _row_bytes(n_features: int) -> float:
    """Working memory per row of a chunk: classes, result and a tree's temporaries."""
    return 8.0 * (3 * n_features + 16)


def _chunk_rows(n_features: int, free_bytes: float) -> int:
    return int(min(_CHUNK_ROWS, max(1_000, free_bytes / 2 / _row_bytes(n_features))))


# --------------------------------------------------------------------------- engines
_ENGINES: weakref.WeakKeyDictionary[
    ChurnModel, tuple[tuple[tuple[int, ...], tuple[int, ...]], _TreeShap]
] = weakref.WeakKeyDictionary()


def _engine(model: ChurnModel, members: tuple[int, ...]) -> _TreeShap:
    """The TreeSHAP tables of some members (built on first use, kept while the model lives)."""
    key = (tuple(id(b) for b in model.boosters_), members)
    cached = _ENGINES.get(model)
    if cached is not None and cached[0] == key:
        return cached[1]
    _ENGINES.pop(model, None)  # free the old tables before building new ones
    engine = _TreeShap(
        [model.boosters_[k] for k in members], len(model.spec_.columns), len(model.boosters_)
    )
    _ENGINES[model] = (key, engine)
    return engine


def _pred_contrib(
    model: ChurnModel, matrix: np.ndarray, members: tuple[int, ...] | None = None
) -> np.ndarray:
    """LightGBM's own TreeSHAP of some members (all by default), summed and divided by the
    number of members: (n, F + 1), last column the base. Members one at a time, so the
    memory is that of one result."""
    members = tuple(range(len(model.boosters_))) if members is None else members
    out = np.zeros((matrix.shape[0], matrix.shape[1] + 1))
    for k in members:
        out += model.boosters_[k].predict(matrix, pred_contrib=True, num_threads=model.n_jobs)
    out /= len(model.boosters_)
    return out


def shap_margin_values(
    model: ChurnModel,
    matrix: np.ndarray,
    engine: str = "auto",
    plan: ShapPlan | None = None,
) -> tuple[np.ndarray, float, np.ndarray]:
    """Ensemble TreeSHAP values of a tree matrix: ``(values (n, F), base_value, margin (n,))``.

    ``engine="auto"`` follows ``plan`` (by default :func:`plan_shap` for the matrix's
    rows, without a time limit): per member the per-leaf tables or ``pred_contrib``,
    whichever costs less within the memory budget, rows in chunks. ``engine="numpy"``
    uses the tables for every member, ``engine="lightgbm"`` LightGBM's ``pred_contrib``
    for every member. The tables' part is checked for additivity against the members'
    own predictions and recomputed with ``pred_contrib`` if any customer is off by more
    than 1e-6. The values are the same whichever engine computes them.
    """
    if engine not in ("auto", "numpy", "lightgbm"):
        raise ValueError(f"unknown SHAP engine {engine!r}")
    shapes = _member_shapes(model)
    n_members = len(model.boosters_)
    if engine == "auto":
        plan = plan or plan_shap(model, matrix.shape[0])
        engines = plan.engines
        chunk = plan.chunk_rows
    else:
        engines = ("tables" if engine == "numpy" else "lightgbm",) * n_members
        chunk = _CHUNK_ROWS
    table_members = tuple(k for k, e in enumerate(engines) if e == "tables")
    lgb_members = tuple(k for k, e in enumerate(engines) if e == "lightgbm")
    tables = _engine(model, table_members) if table_members else None
    if tables is not None and not tables.usable:
        table_members, lgb_members, tables = (), tuple(range(n_members)), None
    base = sum(shapes[k].base_value for k in range(n_members)) / n_members
    n = matrix.shape[0]
    values = np.zeros((n, matrix.shape[1]))
    margin = np.zeros(n)
    for lo in range(0, n, max(chunk, 1)):
        block = matrix[lo : lo + chunk]
        part = slice(lo, lo + block.shape[0])
        members = model.member_margins(block)
        margin[part] = members.mean(axis=0)
        if tables is not None:
            table_values = tables.values(block)
            expected = members[list(table_members)].sum(axis=0) / n_members
            error = np.abs(tables.base_value + table_values.sum(axis=1) - expected)
            if np.all(error <= 1e-6):  # NaN (a broken table) fails too
                values[part] += table_values
            else:
                values[part] += _pred_contrib(model, block, table_members)[:, :-1]
        if lgb_members:
            contrib = _pred_contrib(model, block, lgb_members)
            values[part] += contrib[:, :-1]
    return values, float(base), margin
