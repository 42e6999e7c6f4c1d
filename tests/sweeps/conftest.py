"""Fixtures for sweep tests: a prepared project copy, a real MLflow server, a TCP proxy that can be cut.

Sweeps run as users run them: ``python -m housenet.train -m ...`` in a copy of the project
whose data were prepared by the real ingest and preprocess stages (Windsor, 546 sales),
with tiny networks and two epochs. Runs are counted through ``MlflowClient``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from tests.pipeline.conftest import BIN, REPO, env_for, project_files
from tests.pipeline.conftest import project  # noqa: F401  (the DVC test uses it)

FAST = ["data=windsor", "training.epochs=2", "training.patience=null", "model.hidden=[8]"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def prepared_template(tmp_path_factory) -> Path:
    """The project's files with the prepared Windsor data (ingest + preprocess ran once)."""
    dest = tmp_path_factory.mktemp("sweep-template") / "project"
    for f in project_files():
        if f.startswith(("data/raw/", "data/prepared/", "models/", "multirun/")):
            continue
        (dest / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / f, dest / f)
    for stage in ("ingest", "preprocess"):
        proc = subprocess.run([sys.executable, "-m", f"housenet.{stage}", "data=windsor"], cwd=dest,
                              env=env_for(dest), capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr
    return dest


@pytest.fixture
def sweep_project(prepared_template: Path, tmp_path: Path) -> Path:
    dest = tmp_path / "project"
    shutil.copytree(prepared_template, dest)
    return dest


def sweep(cwd: Path, *overrides: str, check: bool = True, timeout: float = 300,
          fast: list[str] = FAST) -> subprocess.CompletedProcess:
    """``python -m housenet.train -m <fast> overrides...`` in ``cwd``."""
    proc = subprocess.run([sys.executable, "-m", "housenet.train", "-m", *fast, *overrides], cwd=cwd,
                          env=env_for(cwd), capture_output=True, text=True, timeout=timeout)
    if check:
        assert proc.returncode == 0, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    return proc


def sweep_runs(uri: str, experiment: str = "housenet") -> tuple[list, list]:
    """(parent runs, child runs) of an experiment, read back through MlflowClient."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(uri)
    exp = client.get_experiment_by_name(experiment)
    if exp is None:
        return [], []
    runs = client.search_runs([exp.experiment_id], max_results=1000)
    parents = [r for r in runs if r.data.tags.get("sweep.role") == "parent"]
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    return parents, children


def wait_for_http(url: str, timeout: float, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"{proc.args} exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"{url} did not answer within {timeout} s")


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory) -> str:
    """A real ``mlflow server`` on 127.0.0.1 (SQLite backend, local artifacts), shared by the session."""
    d = tmp_path_factory.mktemp("mlflow-server")
    port = free_port()
    log = open(d / "server.log", "w")
    proc = subprocess.Popen([str(BIN / "mlflow"), "server", "--backend-store-uri", f"sqlite:///{d / 'store.db'}",
                             "--default-artifact-root", str(d / "artifacts"), "--host", "127.0.0.1",
                             "--port", str(port), "--workers", "1"], cwd=d, env=env_for(d), stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/health", 120, proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        _stop_group(proc)
        log.close()


def _stop_group(proc: subprocess.Popen, grace: float = 3) -> None:
    """End a process we started in its own session, and everything it started."""
    try:
        os.killpg(proc.pid, 15)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(proc.pid, 9)
    except ProcessLookupError:
        pass
    proc.wait(timeout=30)


class Proxy:
    """A TCP forwarder to 127.0.0.1:<port>; ``cut()`` makes the server behind it 'go away'."""

    def __init__(self, target_port: int):
        self.target = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.socks: list[socket.socket] = []
        self.lock = threading.Lock()
        self.dead = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.dead:
                client.close()
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target), timeout=5)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.socks += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def cut(self) -> None:
        self.dead = True
        try:
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept(); close() alone would not
        except OSError:
            pass
        self.listener.close()
        with self.lock:
            for s in self.socks:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                    s.close()
                except OSError:
                    pass
