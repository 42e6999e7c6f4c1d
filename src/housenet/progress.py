"""Training progress: a live line in a terminal, a plain line every N epochs otherwise."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """A fit() callback showing epoch, losses, throughput and time left."""

    def __init__(self, epochs: int, stream: TextIO | None = None, every: int | None = None, label: str = ""):
        self.epochs, self.label = epochs, label
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.every = every or max(1, epochs // 10)
        self.t0 = time.perf_counter()

    def __call__(self, log) -> None:
        elapsed = time.perf_counter() - self.t0
        left = elapsed / log.epoch * (self.epochs - log.epoch)
        val = f" val {log.val_loss:.4g}" if log.val_loss is not None else ""
        text = (f"{self.label}epoch {log.epoch}/{self.epochs} train {log.train_loss:.4g}{val} "
                f"{log.samples_per_second:,.0f} rows/s, {left:.0f} s left")
        if self.tty:
            end = "\n" if log.epoch == self.epochs else ""
            self.stream.write("\r\x1b[2K" + text + end)
            self.stream.flush()
        elif log.epoch % self.every == 0 or log.epoch == 1:
            self.stream.write(text + "\n")
            self.stream.flush()
