"""Two sweeps started at the same moment against one MLflow store lose no run and share no job folder.

Here rather than in tests/reliability/ because it uses this folder's session fixtures (the
prepared project, the MLflow server); a second copy of them would start a second server.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.pipeline.conftest import env_for
from tests.sweeps.conftest import FAST, sweep_runs

pytestmark = pytest.mark.slow

GRIDS = (["optim.lr=1e-3,2e-3"], ["optim.lr=3e-3,4e-3"])


def two_sweeps(project: Path, *overrides: str) -> list[tuple[int, str]]:
    """Start both sweeps, then wait for both; (exit status, stdout + stderr) of each."""
    procs = [subprocess.Popen([sys.executable, "-m", "housenet.train", "-m", *FAST, *grid, *overrides], cwd=project,
                              env=env_for(project), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for grid in GRIDS]
    return [(p.returncode, out) for p, out in ((p, p.communicate(timeout=300)[0]) for p in procs)]


def check_both(uri: str, experiment: str, results: list[tuple[int, str]]) -> None:
    for code, out in results:
        assert code == 0, out
        assert "database is locked" not in out and "duplicate column" not in out, out
        assert "2 jobs, 2 finished, 0 failed" in out, out
    parents, children = sweep_runs(uri, experiment)
    assert len(parents) == 2 and len(children) == 4, "no run lost"
    assert {r.info.status for r in parents + children} == {"FINISHED"}
    for parent in parents:
        mine = [c for c in children if c.data.tags["mlflow.parentRunId"] == parent.info.run_id]
        assert sorted(int(c.data.tags["sweep.job"]) for c in mine) == [0, 1]
        assert {Path(c.data.tags["sweep.job_dir"]).parent for c in mine} == {Path(parent.data.tags["sweep.dir"])}
    lrs = sorted(float(c.data.params["optim.lr"]) for c in children)
    assert lrs == [1e-3, 2e-3, 3e-3, 4e-3]
    dirs = {p.data.tags["sweep.dir"] for p in parents}
    assert len(dirs) == 2, "each sweep has its own job folders, even when both start in the same second"


def test_two_sweeps_at_once_on_a_fresh_default_sqlite_store(sweep_project):
    assert not (sweep_project / "mlflow.db").exists()
    results = two_sweeps(sweep_project)  # the default tracking.uri: sqlite:///<project>/mlflow.db
    check_both(f"sqlite:///{sweep_project / 'mlflow.db'}", "housenet", results)


def test_two_sweeps_at_once_on_one_tracking_server(sweep_project, mlflow_server):
    results = two_sweeps(sweep_project, f"tracking.uri={mlflow_server}", "tracking.experiment=two-at-once")
    check_both(mlflow_server, "two-at-once", results)
    assert not (sweep_project / "mlflow.db").exists()
