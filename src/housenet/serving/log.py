"""Log a trained model folder to an MLflow run as a pyfunc model, optionally registering it."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

MODEL_CODE = Path(__file__).with_name("pyfunc_model.py")
ARTIFACT_NAME = "pyfunc"


def input_example(raw: pd.DataFrame, target: str, rows: int = 5) -> pd.DataFrame:
    """A few raw rows without the target; numbers as float64, so a missing value is valid input."""
    example = raw.drop(columns=[target], errors="ignore").head(rows).copy()
    for c in example.columns:
        if pd.api.types.is_numeric_dtype(example[c]) and not pd.api.types.is_bool_dtype(example[c]):
            example[c] = example[c].astype("float64")
    return example


def signature_for(example: pd.DataFrame, target: str):
    """Input columns as in the example but all optional (missing values are imputed); one price column out."""
    from mlflow.models import ModelSignature
    from mlflow.models.signature import infer_signature
    from mlflow.types import ColSpec, Schema

    inferred = infer_signature(example)
    inputs = Schema([ColSpec(c.type, c.name, required=False) for c in inferred.inputs.inputs])
    outputs = Schema([ColSpec("double", f"predicted_{target}")])
    return ModelSignature(inputs=inputs, outputs=outputs)


def log_pyfunc_model(run, model_dir: Path, example: pd.DataFrame, target: str,
                     registered_name: str | None = None) -> str:
    """Log ``model_dir`` to ``run`` as a pyfunc model from code (no pickle); return its models:/ URI."""
    import mlflow
    from mlflow.models import Model

    mlflow.set_tracking_uri(run.tracking_uri)
    info = Model.log(
        artifact_path=None, run_id=run.run_id, name=ARTIFACT_NAME, flavor=mlflow.pyfunc,
        python_model=str(MODEL_CODE), artifacts={"model_dir": str(model_dir)},
        signature=signature_for(example, target), input_example=example,
        registered_model_name=registered_name or None,
    )
    return info.model_uri
