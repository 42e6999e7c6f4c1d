"""Save and load a network without pickle.

A checkpoint is a folder holding two files, both written atomically (to a
temporary file in the same folder, then renamed into place):

    network.npz    one array per layer: layers.<i>.weight (fan_in, fan_out), layers.<i>.bias
    network.json   {"format": ..., "config": MLPConfig fields, "metadata": {...}}

``load`` reads the arrays with ``allow_pickle=False`` and returns a network that
predicts bit-identically to the one saved.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from .network import MLP, MLPConfig

FORMAT = "housenet.mlp/1"
WEIGHTS_FILE = "network.npz"
CONFIG_FILE = "network.json"


def atomic_write_bytes(path: Path, write: Any) -> None:
    """Call ``write(fileobj)`` on a temporary file beside ``path``, then rename it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save(net: MLP, directory: str | os.PathLike, metadata: dict[str, Any] | None = None) -> Path:
    """Write ``network.npz`` and ``network.json`` into ``directory``; refuse a non-finite network."""
    if not np.isfinite(net.params).all():
        raise ValueError("refusing to save a network with NaN or infinite parameters")
    directory = Path(directory)
    arrays = {}
    for name, view in _named_arrays(net):
        arrays[name] = view
    doc = {"format": FORMAT, "config": net.config.to_dict(), "metadata": metadata or {}}
    atomic_write_bytes(directory / WEIGHTS_FILE, lambda f: np.savez(f, **arrays))
    text = json.dumps(doc, indent=2, sort_keys=True) + "\n"
    atomic_write_bytes(directory / CONFIG_FILE, lambda f: f.write(text.encode()))
    return directory


def load(directory: str | os.PathLike) -> MLP:
    """Read a checkpoint folder written by ``save``."""
    directory = Path(directory)
    cfg_path, w_path = directory / CONFIG_FILE, directory / WEIGHTS_FILE
    for p in (cfg_path, w_path):
        if not p.is_file():
            raise FileNotFoundError(f"{p}: no such file; a model folder holds {CONFIG_FILE} and {WEIGHTS_FILE}")
    doc = json.loads(cfg_path.read_text())
    if doc.get("format") != FORMAT:
        raise ValueError(f"{cfg_path}: format {doc.get('format')!r} is not {FORMAT!r}")
    config = MLPConfig(**doc["config"])
    net = MLP(config, seed=0)
    with np.load(w_path, allow_pickle=False) as arrays:
        for name, view in _named_arrays(net):
            if name not in arrays:
                raise ValueError(f"{w_path}: array {name!r} is missing")
            a = arrays[name]
            if a.shape != view.shape or a.dtype != view.dtype:
                raise ValueError(f"{w_path}: {name} is {a.dtype}{a.shape}, the config needs {view.dtype}{view.shape}")
            view[...] = a
    return net


def _named_arrays(net: MLP) -> list[tuple[str, np.ndarray]]:
    """Every parameter array of ``net`` under its name in the .npz (views into net.params)."""
    named = []
    for i, (w, b) in enumerate(zip(net.weights, net.biases)):
        named += [(f"layers.{i}.weight", w), (f"layers.{i}.bias", b)]
    if net.skip_weight is not None:
        named.append(("skip.weight", net.skip_weight))
    return named


def load_metadata(directory: str | os.PathLike) -> dict[str, Any]:
    return json.loads((Path(directory) / CONFIG_FILE).read_text()).get("metadata", {})
