"""The multilayer perceptron: dense layers, hidden activations, a linear output.

Parameters live in one flat vector ``params`` and gradients in a parallel flat
vector ``grads``; ``weights[i]`` (fan_in, fan_out) and ``biases[i]`` (fan_out,)
are views into them, so the optimiser updates every layer with a handful of
vectorised operations while the layer code reads natural matrices.

Forward, for layer i = 0..L-1 with a_{-1} = X (batch, n_inputs):

    z_i = a_{i-1} @ W_i + b_i          (batch, fan_out_i)
    a_i = f(z_i) * mask_i              hidden layers (mask_i: inverted dropout)
    out = z_{L-1}                      linear output (batch, n_outputs)
    out += X @ W_skip                  with skip=True: a linear path from the inputs
                                       (W_skip: (n_inputs, n_outputs), no bias of its own)

Backward, from delta_{L-1} = dLoss/dout:

    dW_i       = a_{i-1}^T @ delta_i   (fan_in_i, fan_out_i)
    db_i       = sum_rows(delta_i)     (fan_out_i,)
    delta_{i-1} = (delta_i @ W_i^T) * mask_{i-1} * f'(z_{i-1})
    dW_skip    = X^T @ delta_{L-1}     (n_inputs, n_outputs)

The skip connection ("wide and deep") lets the network be a linear model plus a
non-linear correction: on small tabular data the linear part carries most of
the signal and weight decay on W_skip makes it a ridge regression.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from .activations import ACTIVATIONS, get_activation

DTYPES = ("float64", "float32")


@dataclass(frozen=True)
class MLPConfig:
    """Architecture of the network; stored with every checkpoint."""

    n_inputs: int
    hidden: tuple[int, ...] = (64, 32)
    n_outputs: int = 1
    activation: str = "relu"  # relu | leaky_relu | tanh
    leaky_slope: float = 0.01
    dropout: float = 0.0  # probability of dropping a hidden unit while training
    dtype: str = "float64"  # float64 | float32
    skip: bool = False  # add a linear path from the inputs to the output: out += X @ W_skip

    def __post_init__(self) -> None:
        object.__setattr__(self, "hidden", tuple(self.hidden))
        if not _is_positive_int(self.n_inputs):
            raise ValueError(f"n_inputs must be a positive integer, got {self.n_inputs!r}")
        if not _is_positive_int(self.n_outputs):
            raise ValueError(f"n_outputs must be a positive integer, got {self.n_outputs!r}")
        if len(self.hidden) == 0:
            raise ValueError("hidden must list at least one layer size, e.g. hidden=[64, 32]")
        bad = [h for h in self.hidden if not _is_positive_int(h)]
        if bad:
            raise ValueError(f"hidden layer sizes must be positive integers, got {list(self.hidden)}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {self.activation!r}: use one of {', '.join(ACTIVATIONS)}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if not isinstance(self.skip, bool):
            raise ValueError(f"skip must be true or false, got {self.skip!r}")
        if self.dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, got {self.dtype!r}")
        get_activation(self.activation, self.leaky_slope)  # validates the slope

    @property
    def sizes(self) -> tuple[int, ...]:
        return (self.n_inputs, *self.hidden, self.n_outputs)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["hidden"] = list(self.hidden)
        return d


def _is_positive_int(v: Any) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v > 0


@dataclass
class Workspace:
    """Buffers for one batch size, allocated once and reused every batch."""

    z: list[np.ndarray]  # pre-activations, (batch, fan_out_i)
    a: list[np.ndarray]  # hidden activations, (batch, fan_out_i)
    delta: list[np.ndarray]  # dLoss/dz for hidden layers, (batch, fan_out_i)
    masks: list[np.ndarray]  # dropout masks (scaled by 1/(1-p)); empty without dropout
    dout: np.ndarray  # dLoss/dout, (batch, n_outputs)
    skip: np.ndarray | None  # X @ W_skip, (batch, n_outputs); None without the skip path
    batch_size: int = field(default=0)


class MLP:
    """A regression MLP whose parameters are one flat array with per-layer views."""

    def __init__(self, config: MLPConfig, params: np.ndarray | None = None, *, seed: int | np.random.Generator = 0):
        self.config = config
        self.dtype = np.dtype(config.dtype)
        self.activation = get_activation(config.activation, config.leaky_slope)
        sizes = config.sizes
        self.shapes = [(sizes[i], sizes[i + 1]) for i in range(len(sizes) - 1)]
        n_layer_params = sum(i * o + o for i, o in self.shapes)
        skip_shape = (config.n_inputs, config.n_outputs)
        self.n_params = n_layer_params + (skip_shape[0] * skip_shape[1] if config.skip else 0)
        self.params = np.zeros(self.n_params, dtype=self.dtype)
        self.grads = np.zeros(self.n_params, dtype=self.dtype)
        self.weights, self.biases = _layer_views(self.params, self.shapes)
        self.weight_grads, self.bias_grads = _layer_views(self.grads, self.shapes)
        # the skip path's weights sit after the layers' parameters (None without it)
        self.skip_weight = self.params[n_layer_params:].reshape(skip_shape) if config.skip else None
        self.skip_grad = self.grads[n_layer_params:].reshape(skip_shape) if config.skip else None
        if params is None:
            rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
            self._initialise(rng)
        else:
            params = np.asarray(params)
            if params.shape != (self.n_params,):
                raise ValueError(f"params must have shape ({self.n_params},), got {params.shape}")
            if params.dtype != self.dtype:
                raise ValueError(f"params have dtype {params.dtype}, the config says {self.dtype}")
            self.params[:] = params
        self._workspaces: dict[int, Workspace] = {}

    @property
    def n_layers(self) -> int:
        return len(self.shapes)

    @property
    def decayed(self) -> list[np.ndarray]:
        """The matrices weight decay applies to: every weight matrix, never a bias."""
        return [*self.weights, *([self.skip_weight] if self.config.skip else [])]

    def _initialise(self, rng: np.random.Generator) -> None:
        """He normal for (leaky) ReLU layers, Glorot uniform for tanh and the linear output."""
        for i, ((fan_in, fan_out), w) in enumerate(zip(self.shapes, self.weights)):
            hidden = i < self.n_layers - 1
            if hidden and self.config.activation in ("relu", "leaky_relu"):
                slope = self.config.leaky_slope if self.config.activation == "leaky_relu" else 0.0
                std = math.sqrt(2.0 / ((1.0 + slope**2) * fan_in))
                w[...] = rng.standard_normal((fan_in, fan_out)) * std
            else:
                limit = math.sqrt(6.0 / (fan_in + fan_out))
                w[...] = rng.uniform(-limit, limit, (fan_in, fan_out))
        for b in self.biases:
            b[...] = 0
        # the skip path starts at zero: training begins from the plain MLP
    # -- buffers -----------------------------------------------------------------
    def workspace(self, batch_size: int) -> Workspace:
        """Buffers for a batch of ``batch_size`` rows, made on first use."""
        ws = self._workspaces.get(batch_size)
        if ws is None:
            dt = self.dtype
            outs = [o for _, o in self.shapes]
            hidden = outs[:-1]
            ws = Workspace(
                z=[np.empty((batch_size, o), dt) for o in outs],
                a=[np.empty((batch_size, o), dt) for o in hidden],
                delta=[np.empty((batch_size, o), dt) for o in hidden],
                masks=[np.empty((batch_size, o), dt) for o in hidden] if self.config.dropout > 0 else [],
                dout=np.empty((batch_size, self.config.n_outputs), dt),
                skip=np.empty((batch_size, self.config.n_outputs), dt) if self.config.skip else None,
                batch_size=batch_size,
            )
            if len(self._workspaces) >= 8:  # bounded: prediction may see many sizes
                self._workspaces.clear()
            self._workspaces[batch_size] = ws
        return ws

    # -- forward and backward -------------------------------------------------------
    def forward(self, X: np.ndarray, ws: Workspace, rng: np.random.Generator | None = None) -> np.ndarray:
        """Output for a batch X (batch, n_inputs); returns a view of ws (batch, n_outputs).

        With ``rng`` given and dropout > 0, hidden units are dropped (training mode);
        without it, the network is deterministic (evaluation mode).
        """
        act = self.activation.forward
        a = X
        last = self.n_layers - 1
        for i in range(last):
            z = ws.z[i]
            np.matmul(a, self.weights[i], out=z)
            z += self.biases[i]
            a = ws.a[i]
            act(z, a)
            if ws.masks and rng is not None:
                self._drop(a, ws.masks[i], rng)
        out = ws.z[last]
        np.matmul(a, self.weights[last], out=out)
        out += self.biases[last]
        if ws.skip is not None:
            np.matmul(X, self.skip_weight, out=ws.skip)
            out += ws.skip
        return out

    def _drop(self, a: np.ndarray, mask: np.ndarray, rng: np.random.Generator) -> None:
        p = self.config.dropout
        rng.random(out=mask, dtype=self.dtype)
        np.greater_equal(mask, p, out=mask)  # 1.0 keep, 0.0 drop
        mask *= 1.0 / (1.0 - p)
        a *= mask

    def backward(self, X: np.ndarray, ws: Workspace, dropout_active: bool = False) -> None:
        """Fill ``self.grads`` from ``ws.dout`` = dLoss/dout and the forward buffers."""
        act_backward = self.activation.backward
        delta = ws.dout
        if self.skip_grad is not None:
            np.matmul(X.T, delta, out=self.skip_grad)
        for i in range(self.n_layers - 1, -1, -1):
            a_prev = X if i == 0 else ws.a[i - 1]
            np.matmul(a_prev.T, delta, out=self.weight_grads[i])
            np.sum(delta, axis=0, out=self.bias_grads[i])
            if i == 0:
                break
            d_prev = ws.delta[i - 1]
            if delta.shape[1] == 1:  # (batch, 1) x (1, fan_in): an outer product, which
                np.multiply(delta, self.weights[i].T, out=d_prev)  # matmul runs 2-3x slower
            else:
                np.matmul(delta, self.weights[i].T, out=d_prev)
            if dropout_active:
                d_prev *= ws.masks[i - 1]
            act_backward(ws.z[i - 1], ws.a[i - 1], d_prev)
            delta = d_prev

    # -- prediction --------------------------------------------------------------
    def predict(self, X: np.ndarray, batch_size: int = 4096) -> np.ndarray:
        """Outputs for every row of X (n, n_inputs), in chunks: (n, n_outputs)."""
        X = self.check_inputs(X)
        n = X.shape[0]
        out = np.empty((n, self.config.n_outputs), self.dtype)
        for start in range(0, n, batch_size):
            xb = X[start : start + batch_size]
            out[start : start + xb.shape[0]] = self.forward(xb, self.workspace(xb.shape[0]))
        return out

    def check_inputs(self, X: Any, name: str = "X") -> np.ndarray:
        """X as a 2-D array of this network's dtype, or a ValueError saying what is wrong."""
        X = np.asarray(X)
        if X.ndim != 2:
            hint = " (one row: X.reshape(1, -1))" if X.ndim == 1 else ""
            raise ValueError(f"{name} must be 2-D (rows, features), got shape {X.shape}{hint}")
        if X.shape[0] == 0:
            raise ValueError(f"{name} is empty: it has no rows")
        if X.shape[1] != self.config.n_inputs:
            raise ValueError(f"{name} has {X.shape[1]} features, the network expects {self.config.n_inputs}")
        if not np.issubdtype(X.dtype, np.number) or np.issubdtype(X.dtype, np.complexfloating):
            raise ValueError(f"{name} must be real numbers, got dtype {X.dtype}")
        X = np.ascontiguousarray(X, dtype=self.dtype)
        if not np.isfinite(X).all():
            bad = np.argwhere(~np.isfinite(X))[0]
            raise ValueError(f"{name} contains NaN or infinity (first at row {bad[0]}, column {bad[1]})")
        return X

    def copy(self) -> "MLP":
        return MLP(self.config, self.params.copy())


def _layer_views(flat: np.ndarray, shapes: list[tuple[int, int]]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Per-layer weight (fan_in, fan_out) and bias (fan_out,) views into one flat array."""
    weights, biases, offset = [], [], 0
    for fan_in, fan_out in shapes:
        weights.append(flat[offset : offset + fan_in * fan_out].reshape(fan_in, fan_out))
        offset += fan_in * fan_out
        biases.append(flat[offset : offset + fan_out])
        offset += fan_out
    return weights, biases
