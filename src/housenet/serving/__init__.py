"""Serving through MLflow: the trained model as a pyfunc "model from code" (no pickle of the network)."""
