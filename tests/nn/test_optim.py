"""One optimiser step against values worked out by hand."""

import math

import numpy as np
import pytest

from housenet.nn import SGD, Adam, clip_grad_norm
from housenet.nn.schedules import make_schedule


def flat(values):
    return np.array(values, dtype=np.float64)


def test_adam_first_two_steps_by_hand():
    p, g = flat([1.0, -2.0]), flat([0.5, -0.1])
    opt = Adam(p, g, lr=0.1, beta1=0.9, beta2=0.999, eps=1e-8)
    opt.step()
    # t=1: m = 0.1*g = [0.05, -0.01], v = 0.001*g^2 = [2.5e-4, 1e-5]
    # m_hat = m/0.1 = g, sqrt(v_hat) = sqrt(v/0.001) = |g|  ->  step = lr * g / (|g| + eps)
    np.testing.assert_allclose(p, [1.0 - 0.1 * 0.5 / (0.5 + 1e-8), -2.0 + 0.1 * 0.1 / (0.1 + 1e-8)], rtol=0, atol=1e-15)
    np.testing.assert_allclose(opt.m, [0.05, -0.01], rtol=1e-15)
    np.testing.assert_allclose(opt.v, [2.5e-4, 1e-5], rtol=1e-14)

    g[:] = [0.2, 0.3]
    opt.step()
    # t=2: m = 0.9*[0.05, -0.01] + 0.1*[0.2, 0.3] = [0.065, 0.021]
    #      v = 0.999*[2.5e-4, 1e-5] + 0.001*[0.04, 0.09] = [2.8975e-4, 9.999e-5]
    #      m_hat = m / (1 - 0.81) = m / 0.19 ; v_hat = v / (1 - 0.998001) = v / 0.001999
    m = np.array([0.065, 0.021])
    v = np.array([2.8975e-4, 9.999e-5])
    step = 0.1 * (m / 0.19) / (np.sqrt(v / 0.001999) + 1e-8)
    p1 = np.array([1.0 - 0.1 * 0.5 / (0.5 + 1e-8), -2.0 + 0.1 * 0.1 / (0.1 + 1e-8)])
    np.testing.assert_allclose(opt.m, m, rtol=1e-14)
    np.testing.assert_allclose(opt.v, v, rtol=1e-14)
    np.testing.assert_allclose(p, p1 - step, rtol=1e-14)


def test_adam_decoupled_weight_decay_only_on_decayed_views():
    p, g = flat([1.0, -2.0]), flat([0.5, -0.1])
    opt = Adam(p, g, lr=0.1, weight_decay=0.01, decay_views=[p[:1]])  # p[0] a weight, p[1] a bias
    opt.step()
    # p0: 1.0 * (1 - 0.1*0.01) = 0.999, then the Adam step 0.1*0.5/(0.5+1e-8)
    np.testing.assert_allclose(p, [0.999 - 0.1 * 0.5 / (0.5 + 1e-8), -2.0 + 0.1 * 0.1 / (0.1 + 1e-8)], atol=1e-15)


def test_adam_lr_factor_scales_the_step():
    p, g = flat([1.0]), flat([0.5])
    Adam(p, g, lr=0.1).step(lr_factor=0.5)
    assert p[0] == pytest.approx(1.0 - 0.05 * 0.5 / (0.5 + 1e-8), abs=1e-15)


def test_sgd_momentum_two_steps_by_hand():
    p, g = flat([1.0, -2.0]), flat([0.5, -0.1])
    opt = SGD(p, g, lr=0.1, momentum=0.9)
    opt.step()  # buf = g ; p -= 0.1*g
    np.testing.assert_allclose(p, [0.95, -1.99], rtol=1e-15)
    g[:] = [0.2, 0.3]
    opt.step()  # buf = 0.9*[0.5, -0.1] + [0.2, 0.3] = [0.65, 0.21]
    np.testing.assert_allclose(opt.buf, [0.65, 0.21], rtol=1e-15)
    np.testing.assert_allclose(p, [0.95 - 0.065, -1.99 - 0.021], rtol=1e-15)


def test_sgd_decoupled_weight_decay():
    p, g = flat([1.0, -2.0]), flat([0.5, -0.1])
    SGD(p, g, lr=0.1, momentum=0.9, weight_decay=0.5, decay_views=[p[:1]]).step()
    # p0: 1.0*(1 - 0.1*0.5) = 0.95, minus 0.1*0.5 = 0.9 ; p1 (not decayed): -2 + 0.01
    np.testing.assert_allclose(p, [0.9, -1.99], rtol=1e-15)


def test_sgd_without_momentum():
    p, g = flat([1.0]), flat([2.0])
    opt = SGD(p, g, lr=0.25, momentum=0.0)
    opt.step()
    opt.step()
    assert p[0] == 0.0


def test_clip_grad_norm():
    g = flat([3.0, 4.0])
    assert clip_grad_norm(g, 1.0) == 5.0
    np.testing.assert_allclose(g, [0.6, 0.8], rtol=1e-6)
    g = flat([0.3, 0.4])
    clip_grad_norm(g, 1.0)
    np.testing.assert_array_equal(g, [0.3, 0.4])


def test_float32_stays_float32():
    p, g = np.ones(3, np.float32), np.full(3, 0.1, np.float32)
    opt = Adam(p, g, lr=1e-3, weight_decay=0.1, decay_views=[p])
    opt.step(lr_factor=0.5)
    assert p.dtype == opt.m.dtype == opt.v.dtype == np.float32


@pytest.mark.parametrize("kwargs, message", [
    ({"lr": 0.0}, "learning rate"), ({"lr": -1e-3}, "learning rate"), ({"lr": float("nan")}, "learning rate"),
    ({"beta1": 1.0}, "beta1"), ({"beta2": -0.1}, "beta2"), ({"eps": 0.0}, "eps"), ({"weight_decay": -1.0}, "weight_decay"),
])
def test_adam_rejects_bad_hyperparameters(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Adam(flat([1.0]), flat([1.0]), **kwargs)


def test_schedules():
    assert make_schedule("constant", 10)(7) == 1.0
    step = make_schedule("step", 10, step_size=3, gamma=0.5)
    assert [step(e) for e in range(7)] == [1, 1, 1, 0.5, 0.5, 0.5, 0.25]
    cos = make_schedule("cosine", 10, min_factor=0.1)
    assert cos(0) == 1.0
    assert cos(5) == pytest.approx(0.55)
    assert cos(10) == pytest.approx(0.1)
    assert math.isclose(cos(2), 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 0.2)))
    with pytest.raises(ValueError, match="unknown schedule"):
        make_schedule("linear", 10)
