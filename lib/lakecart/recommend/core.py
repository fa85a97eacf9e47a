"""Pure numpy/pandas pieces of the recommenders (no Spark): the item-side model, the block
scorer that turns it into top-N lists for a block of users, EASE, and candidate grids.

Spark distributes the work (:mod:`lakecart.recommend.score` sends blocks of users to
:func:`score_block` inside ``mapInPandas``); everything here is plain array code that the
tests check against brute force on small inputs.

Scores of every source are computed for all items of the catalogue at once for a block of
users (a dense ``users x items`` matrix per source), then each source is normalised per
user (divided by the user's best score among the items that may be recommended), blended
with the model's weights, the user's already-seen items and inactive items are masked out,
and the top N are found with ``numpy.argpartition`` (a partial sort).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

ALS = "als"
ITEM_CF = "item_cf"
CONTENT = "content"
POPULAR = "popular"
BASKET = "bought_together"  # same-basket co-occurrence (orders), lakecart.basket's score
LAST = "last_item"  # neighbours of the user's most recent items (co-view, co-purchase, content)
SOURCES = (ALS, ITEM_CF, CONTENT, POPULAR, BASKET, LAST)
# popularity baselines by segment (model names in ops.model_metrics; published as popular)
POPULAR_COUNTRY = "popular_country"
POPULAR_CATEGORY = "popular_category"
BASELINES = (POPULAR, POPULAR_COUNTRY, POPULAR_CATEGORY)

# columns of a user block (input of score_block)
U_ID = "user_id"
U_FACTORS = "factors"
U_ITEMS = "items"
U_WEIGHTS = "weights"
U_RECENT = "recent"  # the user's most recent item indices, latest first (optional column)

# columns of score_block's output
OUT_MODEL = "model"
OUT_RANK = "rank"
OUT_ITEM = "item_id"
OUT_SCORE = "score"
OUT_SOURCE = "source"
OUT_WHY = "why_item_id"
OUTPUT_COLUMNS = (OUT_MODEL, U_ID, OUT_RANK, OUT_ITEM, OUT_SCORE, OUT_SOURCE, OUT_WHY)

# largest users x items matrix (cells) scored at once inside one block
BLOCK_CELLS = 8_000_000


@dataclass
class Neighbours:
    """A sparse item x item similarity kept as the top K neighbours of every item.

    Attributes:
        idx: ``(n_items, K)`` neighbour indices, ``-1`` for padding.
        val: ``(n_items, K)`` similarities (0 for padding).
    """

    idx: np.ndarray
    val: np.ndarray
    _keys: np.ndarray | None = field(default=None, repr=False)
    _vals: np.ndarray | None = field(default=None, repr=False)

    @property
    def n_items(self) -> int:
        """Rows (items)."""
        return int(self.idx.shape[0])

    def scores(self, rows: np.ndarray, items: np.ndarray, w: np.ndarray, n_rows: int) -> np.ndarray:
        """``X @ S`` for a sparse history ``X`` given as (row, item, weight) triples."""
        n = self.n_items
        out = np.zeros(n_rows * n, dtype=np.float64)
        if len(items):
            nb = self.idx[items]  # (m, K)
            ok = nb >= 0
            flat = (rows[:, None].astype(np.int64) * n + nb)[ok]
            vals = (w[:, None] * self.val[items])[ok]
            out += np.bincount(flat, weights=vals, minlength=n_rows * n)
        return out.reshape(n_rows, n)

    def lookup(self, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
        """Similarity ``S[src, dst]`` elementwise (0 where ``dst`` is not a neighbour)."""
        if self._keys is None:
            n = self.n_items
            ok = self.idx >= 0
            keys = (np.arange(n, dtype=np.int64)[:, None] * n + self.idx)[ok]
            order = np.argsort(keys, kind="stable")
            self._keys, self._vals = keys[order], self.val[ok][order]
        keys = src.astype(np.int64) * self.n_items + dst
        pos = np.searchsorted(self._keys, keys)
        pos = np.minimum(pos, max(len(self._keys) - 1, 0))
        if not len(self._keys):
            return np.zeros(len(keys))
        hit = self._keys[pos] == keys
        return np.where(hit, self._vals[pos], 0.0)

    @classmethod
    def from_pairs(
        cls, src: np.ndarray, dst: np.ndarray, val: np.ndarray, n_items: int, k: int
    ) -> Neighbours:
        """Keep the ``k`` largest ``val`` per ``src`` from (src, dst, val) triples."""
        idx = np.full((n_items, max(k, 1)), -1, dtype=np.int32)
        vals = np.zeros((n_items, max(k, 1)), dtype=np.float32)
        if len(src):
            order = np.lexsort((-val, src))
            src, dst, val = src[order], dst[order], val[order]
            start = np.searchsorted(src, src, side="left")
            pos = np.arange(len(src)) - start
            keep = pos < k
            idx[src[keep], pos[keep]] = dst[keep]
            vals[src[keep], pos[keep]] = val[keep]
        return cls(idx, vals)

    @classmethod
    def from_dense(cls, mat: np.ndarray, k: int) -> Neighbours:
        """The ``k`` largest entries of every row of a dense matrix (diagonal excluded)."""
        n = mat.shape[0]
        m = mat.astype(np.float32, copy=True)
        np.fill_diagonal(m, -np.inf)
        k = min(k, max(n - 1, 1))
        if n <= 1:
            return cls(np.full((n, 1), -1, np.int32), np.zeros((n, 1), np.float32))
        part = np.argpartition(-m, k - 1, axis=1)[:, :k]
        v = np.take_along_axis(m, part, axis=1)
        order = np.argsort(-v, axis=1, kind="stable")
        idx = np.take_along_axis(part, order, axis=1).astype(np.int32)
        val = np.take_along_axis(v, order, axis=1)
        bad = ~np.isfinite(val)
        idx[bad] = -1
        val[bad] = 0.0
        return cls(idx, val.astype(np.float32))


@dataclass
class ItemModel:
    """Everything item-side that scoring needs (broadcast to the executors).

    Attributes:
        item_ids: ``(n_items,)`` item ids; an item's index is its position.
        allowed: ``(n_items,)`` items that may be recommended (active, in stock).
        popularity: ``(n_items,)`` popularity scores (>= 0).
        item_factors: ``(n_items, rank)`` ALS item factors, or None.
        cf_dense: ``(n_items, n_items)`` item-to-item weights (EASE), or None.
        cf: Top-K item-to-item co-occurrence similarities, or None.
        content: Top-K content (TF-IDF) similarities, or None.
        basket: Top-K bought-together scores (items of the same order), or None.
        context: Top-K "last item" neighbours (co-viewed in a session or bought in the same
            order, plus content), scored from the user's most recent items, or None.
        recent_decay: Weight of a user's i-th most recent item in the ``last_item`` source
            is ``recent_decay ** i``.
    """

    item_ids: np.ndarray
    allowed: np.ndarray
    popularity: np.ndarray
    item_factors: np.ndarray | None = None
    cf_dense: np.ndarray | None = None
    cf: Neighbours | None = None
    content: Neighbours | None = None
    basket: Neighbours | None = None
    context: Neighbours | None = None
    recent_decay: float = 0.5

    @property
    def n_items(self) -> int:
        """Items in the model."""
        return int(len(self.item_ids))

    def has(self, source: str) -> bool:
        """Whether the model can score with ``source``."""
        if source == ALS:
            return self.item_factors is not None
        if source == ITEM_CF:
            return self.cf_dense is not None or self.cf is not None
        if source == CONTENT:
            return self.content is not None
        if source == BASKET:
            return self.basket is not None
        if source == LAST:
            return self.context is not None
        return source == POPULAR


def ease(gram: np.ndarray, lam: float) -> np.ndarray:
    """EASE item-to-item weights (Steck 2019) from a gram matrix ``X^T X``.

    ``B = I - P diag(1 / diag(P))`` with ``P = (G + lam I)^-1``; the diagonal of B is 0, so
    an item never recommends itself. A user's scores are ``x_u @ B``.

    Args:
        gram: ``(n, n)`` item co-occurrence counts (the diagonal holds item counts).
        lam: L2 regularisation (> 0).

    Returns:
        ``(n, n)`` float32 weights.
    """
    g = np.asarray(gram, dtype=np.float64).copy()
    g[np.diag_indices_from(g)] += lam
    p = np.linalg.inv(g)
    b = -p / np.diag(p)[None, :]
    np.fill_diagonal(b, 0.0)
    return b.astype(np.float32)


def history_arrays(block: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A block's histories as (row, item index, weight) triples."""
    lens = np.fromiter((0 if x is None else len(x) for x in block[U_ITEMS]), np.int64, len(block))
    if lens.sum() == 0:
        empty = np.zeros(0, np.int64)
        return empty, empty, np.zeros(0)
    rows = np.repeat(np.arange(len(block)), lens)
    items = np.concatenate(
        [np.asarray(x, np.int64) for x in block[U_ITEMS] if x is not None and len(x)]
    )
    ws = np.concatenate(
        [np.asarray(x, np.float64) for x in block[U_WEIGHTS] if x is not None and len(x)]
    )
    return rows, items, ws


def recent_arrays(block: pd.DataFrame, decay: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A block's most recent items (column ``recent``, latest first) as (row, item index,
    weight) triples, the i-th most recent weighing ``decay ** i``; empty without the column."""
    empty = np.zeros(0, np.int64)
    if U_RECENT not in block.columns:
        return empty, empty, np.zeros(0)
    lists = [
        np.zeros(0, np.int64) if x is None else np.asarray(x, np.int64) for x in block[U_RECENT]
    ]
    lens = np.fromiter((len(x) for x in lists), np.int64, len(lists))
    if lens.sum() == 0:
        return empty, empty, np.zeros(0)
    rows = np.repeat(np.arange(len(lists)), lens)
    items = np.concatenate(lists)
    pos = np.concatenate([np.arange(n) for n in lens])
    return rows, items, np.power(float(decay), pos)


def source_scores(
    model: ItemModel, block: pd.DataFrame, sources: Sequence[str]
) -> dict[str, np.ndarray]:
    """Raw ``(users, items)`` scores of each requested source for a block of users."""
    b, n = len(block), model.n_items
    rows, items, ws = history_arrays(block)
    out: dict[str, np.ndarray] = {}
    if ALS in sources and model.item_factors is not None:
        rank = model.item_factors.shape[1]
        uf = np.zeros((b, rank), dtype=np.float32)
        for r, f in enumerate(block[U_FACTORS]):
            if f is not None and len(f) == rank:
                uf[r] = f
        out[ALS] = (uf @ model.item_factors.T).astype(np.float64)
    if ITEM_CF in sources:
        if model.cf_dense is not None:
            x = np.zeros((b, n), dtype=np.float32)
            np.add.at(x, (rows, items), ws.astype(np.float32))
            out[ITEM_CF] = (x @ model.cf_dense).astype(np.float64)
        elif model.cf is not None:
            out[ITEM_CF] = model.cf.scores(rows, items, ws, b)
    if CONTENT in sources and model.content is not None:
        out[CONTENT] = model.content.scores(rows, items, ws, b)
    if BASKET in sources and model.basket is not None:
        out[BASKET] = model.basket.scores(rows, items, ws, b)
    if LAST in sources and model.context is not None:
        r_rows, r_items, r_ws = recent_arrays(block, model.recent_decay)
        out[LAST] = model.context.scores(r_rows, r_items, r_ws, b)
    if POPULAR in sources:
        out[POPULAR] = np.broadcast_to(model.popularity.astype(np.float64), (b, n))
    return out


def normalise(scores: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """Divide every row by its largest score among ``candidates`` (rows without a positive
    candidate score become 0), so that sources on different scales can be blended."""
    masked = np.where(candidates, scores, -np.inf)
    top = masked.max(axis=1, initial=-np.inf)
    scale = np.where(top > 0, top, np.inf)
    return scores / scale[:, None]


def top_n(total: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Column indices and values of the ``n`` best finite entries of every row, best first
    (ties: lower index first); ``-1`` / ``-inf`` pad rows with fewer candidates."""
    b, m = total.shape
    k = min(n, m)
    if k == 0:
        return np.zeros((b, 0), np.int64), np.zeros((b, 0))
    if k < m:
        # ties at the cut-off go to the lower index: select on a key nudged by the index
        nudged = total - np.arange(m) * (1e-12 / m)
        part = np.argpartition(-nudged, k - 1, axis=1)[:, :k]
    else:
        part = np.tile(np.arange(m), (b, 1))
    vals = np.take_along_axis(total, part, axis=1)
    order = np.lexsort((part, -vals), axis=1) if b else np.zeros((0, k), np.int64)
    idx = np.take_along_axis(part, order, axis=1)
    vals = np.take_along_axis(vals, order, axis=1)
    idx = np.where(np.isfinite(vals), idx, -1)
    return idx, vals


def _why(model: ItemModel, source: str, hist: np.ndarray, hist_w: np.ndarray, item: int) -> int:
    """The history item that best explains recommending ``item`` by ``source`` (-1: none)."""
    if not len(hist):
        return -1
    if source == ITEM_CF:
        if model.cf_dense is not None:
            sims = model.cf_dense[hist, item].astype(np.float64)
        elif model.cf is not None:
            sims = model.cf.lookup(hist, np.full(len(hist), item))
        else:
            return -1
        sims = sims * hist_w
    elif source == CONTENT and model.content is not None:
        sims = model.content.lookup(hist, np.full(len(hist), item)) * hist_w
    elif source == BASKET and model.basket is not None:
        sims = model.basket.lookup(hist, np.full(len(hist), item)) * hist_w
    elif source == LAST and model.context is not None:
        sims = model.context.lookup(hist, np.full(len(hist), item)) * hist_w
    elif source == ALS and model.item_factors is not None:
        f = model.item_factors
        v = f[item]
        h = f[hist]
        den = np.linalg.norm(h, axis=1) * (np.linalg.norm(v) or 1.0)
        sims = (h @ v) / np.where(den > 0, den, 1.0)
    else:
        return -1
    best = int(np.argmax(sims))
    return int(hist[best]) if sims[best] > 0 else -1


def score_block(
    model: ItemModel,
    block: pd.DataFrame,
    blends: Mapping[str, Mapping[str, float]],
    n: int,
    exclude_seen: bool = True,
    explain: bool = False,
) -> pd.DataFrame:
    """Top-``n`` items for every user of a block, for each blend of sources.

    Args:
        model: The item-side model.
        block: One row per user: ``user_id``, ``factors`` (ALS user factors or None),
            ``items`` (item indices of the user's history), ``weights`` (their weights).
        blends: ``{model name: {source: weight}}``; a single-source blend is that model
            alone (e.g. ``{"als": {"als": 1.0}}``).
        n: List length.
        exclude_seen: Mask the items of the user's history.
        explain: Fill ``why_item_id`` (the history item behind each recommendation).

    Returns:
        Rows ``model, user_id, rank, item_id, score, source, why_item_id`` where ``source``
        is the blend component with the largest weighted contribution to the item's score.
    """
    wanted = sorted({s for w in blends.values() for s, x in w.items() if x and model.has(s)})
    frames = []
    step = max(1, BLOCK_CELLS // max(model.n_items, 1))
    for lo in range(0, len(block), step):
        part = block.iloc[lo : lo + step]
        frames.extend(_score_part(model, part, blends, wanted, n, exclude_seen, explain))
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=_DTYPES[c]) for c in OUTPUT_COLUMNS})
    return pd.concat(frames, ignore_index=True)


_DTYPES = {
    OUT_MODEL: object,
    U_ID: object,
    OUT_RANK: np.int32,
    OUT_ITEM: object,
    OUT_SCORE: np.float64,
    OUT_SOURCE: object,
    OUT_WHY: object,
}


def _score_part(model, part, blends, wanted, n, exclude_seen, explain) -> list[pd.DataFrame]:
    b = len(part)
    rows, items, ws = history_arrays(part)
    cand = np.broadcast_to(model.allowed, (b, model.n_items)).copy()
    if exclude_seen and len(items):
        cand[rows, items] = False
    raw = source_scores(model, part, wanted)
    norm = {s: normalise(m, cand) for s, m in raw.items()}
    user_ids = part[U_ID].to_numpy()
    out = []
    for name, weights in blends.items():
        comps = [(s, float(w)) for s, w in weights.items() if w and s in norm]
        if not comps:
            continue
        total = np.zeros((b, model.n_items))
        for s, w in comps:
            total += w * norm[s]
        total = np.where(cand, total, -np.inf)
        idx, vals = top_n(total, n)
        r, c = np.nonzero(idx >= 0)
        chosen = idx[r, c]
        contrib = np.stack([w * norm[s][r, chosen] for s, w in comps], axis=1)
        src = np.array([s for s, _ in comps], dtype=object)[np.argmax(contrib, axis=1)]
        why = np.full(len(r), None, dtype=object)
        if explain and len(r):
            starts = np.searchsorted(rows, np.arange(b))
            ends = np.searchsorted(rows, np.arange(b), side="right")
            r_rows, r_items, r_ws = recent_arrays(part, model.recent_decay)
            r_starts = np.searchsorted(r_rows, np.arange(b))
            r_ends = np.searchsorted(r_rows, np.arange(b), side="right")
            for t in range(len(r)):
                if src[t] == POPULAR:
                    continue
                u = r[t]
                if src[t] == LAST:  # explained by one of the user's latest items
                    h, hw = r_items[r_starts[u] : r_ends[u]], r_ws[r_starts[u] : r_ends[u]]
                else:
                    h, hw = items[starts[u] : ends[u]], ws[starts[u] : ends[u]]
                j = _why(model, src[t], h, hw, int(chosen[t]))
                if j >= 0:
                    why[t] = model.item_ids[j]
        out.append(
            pd.DataFrame(
                {
                    OUT_MODEL: name,
                    U_ID: user_ids[r],
                    OUT_RANK: (c + 1).astype(np.int32),
                    OUT_ITEM: model.item_ids[chosen],
                    OUT_SCORE: vals[r, c].astype(np.float64),
                    OUT_SOURCE: src,
                    OUT_WHY: why,
                }
            )
        )
    return out


def score_batches(
    batches: Iterator[pd.DataFrame],
    model: ItemModel,
    blends: Mapping[str, Mapping[str, float]],
    n: int,
    exclude_seen: bool,
    explain: bool,
) -> Iterator[pd.DataFrame]:
    """:func:`score_block` over an iterator of blocks (the body of ``mapInPandas``)."""
    for block in batches:
        if len(block):
            yield score_block(model, block, blends, n, exclude_seen, explain)


def blend_grid(
    step: float = 0.25, extra: Sequence[str] = (POPULAR, CONTENT)
) -> list[dict[str, float]]:
    """Hybrid weight candidates: ALS vs item-CF shares on a grid of ``step``, each alone and
    with a small weight on each ``extra`` source."""
    shares = [round(x, 4) for x in np.arange(0.0, 1.0 + 1e-9, step)]
    out = [{ALS: 1.0 - s, ITEM_CF: s} for s in shares]
    for s, e in itertools.product([x for x in shares if 0 < x < 1], extra):
        for w in (0.05, 0.2):
            out.append({ALS: 1.0 - s, ITEM_CF: s, e: w})
    return out
