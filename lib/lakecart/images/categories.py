"""Category paths: their levels, the classifiers that learn them from photos, and the
joint decoding of per-level probabilities into one known path.

A category such as ``Apparel > Topwear > Tshirts`` has one *label per level*, each the path
prefix (``Apparel``, ``Apparel > Topwear``, ``Apparel > Topwear > Tshirts``), so two
categories that share a leaf name under different parents stay apart. A classifier per
level gives probabilities over that level's learned prefixes; :func:`decode_paths` picks
the catalogue path (as learned, truncated to its learned levels) with the highest sum of
log-probabilities over its levels, so the levels of a tag always agree with each other.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pyspark.sql import Column
from pyspark.sql import functions as F

SEPARATOR = " > "
FLOOR = 1e-12  # probabilities are floored before the log (a class the model rules out)


def level_paths(category: Column, levels: int) -> Column:
    """``array<string>`` of the category's prefixes, top level first, at most ``levels``
    (levels split on ``>``, each trimmed; empty levels dropped; NULL category -> empty)."""
    parts = F.filter(
        F.transform(F.split(F.coalesce(category, F.lit("")), r">"), lambda p: F.trim(p)),
        lambda p: p != "",
    )
    depth = F.least(F.size(parts), F.lit(levels))
    return F.when(
        depth > 0,
        F.transform(
            F.sequence(F.lit(1), depth), lambda i: F.array_join(F.slice(parts, 1, i), SEPARATOR)
        ),
    ).otherwise(F.array().cast("array<string>"))


@dataclass(frozen=True)
class PathTable:
    """The known category paths, as class indices per learned level.

    Attributes:
        names: Each path's name (its deepest learned prefix).
        index: ``len(names) x levels`` class indices (-1 past the path's depth).
    """

    names: list[str]
    index: np.ndarray

    @staticmethod
    def build(paths: Sequence[Sequence[str]], classes: Sequence[Sequence[str]]) -> PathTable:
        """Paths (lists of prefixes) truncated to their levels learned in ``classes`` (one
        list of class names per level); duplicates, paths learned at no level and paths
        cut short at an interior node of the learned tree dropped."""
        lookup = [{c: i for i, c in enumerate(cs)} for cs in classes]
        seen: dict[tuple[int, ...], str] = {}
        for p in paths:
            idx: list[int] = []
            for j, prefix in enumerate(p[: len(classes)]):
                i = lookup[j].get(prefix)
                if i is None:
                    break
                idx.append(i)
            if idx:
                seen.setdefault(tuple(idx), p[len(idx) - 1])
        # a path cut short at an interior node of the learned tree (its deeper class too
        # rare to learn, while siblings were learned) is dropped: the node's learned
        # children stand for it
        interior = {k[:j] for k in seen for j in range(1, len(k))}
        keys = sorted(k for k in seen if k not in interior)
        index = np.full((len(keys), len(classes)), -1, dtype=np.int64)
        for r, k in enumerate(keys):
            index[r, : len(k)] = k
        return PathTable([seen[k] for k in keys], index)


def decode_paths(probs: Sequence[np.ndarray], table: PathTable) -> tuple[np.ndarray, np.ndarray]:
    """The most probable known path per row and its probability at each level: the sum
    over levels of the log-probability of the path's prefix (a path shorter than the learned
    levels is charged the row's best log-probability at each missing level).

    Args:
        probs: One ``n x K_j`` probability matrix per learned level.
        table: The known paths.

    Returns:
        ``(best, confidences)``: the index of each row's path in ``table.names`` and an
        ``n x levels`` matrix of the chosen path's probability per level (NaN past its
        depth). Ties go to the first path in ``table`` order.
    """
    n = probs[0].shape[0] if probs else 0
    score = np.zeros((n, len(table.names)))
    for j, p in enumerate(probs):
        col = table.index[:, j]
        has = col >= 0
        lp = np.log(np.maximum(p, FLOOR))
        score[:, has] += lp[:, col[has]]
        # a path shorter than the learned levels (its deeper class too rare to learn) is
        # charged the row's best class at each missing level, so depth alone never wins
        score[:, ~has] += lp.max(axis=1, keepdims=True)
    best = score.argmax(axis=1) if len(table.names) else np.zeros(n, dtype=np.int64)
    conf = np.full((n, len(probs)), np.nan)
    for j, p in enumerate(probs):
        cls = table.index[best, j]
        ok = cls >= 0
        conf[ok, j] = p[np.nonzero(ok)[0], cls[ok]]
    return best, conf


def unit(v: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 length (zero rows stay zero)."""
    norm = np.linalg.norm(v, axis=1, keepdims=True)
    return np.divide(v, norm, out=np.zeros_like(v), where=norm > 0)


def tag_frame(
    batch: pd.DataFrame,
    table: PathTable,
    levels: int,
    probability_weight: float,
) -> pd.DataFrame:
    """Decode one batch of scored photos (the body of the tagging UDF).

    Args:
        batch: ``item_id``, ``scaled`` (the standardised pixel vector), ``p0 .. p<L-1>``
            (each level's class probabilities) and optionally ``photo_p`` (the deepest
            level's probabilities from the photo alone, for the embedding; default
            ``p<L-1>``).
        table: The known paths.
        levels: Learned levels ``L``.
        probability_weight: Weight of the deepest level's probabilities beside the pixels in
            the neighbour embedding.

    Returns:
        ``item_id, category, level_confidences, embedding`` (the unit pixel vector joined
        with ``probability_weight`` x the unit probability vector).
    """
    probs = [np.stack(batch[f"p{j}"].to_numpy()) for j in range(levels)]
    best, conf = decode_paths(probs, table)
    pixels = unit(np.stack(batch["scaled"].to_numpy()).astype(np.float64))
    parts = [pixels]
    if probability_weight > 0:
        own = batch["photo_p"] if "photo_p" in batch.columns else batch[f"p{levels - 1}"]
        parts.append(probability_weight * unit(np.stack(own.to_numpy()).astype(np.float64)))
    emb = np.hstack(parts).astype(np.float32)
    names = np.asarray(table.names, dtype=object)
    return pd.DataFrame(
        {
            "item_id": batch["item_id"].to_numpy(),
            "category": names[best] if len(names) else None,
            "level_confidences": [list(c[~np.isnan(c)]) for c in conf],
            "embedding": list(emb),
        }
    )


TAG_OUTPUT_DDL = (
    "item_id string, category string, level_confidences array<double>, embedding array<float>"
)
