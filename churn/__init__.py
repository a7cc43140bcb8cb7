"""Calibrated churn probabilities with confidence, turned into decisions a PM can defend.

The library behind the dashboard and ``python -m churn``; it never imports streamlit.
The README's "How it fits together" maps its modules. In short::

    frame = churn.data.read_table("customers.csv")
    roles = churn.ColumnMapping.for_table(frame, "churned", id_column="customer_id")
    artifact = churn.train(frame, roles)
    economics = churn.default_economics(frame.columns)
    decision = churn.decide_on_holdout(artifact, economics, churn.Choice("max_profit"))

A past campaign with a control group (``churn.campaign_model``, ``churn.uplift``)::

    roles = churn.CampaignRoles("churned", "contacted", id_column="customer_id")
    campaign = churn.train_campaign(frame, roles)     # campaign.results: campaign.json
    scores = churn.score_campaign_frame(campaign, customers)
"""

from churn.artifact import Artifact, ArtifactInfo, load_artifact, save_artifact
from churn.campaign_model import (
    CampaignModel,
    CampaignRoles,
    load_campaign,
    save_campaign,
    score_campaign_frame,
    train_campaign,
)
from churn.checks import ColumnMapping, check_data
from churn.decisions import Choice
from churn.economics import Action, Economics, default_economics
from churn.errors import ChurnInputError
from churn.model import ChurnModel
from churn.policy import apply_policy, build_policy, decide, decide_on_holdout, load_policy
from churn.targeting import PolicyRule
from churn.training import score_frame, train
from churn.uplift import UpliftModel

__all__ = [
    "Action",
    "Artifact",
    "ArtifactInfo",
    "CampaignModel",
    "CampaignRoles",
    "Choice",
    "ChurnInputError",
    "ChurnModel",
    "ColumnMapping",
    "Economics",
    "PolicyRule",
    "UpliftModel",
    "apply_policy",
    "build_policy",
    "check_data",
    "decide",
    "decide_on_holdout",
    "default_economics",
    "load_artifact",
    "load_campaign",
    "load_policy",
    "save_artifact",
    "save_campaign",
    "score_campaign_frame",
    "score_frame",
    "train",
    "train_campaign",
]
