"""Training progress: a live bar in a terminal, a plain line every N epochs otherwise (logs, CI).

    Progress(epochs)                    # a fit() callback; call close() when fit() returns or fails

In a terminal (the stream is a TTY) one line is redrawn after every epoch:

    [########------------]  41/100 train 0.0712 val 0.0954  18,402 rows/s  3 s left

Otherwise a line is written at epoch 1, every ``every`` epochs (default: a tenth of the
epochs) and at the last epoch run, so a log holds a dozen lines, not one per epoch.
"Time left" assumes every epoch runs; early stopping can end training sooner.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

BAR_WIDTH = 20


class Progress:
    """A fit() callback showing epoch, losses, throughput and time left."""

    def __init__(self, epochs: int, stream: TextIO | None = None, every: int | None = None, label: str = ""):
        self.epochs, self.label = epochs, label
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.every = every or max(1, epochs // 10)
        self.t0 = time.perf_counter()
        self.last: str | None = None  # the latest text not yet written as a line
        self.open = False  # a bar is on the screen without its newline

    def __call__(self, log) -> None:
        elapsed = time.perf_counter() - self.t0
        left = elapsed / log.epoch * (self.epochs - log.epoch)
        val = f" val {log.val_loss:.4g}" if log.val_loss is not None else ""
        text = (f"{self.label}epoch {log.epoch}/{self.epochs} train {log.train_loss:.4g}{val} "
                f"{log.samples_per_second:,.0f} rows/s, {left:.0f} s left")
        if self.tty:
            self._write("\r\x1b[2K" + bar(log.epoch, self.epochs) + " " + text)
            self.open = True
            if log.epoch == self.epochs:
                self.close()
        elif log.epoch % self.every == 0 or log.epoch == 1 or log.epoch == self.epochs:
            self._write(text + "\n")
            self.last = None
        else:
            self.last = text

    def close(self) -> None:
        """End the bar's line (training stopped early or failed); in a log, write the last epoch's line."""
        if self.open:
            self._write("\n")
            self.open = False
        elif self.last is not None:
            self._write(self.last + "\n")
        self.last = None

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):  # a closed stream (its reader died) must not stop training
            pass


def bar(done: int, total: int, width: int = BAR_WIDTH) -> str:
    filled = min(width, int(width * done / total)) if total > 0 else width
    return "[" + "#" * filled + "-" * (width - filled) + "]"
