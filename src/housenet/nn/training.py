"""Mini-batch training: shuffled batches, a schedule, early stopping, callbacks.

``fit`` trains an ``MLP`` in place. Each epoch draws one permutation of the rows
(a seeded ``numpy.random.Generator``), gathers the permuted rows a chunk at a
time into one preallocated buffer and walks it in contiguous batch slices; the
last, smaller batch is trained on, and the epoch's loss is the mean over rows
(each batch weighted by its size). Memory beyond the data: one chunk buffer.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Iterable

import numpy as np

from .losses import LOSSES, get_loss
from .network import MLP
from .optim import OPTIMIZERS, Optimizer, clip_grad_norm, make_optimizer
from .schedules import SCHEDULES, make_schedule

CHUNK_BYTES = 4 << 20  # the shuffle buffer: about this many bytes of X (a whole number of batches)


class DivergenceError(FloatingPointError):
    """The training loss became NaN or infinite."""

    def __init__(self, epoch: int, batch: int, loss: float):
        self.epoch, self.batch, self.loss = epoch, batch, loss
        super().__init__(
            f"training diverged at epoch {epoch} (batch {batch}): loss is {loss}; "
            "lower the learning rate (optim.lr) or set gradient clipping (optim.clip_norm)"
        )


@dataclass(frozen=True)
class OptimConfig:
    name: str = "adam"  # adam | sgd
    lr: float = 1e-3
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    momentum: float = 0.9  # sgd only
    weight_decay: float = 0.0  # decoupled (AdamW style), weights only
    clip_norm: float | None = None  # clip the global gradient norm to this


@dataclass(frozen=True)
class ScheduleConfig:
    name: str = "constant"  # constant | step | cosine
    step_size: int = 30  # step: epochs between decays
    gamma: float = 0.1  # step: decay factor
    min_factor: float = 0.0  # cosine: final lr as a fraction of the base lr


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 100
    batch_size: int = 32
    loss: str = "mse"  # mse | huber
    huber_delta: float = 1.0
    seed: int = 0  # shuffling and dropout
    patience: int | None = None  # early stopping: epochs without improvement; None = off
    min_delta: float = 0.0  # early stopping: the least decrease that counts
    restore_best: bool = True  # with validation data: end with the best epoch's weights
    optim: OptimConfig = field(default_factory=OptimConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)

    def __post_init__(self) -> None:
        _positive_int("epochs", self.epochs)
        _positive_int("batch_size", self.batch_size)
        if self.patience is not None:
            _positive_int("patience", self.patience)
        if self.loss not in LOSSES:
            raise ValueError(f"unknown loss {self.loss!r}: use one of {', '.join(LOSSES)}")
        if self.optim.name not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {self.optim.name!r}: use one of {', '.join(OPTIMIZERS)}")
        if self.schedule.name not in SCHEDULES:
            raise ValueError(f"unknown schedule {self.schedule.name!r}: use one of {', '.join(SCHEDULES)}")
        if self.optim.clip_norm is not None and not self.optim.clip_norm > 0:
            raise ValueError(f"clip_norm must be positive, got {self.optim.clip_norm}")
        if not (math.isfinite(self.min_delta) and self.min_delta >= 0):
            raise ValueError(f"min_delta must be >= 0, got {self.min_delta}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _positive_int(name: str, v: Any) -> None:
    if not (isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v > 0):
        raise ValueError(f"{name} must be a positive integer, got {v!r}")


@dataclass
class EpochLog:
    """What a callback sees after each epoch (epochs count from 1)."""

    epoch: int
    epochs: int
    train_loss: float
    val_loss: float | None
    lr: float
    seconds: float
    rows: int

    @property
    def samples_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else float("inf")


@dataclass
class History:
    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    best_epoch: int = 0  # 1-based; 0 until an epoch ran
    stopped_early: bool = False

    @property
    def epochs_run(self) -> int:
        return len(self.train_loss)


Callback = Callable[[EpochLog], Any]


def build_optimizer(net: MLP, cfg: OptimConfig) -> Optimizer:
    hyper = {k: v for k, v in asdict(cfg).items() if k not in ("name", "clip_norm")}
    return make_optimizer(cfg.name, net.params, net.grads, decay_views=net.decayed, **hyper)


def check_targets(y: Any, n_rows: int, n_outputs: int, dtype: np.dtype, name: str = "y") -> np.ndarray:
    """y as (n_rows, n_outputs) of ``dtype``, or a ValueError saying what is wrong."""
    y = np.asarray(y)
    if y.ndim == 1 and n_outputs == 1:
        y = y.reshape(-1, 1)
    if y.ndim != 2 or y.shape[1] != n_outputs:
        raise ValueError(f"{name} must have shape ({n_rows},) or ({n_rows}, {n_outputs}), got {y.shape}")
    if y.shape[0] != n_rows:
        raise ValueError(f"{name} has {y.shape[0]} rows but X has {n_rows}")
    if not np.issubdtype(y.dtype, np.number) or np.issubdtype(y.dtype, np.complexfloating):
        raise ValueError(f"{name} must be real numbers, got dtype {y.dtype}")
    y = np.ascontiguousarray(y, dtype=dtype)
    if not np.isfinite(y).all():
        raise ValueError(f"{name} contains NaN or infinity (first at row {int(np.argwhere(~np.isfinite(y))[0][0])})")
    return y


def fit(net: MLP, X: np.ndarray, y: np.ndarray, config: TrainConfig = TrainConfig(), *,
        X_val: np.ndarray | None = None, y_val: np.ndarray | None = None,
        callbacks: Iterable[Callback] = (), optimizer: Optimizer | None = None,
        rows: np.ndarray | None = None) -> History:
    """Train ``net`` in place on (X, y); validation loss each epoch if (X_val, y_val) is given.

    ``rows``: train on these row positions of (X, y) only, exactly as ``fit(net, X[rows], y[rows])``
    would (same batches, same result) but without copying them (k-fold ensembles: ensemble.fold_rows).

    A callback returning True stops training after that epoch. Raises ValueError on
    bad input before any step, and DivergenceError if the loss stops being finite.
    """
    X = net.check_inputs(X, "X")
    y = check_targets(y, X.shape[0], net.config.n_outputs, net.dtype, "y")
    if rows is not None:
        rows = np.asarray(rows)
        if rows.ndim != 1 or rows.size == 0 or not np.issubdtype(rows.dtype, np.integer):
            raise ValueError(f"rows must be a non-empty 1-d array of row positions, got shape {rows.shape} "
                             f"of {rows.dtype}")
        if rows.min() < 0 or rows.max() >= X.shape[0]:
            raise ValueError(f"rows must be positions in 0..{X.shape[0] - 1}, got {rows.min()}..{rows.max()}")
    n = X.shape[0] if rows is None else rows.size
    has_val = X_val is not None
    if has_val != (y_val is not None):
        raise ValueError("give both X_val and y_val, or neither")
    if has_val:
        X_val = net.check_inputs(X_val, "X_val")
        y_val = check_targets(y_val, X_val.shape[0], net.config.n_outputs, net.dtype, "y_val")
    loss_fn = get_loss(config.loss, config.huber_delta)
    schedule = make_schedule(config.schedule.name, config.epochs, config.schedule.step_size,
                             config.schedule.gamma, config.schedule.min_factor)
    opt = optimizer if optimizer is not None else build_optimizer(net, config.optim)
    callbacks = list(callbacks)
    shuffle_rng, dropout_rng = np.random.default_rng(config.seed).spawn(2)
    dropout = dropout_rng if net.config.dropout > 0 else None

    # The shuffled rows are gathered a chunk at a time into one small buffer (a whole number of
    # batches, about CHUNK_BYTES), and every batch is a contiguous view of it: the same batches
    # in the same order as shuffling the whole table, without a second copy of X.
    bs = min(config.batch_size, n)
    chunk = min(n, bs * max(1, CHUNK_BYTES // (bs * X.shape[1] * X.itemsize)))
    Xc, yc = np.empty((chunk, *X.shape[1:]), X.dtype), np.empty((chunk, *y.shape[1:]), y.dtype)
    n_batches = -(-n // bs)

    clip = config.optim.clip_norm
    history = History()
    best, wait, best_params = math.inf, 0, None
    with np.errstate(over="ignore", invalid="ignore"):
        for epoch in range(1, config.epochs + 1):
            t0 = time.perf_counter()
            lr_factor = schedule(epoch - 1)
            perm = shuffle_rng.permutation(n)
            if rows is not None:
                perm = rows[perm]  # the shuffled positions in X of the rows trained on
            total, b = 0.0, 0
            for c0 in range(0, n, chunk):
                m = min(chunk, n - c0)
                np.take(X, perm[c0:c0 + m], axis=0, out=Xc[:m], mode="clip")  # clip: no hidden temporary
                np.take(y, perm[c0:c0 + m], axis=0, out=yc[:m], mode="clip")
                for start in range(0, m, bs):
                    b += 1
                    stop = min(start + bs, m)  # the last chunk may be part-filled
                    xb, yb = Xc[start:stop], yc[start:stop]
                    ws = net.workspace(xb.shape[0])
                    out = net.forward(xb, ws, dropout)
                    batch_loss = loss_fn(out, yb, ws.dout)
                    if not math.isfinite(batch_loss):
                        raise DivergenceError(epoch, b, batch_loss)
                    net.backward(xb, ws, dropout is not None)
                    if clip is not None:
                        clip_grad_norm(net.grads, clip)
                    opt.step(lr_factor)
                    total += batch_loss * xb.shape[0]
            train_loss = total / n
            seconds = time.perf_counter() - t0
            val_loss = loss_on(net, X_val, y_val, loss_fn) if has_val else None
            if val_loss is not None and not math.isfinite(val_loss):
                raise DivergenceError(epoch, n_batches, val_loss)
            history.train_loss.append(train_loss)
            history.lr.append(opt.lr * lr_factor)
            history.seconds.append(seconds)
            if val_loss is not None:
                history.val_loss.append(val_loss)

            monitored = val_loss if val_loss is not None else train_loss
            if monitored < best - config.min_delta:
                best, wait, history.best_epoch = monitored, 0, epoch
                if has_val and config.restore_best:
                    best_params = net.params.copy() if best_params is None else best_params
                    np.copyto(best_params, net.params)
            else:
                wait += 1
            log = EpochLog(epoch, config.epochs, train_loss, val_loss, opt.lr * lr_factor, seconds, n)
            stop_requested = any([bool(cb(log)) for cb in callbacks])
            if stop_requested or (config.patience is not None and wait >= config.patience):
                history.stopped_early = epoch < config.epochs
                break
    if best_params is not None:
        np.copyto(net.params, best_params)
    return history


def loss_on(net: MLP, X: np.ndarray, y: np.ndarray, loss_fn: Callable, batch_size: int = 4096) -> float:
    """Mean loss of ``net`` over (X, y), evaluated in chunks (no dropout)."""
    n = X.shape[0]
    total = 0.0
    for start in range(0, n, batch_size):
        xb, yb = X[start : start + batch_size], y[start : start + batch_size]
        ws = net.workspace(xb.shape[0])
        total += loss_fn(net.forward(xb, ws), yb, ws.dout) * xb.shape[0]
    return total / n
