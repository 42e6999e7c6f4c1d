"""Save and load without pickle; a loaded network predicts bit-identically."""

import json
import subprocess
import sys

import numpy as np
import pytest

from housenet.nn import MLP, MLPConfig, TrainConfig, fit, load, save
from housenet.nn.checkpoint import CONFIG_FILE, WEIGHTS_FILE, load_metadata


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_round_trip_is_bit_identical(tmp_path, dtype):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(50, 4)), rng.normal(size=50)
    net = MLP(MLPConfig(n_inputs=4, hidden=(6, 3), activation="tanh", dtype=dtype), seed=1)
    fit(net, X, y, TrainConfig(epochs=2, batch_size=8))
    save(net, tmp_path / "model", metadata={"epochs": 2})
    loaded = load(tmp_path / "model")
    assert loaded.config == net.config
    assert loaded.params.tobytes() == net.params.tobytes()
    assert loaded.predict(X).tobytes() == net.predict(X).tobytes()
    assert load_metadata(tmp_path / "model") == {"epochs": 2}
    doc = json.loads((tmp_path / "model" / CONFIG_FILE).read_text())
    assert doc["config"]["hidden"] == [6, 3] and doc["config"]["dtype"] == dtype
    assert sorted(p.name for p in (tmp_path / "model").iterdir()) == [CONFIG_FILE, WEIGHTS_FILE]


def test_round_trip_with_skip_connection(tmp_path):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 3)), rng.normal(size=40)
    net = MLP(MLPConfig(n_inputs=3, hidden=(4,), skip=True), seed=2)
    fit(net, X, y, TrainConfig(epochs=2, batch_size=8))
    assert np.abs(net.skip_weight).max() > 0
    save(net, tmp_path / "model")
    loaded = load(tmp_path / "model")
    assert loaded.config.skip and loaded.params.tobytes() == net.params.tobytes()
    assert loaded.predict(X).tobytes() == net.predict(X).tobytes()
    with np.load(tmp_path / "model" / WEIGHTS_FILE, allow_pickle=False) as arrays:
        assert arrays["skip.weight"].shape == (3, 1)


def test_arrays_load_without_pickle(tmp_path):
    net = MLP(MLPConfig(n_inputs=2, hidden=(3,)), seed=0)
    save(net, tmp_path)
    with np.load(tmp_path / WEIGHTS_FILE, allow_pickle=False) as z:
        assert sorted(z.files) == ["layers.0.bias", "layers.0.weight", "layers.1.bias", "layers.1.weight"]
        assert all(z[k].dtype == np.float64 for k in z.files)


def test_refuses_to_save_a_nan_network(tmp_path):
    net = MLP(MLPConfig(n_inputs=2, hidden=(3,)), seed=0)
    net.params[0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        save(net, tmp_path / "m")
    assert not (tmp_path / "m").exists() or not any((tmp_path / "m").iterdir())


def test_mismatched_arrays_are_refused(tmp_path):
    save(MLP(MLPConfig(n_inputs=2, hidden=(3,)), seed=0), tmp_path)
    doc = json.loads((tmp_path / CONFIG_FILE).read_text())
    doc["config"]["hidden"] = [4]
    (tmp_path / CONFIG_FILE).write_text(json.dumps(doc))
    with pytest.raises(ValueError, match="layers.0.weight"):
        load(tmp_path)


def test_missing_files_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match=CONFIG_FILE):
        load(tmp_path)


def test_nn_imports_nothing_but_numpy_and_the_standard_library():
    code = (
        "import sys; import housenet.nn; "
        "bad = sorted({m.split('.')[0] for m in sys.modules} & "
        "{'pandas','hydra','omegaconf','mlflow','dvc','torch','sklearn','scipy','matplotlib'}); "
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
