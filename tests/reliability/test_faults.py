"""Faults during training: a loss that explodes stops the train stage with the epoch named,
the MLflow run FAILED, and the model trained before left exactly as it was."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from housenet.config import compose
from tests.pipeline.conftest import REPO
from tests.reliability.conftest import csv_overrides, error_line, run_here, stage


def _model_files(project: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((project / "models").rglob("*")) if p.is_file()}


@pytest.mark.slow
def test_a_diverging_training_fails_names_the_epoch_and_keeps_the_previous_model(project, store, monkeypatch):
    """Adam at optim.lr=10: the loss rises ~1e4-fold but stays finite (caught by housenet.convergence); a loss
    that overflows to inf (nn.fit's own DivergenceError) takes the same path: tests/pipeline/test_stages.py."""
    from mlflow.tracking import MlflowClient

    from housenet.ingest import ingest
    from housenet.preprocess import preprocess
    from housenet.train import train

    o = csv_overrides(project)
    monkeypatch.chdir(project)
    cfg = compose(o, config_dir=str(REPO / "conf"))
    ingest(cfg)
    preprocess(cfg)
    good = train(cfg).run.run_id  # a good model first, as after an earlier dvc repro
    before = _model_files(project)
    assert set(before) == {"network.json", "network.npz", "preprocessor.json", "mlflow_run.json"}

    line = error_line(stage("train", project, *o, "optim.lr=10", check=False), "train")
    assert "training diverged at epoch " in line and "lower the learning rate (optim.lr)" in line, line
    assert _model_files(project) == before, "the earlier model (and the run it points to) must stay as they were"
    assert json.loads((project / "models" / "mlflow_run.json").read_text())["run_id"] == good
    with np.load(project / "models" / "model" / "network.npz", allow_pickle=False) as z:
        assert all(np.isfinite(z[k]).all() for k in z.files)
    assert not [p for p in (project / "models").iterdir() if p.name.startswith(".")], "no temporary model folder"

    client = MlflowClient(store)
    runs = client.search_runs([client.get_experiment_by_name("housenet").experiment_id],
                              order_by=["attributes.start_time ASC"])
    assert [r.info.status for r in runs] == ["FINISHED", "FAILED"]
    assert runs[1].data.params["optim.lr"] == "10"


def test_a_model_whose_predictions_overflow_is_refused_by_evaluate(in_project, capsys):
    """A model saved before training refused exploded losses: evaluate names it and writes no metrics."""
    from housenet import nn
    from housenet.evaluate import _run
    from housenet.stage import run_stage
    from housenet.train import train

    o = csv_overrides(in_project)
    assert run_here("ingest", *o) == 0 and run_here("preprocess", *o) == 0
    cfg = compose(o, config_dir=str(REPO / "conf"))
    train(cfg, track=False)
    model = in_project / "models" / "model"
    net = nn.load(model)
    net.params *= 1e6  # weights such a run ends with: exp() of its outputs in log-price space overflows
    nn.save(net, model)
    capsys.readouterr()
    with pytest.raises(SystemExit) as e:
        run_stage("evaluate", _run, cfg)
    err = capsys.readouterr().err
    assert e.value.code == 1 and err.startswith("housenet.evaluate: error: models/model: its predictions overflow"), err
    assert not (in_project / "reports" / "metrics.json").exists()
