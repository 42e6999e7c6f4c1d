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
    """Adam with bias correction, in 10 elementwise passes over the flat parameters.

    It keeps the moments unscaled, M_t = beta1 M_{t-1} + g and V_t = beta2 V_{t-1} + g^2,
    so m_t = (1 - beta1) M_t and v_t = (1 - beta2) V_t, and folds the constant
    factors into two Python floats per step. With c = sqrt((1 - beta2) / (1 - beta2^t)):

        p -= lr (1 - beta1) / ((1 - beta1^t) c) * M_t / (sqrt(V_t) + eps / c)

    which is the update above, rearranged (equal to float rounding; the PyTorch
    cross-check holds to 1e-8). That saves three passes of the thirteen a direct
    transcription takes; the square root alone is a third of the step's time.
    """

    def __init__(self, params: np.ndarray, grads: np.ndarray, lr: float = 1e-3, beta1: float = 0.9,
                 beta2: float = 0.999, eps: float = 1e-8, weight_decay: float = 0.0,
                 decay_views: Sequence[np.ndarray] = ()):
        super().__init__(params, grads, lr, weight_decay, decay_views)
        self.beta1 = _check_unit("beta1", beta1)
        self.beta2 = _check_unit("beta2", beta2)
        if not (math.isfinite(eps) and eps > 0):
            raise ValueError(f"eps must be positive, got {eps}")
        self.eps = float(eps)
        self._M = np.zeros_like(params)  # unscaled first moment: m = (1 - beta1) M
        self._V = np.zeros_like(params)  # unscaled second moment: v = (1 - beta2) V

    @property
    def m(self) -> np.ndarray:
        """The first-moment estimate m_t (a new array)."""
        return self._M * (1.0 - self.beta1)

    @property
    def v(self) -> np.ndarray:
        """The second-moment estimate v_t (a new array)."""
        return self._V * (1.0 - self.beta2)

    def step(self, lr_factor: float = 1.0) -> None:
        self.t += 1
        lr = self.lr * lr_factor
        g, M, V, tmp = self.grads, self._M, self._V, self._tmp
        self._decay(lr)
        M *= self.beta1                      # M = beta1 M + g
        M += g
        np.multiply(g, g, out=tmp)           # V = beta2 V + g^2
        V *= self.beta2
        V += tmp
        c = math.sqrt((1.0 - self.beta2) / (1.0 - self.beta2**self.t))
        np.sqrt(V, out=tmp)                  # tmp = sqrt(V) + eps / c
        tmp += self.eps / c
        np.divide(M, tmp, out=tmp)           # tmp = M / tmp
        tmp *= lr * (1.0 - self.beta1) / ((1.0 - self.beta1**self.t) * c)
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
