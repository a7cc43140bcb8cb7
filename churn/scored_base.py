"""A scored base: the scores ``python -m churn score --out scores.parquet`` writes, opened to
decide on (up to tens of millions of customers).

``score`` records the model's fingerprint in the Parquet file's metadata
(:data:`FINGERPRINT_KEY`), so a file scored by another model is refused with a sentence.
Only the columns the decisions need are read: the id (as text), ``churn_probability`` and
the numeric columns copied with ``score --copy`` (a value column). The customers are
sorted once (:class:`churn.targeting.RankedCustomers`); after that, a change of cut-off or
capacity is a few binary searches (:meth:`ScoredBase.outlook`, :meth:`ScoredBase.page`).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from churn.economics import NO_ACTION, Economics
from churn.errors import ChurnInputError
from churn.targeting import (
    Capacity,
    PolicyRule,
    RankedCustomers,
    _rule_actions,
    profit_by_index,
    sorted_rules,
)

__all__ = ["FINGERPRINT_KEY", "ScoredBase", "read_scored_base"]

#: The Parquet metadata key under which ``score`` records the fingerprint of its model.
FINGERPRINT_KEY = "churn.model_fingerprint"


@dataclass
class ScoredBase:
    """Scored customers sorted once, with what the file held.

    ``name`` is the file's name; ``rows`` its rows; ``unscored`` the rows ``score`` could
    not score (no probability: never acted on, not counted in a capacity's share);
    ``value_columns`` the numeric columns it carries besides the scores.
    """

    name: str
    ranked: RankedCustomers
    id_column: str | None
    rows: int
    unscored: int
    value_columns: list[str] = field(default_factory=list)

    @property
    def customers(self) -> int:
        """The scored customers (those a policy can act on)."""
        return self.ranked.n

    def outlook(
        self, rules: list[PolicyRule], economics: Economics, capacity: Capacity | None
    ) -> dict[str, Any]:
        """What the policy does on these customers: :func:`churn.targeting.outlook`'s
        ``estimated`` figures (contacted exactly as ``score --policy`` would)."""
        return self.ranked.outlook(rules, economics, capacity)

    def _taken(self, rules, economics, capacity) -> tuple[np.ndarray | None, Any, int]:
        """Runs of the ranked order (by probability), or the order by expected value and how
        many of it the capacity takes."""
        if capacity and capacity.ranking == "expected_value":
            worth = self.ranked.by_worth(rules, economics)
            size = worth["order"].size
            allowed = size if capacity.total is None else capacity.total.count(self.ranked.n)
            return None, worth, min(size, allowed)
        return self.ranked.bounds(rules, capacity), None, 0

    def summary(
        self, rules: list[PolicyRule], economics: Economics, capacity: Capacity | None
    ) -> pd.DataFrame:
        """Customers and expected value (money) per action, strongest first, then no action:
        ``action, customers, share, expected_value``."""
        ordered = sorted_rules(rules)
        actions = _rule_actions(ordered, economics)
        b, worth, taken = self._taken(rules, economics, capacity)
        n = self.ranked.n
        counts = np.zeros(len(ordered), dtype=np.int64)
        money = np.zeros(len(ordered))
        if b is not None:
            for k, action in enumerate(actions):
                lo, hi = int(b[k + 1]), int(b[k])
                counts[k] = max(hi - lo, 0)
                if action is not None:
                    money[k] = self.ranked.run_profit(action, lo, hi, economics)
        elif taken:
            positions = worth["order"][:taken]
            index = worth["index"][positions]
            value = self.ranked.values_at(economics, positions)
            profit = profit_by_index(index, self.ranked.p_at(positions), value, ordered, economics)
            counts = np.bincount(index, minlength=len(ordered))[: len(ordered)]
            money = np.bincount(index, weights=profit, minlength=len(ordered))[: len(ordered)]
        rows = [
            {"action": ordered[k].action, "customers": int(counts[k]), "expected_value": money[k]}
            for k in range(len(ordered) - 1, -1, -1)
        ]
        rows.append(
            {"action": NO_ACTION, "customers": int(n - counts.sum()), "expected_value": 0.0}
        )
        table = pd.DataFrame(rows)
        table["share"] = table["customers"] / n if n else np.nan
        return table[["action", "customers", "share", "expected_value"]]

    def page(
        self,
        rules: list[PolicyRule],
        economics: Economics,
        capacity: Capacity | None,
        start: int = 0,
        size: int = 100,
        default_action: str = NO_ACTION,
    ) -> pd.DataFrame:
        """Customers ranked ``start + 1`` to ``start + size`` of the list the policy ranks:
        ``rank``, the id (or ``row``, counted from 1), ``churn_probability``, ``action``,
        ``expected_value`` and ``customer_value`` (money). Only these rows are built.

        By churn probability, the customers the policy acts on come first, then the others,
        each in :func:`churn.targeting.rank_order`'s order (as
        :func:`churn.customers.action_list`). When the capacity ranks by expected value,
        those it takes come first by expected value, then the others the rules would act on
        (by expected value), then the rest by churn probability.
        """
        ordered = sorted_rules(rules)
        start = max(int(start), 0)
        stop = min(start + max(int(size), 0), self.ranked.size)
        b, worth, taken = self._taken(rules, economics, capacity)
        if b is not None:
            positions = np.arange(start, max(stop, start))
            index = self.ranked.ranked_index(b, start, stop)
        else:
            i = np.arange(start, max(stop, start))
            order = worth["order"]
            inside = i < order.size
            positions = i.copy()
            positions[inside] = order[i[inside]]
            index = np.full(i.size, -1, dtype=np.int64)
            acted = i < taken
            index[acted] = worth["index"][positions[acted]]
        p = self.ranked.p_at(positions)
        value = self.ranked.values_at(economics, positions)
        expected = profit_by_index(index, p, np.nan_to_num(value), ordered, economics)
        names = np.array([default_action, *(r.action for r in ordered)], dtype=object)
        original = self.ranked.order[positions]
        label = self.id_column or "row"
        ids = (
            self.ranked.ids.iloc[original].reset_index(drop=True)
            if self.id_column is not None
            else pd.Series(original + 1)
        )
        return pd.DataFrame(
            {
                "rank": np.arange(start + 1, start + positions.size + 1),
                label: ids,
                "churn_probability": p,
                "action": names[index + 1].astype(str),
                "expected_value": expected,
                "customer_value": value,
            }
        )


def read_scored_base(
    source: str | Path | bytes,
    fingerprint: str,
    id_column: str | None,
    name: str | None = None,
) -> ScoredBase:
    """Open a scores file written by ``python -m churn score --out FILE.parquet``.

    Parameters
    ----------
    source : the file's path, or its bytes (an upload).
    fingerprint : the model's; a file scored by another model is refused.
    id_column : the model's id column (read as text).
    name : the file's name, for sentences (default: the path's).

    Raises
    ------
    ChurnInputError
        Not a Parquet file, no record of the model or another model's scores, no
        ``churn_probability``, or no rows.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    name = name or (Path(source).name if not isinstance(source, bytes) else "the file")
    try:
        handle = io.BytesIO(source) if isinstance(source, bytes) else Path(source)
        if not isinstance(source, bytes) and not Path(source).is_file():
            raise ChurnInputError(f"{source} is not a file; give the path of a scores file.")
        parquet = pq.ParquetFile(handle)
    except (pa.ArrowInvalid, OSError):
        raise ChurnInputError(
            f"{name} is not a Parquet file; open the scores 'python -m churn score --out "
            "scores.parquet' writes."
        ) from None
    metadata = parquet.schema_arrow.metadata or {}
    written = metadata.get(FINGERPRINT_KEY.encode(), b"").decode()
    if not written:
        raise ChurnInputError(
            f"{name} does not say which model scored it; score the customers again with "
            "'python -m churn score --out scores.parquet', which records it."
        )
    if written != fingerprint:
        raise ChurnInputError(
            f"{name} was scored by another model ({written[:12]}...), not this one "
            f"({fingerprint[:12]}...); score the customers with this model or open that one."
        )
    schema = parquet.schema_arrow
    if "churn_probability" not in schema.names:
        raise ChurnInputError(f"{name} has no churn_probability column; score it again.")
    if id_column is not None and id_column not in schema.names:
        raise ChurnInputError(
            f"{name} has no '{id_column}' column, which this model's ids are in; score it again."
        )
    skip = {"churn_probability", "probability_low", "probability_high", id_column}
    values = [
        f.name
        for f in schema
        if f.name not in skip and (pa.types.is_integer(f.type) or pa.types.is_floating(f.type))
    ]
    columns = [c for c in (id_column, "churn_probability", *values) if c is not None]
    table = parquet.read(columns=columns)
    if table.num_rows == 0:
        raise ChurnInputError(f"{name} has no customers.")
    p = table.column("churn_probability").to_numpy(zero_copy_only=False).astype(float)
    ids = None
    if id_column is not None:
        ids = pd.Series(table.column(id_column).cast(pa.string()).to_pandas(), dtype="str")
    found = {c: table.column(c).to_numpy(zero_copy_only=False).astype(float) for c in values}
    del table
    ranked = RankedCustomers(p, ids, values=found)
    del p, found
    pa.default_memory_pool().release_unused()  # what reading and ranking the ids took
    return ScoredBase(
        name=name,
        ranked=ranked,
        id_column=id_column,
        rows=ranked.size,
        unscored=ranked.size - ranked.n,
        value_columns=values,
    )
