"""Calibrated churn probabilities with confidence, turned into decisions a PM can defend.

The library behind the dashboard and ``python -m churn``; it never imports streamlit.
The README's "How it fits together" maps its modules. In short::

    frame = churn.data.read_table("customers.csv")
    roles = churn.ColumnMapping.for_table(frame, "churned", id_column="customer_id")
    artifact = churn.train(frame, roles)
    economics = churn.default_economics(frame.columns)
    decision = churn.decide_on_holdout(artifact, economics, churn.Choice("max_profit"))
"""

from churn.artifact import Artifact, ArtifactInfo, load_artifact, save_artifact
from churn.checks import ColumnMapping, check_data
from churn.decisions import Choice
from churn.economics import Action, Economics, default_economics
from churn.errors import ChurnInputError
from churn.model import ChurnModel
from churn.policy import apply_policy, build_policy, decide, decide_on_holdout, load_policy
from churn.targeting import PolicyRule
from churn.training import score_frame, train

__all__ = [
    "Action",
    "Artifact",
    "ArtifactInfo",
    "Choice",
    "ChurnInputError",
    "ChurnModel",
    "ColumnMapping",
    "Economics",
    "PolicyRule",
    "apply_policy",
    "build_policy",
    "check_data",
    "decide",
    "decide_on_holdout",
    "default_economics",
    "load_artifact",
    "load_policy",
    "save_artifact",
    "score_frame",
    "train",
]
