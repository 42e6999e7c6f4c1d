"""Property: any small mixed table either preprocesses and predicts to finite prices, or raises DataError."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from housenet.data.errors import DataError
from housenet.data.preprocessing import Preprocessor
from housenet.nn import MLP, MLPConfig

numbers = st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True, width=64),
                    st.integers(-10**12, 10**12))
words = st.one_of(st.none(), st.sampled_from(["yes", "no", "a", "b", "c", "", "ü", "1"]))


@st.composite
def tables(draw):
    n = draw(st.integers(1, 25))
    n_cols = draw(st.integers(1, 4))
    cols = {}
    for j in range(n_cols):
        kind = draw(st.sampled_from(["num", "word", "bool"]))
        if kind == "num":
            cols[f"n{j}"] = draw(st.lists(numbers, min_size=n, max_size=n))
        elif kind == "word":
            cols[f"w{j}"] = draw(st.lists(words, min_size=n, max_size=n))
        else:
            cols[f"b{j}"] = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    price = draw(st.lists(st.one_of(st.floats(1e3, 1e7), st.just(float("nan")), st.just(-5.0)),
                          min_size=n, max_size=n))
    return pd.DataFrame({"price": price, **cols})


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(train=tables(), new=tables(), log_target=st.booleans(),
       options=st.sampled_from([{}, {"log_skewed": True, "clip": 3.0},  # the second: the pipeline's levers
                                {"log_skewed": True, "skew_threshold": 0.0, "clip_to_range": True}]))
def test_preprocess_and_predict_is_finite_or_a_data_error(train, new, log_target, options):
    try:
        pre = Preprocessor.fit(train, "price", log_target=log_target, **options)
    except DataError:
        return
    X = pre.transform(train)
    assert X.dtype == np.float64 and np.isfinite(X).all() and X.shape == (len(train), pre.n_features)
    net = MLP(MLPConfig(n_inputs=pre.n_features, hidden=(4,)), seed=0)
    try:
        Xn = pre.transform(new.drop(columns=["price"]).reindex(columns=pre.input_columns))
    except DataError:
        return
    assert np.isfinite(Xn).all()
    prices = pre.inverse_target(net.predict(Xn)[:, 0])
    assert prices.shape == (len(new),)
    assert np.isfinite(prices).all()
