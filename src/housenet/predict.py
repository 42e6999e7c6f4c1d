"""Predict prices for new houses with a trained model: raw rows in, prices out.

A model is a folder written by the train stage (``network.npz``, ``network.json``,
``preprocessor.json``) or an MLflow URI whose artifacts hold one: the train run's
folder (``runs:/<run_id>/model``) or the pyfunc model logged by evaluate
(``models:/m-<id>``, or ``models:/<name>/<version>`` once registered).

    housenet predict --model models/model --input new_houses.csv --output predictions.csv
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from housenet import nn
from housenet.data.atomic import atomic_path
from housenet.data.errors import DataError
from housenet.data.preprocessing import Preprocessor
from housenet.data.tables import read_csv

PREPROCESSOR_FILE = "preprocessor.json"
MLFLOW_SCHEMES = ("runs:/", "models:/", "mlflow-artifacts:/")


@dataclass
class Model:
    """The network and the preprocessing it was trained with."""

    net: nn.MLP
    preprocessor: Preprocessor

    @classmethod
    def load(cls, directory: str | Path) -> "Model":
        directory = Path(directory)
        if not directory.is_dir():
            raise DataError(f"{directory}: no such model folder; give the train stage's paths.model_dir "
                            "(models/model) or an MLflow URI such as runs:/<run_id>/model")
        return cls(nn.load(directory), Preprocessor.load(directory / PREPROCESSOR_FILE))

    def check_columns(self, df: pd.DataFrame, origin: str) -> None:
        expected = list(self.preprocessor.input_columns)
        target = self.preprocessor.to_dict()["target"]
        missing = [c for c in expected if c not in df.columns]
        unexpected = [c for c in df.columns if c not in expected and c != target]
        if missing:
            raise DataError(f"{origin}: missing columns {', '.join(map(str, missing))}; "
                            "the model needs the training table's columns (the target may be left out)")
        if unexpected:
            raise DataError(f"{origin}: unexpected columns {', '.join(map(str, unexpected))}; "
                            "the model was not trained on them: remove them")

    def predict(self, df: pd.DataFrame, origin: str = "input") -> np.ndarray:
        """Prices (price units, float64) for each row of ``df``: shape (rows,)."""
        self.check_columns(df, origin)
        X = self.preprocessor.transform(df)
        out = self.net.predict(X)[:, 0].astype(np.float64)
        return self.preprocessor.inverse_target(out)


def load_model(uri: str, tracking_uri: str | None = None) -> Model:
    """A model folder, or an MLflow URI downloaded to a temporary folder first."""
    if not uri.startswith(MLFLOW_SCHEMES):
        return Model.load(uri)
    import os

    import mlflow

    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # one summary line, no download bar
    with tempfile.TemporaryDirectory() as d:
        try:
            local = mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=d, tracking_uri=tracking_uri)
        except Exception as e:  # MlflowException, OSError: name the URI either way
            raise DataError(f"{uri}: cannot download the model from MLflow ({' '.join(str(e).split())[:300]})") from None
        return Model.load(model_folder(Path(local)))


def model_folder(local: Path) -> Path:
    """The folder holding network.json in a download: itself, its model/ (a run's artifacts), or
    the model_dir artifact of a pyfunc model (see housenet.serving)."""
    if (local / "MLmodel").is_file():
        import yaml

        flavor = (yaml.safe_load((local / "MLmodel").read_text()) or {}).get("flavors", {}).get("python_function", {})
        path = (flavor.get("artifacts") or {}).get("model_dir", {}).get("path")
        if path:
            return local / path
    if not (local / "network.json").is_file() and (local / "model").is_dir():
        return local / "model"
    return local


def predict_csv(model: Model, input_csv: str | Path, output_csv: str | Path) -> int:
    """Write the input rows plus a ``predicted_<target>`` column; return the number of rows."""
    df = read_csv(input_csv, None)
    prices = model.predict(df, origin=str(input_csv))
    target = model.preprocessor.to_dict()["target"]
    out = df.drop(columns=[target], errors="ignore")
    out[f"predicted_{target}"] = prices
    with atomic_path(output_csv) as tmp:
        out.to_csv(tmp, index=False, lineterminator="\n")
    return len(out)
