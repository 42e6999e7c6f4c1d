"""Seeded train / validation / test split of row positions."""

from __future__ import annotations

import math
import numbers

import numpy as np

from .errors import DataError


def check_fractions(val_fraction: float, test_fraction: float) -> None:
    """Raise DataError naming ``split.<key>`` unless both are numbers >= 0 whose sum is below 1."""
    for key, f in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if not isinstance(f, numbers.Real) or isinstance(f, bool) or not math.isfinite(f) or f < 0:
            raise DataError(f"split.{key}={f!r} must be a number >= 0 and < 1")
    if val_fraction + test_fraction >= 1:
        raise DataError(f"split.val_fraction + split.test_fraction = {val_fraction + test_fraction:g} "
                        "must be below 1 to leave rows for training; lower one of them")


def split_sizes(n_rows: int, val_fraction: float, test_fraction: float) -> tuple[int, int, int]:
    """(n_train, n_val, n_test): val and test are ``fraction * n_rows`` rounded half up, train the rest."""
    check_fractions(val_fraction, test_fraction)
    if isinstance(n_rows, bool) or int(n_rows) != n_rows or n_rows < 0:
        raise DataError(f"n_rows={n_rows!r} must be a whole number >= 0")
    n_rows = int(n_rows)
    n_test = math.floor(n_rows * test_fraction + 0.5)
    n_val = math.floor(n_rows * val_fraction + 0.5)
    n_train = n_rows - n_val - n_test
    for part, n in (("train", n_train), ("val", n_val), ("test", n_test)):
        if n <= 0:
            raise DataError(f"the {part} part would be empty ({n_rows} rows, val_fraction={val_fraction:g}, "
                            f"test_fraction={test_fraction:g}); change the fractions or use more rows")
    return n_train, n_val, n_test


def split_indices(
    n_rows: int, val_fraction: float, test_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split row positions ``0..n_rows-1`` into (train_idx, val_idx, test_idx).

    Each is a sorted int64 array; together they are disjoint and cover every
    row. The shuffle uses ``numpy.random.default_rng(seed)`` (no global random
    state), so the same arguments always give the same split. DataError when a
    fraction is negative, ``val_fraction + test_fraction >= 1``, or a part
    would be empty.
    """
    n_train, n_val, n_test = split_sizes(n_rows, val_fraction, test_fraction)
    if not isinstance(seed, numbers.Integral) or isinstance(seed, bool) or seed < 0:
        raise DataError(f"seed={seed!r} must be a whole number >= 0 (a fixed seed keeps the split reproducible)")
    perm = np.random.default_rng(seed).permutation(n_rows).astype(np.int64)
    test_idx = np.sort(perm[:n_test])
    val_idx = np.sort(perm[n_test:n_test + n_val])
    train_idx = np.sort(perm[n_test + n_val:])
    return train_idx, val_idx, test_idx
