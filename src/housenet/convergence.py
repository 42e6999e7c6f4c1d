"""Refuse a trained network whose loss exploded, even when every loss stayed finite.

``nn.fit`` stops with ``DivergenceError`` when a loss becomes NaN or infinite. A learning
rate that is far too high (Adam with ``optim.lr=10``) can instead blow the loss up by
many orders of magnitude while it stays finite; early stopping then keeps the "best"
epoch, which is still useless, and its predictions in price units overflow. ``check_fit``
compares the validation loss of the weights training ends with against the loss of
always predicting the training mean (the variance of the training targets: 1.0 for a
standardised target) and raises ``NotConverged`` (a ``DivergenceError``) when it is
``FACTOR`` times worse: such a model is never saved, and its MLflow run ends FAILED.

Runs that spike early and recover (seen up to about 1,700 times the baseline in the first
epochs with Adam at lr=0.3-1 or SGD at lr=1, ending below it) pass: only the model that
would be saved is judged.
"""

from __future__ import annotations

import numpy as np

from housenet.nn import DivergenceError, History

FACTOR = 10.0


class NotConverged(DivergenceError):
    """Training ended with a model far worse than predicting the mean; the message names the epochs."""

    def __init__(self, epoch: int, loss: float, message: str):
        self.epoch, self.batch, self.loss = epoch, None, loss
        FloatingPointError.__init__(self, message)


def check_fit(history: History, y_train: np.ndarray, *, restore_best: bool = True, factor: float = FACTOR) -> None:
    """Raise NotConverged when the model training ends with is ``factor`` times worse than the mean on validation."""
    if not history.val_loss:
        return
    baseline = max(float(np.var(y_train)), 1e-12)
    epoch = history.best_epoch if restore_best and history.best_epoch else len(history.val_loss)
    loss = history.val_loss[epoch - 1]
    if loss <= factor * baseline:
        return
    limit = factor * baseline
    exploded = next((i for i, tl in enumerate(history.train_loss, start=1) if tl > limit), epoch)
    raise NotConverged(
        epoch, loss,
        f"training diverged at epoch {exploded}: the training loss rose to {history.train_loss[exploded - 1]:.4g}, "
        f"and the model it ends with (epoch {epoch}) has a validation loss of {loss:.4g}, {loss / baseline:.3g} times "
        f"that of predicting the mean ({baseline:.4g}); nothing was saved: lower the learning rate (optim.lr) "
        "or set gradient clipping (optim.clip_norm)",
    )
