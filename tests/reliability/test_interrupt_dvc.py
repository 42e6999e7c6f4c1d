"""Ctrl-C during `dvc repro`'s training: the run ends KILLED, dvc.lock keeps the earlier stages only,
no model is left, and the next `dvc repro` trains cleanly (with a small CSV, so it is quick)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess

import pytest
import yaml

from tests.pipeline.conftest import BIN, env_for, run, set_params
from tests.pipeline.conftest import project as dvc_project  # noqa: F401  (a fixture: the project in a Git repo)
from tests.pipeline.test_stages import housing_like

pytestmark = pytest.mark.slow

DVC = str(BIN / "dvc")


def test_ctrl_c_in_dvc_repro_then_the_next_repro_trains_cleanly(dvc_project, store_template):
    project = dvc_project
    shutil.copyfile(store_template, project / "mlflow.db")  # skips 2-7 s of table creation
    from mlflow.tracking import MlflowClient

    (project / "data" / "external").mkdir(parents=True, exist_ok=True)
    housing_like(200).to_csv(project / "data" / "external" / "houses.csv", index=False)
    set_params(project, "data.source=csv", "data.name=csv", "data.path=data/external/houses.csv",
               "data.target=price", "data.package=null", "data.dataset=null", "data.exclude_above=null",
               "training.epochs=100000", "training.patience=null", "model.hidden=[8]",
               f"tracking.uri=sqlite:///{project}/mlflow.db")
    train_before = yaml.safe_load((project / "dvc.lock").read_text())["stages"]["train"]  # the committed one
    proc = subprocess.Popen([DVC, "repro"], cwd=project, env=env_for(project), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    seen = []
    for line in proc.stdout:  # until training is under way
        seen.append(line)
        if "epoch 1/" in line:
            break
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in the terminal does: the whole foreground group
    out = "".join(seen) + proc.communicate(timeout=120)[0]
    assert proc.returncode != 0, out
    assert "housenet.train: interrupted; nothing was written" in out, out
    lock = yaml.safe_load((project / "dvc.lock").read_text())["stages"]
    assert lock["train"] == train_before, "the interrupted training is not recorded"
    assert lock["preprocess"]["outs"] != [], "the stages before it are"
    assert not (project / "models" / "model").exists()
    client = MlflowClient(f"sqlite:///{project}/mlflow.db")
    exp = client.get_experiment_by_name("housenet").experiment_id
    assert [r.info.status for r in client.search_runs([exp])] == ["KILLED"]

    set_params(project, "training.epochs=3")
    again = run([DVC, "repro"], project).stdout
    assert [s for s in ("ingest", "preprocess", "train", "evaluate") if f"Running stage '{s}'" in again] == \
        ["train", "evaluate"], again
    assert (project / "models" / "model" / "network.npz").is_file()
    assert sorted(r.info.status for r in client.search_runs([exp])) == ["FINISHED", "KILLED"]
