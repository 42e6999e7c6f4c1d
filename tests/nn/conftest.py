import numpy as np
import pytest

from housenet.nn import MLP, MLPConfig


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def _make_net(n_inputs=5, hidden=(7, 4), n_outputs=1, seed=0, **kw) -> MLP:
    return MLP(MLPConfig(n_inputs=n_inputs, hidden=hidden, n_outputs=n_outputs, **kw), seed=seed)


@pytest.fixture
def make_net():
    """Factory: make_net(n_inputs=5, hidden=(7, 4), n_outputs=1, seed=0, **config)."""
    return _make_net
