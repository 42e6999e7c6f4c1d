"""Regression losses: the value and its gradient in one pass.

``pred`` and ``target`` are ``(batch, n_outputs)``; ``grad_out`` receives
dL/dpred with the same shape. The loss is a mean over every element, so the
gradient carries the 1/(batch * n_outputs) factor.

    mse:    L = mean((pred - y)^2)                dL/dpred = 2 (pred - y) / N
    huber:  L = mean(h(pred - y)),  h(r) = r^2/2            if |r| <= delta
                                           delta (|r| - delta/2) otherwise
            dL/dpred = clip(pred - y, -delta, delta) / N
"""

from __future__ import annotations

from typing import Callable

import numpy as np

LossFn = Callable[[np.ndarray, np.ndarray, np.ndarray], float]
LOSSES = ("mse", "huber")


def mse(pred: np.ndarray, target: np.ndarray, grad_out: np.ndarray) -> float:
    """Return mean squared error; write its gradient into ``grad_out``."""
    n = pred.size
    np.subtract(pred, target, out=grad_out)
    r = grad_out.reshape(-1)
    loss = float(np.dot(r, r)) / n
    grad_out *= 2.0 / n
    return loss


def huber(delta: float) -> LossFn:
    if not delta > 0:
        raise ValueError(f"huber delta must be positive, got {delta}")

    def loss_fn(pred: np.ndarray, target: np.ndarray, grad_out: np.ndarray) -> float:
        n = pred.size
        r = np.subtract(pred, target, out=grad_out)
        absr = np.abs(r)
        quad = np.minimum(absr, delta)  # the part of |r| inside the quadratic zone
        # h(r) = quad^2/2 + delta*(|r| - quad)  (equals both branches above)
        loss = float(0.5 * np.dot(quad.reshape(-1), quad.reshape(-1)) + delta * (absr - quad).sum()) / n
        np.clip(r, -delta, delta, out=grad_out)
        grad_out *= 1.0 / n
        return loss

    return loss_fn


def get_loss(name: str, huber_delta: float = 1.0) -> LossFn:
    if name == "mse":
        return mse
    if name == "huber":
        return huber(huber_delta)
    raise ValueError(f"unknown loss {name!r}: use one of {', '.join(LOSSES)}")
