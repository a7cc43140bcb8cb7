"""A synthetic look-alike of the IBM telco churn export (7,043 customers), for the tests.

The real export is not in the repository; this one has its shape and its traps:
places (City with 1,100+ values, Zip Code stored as a number, "Lat Long" as text,
Latitude and Longitude), constant columns (Country, State, Count), the target twice
(Churn Label Yes/No and Churn Value 0/1, a copy), a reason filled for churners only
(Churn Reason, a leak), a lifetime value (CLTV) beside the monthly charge, and a
plausible churn signal (contract, tenure, fibre, charges, senior citizens).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: The largest cities and their customers in the real export; the other cities are small.
_BIG_CITIES = {
    "Los Angeles": 305,
    "San Diego": 150,
    "San Jose": 112,
    "Sacramento": 108,
    "San Francisco": 104,
    "Fresno": 61,
    "Long Beach": 60,
    "Oakland": 52,
    "Escondido": 51,
    "Stockton": 44,
}
_PAYMENT = [
    "Electronic check",
    "Mailed check",
    "Bank transfer (automatic)",
    "Credit card (automatic)",
]
_REASONS = ["Competitor made better offer", "Attitude of support person", "Moved", "Price too high"]
_PAYMENT = [
    "Electronic check",
    "Mailed check",
    "Bank transfer (automatic)",
    "Credit card (automatic)",
]
_REASONS = ["Competitor made better offer", "Attitude of support person", "Moved", "Price too high"]
N_CITIES = 1_129
N_ZIPS = 1_652


def telco_like(n: int = 7_043, seed: int = 0) -> pd.DataFrame:
    """``n`` customers with the columns of the IBM telco export (see the module docstring)."""
    rng = np.random.default_rng(seed)
    names = [*_BIG_CITIES, *(f"Town {i:04d}" for i in range(N_CITIES - len(_BIG_CITIES)))]
    big = np.array(list(_BIG_CITIES.values()), dtype=float) / 7_043
    small = np.full(N_CITIES - len(_BIG_CITIES), (1 - big.sum()) / (N_CITIES - len(_BIG_CITIES)))
    city_of_row = rng.choice(N_CITIES, n, p=np.r_[big, small])
    # every city has at least one zip code; the rest go to random cities (big ones get more)
    zips = np.sort(rng.choice(np.arange(90_001, 96_162), N_ZIPS, replace=False))
    zip_city = np.r_[rng.permutation(N_CITIES), rng.choice(N_CITIES, N_ZIPS - N_CITIES)]
    zip_lat = rng.uniform(32.5, 42.0, N_ZIPS)
    zip_lon = rng.uniform(-124.3, -114.2, N_ZIPS)
    by_city: dict[int, np.ndarray] = {c: np.flatnonzero(zip_city == c) for c in range(N_CITIES)}
    zip_of_row = np.array([rng.choice(by_city[c]) for c in city_of_row])
    lat, lon = zip_lat[zip_of_row].round(6), zip_lon[zip_of_row].round(6)

    tenure = rng.integers(0, 73, n)
    contract = rng.choice(["Month-to-month", "One year", "Two year"], n, p=[0.55, 0.21, 0.24])
    internet = rng.choice(["Fiber optic", "DSL", "No"], n, p=[0.44, 0.34, 0.22])
    senior = rng.random(n) < 0.16
    monthly = np.where(internet == "No", rng.uniform(18, 26, n), rng.uniform(25, 119, n))
    monthly += (internet == "Fiber optic") * 15
    monthly = np.minimum(monthly, 118.75).round(2)
    logit = (
        -1.6
        + 1.5 * (contract == "Month-to-month")
        - 0.035 * tenure
        + 0.7 * (internet == "Fiber optic")
        + 0.4 * senior
        + 0.006 * (monthly - 65)
        + rng.normal(0, 0.4, n)
    )
    churned = rng.random(n) < 1 / (1 + np.exp(-logit))
    total = np.where(tenure == 0, " ", (tenure * monthly).round(2).astype(str))
    return pd.DataFrame(
        {
            "CustomerID": [f"{rng.integers(1000, 9999)}-{i:05X}" for i in range(n)],
            "Count": 1,
            "Country": "United States",
            "State": "California",
            "City": np.asarray(names, dtype=object)[city_of_row],
            "Zip Code": zips[zip_of_row],
            "Lat Long": [f"{a:.6f}, {b:.6f}" for a, b in zip(lat, lon, strict=True)],
            "Latitude": lat,
            "Longitude": lon,
            "Gender": rng.choice(["Female", "Male"], n),
            "Senior Citizen": np.where(senior, "Yes", "No"),
            "Partner": rng.choice(["Yes", "No"], n),
            "Dependents": rng.choice(["Yes", "No"], n, p=[0.23, 0.77]),
            "Tenure Months": tenure,
            "Internet Service": internet,
            "Contract": contract,
            "Paperless Billing": rng.choice(["Yes", "No"], n, p=[0.59, 0.41]),
            "Payment Method": rng.choice(_PAYMENT, n),
            "Monthly Charges": monthly,
            "Total Charges": total,
            "Churn Label": np.where(churned, "Yes", "No"),
            "Churn Value": churned.astype(int),
            "Churn Score": np.clip(
                np.round(45 + 25 * churned + rng.normal(0, 18, n)), 5, 100
            ).astype(int),
            "CLTV": rng.integers(2003, 6501, n),
            "Churn Reason": np.where(churned, rng.choice(_REASONS, n), None),
        }
    )
