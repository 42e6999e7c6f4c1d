"""The same sweep on a Ray cluster: a real local head (``ray start --head``), every run on one MLflow server.

Needs the ``cluster`` extra (``pip install -e .[cluster]``; ``make test`` installs it).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from tests.pipeline.conftest import BIN, env_for
from tests.sweeps.conftest import _stop_group, free_port, sweep, sweep_runs

pytest.importorskip("ray", reason="Ray is in the cluster extra: pip install -e .[cluster]")
pytest.importorskip("hydra_plugins.hydra_ray_launcher")
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def ray_head(tmp_path_factory):
    """A one-node Ray cluster started for this module, in its own session, and ended by its process group."""
    temp = tempfile.mkdtemp(prefix="hnray", dir="/tmp")  # Ray's socket paths must stay short
    log_path = tmp_path_factory.mktemp("ray") / "ray.log"
    port, client_port, agent_port = free_port(), free_port(), free_port()
    cmd = [str(BIN / "ray"), "start", "--head", "--block", "--node-ip-address=127.0.0.1", f"--port={port}",
           "--num-cpus=2", "--include-dashboard=false", "--disable-usage-stats", f"--temp-dir={temp}",
           f"--ray-client-server-port={client_port}", f"--dashboard-agent-listen-port={agent_port}"]
    log = open(log_path, "w")
    env = env_for(Path(temp))
    env.pop("RAY_ADDRESS", None)
    proc = subprocess.Popen(cmd, cwd=temp, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while "Ray runtime started" not in log_path.read_text():
            assert proc.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.5)
        yield f"127.0.0.1:{port}"
    finally:
        _stop_group(proc)
        log.close()
        shutil.rmtree(temp, ignore_errors=True)


def test_a_sweep_on_a_ray_cluster_reaches_one_mlflow_server(sweep_project, ray_head, mlflow_server):
    proc = sweep(sweep_project, "optim.lr=1e-3,1e-2", "model.hidden=[8],[16]", "hydra/launcher=ray",
                 f"hydra.launcher.ray.init.address={ray_head}", f"tracking.uri={mlflow_server}",
                 "tracking.experiment=on-ray")
    assert "4 jobs, 4 finished, 0 failed" in proc.stdout, proc.stdout + proc.stderr
    parents, children = sweep_runs(mlflow_server, "on-ray")
    assert len(parents) == 1 and len(children) == 4
    parent = parents[0]
    assert parent.info.status == "FINISHED" and parent.data.tags["sweep.launcher"] == "ray"
    assert parent.data.tags["sweep.ray_address"] == ray_head
    assert all(c.info.status == "FINISHED" and c.data.tags["mlflow.parentRunId"] == parent.info.run_id
               for c in children)
    # the jobs ran in Ray's worker processes, not in the process that started the sweep
    sweep_dir = Path(parent.data.tags["sweep.dir"])
    jobs = [json.loads((sweep_dir / str(i) / "job.json").read_text()) for i in range(4)]
    assert {j["run_id"] for j in jobs} == {c.info.run_id for c in children}
    assert all(j["pid"] != int(parent.data.tags["sweep.pid"]) for j in jobs)
    assert not (sweep_project / "mlflow.db").exists()
