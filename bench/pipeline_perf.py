"""Performance of the whole pipeline (issue 6): start-up, per-stage overhead, tracking cost, scaling.

    python bench/pipeline_perf.py                  # full run (about 15 minutes on a loaded 2-core machine)
    python bench/pipeline_perf.py --quick          # smoke run (about 3 minutes), small sizes, one repetition
    python bench/pipeline_perf.py --out docs/benchmarks/pipeline.md

Run it from the repository root with the project's venv (its bin is put first on PATH
for DVC's stage commands; the clones import this checkout's src/). What it measures:

- ``repro``: a fresh clone (the project's files copied into a temporary Git
  repository, as tests/pipeline does) and ``dvc repro`` in it, timed end to end;
  then ``dvc repro`` with nothing to do (several times); then ``dvc repro --force``
  (every stage again, the MLflow store now existing). Every stage runs through
  bench/pipeline_probe.py (a ``python`` shim first on PATH), which splits its wall
  time into start-up, imports, Hydra, reading, real work, MLflow, plots, writing.
- ``imports``: ``python -c "import housenet.<stage>"`` minus ``python -c pass``, medians.
- ``train scaling``: the train stage's library function on synthetic prepared
  arrays (10k/100k/1M rows of Ames-like width, then other widths), a few epochs,
  no tracking, one process per case: seconds per epoch and peak memory against
  the bound 1.5 x training arrays + 100 MB.
- ``preprocess``: the preprocess stage's function on an Ames-like raw table of
  1M rows (Ames rows resampled), and 100k for the slope.
- ``tracking``: 1000 epochs on Ames with and without MLflow, side by side.
- ``dtype``: Ames with the default configuration, float64 against float32 (and
  numpy's BLAS at 1 thread against as it starts), test R^2 of each.

Every case runs in its own subprocess; for each the CPU time other processes used
meanwhile is recorded (the machine is shared). Results: JSON in bench/.out/, and
the markdown report (bench/pipeline_report.py).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
BIN = Path(sys.executable).parent
sys.path.insert(0, str(HERE))

from nn_throughput import _busy_and_steal_seconds, cpu_model  # noqa: E402


@dataclass(frozen=True)
class Plan:
    repro_reps: int  # fresh clones
    noop_reps: int  # `dvc repro` with nothing to do, per clone
    import_reps: int
    scaling_rows: tuple[int, ...]  # at width WIDTH
    widths: tuple[int, ...]  # at rows WIDTH_ROWS
    width_rows: int
    scaling_epochs: int
    scaling_reps: int  # repetitions of cases up to REPEAT_MAX_ROWS rows
    preprocess_rows: tuple[int, ...]
    tracking_epochs: int
    tracking_reps: int
    dtype_reps: int
    baseline_reps: int  # fresh clones of the --baseline commit (its stages may be much slower)


WIDTH = 280  # Ames after one-hot encoding: 280 features
REPEAT_MAX_ROWS = 100_000
FULL = Plan(repro_reps=3, noop_reps=5, import_reps=7, scaling_rows=(10_000, 100_000, 1_000_000), widths=(70, 280, 1120),
            width_rows=100_000, scaling_epochs=3, scaling_reps=3, preprocess_rows=(100_000, 1_000_000),
            tracking_epochs=1000, tracking_reps=2, dtype_reps=2, baseline_reps=1)
QUICK = Plan(repro_reps=1, noop_reps=3, import_reps=3, scaling_rows=(2_000, 20_000), widths=(70, 280), width_rows=20_000,
             scaling_epochs=2, scaling_reps=1, preprocess_rows=(20_000,), tracking_epochs=100, tracking_reps=1,
             dtype_reps=1, baseline_reps=1)
STAGES = ("housenet.ingest", "housenet.preprocess", "housenet.train", "housenet.evaluate")
ENTRY_POINTS = (*STAGES, "housenet.cli", "housenet.params")


# -- running things and noting the load -----------------------------------------------------------------
def run_measured(cmd: list[str], cwd: Path, env: dict[str, str] | None = None, check: bool = True) -> dict:
    """Run ``cmd``; its wall time, output, and the cores other processes kept busy meanwhile."""
    busy0, _ = _busy_and_steal_seconds()
    own0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    own1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy1, _ = _busy_and_steal_seconds()
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    own = (own1.ru_utime - own0.ru_utime) + (own1.ru_stime - own0.ru_stime)
    return {"wall": wall, "stdout": proc.stdout, "stderr": proc.stderr, "returncode": proc.returncode,
            "own_cpu": own, "other_cores": max(0.0, (busy1 - busy0) - own) / wall}


def base_env(src: Path = REPO / "src") -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DVC_", "HOUSENET_PROBE"))}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = str(src)
    env["DVC_NO_ANALYTICS"] = "1"
    env["GIT_AUTHOR_NAME"] = env["GIT_COMMITTER_NAME"] = "bench"
    env["GIT_AUTHOR_EMAIL"] = env["GIT_COMMITTER_EMAIL"] = "bench@housenet.invalid"
    return env


def worker(kind: str, cwd: Path, **args) -> dict:
    res = run_measured([sys.executable, str(HERE / "pipeline_workers.py"), kind, json.dumps(args)], cwd, base_env())
    out = json.loads(res["stdout"].strip().splitlines()[-1])
    out["wall"], out["other_cores"] = res["wall"], res["other_cores"]
    return out


# -- fresh clones and dvc repro ------------------------------------------------------------------------------
SHIM = """#!/bin/bash
# python, but `python -m housenet.<stage>` runs through bench/pipeline_probe.py (see pipeline_perf.py)
if [ "$1" = "-m" ] && [[ "$2" == housenet.* ]]; then
  export HOUSENET_PROBE_T0=$(date +%s.%N)
  "{python}" "{probe}" "${{@:2}}"
  rc=$?
  echo "{{\\"stage\\": \\"${{2#housenet.}}\\", \\"t_exit\\": $(date +%s.%N)}}" >> "$HOUSENET_PROBE_LOG"
  exit $rc
fi
exec "{python}" "$@"
"""


def fresh_clone(dest: Path, source: Path = REPO) -> Path:
    """The project's files (no pipeline outputs) in a new Git repository, like tests/pipeline.

    ``source``: this checkout (its ``git ls-files``, untracked files included) or an exported tree.
    """
    if (source / ".git").exists():
        out = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=source, capture_output=True,
                             text=True, check=True)
        files = out.stdout.splitlines()
    else:
        files = [str(p.relative_to(source)) for p in source.rglob("*") if p.is_file()]
    for f in files:
        if f.startswith(("data/raw/", "data/prepared/", "models/")) or not (source / f).is_file():
            continue
        (dest / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / f, dest / f)
    env = base_env(dest / "src")
    for cmd in (["git", "init", "-q", "-b", "main"], ["git", "add", "-A"], ["git", "commit", "-q", "-m", "copy"]):
        subprocess.run(cmd, cwd=dest, env=env, check=True, capture_output=True)
    return dest


def probe_env(clone: Path, shim_dir: Path, log: Path) -> dict[str, str]:
    env = base_env(clone / "src")
    env["PATH"] = f"{shim_dir}{os.pathsep}{env['PATH']}"
    env["HOUSENET_PROBE_LOG"] = str(log)
    return env


def make_shim(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    shim = folder / "python"
    shim.write_text(SHIM.format(python=BIN / "python", probe=HERE / "pipeline_probe.py"))
    shim.chmod(0o755)
    return folder


def read_probe_log(log: Path) -> list[dict]:
    """One record per stage run: the probe's line merged with the shim's exit time."""
    records, pending = [], {}
    if not log.exists():
        return records
    for line in log.read_text().splitlines():
        r = json.loads(line)
        if "t_exit" in r:
            rec = pending.pop(r["stage"])
            rec["exit"] = r["t_exit"] - rec["t_main_end"]
            rec["wall"] = r["t_exit"] - rec["t0"]
            records.append(rec)
        else:
            pending[r["stage"]] = r
    return records


def export_ref(ref: str, dest: Path) -> str:
    """The files of commit ``ref`` of this repository in ``dest`` (git archive); returns its commit id."""
    sha = subprocess.run(["git", "rev-parse", ref], cwd=REPO, capture_output=True, text=True,
                         check=True).stdout.strip()
    dest.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", sha], cwd=REPO, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return sha


def repro_case(tmp: Path, rep: int, noop_reps: int, log=print, source: Path = REPO, label: str = "") -> dict:
    clone = fresh_clone(tmp / f"clone{label}{rep}", source)
    log(f"  {label or 'this checkout'}:")
    shim_dir = make_shim(tmp / "shim")
    out: dict = {}
    for name, cmd in (("cold", ["dvc", "repro"]), ("warm", ["dvc", "repro", "--force"])):
        plog = tmp / f"probe{label}{rep}-{name}.jsonl"
        res = run_measured([str(BIN / "dvc"), *cmd[1:]], clone, probe_env(clone, shim_dir, plog))
        out[name] = {"wall": res["wall"], "other_cores": res["other_cores"], "stages": read_probe_log(plog),
                     "stdout": res["stdout"][-4000:]}
        log(f"  clone {rep}: {' '.join(cmd)}: {res['wall']:.1f} s (other load {res['other_cores']:.2f} cores)")
        if name == "cold":
            noop = [run_measured([str(BIN / "dvc"), "repro"], clone, probe_env(clone, shim_dir, plog))
                    for _ in range(noop_reps)]
            if any("up to date" not in r["stdout"] for r in noop):
                raise RuntimeError("a second dvc repro did something:\n" + noop[0]["stdout"])
            out["noop"] = [{"wall": r["wall"], "other_cores": r["other_cores"]} for r in noop]
            log(f"  clone {rep}: dvc repro with nothing to do: median "
                f"{statistics.median(r['wall'] for r in noop):.2f} s")
    out["metrics"] = json.loads((clone / "reports" / "metrics.json").read_text())
    return out


# -- imports --------------------------------------------------------------------------------------------------
def import_case(reps: int, src: Path = REPO / "src") -> dict:
    """Wall time of `python -c "import X"` for each entry point, minus `python -c pass`, interleaved."""
    env = base_env(src)
    names = ("<python>", *ENTRY_POINTS, "mlflow", "pandas")
    times: dict[str, list[float]] = {n: [] for n in names}
    modules: dict[str, list[str]] = {}
    for _ in range(reps):
        for n in names:
            code = "pass" if n == "<python>" else f"import {n}"
            times[n].append(run_measured([sys.executable, "-c", code], REPO, env)["wall"])
    check = ("pandas", "pyarrow", "scipy", "sklearn", "mlflow", "matplotlib")
    for n in ENTRY_POINTS:
        code = f"import sys, {n}; print(' '.join(m for m in {check!r} if m in sys.modules))"
        modules[n] = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                                    check=True).stdout.split()
    return {"times": times, "modules": modules}


# -- the scaling cases ---------------------------------------------------------------------------------------
def scaling_case(tmp: Path, plan: Plan, log=print) -> list[dict]:
    cases = [(r, WIDTH) for r in plan.scaling_rows] + [(plan.width_rows, w) for w in plan.widths if w != WIDTH]
    runs = []
    overrides = [f"training.epochs={plan.scaling_epochs}", "training.patience=null", "model.ensemble=1"]
    for rows, width in sorted(cases, key=lambda c: c[0] * c[1]):  # small first
        folder = tmp / f"arrays-{rows}-{width}"
        worker("make_arrays", REPO, folder=str(folder), rows=rows, width=width)
        reps = plan.scaling_reps if rows <= REPEAT_MAX_ROWS else 1
        for rep in range(reps):
            res = worker("train", REPO, folder=str(folder), overrides=overrides, track=False, threads=1)
            res.update(rows=rows, width=width, rep=rep)
            runs.append(res)
            log(f"  train {rows:>9,} rows x {width:4d}: {res['seconds']:.1f} s, epoch "
                f"{statistics.median(res['epoch_seconds'][1:] or res['epoch_seconds']):.2f} s, peak "
                f"{res['peak_bytes'] / 2**20:,.0f} MB for {res['training_array_bytes'] / 2**20:,.0f} MB of arrays "
                f"(other load {res['other_cores']:.2f})")
        shutil.rmtree(folder)
    return runs


def preprocess_scaling(tmp: Path, plan: Plan, log=print) -> list[dict]:
    runs = []
    for rows in plan.preprocess_rows:
        folder = tmp / f"raw-{rows}"
        made = worker("make_raw_table", REPO, folder=str(folder), rows=rows)
        res = worker("preprocess", REPO, folder=str(folder))
        res.update(table_rows=rows, columns=made["columns"])
        runs.append(res)
        log(f"  preprocess {rows:>9,} rows: {res['seconds']:.1f} s, peak {res['peak_bytes'] / 2**20:,.0f} MB "
            f"(CSV {res['csv_bytes'] / 2**20:,.0f} MB, arrays {res['arrays_bytes'] / 2**20:,.0f} MB; "
            f"other load {res['other_cores']:.2f})")
        shutil.rmtree(folder)
    return runs


def ames_folder(tmp: Path, clone: Path) -> Path:
    """The Ames prepared arrays of a clone, in a folder the train worker can use."""
    folder = tmp / "ames"
    folder.mkdir(exist_ok=True)
    for src, name in (("data/prepared/arrays.npz", "arrays.npz"), ("data/prepared/preprocessor.json",
                                                                   "preprocessor.json"),
                      ("data/raw/source.json", "source.json")):
        shutil.copy2(clone / src, folder / name)
    return folder


def tracking_case(folder: Path, plan: Plan, log=print) -> list[dict]:
    """1000 epochs on Ames without and with MLflow, interleaved. The store exists already (a warm-up run made it).

    "flush every log_every epochs" is EpochMetrics without its time floor (min_seconds=0): the batching before
    issue 6, for comparison.
    """
    overrides = [f"training.epochs={plan.tracking_epochs}", "training.patience=null", "model.ensemble=1"]
    worker("train", REPO, folder=str(folder), overrides=["training.epochs=1", "model.ensemble=1"], track=True,
           threads=1)
    runs = []
    variants = [("off", False, None), ("on", True, None), ("on, flush every log_every epochs", True, 0.0)]
    for rep in range(plan.tracking_reps):
        for name, track, floor in (variants if rep % 2 == 0 else variants[::-1]):
            res = worker("train", REPO, folder=str(folder), overrides=overrides, track=track, threads=1,
                         flush_min_seconds=floor)
            res.update(track=track, variant=name, rep=rep)
            runs.append(res)
            log(f"  {plan.tracking_epochs} epochs, tracking {name}: {res['seconds']:.1f} s "
                f"(fit {res['inclusive'].get('work', 0):.1f} s, per-epoch logging "
                f"{res['inclusive'].get('epoch metrics', 0):.2f} s; other load {res['other_cores']:.2f})")
    return runs


def dtype_case(folder: Path, plan: Plan, log=print) -> list[dict]:
    """Ames, default configuration: float64 and float32, then test R^2; and BLAS as it starts (one network)."""
    runs = []
    for rep in range(plan.dtype_reps):
        for threads in (1, None):
            for dtype in (("float64", "float32") if rep % 2 == 0 else ("float32", "float64")):
                one = [] if threads == 1 else ["model.ensemble=1"]  # the thread comparison on one network
                res = worker("train", REPO, folder=str(folder), overrides=[f"model.dtype={dtype}", *one],
                             track=False, threads=threads)
                res["ensemble"] = 1 if one else None
                res["metrics"] = worker("evaluate", REPO, folder=str(folder), model_dir=str(folder / "model"))
                res.update(dtype=dtype, rep=rep)
                runs.append(res)
                med = statistics.median(res["epoch_seconds"][1:])
                log(f"  Ames {dtype} threads {threads or 'default'}: fit {res['inclusive']['work']:.1f} s, "
                    f"{res['epochs']} epochs, {res['n_train'] / med:,.0f} rows/s, test R^2 "
                    f"{res['metrics']['test_r2']:.4f} (other load {res['other_cores']:.2f})")
    return runs


# -- the run ------------------------------------------------------------------------------------------------------
def machine_info() -> dict:
    import nn_workers

    info = nn_workers.numpy_info()
    info["cpu"] = cpu_model()
    info["nproc"] = os.cpu_count()
    for pkg in ("dvc", "mlflow", "hydra-core", "pandas"):
        from importlib import metadata

        info["versions"][pkg] = metadata.version(pkg)
    info["mem_total_gb"] = int(Path("/proc/meminfo").read_text().split()[1]) / 2**20
    return info


def loadavg() -> list[float]:
    return [float(v) for v in Path("/proc/loadavg").read_text().split()[:3]]


def orchestrate(plan: Plan, sections: list[str], log=print, baseline: str | None = None) -> dict:
    results: dict = {"info": machine_info(), "plan": plan.__dict__, "started": datetime.now(timezone.utc).isoformat(),
                     "loadavg_start": loadavg()}
    t_start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="housenet-bench-") as d:
        tmp = Path(d)
        if baseline:
            base_src = tmp / "baseline-src"
            results["baseline"] = {"ref": baseline, "commit": export_ref(baseline, base_src), "repro": []}
        if "repro" in sections or "tracking" in sections or "dtype" in sections:
            log("fresh clones, dvc repro ...")
            results["repro"] = []
            for rep in range(plan.repro_reps):
                both = [("", REPO), ("baseline", base_src)] if baseline and rep < plan.baseline_reps else [("", REPO)]
                for label, source in (both if rep % 2 == 0 else both[::-1]):  # side by side, alternating
                    res = repro_case(tmp, rep, plan.noop_reps, log, source, label)
                    (results["baseline"]["repro"] if label else results["repro"]).append(res)
            folder = ames_folder(tmp, tmp / "clone0")
        if "imports" in sections:
            log("imports ...")
            results["imports"] = import_case(plan.import_reps)
            if baseline:
                results["baseline"]["imports"] = import_case(plan.import_reps, base_src / "src")
        if "tracking" in sections:
            log("MLflow logging cost ...")
            results["tracking"] = tracking_case(folder, plan, log)
        if "dtype" in sections:
            log("float64 against float32 on Ames ...")
            results["dtype"] = dtype_case(folder, plan, log)
        if "scaling" in sections:
            log("training against rows and width ...")
            results["scaling"] = scaling_case(tmp, plan, log)
        if "preprocess" in sections:
            log("preprocessing a large table ...")
            results["preprocess"] = preprocess_scaling(tmp, plan, log)
    results["loadavg_end"] = loadavg()
    results["minutes"] = (time.perf_counter() - t_start) / 60
    return results


SECTIONS = ("repro", "imports", "tracking", "dtype", "scaling", "preprocess")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="smoke run: small sizes, one repetition")
    p.add_argument("--out", type=Path, help="markdown report (default: docs/benchmarks/pipeline.md, or "
                                            "bench/.out/pipeline-quick.md with --quick)")
    p.add_argument("--json", type=Path, help="raw results (default: bench/.out/pipeline[-quick].json)")
    p.add_argument("--render", type=Path, metavar="JSON", help="only re-render --out from a saved results file")
    p.add_argument("--only", nargs="+", choices=SECTIONS, default=list(SECTIONS), help="run only these sections")
    p.add_argument("--baseline", metavar="REF", help="also run dvc repro and the imports on this commit "
                                                    "(e.g. the one before the performance fixes), side by side")
    args = p.parse_args(argv)
    import pipeline_report

    suffix = "-quick" if args.quick else ""
    out = args.out or (HERE / ".out" / "pipeline-quick.md" if args.quick else REPO / "docs" / "benchmarks" / "pipeline.md")
    json_path = args.json or HERE / ".out" / f"pipeline{suffix}.json"
    if args.render:
        results = json.loads(args.render.read_text())
    else:
        results = orchestrate(QUICK if args.quick else FULL, args.only, baseline=args.baseline)
        results["command"] = " ".join([".venv/bin/python", "bench/pipeline_perf.py", *argv])
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(results, indent=1))
        print(f"wrote {json_path}")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(pipeline_report.render(results))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
