"""`housenet predict`: raw rows in, prices out, from a model folder or an MLflow run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from housenet.cli import main as cli
from housenet.data.errors import DataError
from housenet.evaluate import evaluate
from housenet.ingest import ingest
from housenet.predict import load_model, predict_csv
from housenet.preprocess import preprocess
from housenet.train import train
from tests.pipeline.test_stages import config, housing_like, store, workdir  # noqa: F401 (fixtures)


@pytest.fixture
def trained(workdir, store):  # noqa: F811
    cfg = config(store)
    ingest(cfg)
    preprocess(cfg)
    result = train(cfg)
    evaluate(cfg)
    return cfg, result


def test_predict_from_folder_and_from_mlflow_agree_with_evaluate(trained, store, tmp_path):
    cfg, result = trained
    new = housing_like(25, seed=9).drop(columns=["price"])
    new.loc[0, "furnishingstatus"] = "palatial"  # a category never seen in training
    new.loc[1, "area"] = np.nan  # a missing value
    new.to_csv(tmp_path / "new.csv", index=False)

    assert cli(["predict", "--model", cfg.paths.model_dir, "--input", str(tmp_path / "new.csv"),
                "--output", str(tmp_path / "a.csv")]) == 0
    a = pd.read_csv(tmp_path / "a.csv")
    assert list(a.columns) == list(new.columns) + ["predicted_price"]
    assert np.isfinite(a["predicted_price"]).all() and (a["predicted_price"] > 0).all()

    uri = f"runs:/{result.run.run_id}/model"
    predict_csv(load_model(uri, tracking_uri=store), tmp_path / "new.csv", tmp_path / "b.csv")
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()

    # The same prices evaluate computed for the test rows.
    test_rows = pd.read_csv(cfg.paths.raw_csv).iloc[np.load(cfg.paths.arrays)["test_idx"]]
    model = load_model(cfg.paths.model_dir)
    expected = pd.read_csv(cfg.paths.predictions_csv)["predicted"].to_numpy()
    np.testing.assert_allclose(model.predict(test_rows), expected, rtol=1e-12)


def test_missing_and_unexpected_columns_are_named(trained, tmp_path):
    cfg, _ = trained
    model = load_model(cfg.paths.model_dir)
    rows = housing_like(3)
    with pytest.raises(DataError, match="missing columns bedrooms"):
        model.predict(rows.drop(columns=["bedrooms"]))
    with pytest.raises(DataError, match="unexpected columns garage"):
        model.predict(rows.assign(garage=1))


def test_cli_errors_are_one_line(trained, tmp_path, capsys):
    assert cli(["predict", "--model", "nowhere", "--input", "x.csv", "--output", str(tmp_path / "o.csv")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "nowhere: no such model folder" in err[0]
    assert not (tmp_path / "o.csv").exists()
