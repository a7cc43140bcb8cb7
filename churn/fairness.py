"""Is the policy fair? Per-group figures on the holdout, and the slices the model serves worst.

Groups
    A segment attribute is a column of the data. Text, boolean and numeric columns
    with at most :data:`FEW_VALUES` distinct values are used level by level (levels
    beyond the :data:`MAX_LEVELS` largest become "Other"); other numeric columns are
    banded (:func:`segment_labels`): a column named ``age`` (or ``*_age``, ``age_*``)
    gets the usual demographic bands under 25 / 25-44 / 45-64 / 65 and over, and any
    other numeric column gets quartile bands with edges rounded to two significant
    figures. Missing values form their own group, "Missing".

Per group (:func:`group_table`, from the counts of each group)
    customers, selection rate (share contacted: any action other than "none"),
    precision, recall (share of churners contacted) and false positive rate (share of
    stayers contacted), each with a Wilson 95% interval, and the mean predicted churn
    probability against the observed churn rate (Wilson 95% interval).

Disparity (the four-fifths rule)
    A retention offer is a benefit to the customer, so the rates of *receiving* it are
    compared: the selection rate (who gets an offer) and the recall (which churners get
    one), higher meaning better served. A group's ratio is its rate divided by the rate
    of the best-served group (the highest rate among groups large enough to judge). Its
    interval is a Katz log interval widened (Bonferroni) so that the intervals of every
    pair of judged groups hold together at 95%: the best-served group is picked from the
    data, so this keeps the largest of several noisy rates from making chance gaps look
    real. A group is **flagged** when

    * the ratio is under 0.8 (the four-fifths rule), and
    * its interval lies below 1, so the gap is unlikely to be chance, and
    * the group has at least :data:`MIN_GROUP_SIZE` customers in the rate's denominator
      (customers for the selection rate, churners for recall). Smaller groups are "too
      few to judge" (their rate is shown with its interval) and never the reference.

    A ratio under 0.8 whose interval still reaches 1 is "could be chance".

    Precision and the false positive rate say how well the offers are aimed within a
    group rather than who receives them; they are shown with intervals but not flagged.
    A group is "miscalibrated" when its mean predicted probability lies outside the
    interval of its observed churn rate.

Worst slices (:func:`slice_table`, :func:`worst_slices`)
    Every level or band of every feature with at least ``max(50, 5% of the holdout)``
    customers, with ROC-AUC, Brier score and calibration gap (mean predicted minus
    observed churn rate) and bootstrap 95% intervals. Searching many slices finds some
    that look bad by chance alone, so the worst of them overstate the problem.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import norm

from churn import metrics
from churn.artifact import Artifact
from churn.checks import place_kind
from churn.errors import ChurnInputError
from churn.formatting import percent
from churn.metrics import Z95, wilson
from churn.policy import Decision

__all__ = [
    "DISPARITY_METRICS",
    "FOUR_FIFTHS",
    "MIN_GROUP_SIZE",
    "RATE_METRICS",
    "SLICE_CRITERIA",
    "SegmentCandidates",
    "disparity_notes",
    "display_table",
    "fairness_table",
    "group_table",
    "holdout_selection",
    "place_features",
    "place_note",
    "segment_candidates",
    "segment_labels",
    "slice_display",
    "slice_min_size",
    "slice_table",
    "worst_slices",
]

#: The four-fifths rule: a ratio under this is a material gap.
FOUR_FIFTHS = 0.8
#: Fewest customers in a rate's denominator for the group to be judged.
MIN_GROUP_SIZE = 50
#: Numeric columns with at most this many distinct values are used level by level.
FEW_VALUES = 6
#: Largest number of levels shown for one attribute; smaller levels become "Other".
MAX_LEVELS = 12
MISSING = "Missing"
OTHER = "Other"
#: Column names (lower case) that usually hold an attribute people are protected on.
_SENSITIVE_NAMES = (
    "age",
    "gender",
    "sex",
    "region",
    "race",
    "ethnicity",
    "religion",
    "disability",
    "marital_status",
    "nationality",
    "country",
    "language",
)
#: Demographic age bands: (lower edge, label); each band runs to the next edge.
_AGE_BANDS = ((25.0, "25-44"), (45.0, "45-64"), (65.0, "65 and over"))


@dataclass(frozen=True)
class RateMetric:
    """A rate per group: its label, what it counts and, for benefits, the note's wording."""

    label: str
    denominator: str
    numerator: str
    benefit: bool


#: The rates per group, in display order.
RATE_METRICS = {
    "selection_rate": RateMetric("Contacted", "customers", "get the offer", True),
    "recall": RateMetric("Churners contacted (recall)", "churners", "get the offer", True),
    "precision": RateMetric("Precision", "contacted customers", "would have churned", False),
    "false_positive_rate": RateMetric(
        "Stayers contacted (false positive rate)", "stayers", "get an offer", False
    ),
}
#: The benefit rates compared across groups with the four-fifths rule.
DISPARITY_METRICS = tuple(k for k, m in RATE_METRICS.items() if m.benefit)


# --------------------------------------------------------------------------- segments


@dataclass(frozen=True)
class SegmentCandidates:
    """Columns that can define groups, and those the page starts with.

    ``kinds`` says how each option is grouped: ``"levels"`` or ``"bands"``.
    """

    options: list[str]
    default: list[str]
    kinds: dict[str, str]


def _is_numeric(values: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)


def _kind(values: pd.Series) -> str | None:
    """How a column is grouped: "levels", "bands", or None when it cannot be."""
    present = values.dropna()
    if present.empty:
        return None
    distinct = present.nunique()
    if _is_numeric(values):
        return "levels" if distinct <= FEW_VALUES else "bands"
    return "levels" if 2 <= distinct <= MAX_LEVELS else None


def segment_candidates(artifact: Artifact) -> SegmentCandidates:
    """The holdout columns that can define groups, and the default choice.

    Options are every feature grouped by levels (text and boolean columns with 2 to
    :data:`MAX_LEVELS` levels, numeric columns with few values) or bands (other numeric
    columns); the id and the target are left out. The default is
    ``artifact.info.segments`` when the upload named them; otherwise the options whose
    names usually hold a protected attribute (age, gender, region, ...), or else the
    first three options grouped by levels.
    """
    data = artifact.holdout_data
    skip = {artifact.target, artifact.id_column}
    kinds = {c: k for c in data.columns if c not in skip and (k := _kind(data[c])) is not None}
    options = list(kinds)
    default = [c for c in artifact.info.segments if c in data.columns]
    for column in default:
        kinds.setdefault(column, _kind(data[column]) or "levels")
        if column not in options:
            options.append(column)
    if not default:
        default = [c for c in options if c.lower() in _SENSITIVE_NAMES]
    if not default:
        default = [c for c in options if kinds[c] == "levels"][:3]
    return SegmentCandidates(options=options, default=list(dict.fromkeys(default)), kinds=kinds)


def place_features(artifact: Artifact) -> dict[str, str]:
    """The model's features that are places, with their kind (``{"Latitude":
    "coordinates"}``): postal codes, cities, coordinates, addresses, states
    (:func:`churn.checks.place_kind`, read from the names and the holdout's values).

    Where customers live can stand in for attributes people are protected on, so a
    policy can treat such groups unequally through these columns although no protected
    attribute is in the data; the data checks flag them too, and they stay in the
    model unless the user leaves them out.
    """
    data = artifact.holdout_data
    kinds = {c: place_kind(c, data[c]) for c in artifact.spec.columns if c in data}
    return {c: kind for c, kind in kinds.items() if kind is not None}


def place_note(places: dict[str, str]) -> str | None:
    """One paragraph on the places a model uses (:func:`place_features`), ``None`` when
    there are none."""
    if not places:
        return None
    named = [f"{column} ({kind})" for column, kind in places.items()]
    listed = named[0] if len(named) == 1 else ", ".join(named[:-1]) + " and " + named[-1]
    them = "it" if len(named) == 1 else "them"
    return (
        f"The model uses {len(named)} place column{'s' if len(named) > 1 else ''}: {listed}. "
        "Where customers live can be a proxy for attributes people are protected on "
        "(ethnicity, income, age), so a policy can treat such groups unequally through "
        f"{them} even though no such attribute is in the data. Compare groups by {them} "
        f"below; to leave {them} out, train again on the Data page with {them} under "
        '"Columns to leave out".'
    )


def _is_age(name: str) -> bool:
    return "age" in name.lower().replace("-", "_").replace(" ", "_").split("_")


def _round_edge(x: float) -> float:
    """``x`` rounded to two significant figures (``17.3 -> 17``, ``1234 -> 1200``)."""
    if x == 0 or not np.isfinite(x):
        return float(x)
    return float(round(x, 1 - math.floor(math.log10(abs(x)))))


def _band_edges(values: pd.Series, name: str) -> tuple[list[float], list[str]]:
    """Lower edges of the bands above the first, and every band's label."""
    if _is_age(name):
        edges = [e for e, _ in _AGE_BANDS]
        return edges, ["under 25", *(label for _, label in _AGE_BANDS)]
    quartiles = values.dropna().quantile([0.25, 0.5, 0.75]).to_numpy(dtype=float)
    lowest = float(values.min())
    edges = sorted({_round_edge(q) for q in quartiles if _round_edge(q) > lowest})
    if not edges:
        return [], ["all"]
    labels = [f"under {edges[0]:g}"]
    labels += [f"{a:g} to under {b:g}" for a, b in itertools.pairwise(edges)]
    labels.append(f"{edges[-1]:g} and over")
    return edges, labels


def segment_labels(data: pd.DataFrame, column: str) -> pd.Series:
    """The group of each row for ``column``: an ordered categorical of readable labels.

    Levels are ordered by size (largest first), bands from low to high; "Other" (levels
    beyond the :data:`MAX_LEVELS` - 1 largest) and "Missing" come last.
    """
    if column not in data.columns:
        raise ChurnInputError(f"There is no column '{column}' in the data; choose another one.")
    values = data[column]
    if values.isna().all():
        raise ChurnInputError(f"Column '{column}' is empty, so it cannot define groups.")
    if _is_numeric(values) and values.dropna().nunique() > FEW_VALUES:
        edges, labels = _band_edges(values, column)
        index = np.searchsorted(np.asarray(edges, dtype=float), values.to_numpy(float), "right")
        text = pd.Series(np.asarray(labels, dtype=object)[index], index=data.index)
        order = labels
    else:
        present = values.dropna()
        text = present.map(lambda v: f"{v:g}" if isinstance(v, float) else str(v))
        text = text.reindex(data.index)
        sizes = text.value_counts(dropna=True)
        if _is_numeric(values):
            sizes = sizes.loc[
                sorted(sizes.index, key=lambda s: float(s))  # numbers in numeric order
            ]
        kept = list(sizes.index[: MAX_LEVELS - 1]) if len(sizes) > MAX_LEVELS else list(sizes.index)
        text = text.where(text.isin(kept) | text.isna(), OTHER)
        order = kept + ([OTHER] if len(sizes) > MAX_LEVELS else [])
    text = text.where(values.notna(), MISSING)
    order = [label for label in [*order, MISSING] if (text == label).any()]
    return pd.Series(pd.Categorical(text, categories=order, ordered=True), index=data.index)


# --------------------------------------------------------------------------- per-group table


def holdout_selection(artifact: Artifact, decision: Decision) -> pd.DataFrame:
    """The holdout customers with what the policy does to them.

    Columns: ``outcome`` (1 = churned), ``churn_probability`` and ``contacted`` (True
    when the policy gives any action other than "none"), followed by the customers'
    original columns. The decision must have been made on this artifact's holdout
    (:func:`churn.policy.decide_on_holdout`); who it contacts is what applying the policy
    gives (``Decision.assigned``: with a capacity ranked by expected value, not simply the
    highest probabilities).
    """
    scores, rows, _ = artifact.holdout_sorted
    if decision.n_customers != len(scores):
        raise ChurnInputError(
            "The policy was measured on another set of customers; decide again on this model."
        )
    if decision.assigned is not None:
        contacted = np.asarray(decision.assigned) >= 0
    else:
        contacted = np.arange(len(scores)) < decision.n_targeted
    out = pd.DataFrame(
        {
            "outcome": scores["outcome"].to_numpy(dtype=int),
            "churn_probability": scores["churn_probability"].to_numpy(dtype=float),
            "contacted": contacted,
        }
    )
    extra = rows.drop(columns=[c for c in out.columns if c in rows.columns])
    return pd.concat([out, extra], axis=1)


def _group_counts(
    y: np.ndarray, p: np.ndarray, selected: np.ndarray, groups: pd.Series
) -> pd.DataFrame:
    """The counts of each group, from one groupby.

    Columns: ``customers``, ``contacted``, ``churners``, ``stayers``, ``true_positives``
    (churners contacted), ``false_positives`` (stayers contacted) and ``predicted`` (the
    sum of the churn probabilities). Groups are the text of ``groups``' values, in a
    categorical's order (categories nobody is in left out), else sorted.
    """
    labels = pd.Series(groups).astype(str).to_numpy()
    stayer = 1 - y
    counts = (
        pd.DataFrame(
            {
                "customers": np.ones(len(y), dtype=int),
                "contacted": selected.astype(int),
                "churners": y,
                "stayers": stayer,
                "true_positives": y * selected,
                "false_positives": stayer * selected,
                "predicted": p,
            }
        )
        .groupby(labels, sort=True)
        .sum()
    )
    if isinstance(groups.dtype, pd.CategoricalDtype):
        counts = counts.loc[[str(c) for c in groups.cat.categories if str(c) in counts.index]]
    return counts


def _katz(
    k: np.ndarray, n: np.ndarray, k_ref: float, n_ref: float, z: float = Z95
) -> tuple[np.ndarray, np.ndarray]:
    """Katz log interval of ``(k / n) / (k_ref / n_ref)`` (95% with the default ``z``).

    A rate of exactly 0 or 1 gets half a customer added to each side (``k + 0.5`` of
    ``n + 1``), so its interval is not falsely narrow.
    """
    k, n = np.asarray(k, float), np.asarray(n, float)
    edge = (k == 0) | (k == n)
    k, n = np.where(edge, k + 0.5, k), np.where(edge, n + 1.0, n)
    if k_ref == 0 or k_ref == n_ref:
        k_ref, n_ref = k_ref + 0.5, n_ref + 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        log_ratio = np.log((k / n) / (k_ref / n_ref))
        se = np.sqrt(1 / k - 1 / n + 1 / k_ref - 1 / n_ref)
    return np.exp(log_ratio - z * se), np.exp(log_ratio + z * se)


def group_table(
    y: np.ndarray, p: np.ndarray, contacted: np.ndarray, groups: pd.Series
) -> pd.DataFrame:
    """Per-group figures of a policy, with 95% intervals and four-fifths flags.

    Parameters
    ----------
    y : 0/1 outcomes (1 = churned), one per customer.
    p : churn probabilities in [0, 1].
    contacted : True where the policy contacts the customer.
    groups : the group of each customer (e.g. :func:`segment_labels`); a categorical's
        order is kept.

    Returns
    -------
    One row per group (index: the group), with ``customers``, ``share`` (of all
    customers), for each rate in :data:`RATE_METRICS` the rate, ``_low``/``_high``
    (Wilson 95%), ``_k``/``_n`` (its numerator and denominator), and for the benefit
    rates in :data:`DISPARITY_METRICS` ``_ratio`` (to the best-served group),
    ``_ratio_low``/``_ratio_high`` (Katz, simultaneous 95% over all pairs of judged
    groups) and ``_status``: "reference", "flagged",
    "could be chance", "ok", "too few to judge" or "n/a". Then ``mean_predicted``,
    ``observed_rate`` with ``observed_low``/``observed_high`` (Wilson 95%),
    ``calibration_gap`` (predicted minus observed) and ``miscalibrated``, and
    ``flagged`` (any benefit rate flagged). Rates are in [0, 1]; NaN when undefined.
    """
    y = np.asarray(y, dtype=int)
    p = np.asarray(p, dtype=float)
    selected = np.asarray(contacted, dtype=bool)
    if not (len(y) == len(p) == len(selected) == len(groups)) or len(y) == 0:
        raise ChurnInputError("Outcomes, probabilities, decisions and groups must line up.")
    if pd.isna(groups).any():
        raise ChurnInputError("Every customer needs a group; missing values must be labelled.")
    counts = _group_counts(y, p, selected, groups)
    out = pd.DataFrame(index=pd.Index(counts.index, name="group"))
    n, contacted_n, churners, stayers, tp, fp, predicted = (
        counts[c].to_numpy(dtype=float)
        for c in (
            "customers",
            "contacted",
            "churners",
            "stayers",
            "true_positives",
            "false_positives",
            "predicted",
        )
    )
    out["customers"] = n.astype(int)
    out["share"] = n / n.sum()
    parts = {
        "selection_rate": (contacted_n, n),
        "recall": (tp, churners),
        "precision": (tp, contacted_n),
        "false_positive_rate": (fp, stayers),
    }
    for key, (k, d) in parts.items():
        some = d > 0
        low, high = wilson(k, np.where(some, d, 1.0))
        out[key] = np.divide(k, d, out=np.full(d.shape, np.nan), where=some)
        out[f"{key}_low"] = np.where(some, low, np.nan)
        out[f"{key}_high"] = np.where(some, high, np.nan)
        out[f"{key}_k"] = k.astype(int)
        out[f"{key}_n"] = d.astype(int)
    for key in DISPARITY_METRICS:
        _add_disparity(out, key)
    low, high = wilson(churners, n)
    out["mean_predicted"] = predicted / n
    out["observed_rate"] = churners / n
    out["observed_low"] = low
    out["observed_high"] = high
    out["calibration_gap"] = out["mean_predicted"] - out["observed_rate"]
    out["miscalibrated"] = (out["mean_predicted"] < low) | (out["mean_predicted"] > high)
    out["flagged"] = np.logical_or.reduce(
        [out[f"{key}_status"].to_numpy() == "flagged" for key in DISPARITY_METRICS]
    )
    return out


def _simultaneous_z(n_groups: int) -> float:
    """Normal quantile for 95% intervals that hold together over every pair of groups.

    The best-served group is picked from the data, so its comparison with any group is
    one of the ``n_groups * (n_groups - 1) / 2`` pairs; Bonferroni over them.
    """
    pairs = max(1, n_groups * (n_groups - 1) // 2)
    return float(norm.ppf(1.0 - 0.025 / pairs))


def _add_disparity(out: pd.DataFrame, key: str) -> None:
    """Ratio to the best-served judged group, its interval and the status (in place)."""
    rate = out[key].to_numpy(dtype=float)
    k = out[f"{key}_k"].to_numpy(dtype=float)
    d = out[f"{key}_n"].to_numpy(dtype=float)
    judged = (d >= MIN_GROUP_SIZE) & np.isfinite(rate)
    status = np.where(judged, "ok", "too few to judge").astype(object)
    ratio = np.full(rate.shape, np.nan)
    low, high = ratio.copy(), ratio.copy()
    if judged.any() and np.nanmax(np.where(judged, rate, np.nan)) > 0:
        best = int(np.nanargmax(np.where(judged, rate, np.nan)))
        ratio = rate / rate[best]
        low, high = _katz(k, d, k[best], d[best], _simultaneous_z(int(judged.sum())))
        low = np.where(np.isfinite(rate), low, np.nan)
        high = np.where(np.isfinite(rate), high, np.nan)
        below = judged & (ratio < FOUR_FIFTHS)
        status = np.where(below, np.where(high < 1.0, "flagged", "could be chance"), status)
        status[best] = "reference"
        low[best] = high[best] = 1.0
    elif judged.any():
        status = np.where(judged, "n/a", status)  # nobody in any judged group gets it
    status = np.where(np.isfinite(rate), status, "n/a")
    out[f"{key}_ratio"] = ratio
    out[f"{key}_ratio_low"] = low
    out[f"{key}_ratio_high"] = high
    out[f"{key}_status"] = status.astype(str)


def fairness_table(artifact: Artifact, decision: Decision, column: str) -> pd.DataFrame:
    """:func:`group_table` of the holdout grouped by ``column``, for ``decision``'s policy."""
    selection = holdout_selection(artifact, decision)
    groups = segment_labels(selection, column)
    return group_table(
        selection["outcome"].to_numpy(),
        selection["churn_probability"].to_numpy(),
        selection["contacted"].to_numpy(),
        groups,
    )


def _describe(attribute: str, group: str) -> str:
    return f"customers with {attribute} {group}"


def _calibration_note(row: pd.Series) -> str:
    """Whether the model's probabilities hold for a group, in one sentence."""
    predicted, observed = percent(row["mean_predicted"]), percent(row["observed_rate"])
    interval = f"95% {percent(row['observed_low'])} to {percent(row['observed_high'])}"
    if not row["miscalibrated"]:
        return (
            f"The model's predicted churn for them ({predicted}) agrees with how many churned "
            f"({observed}, {interval}), so the gap follows their churn risk; whether that "
            "justifies it is a policy decision."
        )
    direction = "under-rates" if row["mean_predicted"] < row["observed_rate"] else "over-rates"
    return (
        f"The model predicts {predicted} churn for them but {observed} churned ({interval}): it "
        f"{direction} their risk."
    )


def disparity_notes(table: pd.DataFrame, attribute: str) -> list[str]:
    """Plain-language sentences, one per flagged gap in a :func:`group_table`.

    For example: "Customers with age 65 and over get the offer at 0.73x the rate of
    customers with age under 25 (50.0% vs 68.2% of customers): about 182 fewer per
    1,000 customers." followed by whether the model's probabilities hold for the group.
    """
    notes = []
    for key in DISPARITY_METRICS:
        metric = RATE_METRICS[key]
        status = table[f"{key}_status"]
        if not (status == "flagged").any():
            continue
        best = status.index[status == "reference"][0]
        best_rate = float(table.at[best, key])
        for group in status.index[status == "flagged"]:
            rate = float(table.at[group, key])
            ratio = float(table.at[group, f"{key}_ratio"])
            fewer = round((best_rate - rate) * 1000)
            who = _describe(attribute, str(group))
            if key == "recall":
                who = f"churners among {who}"
            notes.append(
                f"{who[0].upper()}{who[1:]} {metric.numerator} at {ratio:.2f}x the rate of "
                f"{_describe(attribute, str(best))} ({percent(rate)} vs {percent(best_rate)} of "
                f"{metric.denominator}): about {fewer:,} fewer per 1,000 {metric.denominator}. "
                + _calibration_note(table.loc[group])
            )
    return notes


def _triples(table: pd.DataFrame, value: str, low: str, high: str) -> zip:
    return zip(table[value], table[low], table[high], strict=True)


def _percent_interval(value: float, low: float, high: float) -> str:
    """``"57.2% (54.3–60.0%)"``; "n/a" when undefined."""
    if value != value:
        return "n/a"
    if low != low or high != high:
        return percent(value)
    return f"{percent(value)} ({low * 100:.1f}–{percent(high)})"


def _ratio_interval(value: float, low: float, high: float, verdict: str) -> str:
    """``"0.94 (0.82–1.09) ok"``; "n/a" when undefined."""
    if value != value:
        return "n/a"
    if low != low or high != high:
        return f"{value:.2f} {verdict}"
    return f"{value:.2f} ({low:.2f}–{high:.2f}) {verdict}"


#: Short column names, so the table fits a page (the chart and the help say the rest).
SHORT_LABELS = {
    "selection_rate": "Contacted",
    "recall": "Recall",
    "precision": "Precision",
    "false_positive_rate": "Stayers contacted",
}


#: Columns of :func:`display_table` a page may show apart from the rest, to fit its width.
SECONDARY_COLUMNS = ("Precision", "Stayers contacted", "Calibration")


def display_table(table: pd.DataFrame) -> pd.DataFrame:
    """A :func:`group_table` as text for people, narrow enough for a page: one row per group,
    95% intervals in brackets; for each rate the four-fifths rule compares, its ratio to the
    best-served group with the verdict ("<rate> vs best")."""
    out = pd.DataFrame(index=table.index)
    out["Customers"] = [
        f"{n:,} ({percent(s)})" for n, s in zip(table["customers"], table["share"], strict=True)
    ]
    for key in RATE_METRICS:
        label = SHORT_LABELS[key]
        out[label] = [
            _percent_interval(*t) for t in _triples(table, key, f"{key}_low", f"{key}_high")
        ]
        if key in DISPARITY_METRICS:
            ratios = _triples(table, f"{key}_ratio", f"{key}_ratio_low", f"{key}_ratio_high")
            out[f"{label} vs best"] = [
                _ratio_interval(*t, verdict)
                for t, verdict in zip(ratios, table[f"{key}_status"].to_numpy(), strict=True)
            ]
    out["Churn: predicted / observed"] = [
        f"{percent(predicted)} / {observed}"
        for predicted, observed in zip(
            table["mean_predicted"],
            (
                _percent_interval(*t)
                for t in _triples(table, "observed_rate", "observed_low", "observed_high")
            ),
            strict=True,
        )
    ]
    out["Calibration"] = np.where(table["miscalibrated"], "off", "ok")
    out.index.name = "Group"
    main = [c for c in out.columns if c not in SECONDARY_COLUMNS]
    return out[main + list(SECONDARY_COLUMNS)]


# --------------------------------------------------------------------------- worst slices

#: Slice criteria: column, label, True when a larger value is worse.
SLICE_CRITERIA = {
    "roc_auc": ("ROC-AUC", False),
    "brier": ("Brier score", True),
    "calibration_gap": ("Calibration gap", True),
}


def slice_min_size(n_customers: int) -> int:
    """The fewest customers a slice needs: 50, or 5% of the holdout when that is more."""
    return max(50, math.ceil(0.05 * n_customers))


def slice_table(
    artifact: Artifact, min_size: int | None = None, n_boot: int = 200, seed: int = 0
) -> pd.DataFrame:
    """Every single-feature slice of the holdout with the model's accuracy in it.

    A slice is one level or band (:func:`segment_labels`) of one feature, with at
    least ``min_size`` customers (default :func:`slice_min_size`). Columns:
    ``feature``, ``slice``, ``customers``, ``churn_rate``, ``roc_auc`` (NaN without
    both churners and stayers), ``brier``, ``calibration_gap`` (mean predicted minus
    observed churn rate, in [-1, 1]), each with ``_low``/``_high`` from ``n_boot``
    bootstrap resamples of the slice (percentile 95%), and ``worse_beyond_interval``: the
    criteria whose interval lies wholly on the worse side of the figure on all customers
    (for the calibration gap: of zero). The first row, feature "(all)", is the whole
    holdout for comparison.
    """
    scores, rows, _ = artifact.holdout_sorted
    y = scores["outcome"].to_numpy(dtype=float)
    p = scores["churn_probability"].to_numpy(dtype=float)
    min_size = slice_min_size(len(y)) if min_size is None else int(min_size)
    features = [c for c in segment_candidates(artifact).options if c in rows.columns]
    records = [("(all)", "all customers", np.ones(len(y), dtype=bool))]
    for feature in features:
        labels = segment_labels(rows, feature)
        for level in labels.cat.categories:
            mask = (labels == level).to_numpy()
            if mask.sum() >= min_size:
                records.append((feature, str(level), mask))
    rng = np.random.default_rng(seed)
    out = []
    for feature, level, mask in records:
        ys, ps = y[mask], p[mask]
        w = metrics.resample_counts(ys.size, n_boot, rng)
        both = 0 < ys.sum() < ys.size
        auc = metrics.roc_auc(ys, ps) if both else float("nan")
        auc_boot = metrics.roc_auc(ys, ps, weights=w) if both else np.full(n_boot, np.nan)
        brier_boot = metrics.brier(ys, ps, weights=w)
        gap_boot = (w @ (ps - ys)) / w.sum(axis=1)
        row = {
            "feature": feature,
            "slice": level,
            "customers": int(ys.size),
            "churn_rate": float(ys.mean()),
        }
        for key, value, boot in (
            ("roc_auc", auc, auc_boot),
            ("brier", metrics.brier(ys, ps), brier_boot),
            ("calibration_gap", float(np.mean(ps - ys)), gap_boot),
        ):
            low, high = metrics.percentiles(np.asarray(boot, dtype=float))
            row.update({key: float(value), f"{key}_low": low, f"{key}_high": high})
        out.append(row)
    table = pd.DataFrame(out)
    everyone = table.iloc[0]
    # worse than on all customers beyond the slice's own interval
    table["worse_beyond_interval"] = [
        ", ".join(
            label
            for key, (label, _) in SLICE_CRITERIA.items()
            if _clearly_worse(row, everyone, key)
        )
        for _, row in table.iterrows()
    ]
    table.loc[0, "worse_beyond_interval"] = ""
    return table


def _clearly_worse(row: pd.Series, everyone: pd.Series, key: str) -> bool:
    """The slice's interval lies wholly on the worse side of the figure on all customers
    (for the calibration gap: of zero, a perfect calibration)."""
    if key == "calibration_gap":
        return bool(row[f"{key}_low"] > 0 or row[f"{key}_high"] < 0)
    if SLICE_CRITERIA[key][1]:
        return bool(row[f"{key}_low"] > everyone[key])
    return bool(row[f"{key}_high"] < everyone[key])


def worst_slices(slices: pd.DataFrame, by: str, n: int = 10) -> pd.DataFrame:
    """The ``n`` slices of a :func:`slice_table` where the model does worst by ``by``.

    ``by`` is a :data:`SLICE_CRITERIA` key: lowest ROC-AUC, highest Brier score, or
    largest calibration gap in either direction. The "(all)" row is left out; slices
    where the criterion is undefined come last.
    """
    if by not in SLICE_CRITERIA:
        raise ChurnInputError(
            f"Slices can be ranked by {', '.join(SLICE_CRITERIA)}, not by '{by}'."
        )
    candidates = slices[slices["feature"] != "(all)"]
    key = candidates[by].abs() if by == "calibration_gap" else candidates[by]
    ascending = not SLICE_CRITERIA[by][1]
    order = key.sort_values(ascending=ascending, na_position="last").index
    return candidates.loc[order].head(n).reset_index(drop=True)


def slice_display(slices: pd.DataFrame) -> pd.DataFrame:
    """A :func:`slice_table` (or :func:`worst_slices`) as text for people."""

    def fmt(v: float, lo: float, hi: float, signed: bool = False) -> str:
        if v != v:
            return "n/a"
        spec = "+.3f" if signed else ".3f"
        return f"{v:{spec}} ({lo:{spec}} to {hi:{spec}})"

    return pd.DataFrame(
        {
            "Feature": slices["feature"],
            "Slice": slices["slice"],
            "Customers": [f"{n:,}" for n in slices["customers"]],
            "Churn rate": [percent(v) for v in slices["churn_rate"]],
            **{
                label: [
                    fmt(v, lo, hi, signed=key == "calibration_gap")
                    for v, lo, hi in _triples(slices, key, f"{key}_low", f"{key}_high")
                ]
                for key, (label, _) in SLICE_CRITERIA.items()
            },
            "Worse beyond its interval": slices["worse_beyond_interval"],
        }
    )
