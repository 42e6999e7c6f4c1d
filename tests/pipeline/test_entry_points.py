"""The stages as users run them: `python -m housenet.<stage> overrides...`, errors, Ctrl-C and SIGTERM."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.pipeline.conftest import env_for
from tests.pipeline.test_stages import housing_like

pytestmark = pytest.mark.slow


def stage(name: str, cwd: Path, *overrides: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", f"housenet.{name}", *overrides], cwd=cwd, env=env_for(cwd),
                          capture_output=True, text=True, timeout=300)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


@pytest.fixture
def project_dir(project: Path) -> Path:
    housing_like(200).to_csv(project / "houses.csv", index=False)
    return project


def csv_overrides(project: Path) -> list[str]:
    return ["data=csv", "data.path=houses.csv", "data.target=price", f"tracking.uri=sqlite:///{project}/mlflow.db"]


def summary_line(proc: subprocess.CompletedProcess, name: str) -> str:
    """A stage's stdout is one line: what it did (rows in, rows out) and how long it took."""
    lines = proc.stdout.splitlines()
    assert len(lines) == 1, proc.stdout
    assert re.fullmatch(rf"housenet\.{name}: \d+ .*rows in.* \(\d+\.\d s\)", lines[0]), lines[0]
    return lines[0]


def test_each_stage_runs_on_its_own_with_overrides(project_dir):
    o = csv_overrides(project_dir)
    line = summary_line(stage("ingest", project_dir, *o), "ingest")
    assert "200 rows in" in line and "200 rows x 5 columns out" in line
    line = summary_line(stage("preprocess", project_dir, *o, "split.test_fraction=0.25"), "preprocess")
    assert "200 rows in, " in line and "train/val/test rows out" in line and "features" in line
    proc = stage("train", project_dir, *o, "optim.lr=0.003", "model.hidden=[32,16]", "training.epochs=30",
                 "training.patience=null", "model.ensemble=2")
    line = summary_line(proc, "train")
    assert "val rows in, 30 epochs" in line and "MLflow run" in line
    # not a terminal: progress on stderr, a line every 30 // 10 = 3 epochs, not one per epoch, per network
    every_third = ["1"] + [str(e) for e in range(3, 31, 3)]
    for j in (1, 2):
        assert re.findall(rf"^network {j}/2: epoch (\d+)/30 train ", proc.stderr, re.M) == every_third
    line = summary_line(stage("evaluate", project_dir, *o), "evaluate")
    assert "test predictions out; test R^2" in line and "pyfunc model models:/" in line
    assert not (project_dir / "outputs").exists(), "Hydra must not litter the project with run folders"


@pytest.mark.parametrize("overrides, message", [
    (["data.path=nowhere.csv"], "nowhere.csv: no such file"),
    (["data.target=cost"], "'cost'"),
])
def test_bad_input_gets_one_line_and_a_nonzero_exit(project_dir, overrides, message):
    proc = stage("ingest", project_dir, *csv_overrides(project_dir), *overrides, check=False)
    assert proc.returncode == 1
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("housenet.ingest: error:") and message in lines[0]
    assert not (project_dir / "data" / "raw").exists()


def test_unknown_config_key_is_refused_before_any_work(project_dir):
    proc = stage("train", project_dir, "optim.learning_rate=0.1", check=False)
    assert proc.returncode != 0 and "learning_rate" in proc.stderr


def test_wrong_type_is_refused(project_dir):
    o = csv_overrides(project_dir)
    stage("ingest", project_dir, *o)
    stage("preprocess", project_dir, *o)
    proc = stage("train", project_dir, *o, "optim.lr=abc", check=False)
    assert proc.returncode == 1 and "optim.lr must be a number" in proc.stderr
    assert not (project_dir / "models").exists()


@pytest.mark.parametrize("sig, status, code", [(signal.SIGINT, "KILLED", 130), (signal.SIGTERM, "KILLED", 143)])
def test_interrupted_training_ends_the_run_killed_and_leaves_no_model(project_dir, sig, status, code):
    from mlflow.tracking import MlflowClient

    o = csv_overrides(project_dir)
    stage("ingest", project_dir, *o)
    stage("preprocess", project_dir, *o)
    proc = subprocess.Popen([sys.executable, "-m", "housenet.train", *o, "training.epochs=1000000",
                             "training.patience=null"], cwd=project_dir, env=env_for(project_dir),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for line in proc.stdout:
        if "epoch 1/" in line:
            break
    proc.send_signal(sig)
    rest = proc.communicate(timeout=60)[0]
    assert proc.returncode == code, rest
    assert not (project_dir / "models" / "model").exists()
    client = MlflowClient(f"sqlite:///{project_dir}/mlflow.db")
    runs = client.search_runs([client.get_experiment_by_name("housenet").experiment_id])
    assert [r.info.status for r in runs] == [status]


def test_unreachable_tracking_server_fails_fast_with_a_clear_error(project_dir):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    o = csv_overrides(project_dir)[:-1] + [f"tracking.uri=http://127.0.0.1:{port}"]
    stage("ingest", project_dir, *o)
    stage("preprocess", project_dir, *o)
    t0 = time.monotonic()
    proc = stage("train", project_dir, *o, check=False)
    assert time.monotonic() - t0 < 60
    assert proc.returncode == 1
    assert f"MLflow tracking server http://127.0.0.1:{port} is unreachable" in proc.stderr
