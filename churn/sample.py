"""Synthetic customers of a subscription business, with their true churn probability.

The generative process is documented column by column in ``data/README.md``.
Everything is drawn from one seeded :class:`numpy.random.Generator`, so
regenerating reproduces ``data/sample_customers.csv`` and
``data/sample_new_batch.csv`` byte for byte::

    python -m churn.sample            # rewrites both files under data/

The true probability is a known function of the features
(:func:`true_churn_probability`); tests use it to check calibration and the
monitoring code uses the same process to check drift detection.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

__all__ = [
    "NEW_BATCH_PATH",
    "SAMPLE_PATH",
    "generate_customers",
    "true_churn_probability",
    "write_sample_files",
]

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
SAMPLE_PATH = DATA_DIR / "sample_customers.csv"
NEW_BATCH_PATH = DATA_DIR / "sample_new_batch.csv"

REFERENCE_SEED = 20261129
NEW_BATCH_SEED = 20270301

CONTRACTS = ["Month-to-month", "One year", "Two year"]
PLANS = ["Basic", "Standard", "Premium", "Enterprise"]
PLAN_BASE_CHARGE = {
    "Basic": 35.0,
    "Standard": 65.0,
    "Premium": 95.0,
    "Enterprise": 140.0,
}
PAYMENTS = ["Credit card", "Bank transfer", "Electronic check", "Mailed check"]
REGIONS = ["North", "South", "East", "West"]
GENDERS = ["Female", "Male", "Non-binary"]
CHANNELS = ["Online", "Store", "Partner", "Phone"]


def _choice(rng: np.random.Generator, values: list[str], p: list[float], n: int) -> np.ndarray:
    return np.asarray(values, dtype=object)[rng.choice(len(values), size=n, p=p)]


def true_churn_probability(frame: pd.DataFrame) -> np.ndarray:
    """True churn probability of each customer under the generative process.

    Parameters
    ----------
    frame : DataFrame
        Customers with the sample's feature columns (as produced by
        :func:`generate_customers`; missing values allowed where the process has them).

    Returns
    -------
    ndarray of float, probability in [0, 1], one per row.
    """
    tenure = frame["tenure_months"].to_numpy(dtype=float)
    contract = frame["contract_type"].to_numpy(dtype=object)
    m2m = (contract == "Month-to-month").astype(float)
    two_year = (contract == "Two year").astype(float)
    price_up = frame["recent_price_increase"].astype(bool).to_numpy().astype(float)
    tickets = frame["support_tickets_90d"].to_numpy(dtype=float)
    sat = frame["satisfaction_score"].to_numpy(dtype=float)
    trend = frame["usage_trend_pct"].to_numpy(dtype=float) / 100.0
    hours = frame["weekly_usage_hours"].to_numpy(dtype=float)
    payment = frame["payment_method"].to_numpy(dtype=object)
    charges = frame["monthly_charges"].to_numpy(dtype=float)
    discount = frame["discount_pct"].to_numpy(dtype=float)
    age = frame["age"].to_numpy(dtype=float)
    plan = frame["plan"].to_numpy(dtype=object)
    channel = frame["signup_channel"].to_numpy(dtype=object)
    paperless = frame["paperless_billing"].astype(bool).to_numpy().astype(float)

    logit = np.full(len(frame), -3.05)
    logit += 1.0 * m2m - 1.1 * two_year
    # New customers are fragile; the effect fades over the first year (non-linear).
    logit += 2.0 * np.exp(-tenure / 5.0) - 0.35 * np.log1p(tenure) / np.log(73.0)
    # A price increase hurts, much more on a contract the customer can leave at once.
    logit += 0.1 * price_up + 1.5 * price_up * m2m
    # Support tickets: a step at three or more (threshold effect).
    logit += 0.1 * np.minimum(tickets, 6) + 1.3 * (tickets >= 3)
    # Satisfaction survey; not answering is itself a weak signal.
    sat_missing = np.isnan(sat)
    logit += np.where(sat_missing, 0.3, 1.1 * (np.nan_to_num(sat, nan=3.0) <= 2.0))
    # Falling usage is the strongest early warning; light users are at risk.
    logit += 3.0 * np.clip(-trend - 0.15, 0.0, None) + 1.2 * np.exp(-hours / 2.0)
    logit += 0.45 * (payment == "Electronic check") + 0.15 * (payment == "Digital wallet")
    # Expensive month-to-month customers shop around (interaction).
    charges_filled = np.where(np.isnan(charges), 70.0, charges)
    logit += 0.02 * np.clip(charges_filled - 70.0, 0.0, None) * m2m
    logit -= 0.03 * discount
    # Age (a demographic attribute the generator does treat differently).
    age_filled = np.where(np.isnan(age), 45.0, age)
    logit += 0.5 * (age_filled < 25) - 0.45 * (age_filled >= 65)
    # Enterprise is rare and loyal.
    logit -= 1.4 * (plan == "Enterprise")
    logit += 0.25 * (channel == "Partner")
    logit += 0.15 * paperless
    # gender and region have no effect on churn.
    return 1.0 / (1.0 + np.exp(-logit))


def generate_customers(
    n: int, seed: int = REFERENCE_SEED, snapshot: str = "reference", id_offset: int = 0
) -> tuple[pd.DataFrame, np.ndarray]:
    """Draw ``n`` customers and their churn outcome.

    Parameters
    ----------
    n : int
        Number of customers.
    seed : int
        Seed of the random generator; the same seed gives the same frame.
    snapshot : {"reference", "new"}
        ``"new"`` is a later snapshot with drift: a price increase (monthly
        charges up 8%, far more customers with a recent increase) and a new
        payment method, "Digital wallet". How churn depends on the features
        does not change.
    id_offset : int
        Added to the running number in ``customer_id``.

    Returns
    -------
    frame : DataFrame
        ``customer_id``, the features and ``churned`` (0/1).
    probability : ndarray
        The true churn probability of each customer, in [0, 1].
    """
    if snapshot not in ("reference", "new"):
        raise ValueError("snapshot must be 'reference' or 'new'")
    new = snapshot == "new"
    rng = np.random.default_rng(seed)

    contract = _choice(rng, CONTRACTS, [0.52, 0.26, 0.22], n)
    # Longer contracts go with longer tenure.
    scale = np.select([contract == "Month-to-month", contract == "One year"], [14.0, 28.0], 40.0)
    tenure = np.clip(np.ceil(rng.exponential(scale)), 1, 72).astype(int)
    plan = _choice(rng, PLANS, [0.36, 0.38, 0.23, 0.03], n)
    base_charge = np.array([PLAN_BASE_CHARGE[p] for p in plan])
    charges = base_charge * rng.lognormal(0.0, 0.12, n)
    price_up = rng.random(n) < (0.40 if new else 0.15)
    if new:
        charges = charges * 1.08
    charges = np.round(charges, 2)
    charges[rng.random(n) < 0.01] = np.nan

    if new:
        payment = _choice(rng, [*PAYMENTS, "Digital wallet"], [0.27, 0.22, 0.27, 0.14, 0.10], n)
    else:
        payment = _choice(rng, PAYMENTS, [0.30, 0.25, 0.30, 0.15], n)
    tickets = rng.poisson(0.9, n)
    hours = np.round(rng.gamma(2.0, 4.0, n), 1)
    trend = np.round(np.clip(rng.normal(0.0, 22.0, n), -100, 150), 1)
    discount = np.where(rng.random(n) < 0.25, rng.choice([5, 10, 15, 20], n), 0)
    region = _choice(rng, REGIONS, [0.28, 0.24, 0.26, 0.22], n)
    age = np.round(np.clip(rng.normal(44.0, 15.0, n), 18, 90)).astype(float)
    age[rng.random(n) < 0.05] = np.nan
    gender = _choice(rng, GENDERS, [0.49, 0.49, 0.02], n)
    channel = _choice(rng, CHANNELS, [0.45, 0.25, 0.15, 0.15], n)
    sat = rng.choice([1, 2, 3, 4, 5], n, p=[0.07, 0.13, 0.30, 0.32, 0.18]).astype(float)
    sat[rng.random(n) < 0.20] = np.nan
    paperless = rng.random(n) < 0.6

    frame = pd.DataFrame(
        {
            "customer_id": [f"C{i + 1 + id_offset:06d}" for i in range(n)],
            "tenure_months": tenure,
            "contract_type": contract.astype(str),
            "plan": plan.astype(str),
            "monthly_charges": charges,
            "payment_method": payment.astype(str),
            "paperless_billing": paperless,
            "support_tickets_90d": tickets,
            "weekly_usage_hours": hours,
            "usage_trend_pct": trend,
            "recent_price_increase": price_up,
            "discount_pct": discount.astype(int),
            "region": region.astype(str),
            "age": age,
            "gender": gender.astype(str),
            "signup_channel": channel.astype(str),
            "satisfaction_score": sat,
        }
    )
    probability = true_churn_probability(frame)
    frame["churned"] = (rng.random(n) < probability).astype(int)
    return frame, probability


def write_sample_files(directory: Path = DATA_DIR) -> tuple[Path, Path]:
    """Regenerate the two sample files (byte for byte the committed ones)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    reference, _ = generate_customers(10_000, REFERENCE_SEED, "reference")
    new, _ = generate_customers(5_000, NEW_BATCH_SEED, "new", id_offset=10_000)
    paths = (directory / SAMPLE_PATH.name, directory / NEW_BATCH_PATH.name)
    for frame, path in zip((reference, new), paths, strict=True):
        frame.to_csv(path, index=False, lineterminator="\n")
    return paths


if __name__ == "__main__":  # pragma: no cover
    for written in write_sample_files():
        print(f"wrote {written}")
