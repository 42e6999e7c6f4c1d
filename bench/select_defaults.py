"""Choose the network's defaults on VALIDATION data only: candidates x data sets x inner splits.

    python bench/select_defaults.py                         # Ames and Windsor, the built-in candidates
    python bench/select_defaults.py --csv ../shared/data/Housing.csv --target price
    python bench/select_defaults.py --candidate skip="model.skip=true" --candidate ...

For each data set it runs the pipeline's ingest stage function and row filters, makes
the DEFAULT split (conf's seed) and sets its test rows aside, unread. Inner split 0 is
the default train/validation split itself; inner split r > 0 reshuffles the same
train + validation rows (default_rng(r)) into parts of the same sizes. For each
candidate (Hydra overrides on top of conf/) and inner split it fits the Preprocessor on
the inner training part, trains with ``fit_network`` (early stopping on the inner
validation part, as the pipeline does) and scores validation R^2 in price units. It
prints the mean per candidate and data set and writes the rows to
bench/.out/select_defaults.json. docs/model-quality.md reports the outcome.
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
CANDIDATES = {  # the levers of the model-quality issue that conf/ had off before this run
    "single network": ["model.skip=false", "model.ensemble=1"],
    "skip path": ["model.skip=true", "model.ensemble=1"],
    "ensemble 5": ["model.skip=false", "model.ensemble=5"],
    "skip path, ensemble 5": ["model.skip=true", "model.ensemble=5"],
}


def inner_splits(cfg, n_inner: int) -> tuple[object, str, list[dict]]:
    """(table, target, [{"train": positions, "val": positions}, ...]) without the default test rows."""
    df, prov, _ = filtered_table(cfg)
    train, val, _test = split_indices(len(df), float(cfg.split.val_fraction), float(cfg.split.test_fraction),
                                      cfg.seed)
    pool = np.concatenate([train, val])
    splits = [{"train": train, "val": val}]
    for r in range(1, n_inner):
        perm = np.random.default_rng(r).permutation(pool)
        splits.append({"train": np.sort(perm[len(val):]), "val": np.sort(perm[:len(val)])})
    return df, prov.target, splits


def validation_r2(cfg, df, target: str, parts: dict) -> tuple[float, int]:
    options = OmegaConf.to_container(cfg.preprocess, resolve=True)
    pre, a = prepare_parts(df, target, parts, **options)
    net, history = fit_network(cfg, a)
    pred = pre.inverse_target(net.predict(a["X_val"])[:, 0].astype(np.float64))
    return regression_metrics(a["y_val_raw"], pred, "val")["val_r2"], history.best_epoch


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--csv", help="also a CSV data set (path)")
    p.add_argument("--target", default="price", help="the CSV's target column")
    p.add_argument("--inner", type=int, default=5, help="inner splits of the default train + validation rows")
    p.add_argument("--datasets", default=",".join(RDATASETS), help="conf/data sets to use")
    p.add_argument("--candidate", action="append", default=[], metavar="NAME=OVERRIDES",
                   help="replace the built-in candidates: NAME=override1,override2 (repeatable)")
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
            df, target, splits = inner_splits(compose(base), args.inner)
            for label, extra in candidates.items():
                cfg = compose([*base, *extra])
                for r, parts in enumerate(splits):
                    t0 = time.perf_counter()
                    r2, best = validation_r2(cfg, df, target, parts)
                    rows.append({"data": name, "candidate": label, "inner": r, "val_r2": r2, "best_epoch": best,
                                 "seconds": time.perf_counter() - t0})
                    print(f"{name:12s} {label:20s} inner split {r}: val R^2 {r2:.4f} (best epoch {best})", flush=True)
    out = ROOT / "bench" / ".out" / "select_defaults.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rows, indent=1))
    names = list(dict.fromkeys(r["data"] for r in rows))
    print("\n| candidate | " + " | ".join(f"{n} val R^2 (mean of {args.inner} inner splits)" for n in names) + " |")
    print("|---|" + "---:|" * len(names))
    for label in candidates:
        cells = [statistics.mean(r["val_r2"] for r in rows if r["data"] == n and r["candidate"] == label)
                 for n in names]
        print(f"| {label} | " + " | ".join(f"{c:.4f}" for c in cells) + " |")


if __name__ == "__main__":
    main()
