"""Which test to run on a column when the config says `auto`.

Evidently 0.7's DataDriftPreset rules (its `_get_default_stattest`), restated:

| reference rows (non-missing) | column                                   | test          |
|------------------------------|------------------------------------------|---------------|
| <= 1000                      | numerical, > 5 distinct values           | ks            |
| <= 1000                      | numerical with 3-5 values, categorical > 2 | chisquare   |
| <= 1000                      | numerical or categorical, <= 2 values    | ztest         |
| > 1000                       | numerical, > 5 distinct values           | wasserstein   |
| > 1000                       | numerical <= 5 values, categorical       | jensenshannon |

Distinct values are counted over reference and current together. Small samples get
hypothesis tests (p-values are informative there); large ones get distances, because with
many rows every tiny, harmless difference becomes "significant".
"""

from __future__ import annotations

from refit_trainer.drift.kinds import Kind
from refit_trainer.drift.samples import Samples

SMALL_REFERENCE = 1000
FEW_VALUES = 5
BINARY = 2


def auto_stattest(samples: Samples) -> str:
    distinct = samples.distinct_count(cap=FEW_VALUES)
    if samples.n_reference <= SMALL_REFERENCE:
        if samples.kind is Kind.NUMERICAL and distinct > FEW_VALUES:
            return "ks"
        return "chisquare" if distinct > BINARY else "ztest"
    if samples.kind is Kind.NUMERICAL and distinct > FEW_VALUES:
        return "wasserstein"
    return "jensenshannon"
