"""Fit and apply the encoding of one feature column (used by ``Preprocessor``).

A fitted column is a plain JSON-ready dict:

    {"name": "Lot_Area", "kind": "numeric", "median": m, "mean": mu, "std": s}
        one feature: (value - mean) / std, missing or infinite values -> median first
    {"name": "Alley", "kind": "categorical", "levels": [...], "other": [...]}
        one feature per level (one-hot). ``levels``: the kept categories sorted,
        then "__other__" (stands for the categories listed in ``other``) and
        "__missing__" (only if values were missing in training). Any other
        value, or a missing value when "__missing__" is not a level, gives an
        all-zeros block.
"""

from __future__ import annotations

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


def fit_numeric(name: str, s: pd.Series) -> tuple[dict | None, str | None]:
    """(fitted column, None), or (None, reason) when the column carries no information."""
    values = numeric_values(s)
    finite = values[~np.isnan(values)]
    if finite.size == 0:
        return None, "all values missing"
    distinct = np.unique(finite)
    if distinct.size == 1:
        return None, f"a single distinct value ({distinct[0]!r})"
    median = float(np.median(finite))
    imputed = np.where(np.isnan(values), median, values)
    mean, std = float(imputed.mean()), float(imputed.std())
    if not (np.isfinite(mean) and np.isfinite(std)):
        raise DataError(f"column {name!r} has values too large to standardise; rescale it or drop it")
    return {"name": name, "kind": "numeric", "median": median, "mean": mean, "std": std if std > 0 else 1.0}, None


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
        out[:, 0] = (values - col["mean"]) / col["std"]
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
