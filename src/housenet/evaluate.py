"""Stage 4, evaluate: test-set R^2, RMSE and MAE in price units, into the metrics JSON and MLflow.

    python -m housenet.evaluate

Writes ``paths.metrics_json`` (``test_r2``, ``test_rmse``, ``test_mae``, and the
same on the validation part) and ``paths.predictions_csv`` (actual, predicted)
for ``dvc plots``; logs the metrics and PNG figures to the training run.
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
from pathlib import Path

import hydra
import numpy as np
from omegaconf import DictConfig

from housenet import nn
from housenet.config import conf_dir
from housenet.data.arrays import load_arrays
from housenet.data.atomic import atomic_write_json, atomic_write_text
from housenet.data.preprocessing import Preprocessor
from housenet.metrics import regression_metrics
from housenet.stage import launch, run_stage
from housenet.train import PREPROCESSOR_FILE


def predict_prices(net: nn.MLP, pre: Preprocessor, X: np.ndarray) -> np.ndarray:
    """Network outputs (model space) back to price units."""
    return pre.inverse_target(net.predict(X)[:, 0].astype(np.float64))


def evaluate_model(model_dir: Path, arrays: dict) -> tuple[dict[str, float], np.ndarray]:
    """Metrics on the validation and test parts, and the test predictions in price units."""
    net = nn.load(model_dir)
    pre = Preprocessor.load(Path(model_dir) / PREPROCESSOR_FILE)
    metrics = regression_metrics(arrays["y_val_raw"], predict_prices(net, pre, arrays["X_val"]), "val")
    test_pred = predict_prices(net, pre, arrays["X_test"])
    metrics.update(regression_metrics(arrays["y_test_raw"], test_pred, "test"))
    return metrics, test_pred


def evaluate(cfg: DictConfig, *, track: bool = True) -> dict[str, float]:
    paths = cfg.paths
    arrays = load_arrays(paths.arrays)
    with np.errstate(over="ignore", invalid="ignore"):  # an overflow is reported in one line below
        metrics, test_pred = evaluate_model(Path(paths.model_dir), arrays)
    if not np.isfinite(test_pred).all():
        raise ValueError(f"{paths.model_dir}: its predictions overflow to infinity (the training diverged); "
                         "retrain it with a lower learning rate (optim.lr)")
    atomic_write_json(paths.metrics_json, {k: metrics[k] for k in sorted(metrics)})
    atomic_write_text(paths.predictions_csv, predictions_table(arrays["y_test_raw"], test_pred))
    run_json = Path(paths.run_json)
    if track and run_json.is_file():
        log_to_run(json.loads(run_json.read_text()), metrics, arrays["y_test_raw"], test_pred)
    return metrics


def predictions_table(actual: np.ndarray, predicted: np.ndarray) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["actual", "predicted"])
    w.writerows(zip((repr(float(a)) for a in actual), (repr(float(p)) for p in predicted)))
    return out.getvalue()


def log_to_run(run_info: dict, metrics: dict, actual: np.ndarray, predicted: np.ndarray) -> None:
    """Add the metrics and figures to the training run (which stays as train left it)."""
    from housenet import plots, tracking

    run = tracking.reopen_run(run_info)
    run.log_metrics(metrics)
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        figs = [plots.predicted_vs_actual(actual, predicted, d / "predicted_vs_actual.png", metrics["test_r2"]),
                plots.residuals(actual, predicted, d / "residuals.png")]
        run.log_artifacts(figs)


def _run(cfg: DictConfig) -> str:
    m = evaluate(cfg)
    return (f"test R^2 {m['test_r2']:.4f}, RMSE {m['test_rmse']:,.0f}, MAE {m['test_mae']:,.0f} "
            f"-> {cfg.paths.metrics_json}")


@hydra.main(version_base="1.3", config_path=conf_dir(), config_name="config")
def main(cfg: DictConfig) -> None:
    run_stage("evaluate", _run, cfg)


if __name__ == "__main__":
    launch("evaluate", main)
