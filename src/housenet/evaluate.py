"""Stage 4, evaluate: test-set R^2, RMSE and MAE in price units, into the metrics JSON and MLflow.

    python -m housenet.evaluate

Writes ``paths.metrics_json`` (``test_r2``, ``test_rmse``, ``test_mae``, and the
same on the validation part) and ``paths.predictions_csv`` (actual, predicted)
for ``dvc plots``; logs the metrics and PNG figures to the training run and, with
``tracking.log_model`` (the default), the model as an MLflow pyfunc model whose input
example is the raw table's first rows (``housenet.serving``), registered under
``tracking.registered_model_name`` if that is set.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
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
from housenet.stage import exit_now, launch, run_stage
from housenet.train import OUT_OF_FOLD, PREPROCESSOR_FILE


def predict_prices(net: nn.MLP, pre: Preprocessor, X: np.ndarray) -> np.ndarray:
    """Network outputs (model space) back to price units."""
    return pre.inverse_target(net.predict(X)[:, 0].astype(np.float64))


def evaluate_model(model_dir: Path, arrays: dict) -> tuple[dict[str, float], np.ndarray]:
    """Metrics on the validation and test parts, and the test predictions in price units.

    A model of k-fold members (``model.ensemble_folds``) trained on the validation rows too: its
    ``val_*`` metrics are the out-of-fold ones training recorded (``housenet.train.model_metadata``).
    """
    net = nn.load(model_dir)
    pre = Preprocessor.load(Path(model_dir) / PREPROCESSOR_FILE)
    oof = nn.checkpoint.load_metadata(model_dir).get(OUT_OF_FOLD)
    if oof is not None:
        metrics = {k: float(oof[k]) for k in ("val_r2", "val_rmse", "val_mae")}
    else:
        metrics = regression_metrics(arrays["y_val_raw"], predict_prices(net, pre, arrays["X_val"]), "val")
    test_pred = predict_prices(net, pre, arrays["X_test"])
    metrics.update(regression_metrics(arrays["y_test_raw"], test_pred, "test"))
    return metrics, test_pred


@dataclass
class Evaluation:
    metrics: dict[str, float]
    rows: tuple[int, int]  # validation and test rows evaluated
    model_uri: str | None = None  # the logged pyfunc model (models:/m-...), if one was logged
    out_of_fold: bool = False  # val_* are the k-fold members' out-of-fold metrics


def evaluate(cfg: DictConfig, *, track: bool = True) -> dict[str, float]:
    return evaluate_and_log(cfg, track=track).metrics


def evaluate_and_log(cfg: DictConfig, *, track: bool = True) -> Evaluation:
    paths = cfg.paths
    arrays = load_arrays(paths.arrays)
    with np.errstate(over="ignore", invalid="ignore"):  # an overflow is reported in one line below
        metrics, test_pred = evaluate_model(Path(paths.model_dir), arrays)
    if not np.isfinite(test_pred).all() or not np.isfinite(list(metrics.values())).all():
        raise ValueError(f"{paths.model_dir}: its predictions overflow to infinity (the training diverged); "
                         "retrain it with a lower learning rate (optim.lr)")
    atomic_write_json(paths.metrics_json, {k: metrics[k] for k in sorted(metrics)})
    atomic_write_text(paths.predictions_csv, predictions_table(arrays["y_test_raw"], test_pred))
    figures = draw_test_figures(arrays["y_test_raw"], test_pred, metrics["test_r2"], Path(paths.figures_dir))
    oof = nn.checkpoint.load_metadata(paths.model_dir).get(OUT_OF_FOLD)  # val_* were out-of-fold
    rows = (oof["rows"] if oof else len(arrays["X_val"]), len(arrays["X_test"]))  # val_*: out-of-fold rows
    run_json = Path(paths.run_json)
    if not (track and run_json.is_file()):
        return Evaluation(metrics, rows, out_of_fold=oof is not None)
    run = log_to_run(json.loads(run_json.read_text()), metrics, figures)
    if not cfg.tracking.log_model:
        return Evaluation(metrics, rows, out_of_fold=oof is not None)
    return Evaluation(metrics, rows, log_model(cfg, run), oof is not None)


def log_model(cfg: DictConfig, run) -> str:
    """The model folder as an MLflow pyfunc model; the raw table's first rows are its input example."""
    from housenet.data.sources import read_raw
    from housenet.serving.log import log_pyfunc_model

    raw, _ = read_raw(cfg.paths.raw_csv, cfg.paths.source_json)
    name = cfg.tracking.registered_model_name or None
    return log_pyfunc_model(run, Path(cfg.paths.model_dir), raw, name)


def predictions_table(actual: np.ndarray, predicted: np.ndarray) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["actual", "predicted", "residual"])
    w.writerows((repr(float(a)), repr(float(p)), repr(float(a) - float(p))) for a, p in zip(actual, predicted))
    return out.getvalue()


def draw_test_figures(actual: np.ndarray, predicted: np.ndarray, r2: float, figures_dir: Path) -> list[Path]:
    """Predicted against actual, and residuals, as PNGs (DVC plots of this stage, and MLflow artifacts)."""
    from housenet import plots

    return [plots.predicted_vs_actual(actual, predicted, figures_dir / plots.PREDICTED_VS_ACTUAL, r2),
            plots.residuals(actual, predicted, figures_dir / plots.RESIDUALS)]


def log_to_run(run_info: dict, metrics: dict, figures: list[Path]):
    """Add the metrics and figures to the training run (which stays as train left it)."""
    from housenet import tracking

    run = tracking.reopen_run(run_info)
    run.log_metrics(metrics)
    run.log_artifacts(figures)
    return run


def _run(cfg: DictConfig) -> str:
    e = evaluate_and_log(cfg)
    m = e.metrics
    name = cfg.tracking.registered_model_name
    logged = f"; pyfunc model {e.model_uri}" + (f" registered as {name!r}" if name else "") if e.model_uri else ""
    val = "out-of-fold val" if e.out_of_fold else "val"
    return (f"{e.rows[0]} {val} + {e.rows[1]} test rows in, {e.rows[1]} test predictions out; test R^2 "
            f"{m['test_r2']:.4f}, RMSE {m['test_rmse']:,.0f}, MAE {m['test_mae']:,.0f} -> {cfg.paths.metrics_json}, "
            f"{cfg.paths.predictions_csv}{logged}")


@hydra.main(version_base="1.3", config_path=conf_dir(), config_name="config")
def main(cfg: DictConfig) -> None:
    run_stage("evaluate", _run, cfg)


if __name__ == "__main__":
    launch("evaluate", main)
    exit_now()  # skip the interpreter teardown (housenet.stage.exit_now)
