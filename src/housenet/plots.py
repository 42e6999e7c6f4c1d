"""PNG figures: loss curves, predicted against actual, residuals (matplotlib, Agg).

The train and evaluate stages write them into ``paths.figures_dir`` (DVC plots, which
`dvc plots show` puts in its HTML) and log them to the MLflow run. Each file is
written atomically.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from housenet.data.atomic import atomic_path

LOSS_CURVES = "loss_curves.png"
PREDICTED_VS_ACTUAL = "predicted_vs_actual.png"
RESIDUALS = "residuals.png"


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def loss_curves(train_loss: list[float], val_loss: list[float], path: Path, best_epoch: int = 0) -> Path:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4), dpi=110)
    epochs = np.arange(1, len(train_loss) + 1)
    ax.plot(epochs, train_loss, label="training")
    if val_loss:
        ax.plot(epochs[: len(val_loss)], val_loss, label="validation")
    if best_epoch:
        ax.axvline(best_epoch, color="grey", linestyle=":", label=f"best epoch ({best_epoch})")
    values = np.asarray(train_loss + list(val_loss), dtype=np.float64)
    log_scale = bool(np.all(values > 0) and np.all(np.isfinite(values)) and values.max() / values.min() < 1e12)
    ax.set(xlabel="epoch", ylabel="loss (model space)", yscale="log" if log_scale else "linear",
           title="Loss per epoch")
    ax.legend()
    return _save(plt, fig, path)


def predicted_vs_actual(actual: np.ndarray, predicted: np.ndarray, path: Path, r2: float) -> Path:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 5), dpi=110)
    ax.scatter(actual, predicted, s=8, alpha=0.5)
    lo, hi = float(min(actual.min(), predicted.min())), float(max(actual.max(), predicted.max()))
    ax.plot([lo, hi], [lo, hi], color="black", linewidth=1)
    ax.set(xlabel="actual price", ylabel="predicted price", title=f"Test set: R\u00b2 = {r2:.3f}")
    _thousands(ax.xaxis, ax.yaxis)
    return _save(plt, fig, path)


def residuals(actual: np.ndarray, predicted: np.ndarray, path: Path) -> Path:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4), dpi=110)
    ax.scatter(predicted, actual - predicted, s=8, alpha=0.5)
    ax.axhline(0, color="black", linewidth=1)
    ax.set(xlabel="predicted price", ylabel="actual - predicted", title="Test-set residuals")
    _thousands(ax.xaxis, ax.yaxis)
    return _save(plt, fig, path)


def _thousands(*axes) -> None:
    """Prices as 150k rather than 150000 or 1.5e5."""
    from matplotlib.ticker import FuncFormatter

    for axis in axes:
        axis.set_major_formatter(FuncFormatter(lambda x, _: f"{x / 1000:,.0f}k" if x else "0"))


def _save(plt, fig, path: Path) -> Path:
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp)
    plt.close(fig)
    return Path(path)
