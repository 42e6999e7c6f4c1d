"""The pipeline's own import path stays light (issue 6, docs/benchmarks/pipeline.md).

Importing an entry point must not load scikit-learn or scipy (seconds of start-up that
no stage needs), nor MLflow or matplotlib: the stages that log import those lazily,
when they open a run or draw a figure. Each import runs in a fresh interpreter.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

ENTRY_POINTS = ["housenet.ingest", "housenet.preprocess", "housenet.train", "housenet.evaluate", "housenet.cli",
                "housenet.params", "housenet.predict"]
HEAVY = ("sklearn", "scipy", "mlflow", "matplotlib", "torch", "ray", "optuna")


def loaded_after_import(module: str, watched: tuple[str, ...]) -> list[str]:
    code = f"import sys, {module}; print(' '.join(m for m in {watched!r} if m in sys.modules))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split()


@pytest.mark.parametrize("module", ENTRY_POINTS)
def test_importing_an_entry_point_loads_no_heavy_library(module):
    assert loaded_after_import(module, HEAVY) == []


def test_the_cli_starts_without_pandas():
    """`housenet predict --help` and argument errors should not wait for pandas."""
    assert loaded_after_import("housenet.cli", ("pandas", "pyarrow")) == []
