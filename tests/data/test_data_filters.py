import numpy as np
import pandas as pd
import pytest

from housenet.data.errors import DataError
from housenet.data.filters import exclude_above


def test_rows_above_a_limit_are_dropped_and_missing_values_kept():
    df = pd.DataFrame({"area": [100, 5000, np.nan, 4000], "x": list("abcd")})
    kept, dropped = exclude_above(df, {"area": 4000}, "t.csv")
    assert dropped == 1 and kept["x"].tolist() == ["a", "c", "d"]
    assert exclude_above(df, None, "t.csv") == (df, 0)


@pytest.mark.parametrize("limits, message", [({"size": 1}, "'size'"), ({"x": 1}, "numeric")])
def test_bad_filters_name_the_column(limits, message):
    with pytest.raises(DataError, match=message):
        exclude_above(pd.DataFrame({"x": ["a"]}), limits, "t.csv")
