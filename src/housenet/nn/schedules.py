"""Learning-rate schedules: the factor multiplying the base rate in each epoch.

Epochs count from 0. Factors are plain Python floats, so a float32 network
stays float32.

    constant:  1
    step:      gamma ** (epoch // step_size)
    cosine:    min_factor + (1 - min_factor) * (1 + cos(pi * epoch / epochs)) / 2
"""

from __future__ import annotations

import math
from typing import Callable

Schedule = Callable[[int], float]
SCHEDULES = ("constant", "step", "cosine")


def make_schedule(name: str, epochs: int, step_size: int = 30, gamma: float = 0.1, min_factor: float = 0.0) -> Schedule:
    if name == "constant":
        return lambda epoch: 1.0
    if name == "step":
        if not (isinstance(step_size, int) and step_size > 0):
            raise ValueError(f"step schedule: step_size must be a positive integer, got {step_size!r}")
        if not 0 < gamma <= 1:
            raise ValueError(f"step schedule: gamma must be in (0, 1], got {gamma}")
        return lambda epoch: float(gamma ** (epoch // step_size))
    if name == "cosine":
        if not 0 <= min_factor <= 1:
            raise ValueError(f"cosine schedule: min_factor must be in [0, 1], got {min_factor}")
        return lambda epoch: min_factor + (1.0 - min_factor) * 0.5 * (1.0 + math.cos(math.pi * epoch / epochs))
    raise ValueError(f"unknown schedule {name!r}: use one of {', '.join(SCHEDULES)}")
