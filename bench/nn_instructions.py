"""Instructions per training step, counted by valgrind's callgrind: a load-independent A/B of two versions.

    git worktree add --detach /tmp/housenet-old <commit>
    .venv/bin/python bench/nn_instructions.py --src old=/tmp/housenet-old/src --src new=src

For each version (a ``src`` folder holding ``housenet``) and dtype it counts the instructions of a
whole process that trains D-64 -> 256 -> 256 -> 1 for 1 epoch and for 3 epochs at batch 32
(3,200 rows: 100 steps an epoch, numpy's BLAS at 1 thread) and reports the difference over
200 steps, which cancels start-up and imports. Counts repeat exactly whatever else the machine
runs, which wall-clock timings on a shared 2-core machine do not; they do not weigh
instructions by their cost (a square root counts as one), so they understate savings in slow
instructions. Needs valgrind (Debian: apt-get install valgrind); each run takes about a minute.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

STEPS_PER_EPOCH = 100
WORKER = """
import sys, numpy as np
from threadpoolctl import threadpool_limits
threadpool_limits(1)
from housenet.nn import MLP, MLPConfig, OptimConfig, TrainConfig, fit
dtype, epochs = sys.argv[1], int(sys.argv[2])
rng = np.random.default_rng(0)
X = rng.standard_normal((3200, 64)).astype(dtype)
y = rng.standard_normal(3200).astype(dtype)
net = MLP(MLPConfig(n_inputs=64, hidden=(256, 256), activation="relu", dtype=dtype), seed=0)
fit(net, X, y, TrainConfig(epochs=epochs, batch_size=32, optim=OptimConfig(lr=1e-3)))
"""


def instructions(src: Path, dtype: str, epochs: int, script: Path) -> int:
    env = {**os.environ, "PYTHONPATH": str(src.resolve())}
    proc = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable,
                           str(script), dtype, str(epochs)], env=env, capture_output=True, text=True, check=True)
    return int(re.search(r"Collected : (\d+)", proc.stderr).group(1))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--src", action="append", required=True, metavar="NAME=PATH", help="a version (repeatable)")
    p.add_argument("--dtypes", nargs="+", default=["float64", "float32"])
    args = p.parse_args()
    versions = [(s.split("=", 1)[0], Path(s.split("=", 1)[1])) for s in args.src]
    with tempfile.TemporaryDirectory() as d:
        script = Path(d) / "steps.py"
        script.write_text(WORKER)
        print("| dtype | " + " | ".join(f"{name}: instructions per step" for name, _ in versions) + " | change |")
        print("|---|" + "---:|" * (len(versions) + 1))
        for dtype in args.dtypes:
            per_step = [(instructions(src, dtype, 3, script) - instructions(src, dtype, 1, script))
                        / (2 * STEPS_PER_EPOCH) for _, src in versions]
            change = f"{per_step[-1] / per_step[0] - 1:+.1%}" if len(per_step) > 1 else ""
            print(f"| {dtype} | " + " | ".join(f"{n / 1e6:.2f} M" for n in per_step) + f" | {change} |", flush=True)


if __name__ == "__main__":
    main()
