"""Read a raw table from CSV bytes or a CSV file, and check its target column.

A raw table is a CSV file: a header line of unique column names, then one
line per sale. The target column (the price) must be numeric, finite and
never missing. Every problem raises ``DataError`` with a one-line message
that names the file (or URL) and the column or value at fault.

Rows are counted from 1 after the header: "row 5" is line 6 of the file
(unless quoted fields span several lines).
"""

from __future__ import annotations

import codecs
import csv
import io
import os
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import DataError

SNIFF_DELIMITERS = ",;\t|"
_SNIFF_CHARS = 64 * 1024


def frame_to_csv_bytes(df: pd.DataFrame) -> bytes:
    """Deterministic UTF-8 CSV of ``df``: its column order, no index, ``\\n`` line ends.

    Floats are written at full precision (shortest repr that reads back to the
    same float64), missing values as empty fields, so the same frame gives the
    same bytes every time.
    """
    buf = io.StringIO()
    df.to_csv(buf, index=False, lineterminator="\n")
    return buf.getvalue().encode("utf-8")


def _decode(data: bytes, origin: str, encoding: str) -> str:
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise DataError(f"{origin}: unknown encoding {encoding!r}; "
                        "set data.encoding to e.g. utf-8 or latin-1") from None
    if codecs.lookup(encoding).name == "utf-8" and data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as e:
        raise DataError(
            f"{origin}: not a text file in {encoding} (byte 0x{data[e.start]:02x} at offset {e.start}); "
            "check that it is a CSV file, or set data.encoding (e.g. latin-1)"
        ) from None
    if "\x00" in text:
        raise DataError(f"{origin}: contains NUL bytes, so it looks binary, not a CSV file; check the path")
    return text


def _sniff(text: str, origin: str) -> str:
    lines = [line for line in text[:_SNIFF_CHARS].splitlines()[:50] if line.strip()]
    if len(text) > _SNIFF_CHARS and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut in the middle
    if not lines:
        raise DataError(f"{origin}: the file is empty; it needs a header line and data rows")
    try:
        return csv.Sniffer().sniff("\n".join(lines), delimiters=SNIFF_DELIMITERS).delimiter
    except csv.Error:
        raise DataError(f"{origin}: cannot tell the field separator; set data.sep (e.g. ',' or ';')") from None


def detect_sep(data: bytes, *, origin: str = "<data>", encoding: str = "utf-8") -> str:
    """Guess the field separator (one of ``, ; TAB |``) from the first lines of CSV ``data``."""
    return _sniff(_decode(data, origin, encoding), origin)


def _read(text: str, sep: str, **kwargs) -> pd.DataFrame:
    if len(sep) == 1:  # low_memory=False: infer each column's type from all its rows, not chunk by chunk
        return pd.read_csv(io.StringIO(text), sep=sep, engine="c", low_memory=False, **kwargs)
    return pd.read_csv(io.StringIO(text), sep=sep, engine="python", **kwargs)


def _row(position: int) -> str:
    return f"row {position + 1} (line {position + 2})"


def check_columns(df: pd.DataFrame, origin: str) -> None:
    """Raise DataError when ``df`` has duplicate column names."""
    dup = df.columns[df.columns.duplicated()].unique().tolist()
    if dup:
        raise DataError(f"{origin}: duplicate column names {', '.join(map(repr, dup))}; rename them so each is unique")


def check_target(df: pd.DataFrame, target: str, origin: str) -> None:
    """Raise DataError unless ``df[target]`` exists and is numeric, finite and never missing."""
    if target not in df.columns:
        cols = ", ".join(map(str, df.columns))
        raise DataError(f"{origin}: no target column {target!r}; the columns are: {cols}; set data.target=COLUMN")
    s = df[target]
    if isinstance(s, pd.DataFrame):
        raise DataError(f"{origin}: the target column {target!r} appears more than once; rename the copies")
    if pd.api.types.is_bool_dtype(s) or not pd.api.types.is_numeric_dtype(s):
        num = pd.to_numeric(s, errors="coerce") if not pd.api.types.is_bool_dtype(s) else pd.Series(np.nan, s.index)
        bad = np.flatnonzero((s.notna() & num.isna()).to_numpy())
        where = f"{_row(bad[0])} has {s.iloc[bad[0]]!r}" if len(bad) else f"its dtype is {s.dtype}"
        raise DataError(f"{origin}: target column {target!r} is not numeric: {where}; fix the file or set data.target")
    missing = np.flatnonzero(s.isna().to_numpy())
    if len(missing):
        raise DataError(
            f"{origin}: target column {target!r} has {len(missing)} missing values (first at {_row(missing[0])}); "
            "remove those rows or fill them in"
        )
    values = s.to_numpy(dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(values))
    if len(bad):
        raise DataError(
            f"{origin}: target column {target!r} has {len(bad)} infinite values "
            f"(first at {_row(bad[0])}: {values[bad[0]]!r}); remove those rows"
        )


def check_table(df: pd.DataFrame, target: str | None, origin: str, *, min_rows: int = 1) -> None:
    """All the checks of a raw table: unique columns, enough rows, a valid target (unless ``target`` is None)."""
    check_columns(df, origin)
    if len(df) == 0:
        raise DataError(f"{origin}: has a header but no data rows; it needs at least {max(min_rows, 1)}")
    if len(df) < min_rows:
        raise DataError(f"{origin}: only {len(df)} data rows; at least {min_rows} are needed")
    if target is not None:
        check_target(df, target, origin)


def parse_csv_bytes(
    data: bytes, target: str | None, *, origin: str = "<data>", sep: str | None = ",", encoding: str = "utf-8",
    min_rows: int = 1,
) -> pd.DataFrame:
    """Parse CSV ``data`` into a DataFrame (rows, columns) and check it (see ``check_table``).

    ``sep=None`` guesses the separator (``detect_sep``). ``origin`` names the
    file or URL in error messages.
    """
    if not data.strip():
        raise DataError(f"{origin}: the file is empty; it needs a header line and data rows")
    text = _decode(data, origin, encoding)
    if sep is None:
        sep = _sniff(text, origin)
    try:
        header = _read(text, sep, header=None, nrows=1, dtype=str, keep_default_na=False)
        df = _read(text, sep)
    except pd.errors.EmptyDataError:
        raise DataError(f"{origin}: the file is empty; it needs a header line and data rows") from None
    except (pd.errors.ParserError, csv.Error, ValueError) as e:
        msg = str(e).strip().splitlines()[-1] if str(e).strip() else type(e).__name__
        raise DataError(f"{origin}: not a valid CSV file with sep {sep!r}: {msg}; check the file or data.sep") from None
    names = [n for n in header.iloc[0].tolist() if isinstance(n, str) and n != ""] if len(header) else []
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise DataError(f"{origin}: duplicate column names {', '.join(map(repr, dup))}; rename them so each is unique")
    check_table(df, target, origin, min_rows=min_rows)
    return df


def read_file_bytes(path: str | os.PathLike) -> bytes:
    """The bytes of a local file, with DataError for a missing, folder or unreadable path."""
    p = Path(path)
    if not p.exists():
        raise DataError(f"{p}: no such file; check data.path")
    if p.is_dir():
        raise DataError(f"{p}: is a folder, not a CSV file; check data.path")
    try:
        return p.read_bytes()
    except OSError as e:
        raise DataError(f"{p}: cannot read the file ({e.strerror or e}); check its permissions") from None


def read_csv(
    path: str | os.PathLike, target: str | None, *, sep: str | None = ",", encoding: str = "utf-8", min_rows: int = 1
) -> pd.DataFrame:
    """Read a local CSV file into a DataFrame (rows, columns) and check it.

    DataError (naming the file) when the file is missing, unreadable, not text
    in ``encoding``, not a CSV, empty, header-only, has fewer than
    ``min_rows`` rows or duplicate column names, or when the ``target`` column
    is missing, non-numeric, has missing or infinite values.
    ``sep=None`` guesses the separator.
    """
    return parse_csv_bytes(read_file_bytes(path), target, origin=str(path), sep=sep, encoding=encoding,
                           min_rows=min_rows)
