"""Shared helpers for the model, metrics and sample-data tests: synthetic series with known
structure, GroupData builders and an artifact round trip. Also puts the runtime package on
sys.path so these tests run without depending on a conftest.
"""
from __future__ import annotations

import os
import sys

import numpy as np
import pandas as pd

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from manymodels_runtime.artifacts import dump_artifact, parse_artifact  # noqa: E402
from manymodels_runtime.models import GroupData  # noqa: E402

FEATURES = ["price", "promo"]


def daily_sales(n: int = 1200, seed: int = 0, noise: float = 1.0, start: str = "2019-01-01",
                promo_effect: float = 8.0, price_effect: float = -2.0, trend_per_day: float = 0.01) -> pd.DataFrame:
    """A daily series with a known additive structure.

    sales = 30 + trend·t + weekend bump 6 + 4·sin(yearly) + promo_effect·promo
            + price_effect·price + N(0, noise)
    """
    rng = np.random.default_rng(seed)
    dates = pd.date_range(start, periods=n, freq="D")
    t = np.arange(n)
    price = np.round(5 + rng.normal(0, 0.5, n), 2)
    promo = (rng.random(n) < 0.15).astype(np.float64)
    y = (30 + trend_per_day * t + 6.0 * (dates.dayofweek >= 5) + 4 * np.sin(2 * np.pi * t / 365.25)
         + promo_effect * promo + price_effect * price + rng.normal(0, noise, n))
    return pd.DataFrame({"date": dates, "price": price, "promo": promo, "sales": y.astype(np.float64)})


def forecast_data(frame: pd.DataFrame, features=FEATURES, frequency: str | None = "D") -> GroupData:
    return GroupData(frame=frame.reset_index(drop=True), time="date", target="sales",
                     features=list(features), frequency=frequency, task="forecast")


def tabular(n: int = 600, seed: int = 0, task: str = "regression", classes: int = 2) -> pd.DataFrame:
    """Rows with features x1..x3 and a target depending on x1, x2 (x3 is noise)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    if task == "regression":
        y = 3.0 + 2.0 * X[:, 0] - 1.0 * X[:, 1] + rng.normal(0, 0.1, n)
    else:
        z = 2.5 * X[:, 0] - 1.5 * X[:, 1] + rng.normal(0, 0.5, n)
        y = (z > 0).astype(float) if classes == 2 else np.digitize(z, [-1.0, 1.0]).astype(float)
    return pd.DataFrame({"x1": X[:, 0], "x2": X[:, 1], "x3": X[:, 2], "y": y})


def tabular_data(frame: pd.DataFrame, task: str) -> GroupData:
    return GroupData(frame=frame.reset_index(drop=True), time=None, target="y",
                     features=["x1", "x2", "x3"], frequency=None, task=task)


def roundtrip(state: dict) -> dict:
    """The state as the runtime stores it: written as an artifact (format 2) and read back."""
    return parse_artifact(dump_artifact("model", "forecast", state, {}))["state"]


def wape(actual, predicted) -> float:
    actual, predicted = np.asarray(actual, float), np.asarray(predicted, float)
    return float(np.abs(actual - predicted).sum() / np.abs(actual).sum())


def split(frame: pd.DataFrame, periods: int = 28) -> tuple[pd.DataFrame, pd.DataFrame]:
    return frame.iloc[:-periods].reset_index(drop=True), frame.iloc[-periods:].reset_index(drop=True)
