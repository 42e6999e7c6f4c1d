"""Stage 2, preprocess: split the raw table, fit the preprocessing on the training part, save arrays.

    python -m housenet.preprocess
    python -m housenet.preprocess split.test_fraction=0.25 preprocess.log_target=false

Writes ``paths.arrays`` (X/y for train, validation and test, .npz) and
``paths.preprocessor`` (the fitted state, JSON), which prediction reuses.
"""

from __future__ import annotations

from pathlib import Path

import hydra
from omegaconf import DictConfig, OmegaConf

from housenet.config import conf_dir
from housenet.data.arrays import save_arrays
from housenet.data.filters import exclude_above
from housenet.data.preprocessing import Preprocessor, prepare
from housenet.data.sources import read_raw
from housenet.stage import exit_now, launch, run_stage


def filtered_table(cfg: DictConfig):
    """(raw table after conf/data's row filters, its Provenance, rows excluded): what the split sees."""
    df, prov = read_raw(cfg.paths.raw_csv, cfg.paths.source_json)
    limits = cfg.data.get("exclude_above")
    df, excluded = exclude_above(df, OmegaConf.to_container(limits) if limits else None, cfg.paths.raw_csv)
    return df, prov, excluded


def preprocess(cfg: DictConfig) -> tuple[Preprocessor, dict]:
    df, prov, excluded = filtered_table(cfg)
    options = OmegaConf.to_container(cfg.preprocess, resolve=True)  # keyword arguments of Preprocessor.fit
    origin = str(cfg.paths.raw_csv) + (" (after data.exclude_above)" if excluded else "")
    pre, arrays = prepare(df, prov.target, val_fraction=float(cfg.split.val_fraction),
                          test_fraction=float(cfg.split.test_fraction), seed=cfg.seed, origin=origin, **options)
    save_arrays(cfg.paths.arrays, arrays)
    try:
        pre.save(cfg.paths.preprocessor)
    except BaseException:  # the two files go together: never leave the arrays alone
        Path(cfg.paths.arrays).unlink(missing_ok=True)
        raise
    arrays["excluded_rows"] = excluded
    arrays["notes"] = pre.notes(df)
    return pre, arrays


def _run(cfg: DictConfig) -> str:
    pre, a = preprocess(cfg)
    for note in a["notes"]:  # what was done to the data besides encoding it (docs/reliability.md)
        print(f"housenet.preprocess: {note}", flush=True)
    dropped = f", dropped {len(pre.dropped)} column{'s' if len(pre.dropped) != 1 else ''}" if pre.dropped else ""
    if a["excluded_rows"]:
        dropped += f", excluded {a['excluded_rows']} rows (data.exclude_above)"
    rows_out = len(a["X_train"]) + len(a["X_val"]) + len(a["X_test"])
    return (f"{rows_out + a['excluded_rows']} rows in, {len(a['X_train'])}/{len(a['X_val'])}/{len(a['X_test'])} "
            f"train/val/test rows out, {a['X_train'].shape[1]} features{dropped} -> {cfg.paths.arrays}")


@hydra.main(version_base="1.3", config_path=conf_dir(), config_name="config")
def main(cfg: DictConfig) -> None:
    run_stage("preprocess", _run, cfg)


if __name__ == "__main__":
    launch("preprocess", main)
    exit_now()  # skip the interpreter teardown (housenet.stage.exit_now)
