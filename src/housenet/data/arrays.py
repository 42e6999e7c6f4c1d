"""Save and load a dict of NumPy arrays as one .npz file (atomic write, no pickle)."""

from __future__ import annotations

import math
import os
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from .atomic import atomic_path
from .errors import DataError

CHUNK_BYTES = 4 << 20  # load_stacked reads about this much at a time


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
    p = _existing(path)
    try:
        with np.load(p, allow_pickle=False) as z:
            keys = z.files if keys is None else list(keys)
            missing = [k for k in keys if k not in z.files]
            if not missing:
                return {k: z[k] for k in keys}
    except UNREADABLE as e:
        raise _unreadable(p, e) from None
    raise _missing(p, missing[0])


UNREADABLE = (zipfile.BadZipFile, ValueError, OSError, EOFError)  # what a damaged .npz raises


def _existing(path: str | os.PathLike) -> Path:
    p = Path(path)
    if not p.is_file():
        raise DataError(f"{p}: no such file; run the preprocess stage first")
    return p


def _unreadable(p: Path, e: BaseException) -> DataError:
    return DataError(f"{p}: not a readable .npz file ({type(e).__name__}: {e}); re-run the preprocess stage")


def _missing(p: Path, key: str) -> DataError:
    return DataError(f"{p}: has no array {key!r}; re-run the preprocess stage")


def load_stacked(path: str | os.PathLike, keys: Sequence[str], dtype: np.dtype | str) -> np.ndarray:
    """The arrays ``keys`` of an .npz stacked along their first axis into one new ``dtype`` array.

    Equal to ``np.concatenate([load_arrays(path)[k] for k in keys]).astype(dtype)``, but each
    array is read a chunk (about CHUNK_BYTES) at a time straight into its rows of the result,
    so the parts are never held beside it: k-fold training pools its training and validation
    rows this way at the memory cost of one copy (housenet.train.load_training_arrays).
    """
    p = _existing(path)
    try:
        with zipfile.ZipFile(p) as zf:
            names = set(zf.namelist())
            missing = [k for k in keys if f"{k}.npy" not in names]
            if missing:
                raise _missing(p, missing[0])
            headers = []
            for k in keys:
                with zf.open(f"{k}.npy") as f:
                    headers.append(_npy_header(f, k))
            tails = {shape[1:] for shape, _ in headers}
            if len(tails) != 1 or any(len(shape) == 0 for shape, _ in headers):
                raise ValueError(f"arrays {', '.join(keys)} do not stack by rows: shapes "
                                 f"{', '.join(str(shape) for shape, _ in headers)}")
            tail = tails.pop()
            out = np.empty((sum(shape[0] for shape, _ in headers), *tail), dtype)
            row = 0
            for k, (shape, stored) in zip(keys, headers):
                row_bytes = stored.itemsize * math.prod(tail)
                step = max(1, CHUNK_BYTES // max(row_bytes, 1))
                with zf.open(f"{k}.npy") as f:
                    _npy_header(f, k)
                    for r in range(0, shape[0], step):
                        m = min(step, shape[0] - r)
                        buf = f.read(m * row_bytes)
                        if len(buf) != m * row_bytes:
                            raise EOFError(f"array {k!r} ends after {r + len(buf) // max(row_bytes, 1)} of "
                                           f"{shape[0]} rows")
                        out[row + r:row + r + m] = np.frombuffer(buf, stored).reshape(m, *tail)
                row += shape[0]
            return out
    except UNREADABLE as e:
        raise _unreadable(p, e) from None


def _npy_header(f, key: str) -> tuple[tuple[int, ...], np.dtype]:
    """(shape, dtype) of a C-ordered numeric .npy stream, leaving ``f`` at its first data byte."""
    version = np.lib.format.read_magic(f)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
    elif version == (2, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
    else:
        raise ValueError(f"array {key!r} has .npy format version {version}, not 1.0 or 2.0")
    if fortran or dtype.hasobject:
        raise ValueError(f"array {key!r} is {'Fortran-ordered' if fortran else 'of objects'}; save_arrays writes "
                         "neither")
    return shape, dtype
