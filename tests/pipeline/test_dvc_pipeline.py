"""`dvc repro` for real, in a copy of the project in a temporary Git repository."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from tests.pipeline.conftest import BIN, env_for, run, set_params

pytestmark = pytest.mark.slow

DVC = str(BIN / "dvc")
STAGES = ["ingest", "preprocess", "train", "evaluate"]


def ran(output: str) -> list[str]:
    return [s for s in STAGES if f"Running stage '{s}'" in output]


def small(project: Path) -> None:
    set_params(project, "training.epochs=6", "training.patience=null", "model.hidden=[16]",
               f"tracking.uri=sqlite:///{project}/mlflow.db")


def test_repro_runs_all_then_nothing_then_only_what_changed(project):
    small(project)
    first = run([DVC, "repro"], project)
    assert ran(first.stdout) == STAGES
    metrics = json.loads((project / "reports" / "metrics.json").read_text())
    assert {"test_r2", "test_rmse", "test_mae"} <= set(metrics)
    shown = run([DVC, "metrics", "show", "--json"], project).stdout
    assert "test_r2" in shown
    check_plots_show(project)

    second = run([DVC, "repro"], project)
    assert ran(second.stdout) == []

    before = (project / "reports" / "metrics.json").read_bytes()
    lr = yaml.safe_load((project / "params.yaml").read_text())["optim"]["lr"]
    set_params(project, f"optim.lr={lr * 2}")
    third = run([DVC, "repro"], project)
    assert ran(third.stdout) == ["train", "evaluate"]
    assert "optim.lr" in run([DVC, "params", "diff"], project).stdout

    set_params(project, f"optim.lr={lr}")  # back to the first value: the same metrics, bit for bit
    run([DVC, "repro", "--no-run-cache"], project)
    assert (project / "reports" / "metrics.json").read_bytes() == before


def check_plots_show(project: Path) -> None:
    """`dvc plots show` renders the loss, predicted-vs-actual and residual plots, and the stages' PNGs."""
    out = project / "plots-html"
    run([DVC, "plots", "show", "-o", str(out)], project)
    html = (out / "index.html").read_text()
    for title in ("Loss per epoch (model space)", "Test set, predicted against actual price",
                  "Test set, residual (actual - predicted) against predicted price"):
        assert f'"text": "{title}"' in html
    for field in ("train_loss", "val_loss", "actual", "predicted", "residual"):
        assert f'"field": "{field}"' in html
    for png in ("loss_curves", "predicted_vs_actual", "residuals"):
        src = f"static/workspace_reports_figures_{png}.png"
        assert f'src="{src}"' in html
        assert (out / src).read_bytes() == (project / "reports" / "figures" / f"{png}.png").read_bytes()
        assert (out / src).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_an_edit_of_conf_without_regenerating_params_fails_loudly(project):
    small(project)
    conf = project / "conf" / "optim" / "adam.yaml"
    text = conf.read_text()
    assert "\nlr: " in text
    conf.write_text(text.replace("\nlr: ", "\nlr: 0.0456  # was ", 1))
    proc = run([DVC, "repro"], project, check=False)
    assert proc.returncode != 0
    assert "params.yaml differs from conf/ at optim.lr" in proc.stdout + proc.stderr
    assert not (project / "models" / "model").exists()


def test_dvc_exp_run_with_a_hydra_override(project):
    small(project)
    run(["git", "add", "-A"], project)
    run(["git", "commit", "-qm", "small"], project)
    run([DVC, "repro"], project)
    run(["git", "add", "-A"], project)
    run(["git", "commit", "-qm", "baseline"], project)
    proc = run([DVC, "exp", "run", "-S", "optim.lr=0.0123"], project)
    assert ran(proc.stdout) == ["train", "evaluate"]
    params = yaml.safe_load((project / "params.yaml").read_text())
    assert params["optim"]["lr"] == 0.0123
    table = run([DVC, "exp", "show", "--json"], project).stdout
    assert "0.0123" in table and "test_r2" in table


def test_push_and_pull_through_a_local_remote(project, tmp_path):
    small(project)
    run([DVC, "repro"], project)
    remote = tmp_path / "remote"
    run([DVC, "remote", "add", "-d", "local", str(remote)], project)
    run([DVC, "push"], project)
    run(["git", "add", "-A"], project)
    run(["git", "commit", "-qm", "results"], project)

    clone = tmp_path / "clone"
    run(["git", "clone", "-q", str(project), str(clone)], tmp_path)
    run([DVC, "pull"], clone)
    assert (clone / "models" / "model" / "network.npz").read_bytes() == \
        (project / "models" / "model" / "network.npz").read_bytes()
    assert ran(run([DVC, "repro"], clone).stdout) == []  # nothing to run: the outputs came from the remote


def test_a_stage_killed_midway_leaves_a_consistent_lock_and_repro_recovers(project):
    set_params(project, "training.epochs=100000", "training.patience=null", "model.hidden=[16]",
               f"tracking.uri=sqlite:///{project}/mlflow.db")
    run([DVC, "repro", "preprocess"], project)
    lock_before = (project / "dvc.lock").read_text()
    proc = subprocess.Popen([DVC, "repro"], cwd=project, env=env_for(project), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    seen = []
    for line in proc.stdout:  # wait until training is under way (the first progress line)
        seen.append(line)
        if "epoch 1/" in line:
            break
    time.sleep(1)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert any("epoch 1/" in line for line in seen), "".join(seen)
    assert (project / "dvc.lock").read_text() == lock_before
    assert not (project / "models" / "model").exists()
    small(project)
    assert ran(run([DVC, "repro"], project).stdout) == ["train", "evaluate"]
