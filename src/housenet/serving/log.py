"""Log a trained model folder to an MLflow run as a pyfunc model, optionally registering it.

The evaluate stage calls ``log_pyfunc_model`` (when ``tracking.log_model`` is true);
sweep jobs never do. The logged model is MLflow's "model from code": the file
``pyfunc_model.py`` plus the model folder (network .npz + JSON, preprocessor JSON)
as an artifact. Loading it needs the ``housenet`` package installed (serve with
``--env-manager local`` from the project's environment).
"""

from __future__ import annotations

import os
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pandas as pd

MODEL_CODE = Path(__file__).with_name("pyfunc_model.py")
ARTIFACT_NAME = "pyfunc"
REQUIREMENTS = ("mlflow", "numpy", "pandas")  # what pyfunc_model.py and housenet.predict import


def input_example(raw: pd.DataFrame, pre, rows: int = 5) -> pd.DataFrame:
    """A few raw rows, only the columns the model reads; numbers as float64, so a missing value is valid input."""
    example = raw[pre.input_columns].head(rows).copy()
    for name in numeric_columns(pre):
        example[name] = pd.to_numeric(example[name], errors="coerce").astype("float64")
    return example


def numeric_columns(pre) -> list[str]:
    return [c["name"] for c in pre.to_dict()["columns"] if c["kind"] == "numeric"]


def signature_for(example: pd.DataFrame, pre):
    """Every input column optional (missing values are imputed), typed by the preprocessing state: numeric
    columns double, the others string (boolean for a bool column); one price column out."""
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, Schema

    numeric = set(numeric_columns(pre))

    def kind(name: str) -> str:
        if name in numeric:
            return "double"
        return "boolean" if pd.api.types.is_bool_dtype(example[name].dtype) else "string"

    inputs = Schema([ColSpec(kind(c), c, required=False) for c in pre.input_columns])
    outputs = Schema([ColSpec("double", f"predicted_{pre.to_dict()['target']}")])
    return ModelSignature(inputs=inputs, outputs=outputs)


def pip_requirements() -> list[str]:
    """The installed versions, pinned. Given explicitly: MLflow's inference of them costs about 2 s."""
    pins = []
    for name in REQUIREMENTS:
        try:
            pins.append(f"{name}=={version(name)}")
        except PackageNotFoundError:
            pins.append(name)
    return pins


def log_pyfunc_model(run, model_dir: Path, raw_rows: pd.DataFrame, registered_name: str | None = None) -> str:
    """Log ``model_dir`` to ``run`` as a pyfunc model from code (no pickle); return its models:/ URI.

    ``raw_rows``: rows of the raw table (the first few become the input example).
    """
    import mlflow
    from mlflow.models import Model

    from housenet.data.preprocessing import Preprocessor
    from housenet.predict import PREPROCESSOR_FILE

    pre = Preprocessor.load(Path(model_dir) / PREPROCESSOR_FILE)
    example = input_example(raw_rows, pre)

    mlflow.set_tracking_uri(run.tracking_uri)
    # MLflow reloads the model to check the example; its download bar would clutter the stage's output
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    info = Model.log(
        artifact_path=None, run_id=run.run_id, name=ARTIFACT_NAME, flavor=mlflow.pyfunc,
        python_model=str(MODEL_CODE), artifacts={"model_dir": str(model_dir)},
        signature=signature_for(example, pre), input_example=example,
        pip_requirements=pip_requirements(), registered_model_name=registered_name or None,
    )
    return info.model_uri
