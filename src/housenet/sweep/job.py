"""One job of a sweep: train on the prepared arrays, evaluate, log one child run, return the objective.

``python -m housenet.train -m ...`` calls ``run_job`` for every job (any launcher). The job
only reads the prepared data (``paths.arrays``, ``paths.preprocessor``, ``paths.source_json``);
its model, loss table, metrics and ``job.json`` go into its own Hydra output folder
(``multirun/<date>/<time>/<job number>/``), never into the pipeline's outputs, so parallel
jobs cannot clobber each other or DVC's state.

MLflow writes per job: one ``create_run`` (with the tags), one ``log_batch`` of params,
one or two ``log_batch`` of metrics at the end (per-epoch losses are buffered), one
``set_terminated``. Few writes, retried if the SQLite file is locked.
"""

from __future__ import annotations

import math
import os
import signal
import socket
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from omegaconf import DictConfig, open_dict

from housenet.sweep import (ENV_EXPERIMENT, ENV_PARENT, ENV_URI, FAILED_OBJECTIVE, OBJECTIVE, TAG_ERROR, TAG_JOB,
                            TAG_OVERRIDES)

INPUTS = ("raw_csv", "source_json", "arrays", "preprocessor")  # read only, relative to the project
OUTPUTS = {"model_dir": "model", "run_json": "mlflow_run.json", "loss_csv": "loss.csv",
           "metrics_json": "metrics.json", "predictions_csv": "predictions.csv", "figures_dir": "figures"}
JOB_FILE = "job.json"  # what the job did and how long each part took (bench/sweep_grid.py reads it)


def sweeping() -> bool:
    """True inside a job of a Hydra multirun."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


class Laps:
    """Seconds spent in each part of a job."""

    def __init__(self) -> None:
        self.t = time.perf_counter()
        self.seconds: dict[str, float] = {}

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.seconds[name] = self.seconds.get(name, 0.0) + now - self.t
        self.t = now


def run_job(cfg: DictConfig) -> float:
    """Run one job; return its objective (``val_rmse``), or ``FAILED_OBJECTIVE`` if it failed.

    Errors end the job's run FAILED and do not stop the sweep. Ctrl-C and SIGTERM end it
    KILLED and stop the sweep (exit status 130 and 143).
    """
    from hydra.core.hydra_config import HydraConfig

    from housenet.stage import Terminated, one_line

    hc = HydraConfig.get()
    num = int(hc.job.num)
    overrides = " ".join(hc.overrides.task)
    job_dir = Path(hc.runtime.output_dir)
    laps = Laps()
    info = {"job": num, "overrides": overrides, "pid": os.getpid(), "host": socket.gethostname(),
            "started": time.time(), "status": "FAILED", "objective": FAILED_OBJECTIVE, "run_id": None}
    try:
        with _sigterm_raises():
            try:
                info["objective"], info["run_id"], metrics = _train_and_log(cfg, num, overrides,
                                                                            Path(hc.runtime.cwd), job_dir, laps, info)
                info["status"] = "FINISHED"
                _say(f"housenet.train: job {num} ({overrides or 'defaults'}): {OBJECTIVE} {metrics[OBJECTIVE]:,.0f}, "
                     f"val R^2 {metrics['val_r2']:.4f} ({laps.seconds.get('train', 0):.1f} s of training)")
            except Exception as e:  # the job failed; the sweep goes on
                info["error"] = one_line(e)
                _say(f"housenet.train: job {num} ({overrides or 'defaults'}) failed: {info['error']}", sys.stderr)
    except KeyboardInterrupt as e:
        code = 143 if isinstance(e, Terminated) else 130
        _say(f"housenet.train: job {num} {'terminated' if code == 143 else 'interrupted'}; the sweep stops", sys.stderr)
        raise SystemExit(code) from None
    finally:
        laps.lap("finish")
        info["seconds"] = {k: round(v, 4) for k, v in laps.seconds.items()}
        info["ended"] = time.time()
        _write_job_file(job_dir, info)
    return float(info["objective"])


def _train_and_log(cfg: DictConfig, num: int, overrides: str, cwd: Path, job_dir: Path, laps: Laps,
                   info: dict) -> tuple[float, str, dict]:
    from housenet import tracking
    from housenet.config import flatten
    from housenet.data.arrays import load_arrays
    from housenet.data.atomic import atomic_write_json, atomic_write_text
    from housenet.data.sources import load_provenance
    from housenet.evaluate import evaluate_model
    from housenet.train import (UNTRACKED_KEYS, fit_members, loss_table, member_rows, model_metadata,
                                network_config, train_config, write_model_dir)

    cfg = job_config(cfg, cwd, job_dir)
    arrays = load_arrays(cfg.paths.arrays)
    prov = load_provenance(cfg.paths.source_json)
    laps.lap("load")

    uri, exp_id, parent = _context(cfg, cwd)
    tags = {TAG_JOB: str(num), TAG_OVERRIDES: overrides, "data.name": prov.name, "data.sha256": prov.sha256,
            "data.source": prov.source, "sweep.job_dir": str(job_dir)}
    if parent:
        tags[tracking.PARENT_TAG] = parent
    commit = tracking.git_commit(cwd)
    if commit:
        tags["mlflow.source.git.commit"] = commit
    run = tracking.open_run(uri, exp_id, run_name=f"#{num} {overrides}"[:200], tags=tags)
    info["run_id"] = run.run_id
    params = {k: v for k, v in flatten(cfg).items() if not k.startswith(UNTRACKED_KEYS)}
    run.log_params(params)
    laps.lap("open_run")

    with tracking.run_status(run):
        try:
            network_config(cfg, arrays["X_train"].shape[1])  # a bad value fails here, inside the run
            train_config(cfg)
            fitted = fit_members(cfg, arrays, [tracking.EpochMetrics(run, every=10**9)])  # one batch at the end
            history = fitted.histories[0]
            laps.lap("train")
            metadata = model_metadata(cfg, fitted, arrays, Path(cfg.paths.preprocessor))
            write_model_dir(fitted.net, Path(cfg.paths.model_dir), Path(cfg.paths.preprocessor), metadata)
            atomic_write_text(cfg.paths.loss_csv, loss_table(history))
            metrics, _ = evaluate_model(Path(cfg.paths.model_dir), arrays)
            objective = metrics[OBJECTIVE]
            if not math.isfinite(objective):
                raise FloatingPointError(f"{OBJECTIVE} is {objective}: the predictions overflow; lower optim.lr")
            atomic_write_json(cfg.paths.metrics_json, {k: v for k, v in sorted(metrics.items()) if math.isfinite(v)})
            laps.lap("evaluate")
            train_s = sum(history.seconds)
            run.log_metrics({**metrics, "best_epoch": history.best_epoch, "epochs_run": history.epochs_run,
                             "best_val_loss": min(history.val_loss) if history.val_loss else float("nan"),
                             "train_seconds": train_s,
                             "train_samples_per_second":
                                 history.epochs_run * member_rows(fitted, arrays) / max(train_s, 1e-9),
                             **{f"job_{k}_seconds": v for k, v in laps.seconds.items()}})
        except Exception as e:
            _tag_error(run, e)
            raise
    laps.lap("log")
    return objective, run.run_id, metrics


def job_config(cfg: DictConfig, cwd: Path, job_dir: Path) -> DictConfig:
    """The job's configuration: inputs as absolute paths in the project, outputs in the job's folder."""
    with open_dict(cfg):
        for key in INPUTS:
            p = Path(str(cfg.paths[key]))
            cfg.paths[key] = str(p if p.is_absolute() else cwd / p)
        for key, name in OUTPUTS.items():
            cfg.paths[key] = str(job_dir / name)
    return cfg


def _context(cfg: DictConfig, cwd: Path) -> tuple[str, str, str | None]:
    """Tracking URI, experiment id and parent run id, as the sweep's callback set them."""
    uri = os.environ.get(ENV_URI) or (str(cfg.tracking.uri) if cfg.tracking.uri else f"sqlite:///{cwd / 'mlflow.db'}")
    exp_id = os.environ.get(ENV_EXPERIMENT)
    if not exp_id:  # no callback: find or create the experiment here
        from housenet import tracking

        exp_id = tracking.prepare_store(uri, cfg.tracking.experiment)[1]
    return uri, exp_id, os.environ.get(ENV_PARENT) or None


def _say(line: str, stream=None) -> None:
    """Print one line; a closed stdout or stderr (its reader died) must not change what the job does."""
    try:
        print(line, file=stream or sys.stdout, flush=True)
    except (OSError, ValueError):
        pass


def _tag_error(run, e: BaseException) -> None:
    from housenet.stage import one_line

    try:
        run.set_tags({TAG_ERROR: one_line(e)[:4000]})
    except Exception:  # the store may be what failed; the run still ends FAILED if it can
        pass


def _write_job_file(job_dir: Path, info: dict) -> None:
    from housenet.data.atomic import atomic_write_json

    try:
        job_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_json(job_dir / JOB_FILE, info)
    except (OSError, ValueError):
        pass


@contextmanager
def _sigterm_raises() -> Iterator[None]:
    """SIGTERM raises ``Terminated`` while the job runs (so its run ends KILLED); the old handler comes back after."""
    from housenet.stage import _on_sigterm

    try:
        old = signal.signal(signal.SIGTERM, _on_sigterm)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)
