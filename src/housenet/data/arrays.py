"""Save and load a dict of NumPy arrays as one .npz file (atomic write, no pickle)."""

from __future__ import annotations

import os
import zipfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from .atomic import atomic_path
from .errors import DataError


def save_arrays(path: str | os.PathLike, arrays: dict[str, np.ndarray]) -> Path:
    """Write ``arrays`` (name -> numeric ndarray) to ``path`` with ``np.savez``, atomically.

    The file is written through a file object, so its name is kept as given
    (``np.savez`` would add ``.npz`` to a bare name). Object arrays are refused:
    ``load_arrays`` reads without pickle.
    """
    clean = {}
    for name, a in arrays.items():
        a = np.asarray(a)
        if a.dtype.hasobject:
            raise DataError(f"array {name!r} has dtype object; only numeric arrays can be saved without pickle")
        clean[str(name)] = a
    path = Path(path)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, **clean)
    return path


def load_arrays(path: str | os.PathLike, keys: Iterable[str] | None = None) -> dict[str, np.ndarray]:
    """Read an .npz written by ``save_arrays`` into a dict (``allow_pickle=False``).

    ``keys``: read only these arrays (the others are never loaded), DataError if one is missing.
    """
    p = Path(path)
    if not p.is_file():
        raise DataError(f"{p}: no such file; run the preprocess stage first")
    try:
        with np.load(p, allow_pickle=False) as z:
            keys = z.files if keys is None else list(keys)
            missing = [k for k in keys if k not in z.files]
            if not missing:
                return {k: z[k] for k in keys}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as e:
        raise DataError(f"{p}: not a readable .npz file ({type(e).__name__}: {e}); "
                        "re-run the preprocess stage") from None
    raise DataError(f"{p}: has no array {missing[0]!r}; re-run the preprocess stage")
