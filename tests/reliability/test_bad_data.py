"""Bad data through the stages: one line naming the file, column and fix, exit status 1, nothing in data/;
or a handling the stage prints (dropped, filled, grouped) and arrays that are all finite.

Every bad file goes through the ingest stage's own ``run_stage`` in this process (cheap); a few
also through ``python -m housenet.ingest`` as a user runs it, for the real exit status.
"""

from __future__ import annotations

import gzip
import io
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from housenet.config import compose
from housenet.stage import run_stage
from tests.pipeline.conftest import REPO
from tests.pipeline.test_stages import housing_like
from tests.reliability.conftest import csv_overrides, error_line, files_under, run_here, stage


def _with(df: pd.DataFrame, column: str, row: int, value) -> pd.DataFrame:
    df = df.astype({column: object})
    df.loc[row, column] = value
    return df


def _xlsx_like() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("xl/workbook.xml", "<workbook/>")
    return buf.getvalue()


GOOD = housing_like(40)
TEXT = GOOD.to_csv(index=False)

# name: (file bytes, extra overrides, words the error line must contain besides the file's name)
BAD = {
    "empty": (b"", [], ["the file is empty"]),
    "header_only": (b"price,area,bedrooms\n", [], ["no data rows"]),
    "one_row": (GOOD.head(1).to_csv(index=False).encode(), [], ["only 1 data row", "at least 10"]),
    "no_target": (GOOD.rename(columns={"price": "cost"}).to_csv(index=False).encode(), [],
                  ["no target column 'price'", "cost, area", "data.target=COLUMN"]),
    "target_text": (_with(GOOD, "price", 5, "call us").to_csv(index=False).encode(), [],
                    ["'price' is not numeric", "row 6 (line 7)", "'call us'"]),
    "target_missing": (_with(GOOD, "price", 5, None).to_csv(index=False).encode(), [],
                       ["'price' has 1 missing values", "row 6 (line 7)", "remove those rows"]),
    "target_infinite": (_with(GOOD, "price", 5, "inf").to_csv(index=False).encode(), [], ["'price'", "infinite"]),
    "duplicate_columns": (TEXT.replace("price,area,bedrooms", "price,area,area", 1).encode(), [],
                          ["duplicate column names 'area'", "rename"]),
    "semicolon": (TEXT.replace(",", ";").encode(), [], ["one column", "separated by ';'", "data.sep=semicolon"]),
    "tab": (TEXT.replace(",", "\t").encode(), [], ["separated by '\\t'", "data.sep=tab"]),
    "empty_sep": (TEXT.encode(), ["data.sep=''"], ["not a field separator", "data.sep=null"]),
    "latin1": (TEXT.replace("furnished", "meublé").encode("latin-1"), [],
               ["not a text file in utf-8", "data.encoding", "latin-1"]),
    "utf16": (TEXT.encode("utf-16"), [], ["UTF-16", "data.encoding=utf-16"]),
    "unknown_encoding": (TEXT.encode(), ["data.encoding=klingon"], ["unknown encoding 'klingon'", "data.encoding"]),
    "binary": (bytes(range(256)) * 8, [], ["not a text file"]),
    "gzip": (gzip.compress(TEXT.encode()), [], ["gzip-compressed", "decompress"]),
    "xlsx": (_xlsx_like(), [], ["ZIP archive", ".xlsx", "export the sheet as CSV"]),
    "html": (b"<!DOCTYPE html>\n<html><body><p>404 Not Found</p></body></html>\n", [], ["HTML", "not a CSV"]),
    "pdf": (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", [], ["PDF", "export the table as CSV"]),
    "ragged": ((TEXT + "1,2,3,4,5,6,7,8\n").encode(), [], ["not a valid CSV", "data.sep"]),
}


def run_ingest_here(project: Path, overrides: list[str], capsys) -> tuple[int, str]:
    """The ingest stage as ``python -m housenet.ingest`` runs it, in this process: (exit status, stderr)."""
    code = run_here("ingest", *overrides)
    return code, capsys.readouterr().err


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_csv_gets_one_line_naming_file_and_fix_and_writes_nothing(in_project, capsys, case):
    data, extra, words = BAD[case]
    (in_project / f"{case}.csv").write_bytes(data)
    code, err = run_ingest_here(in_project, csv_overrides(in_project, f"{case}.csv") + extra, capsys)
    lines = err.strip().splitlines()
    assert code == 1 and len(lines) == 1, err
    assert lines[0].startswith("housenet.ingest: error: ") and f"{case}.csv" in lines[0], err
    for w in words:
        assert w in lines[0], (w, lines[0])
    assert not (in_project / "data").exists()


@pytest.mark.slow
@pytest.mark.parametrize("case", ["empty", "gzip"])
def test_as_a_user_runs_it_exit_status_1_and_no_data_folder(project, case):
    data, extra, words = BAD[case]
    (project / f"{case}.csv").write_bytes(data)
    line = error_line(stage("ingest", project, *csv_overrides(project, f"{case}.csv"), *extra, check=False), "ingest")
    assert f"{case}.csv" in line and words[-1] in line
    assert not (project / "data").exists()


FIXES = [
    ("semicolon", TEXT.replace(",", ";").encode(), ["data.sep=semicolon"]),
    ("tab", TEXT.replace(",", "\t").encode(), ["data.sep=tab"]),
    ("tab_sniffed", TEXT.replace(",", "\t").encode(), ["data.sep=null"]),
    ("latin1", TEXT.replace("furnished", "meublé").encode("latin-1"), ["data.encoding=latin-1"]),
    ("utf16", TEXT.encode("utf-16"), ["data.encoding=utf-16"]),
    ("bom", b"\xef\xbb\xbf" + TEXT.encode(), []),
]


@pytest.mark.parametrize("name, data, fix", FIXES, ids=[f[0] for f in FIXES])
def test_the_fix_the_message_names_works(in_project, capsys, name, data, fix):
    from housenet.ingest import _run

    (in_project / f"{name}.csv").write_bytes(data)
    cfg = compose(csv_overrides(in_project, f"{name}.csv") + fix, config_dir=str(REPO / "conf"))
    run_stage("ingest", _run, cfg)
    out = capsys.readouterr().out
    assert "40 rows x 5 columns" in out, out
    from housenet.data.sources import read_raw

    df, prov = read_raw(cfg.paths.raw_csv, cfg.paths.source_json)
    assert list(df.columns) == list(GOOD.columns) and df["price"].tolist() == GOOD["price"].tolist()
    if name == "latin1":
        assert "meublé" in set(df["furnishingstatus"]) and prov.encoding == "latin-1"


def test_messy_but_usable_table_is_handled_and_the_handling_printed(in_project, capsys):
    """NaN and infinity in features, a constant column, an id column, a categorical with 100 levels."""
    n = 3000
    df = housing_like(n)
    df["area"] = df["area"].astype(float)
    df.loc[[3, 10, 20], "area"] = [np.nan, np.inf, -np.inf]
    df["country"] = "NZ"  # constant
    df["listing_id"] = [f"L{i}" for i in range(n)]  # 3000 levels, every value unique
    df["street"] = [f"street {i % 100}" for i in range(n)]  # 100 levels, each about 30 times
    df.to_csv(in_project / "messy.csv", index=False)
    o = csv_overrides(in_project, "messy.csv")
    assert run_here("ingest", *o) == 0
    assert run_here("preprocess", *o) == 0  # the defaults: max_categories=50, min_category_count=5
    out = capsys.readouterr().out
    assert "dropped column 'country': a single distinct value ('NZ')" in out, out
    assert "dropped column 'listing_id': every category is rarer than min_category_count=5" in out, out
    assert "filled 3 missing or infinite values with the training median in 1 column: area (3)" in out, out
    assert ("grouped rare categories as __other__ (preprocess.max_categories=50, min_category_count=5) "
            "in 1 column: street (50)") in out, out
    assert "dropped 2 columns" in out
    from housenet.data.arrays import load_arrays

    arrays = load_arrays(in_project / "data" / "prepared" / "arrays.npz")
    assert all(np.isfinite(a).all() for a in arrays.values())
    assert arrays["X_train"].shape[1] == 1 + 1 + 2 + 3 + 51  # area, bedrooms, air (2), furnishing (3), street


def test_zero_price_with_a_log_target_is_refused_then_log_target_false_works(in_project, capsys):
    _with(housing_like(60), "price", 7, 0).to_csv(in_project / "houses.csv", index=False)
    o = csv_overrides(in_project)
    assert run_here("ingest", *o) == 0  # a valid table: log_target is a preprocessing choice
    capsys.readouterr()
    assert run_here("preprocess", *o) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("housenet.preprocess: error: data/raw/table.csv: target column "
                                                   "'price' has 1 values <= 0 (first at row 8 (line 9): 0.0)"), lines
    assert "remove those rows or set preprocess.log_target=false" in lines[0]
    assert files_under(in_project / "data" / "prepared") == []
    assert run_here("preprocess", *o, "preprocess.log_target=false") == 0
    assert files_under(in_project / "data" / "prepared") == ["arrays.npz", "preprocessor.json"]


def test_negative_price_is_named_with_its_row_before_the_split():
    from housenet.data import DataError, prepare

    df = _with(housing_like(60), "price", 41, -250_000.0)
    df["price"] = df["price"].astype(float)
    with pytest.raises(DataError, match=r"^x.csv: target column 'price' has 1 values <= 0 \(first at row 42 "
                                        r"\(line 43\): -250000.0\)"):
        prepare(df, "price", val_fraction=0.2, test_fraction=0.2, seed=0, origin="x.csv")
    pre, arrays = prepare(df, "price", val_fraction=0.2, test_fraction=0.2, seed=0, log_target=False)
    assert np.isfinite(arrays["y_train"]).all() and not pre.log_target
