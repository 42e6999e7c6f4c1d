"""Hyperparameter sweeps: Hydra multirun (grid or Optuna), in parallel or on a cluster, in MLflow.

    python -m housenet.train -m optim.lr=1e-3,3e-3,1e-2 model.hidden=[64,32],[128,64]
    python -m housenet.train -m sweep=optuna hydra.sweeper.n_trials=40
    python -m housenet.train -m sweep=grid hydra/launcher=joblib hydra.launcher.n_jobs=2
    python -m housenet.sweep.summary            # the last sweep's runs, best first

How the pieces fit (docs/sweeps.md has the user's side):

- ``callback.SweepCallback`` (a Hydra callback, configured in conf/config.yaml) runs in the
  process that starts the sweep. Before any job it checks the overrides, the search space,
  the prepared data, the Ray address and the MLflow store; it creates the store, the
  experiment and one parent run, and hands their ids to every job through
  ``hydra.job.env_set`` (so the basic, joblib, Ray and submitit launchers all see them).
  When the sweep ends it records the best job on the parent run and prints the table.
- ``job.run_job`` is what ``python -m housenet.train`` does for each job of a multirun: it
  trains on the prepared arrays, evaluates, writes its model into the job's own folder
  (never into the pipeline's outputs) and logs one child run. It returns the objective.
- ``summary`` reads a sweep back from MLflow.

The objective is ``val_rmse``: the RMSE on the validation part, in price units; lower is
better. The test part is never used to choose: ``test_r2`` is logged for reporting only.
A job that fails or diverges ends its run FAILED and returns ``FAILED_OBJECTIVE``, a large
finite penalty, so that neither the basic sweeper nor Optuna aborts the sweep.
"""

from __future__ import annotations

from omegaconf import OmegaConf

OBJECTIVE = "val_rmse"  # minimised; validation set, price units
DIRECTION = "minimize"
FAILED_OBJECTIVE = 1e12  # what a failed job returns: finite, so no sweeper aborts, and worse than any real value

# Environment of every job (set by the callback through hydra.job.env_set).
ENV_PARENT = "HOUSENET_SWEEP_PARENT_RUN"
ENV_EXPERIMENT = "HOUSENET_SWEEP_EXPERIMENT_ID"
ENV_URI = "HOUSENET_SWEEP_TRACKING_URI"

# Tags on runs.
TAG_ROLE = "sweep.role"  # "parent" on the sweep's run
TAG_JOB = "sweep.job"  # the job's number in the sweep
TAG_OVERRIDES = "sweep.overrides"  # the job's override string
TAG_ERROR = "sweep.error"  # why a job failed, one line


def hidden_layers(width: int, depth: int) -> list[int]:
    """Layer sizes from a width and a depth: each layer half as wide as the one before (at least 4).

    ``hidden_layers(128, 2) == [128, 64]``; Optuna searches width and depth as two numbers.
    """
    width, depth = int(width), int(depth)
    if width < 1 or depth < 1:
        raise ValueError(f"model.width and model.depth must be positive, got {width} and {depth}")
    return [max(4, width // 2**i) if i else width for i in range(depth)]


OmegaConf.register_new_resolver("housenet.hidden", hidden_layers, replace=True)
