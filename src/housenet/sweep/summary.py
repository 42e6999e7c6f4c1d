"""A sweep's runs read back from MLflow, as a table sorted by the objective (best first).

    python -m housenet.sweep.summary                      # the latest sweep in the configured store
    python -m housenet.sweep.summary <parent run id>
    python -m housenet.sweep.summary --tracking-uri http://127.0.0.1:5000 --experiment housenet

The store and experiment default to the configuration's ``tracking.uri`` and
``tracking.experiment`` (conf/tracking/). Failed jobs are listed after the others.
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass, field
from typing import Any

from housenet.sweep import DIRECTION, OBJECTIVE, TAG_ERROR, TAG_JOB, TAG_OVERRIDES, TAG_ROLE

PARENT_TAG = "mlflow.parentRunId"
SHOWN_METRICS = (OBJECTIVE, "val_r2", "test_r2", "test_rmse", "epochs_run")
BEST_METRICS = ("val_rmse", "val_r2", "val_mae", "test_rmse", "test_r2", "test_mae", "best_val_loss", "epochs_run")


@dataclass
class JobRow:
    run_id: str
    job: int | None
    status: str
    overrides: str
    metrics: dict[str, float] = field(default_factory=dict)
    error: str = ""

    @property
    def objective(self) -> float | None:
        v = self.metrics.get(OBJECTIVE)
        return v if self.status == "FINISHED" and v is not None and math.isfinite(v) else None


def job_rows(client, experiment_id: str, parent_id: str) -> list[JobRow]:
    """Every child run of the sweep ``parent_id``, best first (then unfinished ones by job number)."""
    rows, token = [], None
    while True:
        page = client.search_runs([experiment_id], filter_string=f"tags.`{PARENT_TAG}` = '{parent_id}'",
                                  max_results=1000, page_token=token)
        for r in page:
            job = r.data.tags.get(TAG_JOB)
            tags = r.data.tags
            rows.append(JobRow(r.info.run_id, int(job) if job and job.isdigit() else None, r.info.status,
                               tags.get(TAG_OVERRIDES, ""), dict(r.data.metrics), tags.get(TAG_ERROR, "")))
        token = page.token
        if not token:
            break
    return rank(rows)


def rank(rows: list[JobRow]) -> list[JobRow]:
    sign = 1.0 if DIRECTION == "minimize" else -1.0
    done = sorted((r for r in rows if r.objective is not None), key=lambda r: (sign * r.objective, r.job or 0))
    rest = sorted((r for r in rows if r.objective is None), key=lambda r: (r.job is None, r.job or 0))
    return done + rest


def counts(rows: list[JobRow]) -> dict[str, int]:
    finished = sum(r.objective is not None for r in rows)
    failed = sum(r.status == "FAILED" or (r.status == "FINISHED" and r.objective is None) for r in rows)
    return {"jobs": len(rows), "finished": finished, "failed": failed, "unfinished": len(rows) - finished - failed}


def record_best(client, parent_id: str, rows: list[JobRow]) -> JobRow | None:
    """Write the best job and the counts onto the parent run, then end it (FAILED if no job finished)."""
    from mlflow.entities import Metric, RunTag

    n = counts(rows)
    best = rows[0] if rows and rows[0].objective is not None else None
    tags = [RunTag(f"sweep.{k}", str(v)) for k, v in n.items()]
    now = _now_ms()
    metrics = [Metric("jobs" if k == "jobs" else f"jobs_{k}", float(v), now, 0) for k, v in n.items()]
    if best is not None:
        tags += [RunTag("sweep.best_run_id", best.run_id), RunTag("sweep.best_job", str(best.job)),
                 RunTag("sweep.best_overrides", best.overrides)]
        metrics += [Metric(f"best/{k}", float(best.metrics[k]), now, 0) for k in BEST_METRICS
                    if k in best.metrics and math.isfinite(best.metrics[k])]
    client.log_batch(parent_id, metrics=metrics, tags=tags)
    client.set_terminated(parent_id, "FINISHED" if best is not None else "FAILED")
    return best


def common_overrides(rows: list[JobRow]) -> list[str]:
    """Overrides every job shares (e.g. training.epochs=3): the table shows only the others."""
    if len(rows) < 2:
        return []
    first = rows[0].overrides.split()
    return [t for t in first if all(t in r.overrides.split() for r in rows[1:])]


def format_table(rows: list[JobRow], limit: int | None = None) -> str:
    head = ["rank", "job", "status"] + list(SHOWN_METRICS) + ["overrides", "run id"]
    body = []
    common = set(common_overrides(rows))
    shown = rows if limit is None else rows[:limit]
    for i, r in enumerate(shown, 1):
        cells = [str(i) if r.objective is not None else "-", "" if r.job is None else str(r.job), r.status]
        cells += [_fmt(k, r.metrics.get(k)) if r.status == "FINISHED" else "-" for k in SHOWN_METRICS]
        note = f"  ({r.error})" if r.error else ""
        own = " ".join(t for t in r.overrides.split() if t not in common)
        cells += [(own or "(defaults)") + note, r.run_id]
        body.append(cells)
    widths = [max(len(c[i]) for c in [head] + body) for i in range(len(head))]
    right = {0, 1} | set(range(3, 3 + len(SHOWN_METRICS)))
    lines = ["  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths))).rstrip()
             for cells in [head] + body]
    if limit is not None and len(rows) > limit:
        lines.append(f"... and {len(rows) - limit} more")
    return "\n".join(lines)


def headline(parent, rows: list[JobRow]) -> str:
    n = counts(rows)
    where = parent.data.tags.get("sweep.dir", "")
    extra = f", {n['unfinished']} unfinished" if n["unfinished"] else ""
    common = common_overrides(rows)
    return (f"sweep {parent.info.run_id} ({parent.info.run_name}{', ' + where if where else ''}): {n['jobs']} jobs, "
            f"{n['finished']} finished, {n['failed']} failed{extra}; sorted by {OBJECTIVE} "
            f"(validation set, {DIRECTION})" + (f"\nevery job: {' '.join(common)}" if common else ""))


def _fmt(key: str, v: Any) -> str:
    if v is None or not math.isfinite(v):
        return "-"
    if key.endswith(("_rmse", "_mae")):
        return f"{v:,.0f}"
    if key.endswith("_r2"):
        return f"{v:.4f}"
    return f"{v:g}"


def _now_ms() -> int:
    import time

    return int(time.time() * 1000)


def latest_parent(client, experiment_id: str):
    runs = client.search_runs([experiment_id], filter_string=f"tags.`{TAG_ROLE}` = 'parent'",
                              order_by=["attributes.start_time DESC"], max_results=1)
    return runs[0] if runs else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m housenet.sweep.summary", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("parent", nargs="?", help="the sweep's parent run id (default: the latest sweep)")
    parser.add_argument("--tracking-uri", help="MLflow store (default: tracking.uri of conf/)")
    parser.add_argument("--experiment", help="experiment name (default: tracking.experiment of conf/)")
    parser.add_argument("--limit", type=int, default=None, help="show at most this many rows")
    args = parser.parse_args(argv)
    try:
        return _show(args)
    except Exception as e:  # an unreachable store, an unknown run id: one line, status 1
        print(f"housenet.sweep.summary: error: {' '.join(str(e).split())}", file=sys.stderr)
        return 1


def _show(args) -> int:
    from housenet import tracking
    from housenet.config import compose, tracking_uri

    uri, experiment = args.tracking_uri, args.experiment
    if not uri or not experiment:
        cfg = compose()
        uri, experiment = uri or tracking_uri(cfg), experiment or str(cfg.tracking.experiment)
    client = tracking.client_for(uri)
    if args.parent:
        parent = client.get_run(args.parent)
    else:
        exp = client.get_experiment_by_name(experiment)
        parent = latest_parent(client, exp.experiment_id) if exp else None
        if parent is None:
            raise LookupError(f"no sweep in experiment {experiment!r} at {uri}; "
                              "run one with python -m housenet.train -m ...")
    rows = job_rows(client, parent.info.experiment_id, parent.info.run_id)
    print(headline(parent, rows))
    print(format_table(rows, args.limit))
    return 0


if __name__ == "__main__":
    sys.exit(main())
