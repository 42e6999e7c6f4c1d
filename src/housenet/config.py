"""Configuration: Hydra composes conf/, params.yaml mirrors it for DVC.

conf/ is the one source of truth. ``python -m housenet.params`` (``make params``)
writes params.yaml from it, in the same form ``dvc exp run`` writes it
(OmegaConf YAML, interpolations resolved). Stages run by DVC read params.yaml;
under plain ``dvc repro`` they first check that params.yaml still equals the
composition of conf/, so an edit of either file can never be silently ignored.
Under ``dvc exp run`` (which composes conf/ plus its -S overrides itself)
params.yaml is taken as it is.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

PARAMS_FILE = "params.yaml"
_PACKAGE_ROOT = Path(__file__).resolve().parents[2]  # the checkout, for an editable install


class ConfigError(ValueError):
    """A configuration value or file that cannot be used; the message says which and what to do."""


def project_root() -> Path:
    """The folder holding conf/: the working directory if it has one, else this checkout."""
    cwd = Path.cwd()
    return cwd if (cwd / "conf" / "config.yaml").is_file() else _PACKAGE_ROOT


def conf_dir() -> str:
    return str(project_root() / "conf")


def compose(overrides: list[str] | tuple[str, ...] = (), config_dir: str | None = None) -> DictConfig:
    """Compose conf/config.yaml with Hydra overrides, as a Hydra app or `dvc exp run` would."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    with initialize_config_dir(config_dir=config_dir or conf_dir(), version_base="1.3"):
        return hydra_compose(config_name="config", overrides=list(overrides))


def params_yaml(cfg: DictConfig) -> str:
    """The text of params.yaml for a composed config (resolved, in DVC's own format)."""
    cfg = OmegaConf.create(OmegaConf.to_container(cfg, resolve=False))
    cfg.pop("hydra", None)
    OmegaConf.resolve(cfg)
    return OmegaConf.to_yaml(cfg)


def running_under_dvc() -> bool:
    return "DVC_STAGE" in os.environ


def running_dvc_experiment() -> bool:
    return "DVC_EXP_NAME" in os.environ


def diff(a: Any, b: Any, prefix: str = "") -> list[str]:
    """Dotted keys whose values differ between two nested containers."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b), key=str):
            key = f"{prefix}.{k}" if prefix else str(k)
            if k not in a or k not in b:
                out.append(key)
            else:
                out.extend(diff(a[k], b[k], key))
        return out
    return [] if a == b else [prefix or "<root>"]


def stage_config(cfg: DictConfig) -> DictConfig:
    """The configuration a stage runs with (see the module docstring)."""
    if not running_under_dvc():
        return cfg
    path = Path.cwd() / PARAMS_FILE
    if not path.is_file():
        raise ConfigError(f"{path}: missing; run `make params` to write it from conf/")
    params = OmegaConf.load(path)
    if not running_dvc_experiment():
        composed = OmegaConf.create(params_yaml(cfg))
        changed = diff(OmegaConf.to_container(params), OmegaConf.to_container(composed))
        if changed:
            shown = ", ".join(changed[:5]) + (" ..." if len(changed) > 5 else "")
            raise ConfigError(
                f"{PARAMS_FILE} differs from conf/ at {shown}: edit conf/ (the source of truth), "
                "then run `make params` to regenerate params.yaml"
            )
    return params


_NN_SECTIONS = ("model", "training", "optim", "schedule")
_NN_WORDS = {"learning rate": "optim.lr", "hidden": "model.hidden", "unknown activation": "model.activation",
             "unknown loss": "training.loss", "unknown optimizer": "optim.name", "unknown schedule": "schedule.name"}


def check_config(cfg: DictConfig) -> None:
    """Refuse a configuration no stage can run with, before any data is read or any run is opened.

    Checks the split fractions, the seed, the preprocessing options, and the network and
    training settings the way training itself will use them (a network, optimiser, loss and
    schedule are built from them, for one input). Raises ConfigError (or DataError) with one
    line that starts with the key at fault.
    """
    from housenet.data.preprocessing import check_options
    from housenet.data.split import check_fractions

    seed = cfg.get("seed")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ConfigError(f"seed={seed!r} must be a whole number >= 0")
    split = cfg.get("split") or {}
    check_fractions(split.get("val_fraction"), split.get("test_fraction"))
    check_options(**OmegaConf.to_container(cfg.get("preprocess") or OmegaConf.create({}), resolve=True))
    if all(k in cfg for k in _NN_SECTIONS):
        check_training(cfg)


def check_training(cfg: DictConfig) -> None:
    """Build the network, optimiser, loss and schedule of ``cfg`` for one input: ConfigError naming the key."""
    from housenet import nn
    from housenet.nn.losses import get_loss
    from housenet.nn.schedules import make_schedule
    from housenet.nn.training import build_optimizer
    from housenet.train import network_config, train_config, uses_folds

    try:
        net = nn.MLP(network_config(cfg, 1), seed=0)
        uses_folds(cfg)
        t = train_config(cfg)
        build_optimizer(net, t.optim)
        get_loss(t.loss, t.huber_delta)
        make_schedule(t.schedule.name, t.epochs, t.schedule.step_size, t.schedule.gamma, t.schedule.min_factor)
    except (ValueError, TypeError) as e:
        raise ConfigError(_name_key(cfg, " ".join(str(e).split()))) from None


def _name_key(cfg: DictConfig, message: str) -> str:
    """Start an error message from the network library with the configuration key it is about."""
    if message.startswith(tuple(f"{s}." for s in _NN_SECTIONS)):
        return message
    key = next((k for w, k in _NN_WORDS.items() if message.startswith(w)), None)
    if key is None:
        leaves = {k.rsplit(".", 1)[-1]: k for k in flatten(OmegaConf.masked_copy(cfg, list(_NN_SECTIONS)))}
        body = message.split(": ", 1)[-1] if message.startswith(("step schedule:", "cosine schedule:")) else message
        first = body.split(" ", 1)[0]
        key = leaves.get(first) or next((k for leaf, k in leaves.items() if f" {leaf} " in f" {message} "), None)
    if key is None:
        return message
    return f"{key}={OmegaConf.select(cfg, key)!r}: {message}; fix it in conf/ or on the command line"


def tracking_uri(cfg: DictConfig) -> str:
    """The configured MLflow URI, or an absolute SQLite store at the project's root."""
    uri = cfg.tracking.uri
    if uri:
        return str(uri)
    root = Path(os.environ.get("DVC_ROOT") or project_root()).resolve()
    return f"sqlite:///{root / 'mlflow.db'}"


def flatten(d: Any, prefix: str = "") -> dict[str, Any]:
    """{'optim': {'lr': 0.1}} -> {'optim.lr': 0.1}; lists stay values."""
    if isinstance(d, DictConfig):
        d = OmegaConf.to_container(d, resolve=True)
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}.{k}" if prefix else str(k)
        if isinstance(v, dict):
            out.update(flatten(v, key))
        else:
            out[key] = v
    return out
