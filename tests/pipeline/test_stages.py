"""The stages as library functions, in order, on a small CSV, with a real MLflow SQLite store."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from omegaconf import OmegaConf

from housenet.config import compose
from housenet.data.errors import DataError
from housenet.evaluate import evaluate
from housenet.ingest import ingest
from housenet.nn import DivergenceError
from housenet.preprocess import preprocess
from housenet.train import train
from tests.pipeline.conftest import FAST, REPO


def housing_like(n: int, seed: int = 0) -> pd.DataFrame:
    """A table shaped like the original project's Housing.csv."""
    rng = np.random.default_rng(seed)
    area = rng.integers(1600, 16000, n)
    rooms = rng.integers(1, 6, n)
    air = rng.choice(["yes", "no"], n)
    furnishing = rng.choice(["furnished", "semi-furnished", "unfurnished"], n)
    price = 500 * area + 250_000 * rooms + 400_000 * (air == "yes") + rng.normal(0, 2e5, n) + 1e6
    return pd.DataFrame({"price": price.round(), "area": area, "bedrooms": rooms, "airconditioning": air,
                         "furnishingstatus": furnishing})


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('mlflow')}/mlflow.db"


@pytest.fixture
def workdir(tmp_path, monkeypatch) -> Path:
    housing_like(300).to_csv(tmp_path / "houses.csv", index=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DVC_STAGE", raising=False)
    return tmp_path


def config(store: str, *overrides: str):
    return compose(["data=csv", "data.path=houses.csv", "data.target=price", f"tracking.uri={store}",
                    "tracking.experiment=stage-tests", *FAST, *overrides], config_dir=str(REPO / "conf"))


def test_stages_in_order_and_the_mlflow_run(workdir, store):
    from mlflow.tracking import MlflowClient

    cfg = config(store)
    prov = ingest(cfg)
    assert prov.rows == 300 and prov.target == "price"
    pre, arrays = preprocess(cfg)
    assert arrays["X_train"].shape[1] == pre.n_features
    result = train(cfg)
    metrics = evaluate(cfg)
    assert set(metrics) >= {"test_r2", "test_rmse", "test_mae"}
    assert json.loads(Path(cfg.paths.metrics_json).read_text()) == pytest.approx(metrics)
    assert sorted(p.name for p in Path(cfg.paths.model_dir).iterdir()) == ["network.json", "network.npz",
                                                                         "preprocessor.json"]

    client = MlflowClient(store)
    run = client.get_run(result.run.run_id)
    assert run.info.status == "FINISHED"
    assert run.data.params["optim.lr"] == str(cfg.optim.lr)
    assert run.data.params["model.hidden"] == "[16]"
    assert run.data.params["data.target"] == "price"
    assert run.data.tags["data.sha256"] == prov.sha256
    assert run.data.metrics["test_r2"] == pytest.approx(metrics["test_r2"])
    history = client.get_metric_history(run.info.run_id, "train_loss")
    assert [m.step for m in history] == list(range(1, 9))
    assert [m.value for m in history] == pytest.approx(result.history.train_loss)
    assert len(client.get_metric_history(run.info.run_id, "val_loss")) == 8
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"config.yaml", "loss_curves.png", "loss.csv", "model", "predicted_vs_actual.png",
            "residuals.png"} <= artifacts
    model_files = {a.path for a in client.list_artifacts(run.info.run_id, "model")}
    assert model_files == {"model/network.json", "model/network.npz", "model/preprocessor.json"}


def test_same_seed_gives_identical_outputs(workdir, store):
    cfg = config(store)
    ingest(cfg)
    preprocess(cfg)
    outputs = []
    for _ in range(2):
        train(cfg, track=False)
        evaluate(cfg, track=False)
        outputs.append((Path(cfg.paths.metrics_json).read_bytes(),
                        (Path(cfg.paths.model_dir) / "network.npz").read_bytes()))
    assert outputs[0] == outputs[1]


def test_missing_target_column_writes_nothing(workdir, store):
    cfg = config(store, "data.target=Price")
    with pytest.raises(DataError, match=r"houses.csv.*'Price'.*data.target"):
        ingest(cfg)
    assert not Path("data").exists()


def test_diverging_training_marks_the_run_failed_and_saves_no_model(workdir, store):
    from mlflow.tracking import MlflowClient

    cfg = config(store, "model.activation=relu", "optim=sgd", "optim.lr=1000", "optim.clip_norm=null", "preprocess.standardize_target=false",
                 "preprocess.log_target=false")
    ingest(cfg)
    preprocess(cfg)
    with pytest.raises(DivergenceError, match="diverged at epoch 1"):
        train(cfg)
    assert not Path(cfg.paths.model_dir).exists()
    client = MlflowClient(store)
    exp = client.get_experiment_by_name("stage-tests")
    runs = client.search_runs([exp.experiment_id], order_by=["attributes.start_time DESC"], max_results=1)
    assert runs[0].info.status == "FAILED"
