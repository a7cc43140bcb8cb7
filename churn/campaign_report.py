"""Sentences and tables for the "Did it work?" page, computed from a campaign's analysis.

:mod:`churn.campaign` measures (arms, balance, average effect); this module says what
the measurements mean in the words and tables a product manager reads: the verdict
in one sentence, the measured success rate against the one the economics assume, the
balance check in a compact table, and the economics with the measured rate taken in.
Nothing here imports the app.
"""

from __future__ import annotations

import shlex
from dataclasses import replace

import numpy as np
import pandas as pd

from churn import targeting
from churn.campaign import SMD_LIMIT, AverageEffect, Balance
from churn.campaign_model import CampaignModel, score_campaign_frame
from churn.economics import Economics
from churn.errors import ChurnInputError
from churn.formatting import percent
from churn.policy import apply_policy, policy_score
from churn.uplift import UPLIFT_COLUMNS

__all__ = [
    "RANKING_LABELS",
    "assumption_table",
    "backfire_display",
    "backfire_sentence",
    "balance_display",
    "balance_sentence",
    "campaign_command",
    "decile_display",
    "describe_uplift_policy",
    "direction",
    "kept_display",
    "kept_sentence",
    "qini_frame",
    "uplift_action_list",
    "uplift_on_customers",
    "verdict",
    "with_success_rate",
]


def _pp(share: float) -> str:
    """A difference of rates in percentage points, one decimal, no sign: ``-0.0567 -> "5.7"``."""
    return f"{abs(share) * 100:.1f}"


def direction(effect: AverageEffect) -> str:
    """``"reduced"`` when the whole 95% interval of the effect is below zero (contacting
    cut churn), ``"raised"`` when it is wholly above, ``"unclear"`` otherwise."""
    if effect.ate_high < 0:
        return "reduced"
    if effect.ate_low > 0:
        return "raised"
    return "unclear"


def verdict(effect: AverageEffect) -> str:
    """Did contacting reduce churn, by how much, with its 95% interval: one sentence.

    Parameters
    ----------
    effect : AverageEffect
        From :func:`churn.campaign.average_effect`.

    Returns
    -------
    str
        For example "Contacting reduced churn by 5.7 percentage points, from 24.5% in the
        control group to 18.9% among the contacted customers (95% interval: 3.9 to 7.5
        points)."
    """
    rates = (
        f"from {percent(effect.control_rate)} in the control group to "
        f"{percent(effect.contacted_rate)} among the contacted customers"
    )
    low, high = sorted((abs(effect.ate_low), abs(effect.ate_high)))
    how = direction(effect)
    if how != "unclear":
        return (
            f"Contacting {how} churn by {_pp(effect.ate)} percentage points, {rates} "
            f"(95% interval: {_pp(low)} to {_pp(high)} points)."
        )
    return (
        f"The campaign shows no clear effect of contacting: churn went {rates}, a change of "
        f"{effect.ate * 100:+.1f} points whose 95% interval ({effect.ate_low * 100:+.1f} to "
        f"{effect.ate_high * 100:+.1f} points) includes no change at all."
    )


def assumption_table(effect: AverageEffect, economics: Economics) -> pd.DataFrame:
    """Each action's assumed success rate against the campaign's measured one.

    Parameters
    ----------
    effect : AverageEffect
        The campaign's measured success rate and its 95% interval (share of
        would-be churners kept, in [0, 1]).
    economics : Economics
        The economics whose actions' ``success_rate`` the PM assumed.

    Returns
    -------
    DataFrame
        One row per action, in the economics' order (index ``action``): ``assumed``,
        ``measured``, ``low``, ``high`` (shares in [0, 1]), ``position`` (``"above"``,
        ``"within"`` or ``"below"`` the measured interval) and ``sentence`` (one sentence).
    """
    rows = []
    for action in economics.actions:
        assumed = action.success_rate
        said = f"{action.name} assumes {percent(assumed)} of would-be churners stay"
        if assumed > effect.success_high:
            position = "above"
            sentence = (
                f"{said}, above the measured interval: if this is the action the campaign "
                "tested, its money on Decide is too optimistic."
            )
        elif assumed < effect.success_low:
            position = "below"
            sentence = (
                f"{said}, below the measured interval: if this is the action the campaign "
                "tested, Decide undervalues it."
            )
        else:
            position = "within"
            sentence = f"{said}, within the measured interval."
        rows.append(
            {
                "action": action.name,
                "assumed": assumed,
                "measured": effect.success_rate,
                "low": effect.success_low,
                "high": effect.success_high,
                "position": position,
                "sentence": sentence,
            }
        )
    return pd.DataFrame(rows).set_index("action")


def with_success_rate(economics: Economics, action: str, rate: float) -> Economics:
    """The same economics with ``action``'s success rate set to ``rate`` (a share in [0, 1]).

    Raises
    ------
    ChurnInputError
        When the economics have no action of that name.
    """
    names = [a.name for a in economics.actions]
    if action not in names:
        raise ChurnInputError(
            f"There is no action '{action}' in the economics ({', '.join(names)}); pick one of "
            "them."
        )
    actions = tuple(
        replace(a, success_rate=float(rate)) if a.name == action else a for a in economics.actions
    )
    return replace(economics, actions=actions)


def balance_sentence(check: Balance) -> str:
    """Whether the split into contacted and control looks random, in one sentence
    (:attr:`Balance.message` when it does not)."""
    if not check.looks_random:
        return check.message
    worst = check.table.index[0]
    return (
        "The split looks random: no feature differs between the arms by more than "
        f"{SMD_LIMIT:g} standard deviations (largest: {worst}, "
        f"{abs(check.table.loc[worst, 'smd']):.2f}), and a classifier cannot tell the arms "
        f"apart (ROC-AUC {check.auc:.2f}, 95% interval {check.auc_low:.2f} to "
        f"{check.auc_high:.2f}; 0.5 is a coin toss)."
    )


def balance_display(check: Balance, n: int | None = None) -> pd.DataFrame:
    """The balance table for people, largest difference first (the first ``n`` rows).

    Returns
    -------
    DataFrame
        Columns ``Feature``, ``Largest difference`` (the standardised mean difference,
        contacted minus control, with the categorical level it is for), ``|SMD|`` (its
        magnitude) and ``Balanced`` (``"yes"``, or ``"no"`` when over
        :data:`churn.campaign.SMD_LIMIT`).
    """
    table = check.table if n is None else check.table.head(n)
    level = table["level"].fillna("").astype(str)
    difference = table["smd"].map("{:+.2f}".format) + np.where(level != "", " (" + level + ")", "")
    return pd.DataFrame(
        {
            "Feature": table.index.astype(str),
            "Largest difference": difference.to_numpy(dtype=str),
            "|SMD|": table["smd"].abs().to_numpy(dtype=float),
            "Balanced": np.where(table["unbalanced"].to_numpy(dtype=bool), "no", "yes"),
        }
    )


# ------------------------------------------------------- targeting by uplift (holdout)
#: How the pages name the rankings of the holdout comparison (``churn.uplift``).
RANKING_LABELS = {
    "uplift": "By measured uplift",
    "churn_risk": "By churn risk",
    "random": "At random",
}


def qini_frame(qini: dict[str, object]) -> pd.DataFrame:
    """The Qini curves of ``campaign.json`` (``holdout.qini``) as one long table to draw.

    Parameters
    ----------
    qini : dict
        ``{ranking: curve}`` with each curve the records or frame of
        :func:`churn.uplift.qini_curve` (``share``, ``kept``, ``kept_low``,
        ``kept_high``, ``random``, ``random_low``, ``random_high``; customers kept per
        1,000 customers of the base).

    Returns
    -------
    DataFrame
        ``ranking`` (a label of :data:`RANKING_LABELS`), ``share`` (contacted, in
        [0, 1]), ``kept``, ``low``, ``high`` (per 1,000 customers); the random line once,
        from the first curve.
    """
    parts = []
    for name, curve in qini.items():
        curve = pd.DataFrame(curve)
        parts.append(
            pd.DataFrame(
                {
                    "ranking": RANKING_LABELS.get(name, name),
                    "share": curve["share"].to_numpy(dtype=float),
                    "kept": curve["kept"].to_numpy(dtype=float),
                    "low": curve["kept_low"].to_numpy(dtype=float),
                    "high": curve["kept_high"].to_numpy(dtype=float),
                }
            )
        )
    if qini:
        first = pd.DataFrame(next(iter(qini.values())))
        parts.append(
            pd.DataFrame(
                {
                    "ranking": RANKING_LABELS["random"],
                    "share": first["share"].to_numpy(dtype=float),
                    "kept": first["random"].to_numpy(dtype=float),
                    "low": first["random_low"].to_numpy(dtype=float),
                    "high": first["random_high"].to_numpy(dtype=float),
                }
            )
        )
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def _kept_text(value: float, low: float, high: float) -> str:
    return f"{value:,.0f} ({low:,.0f} to {high:,.0f})"


def kept_display(kept: object) -> pd.DataFrame:
    """Customers kept per 1,000 contacts at each budget, one column per ranking.

    Parameters
    ----------
    kept : records or DataFrame
        :func:`churn.uplift.kept_per_contacts` (``ranking``, ``budget``, ``contacts``,
        ``kept_per_1000``, ``kept_low``, ``kept_high``), as ``campaign.json`` holds it
        (``holdout.kept_per_1000_contacts``).

    Returns
    -------
    DataFrame
        One row per budget: ``Budget`` ("20% (320 contacts)") and one column per ranking
        (labels of :data:`RANKING_LABELS`, in that order) with "kept (low to high)".
    """
    kept = pd.DataFrame(kept)
    budgets = sorted(kept["budget"].unique())
    out = {"Budget": []}
    for budget in budgets:
        rows = kept[kept["budget"] == budget]
        contacts = int(rows["contacts"].iloc[0])
        out["Budget"].append(f"{budget:.0%} of the customers ({contacts:,} contacts)")
    names = [n for n in RANKING_LABELS if n in set(kept["ranking"])]
    names += [n for n in dict.fromkeys(kept["ranking"]) if n not in names]
    for name in names:
        rows = kept[kept["ranking"] == name].set_index("budget")
        out[RANKING_LABELS.get(name, name)] = [
            _kept_text(*rows.loc[b, ["kept_per_1000", "kept_low", "kept_high"]]) for b in budgets
        ]
    return pd.DataFrame(out)


def kept_sentence(kept: object, budget: float = 0.2) -> str:
    """What targeting by uplift gains over churn risk and random at ``budget``, one sentence.

    The budget nearest to ``budget`` among those measured is used.
    """
    kept = pd.DataFrame(kept)
    budgets = np.array(sorted(kept["budget"].unique()), dtype=float)
    chosen = float(budgets[np.argmin(np.abs(budgets - budget))])
    rows = kept[kept["budget"] == chosen].set_index("ranking")

    def said(name: str) -> str:
        row = rows.loc[name]
        return _kept_text(row["kept_per_1000"], row["kept_low"], row["kept_high"])

    parts = [f"by churn risk {said('churn_risk')}"] if "churn_risk" in rows.index else []
    parts.append(f"at random {said('random')}")
    return (
        f"Contacting {chosen:.0%} of the customers of the campaign's holdout, targeting by "
        f"measured uplift keeps {said('uplift')} customers per 1,000 contacts; "
        + ", ".join(parts)
        + " (95% intervals)."
    )


def backfire_display(backfire: object) -> pd.DataFrame:
    """The groups of :func:`churn.uplift.backfire_groups` for people, most harmful first.

    Returns
    -------
    DataFrame
        ``Group``, ``Customers``, ``Churn if contacted``, ``Churn if not`` (shares),
        ``Effect of contacting`` ("+4.1 points (+1.5 to +6.7)"; positive: contacting
        raised churn) and ``Backfires`` ("yes" when the whole interval is above 0).
    """
    table = pd.DataFrame(backfire)
    effect = [
        f"{e * 100:+.1f} points ({lo * 100:+.1f} to {hi * 100:+.1f})"
        for e, lo, hi in zip(
            table["effect"], table["effect_low"], table["effect_high"], strict=True
        )
    ]
    return pd.DataFrame(
        {
            "Group": table["group"].astype(str).to_numpy(),
            "Customers": table["customers"].to_numpy(dtype=int),
            "Churn if contacted": table["contacted_rate"].to_numpy(dtype=float),
            "Churn if not": table["control_rate"].to_numpy(dtype=float),
            "Effect of contacting": effect,
            "Backfires": np.where(table["backfires"].to_numpy(dtype=bool), "yes", "no"),
        }
    )


def backfire_sentence(backfire: object) -> str:
    """Where contacting raised churn, in one sentence (or that no group showed it)."""
    table = pd.DataFrame(backfire)
    flagged = table[table["backfires"].astype(bool)] if len(table) else table
    if flagged.empty:
        return (
            "No group of customers shows churn measurably raised by contacting (every "
            "group's 95% interval reaches zero or below)."
        )
    groups = "; ".join(
        f"{row.group} ({row.customers:,} customers: {percent(row.contacted_rate)} churned when "
        f"contacted against {percent(row.control_rate)} when not, {row.effect * 100:+.1f} points, "
        f"95% interval {row.effect_low * 100:+.1f} to {row.effect_high * 100:+.1f})"
        for row in flagged.itertuples(index=False)
    )
    many = "groups" if len(flagged) > 1 else "group"
    return f"Contacting raised churn in {len(flagged)} {many}: {groups}."


# ------------------------------------------------------------ acting on customers by uplift
def uplift_on_customers(model: CampaignModel, frame: pd.DataFrame, policy: dict | None = None):
    """Score customers with a campaign model and, given a policy, give each its action,
    exactly as ``python -m churn score --model CAMPAIGN_DIR --policy FILE`` writes them.

    Parameters
    ----------
    model : CampaignModel
        From :func:`churn.campaign_model.train_campaign` or ``load_campaign``.
    frame : DataFrame
        The customers, with the model's feature columns (extra columns are ignored).
    policy : dict, optional
        A policy document for this model (version 3, targeting by uplift).

    Returns
    -------
    DataFrame
        One row per row of ``frame``, in its order: the id (when the model has one), the
        :data:`churn.uplift.UPLIFT_COLUMNS`, ``action`` (with a policy) and ``score_note``.
    """
    scored = score_campaign_frame(model, frame)
    if policy is not None:  # unscored rows (empty uplift) get the default action
        prepared = model.preparation.apply(frame)[0]
        score = scored[policy_score(policy)].to_numpy()
        action = apply_policy(policy, score, prepared, model.id_column)
        scored.insert(scored.columns.get_loc("score_note"), "action", action)
    return scored


def uplift_action_list(
    scored: pd.DataFrame,
    frame: pd.DataFrame,
    economics: Economics,
    tested_action: str,
    id_column: str | None,
    default_action: str,
    segments: list[str] = (),
) -> pd.DataFrame:
    """The list the retention team works from when the policy targets by uplift.

    Parameters
    ----------
    scored : DataFrame
        :func:`uplift_on_customers` with a policy (one row per row of ``frame``).
    frame : DataFrame
        The customers (for their value and segment columns), in the same order.
    economics : Economics
        Gives each customer's value and the tested action's costs.
    tested_action : str
        The action the campaign tested (the one the policy gives).
    id_column : str or None
        The id column; ``None`` numbers the rows from 0 in a ``row`` column.
    default_action : str
        The policy's action for customers it does not contact.
    segments : list of str
        Columns of ``frame`` to keep for filtering.

    Returns
    -------
    DataFrame
        Contacted customers first, each part by uplift (highest first; ties by id):
        ``rank``, the id, ``uplift``, ``uplift_low``, ``uplift_high``,
        ``churn_probability`` (not contacted), ``churn_probability_if_contacted``,
        ``action``, ``expected_value`` (the expected gain of the contact in money,
        ``uplift × value − contact − (1 − p if contacted) × incentive``; 0 without a
        contact), ``customer_value`` and the segment columns.
    """
    from churn.uplift_decisions import campaign_action, expected_gain

    n = len(frame)
    action = campaign_action(economics, tested_action)
    value = economics.customer_value(frame, n)
    uplift = scored["uplift"].to_numpy(dtype=float)
    contacted = (scored["action"] != default_action).to_numpy()
    gain = expected_gain(uplift, scored["churn_probability_if_contacted"].to_numpy(), value, action)
    ids = frame[id_column].to_numpy() if id_column is not None else None
    table = pd.DataFrame(
        {
            id_column or "row": frame[id_column].to_numpy() if id_column else np.arange(n),
            **{c: scored[c].to_numpy(dtype=float) for c in UPLIFT_COLUMNS[2:]},
            "churn_probability": scored["churn_probability"].to_numpy(dtype=float),
            "churn_probability_if_contacted": scored["churn_probability_if_contacted"].to_numpy(
                dtype=float
            ),
            "action": scored["action"].astype(str).to_numpy(),
            "expected_value": np.where(contacted, np.nan_to_num(gain), 0.0),
            "customer_value": value,
        }
    )
    if id_column is not None:  # keep the id's own dtype (text ids keep their leading zeros)
        table[id_column] = frame[id_column].reset_index(drop=True)
    kept = [s for s in segments if s in frame.columns and s not in table.columns]
    if kept:
        table = pd.concat([table, frame[kept].reset_index(drop=True)], axis=1)
    order = targeting.rank_order(uplift, ids)
    order = np.r_[order[contacted[order]], order[~contacted[order]]]
    table = table.iloc[order].reset_index(drop=True)
    table.insert(0, "rank", np.arange(1, n + 1))
    return table


def campaign_command(
    data_path: str, roles: dict, out_dir: str = "models/campaign", seed: int = 0
) -> str:
    """The ``python -m churn campaign`` command that trains a campaign model with ``roles``.

    ``roles`` is ``campaign.json``'s ``roles`` block (``target``, ``positive_label``,
    ``treatment``, ``treated_label``, ``id_column``); every role is passed, so nothing is
    left to the command line's inference. Shell-quoted.
    """
    from churn.export import PYTHON, _option

    args = [PYTHON, "-m", "churn", "campaign", *_option("--data", data_path)]
    args += _option("--target", str(roles["target"]))
    if roles.get("positive_label") is not None:
        args += _option("--positive", str(roles["positive_label"]))
    args += _option("--treatment", str(roles["treatment"]))
    if roles.get("treated_label") is not None:
        args += _option("--treated", str(roles["treated_label"]))
    if roles.get("id_column"):
        args += _option("--id", str(roles["id_column"]))
    args += _option("--out", out_dir)
    if seed:
        args += ["--seed", str(seed)]
    return shlex.join(args)


def describe_uplift_policy(policy: dict, default_label: str) -> list[str]:
    """A version-3 uplift policy in plain words: who gets the action, then everyone else."""
    rules = policy["rules"]
    capacity = policy.get("capacity")
    lines = []
    for rule in rules:
        line = f"{rule['action']}: measured uplift {rule['min_score'] * 100:+.1f} points or more"
        if capacity and capacity.get("total"):
            total = capacity["total"]
            limit = (
                f"{total['customers']:,} customers"
                if total.get("customers") is not None
                else f"{total['share']:.0%} of each batch"
            )
            line = f"{rule['action']}: the {limit} with the highest measured uplift"
        lines.append(line)
    lines.append(f"{default_label}: {'everyone else' if rules else 'everyone'}")
    return lines


def decile_display(deciles: object) -> pd.DataFrame:
    """The holdout's measured effect in each tenth of the uplift ranking, for people.

    Parameters
    ----------
    deciles : records or DataFrame
        :func:`churn.uplift.uplift_by_decile` (``campaign.json``'s
        ``holdout.uplift_by_decile``).

    Returns
    -------
    DataFrame
        ``Tenth`` ("1 (highest uplift)" ... "10"), ``Customers``, ``Predicted uplift``,
        ``Measured uplift`` (both in percentage points) and ``95% interval`` (text): a good
        ranking has the measured uplift falling from the first tenth to the last.
    """
    table = pd.DataFrame(deciles)
    tenth = table["decile"].astype(int).astype(str)
    first = tenth.iloc[0] if len(tenth) else ""
    return pd.DataFrame(
        {
            "Tenth": np.where(tenth == first, tenth + " (highest uplift)", tenth),
            "Customers": table["customers"].to_numpy(dtype=int),
            "Predicted uplift": table["mean_score"].to_numpy(dtype=float) * 100,
            "Measured uplift": table["measured_uplift"].to_numpy(dtype=float) * 100,
            "95% interval": [
                f"{lo * 100:+.1f} to {hi * 100:+.1f}"
                for lo, hi in zip(table["uplift_low"], table["uplift_high"], strict=True)
            ],
        }
    )
