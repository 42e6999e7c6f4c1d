"""Start the joblib launcher's workers early, while the sweep's own process sets up MLflow.

A fresh worker spends about 2.5 s before its first job can train: importing housenet,
Hydra and MLflow, and opening the tracking store. The joblib launcher starts its workers
only once the sweep begins. ``warm_joblib_workers`` starts them at ``on_multirun_start``
instead, through the same reusable loky executor the launcher will ask for (same
arguments, so joblib hands the launcher these warm workers), and has each import what a
job imports and open the store, concurrently with the parent process's own set-up.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from omegaconf import DictConfig, OmegaConf


def joblib_arguments(config: DictConfig) -> dict:
    """``joblib.Parallel`` arguments exactly as hydra-joblib-launcher builds them."""
    from hydra_plugins.hydra_joblib_launcher._core import process_joblib_cfg

    args = OmegaConf.to_container(config.hydra.launcher, resolve=True)
    args.pop("_target_", None)
    args["backend"] = "loky"  # the launcher hard-codes it
    process_joblib_cfg(args)
    return args


def warm_joblib_workers(config: DictConfig, uri: str) -> threading.Thread | None:
    """Warm every worker in a background thread; returns the thread (None if joblib is missing)."""
    try:
        from joblib import Parallel, delayed

        args = joblib_arguments(config)
    except ImportError:
        return None
    n = int(args.get("n_jobs") or 1)
    n = os.cpu_count() or 1 if n < 0 else n
    # A fresh SQLite file is migrated by the parent process alone: concurrent first use breaks it.
    open_store = uri.startswith(("http://", "https://")) or (
        uri.startswith("sqlite:///") and Path(uri[len("sqlite:///"):]).is_file())

    def warm() -> None:
        try:
            Parallel(**args)(delayed(warm_worker)(uri if open_store else None) for _ in range(n))
        except Exception:  # only an optimisation: the launcher starts its own workers if this failed
            pass

    thread = threading.Thread(target=warm, name="housenet-warm-workers", daemon=True)
    thread.start()
    return thread


def warm_worker(uri: str | None) -> int:
    import housenet.evaluate  # noqa: F401  (what every job imports)
    import housenet.sweep.job  # noqa: F401
    import housenet.train  # noqa: F401

    if uri:
        from housenet import tracking

        tracking.client_for(uri)  # imports MLflow; the store stays open in this process
    else:
        import mlflow.tracking  # noqa: F401
    return os.getpid()
