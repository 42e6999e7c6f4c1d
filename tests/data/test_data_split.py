"""split_indices: disjoint, covering, sorted, seeded without global state."""

from __future__ import annotations

import numpy as np
import pytest

from housenet.data import DataError, split_indices


@pytest.mark.parametrize("n", [7, 10, 545, 2930])
def test_parts_are_disjoint_sorted_and_cover_all_rows(n):
    train, val, test = split_indices(n, 0.15, 0.15, seed=1)
    for part in (train, val, test):
        assert part.dtype == np.int64 and part.ndim == 1 and len(part) > 0
        assert np.all(np.diff(part) > 0)
    together = np.concatenate([train, val, test])
    assert len(together) == n and np.array_equal(np.sort(together), np.arange(n))


def test_sizes_follow_fractions():
    train, val, test = split_indices(545, 0.2, 0.1, seed=0)
    assert (len(train), len(val), len(test)) == (545 - 109 - 55, 109, 55)


def test_deterministic_for_a_seed_and_different_for_another():
    a = split_indices(500, 0.2, 0.2, seed=7)
    b = split_indices(500, 0.2, 0.2, seed=7)
    c = split_indices(500, 0.2, 0.2, seed=8)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not np.array_equal(a[2], c[2])


def test_no_global_random_state():
    np.random.seed(0)
    before = np.random.get_state()[1].copy()
    a = split_indices(100, 0.2, 0.2, seed=3)
    assert np.array_equal(np.random.get_state()[1], before)
    np.random.seed(12345)
    b = split_indices(100, 0.2, 0.2, seed=3)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))


@pytest.mark.parametrize("n,val,test", [
    (100, -0.1, 0.2),      # negative
    (100, 0.2, -0.01),
    (100, 0.5, 0.5),       # nothing left for training
    (100, 0.7, 0.4),
    (100, 0.0, 0.2),       # empty validation part
    (100, 0.2, 0.001),     # rounds to an empty test part
    (2, 0.2, 0.2),         # too few rows
    (100, float("nan"), 0.2),
])
def test_bad_fractions_raise(n, val, test):
    with pytest.raises(DataError):
        split_indices(n, val, test, seed=0)


@pytest.mark.parametrize("seed", [None, -1, 1.5, "0"])
def test_seed_must_be_a_whole_number(seed):
    with pytest.raises(DataError, match="seed"):
        split_indices(100, 0.2, 0.2, seed=seed)
