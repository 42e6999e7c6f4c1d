"""Where one housenet training step spends its time, at one configuration.

    python bench/nn_step_profile.py --arch 256,256 --batch 32 --dtype float64
    python bench/nn_step_profile.py --arch 256,256 --batch 4096 --dtype float32 --threads 1

Part 1 replays ``fit``'s inner loop (forward, loss, backward, Adam step, on
contiguous batches of a reshuffled buffer) with a timer around each phase.
Part 2 times every numpy call of the step alone, at its real shapes and
layouts, on the network's own buffers (median of repeats), so the phases can
be split into GEMMs, elementwise work and the optimiser. Part 3 tries the two
backward GEMMs with contiguous operands instead of transposed views.
Run it on an otherwise idle machine; it does not modify housenet.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))
from nn_workers import make_data  # noqa: E402

from housenet.nn import MLP, Adam, MLPConfig  # noqa: E402
from housenet.nn.activations import relu_backward, relu_forward  # noqa: E402
from housenet.nn.losses import mse  # noqa: E402


def median_us(fn, min_seconds: float = 0.2, min_repeats: int = 20) -> float:
    fn()
    times, start = [], time.perf_counter()
    while len(times) < min_repeats or time.perf_counter() - start < min_seconds:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times)) * 1e6


def replay_fit(net: MLP, opt: Adam, X: np.ndarray, y: np.ndarray, batch: int, epochs: int) -> dict[str, float]:
    """fit's loop with a timer per phase; returns mean microseconds per step."""
    n = X.shape[0]
    Xs, ys = np.empty_like(X), np.empty_like(y)
    batches = [(Xs[s : s + batch], ys[s : s + batch], net.workspace(min(batch, n - s))) for s in range(0, n, batch)]
    rng = np.random.default_rng(0)
    totals = dict.fromkeys(("shuffle", "forward", "loss", "backward", "adam"), 0.0)
    clock = time.perf_counter
    for _ in range(epochs):
        t0 = clock()
        perm = rng.permutation(n)
        np.take(X, perm, axis=0, out=Xs)
        np.take(y, perm, axis=0, out=ys)
        totals["shuffle"] += clock() - t0
        for xb, yb, ws in batches:
            t0 = clock()
            out = net.forward(xb, ws)
            t1 = clock()
            mse(out, yb, ws.dout)
            t2 = clock()
            net.backward(xb, ws)
            t3 = clock()
            opt.step()
            t4 = clock()
            totals["forward"] += t1 - t0
            totals["loss"] += t2 - t1
            totals["backward"] += t3 - t2
            totals["adam"] += t4 - t3
    steps = epochs * len(batches)
    return {k: v / steps * 1e6 for k, v in totals.items()}


def op_timings(net: MLP, opt: Adam, xb: np.ndarray, yb: np.ndarray) -> list[tuple[str, str, float]]:
    """(phase, numpy call at its shape, median microseconds) for every call of one full-batch step."""
    ws = net.workspace(xb.shape[0])
    net.forward(xb, ws)
    mse(ws.z[-1], yb, ws.dout)
    net.backward(xb, ws)
    rows = []
    last = net.n_layers - 1
    a = xb
    for i in range(net.n_layers):
        w, b, z = net.weights[i], net.biases[i], ws.z[i]
        rows.append(("forward", f"matmul {a.shape}@{w.shape}", median_us(lambda: np.matmul(a, w, out=z))))
        rows.append(("forward", f"z += b {z.shape}", median_us(lambda: np.add(z, b, out=z))))
        if i < last:
            rows.append(("forward", f"relu {z.shape}", median_us(lambda: relu_forward(z, ws.a[i]))))
            a = ws.a[i]
    rows.append(("loss", f"mse {ws.dout.shape}", median_us(lambda: mse(ws.z[last], yb, ws.dout))))
    delta = ws.dout
    for i in range(last, -1, -1):
        a_prev = xb if i == 0 else ws.a[i - 1]
        dw, db = net.weight_grads[i], net.bias_grads[i]
        rows.append(("backward", f"matmul {a_prev.T.shape}@{delta.shape} (a.T view)",
                     median_us(lambda: np.matmul(a_prev.T, delta, out=dw))))
        rows.append(("backward", f"sum(delta, axis=0) {delta.shape}", median_us(lambda: np.sum(delta, 0, out=db))))
        if i == 0:
            break
        d_prev, w = ws.delta[i - 1], net.weights[i]
        rows.append(("backward", f"matmul {delta.shape}@{w.T.shape} (W.T view)",
                     median_us(lambda: np.matmul(delta, w.T, out=d_prev))))
        z_prev, a_prev = ws.z[i - 1], ws.a[i - 1]
        rows.append(("backward", f"relu_backward {d_prev.shape} (makes z > 0 mask)",
                     median_us(lambda: relu_backward(z_prev, a_prev, d_prev))))
        delta = d_prev
    rows.append(("adam", f"Adam.step, {net.n_params:,} params (13 elementwise passes)", median_us(opt.step)))
    tmp = np.empty_like(net.params)
    rows.append(("adam", "  one pass: multiply(grads, c, out=tmp)",
                 median_us(lambda: np.multiply(net.grads, 0.5, out=tmp))))
    return rows


def layout_trials(net: MLP, xb: np.ndarray) -> list[tuple[str, float, float]]:
    """Backward GEMMs: transposed view (as housenet) against a contiguous operand; microseconds."""
    ws = net.workspace(xb.shape[0])
    out = []
    for i in range(1, net.n_layers - 1):
        a, delta, w = ws.a[i - 1], ws.delta[i], net.weights[i]
        aT, wT = np.ascontiguousarray(a.T), np.ascontiguousarray(w.T)
        dw, d_prev = net.weight_grads[i], ws.delta[i - 1]
        out.append((f"dW = a.T @ delta {aT.shape}@{delta.shape}", median_us(lambda: np.matmul(a.T, delta, out=dw)),
                    median_us(lambda: np.matmul(aT, delta, out=dw))))
        out.append((f"d_prev = delta @ W.T {delta.shape}@{wT.shape}",
                    median_us(lambda: np.matmul(delta, w.T, out=d_prev)),
                    median_us(lambda: np.matmul(delta, wT, out=d_prev))))
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--arch", default="256,256")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--dtype", default="float64", choices=("float64", "float32"))
    p.add_argument("--rows", type=int, default=100_000)
    p.add_argument("--epochs", type=int, default=2, help="epochs replayed in part 1 (after one warm-up)")
    p.add_argument("--threads", type=int, default=None, help="numpy BLAS threads (default: as numpy starts)")
    args = p.parse_args()
    arch = tuple(int(h) for h in args.arch.split(","))
    X, y = make_data(args.rows)
    X, y = X.astype(args.dtype), y.astype(args.dtype).reshape(-1, 1)
    net = MLP(MLPConfig(n_inputs=X.shape[1], hidden=arch, dtype=args.dtype), seed=0)
    opt = Adam(net.params, net.grads, lr=1e-3)
    blas = next(b for b in threadpool_info() if b["user_api"] == "blas")
    with threadpool_limits(limits=args.threads or blas["num_threads"], user_api="blas"):
        threads = next(b for b in threadpool_info() if b["user_api"] == "blas")["num_threads"]
        print(f"D-{args.arch.replace(',', '-')}-1 {args.dtype} batch {args.batch}; BLAS {blas['internal_api']} "
              f"{blas['version']} {blas['architecture']}, {threads} threads")
        replay_fit(net, opt, X, y, args.batch, 1)  # warm-up
        phases = replay_fit(net, opt, X, y, args.batch, args.epochs)
        step = sum(phases.values())
        print(f"\n1. fit's loop, per step: {step:,.1f} us = {args.batch / step * 1e6:,.0f} samples/s")
        for k, v in phases.items():
            print(f"   {k:9s} {v:10,.1f} us  {v / step:6.1%}")
        rows = op_timings(net, opt, X[: args.batch], y[: args.batch])
        print("\n2. each call alone (median):")
        for phase, what, us in rows:
            print(f"   {phase:9s} {us:10,.1f} us  {what}")
        gemm = sum(us for _, what, us in rows if what.startswith("matmul"))
        other = sum(us for phase, what, us in rows if phase != "adam" and not what.startswith("matmul"))
        adam = next(us for phase, _, us in rows if phase == "adam")
        total = gemm + other + adam
        print(f"   => GEMMs {gemm:,.1f} us ({gemm / total:.0%}), other forward/backward/loss {other:,.1f} us "
              f"({other / total:.0%}), Adam {adam:,.1f} us ({adam / total:.0%}); sum {total:,.1f} us")
        trials = layout_trials(net, X[: args.batch])
        if trials:
            print("\n3. backward GEMMs: transposed view (as now) vs contiguous operand:")
            for what, view, contiguous in trials:
                print(f"   {view:10,.1f} us vs {contiguous:10,.1f} us  {what}")


if __name__ == "__main__":
    main()
