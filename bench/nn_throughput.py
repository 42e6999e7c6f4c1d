"""Training throughput of housenet's MLP against PyTorch and scikit-learn (issue 2).

    python bench/nn_throughput.py            # full run (about 12 minutes on an idle 2-core machine)
    python bench/nn_throughput.py --quick    # smoke run (about a minute), small data
    python bench/nn_throughput.py --out docs/benchmarks/network-throughput.md

The parent only orchestrates: every measurement runs in its own subprocess
(``--worker housenet|torch|sklearn|matmul|info``, printing one JSON line), so
imports and thread pools never meet. Runs are interleaved: in each round every
configuration is visited and its three libraries run back to back in a rotated
order. The parent records, for each run, how much CPU other processes used
meanwhile; before a run it waits (within a budget) for them to go idle, and it
repeats a run they disturbed. It writes all raw timings to JSON and renders the
markdown report.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import resource
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
LIBS = ("housenet", "torch", "sklearn")
N_INPUTS = 64
NOISY = 0.2  # cores kept busy by other processes during a run that make it count as noisy


@dataclass(frozen=True)
class Plan:
    rows: int
    archs: tuple[tuple[int, ...], ...]
    batches: tuple[int, ...]
    dtypes: tuple[str, ...]
    rounds: int  # interleaved passes over all configurations; each run has its own warm-up epoch
    epochs: int  # measured epochs per run (after the warm-up)
    max_seconds: float  # ... or fewer, once a run's measured epochs took this long (at least 3)
    matmul_size: int
    matmul_repeats: int
    matmul_seconds: float  # each matmul figure is a median over at least this long
    quiet_wait: float  # before each run, wait up to this long for other processes to go idle ...
    quiet_budget: float  # ... and this long in all
    retries: int  # noisy runs (see orchestrate) are repeated, up to twice each and this often in all


FULL = Plan(rows=100_000, archs=((64, 32), (256, 256)), batches=(32, 256, 4096), dtypes=("float64", "float32"),
            rounds=2, epochs=5, max_seconds=10.0, matmul_size=2048, matmul_repeats=10, matmul_seconds=0.3,
            quiet_wait=120.0, quiet_budget=1800.0, retries=36)
QUICK = Plan(rows=8_192, archs=FULL.archs, batches=FULL.batches, dtypes=FULL.dtypes,
             rounds=1, epochs=2, max_seconds=1.0, matmul_size=1024, matmul_repeats=3, matmul_seconds=0.02,
             quiet_wait=0.0, quiet_budget=0.0, retries=0)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="smoke run: small data, one round, few epochs")
    p.add_argument("--out", type=Path, help="markdown report (default: docs/benchmarks/network-throughput.md, "
                                            "or bench/.out/network-throughput-quick.md with --quick)")
    p.add_argument("--json", type=Path, help="raw results (default: bench/.out/nn_throughput[-quick].json)")
    p.add_argument("--render", type=Path, metavar="JSON", help="only re-render --out from a saved results file")
    p.add_argument("--threads", type=int, help="BLAS threads for numpy (threadpoolctl) and torch.set_num_threads "
                                               "(default: as many as numpy's BLAS starts with)")
    worker = p.add_argument_group("worker mode (used by the parent)")
    worker.add_argument("--worker", choices=(*LIBS, "matmul", "info"))
    worker.add_argument("--arch", default="64,32", help="hidden sizes, e.g. 256,256")
    worker.add_argument("--batch", type=int, default=256)
    worker.add_argument("--dtype", default="float64", choices=("float64", "float32"))
    worker.add_argument("--rows", type=int, default=FULL.rows)
    worker.add_argument("--epochs", type=int, default=FULL.epochs, help="measured epochs after one warm-up epoch")
    worker.add_argument("--max-seconds", type=float, default=FULL.max_seconds)
    worker.add_argument("--size", type=int, default=FULL.matmul_size, help="matmul: square size")
    worker.add_argument("--repeats", type=int, default=FULL.matmul_repeats, help="matmul: repeats")
    worker.add_argument("--min-seconds", type=float, default=FULL.matmul_seconds, help="matmul: least time each")
    return p.parse_args(argv)


def run_worker(args: argparse.Namespace) -> dict:
    sys.path.insert(0, str(HERE))
    import nn_workers

    if args.worker == "info":
        return nn_workers.numpy_info()
    args.threads = args.threads or nn_workers.numpy_info()["blas_threads"]
    if args.worker == "matmul":
        archs = [[int(h) for h in a.split(",")] for a in args.arch.split(";")]
        return nn_workers.run_matmul(args.size, args.batch, archs, N_INPUTS, args.repeats, args.threads,
                                     args.min_seconds)
    arch = [int(h) for h in args.arch.split(",")]
    return nn_workers.run_trainer(args.worker, arch, args.batch, args.dtype, args.rows, args.epochs,
                                  args.max_seconds, args.threads)


# -- the parent ----------------------------------------------------------------------
def _busy_and_steal_seconds() -> tuple[float, float]:
    """CPU seconds all processes have been busy since boot, and hypervisor steal, from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    tick = os.sysconf("SC_CLK_TCK")
    return (user + nice + system + irq + softirq) / tick, steal / tick


class QuietWaiter:
    """Waits before a run until other processes use under ``limit`` cores, within a per-wait and a total budget."""

    def __init__(self, limit: float, max_wait: float, budget: float):
        self.limit, self.max_wait, self.budget, self.waited = limit, max_wait, budget, 0.0

    def __call__(self) -> None:
        self.waited += _wait_for_quiet(self.limit, min(self.max_wait, self.budget - self.waited))


def _wait_for_quiet(limit: float, max_wait: float, window: float = 1.0, needed: int = 2) -> float:
    """Sleep until ``needed`` windows in a row saw other processes use under ``limit`` cores (or max_wait passed)."""
    t0, quiet = time.perf_counter(), 0
    while quiet < needed and time.perf_counter() - t0 < max_wait:
        busy0, _ = _busy_and_steal_seconds()
        time.sleep(window)
        quiet = quiet + 1 if (_busy_and_steal_seconds()[0] - busy0) / window < limit else 0
    return time.perf_counter() - t0


def call_worker(worker: str, **options) -> dict:
    """Run one worker subprocess; add its wall time and the CPU other processes used meanwhile."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", worker]
    for key, value in options.items():
        cmd += [f"--{key.replace('_', '-')}", str(value)]
    busy0, steal0 = _busy_and_steal_seconds()
    own0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"worker failed ({' '.join(cmd)}):\n{proc.stderr[-4000:]}")
    own1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy1, steal1 = _busy_and_steal_seconds()
    own = (own1.ru_utime - own0.ru_utime) + (own1.ru_stime - own0.ru_stime)
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["wall_seconds"] = wall
    result["other_cpu_cores"] = max(0.0, (busy1 - busy0) - own) / wall  # mean cores busy with other work
    result["steal_cores"] = (steal1 - steal0) / wall
    return result


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def regenerate_command(argv: list[str]) -> str:
    exe = Path(sys.executable)
    try:
        exe_text = str(exe.relative_to(Path.cwd()))
    except ValueError:
        exe_text = "python"
    return " ".join([exe_text, "bench/nn_throughput.py", *argv])


def orchestrate(plan: Plan, threads: int | None = None, log=print) -> dict:
    info = call_worker("info")
    threads = threads or info["blas_threads"]
    # a run is noisy when other processes took more than the cores it leaves free, plus NOISY
    noisy = NOISY + max(0, (os.cpu_count() or 1) - threads)
    wait_for_quiet = QuietWaiter(noisy, plan.quiet_wait, plan.quiet_budget)
    arch_list = ";".join(",".join(map(str, a)) for a in plan.archs)
    matmul_opts = dict(size=plan.matmul_size, repeats=plan.matmul_repeats, min_seconds=plan.matmul_seconds,
                       batch=max(plan.batches), arch=arch_list, threads=threads)
    log(f"numpy BLAS: {info['blas']['internal_api']} {info['blas']['version']}, kernel "
        f"{info['blas']['architecture']}, {threads} threads; matmul probe ...")
    wait_for_quiet()
    matmul = [call_worker("matmul", **matmul_opts)]
    configs = list(itertools.product(plan.archs, plan.dtypes, plan.batches))
    total = plan.rounds * len(configs) * len(LIBS)
    runs, retries_left = [], plan.retries
    for rnd in range(plan.rounds):
        for ci, (arch, dtype, batch) in enumerate(configs):
            shift = (rnd + ci) % len(LIBS)
            for lib in LIBS[shift:] + LIBS[:shift]:
                opts = dict(arch=",".join(map(str, arch)), batch=batch, dtype=dtype, rows=plan.rows,
                            epochs=plan.epochs, max_seconds=plan.max_seconds, threads=threads)
                wait_for_quiet()
                res = call_worker(lib, **opts)
                discarded = []
                while res["other_cpu_cores"] >= noisy and retries_left > 0 and len(discarded) < 2:
                    retries_left -= 1
                    log(f"      {lib} {opts['arch']} {dtype} batch {batch}: other load "
                        f"{res['other_cpu_cores']:.2f} cores, running it again")
                    wait_for_quiet()
                    again = call_worker(lib, **opts)
                    res, worse = (again, res) if again["other_cpu_cores"] <= res["other_cpu_cores"] else (res, again)
                    discarded.append(worse)  # kept for the record only
                if discarded:
                    res["discarded"] = discarded
                res["round"] = rnd
                runs.append(res)
                measured = sorted(res["epoch_seconds"][1:])
                log(f"[{len(runs):3d}/{total}] {lib:8s} {'-'.join(map(str, arch)):>7s} {dtype} batch {batch:4d}: "
                    f"{plan.rows / measured[len(measured) // 2]:>10,.0f} samples/s "
                    f"({len(measured)} epochs, loss {res['final_loss']:.3f}, other load {res['other_cpu_cores']:.2f})")
    log("matmul probe again ...")
    wait_for_quiet()
    matmul.append(call_worker("matmul", **matmul_opts))
    return {"info": info, "matmul": matmul, "runs": runs, "threads": threads, "noisy_cores": noisy,
            "quiet_waited_seconds": wait_for_quiet.waited}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    if args.worker:
        print(json.dumps(run_worker(args)))
        return 0

    sys.path.insert(0, str(HERE))
    import nn_report

    plan = QUICK if args.quick else FULL
    suffix = "-quick" if args.quick else ""
    out = args.out or (HERE / ".out" / "network-throughput-quick.md" if args.quick
                       else HERE.parent / "docs" / "benchmarks" / "network-throughput.md")
    if args.render:
        results = json.loads(args.render.read_text())
        results["summary"] = nn_report.summarise(results)
        out.write_text(nn_report.render(results))
        print(f"wrote {out}")
        return 0
    json_path = args.json or HERE / ".out" / f"nn_throughput{suffix}.json"
    env_blas = {k: os.environ.get(k) for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS",
                                                "OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    if env_blas["OPENBLAS_CORETYPE"] or env_blas["OPENBLAS_L2_SIZE"]:
        print("warning: OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE are set and may slow numpy; to measure the default "
              "kernel run: env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE " + regenerate_command(argv), file=sys.stderr)
    started = datetime.now(timezone.utc)
    t0 = time.perf_counter()
    results = orchestrate(plan, args.threads)
    results.update(
        plan=asdict(plan), quick=args.quick, command=regenerate_command(argv), started=started.isoformat(),
        duration_seconds=time.perf_counter() - t0, cpu_model=cpu_model(), cores=os.cpu_count(), env=env_blas,
        n_inputs=N_INPUTS, load_average_end=os.getloadavg(),
    )
    results["summary"] = nn_report.summarise(results)
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(results, indent=1))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(nn_report.render(results))
    print(f"wrote {out} and {json_path} in {results['duration_seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
