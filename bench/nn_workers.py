"""What runs inside one benchmark subprocess: data, the three trainers, the matmul probe.

Each ``run_*`` function trains one library at one configuration and returns a
JSON-able dict with ``epoch_seconds`` (the first entry is the warm-up epoch)
and the training loss (MSE) of the last epoch, so the three libraries can be
checked to do the same work. An epoch always includes its reshuffle.

Heavy imports (torch, sklearn, housenet) happen inside the functions, so a
worker loads only the library it measures.
"""

from __future__ import annotations

import platform
import sys
import time
import warnings
from importlib import metadata
from typing import Callable

import numpy as np

MIN_MEASURED = 3  # a time-bounded run still measures at least this many epochs


def make_data(rows: int, n_inputs: int = 64, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian inputs and a fixed random teacher: y = relu(X W1 + b1) w2 + noise, standardised."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((rows, n_inputs))
    w1 = rng.standard_normal((n_inputs, 32)) / np.sqrt(n_inputs)
    b1 = 0.1 * rng.standard_normal(32)
    w2 = rng.standard_normal(32) / np.sqrt(32)
    y = np.maximum(X @ w1 + b1, 0.0) @ w2 + 0.1 * rng.standard_normal(rows)
    return X, (y - y.mean()) / y.std()


def keep_going(measured: list[float], epochs: int, max_seconds: float) -> bool:
    """Another measured epoch? Up to ``epochs``, or fewer once ``max_seconds`` are spent."""
    n = len(measured)
    return n < epochs and not (n >= MIN_MEASURED and sum(measured) >= max_seconds)


def epoch_loop(run_epoch: Callable[[], float], epochs: int, max_seconds: float) -> dict:
    """Time a warm-up epoch, then measured epochs; ``run_epoch`` returns the epoch's MSE."""
    seconds: list[float] = []
    loss = float("nan")
    while not seconds or keep_going(seconds[1:], epochs, max_seconds):
        t0 = time.perf_counter()
        loss = run_epoch()
        seconds.append(time.perf_counter() - t0)
    return {"epoch_seconds": seconds, "final_loss": loss}


# -- the three libraries --------------------------------------------------------------
def run_housenet(X, y, arch, batch, dtype, epochs, max_seconds, threads) -> dict:
    """housenet's own ``fit``: Adam, MSE, a reshuffle every epoch; times from EpochLog.seconds."""
    from housenet.nn import MLP, MLPConfig, OptimConfig, TrainConfig, fit

    net = MLP(MLPConfig(n_inputs=X.shape[1], hidden=tuple(arch), dtype=dtype), seed=0)
    logs = []

    def callback(log) -> bool:  # True stops fit after this epoch
        logs.append(log)
        return not keep_going([entry.seconds for entry in logs[1:]], epochs, max_seconds)

    config = TrainConfig(epochs=epochs + 1, batch_size=batch, loss="mse", seed=0, optim=OptimConfig(lr=1e-3))
    fit(net, X, y, config, callbacks=[callback])
    return {"epoch_seconds": [entry.seconds for entry in logs], "final_loss": logs[-1].train_loss}


def run_torch(X, y, arch, batch, dtype, epochs, max_seconds, threads) -> dict:
    """nn.Sequential(Linear, ReLU, ..., Linear), Adam, MSELoss; randperm + contiguous slices."""
    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    sizes = [X.shape[1], *arch, 1]
    layers: list = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        layers += [torch.nn.Linear(fan_in, fan_out), torch.nn.ReLU()]
    model = torch.nn.Sequential(*layers[:-1]).to(getattr(torch, dtype))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.MSELoss()
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y.reshape(-1, 1))
    n = Xt.shape[0]
    gen = torch.Generator().manual_seed(0)

    def run_epoch() -> float:
        perm = torch.randperm(n, generator=gen)
        Xs, ys = Xt[perm], yt[perm]
        total = 0.0
        for start in range(0, n, batch):
            xb, yb = Xs[start : start + batch], ys[start : start + batch]
            opt.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
            total += loss.item() * xb.shape[0]
        return total / n

    out = epoch_loop(run_epoch, epochs, max_seconds)
    out["torch_threads"] = torch.get_num_threads()
    out["torch_blas"] = _torch_blas(torch)
    return out


def _torch_blas(torch) -> str:
    config = torch.__config__.show()
    for key in ("BLAS_INFO=", "LAPACK_INFO="):
        if key in config:
            return config.split(key, 1)[1].split(",", 1)[0].strip()
    return "unknown"


def run_sklearn(X, y, arch, batch, dtype, epochs, max_seconds, threads) -> dict:
    """MLPRegressor(solver="adam") fed one shuffled mini-batch per partial_fit call."""
    from sklearn.neural_network import MLPRegressor

    model = MLPRegressor(hidden_layer_sizes=tuple(arch), activation="relu", solver="adam", alpha=0.0,
                         batch_size=batch, learning_rate_init=1e-3, shuffle=False, random_state=0)
    n = X.shape[0]
    rng = np.random.default_rng(0)

    def run_epoch() -> float:
        perm = rng.permutation(n)
        Xs, ys = X[perm], y[perm]
        total = 0.0
        for start in range(0, n, batch):
            xb = Xs[start : start + batch]
            model.partial_fit(xb, ys[start : start + batch])
            total += 2.0 * model.loss_ * xb.shape[0]  # sklearn's loss_ is MSE / 2
        return total / n

    with warnings.catch_warnings():
        # the last, smaller batch makes sklearn warn that batch_size is clipped
        warnings.filterwarnings("ignore", message=".*batch_size.*", category=UserWarning)
        out = epoch_loop(run_epoch, epochs, max_seconds)
    out["weights_dtype"] = str(model.coefs_[0].dtype)
    out["adam_state_dtype"] = str(model._optimizer.ms[0].dtype)
    return out


TRAINERS = {"housenet": run_housenet, "torch": run_torch, "sklearn": run_sklearn}


def run_trainer(lib: str, arch, batch: int, dtype: str, rows: int, epochs: int, max_seconds: float,
                threads: int) -> dict:
    from threadpoolctl import threadpool_limits

    X, y = make_data(rows)
    X, y = np.ascontiguousarray(X, dtype=dtype), np.ascontiguousarray(y, dtype=dtype)
    with threadpool_limits(limits=threads, user_api="blas"):
        out = TRAINERS[lib](X, y, list(arch), batch, dtype, epochs, max_seconds, threads)
    out.update(lib=lib, arch=list(arch), batch=batch, dtype=dtype, rows=rows, threads=threads)
    return out


# -- matmul probe --------------------------------------------------------------------
def _median_seconds(fn: Callable[[], object], repeats: int, min_seconds: float) -> float:
    fn()  # warm-up
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < repeats or time.perf_counter() - start < min_seconds:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def step_gemms(batch: int, sizes: list[int]) -> list[tuple[str, tuple[int, int], tuple[int, int], bool, bool]]:
    """The GEMMs of one housenet training step, with its memory layouts.

    Each entry: (role, left shape, right shape, left is a transposed view, right is a transposed view).
    Forward z = a @ W; backward dW = a.T @ delta and, except for layer 0, d_prev = delta @ W.T.
    """
    gemms = []
    layers = list(zip(sizes[:-1], sizes[1:]))
    for fi, fo in layers:
        gemms.append(("forward", (batch, fi), (fi, fo), False, False))
    for i, (fi, fo) in enumerate(layers):
        gemms.append(("weight grad", (fi, batch), (batch, fo), True, False))
        if i > 0:
            gemms.append(("input grad", (batch, fo), (fo, fi), False, True))
    return gemms


def _operand(rng, shape, transposed, dtype):
    if transposed:  # a C-contiguous array of the reversed shape, seen through .T (as housenet does)
        return rng.standard_normal(shape[::-1]).astype(dtype).T
    return rng.standard_normal(shape).astype(dtype)


def run_matmul(size: int, batch: int, archs: list[list[int]], n_inputs: int, repeats: int, threads: int,
               min_seconds: float) -> dict:
    """GFLOP/s of a square size^3 matmul and of every GEMM in a batch-``batch`` training step.

    Each figure is a median over at least ``repeats`` calls and ``min_seconds`` of calls.
    """
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(0)
    out: dict = {"size": size, "batch": batch, "square": {}, "steps": {}}
    with threadpool_limits(limits=threads, user_api="blas"):
        for dtype in ("float64", "float32"):
            a, b = (rng.standard_normal((size, size)).astype(dtype) for _ in range(2))
            c = np.empty_like(a)
            sec = _median_seconds(lambda: np.matmul(a, b, out=c), repeats, min_seconds)
            out["square"][dtype] = {"seconds": sec, "gflops": 2 * size**3 / sec / 1e9}
            for arch in archs:
                sizes = [n_inputs, *arch, 1]
                rows = []
                for role, ls, rs, lt, rt in step_gemms(batch, sizes):
                    left, right = _operand(rng, ls, lt, dtype), _operand(rng, rs, rt, dtype)
                    res = np.empty((ls[0], rs[1]), dtype)
                    sec = _median_seconds(lambda: np.matmul(left, right, out=res), repeats, min_seconds)
                    flops = 2 * ls[0] * ls[1] * rs[1]
                    rows.append({"role": role, "m": ls[0], "k": ls[1], "n": rs[1], "seconds": sec,
                                 "gflops": flops / sec / 1e9})
                step = sum(r["seconds"] for r in rows)
                out["steps"][f"{dtype}/{'-'.join(map(str, arch))}"] = {
                    "gemms": rows, "step_seconds": step, "samples_per_second_bound": batch / step}
    return out


def numpy_info() -> dict:
    """Versions, numpy's BLAS as threadpoolctl sees it, and its thread count."""
    import threadpoolctl

    blas = [p for p in threadpoolctl.threadpool_info() if p["user_api"] == "blas"]
    numpy_blas = next((p for p in blas if "numpy" in p.get("filepath", "")), blas[0] if blas else {})
    versions = {}
    for pkg in ("numpy", "torch", "scikit-learn", "threadpoolctl", "housenet"):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = "not installed"
    return {
        "python": platform.python_version(),
        "executable": sys.executable,
        "versions": versions,
        "blas": {k: numpy_blas.get(k) for k in ("internal_api", "version", "architecture", "threading_layer",
                                                 "num_threads", "filepath")},
        "blas_threads": int(numpy_blas.get("num_threads") or 1),
    }
