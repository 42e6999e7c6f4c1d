"""housenet: a from-scratch NumPy network for house prices, inside a reproducible pipeline.

- ``housenet.nn``: the network (NumPy and the standard library only).
- ``housenet.data``: data sources and preprocessing (pandas).
- ``housenet.ingest``/``preprocess``/``train``/``evaluate``: the DVC stages, Hydra entry points.
"""

__version__ = "0.1.0"
