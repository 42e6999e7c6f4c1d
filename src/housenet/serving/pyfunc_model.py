"""The MLflow pyfunc model, logged as code (MLflow's "models from code"): nothing is pickled.

MLflow stores this file with the model; the artifact ``model_dir`` holds the
network (.npz + JSON) and the preprocessing state (JSON). ``predict`` takes raw
rows (a DataFrame with the training table's columns) and returns prices.
"""

import mlflow
import pandas as pd
from mlflow.pyfunc import PythonModel


class HousenetModel(PythonModel):
    def load_context(self, context):
        from housenet.predict import Model

        self.model = Model.load(context.artifacts["model_dir"])

    def predict(self, context, model_input: pd.DataFrame, params=None):
        prices = self.model.predict(pd.DataFrame(model_input), origin="request")
        target = self.model.preprocessor.to_dict()["target"]
        return pd.DataFrame({f"predicted_{target}": prices})


mlflow.models.set_model(HousenetModel())
