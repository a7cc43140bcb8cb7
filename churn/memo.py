"""The decision memo: one self-contained HTML file a stakeholder can open, mail and print.

:func:`build_memo` writes, in the order a stakeholder reads it:

1. **the decision** in one paragraph: who is contacted, with which action, the profit per
   customer with its 95% interval, against contacting nobody, everybody and the readable
   rule (:func:`churn.policy.decide_on_holdout`, :func:`churn.policy.baseline_profits`);
2. **whether the model can be relied on**: the landing page's verdict and model card
   (:mod:`churn.report`);
3. **the profit curve** with the chosen point (:func:`churn.charts.profit_curve_chart`);
4. **what could go wrong**: fairness flags (:mod:`churn.fairness`), drift and staleness
   (a monitoring report from ``python -m churn monitor --out``, :mod:`churn.monitor`) and
   the review date;
5. **the assumptions**: the economics, and whether each success rate was measured (a
   campaign result, ``campaign.json``) or assumed;
6. **for engineering**: the model fingerprint the policy carries and the commands
   (:mod:`churn.export`).

Every figure comes from those library functions; each is written in a
``<span data-figure=NAME data-value=NUMBER>`` so tests can compare it with the library.
Charts are the pages' Altair specifications rendered to inline SVG by ``vl-convert``
(no JavaScript, no network: external data is refused). The file asks nothing of any
other host: no script, no external font, image or style sheet; it prints on A4 and
Letter (``@page`` margins, charts no wider than the printable width, figures and tables
never split across pages).
"""

from __future__ import annotations

import html
import json
import math
import re
import shlex
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import altair as alt

from churn import charts, export, fairness, report
from churn.artifact import Artifact
from churn.decisions import Choice
from churn.economics import Action, Economics
from churn.errors import ChurnInputError
from churn.formatting import NO_ACTION_LABEL, action_label, money, percent
from churn.monitor import MonitorReport, staleness
from churn.policy import (
    Decision,
    baseline_profits,
    capacity_of,
    decide_on_holdout,
    economics_note,
    validate_policy,
)

__all__ = [
    "CAMPAIGN_FILE",
    "PRINT_WIDTH_PX",
    "build_memo",
    "chart_svg",
    "decision_of",
    "error_page",
    "memo_file_name",
    "read_campaign",
    "read_monitor_report",
    "success_rate_source",
]

#: The file a campaign model directory holds (``python -m churn campaign --out DIR``).
CAMPAIGN_FILE = "campaign.json"
#: The printable width in CSS pixels: A4's 210 mm less two 15 mm margins (180 mm at
#: 96 px per inch); Letter's is wider. No chart is drawn wider than this.
PRINT_WIDTH_PX = 680
#: How a choice reads in the memo.
_CHOICE_WORDS = {
    "max_profit": "the highest profit",
    "threshold": "a churn probability cut-off of {value:.1%}",
    "top_share": "a capacity of the top {value:.1%} of customers",
    "top_n": "a capacity of {value:,.0f} customers per batch",
    "precision": "a target precision of {value:.0%}",
    "recall": "a target recall of {value:.0%}",
}
_ALTERNATIVES = {
    "chosen": "This policy",
    "model_best": "The model's best profit",
    "rule": "The readable rule's best policy",
    "everybody": "Contact everybody (one action, no model)",
    "nobody": "Contact nobody",
}


# ----------------------------------------------------------------------------- inputs
def decision_of(artifact: Artifact, policy: dict[str, Any]) -> tuple[Decision, Economics]:
    """The :class:`~churn.policy.Decision` a policy file records, measured on the holdout.

    The policy's choice, economics, ranking and batch size are decided again on the
    artifact's holdout (:func:`churn.policy.decide_on_holdout`), and the rules that gives
    must be the policy's: a policy for another model, or one edited by hand, is refused
    with a sentence.
    """
    validate_policy(policy)
    if policy["model_fingerprint"] != artifact.fingerprint:
        raise ChurnInputError(
            f"The policy was made for model {policy['model_fingerprint'][:12]}..., not for this "
            f"model ({artifact.fingerprint[:12]}...); export a policy for this model."
        )
    score = policy.get("score", "churn_probability")
    if score != "churn_probability":
        raise ChurnInputError(
            f"The memo describes policies on the churn probability; this one applies to "
            f"'{score}' (a campaign model's policy): export a policy of the churn model."
        )
    if not isinstance(policy.get("economics"), dict) or not isinstance(policy.get("choice"), dict):
        raise ChurnInputError(
            "The policy records no economics or choice to describe; export it again from the "
            "app or with 'python -m churn policy'."
        )
    economics = Economics.from_dict(policy["economics"])
    try:
        choice = Choice(policy["choice"].get("method"), policy["choice"].get("value"))
    except TypeError:
        raise ChurnInputError("The policy's choice is not readable; export it again.") from None
    capacity = capacity_of(policy)
    ranking = capacity.ranking if capacity is not None else "churn_probability"
    batch_size = (policy.get("expected") or {}).get("batch_size")
    decision = decide_on_holdout(artifact, economics, choice, ranking, batch_size=batch_size)
    if [rule.to_dict() for rule in decision.rules] != policy["rules"]:
        raise ChurnInputError(
            "The policy's rules are not what its choice and economics give on this model; "
            "export the policy again."
        )
    return decision, economics


def _read_json(path: Path, what: str, again: str) -> Any:
    if not path.is_file():
        raise ChurnInputError(f"{what} not found: {path}; {again}.")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ChurnInputError(f"{path.name} is not valid JSON; {again}.") from None


def _interval(data: Any, key: str, where: str) -> dict[str, float]:
    part = data.get(key) if isinstance(data, dict) else None
    numbers = {}
    for end in ("estimate", "low", "high"):
        value = part.get(end) if isinstance(part, dict) else None
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise ChurnInputError(
                f"{where} lacks {key}.{end} as a number; run 'python -m churn campaign' again."
            )
        numbers[end] = float(value)
    return numbers


def read_campaign(path: str | Path) -> dict[str, Any]:
    """A campaign result: ``DIR/campaign.json`` (or that file itself), as ``python -m churn
    campaign --out DIR`` writes it.

    Only what the memo uses is read and checked: ``ate`` and ``success_rate``, each
    ``{estimate, low, high}`` (shares in [-1, 1] and [0, 1]); when there, ``balance``
    (``looks_random`` and its ``verdict`` or ``message`` sentence), ``arms`` (the customers
    of each arm), ``source`` (the campaign's file) and ``action`` (the action it tested).
    """
    path = Path(path)
    file = path / CAMPAIGN_FILE if path.is_dir() else path
    again = "give the folder 'python -m churn campaign --out' wrote"
    data = _read_json(file, "Campaign result", again)
    if not isinstance(data, dict):
        raise ChurnInputError(f"{file.name} is not a campaign result; {again}.")
    balance = data.get("balance") if isinstance(data.get("balance"), dict) else {}
    looks_random = balance.get("looks_random")
    message = balance.get("verdict") or balance.get("message")
    arms = data.get("arms") if isinstance(data.get("arms"), dict) else {}
    customers = {
        str(arm): int(row["customers"])
        for arm, row in arms.items()
        if isinstance(row, dict) and isinstance(row.get("customers"), int)
    }
    return {
        "ate": _interval(data, "ate", file.name),
        "success_rate": _interval(data, "success_rate", file.name),
        "looks_random": looks_random if isinstance(looks_random, bool) else None,
        "balance_message": str(message) if isinstance(message, str) else "",
        "arms": customers,
        "source": str(data["source"]) if isinstance(data.get("source"), str) else None,
        "action": data.get("action") if isinstance(data.get("action"), str) else None,
    }


def read_monitor_report(path: str | Path) -> dict[str, Any]:
    """The JSON report ``python -m churn monitor --out`` writes (checked for what the memo
    uses)."""
    path = Path(path)
    again = "write it with 'python -m churn monitor --out'"
    data = _read_json(path, "Monitoring report", again)
    return _checked_monitor(data, path.name)


def _checked_monitor(data: Any, name: str) -> dict[str, Any]:
    required = ("status", "model_fingerprint", "rows", "features", "performance", "messages")
    if not isinstance(data, dict) or any(k not in data for k in required):
        raise ChurnInputError(
            f"{name} is not a monitoring report; write it with 'python -m churn monitor --out'."
        )
    return data


# ----------------------------------------------------------------------------- charts
def chart_svg(chart: alt.TopLevelMixin, name: str) -> str:
    """``chart`` (an Altair chart) as inline SVG for an HTML page.

    Rendered by ``vl-convert`` with every external data URL refused. The element ids
    (clip paths) are prefixed with ``name`` so that several charts can share a page, and
    the XML namespace declarations are dropped (inline SVG in HTML needs none), so the
    file names no other host at all.
    """
    import vl_convert

    svg = vl_convert.vegalite_to_svg(charts.spec(chart), allowed_base_urls=[])
    svg = re.sub(r'\sxmlns(:\w+)?="[^"]*"', "", svg)
    # the renderer numbers ids across calls: number them per chart, so the same chart
    # gives the same text every time
    ids = {old: f"{name}-{i}" for i, old in enumerate(re.findall(r'\bid="([^"]+)"', svg), 1)}
    svg = re.sub(r'\bid="([^"]+)"', lambda m: f'id="{ids[m[1]]}"', svg)
    svg = re.sub(r"url\(#([^)]+)\)", lambda m: f"url(#{ids.get(m[1], m[1])})", svg)
    svg = re.sub(r'href="#([^"]+)"', lambda m: f'href="#{ids.get(m[1], m[1])}"', svg)
    return svg.replace("<svg ", f'<svg role="img" aria-label="{html.escape(name)}" ', 1)


def _profit_chart(decision: Decision) -> alt.LayerChart:
    return charts.profit_curve_chart(decision.curve, decision.row, decision.best_row).properties(
        width=470, height=300
    )


def _gains_reliability_chart(artifact: Artifact) -> alt.HConcatChart:
    chart = charts.gains_and_reliability_chart(
        report.gains_table(artifact), report.reliability_table(artifact)
    )
    chart.hconcat = [
        chart.hconcat[0].properties(width=255, height=240, title="Who does it find?"),
        chart.hconcat[1].properties(width=235, height=240, title="Does 30% mean 30%?"),
    ]
    chart.spacing = 40
    return chart


# ----------------------------------------------------------------------------- html bits
def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _fig(name: str, value: float, text: str) -> str:
    """A figure: its text for people, its number for tests (``data-value``)."""
    number = "nan" if value is None or value != value else repr(float(value))
    return f'<span class="fig" data-figure="{_e(name)}" data-value="{number}">{_e(text)}</span>'


def _money(name: str, value: float, digits: int = 2) -> str:
    return _fig(name, value, money(value, digits))


def _percent(name: str, value: float, digits: int = 1) -> str:
    return _fig(name, value, percent(value, digits))


def _num(name: str, value: float, spec: str = ",") -> str:
    """A count (``1,234``) or another number in a format ``spec``."""
    return _fig(name, value, format(value, spec))


def _points(name: str, share: float) -> str:
    """A change of a share in signed percentage points: ``-0.052 -> "-5.2"``."""
    return _fig(name, share, f"{100 * share:+.1f}")


def _list(items: list[str]) -> str:
    return "<ul>" + "".join(f"<li>{item}</li>" for item in items) + "</ul>"


def _box(kind: str, body: str) -> str:
    return f'<div class="box {kind}">{body}</div>'


# ----------------------------------------------------------------------------- sections
def _who(decision: Decision) -> str:
    """``Call + discount for churn probability 22.3% or more; ...; No action for everyone
    else`` (a lowest cut-off of 0% reads "under X")."""
    parts = []
    for line in export.describe_rules(decision.rules, NO_ACTION_LABEL):
        action, _, condition = line.partition(": ")
        condition = condition.replace(f"from {0:.1%} to under", "under")
        parts.append(f"<strong>{_e(action)}</strong> for {_e(condition)}")
    return "; ".join(parts)


def _decision_section(
    decision: Decision, baselines: dict[str, float], policy: dict[str, Any]
) -> str:
    m = decision.metrics()
    choice = decision.choice
    chosen_by = _CHOICE_WORDS[choice.method].format(value=choice.value or 0.0)
    everybody = baselines["everybody"]
    everybody_text = (
        f"{_money('baseline_everybody', everybody)} for contacting everybody"
        if math.isfinite(everybody)
        else "contacting everybody is not possible within the actions' capacities"
    )
    paragraph = (
        f"Contact {_percent('share_targeted', decision.share_targeted)} of customers"
        + (
            f" (the capacity: {_e(decision.capacity.sentence())})"
            if decision.capacity is not None
            else ""
        )
        + f": {_who(decision)}. Chosen for {_e(chosen_by)}. On "
        f"{_num('holdout_customers', decision.n_customers)} "
        "customers the model never saw, this policy earns "
        f"<strong>{_money('profit_per_customer', m['profit_per_customer'])} per customer"
        f"</strong> (95% interval {_money('profit_per_customer_low', m['profit_per_customer_low'])}"
        f" to {_money('profit_per_customer_high', m['profit_per_customer_high'])}), about "
        f"{_money('profit_per_1000', 1000 * m['profit_per_customer'], 0)} for every 1,000 "
        f"customers, against {_money('baseline_nobody', baselines['nobody'])} for contacting "
        f"nobody, {everybody_text} and {_money('baseline_rule', baselines['rule'])} for the "
        "readable rule's best policy. It reaches "
        f"{_percent('recall', decision.recall)} of the customers who would churn; "
        f"{_percent('precision', decision.precision)} of those contacted would have churned. "
        "The model's own probabilities expect "
        f"{_money('expected_profit_per_customer', m['expected_profit_per_customer'])} per "
        "customer (from "
        f"{_money('expected_profit_per_customer_low', m['expected_profit_per_customer_low'])} "
        f"to {_money('expected_profit_per_customer_high', m['expected_profit_per_customer_high'])}"
        " over the per-customer probability intervals)."
    )
    rows = "".join(
        f"<tr><td>{_e(label)}</td><td class='num'>"
        + (
            _money(f"alternative_{key}", baselines[key])
            if math.isfinite(baselines[key])
            else "not possible"
        )
        + "</td></tr>"
        for key, label in _ALTERNATIVES.items()
    )
    counts = ", ".join(
        f"{_e(action_label(name))}: {_num('count_' + name, n)}"
        for name, n in decision.actions_count.items()
    )
    note = economics_note(decision, baselines)
    return (
        '<section id="decision"><h2>The decision</h2>'
        f'<p class="lead">{paragraph}</p>'
        + (_box("note", f"<p>{_e(note)}</p>") if note else "")
        + '<table class="compact"><caption>Profit per customer on the holdout</caption>'
        f"<thead><tr><th>Option</th><th class='num'>Profit per customer</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
        f'<p class="small">Actions on the holdout customers: {counts}.</p></section>'
    )


def _reliance_section(artifact: Artifact, svg: str) -> str:
    verdict = report.verdict(artifact)
    card = report.model_card(artifact)
    summary = report.data_summary(artifact)
    kind = "good" if verdict["beats_rule"] else "warn"
    box = _box(
        kind,
        f'<p class="verdict"><strong>{_e(verdict["headline"])}</strong></p>'
        + _list([_e(line) for line in verdict["details"]]),
    )
    facts = _list(
        [
            f"<strong>Predicts:</strong> {_e(card['predicts'])}",
            f"<strong>For whom:</strong> {_e(card['for_whom'])}",
            f"<strong>Model:</strong> {_e(card['model'])}",
            f"<strong>Trained:</strong> {_e(card['trained_at'].replace('T', ' ')[:16])} UTC on "
            f"{_e(card['data'])}; evaluated on "
            f"{_num('holdout_rows', summary['holdout_rows'])} "
            "holdout customers it never saw.",
        ]
    )
    return (
        '<section id="reliance"><h2>Can the model be relied on?</h2>'
        + box
        + "<h3>Model card</h3>"
        + facts
        + "<h4>Known limitations</h4>"
        + _list([_e(line) for line in card["limitations"]])
        + '<figure class="chart">'
        + svg
        + "<figcaption>Left: the share of all churners found when contacting customers from the "
        "highest probability down (dashed: at random). Right: predicted against observed churn "
        "on the holdout; points on the dashed line mean the stated probability matches what "
        "happened; bars are 95% intervals.</figcaption>"
        "</figure></section>"
    )


def _curve_section(decision: Decision, svg: str) -> str:
    chosen = decision.curve.iloc[decision.row]
    best = decision.curve.iloc[decision.best_row]
    return (
        '<section id="curve"><h2>Profit against share contacted</h2>'
        '<figure class="chart">'
        + svg
        + "<figcaption>Profit per customer on the holdout for every share contacted, with its "
        "95% band. This policy: "
        f"{_percent('curve_chosen_share', float(chosen['share_targeted']))} contacted, "
        f"{_money('curve_chosen_profit', float(chosen['profit_per_customer']))} per customer. "
        "Best profit: "
        f"{_percent('curve_best_share', float(best['share_targeted']))} contacted, "
        f"{_money('curve_best_profit', float(best['profit_per_customer']))} per customer."
        "</figcaption></figure></section>"
    )


def _fairness_part(artifact: Artifact, decision: Decision) -> str:
    columns = fairness.segment_candidates(artifact).default
    items = []
    for column in columns:
        table = fairness.fairness_table(artifact, decision, column)
        notes = fairness.disparity_notes(table, column)
        if notes:
            items += [f'<span class="flag">Flagged</span> {_e(note)}' for note in notes]
        else:
            items.append(f"No group of {_e(column)} is flagged under the four-fifths rule.")
    place = fairness.place_note(fairness.place_features(artifact))
    if place:
        items.append(_e(place))
    if not columns:
        items.append("No attribute to compare groups by was named or found.")
    return (
        "<h3>Fairness</h3>"
        f"<p>Groups compared on the holdout by {_e(', '.join(columns) or 'nothing')}: a group "
        f"contacted at under {fairness.FOUR_FIFTHS:.0%} of the best-served group's rate, beyond "
        "chance, is flagged.</p>" + _list(items)
    )


def _monitor_part(monitor: dict[str, Any] | None, policy: dict[str, Any]) -> str:
    if monitor is None:
        return (
            "<h3>Drift</h3><p>No monitoring report was given, so this memo does not say whether "
            "recent customers still look like the training data. Run <code>"
            + _command(
                "python -m churn monitor --model DIR --data NEW.csv --policy POLICY.json "
                "--out report.json"
            )
            + "</code> and build the memo with <code>--monitor report.json</code>.</p>"
        )
    status = str(monitor["status"])
    drifted = [f for f in monitor["features"] if f.get("status") != "stable"][:6]
    rows = "".join(
        f"<tr><td>{_e(f['name'])}</td><td class='num'>"
        f"{_num('psi_' + f['name'], f['psi'], '.2f')}</td><td>{_e(f['status'])}</td>"
        "</tr>"
        for f in drifted
    )
    table = (
        '<table class="compact"><caption>Features that moved most (population stability '
        "index; 0.1 moderate, 0.25 significant)</caption><thead><tr><th>Feature</th>"
        f"<th class='num'>PSI</th><th>Status</th></tr></thead><tbody>{rows}</tbody></table>"
        if rows
        else ""
    )
    messages = [_e(m) for m in monitor.get("messages") or []]
    kind = "warn" if status != "stable" or messages else "good"
    text = (
        f"<p>A batch of {_num('monitor_rows', monitor['rows'])} recent "
        f"customers compared with the training data: drift is <strong>{_e(status)}</strong>"
        + (
            f" (churn score PSI {_num('score_psi', monitor['score_psi'], '.3f')})"
            if isinstance(monitor.get("score_psi"), int | float)
            else ""
        )
        + ".</p>"
    )
    body = _box(kind, text + (_list(messages) if messages else "")) + table
    estimated = (monitor.get("performance") or {}).get("estimated")
    realised = (monitor.get("performance") or {}).get("realised")
    if monitor.get("policy_rules") not in (None, policy["rules"]):
        body += (
            "<p>The monitoring report evaluated other rules than this policy's, so its "
            "estimated results are not shown; run it with this policy.</p>"
        )
    elif estimated:
        line = (
            "On that batch this policy is expected to contact "
            f"{_percent('monitor_share_targeted', estimated['share_targeted'])} of customers "
            f"for {_money('monitor_profit_per_customer', estimated['profit_per_customer'])} per "
            "customer"
        )
        if realised:
            line += (
                "; with the outcomes known it made "
                f"{_money('monitor_realised_profit', realised['profit_per_customer'])} per "
                "customer"
            )
        body += f"<p>{line}.</p>"
    return "<h3>Drift</h3>" + body


def _review_part(artifact: Artifact, policy: dict[str, Any], today: date) -> str:
    stale = staleness(artifact.info.trained_at, policy.get("review_by"), today)
    when = (
        f"was due on <strong>{_e(stale['review_by'])}</strong>: it is overdue"
        if stale["overdue"]
        else f"is due by <strong>{_e(stale['review_by'])}</strong>, in "
        f"{_num('days_to_review', stale['days_to_review'])} "
        f"{'day' if stale['days_to_review'] == 1 else 'days'}"
    )
    return "<h3>Age and review date</h3>" + _box(
        "warn" if stale["overdue"] else "note",
        f"<p>The model is {_num('age_days', stale['age_days'])} "
        f"{'day' if stale['age_days'] == 1 else 'days'} old. The review of this policy {when}: "
        "check it against fresh outcomes, retrain the model and export the policy again.</p>",
    )


def _risks_section(
    artifact: Artifact,
    decision: Decision,
    policy: dict[str, Any],
    monitor: dict[str, Any] | None,
    today: date,
) -> str:
    return (
        '<section id="risks"><h2>What could go wrong</h2>'
        + _fairness_part(artifact, decision)
        + _monitor_part(monitor, policy)
        + _review_part(artifact, policy, today)
        + "</section>"
    )


def _value_text(economics: Economics) -> str:
    if economics.value_column is None:
        return f"every customer is worth {money(economics.value_constant)}"
    times = "" if economics.value_multiplier == 1 else f"{economics.value_multiplier:g} × "
    return (
        f"a customer is worth {times}their {economics.value_column} (the median where it "
        "is missing)"
    )


#: An assumed success rate this close to a campaign's estimate is the measured one
#: (the same to a tenth of a percentage point, as the memo writes it).
MEASURED_TOLERANCE = 0.0005


def success_rate_source(action: Action, campaign: dict[str, Any] | None) -> str:
    """Where an action's success rate comes from, in words: ``"assumed"`` without a
    campaign or for an action the campaign did not test; with a campaign that tested it (or
    names no action), ``"measured by the campaign"`` when the rate is its estimate, else
    whether the assumed rate lies within the measured 95% interval."""
    tested = campaign.get("action") if campaign else None
    if campaign is None:
        return "assumed"
    if tested is not None and tested != action.name:
        return "assumed (the campaign tested another action)"
    success = campaign["success_rate"]
    if abs(action.success_rate - success["estimate"]) <= MEASURED_TOLERANCE:
        return "measured by the campaign"
    if success["low"] <= action.success_rate <= success["high"]:
        return "assumed, within the campaign's measured interval"
    return "assumed, outside the campaign's measured interval"


def _assumptions_section(economics: Economics, campaign: dict[str, Any] | None) -> str:
    rows = []
    for action in economics.actions:
        source = success_rate_source(action, campaign)
        capacity = "no limit" if action.max_share is None else percent(action.max_share)
        rows.append(
            f"<tr><td>{_e(action.name)}</td>"
            f"<td class='num'>{_money(f'contact_cost_{action.name}', action.contact_cost)}</td>"
            f"<td class='num'>{_money(f'incentive_cost_{action.name}', action.incentive_cost)}"
            f"</td><td class='num'>"
            f"{_percent(f'success_rate_{action.name}', action.success_rate)}</td>"
            f"<td>{_e(source)}</td><td>{_e(capacity)}</td></tr>"
        )
    table = (
        "<table><caption>The actions</caption><thead><tr><th>Action</th>"
        "<th class='num'>Contact cost</th><th class='num'>Incentive cost</th>"
        "<th class='num'>Success rate</th><th>Success rate is</th><th>Capacity</th></tr>"
        f"</thead><tbody>{''.join(rows)}</tbody></table>"
    )
    text = (
        '<section id="assumptions"><h2>Assumptions</h2>'
        f"<p>Customer value: {_e(_value_text(economics))}. A contacted customer who would have "
        "churned is worth the success rate × (value − incentive) − contact cost; one who would "
        "have stayed costs the incentive and the contact. Doing nothing is the zero line. The "
        "success rate is the share of would-be churners an action keeps.</p>" + table
    )
    if campaign is None:
        text += _box(
            "warn",
            "<p><strong>The success rates are assumptions.</strong> No campaign with a control "
            "group was given to measure them; the profit depends on them directly. Measure them "
            "with a campaign that leaves a random control group uncontacted "
            "(<code>python -m churn campaign</code>).</p>",
        )
    else:
        text += _campaign_part(economics, campaign)
    return text + "</section>"


def _campaign_part(economics: Economics, campaign: dict[str, Any]) -> str:
    success, ate = campaign["success_rate"], campaign["ate"]
    tested = campaign.get("action")
    which = f"of {_e(tested)}" if tested else "of the contact it tested"
    arms = campaign.get("arms") or {}
    arm_sizes = ", ".join(f"{_num('campaign_arm_' + arm, n)} {_e(arm)}" for arm, n in arms.items())
    where = "; ".join(part for part in (_e(campaign.get("source") or ""), arm_sizes) if part)
    where = f" ({where})" if where else ""
    lines = [
        f"A past campaign{where} with a control group measured a "
        f"success rate {which} of "
        f"<strong>{_percent('campaign_success_rate', success['estimate'])}</strong> (95% "
        f"interval {_percent('campaign_success_low', success['low'])} to "
        f"{_percent('campaign_success_high', success['high'])}): contacting changed the churn "
        f"rate by {_points('campaign_ate', ate['estimate'])} percentage points "
        f"({_points('campaign_ate_low', ate['low'])} to "
        f"{_points('campaign_ate_high', ate['high'])})."
    ]
    if tested is None:
        lines.append(
            "The campaign result does not name the action it tested: the table above compares "
            "every action with it."
        )
    compared = [a for a in economics.actions if tested is None or a.name == tested]
    outside = [a for a in compared if "outside" in success_rate_source(a, campaign)]
    for action in outside:
        lines.append(
            f"{_e(action.name)} assumes {percent(action.success_rate)}, outside the measured "
            "interval: the profit above may be wrong. Set it to the measured rate and decide "
            "again."
        )
    if campaign.get("balance_message"):
        lines.append(_e(campaign["balance_message"]))
    elif campaign.get("looks_random") is False:
        lines.append(
            "The contacted and control customers differed before the campaign, so the measured "
            "effect may not be the effect of the contact."
        )
    elif campaign.get("looks_random") is True:
        lines.append("The contacted and control customers looked alike before the campaign.")
    fits = not outside and campaign.get("looks_random") is not False
    return _box("good" if fits else "warn", "<p>" + "</p><p>".join(lines) + "</p>")


def _command(command: str) -> str:
    """A shell command whose lines break only between arguments, never inside one (an
    option such as ``--policy`` split at its dashes would not paste back)."""
    return " ".join(
        f'<span class="arg">{_e(shlex.quote(part))}</span>' for part in shlex.split(command)
    )


def _engineering_section(
    artifact: Artifact, decision: Decision, economics: Economics, policy: dict[str, Any]
) -> str:
    policy_name = export.policy_file_name(policy)
    train_data, score_data = export.data_paths(artifact)
    train_cmd = export.train_command(
        train_data,
        export.training_mapping(artifact),
        export.MODEL_DIR,
        seed=artifact.model_facts["random_state"],
    )
    score_cmd = export.score_command(export.MODEL_DIR, score_data, policy_name, export.SCORES_PATH)
    policy_cmd = export.policy_command(
        export.MODEL_DIR,
        policy_name,
        decision.choice,
        export.ECONOMICS_PATH,
        ranking=decision.capacity.ranking if decision.capacity else "churn_probability",
        batch_size=decision.batch_size,
    )
    rules = export.describe_rules(decision.rules, policy["default_action"])
    created = str(policy.get("created_at", ""))[:10]
    return (
        '<section id="engineering"><h2>For engineering</h2>'
        f"<p>Policy file <code>{_e(policy_name)}</code> (schema version "
        f"{_e(policy['schema_version'])}, exported {_e(created)}, review by "
        f"{_e(policy.get('review_by', ''))}). Each customer gets the action of the highest "
        "cut-off their probability reaches:</p>"
        + _list([_e(line) for line in rules])
        + (
            f"<p>Then the capacity cuts every scored batch: {_e(decision.capacity.sentence())}.</p>"
            if decision.capacity is not None
            else ""
        )
        + "<p>Model fingerprint the policy is for (sha256 of every file of the model; "
        "scoring refuses any other model):</p>"
        f'<pre class="fingerprint" data-figure="fingerprint">{_e(policy["model_fingerprint"])}'
        "</pre>"
        "<p>Train the same model (same data, same seed: same fingerprint), then score "
        "customers with the policy:</p>"
        f"<pre>{_command(train_cmd)}\n{_command(score_cmd)}</pre>"
        "<p>For a model trained on other data (it has its own fingerprint), export the same "
        "choice and economics for it:</p>"
        f"<pre>cat &gt; {_e(export.ECONOMICS_PATH)} &lt;&lt;'EOF'\n"
        f"{_e(export.economics_json(economics))}EOF\n{_command(policy_cmd)}</pre></section>"
    )


# ----------------------------------------------------------------------------- the page
_CSS = """
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; background: #f4f5f7; color: #1d2330;
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
  "Liberation Sans", sans-serif; }
main { max-width: 760px; margin: 24px auto; padding: 32px 40px; background: #fff;
  border: 1px solid #dde1e6; }
header { border-bottom: 3px solid #0072B2; margin-bottom: 8px; padding-bottom: 8px; }
h1 { font-size: 26px; margin: 0 0 4px; }
.meta { color: #5a6270; font-size: 13px; margin: 0; }
h2 { font-size: 20px; margin: 28px 0 8px; border-bottom: 1px solid #dde1e6;
  padding-bottom: 4px; break-after: avoid; page-break-after: avoid; }
h3 { font-size: 16px; margin: 18px 0 6px; break-after: avoid; page-break-after: avoid; }
h4 { font-size: 14px; margin: 12px 0 4px; break-after: avoid; page-break-after: avoid; }
p, li { margin: 0 0 6px; }
ul { margin: 0 0 8px; padding-left: 22px; }
.lead { font-size: 16px; }
.small, figcaption, caption { font-size: 13px; color: #5a6270; }
.box { border-left: 4px solid #0072B2; background: #eef5fb; padding: 8px 12px; margin: 8px 0;
  break-inside: avoid; page-break-inside: avoid; }
.box.good { border-color: #009E73; background: #eaf7f2; }
.box.warn { border-color: #D55E00; background: #fcf0e8; }
.flag { font-weight: 600; color: #a8480a; }
table { border-collapse: collapse; margin: 8px 0 12px; width: 100%;
  break-inside: avoid; page-break-inside: avoid; font-size: 14px; }
table.compact { width: auto; min-width: 60%; }
caption { text-align: left; padding-bottom: 4px; }
th, td { border-bottom: 1px solid #dde1e6; padding: 4px 8px; text-align: left;
  vertical-align: top; }
th { background: #f4f5f7; }
.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
figure { margin: 12px 0; break-inside: avoid; page-break-inside: avoid; }
figure svg { display: block; max-width: 100%; height: auto; }
pre { background: #f4f5f7; border: 1px solid #dde1e6; padding: 8px 10px; font-size: 12px;
  white-space: pre-wrap; overflow-wrap: anywhere; break-inside: avoid;
  page-break-inside: avoid; }
.arg { white-space: nowrap; }
code { font-size: 13px; overflow-wrap: anywhere; }
footer { margin-top: 24px; font-size: 12px; color: #5a6270; }
@page { margin: 15mm; }
@media print {
  body { background: #fff; font-size: 11pt; }
  main { max-width: none; margin: 0; padding: 0; border: 0; }
  h2 { margin-top: 18px; }
  .box, th { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
"""


def error_page(message: str) -> str:
    """A page saying why the memo could not be built (the app's download gets it instead of
    a failed download)."""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>No decision memo</title><style>{_CSS}</style></head><body><main>"
        f"<h1>No decision memo</h1><p>The memo could not be built: {_e(message)}</p>"
        "</main></body></html>\n"
    )


def memo_file_name(policy: dict[str, Any]) -> str:
    """``decision-memo-<fp12>-<date>.html`` (the model and the day the policy is for)."""
    return export.policy_file_name(policy).replace("policy-", "decision-memo-", 1)[:-5] + ".html"


def build_memo(
    artifact: Artifact,
    policy: dict[str, Any],
    campaign: dict[str, Any] | None = None,
    monitor: dict[str, Any] | MonitorReport | None = None,
    today: date | None = None,
) -> str:
    """The decision memo for ``policy`` on ``artifact``: one self-contained HTML page.

    Parameters
    ----------
    artifact : the model the policy is for (its fingerprint is checked).
    policy : the policy document (:func:`churn.policy.build_policy`, or a policy file read
        with :func:`churn.policy.load_policy`); it must record its choice and economics.
    campaign : :func:`read_campaign`'s result, or ``None``: the success rates are then
        written as assumed.
    monitor : a monitoring report (:class:`churn.monitor.MonitorReport` or its JSON form,
        :func:`read_monitor_report`) for the same model, or ``None``.
    today : the date the memo is prepared (default: today, UTC); sets the model's age.

    Returns
    -------
    str
        The HTML text (UTF-8), with no script and no reference to any other host.
    """
    decision, economics = decision_of(artifact, policy)
    if isinstance(monitor, MonitorReport):
        monitor = monitor.to_dict()
    if monitor is not None:
        monitor = _checked_monitor(monitor, "The monitoring report")
        if monitor["model_fingerprint"] != artifact.fingerprint:
            raise ChurnInputError(
                f"The monitoring report is for model {str(monitor['model_fingerprint'])[:12]}..., "
                f"not for this model ({artifact.fingerprint[:12]}...); run 'python -m churn "
                "monitor' with this model."
            )
    today = today or datetime.now(UTC).date()
    baselines = baseline_profits(artifact, economics, decision)
    profit_svg = chart_svg(_profit_chart(decision), "profit")
    gains_svg = chart_svg(_gains_reliability_chart(artifact), "gains")
    title = "Churn retention: the decision"
    meta = (
        f"Decision memo prepared {today.isoformat()} · model "
        f"{_e(artifact.fingerprint[:12])} trained on "
        f"{_e(artifact.info.source or 'an uploaded table')}"
        f" · policy exported {_e(str(policy.get('created_at', ''))[:10])}, review by "
        f"{_e(policy.get('review_by', ''))}"
    )
    body = (
        f"<header><h1>{_e(title)}</h1><p class='meta'>{meta}</p></header>"
        + _decision_section(decision, baselines, policy)
        + _reliance_section(artifact, gains_svg)
        + _curve_section(decision, profit_svg)
        + _risks_section(artifact, decision, policy, monitor, today)
        + _assumptions_section(economics, campaign)
        + _engineering_section(artifact, decision, economics, policy)
        + "<footer>Every figure is measured on the holdout customers the model never saw "
        "unless it says otherwise; money is per customer. Built by <code>python -m churn "
        "memo</code> from the same library functions as the app.</footer>"
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{_CSS}</style></head>"
        f"<body><main>{body}</main></body></html>\n"
    )
