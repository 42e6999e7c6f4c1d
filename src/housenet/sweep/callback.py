"""The Hydra callback that ties a sweep to one MLflow parent run (conf/config.yaml, hydra.callbacks).

``on_multirun_start`` runs once, in the process that starts the sweep, before the sweeper
and launcher exist: it checks everything ``validate`` checks and the MLflow store, creates
the store, the experiment and the parent run with ``MlflowClient`` (never the fluent API:
with the basic launcher the jobs run in this same process), and passes the ids to every
job through ``hydra.job.env_set``. ``on_multirun_end`` records the best job on the parent
and prints the table. If the sweep stops early (Ctrl-C, an error) the parent ends KILLED.

Hydra turns exceptions raised by callbacks into warnings, so a check that fails prints one
line and exits with status 2 (``SystemExit``) before any job starts.
"""

from __future__ import annotations

import atexit
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf, open_dict, read_write

import housenet.sweep as sweep  # registers the ${housenet.hidden:...} resolver
from housenet.sweep.validate import SweepSetupError

PREFIX = "housenet.train"


class SweepCallback(Callback):
    def __init__(self, show: int = 10) -> None:
        self.show = show
        self.client: Any = None
        self.parent_id: str | None = None
        self.exp_id: str | None = None
        self.uri: str | None = None
        self.ended = False

    def __getstate__(self) -> dict:
        """Launchers pickle the callbacks into every job: leave the MLflow client behind."""
        return {**self.__dict__, "client": None}

    # -- start ---------------------------------------------------------------------------
    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        if OmegaConf.select(config, "hydra.job.name", default=None) != "train":
            print("housenet: sweeps run the train stage (python -m housenet.train -m ...); the other stages "
                  "write the pipeline's outputs and are run once, by dvc repro", file=sys.stderr, flush=True)
            raise SystemExit(2)
        t0 = time.perf_counter()
        try:
            self._start(config)
        except Exception as e:  # Hydra would only warn and run the jobs untracked
            known = isinstance(e, (SweepSetupError, ConnectionError))
            text = " ".join(str(e).split()) if known else f"{type(e).__name__}: {' '.join(str(e).split())}"
            print(f"{PREFIX}: error: {text}; no job was started", file=sys.stderr, flush=True)
            self._abandon()
            raise SystemExit(2) from None
        print(f"{PREFIX}: sweep run {self.parent_id} in experiment {config.tracking.experiment!r} at {self.uri} "
              f"({time.perf_counter() - t0:.1f} s to check and set up); jobs in {config.hydra.sweep.dir}", flush=True)

    def _start(self, config: DictConfig) -> None:
        from hydra.core.global_hydra import GlobalHydra

        from housenet import tracking
        from housenet.config import tracking_uri
        from housenet.sweep import validate

        with read_write(config.hydra):  # absolute, so jobs on other machines or in other folders agree
            config.hydra.sweep.dir = str(Path(str(config.hydra.sweep.dir)).absolute())
        loader = GlobalHydra.instance().config_loader() if GlobalHydra.instance().is_initialized() else None
        parsed = validate.check_search_space(config, loader)
        if loader is not None:
            validate.check_job_configs(config, loader, parsed)
        validate.check_data(config)
        ray_address = validate.check_ray(config)
        with read_write(config.hydra):  # two sweeps started in the same second must not share job folders
            config.hydra.sweep.dir = claim_folder(Path(str(config.hydra.sweep.dir)))
        self.uri = tracking_uri(config)
        if validate.launcher_kind(config) == "joblib":
            from housenet.sweep.warmup import warm_joblib_workers

            warm_joblib_workers(config, self.uri)  # the workers start while this process sets up MLflow
        self.client, self.exp_id = tracking.prepare_store(self.uri, str(config.tracking.experiment))
        self.parent_id = self._create_parent(config, ray_address)
        env = {sweep.ENV_PARENT: self.parent_id, sweep.ENV_EXPERIMENT: self.exp_id, sweep.ENV_URI: self.uri}
        with read_write(config.hydra), open_dict(config.hydra):
            # every job's configuration is composed again from these overrides, by any launcher
            config.hydra.overrides.hydra.append(f"++hydra.sweep.dir={_quoted(config.hydra.sweep.dir)}")
            for key, value in env.items():
                config.hydra.overrides.hydra.append(f"++hydra.job.env_set.{key}={_quoted(value)}")
        atexit.register(self._abandon)
        try:  # SIGTERM ends the sweep like Ctrl-C, so the parent run is closed
            from housenet.stage import _on_sigterm

            signal.signal(signal.SIGTERM, _on_sigterm)
        except ValueError:
            pass

    def _create_parent(self, config: DictConfig, ray_address: str | None) -> str:
        from housenet import tracking
        from housenet.sweep import validate

        sweep_dir = str(config.hydra.sweep.dir)
        command = " ".join(validate.sweep_arguments(config))
        tags = {sweep.TAG_ROLE: "parent", "sweep.dir": sweep_dir, "sweep.command": command[:5000],
                "sweep.pid": str(os.getpid()),
                "sweep.sweeper": validate.sweeper_kind(config), "sweep.launcher": validate.launcher_kind(config),
                "sweep.objective": sweep.OBJECTIVE, "sweep.direction": sweep.DIRECTION,
                "mlflow.note.content": f"Hyperparameter sweep: python -m housenet.train -m {command}\n"
                                       f"Objective: {sweep.OBJECTIVE} (validation set), {sweep.DIRECTION}."}
        if ray_address:
            tags["sweep.ray_address"] = ray_address
        commit = tracking.git_commit()
        if commit:
            tags["mlflow.source.git.commit"] = commit
        name = "sweep " + "/".join(sweep_dir.rstrip("/").split("/")[-2:])
        run = self.client.create_run(self.exp_id, run_name=name, tags=tags)
        if validate.sweeper_kind(config) == "optuna":  # the search space, for the record
            params = OmegaConf.to_container(config.hydra.sweeper, resolve=True)
            flat = {f"sweeper.{k}": v for k, v in params.items() if k in ("n_trials", "n_jobs", "direction")}
            flat.update({f"space.{k}": v for k, v in (params.get("params") or {}).items()})
            flat["sweeper.sampler"] = str((params.get("sampler") or {}).get("_target_", ""))
            flat["sweeper.seed"] = str((params.get("sampler") or {}).get("seed"))
            tracking.Run(self.client, run.info.run_id, self.exp_id, self.uri).log_params(flat)
        return run.info.run_id

    # -- end -----------------------------------------------------------------------------
    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        if self.parent_id is None:
            return
        from housenet.sweep import summary

        try:
            parent = self.client.get_run(self.parent_id)
            rows = summary.job_rows(self.client, self.exp_id, self.parent_id)
            summary.record_best(self.client, self.parent_id, rows)
            self.ended = True
        except Exception as e:  # e.g. the tracking server went away during the sweep
            print(f"{PREFIX}: error: cannot read the sweep back from MLflow at {self.uri} "
                  f"({' '.join(str(e).split())[:300]}); {_local_jobs(Path(str(config.hydra.sweep.dir)))}",
                  file=sys.stderr, flush=True)
            raise SystemExit(1) from None
        print(summary.headline(parent, rows))
        print(summary.format_table(rows, self.show))
        print(f"{PREFIX}: all runs: python -m housenet.sweep.summary {self.parent_id}"
              f"{'' if self.uri.startswith('sqlite') else ' --tracking-uri ' + self.uri}", flush=True)

    def _abandon(self) -> None:
        """At exit, a parent whose sweep never reached its end is closed KILLED."""
        if self.parent_id is None or self.ended:
            return
        try:
            self.client.set_tag(self.parent_id, "sweep.aborted", "true")
            self.client.set_terminated(self.parent_id, "KILLED")
        except Exception:
            pass


def claim_folder(path: Path) -> str:
    """Create ``path`` for this sweep alone; if it exists (another sweep's), take ``path-2``, ``path-3``, ..."""
    path.parent.mkdir(parents=True, exist_ok=True)
    for i in range(1, 10_000):
        candidate = path if i == 1 else path.with_name(f"{path.name}-{i}")
        try:
            candidate.mkdir()
        except FileExistsError:
            continue
        return str(candidate)
    raise SweepSetupError(f"{path}: 10000 sweep folders of that name exist; set hydra.sweep.dir")


def _local_jobs(sweep_dir: Path) -> str:
    """What the job folders on this machine say (each job writes job.json, tracking or not)."""
    import json

    status = []
    for f in sweep_dir.glob("*/job.json"):
        try:
            status.append(json.loads(f.read_text()).get("status"))
        except (OSError, ValueError):
            pass
    return (f"{len(status)} job folders under {sweep_dir}: {status.count('FINISHED')} finished, "
            f"{len(status) - status.count('FINISHED')} failed; each holds its model, metrics.json and job.json")


def _quoted(value: str) -> str:
    """A Hydra override value that stays a string, whatever characters the URI holds."""
    if "'" in value or "\\" in value:
        raise SweepSetupError(f"{value!r}: quotes and backslashes are not supported in tracking URIs")
    return f"'{value}'"
