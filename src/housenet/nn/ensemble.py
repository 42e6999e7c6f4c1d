"""Averaging networks trained from different seeds, as one wider network.

The mean of k networks of one architecture is itself an MLP: put the members'
hidden layers side by side. With member j's parameters W_i^j, b_i^j:

    layer 0      W_0 = [W_0^1  W_0^2 ... W_0^k]          (n_inputs, k h_0)
                 b_0 = [b_0^1, b_0^2, ..., b_0^k]         (k h_0,)
    hidden i     W_i = blockdiag(W_i^1, ..., W_i^k)       (k h_{i-1}, k h_i)
                 b_i = [b_i^1, ..., b_i^k]
    output       W_L = [W_L^1; W_L^2; ...; W_L^k] / k     (k h_{L-1}, n_outputs)
                 b_L = (b_L^1 + ... + b_L^k) / k
    skip path    W_skip = (W_skip^1 + ... + W_skip^k) / k

Each member's units see only their own member's units (the off-diagonal blocks
are zero), so hidden activations are the members' own, and the linear output
is the mean of the members' outputs: merged.predict(X) equals
mean_j member_j.predict(X) up to float rounding. The merged network saves,
loads, predicts and serves like any other: nothing downstream knows it is an
ensemble. Dropout does not matter here (it is off at prediction time).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Sequence

import numpy as np

from .network import MLP


def merge(members: Sequence[MLP]) -> MLP:
    """One network whose output is the mean of the members' outputs."""
    if not members:
        raise ValueError("merge needs at least one network")
    first = members[0].config
    if any(m.config != first for m in members):
        raise ValueError("only networks of one configuration (architecture, dtype) can be merged")
    k = len(members)
    if k == 1:
        return members[0].copy()
    merged = MLP(replace(first, hidden=tuple(h * k for h in first.hidden)), seed=0)
    merged.params[:] = 0
    last = merged.n_layers - 1
    for j, net in enumerate(members):
        for i, (w, b) in enumerate(zip(net.weights, net.biases)):
            fan_in, fan_out = w.shape
            rows = slice(None) if i == 0 else slice(j * fan_in, (j + 1) * fan_in)
            if i == last:
                merged.weights[i][rows] = w / k
                merged.biases[i][...] += b / k
            else:
                merged.weights[i][rows, j * fan_out:(j + 1) * fan_out] = w
                merged.biases[i][j * fan_out:(j + 1) * fan_out] = b
        if net.skip_weight is not None:
            merged.skip_weight[...] += net.skip_weight / k
    return merged


def fold_rows(n: int, k: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """k-fold cross-fitting: for member j, (training positions, held-out positions) of n rows.

    The rows are shuffled once (``seed``) and cut into k folds of sizes differing by at
    most one; member j holds out fold j (for its early stopping) and trains on the
    other k - 1. Every row is held out by exactly one member. Both arrays are sorted.
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 2:
        raise ValueError(f"k-fold needs k >= 2 folds, got {k!r}")
    if n < k:
        raise ValueError(f"{n} rows cannot be cut into {k} folds: use fewer networks (model.ensemble)")
    folds = np.array_split(np.random.default_rng(seed).permutation(n), k)
    return [(np.sort(np.concatenate(folds[:j] + folds[j + 1:])), np.sort(folds[j])) for j in range(k)]


def member_seed(seed: int, k: int) -> int:
    """The seed of the k-th member: ``seed`` itself for the first, derived ones after it."""
    if k == 0:
        return seed
    return int(np.random.SeedSequence([seed, k]).generate_state(1)[0])
