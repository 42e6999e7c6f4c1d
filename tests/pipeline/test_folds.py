"""k-fold members (model.ensemble_folds): who trains on which rows, the out-of-fold validation metrics."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from housenet import nn
from housenet.data.preprocessing import prepare_parts
from housenet.evaluate import evaluate
from housenet.ingest import ingest
from housenet.metrics import regression_metrics
from housenet.preprocess import preprocess
from housenet.train import fit_members, member_rows, network_config, train, train_config, validation_metrics
from tests.pipeline.test_stages import config, housing_like

FOLDS = ["model.ensemble=3", "model.ensemble_folds=true", "model.skip=true"]


def prepared(n: int = 120):
    df = housing_like(n, seed=4)
    idx = np.random.default_rng(0).permutation(n)
    return prepare_parts(df, "price", {"train": np.sort(idx[:80]), "val": np.sort(idx[80:100]),
                                       "test": np.sort(idx[100:])})


def test_each_member_trains_on_all_pooled_rows_but_its_fold():
    """The merged network and the out-of-fold predictions equal members trained by hand on X[rows]."""
    pre, a = prepared()
    cfg = config("sqlite:///unused.db", *FOLDS)
    fitted = fit_members(cfg, a)
    X, y = np.concatenate([a["X_train"], a["X_val"]]), np.concatenate([a["y_train"], a["y_val"]])
    members, oof = [], np.empty(len(X))
    for j, (rows, held_out) in enumerate(nn.ensemble.fold_rows(len(X), 3, cfg.seed)):
        seed = nn.ensemble.member_seed(cfg.seed, j)
        net = nn.MLP(network_config(cfg, X.shape[1]), seed=seed)
        nn.fit(net, X[rows], y[rows], replace(train_config(cfg), seed=seed), X_val=X[held_out], y_val=y[held_out])
        oof[held_out] = net.predict(X[held_out])[:, 0]
        members.append(net)
    assert fitted.net.params.tobytes() == nn.merge(members).params.tobytes()
    assert fitted.out_of_fold.tobytes() == oof.tobytes()
    assert len(fitted.histories) == 3
    assert member_rows(fitted, a) == len(nn.ensemble.fold_rows(len(X), 3, cfg.seed)[0][0])

    val = validation_metrics(fitted, a, pre)
    actual = np.concatenate([a["y_train_raw"], a["y_val_raw"]])
    assert val == regression_metrics(actual, pre.inverse_target(oof), "val")


@pytest.mark.parametrize("overrides", [["model.ensemble=3", "model.ensemble_folds=false"],
                                       ["model.ensemble=1", "model.ensemble_folds=true"]])
def test_without_folds_members_train_on_the_training_part(overrides):
    pre, a = prepared()
    cfg = config("sqlite:///unused.db", *overrides)
    fitted = fit_members(cfg, a)
    assert fitted.out_of_fold is None and validation_metrics(fitted, a, pre) is None
    first = nn.MLP(network_config(cfg, a["X_train"].shape[1]), seed=cfg.seed)
    h = nn.fit(first, a["X_train"], a["y_train"], train_config(cfg), X_val=a["X_val"], y_val=a["y_val"])
    assert fitted.histories[0].val_loss == h.val_loss  # member 0: the training part, stopped on the validation part


def test_the_stages_report_out_of_fold_validation_metrics(tmp_path, monkeypatch):
    """evaluate's val_* (the sweep objective) are the out-of-fold ones, not the in-sample validation rows."""
    housing_like(200).to_csv(tmp_path / "houses.csv", index=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DVC_STAGE", raising=False)
    cfg = config(f"sqlite:///{tmp_path}/mlflow.db", *FOLDS)
    ingest(cfg)
    preprocess(cfg)
    res = train(cfg, track=False)
    meta = nn.checkpoint.load_metadata(cfg.paths.model_dir)
    oof = meta["out_of_fold_validation"]
    assert oof["rows"] == sum(res.rows) and meta["ensemble_folds"] is True
    metrics = evaluate(cfg, track=False)
    assert {k: metrics[k] for k in ("val_r2", "val_rmse", "val_mae")} == {k: oof[k] for k in ("val_r2", "val_rmse", "val_mae")}
    assert json.loads(Path(cfg.paths.metrics_json).read_text())["val_rmse"] == oof["val_rmse"]
    # the merged network has seen the validation rows: scored on them directly it looks better
    from housenet.data.arrays import load_arrays
    from housenet.evaluate import predict_prices
    from housenet.data.preprocessing import Preprocessor

    a = load_arrays(cfg.paths.arrays)
    in_sample = regression_metrics(a["y_val_raw"], predict_prices(res.net, Preprocessor.load(cfg.paths.preprocessor),
                                                                  a["X_val"]), "val")
    assert in_sample["val_r2"] != metrics["val_r2"]
