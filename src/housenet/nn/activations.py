"""Hidden-layer activations, forward and backward side by side.

Every function works in place on preallocated buffers, so training allocates
nothing per batch. Shapes: ``z`` pre-activation, ``a`` activation, ``grad`` the
loss gradient with respect to ``a``; all ``(batch, width)`` and of one dtype.

    forward(z, out)          out  = f(z)
    backward(z, a, grad)     grad = grad * f'(z)       (in place; may use z as scratch)

The backward pass is the last reader of ``z``, so an activation may overwrite
it as scratch space (tanh does).
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np


class Activation(NamedTuple):
    name: str
    forward: Callable[[np.ndarray, np.ndarray], None]
    backward: Callable[[np.ndarray, np.ndarray, np.ndarray], None]


# ReLU: f(z) = max(z, 0); f'(z) = 1 where z > 0, else 0.
def relu_forward(z: np.ndarray, out: np.ndarray) -> None:
    np.maximum(z, 0, out=out)


def relu_backward(z: np.ndarray, a: np.ndarray, grad: np.ndarray) -> None:
    np.multiply(grad, z > 0, out=grad)


# Leaky ReLU: f(z) = z where z > 0, else slope * z; f'(z) = 1 or slope.
def leaky_relu(slope: float) -> Activation:
    if not 0.0 <= slope < 1.0:
        raise ValueError(f"leaky ReLU slope must be in [0, 1), got {slope}")

    def forward(z: np.ndarray, out: np.ndarray) -> None:
        np.multiply(z, slope, out=out)
        np.maximum(z, out, out=out)  # max(z, slope*z) == leaky ReLU for slope < 1

    def backward(z: np.ndarray, a: np.ndarray, grad: np.ndarray) -> None:
        np.multiply(grad, slope, out=grad, where=z <= 0)

    return Activation("leaky_relu", forward, backward)


# tanh: f(z) = tanh(z); f'(z) = 1 - tanh(z)^2 = 1 - a^2.
def tanh_forward(z: np.ndarray, out: np.ndarray) -> None:
    np.tanh(z, out=out)


def tanh_backward(z: np.ndarray, a: np.ndarray, grad: np.ndarray) -> None:
    scratch = z  # z is not needed after this; reuse its memory
    np.multiply(a, a, out=scratch)
    np.subtract(1, scratch, out=scratch)
    grad *= scratch


RELU = Activation("relu", relu_forward, relu_backward)
TANH = Activation("tanh", tanh_forward, tanh_backward)
ACTIVATIONS = ("relu", "leaky_relu", "tanh")


def get_activation(name: str, leaky_slope: float = 0.01) -> Activation:
    if name == "relu":
        return RELU
    if name == "leaky_relu":
        return leaky_relu(leaky_slope)
    if name == "tanh":
        return TANH
    raise ValueError(f"unknown activation {name!r}: use one of {', '.join(ACTIVATIONS)}")
