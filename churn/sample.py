"""Synthetic customers of a subscription business, with their true churn probability.

The generative process is documented column by column in ``data/README.md``.
Everything is drawn from one seeded :class:`numpy.random.Generator`, so
regenerating reproduces ``data/sample_customers.csv``,
``data/sample_new_batch.csv`` and ``data/sample_campaign.csv`` byte for byte::

    python -m churn.sample            # rewrites the three files and the model under data/

The true probability is a known function of the features
(:func:`true_churn_probability`); tests use it to check calibration and the
monitoring code uses the same process to check drift detection.

:func:`generate_campaign` draws an earlier retention campaign from the same
process: a random half of the customers was contacted, and the true effect of
contact differs between documented groups (:func:`true_contact_effect`), so
the campaign analysis can be checked against the true average effect.

:func:`write_sample_model` writes ``data/sample_model/``, the model the app starts with:
exactly what ``python -m churn train`` makes from ``data/sample_customers.csv``
(:data:`SAMPLE_MODEL_TRAIN_ARGS`), so the app loads it instead of training at start-up.
Training is deterministic, and when and how fast it ran is kept outside the fingerprint,
so retraining gives the same fingerprint (a test checks the shipped directory).
:func:`write_sample_scores` writes what ``python -m churn score`` gives the latest snapshot
with that model (``data/sample_new_batch_scores.parquet``), which :func:`latest_snapshot`
reads instead of scoring it again: with both, the app's first page imports neither
LightGBM nor scikit-learn (a test scores the snapshot again and compares).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "CAMPAIGN_PATH",
    "CAMPAIGN_SEGMENTS",
    "MODEL_DIR",
    "NEW_BATCH_PATH",
    "NEW_BATCH_SCORES_PATH",
    "SAMPLE_MODEL_TRAIN_ARGS",
    "SAMPLE_PATH",
    "SCORED_FILE_KEY",
    "generate_campaign",
    "generate_customers",
    "latest_snapshot",
    "true_churn_probability",
    "true_contact_effect",
    "write_sample_files",
    "write_sample_model",
    "write_sample_scores",
]

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
SAMPLE_PATH = DATA_DIR / "sample_customers.csv"
NEW_BATCH_PATH = DATA_DIR / "sample_new_batch.csv"
CAMPAIGN_PATH = DATA_DIR / "sample_campaign.csv"
#: The model trained on ``SAMPLE_PATH`` that the app starts with (see :func:`write_sample_model`).
MODEL_DIR = DATA_DIR / "sample_model"
#: What ``python -m churn score`` writes for ``NEW_BATCH_PATH`` with the model in
#: ``MODEL_DIR`` (see :func:`write_sample_scores`).
NEW_BATCH_SCORES_PATH = DATA_DIR / "sample_new_batch_scores.parquet"
#: The Parquet metadata key of the sha256 of the file those scores were made from.
SCORED_FILE_KEY = "churn.scored_file_sha256"
#: ``python -m churn`` arguments that train the bundled model (``--out`` comes after them).
SAMPLE_MODEL_TRAIN_ARGS = (
    "train",
    "--data",
    "data/sample_customers.csv",
    "--target",
    "churned",
    "--id",
    "customer_id",
)

REFERENCE_SEED = 20261129
NEW_BATCH_SEED = 20270301
CAMPAIGN_SEED = 20260601
#: Second word of the seed of the campaign's own draws (contact and outcome), so that
#: they never reuse the stream that drew the customers.
_CAMPAIGN_STREAM = 13

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


#: The groups of :func:`true_contact_effect`, in the order they are assigned (a customer
#: belongs to the first that fits), with the share of would-be churners contact keeps
#: (``None`` for the group whose churn rises instead).
CAMPAIGN_SEGMENTS: dict[str, float | None] = {
    "annoyed": None,
    "persuadable": 0.50,
    "lost cause": 0.05,
    "sure thing": 0.05,
    "moderate": 0.20,
}
#: Log-odds added to the churn of an "annoyed" customer who is contacted.
ANNOYED_LOGIT_RISE = 0.9


def true_contact_effect(frame: pd.DataFrame) -> pd.DataFrame:
    """True churn probability of each customer without and with a retention contact.

    The customer belongs to the first group that fits:

    ``annoyed``
        Two-year contract and at least 24 months of tenure: loyal customers whom
        a call reminds that they could leave; contact *raises* the log-odds of
        churn by :data:`ANNOYED_LOGIT_RISE`.
    ``persuadable``
        Month-to-month with a recent price increase: the offer undoes the
        increase and keeps half of those who would churn.
    ``lost cause``
        True churn probability without contact of 0.6 or more: contact keeps 5%.
    ``sure thing``
        True churn probability below 0.10: contact keeps 5% (a tiny absolute effect).
    ``moderate``
        Everyone else: contact keeps 20%.

    "Keeps a share *s*" means the probability with contact is ``(1 - s)`` times
    the probability without.

    Parameters
    ----------
    frame : DataFrame
        Customers with the sample's feature columns.

    Returns
    -------
    DataFrame
        Same index as ``frame``; ``segment`` (str), ``p_without_contact`` and
        ``p_with_contact`` (floats in [0, 1]).
    """
    p0 = true_churn_probability(frame)
    contract = frame["contract_type"].to_numpy(dtype=object)
    tenure = frame["tenure_months"].to_numpy(dtype=float)
    price_up = frame["recent_price_increase"].astype(bool).to_numpy()
    names = list(CAMPAIGN_SEGMENTS)
    conditions = [
        (contract == "Two year") & (tenure >= 24),
        (contract == "Month-to-month") & price_up,
        p0 >= 0.6,
        p0 < 0.10,
    ]
    segment = np.select(conditions, names[:-1], default=names[-1])
    keep = [CAMPAIGN_SEGMENTS[name] or 0.0 for name in names]
    p1 = p0 * (1.0 - np.select(conditions, keep[:-1], default=keep[-1]))
    annoyed = segment == "annoyed"
    logit0 = np.log(p0[annoyed]) - np.log1p(-p0[annoyed])
    p1[annoyed] = 1.0 / (1.0 + np.exp(-(logit0 + ANNOYED_LOGIT_RISE)))
    return pd.DataFrame(
        {"segment": segment.astype(str), "p_without_contact": p0, "p_with_contact": p1},
        index=frame.index,
    )


def generate_campaign(
    n: int = 8_000, seed: int = CAMPAIGN_SEED
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Draw an earlier retention campaign in which a random half was contacted.

    The customers are drawn by :func:`generate_customers` (reference snapshot) and
    keep their features as they were before the campaign; exactly ``n // 2`` of
    them, chosen at random, were contacted with one action, and each churned in
    the following window with the true probability of :func:`true_contact_effect`
    for the arm they were in.

    Parameters
    ----------
    n : int
        Number of customers.
    seed : int
        Seed; the same seed gives the same campaign.

    Returns
    -------
    frame : DataFrame
        ``customer_id`` (``K000001``...), the features, ``contacted`` and
        ``churned`` (both 0/1).
    truth : DataFrame
        Same index; ``segment``, ``p_without_contact`` and ``p_with_contact`` of
        :func:`true_contact_effect`.
    """
    customers, _ = generate_customers(n, seed, "reference")
    frame = customers.drop(columns="churned")
    frame["customer_id"] = [f"K{i + 1:06d}" for i in range(n)]
    truth = true_contact_effect(frame)
    rng = np.random.default_rng([seed, _CAMPAIGN_STREAM])
    contacted = np.zeros(n, dtype=int)
    contacted[rng.permutation(n)[: n // 2]] = 1
    probability = np.where(
        contacted == 1, truth["p_with_contact"].to_numpy(), truth["p_without_contact"].to_numpy()
    )
    frame["contacted"] = contacted
    frame["churned"] = (rng.random(n) < probability).astype(int)
    return frame, truth


def write_sample_files(directory: Path = DATA_DIR) -> tuple[Path, Path, Path]:
    """Regenerate the three sample files (byte for byte the committed ones)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    reference, _ = generate_customers(10_000, REFERENCE_SEED, "reference")
    new, _ = generate_customers(5_000, NEW_BATCH_SEED, "new", id_offset=10_000)
    campaign, _ = generate_campaign(8_000, CAMPAIGN_SEED)
    paths = (
        directory / SAMPLE_PATH.name,
        directory / NEW_BATCH_PATH.name,
        directory / CAMPAIGN_PATH.name,
    )
    for frame, path in zip((reference, new, campaign), paths, strict=True):
        frame.to_csv(path, index=False, lineterminator="\n")
    return paths


def write_sample_model(directory: Path = MODEL_DIR) -> str:
    """Train the sample's model as the command line does and write it to ``directory``.

    Runs ``python -m churn train --data data/sample_customers.csv --target churned --id
    customer_id --out DIRECTORY`` (in this process, the data read from :data:`SAMPLE_PATH`),
    which replaces a model directory atomically. Returns the model's fingerprint.
    """
    import json

    from churn.cli import main  # (training is only needed here: keep this module light)

    args = [*SAMPLE_MODEL_TRAIN_ARGS, "--out", str(directory)]
    args[args.index("--data") + 1] = str(SAMPLE_PATH)
    if main(["--quiet", *args]) != 0:
        raise RuntimeError(f"training the sample model into {directory} failed")
    manifest = json.loads((Path(directory) / "manifest.json").read_text(encoding="utf-8"))
    return manifest["fingerprint"]


def write_sample_scores(model_dir: Path = MODEL_DIR, path: Path = NEW_BATCH_SCORES_PATH) -> Path:
    """Score the latest snapshot (:data:`NEW_BATCH_PATH`) with the model in ``model_dir``
    as the command line does: ``python -m churn score --model data/sample_model --data
    data/sample_new_batch.csv --out data/sample_new_batch_scores.parquet`` (the model's
    fingerprint goes in the file's metadata), then adds the snapshot's sha256 to that
    metadata (:data:`SCORED_FILE_KEY`). Returns ``path``."""
    import pyarrow.parquet as pq

    from churn.cli import main

    args = ["score", "--model", str(model_dir), "--data", str(NEW_BATCH_PATH), "--out", str(path)]
    if main(["--quiet", *args]) != 0:
        raise RuntimeError(f"scoring the latest snapshot into {path} failed")
    table = pq.read_table(path)
    metadata = {**table.schema.metadata, SCORED_FILE_KEY.encode(): _sha256(NEW_BATCH_PATH)}
    pq.write_table(table.replace_schema_metadata(metadata), path)
    return Path(path)


def _sha256(path: Path) -> bytes:
    import hashlib

    return hashlib.sha256(Path(path).read_bytes()).hexdigest().encode()


def latest_snapshot(artifact: Any) -> pd.DataFrame:
    """The sample's latest snapshot (:data:`NEW_BATCH_PATH`), the customers the app acts
    on, as :func:`churn.training.scored_customers` gives them for ``artifact``.

    The scores are read from :data:`NEW_BATCH_SCORES_PATH` when its metadata says they were
    made by this model (its fingerprint) from this very file (its sha256), with the same
    ids in the same order; otherwise they are computed. Either way the figures are the same
    (``tests/test_first_page.py`` scores the snapshot again and compares every value).
    """
    from churn.data import read_table
    from churn.training import scored_customers

    frame = read_table(NEW_BATCH_PATH, text_columns=("customer_id",))
    scores = _shipped_scores(artifact.fingerprint, frame["customer_id"])
    return scored_customers(artifact, frame, scores=scores)


def _shipped_scores(fingerprint: str, ids: pd.Series) -> pd.DataFrame | None:
    """The score columns of :data:`NEW_BATCH_SCORES_PATH`, if it is this model's scores of
    these customers (else ``None``)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from churn.scored_base import FINGERPRINT_KEY
    from churn.training import SCORE_COLUMNS

    try:
        parquet = pq.ParquetFile(NEW_BATCH_SCORES_PATH)
        metadata = parquet.schema_arrow.metadata or {}
        if metadata.get(FINGERPRINT_KEY.encode(), b"").decode() != fingerprint:
            return None
        if metadata.get(SCORED_FILE_KEY.encode()) != _sha256(NEW_BATCH_PATH):
            return None
        table = parquet.read(columns=["customer_id", *SCORE_COLUMNS]).to_pandas()
    except (OSError, pa.ArrowInvalid, KeyError, UnicodeDecodeError):
        return None
    scored_ids = table.pop("customer_id").astype(str).to_numpy()
    if len(scored_ids) != len(ids) or not (scored_ids == ids.astype(str).to_numpy()).all():
        return None
    return table


if __name__ == "__main__":  # pragma: no cover
    for written in write_sample_files():
        print(f"wrote {written}")
    print(f"wrote {MODEL_DIR} (model {write_sample_model()[:12]})")
    print(f"wrote {write_sample_scores()}")
