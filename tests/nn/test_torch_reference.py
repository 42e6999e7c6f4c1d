"""An independent cross-check: the same training in PyTorch (CPU, float64) gives the same weights.

Same initial weights, same batches (fit's documented shuffle: the first child of
``default_rng(seed).spawn(2)``, one permutation per epoch), same optimiser,
schedule, decoupled weight decay on weights only and gradient clipping.
"""

import numpy as np
import pytest

from housenet.nn import MLP, MLPConfig, OptimConfig, ScheduleConfig, TrainConfig, fit

torch = pytest.importorskip("torch")


class WithSkip(torch.nn.Module):
    """The MLP plus a bias-free linear path from the inputs: out = mlp(x) + skip(x)."""

    def __init__(self, mlp, skip):
        super().__init__()
        self.mlp, self.skip = mlp, skip

    def forward(self, x):
        return self.mlp(x) + self.skip(x)


def torch_model(net: MLP, activation: str, slope: float):
    mlp = torch_mlp(net, activation, slope)
    if net.skip_weight is None:
        return mlp
    skip = torch.nn.Linear(*net.skip_weight.shape, bias=False, dtype=torch.float64)
    with torch.no_grad():
        skip.weight.copy_(torch.from_numpy(net.skip_weight.T.copy()))
    return WithSkip(mlp, skip)


def torch_mlp(net: MLP, activation: str, slope: float):
    layers = []
    for i, (w, b) in enumerate(zip(net.weights, net.biases)):
        lin = torch.nn.Linear(*w.shape, dtype=torch.float64)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(w.T.copy()))
            lin.bias.copy_(torch.from_numpy(b.copy()))
        layers.append(lin)
        if i < net.n_layers - 1:
            layers.append({"relu": torch.nn.ReLU(), "tanh": torch.nn.Tanh(),
                           "leaky_relu": torch.nn.LeakyReLU(slope)}[activation])
    return torch.nn.Sequential(*layers)


def torch_train(model, X, y, cfg: TrainConfig):
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    groups = [{"params": [m.weight for m in linears], "weight_decay": cfg.optim.weight_decay},
              {"params": [m.bias for m in linears if m.bias is not None], "weight_decay": 0.0}]
    o = cfg.optim
    if o.name == "adam":
        opt = torch.optim.AdamW(groups, lr=o.lr, betas=(o.beta1, o.beta2), eps=o.eps)
    else:
        assert o.weight_decay == 0  # torch's SGD decay is coupled L2; compared without it
        opt = torch.optim.SGD(groups, lr=o.lr, momentum=o.momentum)
    from housenet.nn.schedules import make_schedule
    factor = make_schedule(cfg.schedule.name, cfg.epochs, cfg.schedule.step_size, cfg.schedule.gamma,
                           cfg.schedule.min_factor)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, factor)
    loss_fn = torch.nn.MSELoss() if cfg.loss == "mse" else torch.nn.HuberLoss(delta=cfg.huber_delta)
    shuffle_rng, _ = np.random.default_rng(cfg.seed).spawn(2)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y.reshape(-1, 1))
    n = len(X)
    for _ in range(cfg.epochs):
        perm = torch.from_numpy(shuffle_rng.permutation(n))
        Xs, ys = Xt[perm], yt[perm]
        for start in range(0, n, cfg.batch_size):
            opt.zero_grad()
            loss = loss_fn(model(Xs[start:start + cfg.batch_size]), ys[start:start + cfg.batch_size])
            loss.backward()
            if o.clip_norm is not None:
                torch.nn.utils.clip_grad_norm_(model.parameters(), o.clip_norm)
            opt.step()
        sched.step()
    return [m.weight.detach().numpy().T for m in linears], [m.bias.detach().numpy() for m in linears
                                                            if m.bias is not None]


CASES = {
    "adam": TrainConfig(epochs=3, batch_size=7, optim=OptimConfig(lr=0.01)),
    "adamw-clip-cosine": TrainConfig(epochs=4, batch_size=8, seed=3,
                                     optim=OptimConfig(lr=0.02, weight_decay=0.1, clip_norm=0.5),
                                     schedule=ScheduleConfig(name="cosine", min_factor=0.1)),
    "sgd-momentum-step": TrainConfig(epochs=3, batch_size=6, optim=OptimConfig(name="sgd", lr=0.01, momentum=0.9),
                                     schedule=ScheduleConfig(name="step", step_size=1, gamma=0.5)),
    "huber": TrainConfig(epochs=2, batch_size=5, loss="huber", huber_delta=0.5, optim=OptimConfig(lr=0.01)),
}


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("activation", ["relu", "tanh", "leaky_relu"])
def test_same_weights_as_pytorch(case, activation):
    cfg = CASES[case]
    rng = np.random.default_rng(7)
    X = rng.normal(size=(31, 4))  # 31 rows: the last batch is smaller than the others
    y = np.sin(X[:, 0]) + 0.5 * X[:, 1] * X[:, 2]
    net = MLP(MLPConfig(n_inputs=4, hidden=(8, 5), activation=activation, leaky_slope=0.05), seed=1)
    model = torch_model(net, activation, 0.05)
    torch_w, torch_b = torch_train(model, X, y, cfg)
    fit(net, X, y, cfg)
    for i, (tw, tb) in enumerate(zip(torch_w, torch_b)):
        np.testing.assert_allclose(net.weights[i], tw, rtol=0, atol=1e-8, err_msg=f"layer {i} weight")
        np.testing.assert_allclose(net.biases[i], tb, rtol=0, atol=1e-8, err_msg=f"layer {i} bias")
    moved = np.abs(net.weights[0] - torch_model_initial(activation)[0]).max()
    assert moved > 1e-3, "training must actually move the weights for the comparison to mean anything"


def torch_model_initial(activation):
    net = MLP(MLPConfig(n_inputs=4, hidden=(8, 5), activation=activation, leaky_slope=0.05), seed=1)
    return net.weights


@pytest.mark.parametrize("case", ["adam", "adamw-clip-cosine"])
def test_skip_connection_same_weights_as_pytorch(case):
    cfg = CASES[case]
    rng = np.random.default_rng(8)
    X = rng.normal(size=(31, 4))
    y = 2.0 * X[:, 0] - X[:, 3] + np.sin(X[:, 1])
    net = MLP(MLPConfig(n_inputs=4, hidden=(6,), activation="tanh", skip=True), seed=2)
    torch_w, torch_b = torch_train(torch_model(net, "tanh", 0.0), X, y, cfg)
    fit(net, X, y, cfg)
    *layer_w, skip_w = torch_w  # modules() order: the MLP's linears, then the skip path
    for i, (tw, tb) in enumerate(zip(layer_w, torch_b)):
        np.testing.assert_allclose(net.weights[i], tw, rtol=0, atol=1e-8, err_msg=f"layer {i} weight")
        np.testing.assert_allclose(net.biases[i], tb, rtol=0, atol=1e-8, err_msg=f"layer {i} bias")
    np.testing.assert_allclose(net.skip_weight, skip_w, rtol=0, atol=1e-8, err_msg="skip weight")
    assert np.abs(net.skip_weight).max() > 1e-2, "the skip path must have been trained"
