"""Stage 3, train: fit the NumPy network on the prepared arrays, save it, record the run in MLflow.

    python -m housenet.train
    python -m housenet.train optim.lr=0.003 model.hidden=[32,16]
    python -m housenet.train -m optim.lr=1e-3,1e-2 model.hidden=[64,32],[128,64]   # a sweep (housenet.sweep)

In a sweep (``-m``) each job runs ``housenet.sweep.job.run_job``: it reads the prepared
data, writes into its own job folder and returns the objective (validation RMSE).
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Iterable

import hydra
import numpy as np
from omegaconf import DictConfig, OmegaConf

from housenet import nn
from housenet.blas import blas_threads
from housenet.config import conf_dir, flatten, params_yaml, tracking_uri
from housenet.convergence import check_fit
from housenet.data.arrays import load_arrays, load_stacked
from housenet.data.atomic import atomic_write_json, atomic_write_text
from housenet.data.preprocessing import Preprocessor
from housenet.data.sources import load_provenance
from housenet.metrics import regression_metrics
from housenet.progress import Progress
from housenet.stage import exit_now, launch, run_stage

PREPROCESSOR_FILE = "preprocessor.json"
UNTRACKED_KEYS = ("paths", "tracking")  # configuration that does not change the model


def network_config(cfg: DictConfig, n_inputs: int) -> nn.MLPConfig:
    """The architecture of one network (of one member, with ``model.ensemble`` > 1)."""
    m = cfg.model
    k = m.get("ensemble", 1)
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"model.ensemble must be a whole number of networks >= 1, got {k!r}")
    return nn.MLPConfig(n_inputs=n_inputs, hidden=tuple(m.hidden), activation=m.activation,
                        leaky_slope=float(m.leaky_slope), dropout=float(m.dropout), dtype=m.dtype,
                        skip=bool(m.get("skip", False)))


def train_config(cfg: DictConfig) -> nn.TrainConfig:
    t, o, s = cfg.training, cfg.optim, cfg.schedule
    return nn.TrainConfig(
        epochs=t.epochs, batch_size=t.batch_size, loss=t.loss, huber_delta=float(t.huber_delta), seed=cfg.seed,
        patience=t.patience, min_delta=float(t.min_delta), restore_best=bool(t.restore_best),
        optim=nn.OptimConfig(name=o.name, lr=_number("optim.lr", o.lr), beta1=float(o.beta1), beta2=float(o.beta2),
                             eps=float(o.eps), momentum=float(o.momentum), weight_decay=float(o.weight_decay),
                             clip_norm=None if o.clip_norm is None else float(o.clip_norm)),
        schedule=nn.ScheduleConfig(name=s.name, step_size=s.step_size, gamma=float(s.gamma),
                                   min_factor=float(s.min_factor)),
    )


def _number(key: str, v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ValueError(f"{key} must be a number, got {v!r}")
    return float(v)


def fit_network(cfg: DictConfig, arrays: dict, callbacks: Iterable[nn.training.Callback] = ()) -> tuple[nn.MLP, nn.History]:
    """Build and train the configured network on prepared arrays (no files, no tracking).

    With ``model.ensemble`` = k > 1 it is the merged mean of k networks (see ``fit_members``);
    the history is the first member's.
    """
    fitted = fit_members(cfg, arrays, callbacks)
    return fitted.net, fitted.histories[0]


@dataclass
class Fitted:
    """What ``fit_members`` trained."""

    net: nn.MLP  # the members merged into one network: the mean of their outputs
    histories: list[nn.History]  # one per member; its validation loss is on the rows it held out
    # With model.ensemble_folds: the training then the validation rows, each predicted (model space)
    # by the one member that held it out: an honest validation prediction for every row. Else None.
    out_of_fold: np.ndarray | None = None
    folds: list[tuple[np.ndarray, np.ndarray]] | None = None  # member j's (training, held-out) pooled rows


def uses_folds(cfg: DictConfig) -> bool:
    """k-fold cross-fitting: ``model.ensemble`` > 1 with ``model.ensemble_folds``."""
    folds = OmegaConf.select(cfg, "model.ensemble_folds", default=False)
    if not isinstance(folds, bool):
        raise ValueError(f"model.ensemble_folds must be true or false, got {folds!r}")
    return folds and int(cfg.model.get("ensemble", 1)) > 1


def fit_members(cfg: DictConfig, arrays: dict, callbacks: Iterable[nn.training.Callback] = (),
                member_callbacks: Callable[[int], Iterable[nn.training.Callback]] | None = None) -> Fitted:
    """Train ``model.ensemble`` networks that differ in their seed (and rows); return them merged into one.

    Member 0 uses ``seed`` itself (so ensemble=1 is the single network) and gets ``callbacks``;
    member k gets ``member_callbacks(k)``. Each member stops early by itself:
    - by default every member trains on the training part and stops on the validation part;
    - with ``model.ensemble_folds`` the training and validation rows are pooled and cut into k
      folds (``nn.ensemble.fold_rows``, seeded by ``seed``): member j stops on fold j and trains
      on the other k - 1, so every member trains on more rows, the members differ in their data
      too, and every pooled row gets an out-of-fold prediction (``Fitted.out_of_fold``).
    numpy's BLAS uses ``compute.blas_threads`` threads meanwhile (housenet.blas).
    """
    k = int(cfg.model.get("ensemble", 1))
    net_cfg, train_cfg = network_config(cfg, arrays["X_train"].shape[1]), train_config(cfg)
    folds = uses_folds(cfg)
    if folds:  # one pool (the train stage's own: row_pool); members train on positions in it, no copies
        X = row_pool(arrays["X_train"], arrays["X_val"])
        y = np.concatenate([arrays["y_train"], arrays["y_val"]])
        parts = nn.ensemble.fold_rows(len(X), k, cfg.seed)
        out_of_fold = np.empty(len(X), np.float64)
    members, histories = [], []
    with blas_threads(OmegaConf.select(cfg, "compute.blas_threads", default=1)):
        for j in range(k):
            seed = nn.ensemble.member_seed(cfg.seed, j)
            net = nn.MLP(net_cfg, seed=seed)
            cbs = list(callbacks if j == 0 else (member_callbacks(j) if member_callbacks else ()))
            try:
                if folds:
                    rows, held_out = parts[j]
                    X_held = X[held_out]  # its validation rows, then its out-of-fold predictions
                    history = nn.fit(net, X, y, replace(train_cfg, seed=seed), X_val=X_held,
                                     y_val=y[held_out], callbacks=cbs, rows=rows)
                else:
                    history = nn.fit(net, arrays["X_train"], arrays["y_train"], replace(train_cfg, seed=seed),
                                     X_val=arrays["X_val"], y_val=arrays["y_val"], callbacks=cbs)
            finally:  # e.g. end a progress bar's line (early stopping, errors) before the next one starts
                for cb in cbs:
                    if hasattr(cb, "close"):
                        cb.close()
            check_fit(history, arrays["y_train"], restore_best=train_cfg.restore_best)  # a finite but exploded loss
            if folds:
                out_of_fold[held_out] = net.predict(X_held)[:, 0]
                del X_held
            histories.append(history)
            members.append(net)
    return Fitted(nn.merge(members), histories, out_of_fold if folds else None, parts if folds else None)


def validation_metrics(fitted: Fitted, arrays: dict, pre: Preprocessor) -> dict | None:
    """With k-fold members: R^2, RMSE and MAE (price units) of the out-of-fold predictions of all
    training + validation rows, as ``val_*``; None otherwise (evaluate then scores the validation part)."""
    if fitted.out_of_fold is None:
        return None
    actual = np.concatenate([arrays["y_train_raw"], arrays["y_val_raw"]])
    return regression_metrics(actual, pre.inverse_target(fitted.out_of_fold), "val")


def model_metadata(cfg: DictConfig, fitted: Fitted, arrays: dict, preprocessor: Path) -> dict:
    """What the model folder records about its training (network.json's "metadata")."""
    h = fitted.histories[0]
    meta = {"best_epoch": h.best_epoch, "epochs_run": h.epochs_run, "train": train_config(cfg).to_dict(),
            "ensemble": len(fitted.histories), "ensemble_folds": fitted.out_of_fold is not None,
            "members": [{"seed": nn.ensemble.member_seed(cfg.seed, j), "best_epoch": m.best_epoch,
                         "epochs_run": m.epochs_run} for j, m in enumerate(fitted.histories)]}
    if fitted.out_of_fold is not None:
        val = validation_metrics(fitted, arrays, Preprocessor.load(preprocessor))
        meta[OUT_OF_FOLD] = {"rows": len(fitted.out_of_fold), **val}
    return meta


def member_rows(fitted: Fitted, arrays: dict) -> int:
    """The rows member 0 trained on: the training part, or all pooled rows but its fold."""
    return len(arrays["X_train"]) if fitted.folds is None else len(fitted.folds[0][0])


OUT_OF_FOLD = "out_of_fold_validation"  # metadata key: evaluate reports these as the val_* metrics
TRAINING_ARRAYS = ("X_train", "y_train", "X_val", "y_val")
RAW_TARGETS = ("y_train_raw", "y_val_raw")  # price units, float64: out-of-fold metrics


def load_training_arrays(path: str | os.PathLike, cfg: DictConfig) -> dict:
    """Only the arrays training reads, converted to the network's dtype one by one.

    Peak memory while training stays near these arrays' size (issue 6): the test
    part is never loaded and no float64 copy is kept beside a float32 one. With k-fold
    members (``model.ensemble_folds``) X_train and X_val are read into one pool (see
    ``row_pool``) and the price-unit targets are read too (out-of-fold metrics).
    """
    if not uses_folds(cfg):
        arrays = load_arrays(path, TRAINING_ARRAYS)
        dtype = network_config(cfg, arrays["X_train"].shape[1]).dtype  # refuses a bad model config
        for k in TRAINING_ARRAYS:
            arrays[k] = arrays[k].astype(dtype, copy=False)
        return arrays
    # k-fold members train on the training and validation rows as one pool: read X_train and
    # X_val straight into it and hand out views of its two parts (fit_members finds the pool).
    arrays = load_arrays(path, ("y_train", "y_val") + RAW_TARGETS)
    X = load_stacked(path, ("X_train", "X_val"), network_config(cfg, 1).dtype)  # refuses a bad model config
    n_train = len(arrays["y_train"])
    arrays["X_train"], arrays["X_val"] = X[:n_train], X[n_train:]
    for k in ("y_train", "y_val"):
        arrays[k] = arrays[k].astype(X.dtype, copy=False)
    return arrays


def row_pool(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a and b stacked by rows: the array they are consecutive views of (load_training_arrays), else a copy."""
    base = a.base
    if (base is not None and b.base is base and isinstance(base, np.ndarray) and base.flags.c_contiguous
            and base.ndim == a.ndim and len(base) == len(a) + len(b) and a.dtype == base.dtype == b.dtype
            and a.ctypes.data == base.ctypes.data and b.ctypes.data == base.ctypes.data + a.nbytes):
        return base
    return np.concatenate([a, b])


@dataclass
class TrainResult:
    net: nn.MLP
    history: nn.History
    run: Any  # tracking.Run, or None without tracking
    rows: tuple[int, int] = (0, 0)  # training and validation rows it was fitted on


def train(cfg: DictConfig, *, track: bool = True, parent_run_id: str | None = None,
          extra_tags: dict[str, str] | None = None) -> TrainResult:
    """Train, write the model folder, the loss table and the run record; log it all to MLflow."""
    paths = cfg.paths
    arrays = load_training_arrays(paths.arrays, cfg)
    prov = load_provenance(paths.source_json)
    train_config(cfg)  # refuse a bad config before opening a run
    run = _open_run(cfg, prov, parent_run_id, extra_tags) if track else None
    if run is None:
        return _train(cfg, arrays, None)
    from housenet.tracking import run_status

    with run_status(run):
        return _train(cfg, arrays, run)


def _open_run(cfg: DictConfig, prov, parent_run_id: str | None, extra_tags: dict[str, str] | None):
    from housenet import tracking

    tags = {"data.name": prov.name, "data.sha256": prov.sha256, "data.source": prov.source}
    commit = tracking.git_commit()
    if commit:
        tags["mlflow.source.git.commit"] = commit
    if parent_run_id:
        tags[tracking.PARENT_TAG] = parent_run_id
    tags.update(extra_tags or {})
    run = tracking.start_run(tracking_uri(cfg), cfg.tracking.experiment, tags=tags)
    run.log_params({k: v for k, v in flatten(cfg).items() if not k.startswith(UNTRACKED_KEYS)})
    return run


def _train(cfg: DictConfig, arrays: dict, run) -> TrainResult:
    from housenet.tracking import EpochMetrics

    paths = cfg.paths
    k = int(cfg.model.get("ensemble", 1))

    def member_callbacks(j: int) -> list:
        """Progress for every network; member 0's losses as train_loss/val_loss, member j's as member_j/..."""
        label = f"network {j + 1}/{k}: " if k > 1 else ""
        cbs: list = [Progress(cfg.training.epochs, label=label)]
        if run is not None:
            cbs.append(EpochMetrics(run, cfg.tracking.log_every, prefix="" if j == 0 else f"member_{j}/"))
        return cbs

    fitted = fit_members(cfg, arrays, member_callbacks(0), member_callbacks)
    net, history = fitted.net, fitted.histories[0]
    metadata = model_metadata(cfg, fitted, arrays, Path(paths.preprocessor))
    write_model_dir(net, Path(paths.model_dir), Path(paths.preprocessor), metadata)
    atomic_write_text(paths.loss_csv, loss_table(history))
    loss_png = loss_figure(history, Path(paths.figures_dir))
    if run is not None:
        run.log_metrics({"best_epoch": history.best_epoch, "epochs_run": history.epochs_run,
                         "best_val_loss": min(history.val_loss) if history.val_loss else float("nan"),
                         "train_seconds": sum(history.seconds),
                         "train_samples_per_second": history.epochs_run * member_rows(fitted, arrays)
                                                     / max(sum(history.seconds), 1e-9)})
        _log_artifacts(run, cfg, loss_png)
        atomic_write_json(paths.run_json, run.to_dict())
    else:
        Path(paths.run_json).unlink(missing_ok=True)
    return TrainResult(net, history, run, (len(arrays["X_train"]), len(arrays["X_val"])))


def write_model_dir(net: nn.MLP, model_dir: Path, preprocessor: Path, metadata: dict) -> None:
    """Network plus preprocessing state in one folder, swapped into place whole."""
    Preprocessor.load(preprocessor)  # must be readable before it becomes part of a model
    model_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{model_dir.name}.", dir=model_dir.parent))
    try:
        nn.save(net, tmp, metadata)
        shutil.copyfile(preprocessor, tmp / PREPROCESSOR_FILE)
        if model_dir.exists():
            shutil.rmtree(model_dir)
        os.replace(tmp, model_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def loss_table(history: nn.History) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["epoch", "train_loss", "val_loss", "lr"])
    for i, tl in enumerate(history.train_loss):
        vl = history.val_loss[i] if i < len(history.val_loss) else ""
        w.writerow([i + 1, repr(tl), repr(vl) if vl != "" else "", repr(history.lr[i])])
    return out.getvalue()


def loss_figure(history: nn.History, figures_dir: Path) -> Path:
    """The loss curves as a PNG (a DVC plot of this stage, and an MLflow artifact)."""
    from housenet import plots

    return plots.loss_curves(history.train_loss, history.val_loss, figures_dir / plots.LOSS_CURVES,
                             history.best_epoch)


def _log_artifacts(run, cfg: DictConfig, loss_png: Path) -> None:
    paths = cfg.paths
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        (d / "config.yaml").write_text(params_yaml(cfg) if isinstance(cfg, DictConfig) else OmegaConf.to_yaml(cfg))
        run.log_artifacts([d / "config.yaml", loss_png, Path(paths.loss_csv)])
    run.log_artifacts([Path(paths.model_dir)])


def _run(cfg: DictConfig) -> str:
    res = train(cfg)
    h = res.history
    best = f", best val loss {min(h.val_loss):.4g} at epoch {h.best_epoch}" if h.val_loss else ""
    where = f"; MLflow run {res.run.run_id}" if res.run else ""
    k = int(cfg.model.get("ensemble", 1))
    folds = f" (network 1 of {k}; they stop on {k} folds of the pooled rows)" if uses_folds(cfg) else ""
    return (f"{res.rows[0]} train + {res.rows[1]} val rows in, {h.epochs_run} epochs{best}{folds} "
            f"-> {cfg.paths.model_dir}{where}")


@hydra.main(version_base="1.3", config_path=conf_dir(), config_name="config")
def main(cfg: DictConfig) -> float | None:
    from housenet.sweep.job import run_job, sweeping

    if sweeping():
        return run_job(cfg)
    run_stage("train", _run, cfg)
    return None


if __name__ == "__main__":
    launch("train", main)
    exit_now()  # skip the interpreter teardown (housenet.stage.exit_now)
