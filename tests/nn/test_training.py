"""fit(): learning, batching, determinism, early stopping, schedules, callbacks, bad input."""

import math
import re

import numpy as np
import pytest

from housenet.nn import MLP, MLPConfig, DivergenceError, OptimConfig, ScheduleConfig, TrainConfig, fit
from housenet.nn.losses import get_loss
from housenet.nn.training import loss_on


def sine_data(n, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-3, 3, size=(n, 1))
    y = np.sin(X[:, 0]) + rng.normal(0, 0.05, n)
    return X, y


def test_learns_a_noisy_sine():
    X, y = sine_data(512)
    Xv, yv = sine_data(256, seed=1)
    net = MLP(MLPConfig(n_inputs=1, hidden=(32, 32)), seed=0)
    hist = fit(net, X, y, TrainConfig(epochs=150, batch_size=32, optim=OptimConfig(lr=3e-3)), X_val=Xv, y_val=yv)
    # The noise variance is 0.0025; sin has variance ~0.5: a fit this close has learned the function.
    assert hist.val_loss[-1] < 0.01
    assert hist.train_loss[-1] < hist.train_loss[0] / 20


def test_learns_a_linear_target_in_float32():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 3)).astype(np.float32)
    y = (X @ np.array([1.5, -2.0, 0.5], np.float32) + 1.0).astype(np.float32)
    net = MLP(MLPConfig(n_inputs=3, hidden=(16,), dtype="float32"), seed=0)
    hist = fit(net, X, y, TrainConfig(epochs=60, batch_size=16, optim=OptimConfig(lr=1e-2)))
    assert hist.train_loss[-1] < 0.01 < 5.0 < hist.train_loss[0]  # var(y) is about 7.5
    assert net.params.dtype == np.float32 and net.predict(X).dtype == np.float32


def test_same_seed_gives_bit_identical_weights_and_losses():
    X, y = sine_data(100)
    cfg = TrainConfig(epochs=5, batch_size=16, seed=11, optim=OptimConfig(lr=1e-2))
    runs = []
    for _ in range(2):
        net = MLP(MLPConfig(n_inputs=1, hidden=(8, 8), dropout=0.1), seed=4)
        runs.append((fit(net, X, y, cfg).train_loss, net.params.tobytes()))
    assert runs[0] == runs[1]
    other = MLP(MLPConfig(n_inputs=1, hidden=(8, 8), dropout=0.1), seed=4)
    assert fit(other, X, y, TrainConfig(epochs=5, batch_size=16, seed=12, optim=OptimConfig(lr=1e-2))).train_loss != runs[0][0]


def test_last_incomplete_batch_is_trained_on_and_weighted_by_rows():
    X, y = sine_data(10)
    y[-1] = 50.0  # one outlier: weighting the short batch like a full one would change the mean
    steps = []
    net = MLP(MLPConfig(n_inputs=1, hidden=(4,)), seed=0)
    initial = loss_on(net, net.check_inputs(X), y.reshape(-1, 1), get_loss("mse"))
    from housenet.nn.training import build_optimizer
    cfg = TrainConfig(epochs=2, batch_size=4, optim=OptimConfig(name="sgd", lr=1e-12, momentum=0.0))
    opt = build_optimizer(net, cfg.optim)
    hist = fit(net, X, y, cfg, optimizer=opt, callbacks=[lambda log: steps.append(opt.t)])
    assert steps == [3, 6]  # batches of 4, 4 and 2 rows: three steps an epoch
    # With lr ~ 0 the weights do not move, so the epoch's mean loss must equal the loss over all rows.
    assert hist.train_loss[0] == pytest.approx(initial, rel=1e-9)


def test_early_stopping_restores_the_best_weights():
    X, y = sine_data(200)
    Xv, yv = sine_data(100, seed=1)
    net = MLP(MLPConfig(n_inputs=1, hidden=(16,)), seed=0)
    snapshots = {}
    cfg = TrainConfig(epochs=200, batch_size=8, patience=3, optim=OptimConfig(lr=0.05))
    hist = fit(net, X, y, cfg, X_val=Xv, y_val=yv,
               callbacks=[lambda log: snapshots.__setitem__(log.epoch, net.params.copy())])
    assert hist.stopped_early and hist.epochs_run < 200
    assert hist.epochs_run - hist.best_epoch == 3
    assert hist.val_loss[hist.best_epoch - 1] == min(hist.val_loss)
    np.testing.assert_array_equal(net.params, snapshots[hist.best_epoch])
    assert loss_on(net, Xv, yv.reshape(-1, 1), get_loss("mse")) == min(hist.val_loss)


def test_callback_can_stop_training_and_sees_the_schedule():
    X, y = sine_data(64)
    logs = []
    cfg = TrainConfig(epochs=10, batch_size=16, optim=OptimConfig(lr=0.1),
                      schedule=ScheduleConfig(name="step", step_size=2, gamma=0.5))
    hist = fit(MLP(MLPConfig(n_inputs=1, hidden=(4,)), seed=0), X, y, cfg,
               callbacks=[lambda log: logs.append(log) or log.epoch == 5])
    assert hist.epochs_run == 5 and hist.stopped_early
    assert [log.lr for log in logs] == [0.1, 0.1, 0.05, 0.05, 0.025]
    assert all(log.rows == 64 and log.seconds > 0 and log.val_loss is None for log in logs)


def test_divergence_stops_with_the_epoch_named():
    X, y = sine_data(64)
    y = y * 1e6
    net = MLP(MLPConfig(n_inputs=1, hidden=(16, 16)), seed=0)
    with pytest.raises(DivergenceError, match=r"diverged at epoch \d+") as err:
        fit(net, X, y, TrainConfig(epochs=50, batch_size=8, optim=OptimConfig(name="sgd", lr=10.0)))
    assert err.value.epoch >= 1 and not math.isfinite(err.value.loss)


def test_batch_larger_than_data_and_a_single_row():
    X, y = sine_data(1)
    net = MLP(MLPConfig(n_inputs=1, hidden=(4,)), seed=0)
    hist = fit(net, X, y, TrainConfig(epochs=3, batch_size=32))
    assert hist.epochs_run == 3
    assert net.predict(X).shape == (1, 1)


@pytest.mark.parametrize("X, y, message", [
    (np.zeros((0, 2)), np.zeros(0), "empty"),
    (np.zeros((5, 3)), np.zeros(5), "3 features"),
    (np.zeros(5), np.zeros(5), "2-D"),
    (np.full((5, 2), np.nan), np.zeros(5), "NaN or infinity"),
    (np.zeros((5, 2)), np.array([0, 1, np.inf, 0, 0.0]), "y contains NaN or infinity"),
    (np.zeros((5, 2)), np.zeros(4), "4 rows"),
    (np.array([["a", "b"]] * 5), np.zeros(5), "real numbers"),
])
def test_bad_data_is_refused_before_training(X, y, message):
    net = MLP(MLPConfig(n_inputs=2, hidden=(3,)), seed=0)
    before = net.params.copy()
    with pytest.raises(ValueError, match=message):
        fit(net, X, y, TrainConfig(epochs=1))
    np.testing.assert_array_equal(net.params, before)


@pytest.mark.parametrize("make, message", [
    (lambda: TrainConfig(epochs=0), "epochs"),
    (lambda: TrainConfig(batch_size=-1), "batch_size"),
    (lambda: TrainConfig(loss="mae"), "unknown loss"),
    (lambda: TrainConfig(patience=0), "patience"),
    (lambda: TrainConfig(optim=OptimConfig(name="rmsprop")), "unknown optimizer"),
    (lambda: TrainConfig(optim=OptimConfig(clip_norm=0.0)), "clip_norm"),
    (lambda: MLPConfig(n_inputs=3, hidden=()), "at least one layer"),
    (lambda: MLPConfig(n_inputs=3, hidden=(8, 0)), "positive integers"),
    (lambda: MLPConfig(n_inputs=3, activation="gelu"), "unknown activation"),
    (lambda: MLPConfig(n_inputs=3, dtype="float16"), "dtype"),
    (lambda: MLPConfig(n_inputs=3, dropout=1.0), "dropout"),
])
def test_bad_configuration_is_refused(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_non_positive_learning_rate_is_refused_before_training():
    X, y = sine_data(10)
    net = MLP(MLPConfig(n_inputs=1, hidden=(3,)), seed=0)
    with pytest.raises(ValueError, match="learning rate"):
        fit(net, X, y, TrainConfig(optim=OptimConfig(lr=-0.1)))


def test_predict_matches_forward_in_any_chunking():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1000, 6))
    net = MLP(MLPConfig(n_inputs=6, hidden=(9, 5)), seed=2)
    full = net.predict(X, batch_size=1000)
    np.testing.assert_allclose(net.predict(X, batch_size=7), full, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(net.predict(X[:1]), full[:1], rtol=1e-13, atol=1e-15)
    with pytest.raises(ValueError, match="reshape"):
        net.predict(X[0])


@pytest.mark.parametrize("chunk_batches", [1, 3])
def test_chunked_shuffle_trains_on_the_same_batches(monkeypatch, chunk_batches):
    """Gathering the shuffled rows a few batches at a time gives bit-identical weights to one whole-table chunk."""
    import housenet.nn.training as training

    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(103, 5)), rng.normal(size=103)  # 103 = 12 batches of 8 and one of 7
    cfg = TrainConfig(epochs=3, batch_size=8, seed=5)
    whole = MLP(MLPConfig(n_inputs=5, hidden=(6,)), seed=1)
    h_whole = fit(whole, X, y, cfg)
    monkeypatch.setattr(training, "CHUNK_BYTES", chunk_batches * 8 * 5 * X.itemsize)
    chunked = MLP(MLPConfig(n_inputs=5, hidden=(6,)), seed=1)
    h_chunked = fit(chunked, X, y, cfg)
    assert chunked.params.tobytes() == whole.params.tobytes()
    assert h_chunked.train_loss == h_whole.train_loss


@pytest.mark.parametrize("chunk_batches", [None, 2])
def test_fit_on_rows_is_fit_on_those_rows_copied(monkeypatch, chunk_batches):
    """``rows=`` (k-fold members train on positions of one pooled array) gives bit-identical weights and losses."""
    import housenet.nn.training as training

    rng = np.random.default_rng(7)
    X, y = rng.normal(size=(120, 5)), rng.normal(size=120)
    rows = np.sort(rng.choice(120, 77, replace=False))
    X_val, y_val = rng.normal(size=(20, 5)), rng.normal(size=20)
    cfg = TrainConfig(epochs=4, batch_size=8, seed=9, patience=2)
    if chunk_batches:
        monkeypatch.setattr(training, "CHUNK_BYTES", chunk_batches * 8 * 5 * X.itemsize)
    copied = MLP(MLPConfig(n_inputs=5, hidden=(6,), skip=True), seed=2)
    h_copied = fit(copied, X[rows], y[rows], cfg, X_val=X_val, y_val=y_val)
    indexed = MLP(MLPConfig(n_inputs=5, hidden=(6,), skip=True), seed=2)
    h_indexed = fit(indexed, X, y, cfg, X_val=X_val, y_val=y_val, rows=rows)
    assert indexed.params.tobytes() == copied.params.tobytes()
    assert (h_indexed.train_loss, h_indexed.val_loss) == (h_copied.train_loss, h_copied.val_loss)
    other = MLP(MLPConfig(n_inputs=5, hidden=(6,), skip=True), seed=2)
    fit(other, X, y, cfg, X_val=X_val, y_val=y_val)  # all rows: a different result
    assert other.params.tobytes() != copied.params.tobytes()


@pytest.mark.parametrize("rows, message", [
    (np.array([], dtype=np.int64), "rows must be a non-empty 1-d array"),
    (np.array([0.0, 1.0]), "rows must be a non-empty 1-d array of row positions, got shape (2,) of float64"),
    (np.array([[0, 1]]), "got shape (1, 2)"),
    (np.array([0, 10]), r"rows must be positions in 0..9, got 0..10"),
    (np.array([-1, 3]), r"rows must be positions in 0..9, got -1..3"),
])
def test_bad_rows_are_refused(rows, message):
    net = MLP(MLPConfig(n_inputs=2, hidden=(3,)), seed=0)
    before = net.params.copy()
    with pytest.raises(ValueError, match=re.escape(message) if "(" in message else message):
        fit(net, np.zeros((10, 2)), np.zeros(10), TrainConfig(epochs=1), rows=rows)
    assert np.array_equal(net.params, before)
