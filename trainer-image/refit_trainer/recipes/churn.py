"""`churn`: will a telecom customer leave? Binary classification on the telco data.

One sklearn Pipeline carries the whole preprocessing (median imputation of the missing
`total_charges`, scaling, one-hot encoding with unknown categories ignored), so the logged
model takes raw rows and the champion and candidate can be scored on the same raw table.
The logged pyfunc returns `predict_proba` (P(churn) in the last column): ROC AUC and log
loss need probabilities, not labels.

Validation rows: REFIT_VALIDATION_DATA when set, otherwise a seeded stratified 20% split.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from refit_trainer.data_io import Table, require_columns
from refit_trainer.errors import BadDataError
from refit_trainer.metrics import CLASSIFICATION, classification_metrics
from refit_trainer.recipes import (
    Recipe,
    Trained,
    TrainInputs,
    ValidationSet,
    pip_requirements,
)

TARGET = "churn"
VALIDATION_SHARE = 0.2
_POSITIVE = {"yes", "true", "1", "churn", "churned"}
_NEGATIVE = {"no", "false", "0"}


def labels(frame: pd.DataFrame, uri: str) -> np.ndarray:
    """0/1 labels from Yes/No (also true/false, 1/0); anything else is bad data."""
    require_columns(frame, [TARGET], uri)
    raw = frame[TARGET].astype("string").str.strip().str.lower()
    if raw.isna().any():
        raise BadDataError(f"{uri}: {int(raw.isna().sum())} row(s) without a {TARGET} label")
    unknown = sorted(set(raw.unique()) - _POSITIVE - _NEGATIVE)
    if unknown:
        raise BadDataError(f"{uri}: unexpected {TARGET} label(s): {', '.join(unknown[:5])}")
    return raw.isin(_POSITIVE).to_numpy(dtype=int)


def _features(frame: pd.DataFrame, uri: str) -> pd.DataFrame:
    features = frame.drop(columns=[TARGET])
    if features.shape[1] == 0:
        raise BadDataError(f"{uri}: no feature columns besides {TARGET}")
    empty = [c for c in features.columns if features[c].isna().all()]
    if empty:
        raise BadDataError(f"{uri}: column(s) with no values at all: {', '.join(empty)}")
    return features


def _check_classes(y: np.ndarray, uri: str, what: str) -> None:
    if np.unique(y).size < 2:
        raise BadDataError(f"{uri}: {what} has a single class ({TARGET}={'Yes' if y[0] else 'No'})")


def _split(inputs: TrainInputs) -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame, np.ndarray]:
    from sklearn.model_selection import train_test_split

    table = inputs.train
    require_columns(table.frame, [TARGET], table.uri)
    X, y = _features(table.frame, table.uri), labels(table.frame, table.uri)
    _check_classes(y, table.uri, "the training data")
    if inputs.validation is not None:
        v = inputs.validation
        require_columns(v.frame, [TARGET, *X.columns], v.uri)
        return X, y, v.frame[X.columns], labels(v.frame, v.uri)
    if min(np.bincount(y)) < 2:
        raise BadDataError(f"{table.uri}: a class has fewer than 2 rows; cannot stratify")
    X_fit, X_val, y_fit, y_val = train_test_split(
        X, y, test_size=VALIDATION_SHARE, stratify=y, random_state=inputs.seed
    )
    return X_fit, y_fit, X_val, y_val


def validation_set(inputs: TrainInputs) -> ValidationSet:
    _, _, X_val, y_val = _split(inputs)
    source: Table = inputs.validation or inputs.train
    if len(X_val) == 0:
        raise BadDataError(f"{source.uri}: the validation set has no rows")
    _check_classes(y_val, source.uri, "the validation set")
    return ValidationSet(
        features=X_val.reset_index(drop=True),
        target=y_val,
        tags={
            "refit.data.validation.source": "file" if inputs.validation else "stratified split",
            "refit.data.validation.rows": str(len(X_val)),
        },
    )


def build_pipeline(X: pd.DataFrame, seed: int):  # type: ignore[no-untyped-def]
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric = [c for c in X.columns if pd.api.types.is_numeric_dtype(X[c])]
    categorical = [c for c in X.columns if c not in numeric]
    preprocess = ColumnTransformer(
        [
            (
                "numeric",
                Pipeline(
                    [
                        ("impute", SimpleImputer(strategy="median")),
                        ("scale", StandardScaler()),
                    ]
                ),
                numeric,
            ),
            (
                "categorical",
                Pipeline(
                    [
                        ("impute", SimpleImputer(strategy="most_frequent")),
                        ("onehot", OneHotEncoder(handle_unknown="ignore")),
                    ]
                ),
                categorical,
            ),
        ]
    )
    classifier = LogisticRegression(max_iter=1000, C=1.0, random_state=seed)
    return Pipeline([("preprocess", preprocess), ("classifier", classifier)])


def train(inputs: TrainInputs) -> Trained:
    X_fit, y_fit, _, _ = _split(inputs)
    valid = validation_set(inputs)
    # Categorical columns as plain objects: the one-hot encoder and MLflow's schema both
    # handle them, whichever string dtype pandas chose when reading.
    X_fit = _plain_strings(X_fit)
    model = build_pipeline(X_fit, inputs.seed).fit(X_fit, y_fit)
    proba = model.predict_proba(_plain_strings(valid.features))[:, 1]
    return Trained(
        model=model,
        params={
            "model": "LogisticRegression",
            "C": 1.0,
            "imputation": "median (numeric), most frequent (categorical)",
            "validation": valid.tags["refit.data.validation.source"],
            "validation_share": VALIDATION_SHARE if inputs.validation is None else "n/a",
            "train_rows": len(X_fit),
            "seed": inputs.seed,
        },
        metrics=classification_metrics(valid.target, proba),
        input_example=_plain_strings(valid.features.head(5)),
        tags={
            **inputs.train.lineage("refit.data.train"),
            "refit.data.train.rows_used": str(inputs.train.rows),
            **(inputs.validation.lineage("refit.data.validation") if inputs.validation else {}),
            **valid.tags,
        },
    )


def _plain_strings(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for column in out.columns:
        if pd.api.types.is_string_dtype(out[column].dtype):
            out[column] = out[column].astype(object)
    return out


def log_model(trained: Trained) -> None:
    import mlflow.sklearn
    from mlflow.models import infer_signature

    example = trained.input_example
    signature = infer_signature(example, trained.model.predict_proba(example))
    mlflow.sklearn.log_model(
        trained.model,
        name="model",
        signature=signature,
        input_example=example,
        pyfunc_predict_fn="predict_proba",
        # skops (no pickle: loading cannot run code) must be told that the fitted
        # one-hot encoder's dtype objects are safe.
        skops_trusted_types=["numpy.dtype"],
        pip_requirements=pip_requirements("scikit-learn", "skops", "pandas", "numpy", "scipy"),
    )


RECIPE = Recipe(
    name="churn",
    task=CLASSIFICATION,
    target=TARGET,
    train=train,
    validation_set=validation_set,
    log_model=log_model,
)
