"""The measurements of bench/pipeline_perf.py that run in a subprocess of their own, one per case.

Each worker prints one JSON line. Peak memory is the process's ru_maxrss at the end
minus its resident size just before the measured step (after its imports), so
imports and the data generator are not counted.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

import numpy as np

SPLIT = {"train": 0.65, "val": 0.15, "test": 0.20}  # the pipeline's split (conf/config.yaml)


def rss_bytes() -> int:
    """Resident set size now (/proc/self/statm)."""
    import os

    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


# -- synthetic data -------------------------------------------------------------------------------
def make_arrays(folder: Path, rows: int, width: int, seed: int = 0) -> dict:
    """Prepared arrays as the preprocess stage writes them, for ``rows`` rows in all (split 65/15/20).

    Like Ames after preprocessing: a quarter of the columns standardised numeric
    features, the rest one-hot groups of 8 levels; the target a noisy function of them.
    Also a preprocessor state and a provenance file, so the train stage's code runs as it is.
    """
    from housenet.data.arrays import save_arrays
    from housenet.data.atomic import atomic_write_json

    rng = np.random.default_rng(seed)
    n_num = max(1, width // 4)
    n_cat = width - n_num
    w_num = rng.standard_normal(n_num) / np.sqrt(n_num)
    w_cat = rng.standard_normal(n_cat) / 4
    arrays = {}
    counts = {p: int(rows * f) for p, f in SPLIT.items()}
    for part, n in counts.items():
        X = np.zeros((n, width))
        X[:, :n_num] = rng.standard_normal((n, n_num))
        for g in range(0, n_cat, 8):
            size = min(8, n_cat - g)
            X[np.arange(n), n_num + g + rng.integers(0, size, n)] = 1.0
        y = np.tanh(X[:, :n_num] @ w_num) + X[:, n_num:] @ w_cat + 0.1 * rng.standard_normal(n)
        arrays[f"X_{part}"], arrays[f"y_{part}"] = X, y
        arrays[f"y_{part}_raw"] = np.exp(12 + 0.3 * y)
        arrays[f"{part}_idx"] = np.arange(n)
        del X, y
    folder.mkdir(parents=True, exist_ok=True)
    save_arrays(folder / "arrays.npz", arrays)
    atomic_write_json(folder / "preprocessor.json", _identity_preprocessor(width))
    atomic_write_json(folder / "source.json", {
        "source": "synthetic", "name": "synthetic", "rows": rows, "columns": [f"x{i}" for i in range(width)],
        "sha256": "0" * 64, "target": "price", "sep": ",", "encoding": "utf-8"})
    return {"rows": counts, "width": width}


def _identity_preprocessor(width: int) -> dict:
    """A fitted preprocessor state for ``width`` numeric columns and a log target (as the synthetic y_raw)."""
    import pandas as pd

    from housenet.data.preprocessing import Preprocessor

    rng = np.random.default_rng(1)
    df = pd.DataFrame(rng.standard_normal((50, width)), columns=[f"x{i}" for i in range(width)])
    df["price"] = np.exp(12 + 0.3 * rng.standard_normal(50))
    return Preprocessor.fit(df, "price").to_dict()


# -- workers -------------------------------------------------------------------------------------------
def train_case(folder: Path, overrides: list[str], track: bool, threads: int | None,
               flush_min_seconds: float | None = None) -> dict:
    """The train stage's library function on prepared arrays in ``folder``, timed by phase, with its peak memory.

    ``threads``: numpy's BLAS threads (compute.blas_threads; None: as numpy starts).
    ``flush_min_seconds``: EpochMetrics's time floor between flushes, if not its default.
    """
    import importlib

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import pipeline_probe as probe

    import housenet.train as train_mod
    from housenet import tracking
    from housenet.config import compose

    uri = f"sqlite:///{folder}/mlflow.db"
    if track:  # imported before the baseline: MLflow's ~170 MB and its import time are not training's
        for m in probe.mlflow_modules(uri):
            importlib.import_module(m)
    if flush_min_seconds is not None:
        defaults = list(tracking.EpochMetrics.__init__.__defaults__)
        defaults[-1] = flush_min_seconds  # min_seconds
        tracking.EpochMetrics.__init__.__defaults__ = tuple(defaults)
    paths = [f"paths.arrays={folder}/arrays.npz", f"paths.preprocessor={folder}/preprocessor.json",
             f"paths.source_json={folder}/source.json", f"paths.model_dir={folder}/model",
             f"paths.run_json={folder}/run.json", f"paths.loss_csv={folder}/loss.csv",
             f"tracking.uri={uri}", f"compute.blas_threads={threads or 'null'}"]
    cfg = compose([*paths, *overrides])
    probe.instrument("housenet.train", train_mod)
    base = rss_bytes()
    t = time.perf_counter()
    res = train_mod.train(cfg, track=track)
    total = time.perf_counter() - t
    peak = peak_rss_bytes() - base
    with np.load(f"{folder}/arrays.npz") as z:
        dtype = np.dtype(cfg.model.dtype)
        training_bytes = sum(z[k].size * dtype.itemsize for k in ("X_train", "y_train", "X_val", "y_val"))
        loaded_bytes = sum(z[k].nbytes for k in z.files)
        n_train = z["y_train"].shape[0]
    h = res.history
    return {"seconds": total, "buckets": dict(probe.buckets), "inclusive": dict(probe.inclusive),
            "epoch_seconds": h.seconds, "epochs": h.epochs_run,
            "n_train": n_train, "peak_bytes": peak, "training_array_bytes": training_bytes,
            "npz_bytes": loaded_bytes, "final_train_loss": h.train_loss[-1], "threads": threads}


def make_raw_table(folder: Path, rows: int, seed: int = 0) -> dict:
    """An Ames-like raw table of ``rows`` rows: Ames rows drawn with replacement, numeric columns jittered."""
    import pandas as pd

    from housenet.data.sources import load_rdataset, write_raw

    ames = load_rdataset("modeldata", "ames")
    rng = np.random.default_rng(seed)
    df = ames.iloc[rng.integers(0, len(ames), rows)].reset_index(drop=True)
    for c in df.columns:
        if pd.api.types.is_float_dtype(df[c]) and c != "Sale_Price":
            df[c] = df[c] * rng.uniform(0.95, 1.05, rows)
    folder.mkdir(parents=True, exist_ok=True)
    prov = write_raw(df, folder / "table.csv", folder / "source.json", source="synthetic:ames-resampled",
                     name="ames-resampled", target="Sale_Price")
    return {"rows": prov.rows, "columns": len(prov.columns), "csv_bytes": (folder / "table.csv").stat().st_size}


def preprocess_case(folder: Path) -> dict:
    """The preprocess stage's library function on ``folder``/table.csv, timed, with its peak memory."""
    import housenet.preprocess as pre_mod
    from housenet.config import compose

    cfg = compose([f"paths.raw_csv={folder}/table.csv", f"paths.source_json={folder}/source.json",
                   f"paths.arrays={folder}/arrays.npz", f"paths.preprocessor={folder}/preprocessor.json"])
    base = rss_bytes()
    t = time.perf_counter()
    _, arrays = pre_mod.preprocess(cfg)
    total = time.perf_counter() - t
    peak = peak_rss_bytes() - base
    return {"seconds": total, "peak_bytes": peak, "rows": {p: len(arrays[f"X_{p}"]) for p in SPLIT},
            "width": arrays["X_train"].shape[1], "arrays_bytes": sum(a.nbytes for a in arrays.values()
                                                                     if isinstance(a, np.ndarray)),
            "csv_bytes": (folder / "table.csv").stat().st_size}


def evaluate_case(folder: Path, model_dir: Path) -> dict:
    """Test and validation metrics of a trained model folder on the arrays in ``folder``."""
    from housenet.data.arrays import load_arrays
    from housenet.evaluate import evaluate_model

    metrics, _ = evaluate_model(model_dir, load_arrays(folder / "arrays.npz"))
    return metrics


def main(argv: list[str]) -> int:
    kind, args = argv[0], json.loads(argv[1])
    folder = Path(args.pop("folder"))
    if kind == "make_arrays":
        out = make_arrays(folder, **args)
    elif kind == "train":
        out = train_case(folder, **args)
    elif kind == "make_raw_table":
        out = make_raw_table(folder, **args)
    elif kind == "preprocess":
        out = preprocess_case(folder)
    elif kind == "evaluate":
        out = evaluate_case(folder, Path(args["model_dir"]))
    else:
        raise SystemExit(f"unknown worker {kind!r}")
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
