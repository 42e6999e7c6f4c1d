"""Bad input stops a sweep before any job starts, with one clear line; a server lost mid-sweep, a bounded wait."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from tests.pipeline.conftest import env_for
from tests.sweeps.conftest import FAST, Proxy, free_port, sweep_runs

pytestmark = pytest.mark.slow

NO_HIDDEN = [o for o in FAST if not o.startswith("model.hidden")]


@pytest.mark.parametrize("overrides, message", [
    (["optim.learning_rate=1e-3,1e-2"], "Could not override 'optim.learning_rate'"),
    (["model=mlp,transformer"], "Could not find 'model/transformer'"),
    (["optim.lr=1e-3,fast"], "optim.lr must be a number, got 'fast'"),
    (["optim.lr=1e-3,-1e-3"], "optim.lr=-0.001: learning rate must be a positive number"),
    (["training.batch_size=range(64,8)"], "training.batch_size=range(64,8): the sweep has no values"),
    (["optim.lr=interval(1e-4,1e-2)"], "interval() needs the Optuna sweeper"),
    (["sweep=optuna", "optim.lr=tag(log, interval(0, 0.1))"], "a log scale needs a lower end above 0"),
    (["sweep=optuna", "optim.weight_decay=interval(0.1, 0.01)"], "the lower end must be below the upper end"),
    (["sweep=optuna", "model.hidden=[8]"], "model.hidden=[8]: fixes the layers that this search chooses"),
    (["sweep=optuna", "hydra.sweeper.n_trials=0"], "needs a positive number of trials"),
    (["optim.lr=1e-3,1e-2", "hydra/launcher=ray", "hydra.launcher.ray.init.address=127.0.0.1:{port}"],
     "Ray cluster at 127.0.0.1:{port} is unreachable"),
    (["optim.lr=1e-3,1e-2", "tracking.uri=http://127.0.0.1:{port}"],
     "MLflow tracking server http://127.0.0.1:{port} is unreachable"),
])
def test_bad_input_fails_before_any_job_with_one_clear_line(sweep_project, overrides, message):
    port = free_port()  # nobody listens there
    overrides = [o.format(port=port) for o in overrides]
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "housenet.train", "-m", *NO_HIDDEN, *overrides], cwd=sweep_project,
                          env=env_for(sweep_project), capture_output=True, text=True, timeout=120)
    assert time.monotonic() - t0 < 60
    assert proc.returncode != 0
    errors = [line for line in proc.stderr.splitlines() if "error" in line.lower()]
    assert errors and message.format(port=port) in errors[0], proc.stderr
    assert errors[0].startswith("housenet.train: error:") and errors[0].endswith("no job was started")
    assert not (sweep_project / "mlflow.db").exists(), "no parent run, no store"
    assert not list(sweep_project.glob("multirun/*/*/0")), "no job ran"


def test_missing_prepared_data_is_refused_before_any_job(sweep_project):
    (sweep_project / "data" / "prepared" / "arrays.npz").unlink()
    proc = subprocess.run([sys.executable, "-m", "housenet.train", "-m", *FAST, "optim.lr=1e-3,1e-2"],
                          cwd=sweep_project, env=env_for(sweep_project), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "arrays.npz: no such file" in proc.stderr and "dvc repro preprocess" in proc.stderr


def test_a_tracking_server_that_goes_away_mid_sweep_ends_it_with_a_clear_error(sweep_project, mlflow_server):
    port = int(mlflow_server.rsplit(":", 1)[1])
    proxy = Proxy(port)
    uri = f"http://127.0.0.1:{proxy.port}"
    proc = subprocess.Popen([sys.executable, "-m", "housenet.train", "-m", *FAST, "training.epochs=300",
                             "model.hidden=[64,64]", "training.batch_size=8", "optim.lr=1e-3,2e-3,3e-3,4e-3",
                             f"tracking.uri={uri}", "tracking.experiment=goes-away"], cwd=sweep_project,
                            env=env_for(sweep_project), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not sweep_runs(mlflow_server, "goes-away")[1]:
        time.sleep(0.3)  # until the first job is training
    proxy.cut()
    t_cut = time.monotonic()
    out, err = proc.communicate(timeout=180)
    assert time.monotonic() - t_cut < 120, "bounded"
    assert proc.returncode == 1, err
    assert "cannot read the sweep back from MLflow at " + uri in err
    assert "4 job folders under" in err and "0 finished, 4 failed" in err
    assert err.count("is unreachable") >= 3  # the jobs after the cut fail fast, each with the reason
