"""Sweeps on one machine, as users run them: the basic and joblib launchers, grids and Optuna,
a fresh SQLite store and a tracking server, failed jobs, the summary command, Ctrl-C."""

from __future__ import annotations

import json
import math
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.pipeline.conftest import env_for
from tests.sweeps.conftest import FAST, sweep, sweep_runs

pytestmark = pytest.mark.slow

PARALLEL = ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"]
OPTUNA = [o for o in FAST if not o.startswith("model.hidden")] + ["sweep=optuna"]  # it searches width and depth


def sqlite(project: Path) -> str:
    return f"sqlite:///{project / 'mlflow.db'}"


def outputs(project: Path) -> dict[str, bytes]:
    """The pipeline's outputs (DVC's), which a sweep must leave alone."""
    return {str(p.relative_to(project)): p.read_bytes() for d in ("models", "reports", "data")
            for p in sorted((project / d).rglob("*")) if p.is_file()}


def check_sweep(uri: str, experiment: str, n_jobs: int, n_failed: int) -> tuple:
    """One parent, ``n_jobs`` children tagged with it, the best recorded on it; returns (parent, children)."""
    parents, children = sweep_runs(uri, experiment)
    assert len(parents) == 1 and len(children) == n_jobs
    parent = parents[0]
    assert parent.info.status == "FINISHED"
    assert {c.data.tags["mlflow.parentRunId"] for c in children} == {parent.info.run_id}
    assert sorted(int(c.data.tags["sweep.job"]) for c in children) == list(range(n_jobs))
    assert all(c.data.tags["sweep.overrides"] for c in children)
    finished = [c for c in children if c.info.status == "FINISHED"]
    failed = [c for c in children if c.info.status == "FAILED"]
    assert len(failed) == n_failed and len(finished) == n_jobs - n_failed
    for c in finished:
        assert {"val_rmse", "val_r2", "test_r2", "train_loss", "val_loss"} <= set(c.data.metrics)
        assert c.data.params["training.epochs"] == "2"
    best = min(finished, key=lambda c: c.data.metrics["val_rmse"])  # the objective: validation, never test
    tags = parent.data.tags
    assert tags["sweep.best_run_id"] == best.info.run_id
    assert tags["sweep.best_overrides"] == best.data.tags["sweep.overrides"]
    assert tags["sweep.failed"] == str(n_failed) and tags["sweep.jobs"] == str(n_jobs)
    assert math.isclose(parent.data.metrics["best/val_rmse"], best.data.metrics["val_rmse"])
    assert math.isclose(parent.data.metrics["best/test_r2"], best.data.metrics["test_r2"])
    from mlflow.tracking import MlflowClient

    client = MlflowClient(uri)  # jobs do not pay for logging a pyfunc model (only the evaluate stage does)
    assert client.search_logged_models([client.get_experiment_by_name(experiment).experiment_id]) == []
    return parent, children


def test_parallel_grid_on_a_fresh_sqlite_store_loses_no_run(sweep_project):
    uri = sqlite(sweep_project)
    before = outputs(sweep_project)
    # 4 x 2 = 8 jobs over 2 workers; optim.lr=1e6 diverges (or its predictions overflow), twice
    proc = sweep(sweep_project, "optim.lr=1e-3,3e-3,1e-2,1e6", "training.batch_size=16,64", *PARALLEL,
                 f"tracking.uri={uri}")
    out = proc.stdout + proc.stderr
    assert "database is locked" not in out
    assert "8 jobs, 6 finished, 2 failed" in proc.stdout
    parent, children = check_sweep(uri, "housenet", 8, 2)
    for c in children:
        if c.info.status == "FAILED":
            assert "optim.lr=1000000.0" in c.data.tags["sweep.overrides"]
            assert "diverged" in c.data.tags["sweep.error"] or "overflow" in c.data.tags["sweep.error"]
    # every job wrote into its own folder, none into the pipeline's outputs
    sweep_dir = Path(parent.data.tags["sweep.dir"])
    assert sweep_dir.parent.parent == sweep_project / "multirun"
    jobs = [json.loads((sweep_dir / str(i) / "job.json").read_text()) for i in range(8)]
    assert {j["run_id"] for j in jobs} == {c.info.run_id for c in children}
    assert all((sweep_dir / str(j["job"]) / "model" / "network.npz").is_file()
               for j in jobs if j["status"] == "FINISHED")
    assert len({j["pid"] for j in jobs}) == 2  # two joblib workers
    assert outputs(sweep_project) == before

    # the summary command reads the sweep back, best first, failures last
    table = subprocess.run([sys.executable, "-m", "housenet.sweep.summary", "--tracking-uri", uri],
                           cwd=sweep_project, env=env_for(sweep_project), capture_output=True, text=True, timeout=120)
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].startswith(f"sweep {parent.info.run_id}") and "8 jobs, 6 finished, 2 failed" in lines[0]
    rows = [line.split() for line in lines if line.split() and line.split()[-1] in {c.info.run_id for c in children}]
    assert len(rows) == 8
    values = [float(r[3].replace(",", "")) for r in rows[:6]]
    assert values == sorted(values) and [r[2] for r in rows[6:]] == ["FAILED", "FAILED"]
    assert rows[0][-1] == parent.data.tags["sweep.best_run_id"]


def test_parallel_grid_on_a_tracking_server(sweep_project, mlflow_server):
    proc = sweep(sweep_project, "optim.lr=1e-3,3e-3,1e-2", "model.hidden=[8],[16,8]", *PARALLEL,
                 f"tracking.uri={mlflow_server}", "tracking.experiment=grid-on-server")
    assert "database is locked" not in proc.stdout + proc.stderr
    check_sweep(mlflow_server, "grid-on-server", 6, 0)
    assert not (sweep_project / "mlflow.db").exists()


def test_optuna_search_is_seeded_and_stays_in_its_space(sweep_project):
    uri = sqlite(sweep_project)
    sweep(sweep_project, "hydra.sweeper.n_trials=4", *PARALLEL, f"tracking.uri={uri}",
          "tracking.experiment=optuna-joblib", fast=OPTUNA)
    parent, children = check_sweep(uri, "optuna-joblib", 4, 0)
    assert parent.data.tags["sweep.sweeper"] == "optuna" and parent.data.params["sweeper.seed"] == "42"
    for c in children:
        p = c.data.params
        assert 1e-4 <= float(p["optim.lr"]) <= 3e-2 and 1e-6 <= float(p["optim.weight_decay"]) <= 1e-2
        assert 16 <= int(p["model.width"]) <= 256 and 1 <= int(p["model.depth"]) <= 3
        assert p["training.batch_size"] in {"32", "64", "128", "256"}
        assert len(json.loads(p["model.hidden"])) == int(p["model.depth"])

    # the same seed asks for the same first trials with the basic launcher, in one process
    sweep(sweep_project, "hydra.sweeper.n_trials=2", f"tracking.uri={uri}", "tracking.experiment=optuna-basic",
          fast=OPTUNA)
    _, again = check_sweep(uri, "optuna-basic", 2, 0)
    def chosen(runs):
        keys = ("optim.lr", "model.width", "model.depth", "training.batch_size", "optim.weight_decay")
        return {c.data.tags["sweep.job"]: [c.data.params[k] for k in keys] for c in runs}

    assert chosen(again) == {k: v for k, v in chosen(children).items() if k in ("0", "1")}


def test_ctrl_c_ends_the_job_and_the_sweep_killed(sweep_project):
    uri = sqlite(sweep_project)
    proc = subprocess.Popen([sys.executable, "-m", "housenet.train", "-m", *FAST, "training.epochs=1000000",
                             "optim.lr=1e-3,1e-2", f"tracking.uri={uri}"], cwd=sweep_project,
                            env=env_for(sweep_project), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not sweep_runs(uri)[1]:  # the first job's run exists: it is training
        time.sleep(0.5)
    time.sleep(1)
    proc.send_signal(signal.SIGINT)
    out = proc.communicate(timeout=60)[0]
    assert proc.returncode == 130, out
    parents, children = sweep_runs(uri)
    assert [p.info.status for p in parents] == ["KILLED"]
    assert [c.info.status for c in children] == ["KILLED"]  # the second job never started


def test_the_submitit_launcher_runs_the_same_sweep(sweep_project):
    """SLURM's launcher, in its local mode: jobs in separate processes, pickled callbacks, one parent."""
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher")
    uri = sqlite(sweep_project)
    proc = sweep(sweep_project, "optim.lr=1e-3,1e-2", "hydra/launcher=submitit_local", "hydra.launcher.timeout_min=5",
                 f"tracking.uri={uri}")
    assert "2 jobs, 2 finished, 0 failed" in proc.stdout
    parent, _ = check_sweep(uri, "housenet", 2, 0)
    assert parent.data.tags["sweep.launcher"] == "submitit"
    assert list((Path(parent.data.tags["sweep.dir"]) / ".submitit").iterdir())
