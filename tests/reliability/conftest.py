"""Fixtures for the reliability tests: a small project folder, the stages run as users run them.

A "project" here is a temporary folder with a copy of conf/ and a small CSV: the stages find
their configuration there (housenet.config.project_root) and write data/, models/ and
reports/ into it. An MLflow store is created once per session and copied into each project
that needs one (a fresh SQLite store costs 2-7 s of migrations).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import housenet.evaluate  # noqa: F401  the stages' Hydra config path is fixed at import: import them here, in
import housenet.ingest  # noqa: F401  the repository, not first inside some test's project folder
import housenet.preprocess  # noqa: F401
import housenet.train  # noqa: F401
from tests.pipeline.conftest import REPO, env_for
from tests.pipeline.test_stages import housing_like


def stage(name: str, cwd: Path, *overrides: str, check: bool = True) -> subprocess.CompletedProcess:
    """``python -m housenet.<name> overrides...`` in ``cwd`` (no shell: every override is one argument)."""
    proc = subprocess.run([sys.executable, "-m", f"housenet.{name}", *overrides], cwd=cwd, env=env_for(cwd),
                          capture_output=True, text=True, timeout=300)
    if check:
        assert proc.returncode == 0, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    return proc


def error_line(proc: subprocess.CompletedProcess, name: str) -> str:
    """The one line a failed stage printed on stderr besides training progress (asserts there is exactly one,
    and the exit status 1)."""
    lines = [line for line in proc.stderr.splitlines() if line.strip() and not re.match(r"(network \d+/\d+: )?epoch \d+/\d+ ", line)]
    assert proc.returncode == 1, proc.stderr
    assert len(lines) == 1 and lines[0].startswith(f"housenet.{name}: error: "), proc.stderr
    return lines[0]


def files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A folder with conf/ and houses.csv (200 sales shaped like Housing.csv)."""
    dest = tmp_path / "project"
    shutil.copytree(REPO / "conf", dest / "conf")
    housing_like(200).to_csv(dest / "houses.csv", index=False)
    return dest


def csv_overrides(project: Path, path: str = "houses.csv") -> list[str]:
    return ["data=csv", f"data.path={path}", "data.target=price", f"tracking.uri=sqlite:///{project}/mlflow.db",
            "training.epochs=4", "training.patience=null", "model.hidden=[8]"]


@pytest.fixture(scope="session")
def store_template(tmp_path_factory) -> Path:
    """An empty MLflow SQLite store (its tables made once). No experiment: the stage that creates one sets
    its artifact folder to <its working directory>/mlruns, which must be the test's project, not this one."""
    from housenet import tracking

    folder = tmp_path_factory.mktemp("store")
    db = folder / "mlflow.db"
    cwd = os.getcwd()
    os.chdir(folder)  # MLflow's Default experiment points its artifacts at ./mlruns
    try:
        tracking.client_for(f"sqlite:///{db}")
    finally:
        os.chdir(cwd)
    return db


@pytest.fixture
def store(project: Path, store_template: Path) -> str:
    """The project's MLflow store (a copy of the template) as a URI."""
    shutil.copyfile(store_template, project / "mlflow.db")
    return f"sqlite:///{project}/mlflow.db"


@pytest.fixture
def keep_signals():
    """run_stage installs a SIGTERM handler; give pytest its own back after an in-process stage."""
    old = signal.getsignal(signal.SIGTERM)
    yield
    signal.signal(signal.SIGTERM, old)


@pytest.fixture
def in_project(project: Path, monkeypatch, keep_signals) -> Path:
    """The project as the working directory, for stages run in this process (``run_here``)."""
    monkeypatch.chdir(project)
    monkeypatch.delenv("DVC_STAGE", raising=False)
    monkeypatch.setenv("HYDRA_FULL_ERROR", "1")  # launch() sets it; monkeypatch restores it
    return project


def run_here(name: str, *overrides: str) -> int:
    """``python -m housenet.<name> overrides...`` in this process (Hydra's parsing and composition, run_stage):
    its exit status. Cheaper than a subprocess by the interpreter's and the imports' start-up; use in_project."""
    import importlib

    from housenet.stage import launch

    old = sys.argv
    sys.argv = [f"{name}.py", *overrides]
    try:
        launch(name, importlib.import_module(f"housenet.{name}").main)
    except SystemExit as e:
        return int(e.code or 0)
    finally:
        sys.argv = old
    return 0
