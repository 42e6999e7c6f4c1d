"""What training holds while it runs: numpy's BLAS threads (compute.blas_threads) and only the arrays it reads."""

from __future__ import annotations

import numpy as np
import pytest
import threadpoolctl

from housenet.data.arrays import save_arrays
from housenet.data.errors import DataError
from housenet.train import fit_members, load_training_arrays
from tests.pipeline.test_stages import config


def blas_threads_now() -> int:
    return max(p["num_threads"] for p in threadpoolctl.threadpool_info() if p["user_api"] == "blas")


def tiny_arrays(rng: np.random.Generator) -> dict:
    a = {f"X_{p}": rng.standard_normal((n, 5)) for p, n in (("train", 40), ("val", 10), ("test", 10))}
    a.update({f"y_{p}": rng.standard_normal(len(a[f"X_{p}"])) for p in ("train", "val", "test")})
    return a


@pytest.mark.parametrize("setting", ["1", "null"])
def test_training_runs_blas_with_the_configured_threads(setting):
    outside = blas_threads_now()
    seen = []
    cfg = config("sqlite:///unused.db", f"compute.blas_threads={setting}", "training.epochs=2")
    fit_members(cfg, tiny_arrays(np.random.default_rng(0)), [lambda log: seen.append(blas_threads_now())])
    assert seen == [1, 1] if setting == "1" else seen == [outside, outside]
    assert blas_threads_now() == outside  # restored afterwards


@pytest.mark.parametrize("bad", ["0", "-1", "two", "1.5", "true"])
def test_bad_blas_threads_is_refused_in_one_line(bad):
    cfg = config("sqlite:///unused.db", f"compute.blas_threads={bad}", "training.epochs=1")
    with pytest.raises(ValueError, match="compute.blas_threads must be a positive whole number or null"):
        fit_members(cfg, tiny_arrays(np.random.default_rng(0)))


@pytest.mark.parametrize("folds", [False, True])
def test_training_loads_only_its_arrays_in_the_network_dtype(tmp_path, folds):
    """k-fold members also read the price-unit targets of the pooled rows (out-of-fold metrics), as float64."""
    path = tmp_path / "arrays.npz"
    a = tiny_arrays(np.random.default_rng(1))
    raw = {f"y_{p}_raw": np.exp(a[f"y_{p}"]) for p in ("train", "val", "test")}
    save_arrays(path, {**a, **raw, "train_idx": np.arange(40)})
    cfg = config("sqlite:///unused.db", "model.dtype=float32", f"model.ensemble_folds={str(folds).lower()}")
    arrays = load_training_arrays(path, cfg)
    assert sorted(arrays) == ["X_train", "X_val", "y_train", *(["y_train_raw"] if folds else []), "y_val",
                              *(["y_val_raw"] if folds else [])]
    assert {arrays[k].dtype for k in ("X_train", "X_val", "y_train", "y_val")} == {np.dtype("float32")}
    if folds:
        assert arrays["y_val_raw"].dtype == np.float64 and np.array_equal(arrays["y_val_raw"], raw["y_val_raw"])


def test_a_missing_training_array_is_named(tmp_path):
    path = tmp_path / "arrays.npz"
    save_arrays(path, {k: v for k, v in tiny_arrays(np.random.default_rng(1)).items() if k != "y_val"})
    with pytest.raises(DataError, match=r"arrays.npz: has no array 'y_val'; re-run the preprocess stage"):
        load_training_arrays(path, config("sqlite:///unused.db"))
