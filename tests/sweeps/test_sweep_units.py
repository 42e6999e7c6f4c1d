"""The sweep's parts in one process: layer sizes, locked-database retries, override sampling, the table,
plus many processes writing one SQLite store through ``housenet.tracking`` at once."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hydra.core.override_parser.overrides_parser import OverridesParser

from housenet import tracking
from housenet.sweep import FAILED_OBJECTIVE, hidden_layers
from housenet.sweep.summary import JobRow, counts, format_table, rank
from housenet.sweep.validate import SweepSetupError, _host_port, representative_jobs
from tests.pipeline.conftest import env_for


def test_hidden_layers_halve_from_the_width():
    assert hidden_layers(128, 2) == [128, 64]
    assert hidden_layers(16, 3) == [16, 8, 4]
    assert hidden_layers(5, 3) == [5, 4, 4]
    with pytest.raises(ValueError, match="positive"):
        hidden_layers(0, 2)


class Flaky:
    """A stand-in for MlflowClient whose calls fail ``fails`` times first."""

    def __init__(self, fails: int, error: Exception):
        self.fails, self.error, self.calls = fails, error, 0

    def create_run(self, exp_id):
        self.calls += 1
        if self.calls <= self.fails:
            raise self.error
        return f"run in {exp_id}"


def locked() -> Exception:
    """What MLflow raises for a locked SQLite file: its wrapper around SQLAlchemy's around sqlite3's."""
    e = RuntimeError("(sqlite3.OperationalError) database is locked")
    e.__cause__ = sqlite3.OperationalError("database is locked")
    return e


def test_locked_database_calls_are_retried_until_they_succeed():
    client = tracking.RetryingClient(Flaky(3, locked()))
    assert client.create_run("7") == "run in 7"
    assert client.retries == 3 and client._client.calls == 4


def test_other_errors_are_not_retried_and_retries_give_up_at_the_deadline():
    client = tracking.RetryingClient(Flaky(1, ValueError("no such experiment")))
    with pytest.raises(ValueError):
        client.create_run("7")
    assert client._client.calls == 1
    stuck = tracking.RetryingClient(Flaky(10**9, locked()), deadline_s=0.3)
    with pytest.raises(RuntimeError, match="database is locked"):
        stuck.create_run("7")
    assert 1 <= stuck.retries < 30


def test_is_locked_follows_the_cause_chain():
    wrapped = RuntimeError("store error")
    wrapped.__cause__ = sqlite3.OperationalError("database is locked")
    assert tracking.is_locked(wrapped) and not tracking.is_locked(ValueError("bad value"))


def test_representative_jobs_cover_every_value_and_both_ends_of_ranges():
    parsed = OverridesParser.create().parse_overrides(
        ["optim.lr=1e-3,3e-3,1e-2", "training.batch_size=range(8,100,8)", "seed=1", "optim.wd=interval(0.1,0.5)"])
    jobs = representative_jobs(parsed)
    assert jobs[0] == ["optim.lr=0.001", "training.batch_size=8", "seed=1", "optim.wd=0.1"]
    flat = {o for job in jobs for o in job}
    assert {"optim.lr=0.003", "optim.lr=0.01", "training.batch_size=96", "optim.wd=0.5"} <= flat
    assert len(jobs) == 5


def test_ray_addresses():
    assert _host_port("127.0.0.1:6380") == ("127.0.0.1", 6380)
    assert _host_port("ray://head.example:10001") == ("head.example", 10001)
    assert _host_port("head.example") == ("head.example", 6379)
    with pytest.raises(SweepSetupError):
        _host_port("head:port")


def test_the_table_puts_the_best_first_and_failures_last():
    rows = rank([
        JobRow("a" * 32, 0, "FINISHED", "optim.lr=0.1 seed=1", {"val_rmse": 30000.0, "val_r2": 0.8, "test_r2": 0.7}),
        JobRow("b" * 32, 1, "FAILED", "optim.lr=10 seed=1", {}, "training diverged at epoch 2"),
        JobRow("c" * 32, 2, "FINISHED", "optim.lr=0.01 seed=1", {"val_rmse": 20000.0, "val_r2": 0.9, "test_r2": 0.6}),
        JobRow("d" * 32, 3, "RUNNING", "optim.lr=0.001 seed=1", {}),
    ])
    assert [r.job for r in rows] == [2, 0, 1, 3]
    assert counts(rows) == {"jobs": 4, "finished": 2, "failed": 1, "unfinished": 1}
    lines = format_table(rows).splitlines()
    assert lines[1].split()[:4] == ["1", "2", "FINISHED", "20,000"]
    assert "seed=1" not in lines[1] and "optim.lr=0.01" in lines[1]  # only what differs between jobs
    assert "(training diverged at epoch 2)" in lines[3]
    assert FAILED_OBJECTIVE > 1e9  # worse than any real RMSE, and finite


WRITER = textwrap.dedent("""
    import sys
    from housenet import tracking
    uri, exp_id, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    for i in range(n):
        run = tracking.open_run(uri, exp_id, tags={"writer": sys.argv[4]})
        with tracking.run_status(run):
            run.log_params({f"p{k}": k for k in range(40)})
            for e in range(300):
                run.log_metric("loss", 1.0 / (e + 1), e)
            run.log_metrics({"val_rmse": float(i)})
    print("retries", run.client.retries)
""")


@pytest.mark.slow
def test_parallel_writers_on_one_sqlite_store_lose_nothing(tmp_path: Path):
    uri = f"sqlite:///{tmp_path / 'store.db'}"
    client, exp_id = tracking.prepare_store(uri, "stress")  # once, before the writers, as a sweep does
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, uri, exp_id, "3", str(w)], cwd=tmp_path,
                              env=env_for(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for w in range(4)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], outs
    assert not any("database is locked" in err for _, err in outs)
    runs = client.search_runs([exp_id], max_results=1000)
    assert len(runs) == 12 and {r.info.status for r in runs} == {"FINISHED"}
    assert all(len(client.get_metric_history(r.info.run_id, "loss")) == 300 for r in runs[:4])
