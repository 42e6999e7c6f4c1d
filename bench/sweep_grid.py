"""Benchmark: a 16-job grid on Ames with the basic launcher and with joblib (n_jobs=2), and the per-job cost
outside training.

    .venv/bin/python bench/sweep_grid.py [--repeats 2] [--variants early-stopping full-schedule]

Runs ``python -m housenet.train -m sweep=grid`` (conf/sweep/grid.yaml: 4 learning rates x 2
architectures x 2 batch sizes, the default 300 epochs with early stopping) exactly as a user
would, alternating the two launchers, on the prepared Ames data (``dvc repro preprocess`` runs
first if they are missing). Runs go to a scratch store (bench/.out/sweep_grid.db, created before
the clock starts); job folders to bench/.out/sweeps/. Wall time is the whole command, start to
exit. Each job's job.json gives the seconds of every part; a fresh process measures the imports.
Other processes' CPU use during each sweep is measured from /proc/stat and reported.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / ".out"
# Every process trains with one BLAS thread (loky pins joblib's workers to one anyway), so the comparison is
# of launchers; "basic-blas2" is the basic launcher with numpy's default (OpenBLAS: one thread per core).
ONE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
LAUNCHERS = {"basic": ([], ONE_THREAD), "joblib": (["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"], ONE_THREAD),
             "basic-blas2": ([], {})}
# The grid as configured (early stopping ends most jobs after 1-2 s of training on Ames) and the same grid
# training the full 300-epoch cosine schedule (a few seconds per job).
VARIANTS = {"early-stopping": [], "full-schedule": ["training.patience=null"]}
IMPORTS = """
import time; t0 = time.perf_counter()
import housenet.train, housenet.evaluate, housenet.sweep.job, housenet.sweep.callback
t1 = time.perf_counter()
from housenet import tracking
client, exp = tracking.prepare_store({uri!r}, "sweep-bench")
t2 = time.perf_counter()
print(t1 - t0, t2 - t1)
"""


def cpu_busy() -> float:
    """Seconds of CPU time used by everything on the machine so far (from /proc/stat)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def wait_for_quiet(max_other: float, max_wait: float) -> None:
    """Wait (at most ``max_wait`` s) until other processes use under ``max_other`` cores for 5 s."""
    deadline = time.monotonic() + max_wait
    while True:
        busy0, t0 = cpu_busy(), time.perf_counter()
        time.sleep(5)
        used = (cpu_busy() - busy0) / (time.perf_counter() - t0)
        if used <= max_other or time.monotonic() > deadline:
            return
        print(f"  other processes use {used:.2f} cores: waiting", flush=True)
        time.sleep(10)


def children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_sweep(label: str, variant: str, extra: list[str], env: dict, uri: str) -> dict:
    sweep_dir = OUT / "sweeps" / f"{variant}-{label}"
    shutil.rmtree(sweep_dir, ignore_errors=True)
    cmd = [sys.executable, "-m", "housenet.train", "-m", "sweep=grid", f"tracking.uri={uri}",
           "tracking.experiment=sweep-bench", f"hydra.sweep.dir={sweep_dir}", *extra]
    busy0, mine0, t0 = cpu_busy(), children_cpu(), time.perf_counter()
    environ = {k: v for k, v in os.environ.items() if k not in ONE_THREAD}
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, env={**environ, **env})
    wall = time.perf_counter() - t0
    others = max(0.0, (cpu_busy() - busy0) - (children_cpu() - mine0)) / wall
    if proc.returncode != 0 or "16 jobs, 16 finished, 0 failed" not in proc.stdout:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    jobs = [json.loads((sweep_dir / str(i) / "job.json").read_text()) for i in range(16)]
    return {"label": label, "variant": variant, "launcher": label.rsplit("-", 1)[0], "wall": wall, "env": env,
            "command": " ".join(["python -m housenet.train -m sweep=grid", *extra]),
            "other_cpu_cores": others, "jobs": jobs}


def overhead(run: dict, imports_s: float) -> dict:
    """Per-job seconds outside training: inside the job, between jobs (Hydra), and process start-up."""
    jobs = sorted(run["jobs"], key=lambda j: j["started"])
    by_pid: dict[int, list] = {}
    for j in jobs:
        by_pid.setdefault(j["pid"], []).append(j)
    parts = ("load", "open_run", "evaluate", "log", "finish")
    later = [j for js in by_pid.values() for j in js[1:]]  # MLflow imported and its store opened already
    firsts = [js[0] for js in by_pid.values()]
    gaps = [b["started"] - a["ended"] for js in by_pid.values() for a, b in zip(js, js[1:])]
    outside = [sum(j["seconds"].get(p, 0.0) for p in parts) for j in jobs]
    workers = len(by_pid) if run["launcher"] == "joblib" else 0  # the basic launcher reuses the driver
    amortised = (sum(outside) + sum(gaps) + workers * imports_s) / len(jobs)
    return {
        "median": {p: statistics.median(j["seconds"].get(p, 0.0) for j in later) for p in parts},
        "hydra_gap_median": statistics.median(gaps) if gaps else 0.0,
        "first_job_open_run": [round(j["seconds"]["open_run"], 2) for j in firsts],
        "train_total": sum(j["seconds"]["train"] for j in jobs),
        "outside_median": statistics.median(o for j, o in zip(jobs, outside) if j in later),
        "amortised": amortised, "processes": len(by_pid),
    }


def markdown(results: dict) -> str:
    lines = [f"Measured {results['date']} on {results['machine']}; `{results['command']}`.", "",
             "| grid | launcher | wall time per 16-job grid (s) | median (s) | training, sum over jobs (s) | "
             "other processes' CPU during the sweep (cores) | joblib / basic |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for variant in VARIANTS:
        medians = {}
        for launcher in LAUNCHERS:
            rs = [r for r in results["runs"] if r["variant"] == variant and r["launcher"] == launcher]
            if not rs:
                continue
            medians[launcher] = statistics.median(r["wall"] for r in rs)
            walls = ", ".join(f"{r['wall']:.1f}" for r in rs)
            others = ", ".join(f"{r['other_cpu_cores']:.2f}" for r in rs)
            train = statistics.median(r["overhead"]["train_total"] for r in rs)
            both = launcher == "joblib" and "basic" in medians
            ratio = f"**{medians['joblib'] / medians['basic']:.2f}**" if both else ""
            name = {"joblib": "joblib, n_jobs=2", "basic": "basic",
                    "basic-blas2": "basic, numpy's default BLAS threads (2)"}[launcher]
            lines.append(f"| {variant} | {name} | {walls} | {medians[launcher]:.1f} | {train:.1f} | {others} "
                         f"| {ratio} |")
    lines += ["", "Per-job cost outside training (seconds; medians over the jobs after each process's first):", "",
              "| run | load data | open MLflow run + params | save model + evaluate | log metrics + end run "
              "| job.json | Hydra between jobs | total per job | first job per process: opening the run "
              "| amortised per job, incl. imports |", "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in results["runs"]:
        o, m = r["overhead"], r["overhead"]["median"]
        total = o["outside_median"] + o["hydra_gap_median"]
        lines.append(f"| {r['variant']} {r['label']} | {m['load']:.3f} | {m['open_run']:.3f} | {m['evaluate']:.3f} | "
                     f"{m['log']:.3f} | {m['finish']:.3f} | {o['hydra_gap_median']:.3f} | {total:.3f} | "
                     f"{', '.join(map(str, o['first_job_open_run']))} | {o['amortised']:.3f} |")
    n_bad = len(results.get("disturbed_runs", []))
    if n_bad:
        lines += ["", f"{n_bad} further runs were discarded and run again because other processes used more than "
                  f"{results['max_other']} cores during their set."]
    imp = results["imports"]
    lines += ["", f"A fresh process imports housenet's stages and Hydra in {imp['housenet']:.2f} s and imports MLflow "
              f"and opens the SQLite store in {imp['mlflow']:.2f} s (median of {len(imp['samples'])}); the basic "
              "launcher pays both once for the whole sweep, each joblib worker once (while the parent sets up)."]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--skip", nargs="*", default=[], choices=list(LAUNCHERS), help="launchers not to run")
    parser.add_argument("--max-other", type=float, default=0.15,
                        help="a set of runs during which other processes used more CPU cores than this is run again")
    parser.add_argument("--attempts", type=int, default=3)
    parser.add_argument("--max-wait", type=float, default=600, help="seconds to wait for a quiet machine")
    parser.add_argument("--out", type=Path, default=OUT / "sweep_grid.json")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    if not (REPO / "data" / "prepared" / "arrays.npz").is_file():
        subprocess.run([str(Path(sys.executable).parent / "dvc"), "repro", "preprocess"], cwd=REPO, check=True)
    db = OUT / "sweep_grid.db"
    db.unlink(missing_ok=True)
    uri = f"sqlite:///{db}"
    samples = []
    for _ in range(3):  # also creates the store, before any clock starts
        out = subprocess.run([sys.executable, "-c", IMPORTS.format(uri=uri)], cwd=REPO, capture_output=True,
                             text=True, check=True).stdout.split()
        samples.append([float(x) for x in out])
    imports = {"housenet": statistics.median(s[0] for s in samples), "mlflow": statistics.median(s[1] for s in samples),
               "samples": samples}
    runs, disturbed = [], []
    for variant in args.variants:
        for rep in range(args.repeats):
            for attempt in range(args.attempts):  # a set of runs disturbed by other processes is run again
                wait_for_quiet(args.max_other, args.max_wait)
                batch = []
                for name, (extra, env) in LAUNCHERS.items():
                    if name in args.skip:
                        continue
                    run = run_sweep(f"{name}-{rep + 1}", variant, extra + VARIANTS[variant], env, uri)
                    run["overhead"] = overhead(run, imports["housenet"] + imports["mlflow"])
                    print(f"{variant} {run['label']}: {run['wall']:.1f} s (other processes used "
                          f"{run['other_cpu_cores']:.2f} cores)", flush=True)
                    batch.append(run)
                if max(r["other_cpu_cores"] for r in batch) <= args.max_other or attempt == args.attempts - 1:
                    runs += batch
                    break
                disturbed += batch
                print("  disturbed by other processes: running this set again", flush=True)
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    results = {"date": datetime.now().strftime("%Y-%m-%d %H:%M"), "command": "python bench/sweep_grid.py",
               "machine": f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}",
               "imports": imports, "runs": runs, "disturbed_runs": disturbed, "max_other": args.max_other}
    args.out.write_text(json.dumps(results, indent=1))
    print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
