"""Training progress: a redrawn bar in a terminal, a line every N epochs in a log.

The stages' one-line summaries and the periodic lines of a real training run are
checked in test_entry_points.py (test_each_stage_runs_on_its_own_with_overrides).
"""

from __future__ import annotations

import io
import os
import pty
import re
import subprocess
import sys

import pytest

from housenet.nn.training import EpochLog
from housenet.progress import Progress, bar
from tests.pipeline.conftest import env_for
from tests.sweeps.conftest import FAST, prepared_template, sweep_project  # noqa: F401 (fixtures)


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def feed(progress: Progress, epochs_run: int, epochs: int) -> None:
    for e in range(1, epochs_run + 1):
        progress(EpochLog(e, epochs, 1.0 / e, 2.0 / e, 1e-3, 0.01, 100))
    progress.close()


def test_in_a_log_a_line_every_n_epochs_and_the_last_one():
    out = io.StringIO()
    feed(Progress(25, out), 25, 25)  # every 25 // 10 = 2 epochs
    epochs = [int(m) for m in re.findall(r"^epoch (\d+)/25 train \S+ val \S+ .* s left$", out.getvalue(), re.M)]
    assert epochs == [1, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 25]
    assert len(out.getvalue().splitlines()) == len(epochs)


def test_in_a_log_early_stopping_still_shows_the_last_epoch():
    out = io.StringIO()
    feed(Progress(100, out, every=5), 17, 100)
    assert re.findall(r"^epoch (\d+)/", out.getvalue(), re.M) == ["1", "5", "10", "15", "17"]


def test_in_a_terminal_one_redrawn_line_ended_once():
    out = Terminal()
    feed(Progress(40, out), 20, 40)  # stopped early at half way
    text = out.getvalue()
    assert text.count("\n") == 1 and text.endswith("\n")
    frames = text.rstrip("\n").split("\r\x1b[2K")[1:]
    assert len(frames) == 20
    assert frames[-1].startswith(bar(20, 40) + " epoch 20/40 train 0.05 val 0.1 ")
    assert bar(20, 40) == "[" + "#" * 10 + "-" * 10 + "]"
    assert re.search(r"\d+ s left$", frames[-1])


@pytest.mark.slow
def test_in_a_real_terminal_training_draws_a_bar(sweep_project):  # noqa: F811 (prepared Windsor data)
    main, child = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "housenet.train", *FAST, "training.epochs=5",
                             f"tracking.uri=sqlite:///{sweep_project / 'mlflow.db'}"], cwd=sweep_project,
                            env=env_for(sweep_project), stdin=subprocess.DEVNULL, stdout=child, stderr=child)
    os.close(child)
    chunks = []
    try:
        while True:
            try:
                data = os.read(main, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(main)
        code = proc.wait(timeout=120)
    text = b"".join(chunks).decode(errors="replace")
    assert code == 0, text
    for j in range(1, 6):  # the default averages 5 networks: one bar each, labelled
        assert f"\r\x1b[2K[####----------------] network {j}/5: epoch 1/5 train" in text
        assert f"\r\x1b[2K[####################] network {j}/5: epoch 5/5 train" in text
    summary = [line for line in text.replace("\r\n", "\n").split("\n") if line.startswith("housenet.train:")]
    assert len(summary) == 1 and "rows in, 5 epochs" in summary[0]
