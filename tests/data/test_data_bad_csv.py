"""Every bad CSV raises a one-line DataError naming the file/column, and ingest writes nothing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from housenet.data import DataError, ingest, read_csv

GOOD_ROWS = "".join(f"{100000 + i * 1000},{3000 + i},yes,furnished\n" for i in range(12))
HEADER = "price,area,mainroad,furnishingstatus\n"

BAD_FILES = {
    # name: (bytes, words the message must contain)
    "empty": (b"", ["empty"]),
    "blank": (b"  \n\n \n", ["empty"]),
    "header_only": (HEADER.encode(), ["no data rows"]),
    "binary": (bytes(range(256)) * 8, ["not a text file", "data.encoding"]),
    "nul_bytes": (b"price,area\n1,\x002\n", ["binary"]),
    "no_target": (("cost,area,mainroad,furnishingstatus\n" + GOOD_ROWS).encode(),
                  ["'price'", "cost, area, mainroad, furnishingstatus", "data.target=COLUMN"]),
    "duplicate_columns": (("price,area,area,furnishingstatus\n" + GOOD_ROWS).encode(), ["duplicate", "'area'"]),
    "target_text": ((HEADER + GOOD_ROWS + "lots,3000,yes,furnished\n").encode(), ["'price'", "not numeric", "'lots'",
                                                                                 "row 13"]),
    "target_missing": ((HEADER + GOOD_ROWS + ",3000,yes,furnished\n,3100,no,furnished\n").encode(),
                       ["'price'", "2 missing values", "row 13"]),
    "target_infinite": ((HEADER + GOOD_ROWS + "inf,3000,yes,furnished\n").encode(), ["'price'", "infinite"]),
    "ragged": ((HEADER + GOOD_ROWS + "1,2,3,4,5,6\n").encode(), ["not a valid CSV"]),
    "too_few_rows": ((HEADER + "1,2,yes,furnished\n" * 3).encode(), ["only 3 data rows", "at least 10"]),
    "boolean_target": (("price,area\n" + "True,1\nFalse,2\n" * 6).encode(), ["'price'", "not numeric"]),
}


def _check_message(err: DataError, path: Path, words: list[str]):
    msg = str(err)
    assert "\n" not in msg
    assert str(path) in msg, msg
    for w in words:
        assert w in msg, (w, msg)


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_csv_raises_and_writes_nothing(tmp_path, case):
    data, words = BAD_FILES[case]
    src = tmp_path / f"{case}.csv"
    src.write_bytes(data)
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(DataError) as e:
        ingest("csv", out / "raw.csv", out / "source.json", path=src, target="price", name=case)
    _check_message(e.value, src, words)
    assert list(out.iterdir()) == []
    if case != "too_few_rows":  # read_csv alone only needs one row
        with pytest.raises(DataError):
            read_csv(src, "price")


def test_missing_file_and_folder(tmp_path):
    out = tmp_path / "out"
    for src, words in ((tmp_path / "nope.csv", ["no such file", "data.path"]), (tmp_path, ["folder"])):
        with pytest.raises(DataError) as e:
            ingest("csv", out / "raw.csv", out / "source.json", path=src, target="price", name="x")
        _check_message(e.value, src, words)
    assert not out.exists()


def test_unreadable_file(tmp_path, monkeypatch):
    src = tmp_path / "locked.csv"
    src.write_text(HEADER + GOOD_ROWS)

    def deny(self):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", deny)
    with pytest.raises(DataError) as e:
        read_csv(src, "price")
    _check_message(e.value, src, ["Permission denied"])


def test_wrong_encoding_then_right_one(tmp_path):
    src = tmp_path / "latin.csv"
    src.write_bytes((HEADER + GOOD_ROWS.replace("furnished", "meublé")).encode("latin-1"))
    with pytest.raises(DataError, match="utf-8"):
        read_csv(src, "price")
    df = read_csv(src, "price", encoding="latin-1")
    assert df["furnishingstatus"].iloc[0] == "meublé"
    with pytest.raises(DataError, match="unknown encoding"):
        read_csv(src, "price", encoding="no-such-codec")


def test_separators_and_bom(tmp_path):
    src = tmp_path / "semi.csv"
    src.write_text(HEADER.replace(",", ";") + GOOD_ROWS.replace(",", ";"))
    assert read_csv(src, "price", sep=";").shape == (12, 4)
    assert read_csv(src, "price", sep=None).shape == (12, 4)
    with pytest.raises(DataError, match="one column 'price;area;.*data.sep=semicolon"):
        read_csv(src, "price")  # read with "," the header is one column named "price;area;..."
    assert read_csv(src, "price", sep="semicolon").shape == (12, 4)  # data.sep=semicolon: no shell quoting
    tab = tmp_path / "tab.tsv"
    tab.write_text(HEADER.replace(",", "\t") + GOOD_ROWS.replace(",", "\t"))
    assert read_csv(tab, "price", sep=None).shape == (12, 4)
    for name in ("tab", "\\t"):  # data.sep=tab, or data.sep='\t' as a shell passes it (backslash, t)
        assert read_csv(tab, "price", sep=name).shape == (12, 4)
    with pytest.raises(DataError, match="data.sep=tab"):
        read_csv(tab, "price")
    with pytest.raises(DataError, match="not a field separator"):
        read_csv(tab, "price", sep="")
    bom = tmp_path / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + (HEADER + GOOD_ROWS).encode())
    df = read_csv(bom, "price")
    assert list(df.columns)[0] == "price" and np.issubdtype(df["price"].dtype, np.integer)


def test_good_csv_read(tmp_path, housing_csv):
    df = read_csv(housing_csv(n=25), "price")
    assert df.shape == (25, 13)
    assert set(df["mainroad"]) == {"yes", "no"}
