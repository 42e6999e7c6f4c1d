"""Choose the network's defaults on VALIDATION data only: candidates x data sets x split seeds.

    python bench/select_defaults.py                         # Ames and Windsor
    python bench/select_defaults.py --csv ../shared/data/Housing.csv --target price
    python bench/select_defaults.py --candidate skip="model.skip=true" --candidate ...

For each candidate (a list of Hydra overrides on top of conf/), each data set and each
split seed, it runs the pipeline's ingest and preprocess stage functions, trains with
``fit_network`` (early stopping on the validation part, as the pipeline does) and
scores validation R^2 in price units. The test part is never predicted. It prints a
table of the mean validation R^2 per candidate and data set, and writes the rows to
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
from model_quality import RDATASETS, load_table, table_overrides  # noqa: E402

from housenet.config import compose  # noqa: E402
from housenet.metrics import regression_metrics  # noqa: E402
from housenet.train import fit_network  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CANDIDATES = {
    "defaults": [],
    "skip": ["model.skip=true"],
    "skip, wd 0.3": ["model.skip=true", "optim.weight_decay=0.3"],
    "skip, wd 3": ["model.skip=true", "optim.weight_decay=3.0"],
    "skip, hidden 32": ["model.skip=true", "model.hidden=[32]"],
    "skip, hidden 128": ["model.skip=true", "model.hidden=[128]"],
}


def validation_r2(overrides: list[str], seed: int) -> tuple[float, int]:
    from housenet.preprocess import preprocess as preprocess_stage

    cfg = compose([*overrides, f"seed={seed}"])
    pre, a = preprocess_stage(cfg)
    net, history = fit_network(cfg, a)
    pred = pre.inverse_target(net.predict(a["X_val"])[:, 0].astype(np.float64))
    return regression_metrics(a["y_val_raw"], pred, "val")["val_r2"], history.best_epoch


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--csv", help="also a CSV data set (path)")
    p.add_argument("--target", default="price", help="the CSV's target column")
    p.add_argument("--seeds", default="0,1,2,3,4,42", help="split seeds")
    p.add_argument("--datasets", default=",".join(RDATASETS), help="conf/data sets to use")
    p.add_argument("--candidate", action="append", default=[], metavar="NAME=OVERRIDES",
                   help="replace the built-in candidates: NAME=override1,override2 (repeatable)")
    args = p.parse_args()
    candidates = CANDIDATES
    if args.candidate:
        candidates = {c.split("=", 1)[0]: [o for o in c.split("=", 1)[1].split(";") if o] for c in args.candidate}
    seeds = [int(s) for s in args.seeds.split(",")]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        sets = [(name, table_overrides(name, None, None, Path(tmp))) for name in args.datasets.split(",") if name]
        if args.csv:
            sets.append((Path(args.csv).name, table_overrides("csv", args.csv, args.target, Path(tmp))))
        for name, base in sets:
            load_table(base)
            for label, extra in candidates.items():
                for seed in seeds:
                    t0 = time.perf_counter()
                    r2, best = validation_r2([*base, *extra], seed)
                    rows.append({"data": name, "candidate": label, "seed": seed, "val_r2": r2, "best_epoch": best,
                                 "seconds": time.perf_counter() - t0})
                    print(f"{name:12s} {label:20s} seed {seed:3d}: val R^2 {r2:.4f} (best epoch {best})", flush=True)
    out = ROOT / "bench" / ".out" / "select_defaults.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rows, indent=1))
    names = list(dict.fromkeys(r["data"] for r in rows))
    print("\n| candidate | " + " | ".join(f"{n} val R^2 (mean of {len(seeds)} seeds)" for n in names) + " |")
    print("|---|" + "---:|" * len(names))
    for label in candidates:
        cells = [statistics.mean(r["val_r2"] for r in rows if r["data"] == n and r["candidate"] == label)
                 for n in names]
        print(f"| {label} | " + " | ".join(f"{c:.4f}" for c in cells) + " |")


if __name__ == "__main__":
    main()
