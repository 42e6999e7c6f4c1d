"""The model logged by evaluate as an MLflow pyfunc model: loaded in Python, through the registry,
and served by a real `mlflow models serve` on 127.0.0.1, all giving `housenet predict`'s prices."""

from __future__ import annotations

import json
import math
import subprocess
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from housenet.cli import main as cli
from housenet.evaluate import evaluate_and_log
from housenet.ingest import ingest
from housenet.preprocess import preprocess
from housenet.train import train
from tests.pipeline.conftest import BIN, env_for
from tests.pipeline.test_stages import config, housing_like
from tests.sweeps.conftest import _stop_group, free_port, wait_for_http

NAME = "housenet-serve-test"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The stages once, with the model registered under NAME; new rows and their `housenet predict` prices."""
    d = tmp_path_factory.mktemp("serve")
    store = f"sqlite:///{d / 'mlflow.db'}"
    housing_like(300).to_csv(d / "houses.csv", index=False)
    new = housing_like(25, seed=9).drop(columns=["price"])
    new.loc[0, "furnishingstatus"] = "palatial"  # a category never seen in training
    new.loc[1, "area"] = np.nan  # a missing value
    new.loc[2, "airconditioning"] = None
    new.to_csv(d / "new.csv", index=False)
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(d)
        mp.delenv("DVC_STAGE", raising=False)
        cfg = config(store, f"tracking.registered_model_name={NAME}")
        ingest(cfg)
        preprocess(cfg)
        run = train(cfg).run
        result = evaluate_and_log(cfg)
        assert cli(["predict", "--model", cfg.paths.model_dir, "--input", "new.csv", "--output", "expected.csv"]) == 0
    expected = pd.read_csv(d / "expected.csv")["predicted_price"].to_numpy()
    return {"dir": d, "store": store, "cfg": cfg, "run_id": run.run_id, "uri": result.model_uri,
            "new": new, "expected": expected}


def test_evaluate_logs_a_pyfunc_model_from_code_with_signature_and_example(served):
    from mlflow.tracking import MlflowClient

    client = MlflowClient(served["store"])
    assert served["uri"].startswith("models:/m-")
    logged = client.get_logged_model(served["uri"].removeprefix("models:/"))
    assert logged.source_run_id == served["run_id"]
    version = client.get_model_version(NAME, "1")
    assert logged.model_id in version.source and version.run_id == served["run_id"]

    import mlflow

    local = Path(mlflow.artifacts.download_artifacts(artifact_uri=served["uri"], tracking_uri=served["store"],
                                                     dst_path=str(served["dir"] / "download")))
    files = {str(p.relative_to(local)) for p in local.rglob("*") if p.is_file()}
    assert {"MLmodel", "pyfunc_model.py", "input_example.json", "artifacts/model/network.npz",
            "artifacts/model/network.json", "artifacts/model/preprocessor.json"} <= files
    assert not any(f.endswith((".pkl", ".pickle")) for f in files)  # the network is .npz + JSON, no pickle
    meta = mlflow.models.Model.load(str(local / "MLmodel"))
    inputs = {c.name: (c.type.name, c.required) for c in meta.signature.inputs.inputs}
    assert inputs == {"area": ("double", False), "bedrooms": ("double", False),
                      "airconditioning": ("string", False), "furnishingstatus": ("string", False)}
    assert [c.name for c in meta.signature.outputs.inputs] == ["predicted_price"]
    example = json.loads((local / "input_example.json").read_text())
    assert example["columns"] == ["area", "bedrooms", "airconditioning", "furnishingstatus"]
    assert len(example["data"]) == 5


@pytest.mark.parametrize("which", ["logged", "registered"])
def test_pyfunc_load_model_predicts_what_housenet_predict_does(served, which):
    import mlflow

    uri = served["uri"] if which == "logged" else f"models:/{NAME}/1"
    mlflow.set_tracking_uri(served["store"])
    model = mlflow.pyfunc.load_model(uri)
    df = served["new"].astype({"area": "float64", "bedrooms": "float64"})  # MLflow refuses int64 -> double
    out = model.predict(df)
    assert list(out.columns) == ["predicted_price"]
    np.testing.assert_allclose(out["predicted_price"].to_numpy(), served["expected"], rtol=1e-12)


def test_housenet_predict_reads_the_registered_model(served, tmp_path):
    d = served["dir"]
    assert cli(["predict", "--model", f"models:/{NAME}/1", "--tracking-uri", served["store"],
                "--input", str(d / "new.csv"), "--output", str(tmp_path / "out.csv")]) == 0
    assert (tmp_path / "out.csv").read_bytes() == (d / "expected.csv").read_bytes()


@pytest.mark.slow
def test_mlflow_models_serve_answers_with_the_same_prices(served):
    d, port = served["dir"], free_port()
    env = env_for(d)
    env["MLFLOW_TRACKING_URI"] = served["store"]
    log = open(d / "serve.log", "w")
    proc = subprocess.Popen([str(BIN / "mlflow"), "models", "serve", "-m", f"models:/{NAME}/1", "--env-manager",
                             "local", "--host", "127.0.0.1", "--port", str(port)], cwd=d, env=env,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/ping", 120, proc)
        new = served["new"]
        rows = [[None if isinstance(v, float) and math.isnan(v) else v for v in row]
                for row in new.astype(object).itertuples(index=False)]
        body = json.dumps({"dataframe_split": {"columns": list(new.columns), "data": rows}}).encode()
        request = urllib.request.Request(f"http://127.0.0.1:{port}/invocations", data=body,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as r:
            answer = json.loads(r.read())
    finally:
        _stop_group(proc)
        log.close()
    prices = [p["predicted_price"] for p in answer["predictions"]]
    np.testing.assert_allclose(prices, served["expected"], rtol=1e-9)
