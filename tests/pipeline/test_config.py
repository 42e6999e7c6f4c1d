"""conf/ is the one source of truth: params.yaml mirrors it, and drift is caught."""

import pytest
from omegaconf import OmegaConf

from housenet.config import ConfigError, compose, diff, flatten, params_yaml, stage_config, tracking_uri
from tests.pipeline.conftest import REPO


def test_params_yaml_is_generated_from_conf():
    """Fails when conf/ was edited without `make params` (or params.yaml by hand)."""
    expected = params_yaml(compose(config_dir=str(REPO / "conf")))
    assert (REPO / "params.yaml").read_text() == expected, "params.yaml is stale: run `make params`"


def test_params_yaml_matches_what_dvc_exp_run_writes(tmp_path):
    """DVC's own Hydra composition writes the same text, so `dvc exp run` and `make params` agree."""
    from dvc.utils.hydra import compose_and_dump

    out = tmp_path / "params.yaml"
    compose_and_dump(out, str(REPO / "conf"), None, "config", str(tmp_path), [])
    assert out.read_text() == (REPO / "params.yaml").read_text()


def test_overrides_compose():
    cfg = compose(["optim.lr=0.003", "model.hidden=[32,16]", "data=windsor"], config_dir=str(REPO / "conf"))
    assert cfg.optim.lr == 0.003 and list(cfg.model.hidden) == [32, 16] and cfg.data.target == "price"


def test_unknown_key_is_refused():
    with pytest.raises(Exception, match="no_such_key"):
        compose(["optim.no_such_key=1"], config_dir=str(REPO / "conf"))


def test_stage_under_dvc_repro_refuses_drifted_params(tmp_path, monkeypatch):
    cfg = compose(config_dir=str(REPO / "conf"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DVC_STAGE", "train")
    monkeypatch.delenv("DVC_EXP_NAME", raising=False)
    (tmp_path / "params.yaml").write_text(params_yaml(cfg))
    assert OmegaConf.to_container(stage_config(cfg)) == OmegaConf.to_container(OmegaConf.create(params_yaml(cfg)))

    drifted = OmegaConf.create(params_yaml(cfg))
    drifted.optim.lr = 0.5
    (tmp_path / "params.yaml").write_text(OmegaConf.to_yaml(drifted))
    with pytest.raises(ConfigError, match=r"params.yaml differs from conf/ at optim.lr.*make params"):
        stage_config(cfg)

    monkeypatch.setenv("DVC_EXP_NAME", "exp-1")  # dvc exp run composed params.yaml itself
    assert stage_config(cfg).optim.lr == 0.5


def test_outside_dvc_the_composed_config_is_used(monkeypatch):
    monkeypatch.delenv("DVC_STAGE", raising=False)
    cfg = compose(["optim.lr=0.25"], config_dir=str(REPO / "conf"))
    assert stage_config(cfg).optim.lr == 0.25


def test_default_tracking_uri_is_an_absolute_sqlite_store(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DVC_ROOT", raising=False)
    cfg = compose(config_dir=str(REPO / "conf"))
    uri = tracking_uri(cfg)
    assert uri.startswith("sqlite:////") and uri.endswith("/mlflow.db")
    cfg.tracking.uri = "http://127.0.0.1:5000"
    assert tracking_uri(cfg) == "http://127.0.0.1:5000"


def test_diff_and_flatten():
    assert diff({"a": {"b": 1, "c": 2}}, {"a": {"b": 1, "c": 3}, "d": 0}) == ["a.c", "d"]
    assert flatten({"a": {"b": [1, 2]}, "c": None}) == {"a.b": [1, 2], "c": None}
