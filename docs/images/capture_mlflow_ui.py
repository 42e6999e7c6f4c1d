"""Screenshot of the MLflow UI comparing the runs of the latest sweep (docs/images/mlflow-sweep-compare.png).

It starts a real `mlflow ui` on 127.0.0.1 over the given store, opens the "Compare runs"
page of the latest sweep's jobs in headless Chromium (through Playwright) and saves a PNG.

Needs Debian's Chromium and the Python package playwright (the `docs` extra); Playwright's
own browser download is not used:

    apt-get install -y chromium
    .venv/bin/pip install -c constraints.txt -e ".[docs]"

How docs/images/mlflow-sweep-compare.png was made (in a fresh clone, with the venv active; the
sweep logs to the default store, ./mlflow.db):

    python -m housenet.ingest && python -m housenet.preprocess
    python -m housenet.train -m optim.lr=1e-3,3e-3,1e-2 model.hidden=[64,32],[128,64] training.epochs=60 model.ensemble=1
    python docs/images/capture_mlflow_ui.py --tracking-uri sqlite:///$PWD/mlflow.db

It closes the assistant panel, plots val_rmse (the sweep's objective) and shows only the
parameters that differ; look at the PNG before committing it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"mlflow ui exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    sys.exit(f"{url} did not answer within {timeout} s")


def latest_sweep(uri: str, experiment: str) -> tuple[str, list[str], str]:
    """(experiment id, the latest sweep's finished job run ids, the parent run's name)."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(uri)
    exp = client.get_experiment_by_name(experiment)
    if exp is None:
        sys.exit(f"{uri}: no experiment {experiment!r}; run a sweep first (python -m housenet.train -m ...)")
    parents = client.search_runs([exp.experiment_id], "tags.`sweep.role` = 'parent'",
                                 order_by=["attributes.start_time DESC"], max_results=1)
    if not parents:
        sys.exit(f"{uri}: experiment {experiment!r} has no sweep; run one first (python -m housenet.train -m ...)")
    parent = parents[0]
    jobs = client.search_runs([exp.experiment_id], f"tags.`mlflow.parentRunId` = '{parent.info.run_id}' "
                              "and attributes.status = 'FINISHED'", max_results=100)
    if len(jobs) < 2:
        sys.exit(f"sweep {parent.info.run_id} has {len(jobs)} finished jobs; a comparison needs 2 or more")
    return exp.experiment_id, [j.info.run_id for j in jobs], parent.info.run_name


def arrange(page, metric: str) -> None:
    """Close the assistant panel, plot the sweep's objective instead of the first metric, and list only
    the parameters that differ between the runs. Each step is optional: the UI changes between versions."""
    steps = [
        lambda: page.get_by_role("button", name="Close").click(timeout=5_000),
        lambda: page.get_by_label("Parameters - Show diff only").first.click(timeout=5_000),
    ]
    for step in steps:
        try:
            step()
        except Exception as e:  # playwright's TimeoutError and friends
            print(f"capture_mlflow_ui: skipped a step ({type(e).__name__})", file=sys.stderr)
    try:
        metrics = page.get_by_role("combobox").nth(1)  # Parameters, then Metrics
        metrics.click(timeout=5_000)
        metrics.press("Backspace")  # drops the metric shown first (train_loss)
        metrics.type(metric)
        metrics.press("Enter")
        page.keyboard.press("Escape")
        page.get_by_text("Comparing").first.click()  # close the list
    except Exception as e:
        print(f"capture_mlflow_ui: could not choose the metric {metric} ({type(e).__name__})", file=sys.stderr)


def capture(url: str, out: Path, width: int, height: int, settle_s: float, metric: str) -> None:
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="chromium-profile-")  # a fresh --user-data-dir
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch_persistent_context(
                profile, executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
                viewport={"width": width, "height": height}, device_scale_factor=1)
            page = browser.new_page()
            page.goto(url, wait_until="domcontentloaded", timeout=120_000)  # the UI polls: never network-idle
            try:
                page.get_by_text("Parallel Coordinates Plot").first.wait_for(timeout=120_000)
            except Exception:
                page.screenshot(path=str(out.with_suffix(".failed.png")))
                raise
            arrange(page, metric)
            time.sleep(settle_s)  # let the plots finish drawing
            out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(out), full_page=False)
            browser.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tracking-uri", required=True, help="the store the sweep logged to (sqlite:///...)")
    parser.add_argument("--experiment", default="housenet")
    parser.add_argument("--out", type=Path, default=Path("docs/images/mlflow-sweep-compare.png"))
    parser.add_argument("--width", type=int, default=1600)
    parser.add_argument("--height", type=int, default=1450)
    parser.add_argument("--metric", default="val_rmse", help="the metric of the parallel coordinates plot")
    parser.add_argument("--settle", type=float, default=3.0, help="seconds to wait after the page is loaded")
    args = parser.parse_args(argv)

    exp_id, run_ids, name = latest_sweep(args.tracking_uri, args.experiment)
    port = free_port()
    mlflow = Path(sys.executable).with_name("mlflow")
    env = dict(os.environ, PATH=f"{mlflow.parent}{os.pathsep}{os.environ.get('PATH', '')}")
    proc = subprocess.Popen([str(mlflow), "ui", "--backend-store-uri", args.tracking_uri, "--host", "127.0.0.1",
                             "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for(f"{base}/health", proc)
        query = urllib.parse.urlencode({"runs": json.dumps(run_ids), "experiments": json.dumps([exp_id])})
        capture(f"{base}/#/compare-runs?{query}", args.out, args.width, args.height, args.settle, args.metric)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    print(f"{args.out}: the {len(run_ids)} jobs of {name} compared in the MLflow UI")
    return 0


if __name__ == "__main__":
    sys.exit(main())
