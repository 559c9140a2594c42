"""Deciding whether a column is numerical or categorical.

The rules follow Evidently 0.7's inference (`evidently.core.datasets.infer_column_type`) so
that our automatic test selection picks the same tests as its DataDriftPreset: floats are
numerical; integers are categorical up to 10 distinct values and numerical above; booleans,
pandas categoricals and strings are categorical; strings that are mostly distinct are text,
which this engine does not test.
"""

from __future__ import annotations

from enum import StrEnum

import pandas as pd

INTEGER_CARDINALITY_LIMIT = 10


class Kind(StrEnum):
    NUMERICAL = "numerical"
    CATEGORICAL = "categorical"
    TEXT = "text"
    DATETIME = "datetime"
    UNKNOWN = "unknown"


TESTABLE = (Kind.NUMERICAL, Kind.CATEGORICAL)


def infer_kind(column: pd.Series) -> Kind:
    dtype = column.dtype
    if pd.api.types.is_bool_dtype(dtype) or isinstance(dtype, pd.CategoricalDtype):
        return Kind.CATEGORICAL
    if pd.api.types.is_float_dtype(dtype):
        return Kind.NUMERICAL
    if pd.api.types.is_integer_dtype(dtype):
        if column.nunique() <= INTEGER_CARDINALITY_LIMIT:
            return Kind.CATEGORICAL
        return Kind.NUMERICAL
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return Kind.DATETIME
    if pd.api.types.is_string_dtype(dtype) or pd.api.types.is_object_dtype(dtype):
        values = column.dropna()
        if values.empty:
            return Kind.UNKNOWN
        if not (isinstance(values.iloc[0], str) and isinstance(values.iloc[-1], str)):
            return Kind.UNKNOWN
        if column.nunique() > values.count() * 0.5:
            return Kind.TEXT
        return Kind.CATEGORICAL
    return Kind.UNKNOWN
