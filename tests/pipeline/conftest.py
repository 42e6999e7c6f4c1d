"""Fixtures for pipeline tests: a copy of the project in a temporary Git repo, and a way to run commands in it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent  # the venv's bin: python, dvc, mlflow

# Small and quick: the real sizes belong in bench/.
FAST = ["training.epochs=8", "training.patience=null", "model.hidden=[16]"]


def project_files() -> list[str]:
    out = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO, capture_output=True,
                         text=True, check=True)
    return [f for f in out.stdout.splitlines() if (REPO / f).is_file()]


def env_for(workdir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.pop("DVC_STAGE", None)
    env.pop("DVC_ROOT", None)
    env.pop("DVC_EXP_NAME", None)
    env["DVC_NO_ANALYTICS"] = "1"
    env["GIT_AUTHOR_NAME"] = env["GIT_COMMITTER_NAME"] = "housenet tests"
    env["GIT_AUTHOR_EMAIL"] = env["GIT_COMMITTER_EMAIL"] = "tests@housenet.invalid"
    return env


def run(cmd: list[str], cwd: Path, check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, cwd=cwd, env=env_for(cwd), capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
    return proc


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the project's files in a fresh Git repository (no DVC cache, no outputs)."""
    dest = tmp_path / "project"
    for f in project_files():
        if f.startswith(("data/raw/", "data/prepared/", "models/")):
            continue
        (dest / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / f, dest / f)
    run(["git", "init", "-q", "-b", "main"], dest)
    run(["git", "add", "-A"], dest)
    run(["git", "commit", "-q", "-m", "copy of housenet"], dest)
    return dest


def set_params(project: Path, *overrides: str) -> None:
    """Edit the project's configuration the supported way: conf/ overrides, then regenerate params.yaml."""
    conf = project / "conf" / "config.yaml"
    import yaml
    from omegaconf import OmegaConf

    cfg = OmegaConf.load(conf)
    for o in overrides:
        key, value = o.split("=", 1)
        OmegaConf.update(cfg, key, yaml.safe_load(value), force_add=True)
    conf.write_text(OmegaConf.to_yaml(cfg))
    run([str(BIN / "python"), "-m", "housenet.params"], project)
