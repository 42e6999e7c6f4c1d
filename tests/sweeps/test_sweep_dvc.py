"""DVC's own experiment path: queue a sweep with ``dvc exp run --queue -S``, run it, list it."""

from __future__ import annotations

import json

import pytest

from tests.pipeline.conftest import BIN, run, set_params

pytestmark = pytest.mark.slow

DVC = str(BIN / "dvc")


def test_dvc_queue_runs_a_hydra_sweep_and_exp_show_lists_params_and_metrics(project):
    set_params(project, "training.epochs=3", "training.patience=null", "model.hidden=[8]",
               f"tracking.uri=sqlite:///{project}/mlflow.db")
    conf = project / "conf" / "config.yaml"
    conf.write_text(conf.read_text().replace("- data: ames", "- data: windsor"))  # small data, quick
    run([str(BIN / "python"), "-m", "housenet.params"], project)
    run([DVC, "repro"], project)
    run(["git", "add", "-A"], project)
    run(["git", "commit", "-qm", "baseline"], project)

    queued = run([DVC, "exp", "run", "--queue", "-S", "optim.lr=1e-3,1e-2"], project)
    assert queued.stdout.count("Queued experiment") == 2
    run([DVC, "exp", "run", "--run-all"], project, timeout=600)

    shown = json.loads(run([DVC, "exp", "show", "--json"], project).stdout)
    exps = [e for rev in shown for e in (rev.get("experiments") or []) for e in e.get("revs", [])]
    lrs = {}
    for e in exps:
        data = e["data"]
        lr = data["params"]["params.yaml"]["data"]["optim"]["lr"]
        metrics = data["metrics"]["reports/metrics.json"]["data"]
        assert {"test_r2", "val_rmse"} <= set(metrics)
        lrs[lr] = metrics["val_rmse"]
    assert set(lrs) == {0.001, 0.01}
    assert lrs[0.001] != lrs[0.01]
