"""What every pipeline stage shares: its configuration, one summary line, clean failures.

A stage's ``main`` is a ``@hydra.main`` function that calls ``run_stage(name, fn, cfg)``,
and its module's ``__main__`` calls ``launch(name, main)``. ``run_stage`` checks the whole
configuration (``config.check_config``) before ``fn(cfg)``, the library-level work (tests
call it directly), which returns a one-line summary. Errors a user can fix (bad data, bad
configuration, overrides Hydra cannot apply) print one line naming the file, column or key
and what to do, and exit with status 1; Ctrl-C and SIGTERM exit with 130 and 143 after the
stage's own cleanup (MLflow runs end KILLED). docs/reliability.md lists them all.
"""

from __future__ import annotations

import atexit
import os
import signal
import sys
import threading
import time
from typing import Any, Callable

from omegaconf import DictConfig
from omegaconf.errors import OmegaConfBaseException

from housenet.config import ConfigError, check_config, stage_config
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
        cfg = stage_config(cfg)
        check_config(cfg)  # before any data is read or any MLflow run is opened
        summary = fn(cfg)
    except Terminated:
        print(f"housenet.{name}: terminated (SIGTERM); nothing was written", file=sys.stderr)
        raise SystemExit(143) from None
    except KeyboardInterrupt:
        print(f"housenet.{name}: interrupted; nothing was written", file=sys.stderr)
        raise SystemExit(130) from None
    except OmegaConfBaseException as e:
        print(f"housenet.{name}: error: {hydra_line(e)}", file=sys.stderr)
        raise SystemExit(1) from None
    except USER_ERRORS as e:
        print(f"housenet.{name}: error: {one_line(e)}", file=sys.stderr)
        raise SystemExit(1) from None
    print(f"housenet.{name}: {summary} ({time.perf_counter() - t0:.1f} s)", flush=True)


def launch(name: str, hydra_main: Callable[[], Any]) -> None:
    """Run a stage's ``@hydra.main`` function from the command line (``python -m housenet.<name>``).

    An override Hydra cannot apply (an unknown key, a missing config group option, a
    syntax error) gets one line and exit status 1, like every other bad input, instead of
    Hydra's multi-line report.
    """
    from hydra.errors import HydraException

    os.environ.setdefault("HYDRA_FULL_ERROR", "1")  # Hydra raises instead of printing its own report
    try:
        hydra_main()
    except (HydraException, OmegaConfBaseException) as e:
        print(f"housenet.{name}: error: {hydra_line(e)}", file=sys.stderr)
        raise SystemExit(1) from None


def exit_now(code: int = 0) -> None:
    """End a stage's process at once, without the interpreter's teardown (after ``launch``, in ``__main__``).

    Freeing every module and object at exit took 0.1-1.8 s once pandas and MLflow were
    loaded (docs/benchmarks/pipeline.md), on every stage DVC runs. The stage's files are
    written and closed by then (atomically), so the teardown does nothing useful: run the
    atexit handlers (log handlers, MLflow's, the sweep callback's), flush, and leave.
    While other threads run (e.g. a sweep's launcher), exit normally: that waits for them.
    """
    if threading.active_count() > 1:
        raise SystemExit(code)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


def hydra_line(e: BaseException) -> str:
    """One line from Hydra's (and OmegaConf's) multi-line composition errors."""
    from hydra.errors import OverrideParseException
    from omegaconf.errors import MissingMandatoryValue

    if isinstance(e, OverrideParseException):
        return (f"cannot parse the override {e.override!r}; quote a value with special characters for Hydra "
                "and the shell, e.g. \"data.sep=';'\" (https://hydra.cc/docs/advanced/override_grammar/basic/)")
    if isinstance(e, MissingMandatoryValue):
        return f"{e.full_key} is required (it is ??? in conf/); set it, e.g. {e.full_key}=..."
    parts = []
    for err in (e, e.__cause__):
        if err is None:
            continue
        text = str(err).split("Config search path:")[0]
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        lines = [line for line in lines if not line.startswith(("full_key:", "object_type=", "See https://"))]
        parts.append(" ".join(lines).rstrip("."))
    msg = "; ".join(dict.fromkeys(p for p in parts if p)) or type(e).__name__
    if "is not in struct" in msg or "Could not override" in msg:
        msg += "; check the key's spelling against conf/ (python -m housenet.train --cfg job lists them)"
    return msg


def one_line(e: BaseException) -> str:
    text = str(e) or type(e).__name__
    if isinstance(e, FileNotFoundError) and e.filename:
        text = f"{e.filename}: no such file"
    return " ".join(text.split())
