"""Regression metrics in price units: R^2, RMSE, MAE (1-D arrays of equal length)."""

from __future__ import annotations

import numpy as np


def r2_score(actual: np.ndarray, predicted: np.ndarray) -> float:
    """1 - SS_res / SS_tot (the coefficient of determination)."""
    actual, predicted = np.asarray(actual, np.float64).ravel(), np.asarray(predicted, np.float64).ravel()
    ss_res = float(np.sum((actual - predicted) ** 2))
    ss_tot = float(np.sum((actual - actual.mean()) ** 2))
    return 1.0 - ss_res / ss_tot if ss_tot > 0 else float("nan")


def rmse(actual: np.ndarray, predicted: np.ndarray) -> float:
    d = np.asarray(actual, np.float64).ravel() - np.asarray(predicted, np.float64).ravel()
    return float(np.sqrt(np.mean(d * d)))


def mae(actual: np.ndarray, predicted: np.ndarray) -> float:
    return float(np.mean(np.abs(np.asarray(actual, np.float64).ravel() - np.asarray(predicted, np.float64).ravel())))


def regression_metrics(actual: np.ndarray, predicted: np.ndarray, prefix: str) -> dict[str, float]:
    """{'<prefix>_r2', '<prefix>_rmse', '<prefix>_mae'}."""
    return {f"{prefix}_r2": r2_score(actual, predicted), f"{prefix}_rmse": rmse(actual, predicted),
            f"{prefix}_mae": mae(actual, predicted)}
