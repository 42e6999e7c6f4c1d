"""What every pipeline stage shares: its configuration, one summary line, clean failures.

A stage's ``main`` is a ``@hydra.main`` function that calls ``run_stage(name, fn, cfg)``.
``fn(cfg)`` is the library-level work (tests call it directly) and returns a
one-line summary. Errors a user can fix print one line naming the file, column
or key and what to do, and exit with status 1; Ctrl-C and SIGTERM exit with 130
and 143 after the stage's own cleanup (MLflow runs end KILLED).
"""

from __future__ import annotations

import signal
import sys
import time
from typing import Callable

from omegaconf import DictConfig
from omegaconf.errors import OmegaConfBaseException

from housenet.config import ConfigError, stage_config
from housenet.data.errors import DataError
from housenet.nn import DivergenceError

USER_ERRORS = (ConfigError, DataError, DivergenceError, ValueError, FileNotFoundError, ConnectionError,
               OmegaConfBaseException)


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the stage is so its cleanup runs as for Ctrl-C."""


def _on_sigterm(signum, frame):
    raise Terminated()


def run_stage(name: str, fn: Callable[[DictConfig], str], cfg: DictConfig) -> None:
    signal.signal(signal.SIGTERM, _on_sigterm)
    t0 = time.perf_counter()
    try:
        summary = fn(stage_config(cfg))
    except Terminated:
        print(f"housenet.{name}: terminated (SIGTERM); nothing was written", file=sys.stderr)
        raise SystemExit(143) from None
    except KeyboardInterrupt:
        print(f"housenet.{name}: interrupted; nothing was written", file=sys.stderr)
        raise SystemExit(130) from None
    except USER_ERRORS as e:
        print(f"housenet.{name}: error: {one_line(e)}", file=sys.stderr)
        raise SystemExit(1) from None
    print(f"housenet.{name}: {summary} ({time.perf_counter() - t0:.1f} s)", flush=True)


def one_line(e: BaseException) -> str:
    text = str(e) or type(e).__name__
    if isinstance(e, FileNotFoundError) and e.filename:
        text = f"{e.filename}: no such file"
    return " ".join(text.split())
