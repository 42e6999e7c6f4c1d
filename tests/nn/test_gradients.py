"""Hand-derived backpropagation against central finite differences (float64)."""

import numpy as np
import pytest

from housenet.nn.losses import get_loss

EPS = 1e-6
TOL = 1e-6


def loss_and_grads(net, X, y, loss_fn, mask_seed=None):
    ws = net.workspace(X.shape[0])
    rng = None if mask_seed is None else np.random.default_rng(mask_seed)  # same mask every call
    out = net.forward(X, ws, rng)
    loss = loss_fn(out, y, ws.dout)
    net.backward(X, ws, dropout_active=rng is not None)
    return loss, net.grads.copy()


def numeric_grads(net, X, y, loss_fn, mask_seed=None):
    num = np.zeros(net.n_params)
    for k in range(net.n_params):
        orig = net.params[k]
        net.params[k] = orig + EPS
        up, _ = loss_and_grads(net, X, y, loss_fn, mask_seed)
        net.params[k] = orig - EPS
        down, _ = loss_and_grads(net, X, y, loss_fn, mask_seed)
        net.params[k] = orig
        num[k] = (up - down) / (2 * EPS)
    return num


def relative_error(a, b):
    return np.max(np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), 1e-8))


@pytest.mark.parametrize("activation", ["relu", "leaky_relu", "tanh"])
@pytest.mark.parametrize("loss", ["mse", "huber"])
@pytest.mark.parametrize("batch", [1, 7])
def test_backprop_matches_finite_differences(activation, loss, batch, rng, make_net):
    net = make_net(n_inputs=5, hidden=(6, 4), n_outputs=1, activation=activation, leaky_slope=0.1,
                   seed=int(rng.integers(1000)))
    net.params += rng.normal(0, 0.05, net.n_params)  # biases away from zero: kinks unlikely at EPS
    X = rng.normal(size=(batch, 5))
    y = rng.normal(size=(batch, 1)) * 2
    loss_fn = get_loss(loss, huber_delta=0.5)  # delta small enough that both Huber branches occur
    _, analytic = loss_and_grads(net, X, y, loss_fn)
    numeric = numeric_grads(net, X, y, loss_fn)
    assert relative_error(analytic, numeric) < TOL


def test_backprop_deep_multi_output_network(rng, make_net):
    net = make_net(n_inputs=3, hidden=(5, 5, 4), n_outputs=2, seed=3)
    net.params += rng.normal(0, 0.05, net.n_params)
    X, y = rng.normal(size=(11, 3)), rng.normal(size=(11, 2))
    loss_fn = get_loss("mse")
    _, analytic = loss_and_grads(net, X, y, loss_fn)
    assert relative_error(analytic, numeric_grads(net, X, y, loss_fn)) < TOL


@pytest.mark.parametrize("n_outputs", [1, 2])
def test_backprop_with_skip_connection(n_outputs, rng, make_net):
    net = make_net(n_inputs=4, hidden=(5, 3), n_outputs=n_outputs, skip=True, activation="tanh", seed=4)
    net.params += rng.normal(0, 0.05, net.n_params)  # the skip path starts at zero: move it
    X, y = rng.normal(size=(7, 4)), rng.normal(size=(7, n_outputs))
    loss_fn = get_loss("mse")
    _, analytic = loss_and_grads(net, X, y, loss_fn)
    assert np.abs(net.skip_grad).min() > 0, "every skip weight should get a gradient"
    assert relative_error(analytic, numeric_grads(net, X, y, loss_fn)) < TOL


def test_backprop_with_dropout_mask(rng, make_net):
    net = make_net(n_inputs=4, hidden=(8, 6), dropout=0.3, seed=5)
    net.params += rng.normal(0, 0.05, net.n_params)
    X, y = rng.normal(size=(9, 4)), rng.normal(size=(9, 1))
    loss_fn = get_loss("mse")
    _, analytic = loss_and_grads(net, X, y, loss_fn, mask_seed=42)
    ws = net.workspace(9)
    assert any((m == 0).any() for m in ws.masks), "the mask should drop some units"
    assert relative_error(analytic, numeric_grads(net, X, y, loss_fn, mask_seed=42)) < TOL


@pytest.mark.parametrize("loss", ["mse", "huber"])
def test_loss_gradient_alone(loss, rng):
    """dL/dpred of each loss against finite differences, elementwise."""
    loss_fn = get_loss(loss, huber_delta=0.7)
    pred, y = rng.normal(size=(13, 2)), rng.normal(size=(13, 2))
    grad = np.empty_like(pred)
    loss_fn(pred, y, grad)
    num = np.empty_like(pred)
    scratch = np.empty_like(pred)
    for idx in np.ndindex(pred.shape):
        p = pred.copy()
        p[idx] += EPS
        up = loss_fn(p, y, scratch)
        p[idx] -= 2 * EPS
        down = loss_fn(p, y, scratch)
        num[idx] = (up - down) / (2 * EPS)
    assert relative_error(grad, num) < TOL


def test_loss_values():
    grad = np.empty((2, 1))
    assert get_loss("mse")(np.array([[1.0], [3.0]]), np.array([[0.0], [0.0]]), grad) == 5.0
    # Huber(delta=1): r=0.5 -> 0.125, r=3 -> 1*(3-0.5)=2.5; mean 1.3125
    assert get_loss("huber", 1.0)(np.array([[0.5], [3.0]]), np.zeros((2, 1)), grad) == 1.3125
    np.testing.assert_array_equal(grad, [[0.25], [0.5]])
