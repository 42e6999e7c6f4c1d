"""Atomic writes: the target gets the whole new content or keeps the old; no temporary file is left."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from housenet.data.atomic import atomic_path, atomic_write_bytes, atomic_write_json, atomic_write_text


def test_write_bytes_creates_folders_and_overwrites(tmp_path):
    target = tmp_path / "a" / "b" / "file.bin"
    atomic_write_bytes(target, b"one")
    atomic_write_bytes(target, b"two\x00")
    assert target.read_bytes() == b"two\x00"
    assert [p.name for p in target.parent.iterdir()] == ["file.bin"]


def test_write_text_keeps_newlines(tmp_path):
    target = tmp_path / "t.txt"
    atomic_write_text(target, "a\nb\n")
    assert target.read_bytes() == b"a\nb\n"


def test_write_json_format(tmp_path):
    target = tmp_path / "x.json"
    atomic_write_json(target, {"b": 1, "a": [1.5, "é"]})
    text = target.read_text(encoding="utf-8")
    assert text == json.dumps({"a": [1.5, "é"], "b": 1}, indent=2, sort_keys=True) + "\n"
    assert text.endswith("}\n") and text.index('"a"') < text.index('"b"')


def test_write_json_refuses_nan_and_keeps_old_file(tmp_path):
    target = tmp_path / "x.json"
    atomic_write_json(target, {"ok": 1})
    with pytest.raises(ValueError):
        atomic_write_json(target, {"bad": math.nan})
    assert json.loads(target.read_text()) == {"ok": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]


def test_atomic_path_success_with_path_writers(tmp_path):
    npz, csv = tmp_path / "arrays.npz", tmp_path / "table.csv"
    with atomic_path(npz) as tmp:
        assert tmp.parent == tmp_path and tmp.name.endswith(".npz") and tmp != npz
        np.savez(tmp, a=np.arange(3))
    with atomic_path(csv) as tmp:
        pd.DataFrame({"x": [1, 2]}).to_csv(tmp, index=False)
    with np.load(npz) as z:
        assert z["a"].tolist() == [0, 1, 2]
    assert csv.read_text() == "x\n1\n2\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["arrays.npz", "table.csv"]


def test_atomic_path_error_removes_temp_and_keeps_target(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("old\n")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half a fi")
            raise RuntimeError("writer crashed")
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_atomic_path_error_without_previous_file(tmp_path):
    target = tmp_path / "new" / "out.bin"
    with pytest.raises(KeyError):
        with atomic_path(target):
            raise KeyError("x")
    assert not target.exists() and list(target.parent.iterdir()) == []
