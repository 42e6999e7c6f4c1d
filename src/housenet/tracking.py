"""MLflow tracking through ``MlflowClient`` (no fluent global run state).

``import mlflow`` costs 1.5-3 s, so it happens only when a run is opened.
Per-epoch metrics are buffered and sent with ``log_batch`` every
``tracking.log_every`` epochs: one database commit per batch, not per epoch.
"""

from __future__ import annotations

import json
import math
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

    def log_params(self, params: dict[str, Any]) -> None:
        from mlflow.entities import Param

        items = [Param(k, _param_value(v)) for k, v in sorted(params.items())]
        for i in range(0, len(items), 100):  # MLflow accepts at most 100 params a batch
            self.client.log_batch(self.run_id, params=items[i : i + 100])

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
    """An ``MlflowClient`` for ``uri``; an http(s) server must answer within the timeout."""
    import os

    if uri.startswith(("http://", "https://")):
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", str(int(timeout_s)))
        _check_server(uri, timeout_s)
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=uri)


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
    """A fit() callback that buffers train_loss/val_loss per epoch and flushes every ``every`` epochs."""

    def __init__(self, run: Run, every: int = 50):
        self.run, self.every = run, max(1, int(every))

    def __call__(self, log) -> None:
        self.run.log_metric("train_loss", log.train_loss, log.epoch)
        if log.val_loss is not None:
            self.run.log_metric("val_loss", log.val_loss, log.epoch)
        self.run.log_metric("lr", log.lr, log.epoch)
        if log.epoch % self.every == 0:
            self.run.flush()
