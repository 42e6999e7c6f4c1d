"""Security: nothing is unpickled, nothing from the configuration or the data reaches a shell, and the
documented MLflow commands listen on 127.0.0.1 only. (URL ingest: http(s) only, sha256 required and
checked: tests/data/test_data_ingest.py.)"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pytest

from tests.pipeline.conftest import REPO
from tests.reliability.conftest import csv_overrides, run_here

SRC = REPO / "src" / "housenet"


def _code_lines(path: Path) -> list[tuple[int, str]]:
    """(line number, code) of a Python file, comments dropped."""
    return [(i, line.split("#", 1)[0]) for i, line in enumerate(path.read_text().splitlines(), 1)]


def test_no_shell_and_no_pickle_in_the_code():
    forbidden = re.compile(r"shell\s*=\s*True|os\.system\(|os\.popen\(|subprocess\.getoutput"
                           r"|subprocess\.getstatusoutput|\beval\(|\bexec\(|import pickle|from pickle|pickle\.loads?\("
                           r"|joblib\.load\(|torch\.load\(")
    found = [f"{p.relative_to(REPO)}:{i}: {code.strip()}" for p in SRC.rglob("*.py") for i, code in _code_lines(p)
             if forbidden.search(code)]
    assert found == []
    np_loads = [(p, i, code) for p in SRC.rglob("*.py") for i, code in _code_lines(p) if "np.load(" in code]
    assert np_loads, "the check below must see the loads it is about"
    assert all("allow_pickle=False" in code for _, _, code in np_loads), np_loads


def test_stage_commands_take_no_parameters_on_their_command_line():
    """DVC runs each stage's cmd through a shell; parameters reach the stage through params.yaml instead."""
    import yaml

    stages = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    assert {name: s["cmd"] for name, s in stages.items()} == {
        name: f"python -m housenet.{name}" for name in ("ingest", "preprocess", "train", "evaluate")}


class _Payload:
    """Unpickling this would create the marker file: a stand-in for code run by a malicious model file."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def _malicious_npz(path: Path, marker: Path, names: list[str]) -> None:
    obj = np.empty(1, dtype=object)
    obj[0] = _Payload(marker)
    np.savez(path, **{name: obj for name in names})


def test_model_and_array_files_with_pickled_objects_are_refused_unopened(tmp_path):
    from housenet import nn
    from housenet.data import DataError, load_arrays

    marker = tmp_path / "pwned"
    _malicious_npz(tmp_path / "arrays.npz", marker, ["X_train"])
    with pytest.raises(DataError, match="arrays.npz: not a readable .npz file.*Object arrays cannot be loaded"):
        load_arrays(tmp_path / "arrays.npz")

    model = tmp_path / "model"
    nn.save(nn.MLP(nn.MLPConfig(n_inputs=2, hidden=(3,)), seed=0), model)
    _malicious_npz(model / "network.npz", marker, ["layers.0.weight", "layers.0.bias", "layers.1.weight",
                                                   "layers.1.bias"])
    with pytest.raises(ValueError, match="Object arrays cannot be loaded"):
        nn.load(model)
    assert not marker.exists(), "nothing was unpickled"


def test_shell_syntax_in_a_path_is_just_a_file_name(in_project, capsys):
    """data.path with ; and $(...) is a file name: read if it exists, named in the error if not, never run."""
    import json

    name = "houses;touch pwned1;$(touch pwned2);`touch pwned3`.csv"
    os.rename(in_project / "houses.csv", in_project / name)
    assert run_here("ingest", *csv_overrides(in_project, f"'{name}'")) == 0  # quoted for Hydra; no shell anywhere
    assert "200 rows" in capsys.readouterr().out
    source = json.loads((in_project / "data" / "raw" / "source.json").read_text())["source"]
    assert source == f"csv:{in_project / name}"
    missing = "nothing;rm -rf data;$(rm -rf data).csv"
    assert run_here("ingest", *csv_overrides(in_project, f"'{missing}'")) == 1
    assert f"{missing}: no such file; check data.path" in capsys.readouterr().err
    assert not list(in_project.glob("pwned*")) and (in_project / "data" / "raw" / "table.csv").is_file()


def test_documented_mlflow_commands_listen_on_localhost():
    """Every mlflow ui/server command in the docs binds 127.0.0.1 (MLflow's default too), except the team
    server of docs/sweeps.md, which says that it listens on every interface and what that needs."""
    docs = [REPO / "README.md", REPO / "Makefile", *sorted((REPO / "docs").rglob("*.md")),
            *sorted((REPO / "conf").rglob("*.yaml"))]
    commands = []
    for path in docs:
        text = path.read_text().replace("\\\n", " ")
        for m in re.finditer(r"mlflow (?:ui|server|models serve)\b[^\n`]*", text):
            commands.append((path.relative_to(REPO), m.group(0)))
    assert len(commands) >= 3, commands
    for path, cmd in commands:
        hosts = re.findall(r"--host[ =](\S+)", cmd)
        if str(path) == "docs/sweeps.md" and hosts == ["0.0.0.0"]:
            assert "every network interface" in (REPO / path).read_text()
            continue
        assert hosts in ([], ["127.0.0.1"]), (path, cmd)
