"""Baselines fitted on the same data as the model, to show whether ML is needed at all.

* :class:`LogisticBaseline`: a logistic regression on the linear design
  (median-imputed, missing flags, standardised numbers, one-hot categories).
* :class:`RuleBaseline`: a depth-2 decision tree a person can read and apply
  by hand, printed as if/then text. Its "probability" is the churn rate of the
  customers in the same branch of the training data.

Both are stored as plain JSON numbers, never pickled.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from churn.features import FeatureSpec

__all__ = ["LogisticBaseline", "RuleBaseline"]


@dataclass
class LogisticBaseline:
    """Logistic regression on the linear design of a :class:`FeatureSpec`."""

    spec: FeatureSpec
    coef: np.ndarray
    intercept: float

    @classmethod
    def fit(cls, spec: FeatureSpec, X: pd.DataFrame, y: np.ndarray) -> LogisticBaseline:
        from sklearn.linear_model import LogisticRegression  # (loading a model needs none)

        design = spec.linear_matrix(X)
        lr = LogisticRegression(C=1.0, max_iter=5000)
        lr.fit(design, y)
        return cls(spec=spec, coef=lr.coef_[0].copy(), intercept=float(lr.intercept_[0]))

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Churn probability in [0, 1], one per row."""
        from scipy.special import expit

        return expit(self.spec.linear_matrix(X) @ self.coef + self.intercept)

    def to_dict(self) -> dict[str, Any]:
        return {"coef": self.coef.tolist(), "intercept": self.intercept}

    @classmethod
    def from_dict(cls, spec: FeatureSpec, data: dict[str, Any]) -> LogisticBaseline:
        """What :meth:`to_dict` wrote; ``ValueError`` when it does not fit ``spec``."""
        coef = np.asarray(data["coef"], float)
        intercept = float(data["intercept"])
        if coef.shape != (len(spec.linear_names()),) or not np.isfinite([*coef, intercept]).all():
            raise ValueError("the coefficients do not fit the features")
        return cls(spec=spec, coef=coef, intercept=data["intercept"])


@dataclass
class RuleBaseline:
    """A depth-2 tree: at most three questions, four groups, each with its churn rate.

    ``nodes`` is a list of dicts: split nodes ``{"feature": j, "threshold": t,
    "left": i, "right": k}`` over the unstandardised linear design (go left
    when the value is <= threshold), leaves ``{"rate": r, "n": count}``.
    """

    spec: FeatureSpec
    nodes: list[dict[str, Any]]

    @classmethod
    def fit(
        cls, spec: FeatureSpec, X: pd.DataFrame, y: np.ndarray, max_depth: int = 2
    ) -> RuleBaseline:
        from sklearn.tree import DecisionTreeClassifier

        design = spec.linear_matrix(X, standardise=False)
        tree = DecisionTreeClassifier(
            max_depth=max_depth, min_samples_leaf=max(20, len(y) // 50), random_state=0
        )
        tree.fit(design, y)
        t = tree.tree_
        nodes: list[dict[str, Any]] = []
        for i in range(t.node_count):
            if t.children_left[i] == -1:
                counts = t.value[i, 0] * t.weighted_n_node_samples[i]
                nodes.append(
                    {
                        "rate": float(counts[1] / counts.sum()),
                        "n": int(t.n_node_samples[i]),
                    }
                )
            else:
                nodes.append(
                    {
                        "feature": int(t.feature[i]),
                        "threshold": float(t.threshold[i]),
                        "left": int(t.children_left[i]),
                        "right": int(t.children_right[i]),
                    }
                )
        return cls(spec=spec, nodes=nodes)

    def _leaf_index(self, X: pd.DataFrame) -> np.ndarray:
        design = self.spec.linear_matrix(X, standardise=False)
        node = np.zeros(len(design), dtype=int)
        for _ in range(len(self.nodes)):  # at most depth steps change anything
            active = np.array(["feature" in self.nodes[i] for i in node])
            if not active.any():
                break
            for i in np.unique(node[active]):
                n = self.nodes[i]
                rows = node == i
                go_left = design[rows, n["feature"]] <= n["threshold"]
                node[rows] = np.where(go_left, n["left"], n["right"])
        return node

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Churn rate of each customer's branch, in [0, 1]."""
        rates = np.array([n.get("rate", np.nan) for n in self.nodes])
        return rates[self._leaf_index(X)]

    def _condition(self, node: dict[str, Any], left: bool) -> str:
        name = self.spec.linear_names()[node["feature"]]
        if " = " in name:  # one-hot: value <= 0.5 means "is not"
            column, value = name.split(" = ", 1)
            return f"{column} is {'not ' if left else ''}{value}"
        if name.endswith(" is missing"):
            return f"{name[: -len(' is missing')]} is {'not ' if left else ''}missing"
        if self.spec.kinds.get(name) == "boolean" and 0.0 < node["threshold"] < 1.0:
            return f"{name} is {'false' if left else 'true'}"
        op = "<=" if left else ">"
        return f"{name} {op} {node['threshold']:.4g}"

    def to_text(self) -> str:
        """The rule as indented if/then lines a person can apply by hand."""
        lines: list[str] = []

        def walk(i: int, depth: int) -> None:
            node = self.nodes[i]
            pad = "  " * depth
            if "rate" in node:
                lines.append(f"{pad}then churn risk {node['rate']:.0%} ({node['n']:,} customers)")
                return
            lines.append(f"{pad}if {self._condition(node, True)}:")
            walk(node["left"], depth + 1)
            lines.append(f"{pad}else ({self._condition(node, False)}):")
            walk(node["right"], depth + 1)

        walk(0, 0)
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {"nodes": self.nodes, "text": self.to_text()}

    @classmethod
    def from_dict(cls, spec: FeatureSpec, data: dict[str, Any]) -> RuleBaseline:
        """What :meth:`to_dict` wrote; ``ValueError`` unless the nodes make a tree over
        ``spec``'s design (splits point to later nodes, leaves hold a rate)."""
        nodes, width = data["nodes"], len(spec.linear_names())
        for i, node in enumerate(nodes):
            if "rate" in node:
                ok = 0.0 <= float(node["rate"]) <= 1.0 and int(node["n"]) >= 0
            else:
                ok = (
                    0 <= int(node["feature"]) < width
                    and np.isfinite(float(node["threshold"]))
                    and i < int(node["left"]) < len(nodes)
                    and i < int(node["right"]) < len(nodes)
                )
            if not ok:
                raise ValueError(f"rule node {i} is not a node of a tree")
        if not nodes:
            raise ValueError("no rule")
        return cls(spec=spec, nodes=nodes)
