"""Turn a raw table into model arrays: fit on the training rows only, save as JSON (no pickle).

``Preprocessor.fit(train_df, target)`` learns, from the training rows only:

- numeric columns: the median (to fill missing and infinite values), then
  (``log_skewed``) whether to take log1p of the column: only when its training
  values are all >= 0, their skewness exceeds ``skew_threshold`` and log1p
  lowers it; then the mean and population std of the filled (logged) column,
  to standardise; then (``clip``, ``clip_to_range``) the bounds the
  standardised feature is clipped to, so rows far outside the training data
  cannot push the network into extrapolation;
- categorical columns (bool, object, string, category dtypes; a yes/no column
  is a 2-level categorical): the levels for a one-hot encoding (see columns.py);
- columns with a single distinct value are dropped (``dropped`` says why);
- the target: optional ``log``, then optional standardisation.

``transform(df)`` gives X, float64 of shape (rows, n_features), C-contiguous
and finite; ``transform_target(y)`` gives the target in model space and
``inverse_target(z)`` maps predictions back to price units.

The state file (``save``/``load``) is JSON:
    {"format": "housenet.preprocessor/1", "target": ..., "log_target": bool,
     "standardize_target": bool, "target_mean": float, "target_std": float,
     "options": {...}, "n_rows": int, "columns": [one dict per kept column],
     "dropped": [{"name", "reason"}], "feature_names": [...]}
"""

from __future__ import annotations

import inspect
import json
import os
from pathlib import Path
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from . import columns as C
from .arrays import load_arrays, save_arrays
from .atomic import atomic_write_json
from .errors import DataError
from .split import split_indices
from .tables import check_columns, check_positive_target, check_table

__all__ = ["Preprocessor", "prepare", "check_options", "save_arrays", "load_arrays", "FORMAT"]

FORMAT = "housenet.preprocessor/1"


class Preprocessor:
    """A fitted preprocessing state. Build it with ``fit``, ``from_dict`` or ``load``."""

    def __init__(self, state: dict[str, Any]) -> None:
        self.target: str = state["target"]
        self.log_target: bool = bool(state["log_target"])
        self.standardize_target: bool = bool(state["standardize_target"])
        self.target_mean: float = float(state["target_mean"])
        self.target_std: float = float(state["target_std"])
        self.options: dict[str, Any] = dict(state["options"])
        self.n_rows: int = int(state["n_rows"])
        self.columns: list[dict] = [dict(c) for c in state["columns"]]
        self.dropped: list[dict] = [dict(d) for d in state["dropped"]]

    # ---- fitting -------------------------------------------------------------------------------------------
    @classmethod
    def fit(
        cls, df: pd.DataFrame, target: str, *, log_target: bool = True, standardize_target: bool = True,
        max_categories: int = 50, min_category_count: int = 1, drop_columns: Iterable[str] = (),
        log_skewed: bool = False, skew_threshold: float = 1.0, clip: float | None = None,
        clip_to_range: bool = False,
    ) -> "Preprocessor":
        """Learn the preprocessing from ``df`` (the TRAINING rows only) with ``target`` as the label column.

        ``log_skewed``, ``skew_threshold``: log1p of non-negative numeric columns whose
        training skewness exceeds the threshold (and which log1p makes less skewed).
        ``clip``: clip standardised numeric features to [-clip, clip] (None: no clipping);
        ``clip_to_range``: clip them to their standardised training range.
        """
        check_options(log_target=log_target, standardize_target=standardize_target, max_categories=max_categories,
                      min_category_count=min_category_count, drop_columns=drop_columns, log_skewed=log_skewed,
                      skew_threshold=skew_threshold, clip=clip, clip_to_range=clip_to_range)
        if not isinstance(df, pd.DataFrame):
            raise DataError(f"Preprocessor.fit needs a pandas DataFrame, not {type(df).__name__}")
        drop_columns = [drop_columns] if isinstance(drop_columns, str) else [str(c) for c in (drop_columns or ())]
        check_table(df, target, "training data")
        unknown = [c for c in drop_columns if c not in df.columns]
        if unknown:
            raise DataError(f"preprocess.drop_columns names columns not in the table: {', '.join(unknown)}; "
                            "fix the list")
        if target in drop_columns:
            raise DataError(f"preprocess.drop_columns contains the target {target!r}; remove it from the list")

        y = df[target].to_numpy(dtype=np.float64)
        z = _log_checked(y, target) if log_target else y
        mean, std = (float(z.mean()), float(z.std())) if standardize_target else (0.0, 1.0)
        if not (np.isfinite(std) and std > 0):
            std = 1.0

        kept, dropped = [], [{"name": c, "reason": "in preprocess.drop_columns"} for c in drop_columns]
        for name in df.columns:
            if name == target or name in drop_columns:
                continue
            s = df[name]
            if C.column_kind(s) == "numeric":
                col, reason = C.fit_numeric(str(name), s, log_skewed=bool(log_skewed),
                                            skew_threshold=float(skew_threshold),
                                            clip=None if clip is None else float(clip),
                                            clip_to_range=bool(clip_to_range))
            else:
                col, reason = C.fit_categorical(str(name), s, int(max_categories), int(min_category_count))
            if col is None:
                dropped.append({"name": str(name), "reason": reason})
            else:
                kept.append(col)
        if not kept:
            gone = ", ".join(d["name"] for d in dropped) or "none"
            raise DataError(f"no feature columns left after dropping {gone}; the table needs columns besides the target")
        options = {"max_categories": int(max_categories), "min_category_count": int(min_category_count),
                   "drop_columns": drop_columns, "log_skewed": bool(log_skewed),
                   "skew_threshold": float(skew_threshold), "clip": None if clip is None else float(clip),
                   "clip_to_range": bool(clip_to_range)}
        return cls({"target": target, "log_target": bool(log_target), "standardize_target": bool(standardize_target),
                    "target_mean": mean, "target_std": std, "options": options, "n_rows": int(len(df)),
                    "columns": kept, "dropped": dropped})

    # ---- applying ------------------------------------------------------------------------------------------
    @property
    def feature_names(self) -> list[str]:
        """One name per output column of ``transform``: "Lot_Area", "Neighborhood=NAmes", ..."""
        return [n for col in self.columns for n in C.feature_names(col)]

    @property
    def n_features(self) -> int:
        return sum(C.width(col) for col in self.columns)

    @property
    def input_columns(self) -> list[str]:
        """The columns ``transform`` needs (the target is not one of them)."""
        return [col["name"] for col in self.columns]

    def transform(self, df: pd.DataFrame) -> np.ndarray:
        """X, float64 of shape (len(df), n_features), C-contiguous and finite.

        Extra columns (the target among them) are ignored; missing ones raise DataError.
        """
        if not isinstance(df, pd.DataFrame):
            raise DataError(f"transform needs a pandas DataFrame, not {type(df).__name__}")
        absent = [c for c in self.input_columns if c not in df.columns]
        if absent:
            raise DataError(f"the table lacks feature columns the preprocessor was fitted with: {', '.join(absent)}; "
                            "add them (empty values are allowed)")
        check_columns(df[self.input_columns], "the table")
        out = np.empty((len(df), self.n_features), dtype=np.float64)
        start = 0
        for col in self.columns:
            stop = start + C.width(col)
            C.transform_into(col, df[col["name"]], out[:, start:stop])
            start = stop
        return out

    def transform_target(self, y: Any) -> np.ndarray:
        """Prices (n,) -> model space (n,): optional log, then optional standardisation."""
        y = np.asarray(y, dtype=np.float64)
        if not np.isfinite(y).all():
            raise DataError(f"target {self.target!r} has missing or infinite values; remove those rows")
        z = _log_checked(y, self.target) if self.log_target else y
        return (z - self.target_mean) / self.target_std

    def inverse_target(self, z: Any) -> np.ndarray:
        """Model space (n,) -> prices (n,); the exact inverse of ``transform_target``."""
        y = np.asarray(z, dtype=np.float64) * self.target_std + self.target_mean
        return np.exp(y) if self.log_target else y

    def notes(self, df: pd.DataFrame) -> list[str]:
        """A few lines on what the preprocessing does to ``df`` beyond encoding it, for the user to see.

        One line per dropped column (with the reason); one line naming the numeric
        columns whose missing or infinite values are filled with the training median;
        one line naming the categorical columns whose rare levels are grouped as __other__.
        """
        out = [f"dropped column {d['name']!r}: {d['reason']}" for d in self.dropped]
        filled = [(c["name"], int(np.isnan(C.numeric_values(df[c["name"]])).sum())) for c in self.columns
                  if c["kind"] == "numeric" and c["name"] in df.columns]
        filled = [(name, n) for name, n in filled if n]
        if filled:
            out.append(f"filled {sum(n for _, n in filled)} missing or infinite values with the training median "
                       f"in {_named(filled)}")
        grouped = [(c["name"], len(c["other"])) for c in self.columns if c["kind"] == "categorical" and c["other"]]
        if grouped:
            out.append(f"grouped rare categories as {C.OTHER} (preprocess.max_categories="
                       f"{self.options['max_categories']}, min_category_count={self.options['min_category_count']}) "
                       f"in {_named(grouped)}")
        return out

    # ---- state ---------------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {"format": FORMAT, "target": self.target, "log_target": self.log_target,
                "standardize_target": self.standardize_target, "target_mean": self.target_mean,
                "target_std": self.target_std, "options": self.options, "n_rows": self.n_rows,
                "columns": self.columns, "dropped": self.dropped, "feature_names": self.feature_names}

    @classmethod
    def from_dict(cls, state: dict[str, Any], origin: str = "preprocessor state") -> "Preprocessor":
        if not isinstance(state, dict) or state.get("format") != FORMAT:
            got = state.get("format") if isinstance(state, dict) else type(state).__name__
            raise DataError(f"{origin}: format {got!r} is not {FORMAT!r}; re-run the preprocess stage")
        try:
            pre = cls(state)
        except (KeyError, TypeError, ValueError) as e:
            raise DataError(f"{origin}: incomplete preprocessor state ({type(e).__name__}: {e}); "
                            "re-run the preprocess stage") from None
        if "feature_names" in state and state["feature_names"] != pre.feature_names:
            raise DataError(f"{origin}: feature_names do not match the columns; re-run the preprocess stage")
        return pre

    def save(self, path: str | os.PathLike) -> Path:
        """Write the state as JSON, atomically."""
        return atomic_write_json(path, self.to_dict())

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Preprocessor":
        p = Path(path)
        if not p.is_file():
            raise DataError(f"{p}: no such file; run the preprocess stage first")
        try:
            state = json.loads(p.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise DataError(f"{p}: not a JSON preprocessor state ({e}); re-run the preprocess stage") from None
        return cls.from_dict(state, origin=str(p))

    def __repr__(self) -> str:
        return (f"Preprocessor(target={self.target!r}, n_features={self.n_features}, "
                f"columns={len(self.columns)}, dropped={len(self.dropped)}, log_target={self.log_target})")


def check_options(**options: Any) -> None:
    """Raise DataError naming ``preprocess.<key>`` unless ``options`` are valid keyword arguments of
    ``Preprocessor.fit`` (the pipeline checks conf/'s ``preprocess`` section with it before reading data)."""
    known = [name for name, p in inspect.signature(Preprocessor.fit).parameters.items() if p.kind == p.KEYWORD_ONLY]
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise DataError(f"preprocess.{unknown[0]} is not a preprocessing option; the options are: {', '.join(known)}")
    for key in ("max_categories", "min_category_count"):
        v = options.get(key, 1)
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise DataError(f"preprocess.{key}={v!r} must be a whole number >= 1")
    for key in ("log_target", "standardize_target", "log_skewed", "clip_to_range"):
        v = options.get(key, False)
        if not isinstance(v, (bool, np.bool_)):
            raise DataError(f"preprocess.{key}={v!r} must be true or false")
    v = options.get("skew_threshold", 1.0)
    if isinstance(v, bool) or not isinstance(v, (int, float, np.number)) or not np.isfinite(v):
        raise DataError(f"preprocess.skew_threshold={v!r} must be a finite number")
    v = options.get("clip")
    if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float, np.number)) or not np.isfinite(v)
                          or v <= 0):
        raise DataError(f"preprocess.clip={v!r} must be a positive number, or null for no clipping")
    v = options.get("drop_columns", ())
    if v is not None and not isinstance(v, (str, Iterable)):
        raise DataError(f"preprocess.drop_columns={v!r} must be a list of column names")


def _named(counts: list[tuple[str, int]], shown: int = 6) -> str:
    """"3 columns: a (2), b (1), c (4)", at most ``shown`` of them named."""
    names = ", ".join(f"{name} ({n})" for name, n in counts[:shown]) + (", ..." if len(counts) > shown else "")
    return f"{len(counts)} column{'s' if len(counts) != 1 else ''}: {names}"


def _log_checked(y: np.ndarray, target: str) -> np.ndarray:
    bad = np.flatnonzero(~(y > 0))
    if len(bad):
        raise DataError(f"target column {target!r} has {len(bad)} values <= 0 (e.g. {float(y[bad[0]])!r}) and log "
                        "needs positive values; remove those rows or set preprocess.log_target=false")
    return np.log(y)


def prepare(
    df: pd.DataFrame, target: str, *, val_fraction: float, test_fraction: float, seed: int, origin: str = "the table",
    **preprocessor_options: Any
) -> tuple[Preprocessor, dict[str, np.ndarray]]:
    """Split ``df`` (split_indices), fit a Preprocessor on the training part, transform all three parts.

    Returns (preprocessor, arrays) with arrays:
        X_train, X_val, X_test      float64 (rows, n_features)
        y_train, y_val, y_test      float64 (rows,), model space (transform_target)
        y_train_raw, y_val_raw, y_test_raw   float64 (rows,), price units
        train_idx, val_idx, test_idx         int64 (rows,), row positions in ``df``
    ``preprocessor_options`` go to ``Preprocessor.fit``; ``origin`` names the table in error messages.
    """
    check_table(df, target, origin)
    if preprocessor_options.get("log_target", True):  # every row, with its position, before the split
        check_positive_target(df, target, origin)
    parts = dict(zip(("train", "val", "test"), split_indices(len(df), val_fraction, test_fraction, seed)))
    return prepare_parts(df, target, parts, **preprocessor_options)


def prepare_parts(df: pd.DataFrame, target: str, parts: dict[str, np.ndarray], **preprocessor_options: Any
                  ) -> tuple[Preprocessor, dict[str, np.ndarray]]:
    """``prepare`` for given row positions: ``parts`` maps "train" (and e.g. "val", "test") to positions in ``df``."""
    pre = Preprocessor.fit(df.iloc[parts["train"]], target, **preprocessor_options)
    arrays: dict[str, np.ndarray] = {}
    for part, idx in parts.items():
        rows = df.iloc[idx]
        raw = rows[target].to_numpy(dtype=np.float64)
        arrays[f"X_{part}"] = pre.transform(rows)
        arrays[f"y_{part}"] = pre.transform_target(raw)
        arrays[f"y_{part}_raw"] = raw
        arrays[f"{part}_idx"] = idx
    return pre, arrays
