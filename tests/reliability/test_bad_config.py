"""Bad configuration: one line naming the key and what is wrong, exit status 1, before any work.

"Before any work" is shown by running the stages in a project with no data at all and no
MLflow store: the error must be about the configuration (not the missing data), and no store,
data or model may appear.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from housenet.config import ConfigError, check_config, compose
from housenet.data.errors import DataError
from tests.pipeline.conftest import REPO
from tests.reliability.conftest import error_line, files_under, stage

# (stage, overrides, text the line must contain)
AS_A_USER = [
    ("train", ["optim.learning_rate=0.1"], "Could not override 'optim.learning_rate'"),
    ("train", ["optim=adamw"], "Could not find 'optim/adamw' Available options in 'optim': adam sgd"),
    ("ingest", ["data=csv", "data.sep=;"], "cannot parse the override 'data.sep=;'; quote a value"),
    ("ingest", ["data=csv"], "data.path is required (it is ??? in conf/); set it"),
    ("train", ["optim.lr=abc"], "optim.lr must be a number, got 'abc'"),
    ("train", ["optim.lr=-0.01"], "optim.lr=-0.01: learning rate must be a positive number"),
    ("train", ["training.batch_size=-32"], "training.batch_size=-32: batch_size must be a positive integer"),
    ("train", ["training.epochs=0"], "training.epochs=0: epochs must be a positive integer"),
    ("train", ["model.hidden=[]"], "model.hidden=[]: hidden must list at least one layer size"),
    ("preprocess", ["split.val_fraction=0.5", "split.test_fraction=0.5"],
     "split.val_fraction + split.test_fraction = 1 must be below 1"),
]


def only_conf(project: Path) -> list[str]:
    return sorted(str(p.relative_to(project)) for p in (project / "conf").rglob("*.yaml")) + ["houses.csv"]


@pytest.mark.parametrize("name, overrides, text", AS_A_USER, ids=[" ".join(o) for _, o, _ in AS_A_USER])
def test_bad_configuration_is_one_line_before_any_work(project, monkeypatch, keep_signals, capsys, name, overrides,
                                                       text):
    """The stage's command line in this process: Hydra's parsing and composition, then run_stage."""
    import importlib

    from housenet.stage import launch

    monkeypatch.chdir(project)
    monkeypatch.setenv("HYDRA_FULL_ERROR", "1")  # launch sets it; monkeypatch restores it
    monkeypatch.setattr("sys.argv", [f"{name}.py", f"tracking.uri=sqlite:///{project}/mlflow.db", *overrides])
    with pytest.raises(SystemExit) as e:
        launch(name, importlib.import_module(f"housenet.{name}").main)
    lines = capsys.readouterr().err.strip().splitlines()
    assert e.value.code == 1 and len(lines) == 1 and lines[0].startswith(f"housenet.{name}: error: "), lines
    assert text in lines[0], lines[0]
    assert "no such file" not in lines[0]  # it stopped at the configuration, not at the missing data
    assert files_under(project) == only_conf(project), "nothing written: no data, model or MLflow store"


@pytest.mark.slow
@pytest.mark.parametrize("name, overrides, text", [AS_A_USER[0], AS_A_USER[5]], ids=["unknown-key", "negative-lr"])
def test_as_a_user_runs_it(project, name, overrides, text):
    o = [f"tracking.uri=sqlite:///{project}/mlflow.db", *overrides]
    assert text in error_line(stage(name, project, *o, check=False), name)
    assert files_under(project) == only_conf(project)


# Every other check, at the library level (what check_config refuses, the stages refuse before their work).
@pytest.mark.parametrize("overrides, text", [
    (["optim.lr=0"], "optim.lr=0: learning rate must be a positive number"),
    (["optim.lr=nan"], "optim.lr=nan"),
    (["training.batch_size=abc"], "training.batch_size='abc': batch_size must be a positive integer"),
    (["training.epochs=-3"], "training.epochs=-3"),
    (["training.epochs=2.5"], "training.epochs=2.5"),
    (["training.patience=0"], "training.patience=0"),
    (["training.loss=mae"], "training.loss='mae': unknown loss"),
    (["model.hidden=[0]"], "model.hidden=[0]: hidden layer sizes must be positive integers"),
    (["model.hidden=[-4, 8]"], "model.hidden=[-4, 8]"),
    (["model.activation=gelu"], "model.activation='gelu': unknown activation"),
    (["model.dropout=1.0"], "model.dropout=1.0"),
    (["model.dtype=float16"], "model.dtype='float16'"),
    (["model.ensemble_folds=maybe"], "model.ensemble_folds must be true or false, got 'maybe'"),
    (["optim.beta1=1.5"], "optim.beta1=1.5"),
    (["optim.weight_decay=-1"], "optim.weight_decay=-1"),
    (["optim=sgd", "optim.momentum=-0.5"], "optim.momentum=-0.5"),
    (["optim.clip_norm=0"], "optim.clip_norm=0"),
    (["schedule=step", "schedule.gamma=2"], "schedule.gamma=2: step schedule: gamma must be in (0, 1]"),
    (["schedule.min_factor=-1"], "schedule.min_factor=-1"),
    (["split.val_fraction=0.7", "split.test_fraction=0.3"], "must be below 1"),
    (["split.test_fraction=-0.1"], "split.test_fraction=-0.1 must be a number >= 0"),
    (["split.val_fraction=abc"], "split.val_fraction='abc' must be a number"),
    (["seed=-1"], "seed=-1 must be a whole number >= 0"),
    (["preprocess.max_categories=0"], "preprocess.max_categories=0 must be a whole number >= 1"),
    (["preprocess.log_target=maybe"], "preprocess.log_target='maybe' must be true or false"),
    (["preprocess.clip=-3"], "preprocess.clip=-3"),
    (["+preprocess.max_levels=3"], "preprocess.max_levels is not a preprocessing option"),
])
def test_every_value_check_names_its_key(overrides, text):
    cfg = compose(overrides, config_dir=str(REPO / "conf"))
    with pytest.raises((ConfigError, DataError)) as e:
        check_config(cfg)
    assert text in str(e.value) and "\n" not in str(e.value), str(e.value)


@pytest.mark.parametrize("overrides", [[], ["optim=sgd", "schedule=step", "training.loss=huber"],
                                       ["data=windsor", "training.patience=null", "preprocess.clip=null"]])
def test_the_shipped_configurations_pass(overrides):
    check_config(compose(overrides, config_dir=str(REPO / "conf")))


def test_refused_before_the_data_is_read(tmp_path: Path, monkeypatch, keep_signals, capsys):
    """In process: the stage function is never called when the configuration is bad."""
    from housenet.stage import run_stage

    called = []
    cfg = compose(["optim.lr=-1"], config_dir=str(REPO / "conf"))
    with pytest.raises(SystemExit) as e:
        run_stage("train", lambda c: called.append(c) or "done", cfg)
    assert e.value.code == 1 and called == []
    assert capsys.readouterr().err.startswith("housenet.train: error: optim.lr=-1: ")
