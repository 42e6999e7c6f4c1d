"""Choose the network's defaults on held-out rows of the default split's training + validation part.

    python bench/select_defaults.py                         # Ames and Windsor, the built-in candidates
    python bench/select_defaults.py --csv ../shared/data/Housing.csv --target price
    python bench/select_defaults.py --candidate "skip=model.skip=true;optim.lr=0.001" ...

For each data set it runs the pipeline's ingest stage function and row filters, makes
the DEFAULT split (conf's seed) and sets its test rows aside, unread. The remaining
rows (the default training + validation rows, "the pool") are cut ``--inner`` times
(default_rng(1000 + r)) into an inner HOLDOUT (a quarter of the pool: test / (train +
validation) as in conf's split), an inner validation part (the same fraction of the
rest as conf's validation part has of training + validation) and an inner training
part. For each candidate (Hydra overrides on top of conf/) and inner split it fits the
Preprocessor on the inner training part, trains with ``fit_network`` exactly as the
pipeline does (early stopping on the inner validation part, or k-fold members over inner
training + validation with ``model.ensemble_folds``) and scores R^2 in price units on the
inner holdout, which nothing was fitted or stopped on. The same holdouts score
LinearRegression and RidgeCV on the log target, fitted on inner training + validation, for
scale. Prints the mean per candidate and data set, the mean paired difference from the first
candidate, and writes the rows to bench/.out/select_defaults.json.
docs/model-quality.md reports the outcome.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from omegaconf import OmegaConf

sys.path.insert(0, str(Path(__file__).resolve().parent))
from model_quality import RDATASETS, load_table, table_overrides  # noqa: E402

from housenet.config import compose  # noqa: E402
from housenet.data.preprocessing import prepare_parts  # noqa: E402
from housenet.data.split import split_indices  # noqa: E402
from housenet.preprocess import filtered_table  # noqa: E402
from housenet.metrics import regression_metrics  # noqa: E402
from housenet.train import fit_network  # noqa: E402


ROOT = Path(__file__).resolve().parents[1]
CANDIDATES = {  # the first is the reference of the paired differences
    "previous default: 5 networks, lr 3e-3": ["model.skip=false", "model.ensemble_folds=false", "optim.lr=0.003"],
    "skip path": ["model.skip=true", "model.ensemble_folds=false", "optim.lr=0.003"],
    "skip path, lr 1e-3": ["model.skip=true", "model.ensemble_folds=false", "optim.lr=0.001"],
    "k-fold members": ["model.skip=false", "model.ensemble_folds=true", "optim.lr=0.003"],
    "k-fold members, lr 1e-3": ["model.skip=false", "model.ensemble_folds=true", "optim.lr=0.001"],
    "k-fold members, skip path, lr 1e-3": ["model.skip=true", "model.ensemble_folds=true", "optim.lr=0.001"],
    "k-fold, skip, lr 1e-3, 10 networks": ["model.skip=true", "model.ensemble_folds=true", "optim.lr=0.001",
                                           "model.ensemble=10"],
}
PEERS = ("LinearRegression (log)", "RidgeCV (log)")
LARGE = 2000  # rows: a table this large gets --inner-large holdouts (Ames: each fit takes seconds)


def inner_splits(cfg, n_inner: int, n_inner_large: int) -> tuple[object, str, list[dict]]:
    """(table, target, [{"train", "val", "test": positions}, ...]) inside the default train + validation rows:
    ``n_inner`` of them, ``n_inner_large`` for a table of more than LARGE rows."""
    df, prov, _ = filtered_table(cfg)
    if len(df) > LARGE:
        n_inner = n_inner_large
    val_f, test_f = float(cfg.split.val_fraction), float(cfg.split.test_fraction)
    train, val, _test = split_indices(len(df), val_f, test_f, cfg.seed)
    pool = np.concatenate([train, val])
    n_hold = round(len(pool) * test_f / (1 - test_f))
    n_val = round((len(pool) - n_hold) * val_f / (1 - test_f))
    splits = []
    for r in range(n_inner):
        perm = np.random.default_rng(1000 + r).permutation(pool)
        splits.append({"train": np.sort(perm[n_hold + n_val:]), "val": np.sort(perm[n_hold:n_hold + n_val]),
                       "test": np.sort(perm[:n_hold])})
    return df, prov.target, splits


def holdout_r2(cfg, pre, a: dict) -> tuple[float, int]:
    net, history = fit_network(cfg, a)
    pred = pre.inverse_target(net.predict(a["X_test"])[:, 0].astype(np.float64))
    return regression_metrics(a["y_test_raw"], pred, "test")["test_r2"], history.best_epoch


def peer_r2(name: str, pre, a: dict) -> float:
    from sklearn.linear_model import LinearRegression, RidgeCV

    model = LinearRegression() if name.startswith("LinearRegression") else RidgeCV(alphas=np.logspace(-3, 3, 25))
    model.fit(np.concatenate([a["X_train"], a["X_val"]]), np.concatenate([a["y_train"], a["y_val"]]))
    return regression_metrics(a["y_test_raw"], pre.inverse_target(model.predict(a["X_test"])), "test")["test_r2"]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--csv", help="also a CSV data set (path)")
    p.add_argument("--target", default="price", help="the CSV's target column")
    p.add_argument("--inner", type=int, default=20, help="inner splits of the default train + validation rows")
    p.add_argument("--inner-large", type=int, default=5,
                   help=f"inner splits for tables of more than {LARGE} rows (Ames: each fit takes seconds)")
    p.add_argument("--datasets", default=",".join(RDATASETS), help="conf/data sets to use")
    p.add_argument("--candidate", action="append", default=[], metavar="NAME=OVERRIDES",
                   help="replace the built-in candidates: NAME=override1;override2 (repeatable)")
    args = p.parse_args()
    candidates = CANDIDATES
    if args.candidate:
        candidates = {c.split("=", 1)[0]: [o for o in c.split("=", 1)[1].split(";") if o] for c in args.candidate}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        sets = [(name, table_overrides(name, None, None, Path(tmp))) for name in args.datasets.split(",") if name]
        if args.csv:
            sets.append((Path(args.csv).name, table_overrides("csv", args.csv, args.target, Path(tmp))))
        for name, base in sets:
            load_table(base)
            cfg0 = compose(base)
            df, target, splits = inner_splits(cfg0, args.inner, args.inner_large)
            options = OmegaConf.to_container(cfg0.preprocess, resolve=True)
            prepared = [prepare_parts(df, target, parts, **options) for parts in splits]
            for label in PEERS:
                for r, (pre, a) in enumerate(prepared):
                    rows.append({"data": name, "candidate": label, "inner": r, "r2": peer_r2(label, pre, a)})
            for label, extra in candidates.items():
                cfg = compose([*base, *extra])
                if OmegaConf.to_container(cfg.preprocess, resolve=True) != options:
                    raise SystemExit(f"{label}: candidates may not change preprocess options (the holdouts are shared)")
                for r, (pre, a) in enumerate(prepared):
                    t0 = time.perf_counter()
                    r2, best = holdout_r2(cfg, pre, a)
                    rows.append({"data": name, "candidate": label, "inner": r, "r2": r2, "best_epoch": best,
                                 "seconds": time.perf_counter() - t0})
                    print(f"{name:12s} {label:36s} inner split {r:2d}: holdout R^2 {r2:.4f} (best epoch {best})",
                          flush=True)
    out = ROOT / "bench" / ".out" / "select_defaults.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rows, indent=1))
    names = list(dict.fromkeys(r["data"] for r in rows))
    n_inner = {n: 1 + max(r["inner"] for r in rows if r["data"] == n) for n in names}
    first = next(iter(candidates))

    def scores(n: str, label: str) -> np.ndarray:
        return np.array([r["r2"] for r in sorted((r for r in rows if r["data"] == n and r["candidate"] == label),
                                                 key=lambda r: r["inner"])])

    print("\n| candidate | " + " | ".join(f"{n} ({n_inner[n]} holdouts)" for n in names)
          + " | mean paired difference from the first | holdouts where it beats the first |")
    print("|---|" + "---:|" * len(names) + "---:|---|")
    for label in [*candidates, *PEERS]:
        cells = [float(scores(n, label).mean()) for n in names]
        diffs = [scores(n, label) - scores(n, first) for n in names]
        print(f"| {label} | " + " | ".join(f"{c:.4f}" for c in cells)
              + f" | {statistics.mean(float(d.mean()) for d in diffs):+.4f} | "
              + " / ".join(f"{int((d > 0).sum())} of {len(d)}" for d in diffs) + " |")


if __name__ == "__main__":
    main()
