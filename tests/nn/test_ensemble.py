"""An ensemble merged into one wider network predicts the members' mean."""

import numpy as np
import pytest

from housenet.nn import MLP, MLPConfig, TrainConfig, fit, load, merge, save
from housenet.nn.ensemble import fold_rows, member_seed


@pytest.mark.parametrize("hidden,skip,n_outputs", [((6,), False, 1), ((5, 4, 3), True, 1), ((4, 3), False, 2)])
def test_merged_network_predicts_the_members_mean(hidden, skip, n_outputs):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    y = np.column_stack([np.sin(X[:, 0]) + X[:, 1]] * n_outputs)
    cfg = MLPConfig(n_inputs=3, hidden=hidden, n_outputs=n_outputs, skip=skip, activation="tanh")
    members = []
    for k in range(3):
        net = MLP(cfg, seed=member_seed(7, k))
        fit(net, X, y if n_outputs > 1 else y[:, 0], TrainConfig(epochs=3, batch_size=8, seed=member_seed(7, k)))
        members.append(net)
    merged = merge(members)
    assert merged.config.hidden == tuple(3 * h for h in hidden)
    expected = np.mean([m.predict(X) for m in members], axis=0)
    spread = np.abs(members[0].predict(X) - members[1].predict(X)).max()
    assert spread > 1e-3, "members must differ for the mean to be a real test"
    np.testing.assert_allclose(merged.predict(X), expected, rtol=1e-12, atol=1e-12)


def test_merged_network_round_trips(tmp_path):
    members = [MLP(MLPConfig(n_inputs=2, hidden=(3,)), seed=s) for s in (1, 2)]
    save(merge(members), tmp_path)
    X = np.arange(8.0).reshape(4, 2)
    np.testing.assert_allclose(load(tmp_path).predict(X), (members[0].predict(X) + members[1].predict(X)) / 2,
                               rtol=1e-13)


def test_one_member_is_a_copy_and_mixed_configs_are_refused():
    net = MLP(MLPConfig(n_inputs=2, hidden=(3,)), seed=1)
    assert merge([net]).params.tobytes() == net.params.tobytes()
    with pytest.raises(ValueError, match="one configuration"):
        merge([net, MLP(MLPConfig(n_inputs=2, hidden=(4,)), seed=1)])
    with pytest.raises(ValueError, match="at least one"):
        merge([])


def test_member_seeds_are_distinct_and_the_first_is_the_seed():
    seeds = [member_seed(42, k) for k in range(5)]
    assert seeds[0] == 42 and len(set(seeds)) == 5


@pytest.mark.parametrize("n, k", [(10, 2), (103, 5), (7, 7)])
def test_fold_rows_hold_every_row_out_exactly_once(n, k):
    parts = fold_rows(n, k, seed=3)
    assert len(parts) == k
    held = np.concatenate([va for _, va in parts])
    assert np.array_equal(np.sort(held), np.arange(n))  # each row in exactly one held-out fold
    sizes = [len(va) for _, va in parts]
    assert max(sizes) - min(sizes) <= 1
    for tr, va in parts:
        assert np.array_equal(np.sort(np.concatenate([tr, va])), np.arange(n))  # trains on all the others
        assert np.array_equal(tr, np.sort(tr)) and np.array_equal(va, np.sort(va))
    again = fold_rows(n, k, seed=3)
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(parts, again))  # seeded: the same folds
    assert any(not np.array_equal(a[1], b[1]) for a, b in zip(parts, fold_rows(n, k, seed=4)))


@pytest.mark.parametrize("n, k, message", [(10, 1, "k-fold needs k >= 2 folds, got 1"),
                                           (10, True, "k-fold needs k >= 2 folds, got True"),
                                           (3, 5, "3 rows cannot be cut into 5 folds: use fewer networks")])
def test_fold_rows_refuses_impossible_folds(n, k, message):
    with pytest.raises(ValueError, match=message):
        fold_rows(n, k, seed=0)
