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


def infer_kind(column: pd.Series, counts: pd.Series | None = None) -> Kind:
    """`counts`, when given, is `column.value_counts()`: the caller's, to hash values once."""
    dtype = column.dtype

    def distinct() -> int:
        return len(counts) if counts is not None else int(column.nunique())

    if pd.api.types.is_bool_dtype(dtype) or isinstance(dtype, pd.CategoricalDtype):
        return Kind.CATEGORICAL
    if pd.api.types.is_float_dtype(dtype):
        return Kind.NUMERICAL
    if pd.api.types.is_integer_dtype(dtype):
        if distinct() <= INTEGER_CARDINALITY_LIMIT:
            return Kind.CATEGORICAL
        return Kind.NUMERICAL
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return Kind.DATETIME
    if pd.api.types.is_string_dtype(dtype) or pd.api.types.is_object_dtype(dtype):
        first, last = column.first_valid_index(), column.last_valid_index()
        if first is None or last is None:
            return Kind.UNKNOWN
        if not (isinstance(column.loc[first], str) and isinstance(column.loc[last], str)):
            return Kind.UNKNOWN
        if distinct() > column.count() * 0.5:
            return Kind.TEXT
        return Kind.CATEGORICAL
    return Kind.UNKNOWN
