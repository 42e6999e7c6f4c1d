"""How many threads numpy's BLAS uses while a network trains (``compute.blas_threads``).

Training multiplies mini-batches of 64 rows by small weight matrices: too little work
per call for a second BLAS thread to pay off, and on a machine whose cores are busy
with other processes OpenBLAS's spinning threads wait for each other. On Ames with 2
threads on a loaded 2-core machine, training ran 6x (float64) to 60x (float32) slower
than with 1 (docs/benchmarks/pipeline.md). So the pipeline trains with 1 thread by
default; ``compute.blas_threads=null`` keeps numpy's own setting.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from typing import Any


def blas_threads(n: Any) -> AbstractContextManager:
    """A context in which numpy's BLAS uses at most ``n`` threads (``None``: unchanged)."""
    if n is None:
        return nullcontext()
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"compute.blas_threads must be a positive whole number or null, got {n!r}")
    import threadpoolctl  # imported here: only training needs it

    return threadpoolctl.threadpool_limits(n, user_api="blas")
