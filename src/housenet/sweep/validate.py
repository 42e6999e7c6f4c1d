"""Checks a sweep passes before any job starts; each failure is one clear ``SweepSetupError``.

- every override key and config group exists, and every value has the right type: a few
  representative job configurations (each swept value at least once; both ends of a
  range or interval) are composed exactly as the launchers compose them, then checked by
  the same functions ``train`` uses;
- the search space is valid: a non-empty range, a positive lower end on a log scale,
  a distribution Optuna accepts, at least one trial; intervals only with Optuna;
- the prepared data exist (jobs read them; they never prepare them);
- a Ray cluster named by ``hydra.launcher.ray.init.address`` (or ``RAY_ADDRESS``) answers.
"""

from __future__ import annotations

import math
import os
import socket
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf, open_dict

MAX_COMPOSED = 48  # representative job configurations composed at most
CONNECT_TIMEOUT_S = 5.0


class SweepSetupError(ValueError):
    """The sweep cannot start; the message names the override, file or address and what to do."""


def sweeper_kind(config: DictConfig) -> str:
    target = str(OmegaConf.select(config, "hydra.sweeper._target_", default="") or "")
    return "optuna" if "optuna" in target else "basic" if "BasicSweeper" in target else target.rsplit(".", 1)[-1]


def launcher_kind(config: DictConfig) -> str:
    target = str(OmegaConf.select(config, "hydra.launcher._target_", default="") or "").lower()
    for name in ("joblib", "ray", "submitit", "basic"):
        if name in target:
            return name
    return target.rsplit(".", 1)[-1] or "basic"


def sweep_arguments(config: DictConfig) -> list[str]:
    """What the sweeper expands: ``hydra.sweeper.params`` then the command line's overrides."""
    params = OmegaConf.select(config, "hydra.sweeper.params", default=None) or {}
    return [f"{k}={v}" for k, v in params.items()] + list(config.hydra.overrides.task)


def check_search_space(config: DictConfig, config_loader=None) -> list:
    """Parse the sweep's overrides and check every range; returns the parsed overrides."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    kind = sweeper_kind(config)
    try:
        parsed = OverridesParser.create(config_loader=config_loader).parse_overrides(sweep_arguments(config))
    except HydraException as e:
        raise SweepSetupError(f"cannot parse the sweep's overrides: {_line(e)}") from None
    for o in parsed:
        if o.is_interval_sweep():
            v = o.value()
            if kind != "optuna":
                raise SweepSetupError(f"{o.input_line}: interval() needs the Optuna sweeper; add sweep=optuna "
                                      "or sweep over a list of values (a,b,c) or range(start,stop,step)")
            if not (_finite(v.start) and _finite(v.end)) or not v.start < v.end:
                raise SweepSetupError(f"{o.input_line}: invalid range: the lower end must be below the upper end")
            if "log" in v.tags and v.start <= 0:
                raise SweepSetupError(f"{o.input_line}: invalid range: a log scale needs a lower end above 0")
        elif o.is_sweep_override() and not _values(o):
            raise SweepSetupError(f"{o.input_line}: the sweep has no values")
    if kind == "optuna":
        _check_optuna(config, parsed)
        searched = {o.get_key_element() for o in parsed if o.is_sweep_override()}
        fixed = [o.input_line for o in parsed if o.get_key_element() == "model.hidden" and not o.is_sweep_override()]
        if fixed and searched & {"model.width", "model.depth"}:
            raise SweepSetupError(f"{fixed[-1]}: fixes the layers that this search chooses through model.width and "
                                  "model.depth; drop it, or fix those two instead (e.g. model.width=64 model.depth=1)")
    return parsed


def _check_optuna(config: DictConfig, parsed: list) -> None:
    from hydra_plugins.hydra_optuna_sweeper._impl import create_optuna_distribution_from_override

    n_trials = OmegaConf.select(config, "hydra.sweeper.n_trials", default=1)
    if not isinstance(n_trials, int) or n_trials < 1:
        raise SweepSetupError(f"hydra.sweeper.n_trials={n_trials}: needs a positive number of trials")
    for o in parsed:
        try:
            create_optuna_distribution_from_override(o)
        except (ValueError, AssertionError, NotImplementedError, TypeError) as e:
            reason = _line(e) or type(e).__name__
            raise SweepSetupError(f"{o.input_line}: not a valid Optuna search space ({reason})") from None


def representative_jobs(parsed: list) -> list[list[str]]:
    """Job override lists in which every swept value appears at least once (both ends of ranges)."""
    keys, values = [], []
    for o in parsed:
        keys.append(o.get_key_element())
        values.append(_values(o) if o.is_sweep_override() else [None])
    base = [o.input_line if v[0] is None else f"{k}={v[0]}" for o, k, v in zip(parsed, keys, values)]
    jobs = [base]
    for i, (k, vals) in enumerate(zip(keys, values)):
        for v in vals[1:]:
            if len(jobs) < MAX_COMPOSED:
                jobs.append(base[:i] + [f"{k}={v}"] + base[i + 1 :])
    return jobs


def check_job_configs(config: DictConfig, config_loader, parsed: list) -> None:
    """Compose representative jobs as the launchers do and check their values as ``train`` does."""
    from housenet.config import check_training

    for overrides in representative_jobs(parsed):
        shown = " ".join(overrides) or "(no overrides)"
        try:
            job = config_loader.load_sweep_config(config, overrides)
        except Exception as e:  # unknown key or group option, bad type for a schema
            raise SweepSetupError(f"job {shown}: {_line(e)}") from None
        try:
            check_training(job)  # as every stage checks it: optim.lr=-1 fails here, not in each job
        except Exception as e:
            raise SweepSetupError(f"job {shown}: {_line(e)}") from None


def check_data(config: DictConfig) -> None:
    cwd = Path(str(OmegaConf.select(config, "hydra.runtime.cwd", default=None) or os.getcwd()))
    for key in ("arrays", "preprocessor", "source_json"):
        p = Path(str(config.paths[key]))
        p = p if p.is_absolute() else cwd / p
        if not p.is_file():
            raise SweepSetupError(f"{p}: no such file; the jobs train on the prepared data: run "
                                  "`dvc repro preprocess` (or python -m housenet.ingest, "
                                  "then python -m housenet.preprocess)")


def check_ray(config: DictConfig) -> str | None:
    """If the Ray launcher is to join a running cluster, check it answers; returns its address."""
    if launcher_kind(config) != "ray":
        return None
    init = config.hydra.launcher.ray.init
    address = init.get("address") or os.environ.get("RAY_ADDRESS")
    if not address or str(address) == "local":
        return None
    if "object_store_memory" not in init:  # hydra-ray-launcher 1.2.2 sets it, which Ray refuses when joining
        with open_dict(init):
            init["object_store_memory"] = None
    if str(address) == "auto":
        return "auto"
    host, port = _host_port(str(address))
    try:
        with socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S):
            pass
    except OSError as e:
        raise SweepSetupError(f"Ray cluster at {address} is unreachable ({e.strerror or e}); start it "
                              "(ray start --head --port=...) or fix hydra.launcher.ray.init.address") from None
    return str(address)


def _host_port(address: str) -> tuple[str, int]:
    rest = address.split("://", 1)[-1].rstrip("/")
    host, sep, port = rest.rpartition(":")
    if not sep:
        return rest, 10001 if address.startswith("ray://") else 6379
    try:
        return host.strip("[]"), int(port)
    except ValueError:
        raise SweepSetupError(f"Ray address {address!r}: expected host:port or ray://host:port") from None


def _values(o) -> list[str]:
    if o.is_interval_sweep():
        v = o.value()
        return [_num(v.start), _num(v.end)]
    vals = list(o.sweep_string_iterator())
    return [vals[0], vals[-1]] if o.is_range_sweep() and len(vals) > 2 else vals


def _num(x: Any) -> str:
    return str(int(x)) if isinstance(x, int) else repr(float(x))


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x)


def _line(e: BaseException) -> str:
    return " ".join(str(e).split())
