"""load_stacked: arrays of an .npz read straight into one stacked array (k-fold training's pool)."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest

import housenet.data.arrays as arrays_mod
from housenet.data.arrays import load_arrays, load_stacked, save_arrays
from housenet.data.errors import DataError


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("chunk_bytes", [None, 7 * 8])  # the default, and a chunk of a few rows that divides nothing
def test_load_stacked_is_concatenate_then_astype(tmp_path, monkeypatch, dtype, chunk_bytes):
    rng = np.random.default_rng(0)
    parts = {"X_train": rng.standard_normal((23, 3)), "X_val": rng.standard_normal((5, 3)), "y": rng.standard_normal(4)}
    save_arrays(tmp_path / "a.npz", parts)
    if chunk_bytes:
        monkeypatch.setattr(arrays_mod, "CHUNK_BYTES", chunk_bytes)
    got = load_stacked(tmp_path / "a.npz", ("X_train", "X_val"), dtype)
    want = np.concatenate([parts["X_train"], parts["X_val"]]).astype(dtype)
    assert got.dtype == np.dtype(dtype) and got.shape == (28, 3) and got.tobytes() == want.tobytes()


def test_the_train_stage_pools_without_a_copy(tmp_path):
    """load_training_arrays with k-fold members: X_train and X_val are consecutive views of one array."""
    from housenet.train import load_training_arrays, row_pool
    from tests.pipeline.test_stages import config

    rng = np.random.default_rng(1)
    a = {f"X_{p}": rng.standard_normal((n, 4)) for p, n in (("train", 30), ("val", 8), ("test", 6))}
    a.update({f"y_{p}{r}": rng.standard_normal(len(a[f"X_{p}"])) for p in ("train", "val", "test") for r in ("", "_raw")})
    save_arrays(tmp_path / "a.npz", a)
    got = load_training_arrays(tmp_path / "a.npz", config("sqlite:///unused.db", "model.ensemble_folds=true"))
    pool = row_pool(got["X_train"], got["X_val"])
    assert np.shares_memory(pool, got["X_train"]) and np.shares_memory(pool, got["X_val"])
    assert np.array_equal(pool, np.concatenate([a["X_train"], a["X_val"]]))
    assert np.array_equal(got["X_val"], a["X_val"]) and np.array_equal(got["y_val_raw"], a["y_val_raw"])
    # two arrays that are not one array's consecutive parts are copied
    other = row_pool(a["X_train"], a["X_val"])
    assert not np.shares_memory(other, a["X_train"]) and np.array_equal(other, pool)
    swapped = row_pool(pool[30:], pool[:30])
    assert not np.shares_memory(swapped, pool) and np.array_equal(swapped, np.concatenate([pool[30:], pool[:30]]))


def test_load_stacked_refuses_what_it_cannot_read(tmp_path):
    save_arrays(tmp_path / "a.npz", {"A": np.zeros((3, 2)), "B": np.zeros((2, 5)), "F": np.asfortranarray(np.ones((3, 2)))})
    with pytest.raises(DataError, match=r"a.npz: has no array 'C'; re-run the preprocess stage"):
        load_stacked(tmp_path / "a.npz", ("A", "C"), "float64")
    with pytest.raises(DataError, match=r"do not stack by rows: shapes \(3, 2\), \(2, 5\)"):
        load_stacked(tmp_path / "a.npz", ("A", "B"), "float64")
    with pytest.raises(DataError, match=r"array 'F' is Fortran-ordered"):
        load_stacked(tmp_path / "a.npz", ("A", "F"), "float64")
    with pytest.raises(DataError, match=r"missing.npz: no such file; run the preprocess stage first"):
        load_stacked(tmp_path / "missing.npz", ("A",), "float64")
    # a member cut in half (its 128-byte header and 498 rows left): named in one line
    big = tmp_path / "big.npz"
    save_arrays(big, {"A": np.arange(4000.0).reshape(1000, 4)})
    with zipfile.ZipFile(big) as zf:
        data = zf.read("A.npy")
    with zipfile.ZipFile(tmp_path / "cut.npz", "w") as zf:
        zf.writestr("A.npy", data[: len(data) // 2])
    with pytest.raises(DataError, match=r"cut.npz: not a readable .npz file \(EOFError: array 'A' ends after 498 of 1000 rows"):
        load_stacked(tmp_path / "cut.npz", ("A",), "float64")
    assert load_arrays(big)["A"].shape == (1000, 4)
