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


# Leading bytes of files that are often passed by mistake: (magic, what it is, what to do).
_NOT_CSV = (
    (b"\x1f\x8b", "a gzip-compressed file", "decompress it first (gunzip)"),
    (b"PK\x03\x04", "a ZIP archive (an .xlsx or .ods workbook?)", "export the sheet as CSV"),
    (b"\xd0\xcf\x11\xe0", "an old Excel (.xls) or Office file", "export the sheet as CSV"),
    (b"%PDF", "a PDF document", "export the table as CSV"),
    (b"PAR1", "a Parquet file", "convert it to CSV"),
    (b"\x89HDF", "an HDF5 file", "convert it to CSV"),
    (b"BZh", "a bzip2-compressed file", "decompress it first (bunzip2)"),
    (b"\xfd7zXZ", "an xz-compressed file", "decompress it first (unxz)"),
)
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def _not_csv(data: bytes, origin: str) -> None:
    """DataError for a file that is clearly something else than a CSV (by its first bytes)."""
    for magic, what, fix in _NOT_CSV:
        if data.startswith(magic):
            raise DataError(f"{origin}: is {what}, not a CSV file; {fix}")
    head = data[:512].lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html", b"<?xml", b"<head", b"<body")):
        raise DataError(f"{origin}: is an HTML or XML page, not a CSV file (a download that returned a web page?); "
                        "check the path or URL")


def _decode(data: bytes, origin: str, encoding: str) -> str:
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise DataError(f"{origin}: unknown encoding {encoding!r}; "
                        "set data.encoding to e.g. utf-8 or latin-1") from None
    name = codecs.lookup(encoding).name
    if data.startswith(_UTF16_BOMS) and not name.startswith("utf-16"):
        raise DataError(f"{origin}: is UTF-16 text (it starts with a UTF-16 byte-order mark); set data.encoding=utf-16")
    _not_csv(data, origin)
    if name == "utf-8" and data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as e:
        raise DataError(
            f"{origin}: not a text file in {encoding} (byte 0x{data[e.start]:02x} at offset {e.start}); "
            "check that it is a CSV file, or set data.encoding (e.g. latin-1 or cp1252)"
        ) from None
    text = text.removeprefix("\ufeff")  # a byte-order mark decoded by utf-16 or a codec that keeps it
    if "\x00" in text:
        raise DataError(f"{origin}: contains NUL bytes, so it looks binary, not a CSV file; check the path "
                        "(or data.encoding, if it is UTF-16 or UTF-32 text)")
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


SEP_NAMES = {"comma": ",", "semicolon": ";", "tab": "\t", "pipe": "|"}  # for the command line: data.sep=tab
_SEP_ALIASES = {**SEP_NAMES, "\\t": "\t"}


def normalize_sep(sep: str | None, origin: str = "data.sep") -> str | None:
    """The field separator to read with: None (detect it), a character, or a regex (several characters).

    The names in ``SEP_NAMES`` (``data.sep=semicolon``, ``tab``: no quoting needed on the
    command line) and ``\\t`` (a backslash and a t, as a shell passes ``data.sep='\\t'``) are accepted.
    """
    if sep is None:
        return None
    if not isinstance(sep, str) or sep == "":
        raise DataError(f"{origin}: data.sep={sep!r} is not a field separator; set data.sep to one of "
                        f"{', '.join(SEP_NAMES)} or a character, or data.sep=null to detect it")
    return _SEP_ALIASES.get(sep, sep)


def _sep_name(sep: str) -> str:
    return next((name for name, c in SEP_NAMES.items() if c == sep), repr(sep))


def _other_sep(header_line: str, sep: str) -> str | None:
    """The separator a one-column header line seems to use instead of ``sep`` (None if none)."""
    counts = {d: header_line.count(d) for d in SNIFF_DELIMITERS if d != sep}
    best = max(counts, key=counts.get)
    return best if counts[best] else None


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
            f"(first at {_row(bad[0])}: {float(values[bad[0]])!r}); remove those rows"
        )


def check_positive_target(df: pd.DataFrame, target: str, origin: str) -> None:
    """Raise DataError unless every ``df[target]`` value is above 0 (a log target needs that)."""
    y = df[target].to_numpy(dtype=np.float64)
    bad = np.flatnonzero(~(y > 0))
    if len(bad):
        raise DataError(
            f"{origin}: target column {target!r} has {len(bad)} values <= 0 (first at {_row(bad[0])}: "
            f"{float(y[bad[0]])!r}) and preprocess.log_target=true needs positive values; remove those rows "
            "or set preprocess.log_target=false"
        )


def check_table(df: pd.DataFrame, target: str | None, origin: str, *, min_rows: int = 1) -> None:
    """All the checks of a raw table: unique columns, enough rows, a valid target (unless ``target`` is None)."""
    check_columns(df, origin)
    if len(df) == 0:
        raise DataError(f"{origin}: has a header but no data rows; it needs at least {max(min_rows, 1)} "
                        "rows below the header")
    if len(df) < min_rows:
        rows = f"{len(df)} data row" + ("s" if len(df) != 1 else "")
        raise DataError(f"{origin}: only {rows}; at least {min_rows} are needed to train and test a model")
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
    sep = normalize_sep(sep, origin)
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
    if len(names) == 1 and (other := _other_sep(names[0], sep)) and (target is None or target not in df.columns):
        raise DataError(f"{origin}: read with data.sep={sep!r} the header is one column {names[0][:80]!r}; "
                        f"the file seems separated by {other!r}: set data.sep={_sep_name(other)} "
                        "(or data.sep=null to detect it)")
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
