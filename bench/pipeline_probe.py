"""Run one pipeline stage as ``python -m housenet.<stage>`` would, timing where its wall time goes.

    python bench/pipeline_probe.py housenet.train [hydra overrides...]

bench/pipeline_perf.py puts a ``python`` shim first on PATH inside a fresh clone, so
that ``dvc repro`` runs every stage through this file. The shim exports the time the
stage process was launched (HOUSENET_PROBE_T0) and where to append one JSON line
(HOUSENET_PROBE_LOG). The stage's own functions are wrapped, not changed: each
bucket gets the time spent in its functions minus the time of other wrapped
functions called from inside them (exclusive time), so the buckets add up.

Buckets: ``startup`` (interpreter start to this file running), ``import`` (the stage
module and what it imports), ``import mlflow`` (mlflow.tracking, the database store
modules the client loads on first use, and mlflow.pyfunc where the model is logged),
``log model`` (evaluate logging the model as an MLflow pyfunc model), ``mlflow`` (every MlflowClient call: store
creation, params, metrics, artifacts, run status; the git commit look-up), ``plots`` (matplotlib),
``read``/``write`` (the stage's input and output files), ``work`` (the stage's real
work: ingest's source read, preprocess's fit and transform, train's network fit,
evaluate's predictions and metrics), ``progress`` (the progress line), ``hydra``
(composing the config and Hydra's own start-up), ``other`` (the rest of main()).
"""

from __future__ import annotations

import functools
import importlib
import json
import os
import sys
import time

T_PROBE = time.time()
T0 = float(os.environ.get("HOUSENET_PROBE_T0") or T_PROBE)

buckets: dict[str, float] = {}
inclusive: dict[str, float] = {}  # wall time of some functions including what they call (see ``timed``)
_stack: list[list[float]] = []  # per active wrapped call: [time spent in nested wrapped calls]


def _add(bucket: str, seconds: float) -> None:
    buckets[bucket] = buckets.get(bucket, 0.0) + seconds


def timed(bucket: str, fn, inclusive_key: str | None = None):
    """``fn`` whose exclusive wall time is added to ``bucket`` (its whole time also to ``inclusive_key``)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        _stack.append([0.0])
        t = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            elapsed = time.perf_counter() - t
            nested = _stack.pop()[0]
            _add(bucket, elapsed - nested)
            if inclusive_key:
                inclusive[inclusive_key] = inclusive.get(inclusive_key, 0.0) + elapsed
            if _stack:
                _stack[-1][0] += elapsed

    wrapper.__probe_wrapped__ = True
    return wrapper


def patch(obj, name: str, bucket: str, inclusive_key: str | None = None) -> None:
    if hasattr(obj, name):
        setattr(obj, name, timed(bucket, getattr(obj, name), inclusive_key))


def mlflow_modules(uri: str) -> list[str]:
    """mlflow's client, and the store modules it imports on first use of a database ``uri``."""
    db = [] if uri.startswith(("http:", "https:")) else ["mlflow.store.db.utils", "mlflow.store.tracking.sqlalchemy_store"]
    return ["mlflow.tracking", *db]


def _import_mlflow(uri: str) -> None:
    """Import ``mlflow_modules(uri)`` on their own timer, once."""
    _import_timed(mlflow_modules(uri))


def _import_timed(modules: list[str]) -> None:
    """Import those of ``modules`` not imported yet, into the ``import mlflow`` bucket."""
    missing = [m for m in modules if m not in sys.modules]
    if missing:
        _stack.append([0.0])
        t = time.perf_counter()
        for m in missing:
            importlib.import_module(m)

        elapsed = time.perf_counter() - t
        _stack.pop()
        _add("import mlflow", elapsed)
        if _stack:
            _stack[-1][0] += elapsed


def instrument(stage: str, mod) -> None:
    from housenet import plots, progress, tracking

    client_for = tracking.client_for

    def client_for_timed(uri, *args, **kwargs):
        _import_mlflow(uri)
        return client_for(uri, *args, **kwargs)

    tracking.client_for = timed("mlflow", client_for_timed)
    for name in ("log_params", "set_tags", "log_metrics", "flush", "log_artifacts"):
        patch(tracking.Run, name, "mlflow")
    retrying_getattr = tracking.RetryingClient.__getattr__

    def getattr_timed(self, name):
        attr = retrying_getattr(self, name)
        return timed("mlflow", attr) if callable(attr) else attr

    tracking.RetryingClient.__getattr__ = getattr_timed
    patch(tracking, "git_commit", "mlflow")  # a git subprocess, for the run's commit tag
    patch(tracking.EpochMetrics, "__call__", "mlflow", "epoch metrics")  # per-epoch logging inside the fit
    for name in ("loss_curves", "predicted_vs_actual", "residuals"):
        patch(plots, name, "plots")
    patch(progress.Progress, "__call__", "progress")
    for name in ("load_arrays", "load_training_arrays", "load_provenance", "read_raw"):
        patch(mod, name, "read")
    for name in ("save_arrays", "atomic_write_json", "atomic_write_text", "write_model_dir"):
        patch(mod, name, "write")
    work = {"housenet.ingest": ("ingest_source",), "housenet.preprocess": ("exclude_above", "prepare"),
            "housenet.train": ("fit_members",), "housenet.evaluate": ("evaluate_model",)}
    for name in work.get(stage, ()):
        patch(mod, name, "work", "work")
    if hasattr(mod, "log_model"):  # evaluate: the model as an MLflow pyfunc model (tracking.log_model)
        log_model = mod.log_model

        def log_model_timed(*args, **kwargs):
            _import_timed(["mlflow.pyfunc"])
            return log_model(*args, **kwargs)

        mod.log_model = timed("log model", log_model_timed)
    if stage == "housenet.preprocess":
        patch(mod.Preprocessor, "save", "write")
    patch(mod, "_run", "other")  # the stage body outside the buckets above
    patch(mod, "main", "hydra")  # what main() spends outside the stage body: Hydra
    import housenet.stage

    patch(housenet.stage, "stage_config", "config check")  # params.yaml against conf/


def main() -> int:
    stage, args = sys.argv[1], sys.argv[2:]
    record = {"stage": stage.removeprefix("housenet."), "args": args, "startup": T_PROBE - T0}
    t = time.perf_counter()
    mod = importlib.import_module(stage)
    record["import"] = time.perf_counter() - t
    record["modules_after_import"] = sorted(m for m in ("pandas", "scipy", "sklearn", "pyarrow", "mlflow",
                                                        "matplotlib") if m in sys.modules)
    instrument(stage, mod)
    sys.argv = [stage.replace(".", "/") + ".py", *args]
    code = 0
    t_main = time.perf_counter()
    try:
        mod.main()
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    record["main"] = time.perf_counter() - t_main
    record.update(buckets)
    record["inclusive"] = inclusive
    record["exit_code"] = code
    record["t0"], record["t_main_end"] = T0, time.time()
    log = os.environ.get("HOUSENET_PROBE_LOG")
    if log:
        with open(log, "a") as f:
            f.write(json.dumps(record) + "\n")
    import housenet.stage

    if code == 0 and hasattr(housenet.stage, "exit_now"):  # as the stage's `if __name__ == "__main__"` does
        housenet.stage.exit_now(code)
    return code


if __name__ == "__main__":
    sys.exit(main())
