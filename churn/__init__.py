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

import importlib
from typing import Any

#: Where each name of the package's short-hand lives. They are imported on first use
#: (PEP 562): importing one module of the package (``churn.errors``, ``churn.report``) does
#: not import the rest, so the app's first page needs neither scikit-learn nor LightGBM.
_HOMES = {
    "Action": "churn.economics",
    "Artifact": "churn.artifact",
    "ArtifactInfo": "churn.artifact",
    "CampaignModel": "churn.campaign_model",
    "CampaignRoles": "churn.campaign_model",
    "Choice": "churn.decisions",
    "ChurnInputError": "churn.errors",
    "ChurnModel": "churn.model",
    "ColumnMapping": "churn.checks",
    "Economics": "churn.economics",
    "PolicyRule": "churn.targeting",
    "UpliftModel": "churn.uplift",
    "apply_policy": "churn.policy",
    "build_policy": "churn.policy",
    "check_data": "churn.checks",
    "decide": "churn.policy",
    "decide_on_holdout": "churn.policy",
    "default_economics": "churn.economics",
    "load_artifact": "churn.artifact",
    "load_campaign": "churn.campaign_model",
    "load_policy": "churn.policy",
    "save_artifact": "churn.artifact",
    "save_campaign": "churn.campaign_model",
    "score_campaign_frame": "churn.campaign_model",
    "score_frame": "churn.training",
    "train": "churn.training",
    "train_campaign": "churn.campaign_model",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is not None:
        value = getattr(importlib.import_module(home), name)
    else:  # a module of the package, ``churn.data`` after ``import churn``
        try:
            value = importlib.import_module(f"churn.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"churn.{name}":
                raise
            raise AttributeError(f"module 'churn' has no attribute {name!r}") from None
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOMES})


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
