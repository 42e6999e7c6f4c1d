"""A multilayer perceptron for regression, from scratch in NumPy.

Imports nothing but NumPy and the standard library. Read it in this order:
activations.py and losses.py (forward and backward side by side), network.py
(the layers and backpropagation), optim.py (Adam, SGD), schedules.py,
training.py (mini-batches, early stopping), ensemble.py (averaging networks),
checkpoint.py (save and load).
"""

from .checkpoint import load, save
from .ensemble import merge
from .network import MLP, MLPConfig
from .optim import SGD, Adam, clip_grad_norm
from .training import DivergenceError, EpochLog, History, OptimConfig, ScheduleConfig, TrainConfig, fit

__all__ = [
    "MLP", "MLPConfig", "Adam", "SGD", "clip_grad_norm", "fit", "TrainConfig", "OptimConfig",
    "ScheduleConfig", "EpochLog", "History", "DivergenceError", "save", "load", "merge",
]
