"""Fit and apply the encoding of one feature column (used by ``Preprocessor``).

A fitted column is a plain JSON-ready dict:

    {"name": "Lot_Area", "kind": "numeric", "median": m, "log1p": bool, "mean": mu, "std": s,
     "clip": [lo, hi] or null}
        one feature: missing or infinite values -> median first; then, if
        "log1p", log(1 + max(value, 0)); then (value - mean) / std; then, if
        "clip", clipped to [lo, hi] (in standardised units). A state without
        "log1p" or "clip" (written before they existed) means false / null.
    {"name": "Alley", "kind": "categorical", "levels": [...], "other": [...]}
        one feature per level (one-hot). ``levels``: the kept categories sorted,
        then "__other__" (stands for the categories listed in ``other``) and
        "__missing__" (only if values were missing in training). Any other
        value, or a missing value when "__missing__" is not a level, gives an
        all-zeros block.
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pandas as pd

from .errors import DataError

MISSING = "__missing__"
OTHER = "__other__"


def column_kind(s: pd.Series) -> str:
    """"numeric" for number dtypes; "categorical" for bool, object, string and category dtypes."""
    dtype = s.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "categorical"
    if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_complex_dtype(dtype):
        return "numeric"
    if isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_object_dtype(dtype) \
            or pd.api.types.is_string_dtype(dtype):
        return "categorical"
    raise DataError(f"column {s.name!r} has dtype {dtype}, which is not supported; "
                    f"convert it, or add it to preprocess.drop_columns")


def numeric_values(s: pd.Series) -> np.ndarray:
    """The column as float64 (rows,), missing and infinite values as NaN; DataError on text that is not a number."""
    if pd.api.types.is_bool_dtype(s.dtype) or not pd.api.types.is_numeric_dtype(s.dtype):
        num = pd.to_numeric(s.astype(object), errors="coerce")
        bad = np.flatnonzero((s.notna() & num.isna()).to_numpy())
        if len(bad):
            raise DataError(f"column {s.name!r} should be numeric but row {bad[0] + 1} has {s.iloc[bad[0]]!r}; "
                            "fix the value or leave it empty")
        s = num
    values = s.to_numpy(dtype=np.float64, na_value=np.nan).copy()
    values[~np.isfinite(values)] = np.nan
    return values


def factorize(s: pd.Series) -> tuple[np.ndarray, list[str]]:
    """(codes, labels): codes int64 (rows,) index ``labels`` (``str`` of each distinct value); -1 where missing.

    Two values with the same ``str`` (1 and "1") may appear as two entries
    with the same label; callers work on labels.
    """
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    return np.asarray(codes, dtype=np.int64), [str(u) for u in uniques]


def skewness(x: np.ndarray) -> float:
    """Sample skewness (third standardised moment, population form) of a finite 1-D array; 0 when constant."""
    with np.errstate(over="ignore", invalid="ignore"):  # huge values: NaN or inf, which never pass a threshold
        d = x - x.mean()
        m2 = float(np.mean(d * d))
        return float(np.mean(d * d * d)) / m2 ** 1.5 if m2 > 0 else 0.0


def fit_numeric(name: str, s: pd.Series, *, log_skewed: bool = False, skew_threshold: float = 1.0,
                clip: float | None = None, clip_to_range: bool = False) -> tuple[dict | None, str | None]:
    """(fitted column, None), or (None, reason) when the column carries no information.

    ``log_skewed``: use log1p of the column when all its training values are
    >= 0, their skewness exceeds ``skew_threshold`` and log1p lowers the
    absolute skewness. ``clip``: clip the standardised feature to
    [-clip, clip]; ``clip_to_range``: clip it to the standardised training
    range (both: the narrower of the two).
    """
    values = numeric_values(s)
    finite = values[~np.isnan(values)]
    if finite.size == 0:
        return None, "all values missing"
    distinct = np.unique(finite)
    if distinct.size == 1:
        return None, f"a single distinct value ({float(distinct[0])!r})"
    median = float(np.median(finite))
    imputed = np.where(np.isnan(values), median, values)
    log1p = False
    if log_skewed and distinct[0] >= 0 and np.isfinite(imputed).all():
        skew = skewness(imputed)
        if skew > skew_threshold and abs(skewness(np.log1p(imputed))) < abs(skew):
            log1p = True
            imputed = np.log1p(imputed)
    with np.errstate(over="ignore", invalid="ignore"):  # values near the float64 limit: checked just below
        mean, std = float(imputed.mean()), float(imputed.std())
    if not (np.isfinite(mean) and np.isfinite(std)):
        raise DataError(f"column {name!r} has values too large to standardise; rescale it or drop it")
    std = std if std > 0 else 1.0
    bounds = None
    if clip is not None or clip_to_range:
        lo, hi = -math.inf, math.inf
        if clip is not None:
            lo, hi = -float(clip), float(clip)
        if clip_to_range:
            with np.errstate(over="ignore"):
                z = (imputed - mean) / std
            lo, hi = max(lo, float(z.min())), min(hi, float(z.max()))
        bounds = [lo, hi] if math.isfinite(lo) and math.isfinite(hi) else None  # JSON has no infinity
    return {"name": name, "kind": "numeric", "median": median, "log1p": log1p, "mean": mean, "std": std,
            "clip": bounds}, None


def fit_categorical(name: str, s: pd.Series, max_categories: int, min_category_count: int
                    ) -> tuple[dict | None, str | None]:
    """(fitted column, None), or (None, reason) when the column carries no information."""
    codes, labs = factorize(s)
    counts: Counter[str] = Counter()
    for label, n in zip(labs, np.bincount(codes[codes >= 0], minlength=len(labs)).tolist()):
        counts[label] += n
    has_missing = bool((codes < 0).any())
    for reserved in (MISSING, OTHER):
        if reserved in counts:
            raise DataError(f"column {name!r} contains the value {reserved!r}, reserved by the preprocessor; rename it")
    if len(counts) + has_missing <= 1:
        return None, ("all values missing" if not counts else f"a single distinct value ({next(iter(counts))!r})")
    ranked = sorted(counts, key=lambda v: (-counts[v], v))
    kept = sorted(v for v in ranked[:max_categories] if counts[v] >= min_category_count)
    other = sorted(set(counts) - set(kept))
    levels = kept + ([OTHER] if other else []) + ([MISSING] if has_missing else [])
    if len(levels) <= 1:
        return None, f"every category is rarer than min_category_count={min_category_count}"
    return {"name": name, "kind": "categorical", "levels": levels, "other": other}, None


def feature_names(col: dict) -> list[str]:
    """"Lot_Area" for a numeric column; "Alley=Paved", ... one per level for a categorical one."""
    if col["kind"] == "numeric":
        return [col["name"]]
    return [f"{col['name']}={level}" for level in col["levels"]]


def width(col: dict) -> int:
    return 1 if col["kind"] == "numeric" else len(col["levels"])


def transform_into(col: dict, s: pd.Series, out: np.ndarray) -> None:
    """Write the encoding of ``s`` into ``out`` of shape (rows, width(col))."""
    if col["kind"] == "numeric":
        values = numeric_values(s)
        values[np.isnan(values)] = col["median"]
        if col.get("log1p", False):
            values = np.log1p(np.maximum(values, 0.0))  # below the training minimum (0): as 0
        out[:, 0] = (values - col["mean"]) / col["std"]
        bounds = col.get("clip")
        if bounds is not None:
            np.clip(out[:, 0], bounds[0], bounds[1], out=out[:, 0])
        return
    index = {level: i for i, level in enumerate(col["levels"])}
    if col["other"]:
        index.update(dict.fromkeys(col["other"], index[OTHER]))
    codes, labs = factorize(s)
    # level of each distinct value (-1: unseen), then the level of a missing value last, so code -1 picks it
    lookup = np.array([index.get(label, -1) for label in labs] + [index.get(MISSING, -1)], dtype=np.int64)
    level = lookup[codes]
    out[:] = 0.0
    rows = np.flatnonzero(level >= 0)
    out[rows, level[rows]] = 1.0
