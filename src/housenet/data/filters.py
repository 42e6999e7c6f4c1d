"""Row filters applied before the split, declared per data set in conf/data/ (``exclude_above``)."""

from __future__ import annotations

from typing import Mapping

import pandas as pd

from .errors import DataError


def exclude_above(df: pd.DataFrame, limits: Mapping[str, float] | None, origin: str) -> tuple[pd.DataFrame, int]:
    """Drop rows whose value in a column exceeds its limit; return (rows kept, number dropped).

    A missing value is kept (the preprocessing imputes it). An unknown or non-numeric
    column is a DataError naming it.
    """
    if not limits:
        return df, 0
    keep = pd.Series(True, index=df.index)
    for column, limit in limits.items():
        if column not in df.columns:
            raise DataError(f"{origin}: data.exclude_above names column {column!r}, which the table does not have; "
                            "fix or remove it")
        values = pd.to_numeric(df[column], errors="coerce")
        if values.isna().sum() > df[column].isna().sum():
            raise DataError(f"{origin}: data.exclude_above needs a numeric column, {column!r} is not")
        keep &= ~(values > float(limit))
    dropped = int((~keep).sum())
    return df.loc[keep].reset_index(drop=True), dropped
