"""Per-epoch metrics go to MLflow in batches: every log_every epochs, at most once per min_seconds."""

from __future__ import annotations

from housenet.nn import EpochLog
from housenet.tracking import EpochMetrics


class FakeRun:
    """Records what EpochMetrics sends; no MLflow needed for the batching rule."""

    def __init__(self):
        self.points, self.flushed_at = [], []

    def log_metric(self, key, value, step=0):
        self.points.append((key, step))

    def flush(self):
        self.flushed_at.append(max(step for _, step in self.points))


def feed(cb: EpochMetrics, epochs: int) -> None:
    for e in range(1, epochs + 1):
        cb(EpochLog(epoch=e, epochs=epochs, train_loss=1.0 / e, val_loss=2.0 / e, lr=1e-3, seconds=0.01, rows=10))


def test_without_a_time_floor_it_flushes_every_log_every_epochs():
    run = FakeRun()
    feed(EpochMetrics(run, every=50, min_seconds=0), 120)
    assert run.flushed_at == [50, 100]
    assert len(run.points) == 3 * 120  # train_loss, val_loss, lr for every epoch


def test_a_fast_fit_is_flushed_once_at_the_end_not_every_log_every_epochs():
    run = FakeRun()
    feed(EpochMetrics(run, every=50, min_seconds=3600), 1000)
    assert run.flushed_at == []  # all 3000 points wait for the run's end (run_status flushes them)
    assert len(run.points) == 3000
