"""Optimisers that update the flat parameter vector in place.

Both follow PyTorch's update rules, so a run can be checked step by step
against ``torch.optim``. Weight decay is decoupled (AdamW style,
p <- p * (1 - lr * wd)) and applies to the weight matrices only, never biases.

Adam, step t (bias-corrected, Kingma & Ba 2015):
    m_t = beta1 m_{t-1} + (1 - beta1) g
    v_t = beta2 v_{t-1} + (1 - beta2) g^2
    p  -= lr / (1 - beta1^t) * m_t / (sqrt(v_t) / sqrt(1 - beta2^t) + eps)

SGD with momentum:
    buf = momentum * buf + g
    p  -= lr * buf
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np


def _check_lr(lr: float) -> float:
    if not (isinstance(lr, (int, float)) and math.isfinite(lr) and lr > 0):
        raise ValueError(f"learning rate must be a positive number, got {lr!r}")
    return float(lr)


def _check_unit(name: str, value: float, *, closed_low: bool = True) -> float:
    ok = (0.0 <= value < 1.0) if closed_low else (0.0 < value < 1.0)
    if not ok:
        raise ValueError(f"{name} must be in [0, 1), got {value}")
    return float(value)


class Optimizer:
    """Base: holds the flat parameter and gradient arrays and the decayed views."""

    def __init__(self, params: np.ndarray, grads: np.ndarray, lr: float, weight_decay: float = 0.0,
                 decay_views: Sequence[np.ndarray] = ()):
        if params.shape != grads.shape or params.dtype != grads.dtype:
            raise ValueError("params and grads must be arrays of one shape and dtype")
        if not (math.isfinite(weight_decay) and weight_decay >= 0):
            raise ValueError(f"weight_decay must be >= 0, got {weight_decay}")
        self.params = params
        self.grads = grads
        self.lr = _check_lr(lr)
        self.weight_decay = float(weight_decay)
        self.decay_views = list(decay_views)
        self.t = 0  # steps taken
        self._tmp = np.empty_like(params)

    def _decay(self, lr: float) -> None:
        if self.weight_decay:
            factor = 1.0 - lr * self.weight_decay
            for w in self.decay_views:
                w *= factor

    def step(self, lr_factor: float = 1.0) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def state_dict(self) -> dict[str, np.ndarray]:
        return {}


class Adam(Optimizer):
    def __init__(self, params: np.ndarray, grads: np.ndarray, lr: float = 1e-3, beta1: float = 0.9,
                 beta2: float = 0.999, eps: float = 1e-8, weight_decay: float = 0.0,
                 decay_views: Sequence[np.ndarray] = ()):
        super().__init__(params, grads, lr, weight_decay, decay_views)
        self.beta1 = _check_unit("beta1", beta1)
        self.beta2 = _check_unit("beta2", beta2)
        if not (math.isfinite(eps) and eps > 0):
            raise ValueError(f"eps must be positive, got {eps}")
        self.eps = float(eps)
        self.m = np.zeros_like(params)
        self.v = np.zeros_like(params)

    def step(self, lr_factor: float = 1.0) -> None:
        self.t += 1
        lr = self.lr * lr_factor
        g, m, v, tmp = self.grads, self.m, self.v, self._tmp
        self._decay(lr)
        m *= self.beta1
        np.multiply(g, 1.0 - self.beta1, out=tmp)
        m += tmp
        v *= self.beta2
        np.multiply(g, g, out=tmp)
        tmp *= 1.0 - self.beta2
        v += tmp
        bias1 = 1.0 - self.beta1**self.t
        bias2_sqrt = math.sqrt(1.0 - self.beta2**self.t)
        np.sqrt(v, out=tmp)
        tmp /= bias2_sqrt
        tmp += self.eps
        np.divide(m, tmp, out=tmp)
        tmp *= lr / bias1
        self.params -= tmp

    def state_dict(self) -> dict[str, np.ndarray]:
        return {"m": self.m, "v": self.v}


class SGD(Optimizer):
    def __init__(self, params: np.ndarray, grads: np.ndarray, lr: float = 1e-2, momentum: float = 0.9,
                 weight_decay: float = 0.0, decay_views: Sequence[np.ndarray] = ()):
        super().__init__(params, grads, lr, weight_decay, decay_views)
        self.momentum = _check_unit("momentum", momentum)
        self.buf = np.zeros_like(params)

    def step(self, lr_factor: float = 1.0) -> None:
        self.t += 1
        lr = self.lr * lr_factor
        self._decay(lr)
        if self.momentum:
            self.buf *= self.momentum
            self.buf += self.grads
            np.multiply(self.buf, lr, out=self._tmp)
        else:
            np.multiply(self.grads, lr, out=self._tmp)
        self.params -= self._tmp

    def state_dict(self) -> dict[str, np.ndarray]:
        return {"momentum_buffer": self.buf}


def clip_grad_norm(grads: np.ndarray, max_norm: float) -> float:
    """Scale ``grads`` in place so its global L2 norm is at most ``max_norm``; return the norm before."""
    r = grads.reshape(-1)
    norm = math.sqrt(float(np.dot(r, r)))
    coef = max_norm / (norm + 1e-6)  # as torch.nn.utils.clip_grad_norm_
    if coef < 1.0:
        grads *= coef
    return norm


OPTIMIZERS = ("adam", "sgd")


def make_optimizer(name: str, params: np.ndarray, grads: np.ndarray, decay_views: Sequence[np.ndarray] = (),
                   **hyper: float) -> Optimizer:
    """Build an optimiser by name; ``hyper`` holds its hyperparameters (lr, beta1, momentum, ...)."""
    if name == "adam":
        keys = ("lr", "beta1", "beta2", "eps", "weight_decay")
        cls = Adam
    elif name == "sgd":
        keys = ("lr", "momentum", "weight_decay")
        cls = SGD
    else:
        raise ValueError(f"unknown optimizer {name!r}: use one of {', '.join(OPTIMIZERS)}")
    return cls(params, grads, decay_views=decay_views, **{k: v for k, v in hyper.items() if k in keys})
