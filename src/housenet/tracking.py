"""MLflow tracking through ``MlflowClient`` (no fluent global run state).

``import mlflow`` costs 1.5-3 s, so it happens only when a run is opened.
Per-epoch metrics are buffered and sent with ``log_batch`` every
``tracking.log_every`` epochs, at most once per 10 s: one database commit per batch, not per epoch.

Parallel writers (sweep jobs) share one store: every client call that meets a
locked SQLite database is retried with backoff (``RetryingClient``), and a
sweep creates the store and its experiment once, before any job starts
(``prepare_store``), and any process opening an SQLite store holds ``<db>.lock``
meanwhile: concurrent first use of a fresh SQLite file (two sweeps started together)
breaks its migrations.
"""

from __future__ import annotations

import json
import math
import random
import subprocess
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

PARENT_TAG = "mlflow.parentRunId"
MAX_PARAM_LENGTH = 6000


@dataclass
class Run:
    """An open MLflow run: its client, ids and the metrics waiting to be sent."""

    client: Any
    run_id: str
    experiment_id: str
    tracking_uri: str
    _pending: list = field(default_factory=list)

    def log_params(self, params: dict[str, Any], tags: dict[str, Any] | None = None) -> None:
        """Params (and tags) in as few ``log_batch`` calls as MLflow allows (100 params each)."""
        from mlflow.entities import Param, RunTag

        items = [Param(k, _param_value(v)) for k, v in sorted(params.items())]
        tag_items = [RunTag(k, str(v)) for k, v in (tags or {}).items()]
        if tag_items and not items:
            self.client.log_batch(self.run_id, tags=tag_items)
        for i in range(0, len(items), 100):  # MLflow accepts at most 100 params a batch
            self.client.log_batch(self.run_id, params=items[i : i + 100], tags=tag_items if i == 0 else [])

    def set_tags(self, tags: dict[str, Any]) -> None:
        from mlflow.entities import RunTag

        self.client.log_batch(self.run_id, tags=[RunTag(k, str(v)) for k, v in tags.items()])

    def log_metric(self, key: str, value: float, step: int = 0) -> None:
        """Buffer one point; ``flush`` sends the buffer."""
        from mlflow.entities import Metric

        if value is not None and math.isfinite(value):
            self._pending.append(Metric(key, float(value), int(time.time() * 1000), step))

    def log_metrics(self, metrics: dict[str, float], step: int = 0) -> None:
        for k, v in metrics.items():
            self.log_metric(k, v, step)
        self.flush()

    def flush(self) -> None:
        while self._pending:
            chunk, self._pending = self._pending[:1000], self._pending[1000:]
            self.client.log_batch(self.run_id, metrics=chunk)

    def log_artifacts(self, paths: list[Path], artifact_path: str | None = None) -> None:
        for p in paths:
            p = Path(p)
            if p.is_dir():
                self.client.log_artifacts(self.run_id, str(p), artifact_path=_join(artifact_path, p.name))
            elif p.is_file():
                self.client.log_artifact(self.run_id, str(p), artifact_path=artifact_path)

    def to_dict(self) -> dict[str, str]:
        return {"run_id": self.run_id, "experiment_id": self.experiment_id, "tracking_uri": self.tracking_uri}


def _join(a: str | None, b: str) -> str:
    return f"{a}/{b}" if a else b


def _param_value(v: Any) -> str:
    s = json.dumps(v) if isinstance(v, (list, dict)) else str(v)
    return s[:MAX_PARAM_LENGTH]


def client_for(uri: str, timeout_s: float = 10.0):
    """An ``MlflowClient`` for ``uri`` that retries locked-database errors; a server must answer in time."""
    import os

    if uri.startswith(("http://", "https://")):
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", str(int(timeout_s)))
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "1")  # a lost server: ~3 s per call, not ~7
        _check_server(uri, timeout_s)
    from mlflow.tracking import MlflowClient

    with _sqlite_init_lock(uri):
        return RetryingClient(MlflowClient(tracking_uri=uri))


@contextmanager
def _sqlite_init_lock(uri: str) -> Iterator[None]:
    """Hold an exclusive lock on ``<db>.lock`` while a client opens an SQLite store.

    Opening a store that does not exist yet creates its tables (several seconds of
    migrations); two processes doing it at once (two sweeps or stages started together)
    collide ("duplicate column name"). The lock makes the first one create the store and
    the others open it once it is complete. Other URIs: no lock.
    """
    if not uri.startswith("sqlite:///"):
        yield
        return
    import fcntl

    lock = Path(uri[len("sqlite:///"):].split("?", 1)[0] + ".lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


class RetryingClient:
    """An ``MlflowClient`` whose calls are retried, with jittered exponential backoff, while the
    database is locked by another writer (SQLite; also a server's SQLite). Other errors pass through.

    A locked write is rolled back by MLflow, so running it again cannot duplicate it.
    """

    def __init__(self, client, deadline_s: float = 120.0):
        self._client, self._deadline_s = client, deadline_s
        self.retries = 0  # how many calls met a locked database (for tests and benchmarks)

    def __getattr__(self, name: str):
        if name.startswith("__") or name in ("_client", "_deadline_s"):  # e.g. while unpickling
            raise AttributeError(name)
        attr = getattr(self._client, name)
        if not callable(attr):
            return attr

        def call(*args, **kwargs):
            give_up = time.monotonic() + self._deadline_s
            delay = 0.02
            while True:
                try:
                    return attr(*args, **kwargs)
                except Exception as e:
                    if not is_locked(e) or time.monotonic() + delay > give_up:
                        raise
                    self.retries += 1
                    time.sleep(delay * (0.5 + random.random()))
                    delay = min(delay * 2, 2.0)

        return call


def is_locked(e: BaseException) -> bool:
    """A 'database is locked' error (sqlite3, SQLAlchemy or MLflow's wrapping of either, or via REST)."""
    seen = 0
    while e is not None and seen < 10:
        text = str(e).lower()
        if "database is locked" in text or "database table is locked" in text or "database is busy" in text:
            return True
        e, seen = e.__cause__ or e.__context__, seen + 1
    return False


def _check_server(uri: str, timeout_s: float) -> None:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(uri.rstrip("/") + "/health", timeout=timeout_s) as r:
            r.read()
    except (urllib.error.URLError, OSError) as e:
        raise ConnectionError(f"MLflow tracking server {uri} is unreachable ({e}); start it or set tracking.uri") from e


def experiment_id(client, name: str) -> str:
    """The id of experiment ``name``, creating it (tolerating a concurrent creator)."""
    exp = client.get_experiment_by_name(name)
    if exp is not None:
        return exp.experiment_id
    try:
        return client.create_experiment(name)
    except Exception:  # another process created it between the two calls
        exp = client.get_experiment_by_name(name)
        if exp is None:
            raise
        return exp.experiment_id


def start_run(uri: str, experiment: str, run_name: str | None = None, tags: dict[str, str] | None = None) -> Run:
    client = client_for(uri)
    exp_id = experiment_id(client, experiment)
    run = client.create_run(exp_id, run_name=run_name, tags=tags or {})
    return Run(client, run.info.run_id, exp_id, uri)


def open_run(uri: str, exp_id: str, run_name: str | None = None, tags: dict[str, str] | None = None) -> Run:
    """A new run in an experiment that already exists (one write: no look-up, no creation race)."""
    client = client_for(uri)
    run = client.create_run(exp_id, run_name=run_name, tags=tags or {})
    return Run(client, run.info.run_id, exp_id, uri)


def prepare_store(uri: str, experiment: str) -> tuple[Any, str]:
    """Create the store (a fresh SQLite file runs its migrations now) and the experiment, once.

    Returns the client and the experiment id. Call it before parallel writers start.
    """
    client = client_for(uri)
    return client, experiment_id(client, experiment)


def reopen_run(info: dict[str, str]) -> Run:
    """The run recorded by ``Run.to_dict`` (e.g. train's run, reopened by evaluate)."""
    client = client_for(info["tracking_uri"])
    return Run(client, info["run_id"], info["experiment_id"], info["tracking_uri"])


@contextmanager
def run_status(run: Run) -> Iterator[Run]:
    """End ``run`` FINISHED on success, KILLED on Ctrl-C or SIGTERM, FAILED on any other error."""
    try:
        yield run
    except KeyboardInterrupt:
        _terminate(run, "KILLED")
        raise
    except BaseException:
        _terminate(run, "FAILED")
        raise
    else:
        run.flush()
        run.client.set_terminated(run.run_id, "FINISHED")


def _terminate(run: Run, status: str) -> None:
    try:
        run.flush()
    finally:
        run.client.set_terminated(run.run_id, status)


def git_commit(cwd: Path | None = None) -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


class EpochMetrics:
    """A fit() callback that buffers train_loss/val_loss per epoch and flushes every ``every`` epochs,
    but not sooner than ``min_seconds`` after the last flush (the run's end flushes the rest).

    A flush is one ``log_batch``, a database commit. On a fit whose epochs take milliseconds
    (Ames) one every 50 epochs cost more than issue 6's budget of 5% of the training time; at
    most one per ``min_seconds`` bounds it whatever the epoch time, and the MLflow UI still
    follows a long training (docs/benchmarks/pipeline.md).
    """

    def __init__(self, run: Run, every: int = 50, prefix: str = "", min_seconds: float = 10.0):
        self.run, self.every, self.prefix = run, max(1, int(every)), prefix
        self.min_seconds, self.last_flush = float(min_seconds), time.monotonic()

    def __call__(self, log) -> None:
        p = self.prefix
        self.run.log_metric(p + "train_loss", log.train_loss, log.epoch)
        if log.val_loss is not None:
            self.run.log_metric(p + "val_loss", log.val_loss, log.epoch)
        self.run.log_metric(p + "lr", log.lr, log.epoch)
        if log.epoch % self.every == 0 and time.monotonic() - self.last_flush >= self.min_seconds:
            self.run.flush()
            self.last_flush = time.monotonic()
