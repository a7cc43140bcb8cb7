"""Calibrated churn probabilities with confidence, turned into decisions a PM can defend.

The library behind the dashboard and ``python -m churn``; it never imports streamlit.
"""

from churn.artifact import Artifact, load_artifact, save_artifact
from churn.decisions import Choice
from churn.economics import Action, Economics, default_economics
from churn.errors import ChurnInputError
from churn.model import ChurnModel
from churn.policy import apply_policy, build_policy, decide, decide_on_holdout, load_policy
from churn.training import score_frame, train

__all__ = [
    "Action",
    "Artifact",
    "Choice",
    "ChurnInputError",
    "ChurnModel",
    "Economics",
    "apply_policy",
    "build_policy",
    "decide",
    "decide_on_holdout",
    "default_economics",
    "load_artifact",
    "load_policy",
    "save_artifact",
    "score_frame",
    "train",
]
