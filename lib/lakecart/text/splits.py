"""The validation split of a text model: the latest rows before as_of, by time.

SPEC section 5: tuning data is a chronological holdout carved from before as_of. Rows are
ordered by ``timestamp + u`` where ``u`` in [0, 1) is a seeded hash of the row id, so rows
sharing one timestamp (a bulk import, a dataset with one fixed time) are split at random
rather than all-or-nothing; the last ``share`` of that order (an approximate quantile, one
Spark action) is the validation split. Undated rows (NULL timestamp) cannot be ordered:
``share`` of them, by the same hash, are validation rows.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

VALID = "_valid"


def hash_unit(id_col: str, seed: int, tag: str) -> Column:
    """A seeded hash of ``id_col`` as a double in [0, 1)."""
    return F.pmod(F.xxhash64(F.col(id_col), F.lit(f"{tag}-{seed}")), F.lit(1_000_003)) / F.lit(
        1_000_003.0
    )


def with_validation_flag(
    df: DataFrame, ts_col: str, id_col: str, share: float, seed: int
) -> DataFrame:
    """``df`` with the boolean :data:`VALID` column (see the module docstring).

    Args:
        df: Labelled rows before as_of.
        ts_col: Timestamp column (NULL = undated).
        id_col: Row id (the hash's input).
        share: Share of rows in the validation split, in (0, 1).
        seed: Hash seed.
    """
    if not 0.0 < share < 1.0:
        raise ValueError(f"validation share must be in (0, 1), got {share}")
    u = hash_unit(id_col, seed, "validation")
    key = F.unix_timestamp(F.col(ts_col)).cast("double") + u
    keyed = df.withColumn("_split_key", key)
    dated = keyed.filter(F.col(ts_col).isNotNull())
    q = dated.approxQuantile("_split_key", [1.0 - share], 1e-4)
    cut = q[0] if q else None
    valid = F.when(F.col(ts_col).isNull(), u >= F.lit(1.0 - share))
    if cut is not None:
        valid = valid.otherwise(F.col("_split_key") >= F.lit(cut))
    else:
        valid = valid.otherwise(F.lit(False))
    return keyed.withColumn(VALID, valid).drop("_split_key")
