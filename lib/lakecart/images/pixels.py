"""Image features from the pixels of one product photo (plain numpy, Pillow and
scikit-image: no Spark, so every function is unit-tested on hand-made images).

A photo becomes one vector of three blocks, each L2-normalised so that no block dominates
a cosine or a linear model by its length:

* **shape**: HOG (histogram of oriented gradients) of a grey, square, ``size`` x ``size``
  version of the photo, computed twice (at 8 and at 16 pixels per cell, so both the outline
  and its details count);
* **colour**: a joint hue x saturation x value histogram over the *foreground* pixels (those
  that differ from the background colour estimated on the photo's border), plus the share
  of the frame the product covers and its bounding box's aspect ratio;
* **texture**: a histogram of uniform local binary patterns over the foreground.

Dominant colours are named from the foreground pixels against a small palette of colour
names (:data:`PALETTE`).
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass

import numpy as np
import pandas as pd

HUE_BINS = 12
SAT_BINS = 3
VAL_BINS = 3
LBP_POINTS = 8
LBP_RADIUS = 1.0
BACKGROUND_TOLERANCE = 0.12  # max RGB distance (0-1 scale, per channel mean) from the border colour

PALETTE: dict[str, tuple[int, int, int]] = {
    "black": (20, 20, 20),
    "grey": (128, 128, 128),
    "white": (245, 245, 245),
    "red": (200, 30, 30),
    "maroon": (110, 20, 35),
    "pink": (240, 140, 180),
    "orange": (240, 130, 30),
    "yellow": (240, 220, 40),
    "beige": (215, 195, 160),
    "brown": (120, 75, 40),
    "green": (40, 150, 60),
    "olive": (110, 120, 50),
    "teal": (20, 130, 130),
    "blue": (40, 80, 200),
    "navy": (25, 35, 90),
    "purple": (120, 50, 150),
}
"""Colour names and their reference sRGB values (nearest in CIE Lab names a pixel)."""


class ImageError(ValueError):
    """The bytes are not an image Pillow can decode."""


@dataclass(frozen=True)
class FeatureSpec:
    """How a photo becomes a vector.

    Attributes:
        size: Side of the square grey image HOG reads (pixels).
        hog_cells: Pixels per HOG cell, one HOG per entry.
        orientations: HOG orientation bins.
        colours: Dominant colours named per photo.
        colour_min_share: A colour is named only when it covers at least this share of the
            foreground.
        detail: Append :func:`detail_blocks` (the product cropped to its bounding box,
            coarser HOG, texture at several radii, gradient and colour statistics, the
            silhouette's layout): about 3x the cost, about +1 point of articleType accuracy
            on the fashion set.
    """

    size: int = 64
    hog_cells: tuple[int, ...] = (8, 16)
    orientations: int = 9
    colours: int = 3
    colour_min_share: float = 0.1
    detail: bool = False

    def dims(self) -> dict[str, int]:
        """Length of each block of the vector: ``{"shape": .., "colour": .., "texture": ..}``."""
        hog = 0
        for c in self.hog_cells:
            cells = self.size // c
            blocks = max(cells - 1, 1)
            hog += blocks * blocks * 4 * self.orientations if cells > 1 else self.orientations
        return {
            "shape": hog,
            "colour": HUE_BINS * SAT_BINS * VAL_BINS + 2,
            "texture": LBP_POINTS + 2,
        }

    def length(self) -> int:
        """Length of the whole vector."""
        return sum(self.dims().values()) + (_detail_length(self) if self.detail else 0)


@dataclass(frozen=True)
class Photo:
    """What :func:`describe` returns for one photo."""

    vector: np.ndarray
    colours: list[str]
    width: int
    height: int


def checksum(data: bytes) -> str:
    """SHA-256 of the file's bytes (hex): the key an unchanged photo is recognised by."""
    return hashlib.sha256(data).hexdigest()


def decode(data: bytes) -> np.ndarray:
    """The photo as an ``H x W x 3`` uint8 RGB array (transparency flattened on white).

    Raises:
        ImageError: When Pillow cannot decode the bytes.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()
            if im.mode in ("RGBA", "LA", "P"):
                im = im.convert("RGBA")
                bg = Image.new("RGBA", im.size, (255, 255, 255, 255))
                im = Image.alpha_composite(bg, im)
            rgb = np.asarray(im.convert("RGB"), dtype=np.uint8)
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        EOFError,
        Image.DecompressionBombError,
    ) as e:
        raise ImageError(f"not a readable image: {e}".splitlines()[0][:300]) from e
    if rgb.ndim != 3 or rgb.shape[0] < 2 or rgb.shape[1] < 2:
        raise ImageError(f"image too small: {rgb.shape[1]}x{rgb.shape[0]}")
    return rgb


def square(rgb: np.ndarray, size: int) -> np.ndarray:
    """The photo padded to a square with its border colour, then resized to ``size``."""
    from PIL import Image

    h, w = rgb.shape[:2]
    side = max(h, w)
    if h != w:
        fill = border_colour(rgb).astype(np.uint8)
        canvas = np.empty((side, side, 3), dtype=np.uint8)
        canvas[:] = fill
        top, left = (side - h) // 2, (side - w) // 2
        canvas[top : top + h, left : left + w] = rgb
        rgb = canvas
    if side != size:
        rgb = np.asarray(Image.fromarray(rgb).resize((size, size), Image.BILINEAR))
    return rgb


def border_colour(rgb: np.ndarray) -> np.ndarray:
    """The median colour of the photo's outermost rows and columns (float RGB 0-255)."""
    edge = np.concatenate([rgb[0], rgb[-1], rgb[:, 0], rgb[:, -1]]).astype(np.float64)
    return np.median(edge, axis=0)


def foreground(rgb: np.ndarray, tolerance: float = BACKGROUND_TOLERANCE) -> np.ndarray:
    """Boolean mask of the pixels that differ from the border colour by more than
    ``tolerance`` (mean absolute channel difference on a 0-1 scale). A photo without any
    such pixel is all foreground (a texture filling the frame)."""
    diff = np.abs(rgb.astype(np.float64) - border_colour(rgb)).mean(axis=2) / 255.0
    mask = diff > tolerance
    return mask if mask.any() else np.ones_like(mask)


def hsv(rgb: np.ndarray) -> np.ndarray:
    """RGB uint8 -> HSV floats in [0, 1]."""
    from skimage.color import rgb2hsv

    return rgb2hsv(rgb)


def colour_histogram(rgb: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Joint hue x saturation x value histogram (shares) of the masked pixels, followed by
    the mask's share of the frame and its bounding box's width / height."""
    h = hsv(rgb)[mask]
    hi = np.minimum((h[:, 0] * HUE_BINS).astype(int), HUE_BINS - 1)
    si = np.minimum((h[:, 1] * SAT_BINS).astype(int), SAT_BINS - 1)
    vi = np.minimum((h[:, 2] * VAL_BINS).astype(int), VAL_BINS - 1)
    idx = (hi * SAT_BINS + si) * VAL_BINS + vi
    hist = np.bincount(idx, minlength=HUE_BINS * SAT_BINS * VAL_BINS).astype(np.float64)
    hist /= max(len(idx), 1)
    rows, cols = np.nonzero(mask)
    height = rows.max() - rows.min() + 1
    width = cols.max() - cols.min() + 1
    return np.concatenate([hist, [mask.mean(), width / height]])


def texture_histogram(grey: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Shares of the uniform local-binary-pattern codes (P=8, R=1) over the masked pixels."""
    from skimage.feature import local_binary_pattern

    codes = local_binary_pattern(grey, LBP_POINTS, LBP_RADIUS, method="uniform").astype(int)
    sel = codes[mask]
    hist = np.bincount(sel, minlength=LBP_POINTS + 2).astype(np.float64)
    return hist / max(len(sel), 1)


def hog_vector(grey: np.ndarray, spec: FeatureSpec) -> np.ndarray:
    """HOG of the grey image at each of ``spec.hog_cells`` (L2-Hys blocks of 2x2 cells)."""
    from skimage.feature import hog

    parts = []
    for c in spec.hog_cells:
        cells = spec.size // c
        parts.append(
            hog(
                grey,
                orientations=spec.orientations,
                pixels_per_cell=(c, c),
                cells_per_block=(2, 2) if cells > 1 else (1, 1),
                block_norm="L2-Hys",
                feature_vector=True,
            )
        )
    return np.concatenate(parts)


def _unit(v: np.ndarray) -> np.ndarray:
    n = float(np.linalg.norm(v))
    return v / n if n > 0 else v


def _lab(rgb: np.ndarray) -> np.ndarray:
    from skimage.color import rgb2lab

    return rgb2lab(rgb.reshape(-1, 1, 3).astype(np.uint8)).reshape(-1, 3)


_PALETTE_NAMES = list(PALETTE)
_PALETTE_LAB: np.ndarray | None = None


def name_colours(
    rgb: np.ndarray, mask: np.ndarray, k: int = 3, min_share: float = 0.1
) -> list[str]:
    """Up to ``k`` colour names covering at least ``min_share`` of the masked pixels, most
    common first (each pixel named by the nearest :data:`PALETTE` colour in CIE Lab)."""
    global _PALETTE_LAB
    if _PALETTE_LAB is None:
        _PALETTE_LAB = _lab(np.array(list(PALETTE.values()), dtype=np.uint8))
    px = rgb[mask]
    if len(px) > 4096:  # a fixed, even subsample: the shares do not need every pixel
        px = px[:: len(px) // 4096]
    lab = _lab(px)
    d = ((lab[:, None, :] - _PALETTE_LAB[None, :, :]) ** 2).sum(axis=2)
    counts = np.bincount(d.argmin(axis=1), minlength=len(_PALETTE_NAMES)) / len(px)
    order = np.argsort(-counts, kind="stable")
    return [_PALETTE_NAMES[i] for i in order[:k] if counts[i] >= min_share]


def describe(data: bytes, spec: FeatureSpec) -> Photo:
    """Decode one photo and compute its feature vector and colour names.

    Raises:
        ImageError: When the bytes are not a decodable image.
    """
    from skimage.color import rgb2gray

    rgb = decode(data)
    h, w = rgb.shape[:2]
    mask_full = foreground(rgb)
    small = square(rgb, spec.size)
    grey = rgb2gray(small)
    mask = foreground(small)
    vector = np.concatenate(
        [
            _unit(hog_vector(grey, spec)),
            _unit(colour_histogram(small, mask)),
            _unit(texture_histogram((grey * 255).astype(np.uint8), mask)),
        ]
    ).astype(np.float32)
    if spec.detail:
        vector = np.concatenate([vector, detail_blocks(rgb, small, grey, mask, spec)])
    colours = name_colours(rgb, mask_full, spec.colours, spec.colour_min_share)
    return Photo(vector=vector.astype(np.float32), colours=colours, width=w, height=h)


# ------------------------------------------------------------------ detail blocks
DETAIL_SIZE = 112  # side of the copy the texture blocks read


def _lbp(g8: np.ndarray, mask: np.ndarray, points: int, radius: float, method: str = "uniform",
         bins: int | None = None) -> np.ndarray:  # fmt: skip
    from skimage.feature import local_binary_pattern

    codes = local_binary_pattern(g8, points, radius, method=method).astype(int)
    sel = codes[mask]
    return np.bincount(sel, minlength=bins or points + 2) / max(len(sel), 1)


def _gradient_histogram(grey: np.ndarray, mask: np.ndarray, bins: int = 12) -> np.ndarray:
    gy, gx = np.gradient(grey)
    lm = np.log1p(np.hypot(gx, gy)[mask] * 50)
    idx = np.minimum((lm / 4 * bins).astype(int), bins - 1)
    return np.bincount(idx, minlength=bins) / max(int(mask.sum()), 1)


def crop_square(rgb: np.ndarray, size: int, margin: float = 0.04) -> tuple[np.ndarray, float]:
    """The product's bounding box (plus ``margin`` of its longer side), padded to a square
    with the border colour and resized to ``size``; and the box's width / height."""
    mask = foreground(rgb)
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    r0, r1, c0, c1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    m = int(round(margin * max(r1 - r0, c1 - c0)))
    h, w = rgb.shape[:2]
    r0, r1, c0, c1 = max(r0 - m, 0), min(r1 + m, h), max(c0 - m, 0), min(c1 + m, w)
    return square(rgb[r0:r1, c0:c1], size), (c1 - c0) / (r1 - r0)


def _spatial_hsv(small: np.ndarray, mask: np.ndarray, grid: int = 2) -> np.ndarray:
    hb, sb, vb = 8, 2, 2
    h = hsv(small)
    hi = np.minimum((h[..., 0] * hb).astype(int), hb - 1)
    si = np.minimum((h[..., 1] * sb).astype(int), sb - 1)
    vi = np.minimum((h[..., 2] * vb).astype(int), vb - 1)
    idx = (hi * sb + si) * vb + vi
    out = []
    for rows in np.array_split(np.arange(small.shape[0]), grid):
        for cols in np.array_split(np.arange(small.shape[1]), grid):
            m = mask[np.ix_(rows, cols)]
            cell = idx[np.ix_(rows, cols)][m]
            out.append(np.bincount(cell, minlength=hb * sb * vb) / max(m.size, 1))
    return np.concatenate(out)


def _profile(mask: np.ndarray, bins: int = 24) -> np.ndarray:
    """The silhouette's share of each of ``bins`` row bands and column bands."""
    rows = [mask[r].mean() for r in np.array_split(np.arange(mask.shape[0]), bins)]
    cols = [mask[:, c].mean() for c in np.array_split(np.arange(mask.shape[1]), bins)]
    return np.asarray(rows + cols)


def detail_blocks(
    rgb: np.ndarray, small: np.ndarray, grey: np.ndarray, mask: np.ndarray, spec: FeatureSpec
) -> np.ndarray:
    """The optional detail blocks of the vector (each L2-normalised): HOG at half the
    square's side per cell, HOG of the product cropped to its bounding box at each of
    ``spec.hog_cells``, uniform LBP at radii 1-3 and non-rotation-invariant LBP on a
    ``DETAIL_SIZE`` copy (eroded foreground), a gradient-magnitude histogram, foreground
    colour mean / spread and neighbour differences, LBP (16, 2) on the square, a 16 x 16
    silhouette, its row and column profile, a 2 x 2 spatial colour histogram, and the
    crop's aspect ratio and cover."""
    from PIL import Image
    from scipy import ndimage as ndi
    from skimage.color import rgb2gray
    from skimage.feature import hog

    def _hog(g: np.ndarray, cell: int) -> np.ndarray:
        block = 2 if g.shape[0] // cell >= 2 else 1  # a cell over half the side: 1 x 1 blocks
        return hog(g, orientations=spec.orientations, pixels_per_cell=(cell, cell),
                   cells_per_block=(block, block), block_norm="L2-Hys", feature_vector=True)  # fmt: skip

    crop, aspect = crop_square(rgb, spec.size)
    cgrey = rgb2gray(crop)
    cmask = foreground(crop)
    g8 = (grey * 255).astype(np.uint8)
    mask16 = (
        np.asarray(
            Image.fromarray(mask.astype(np.uint8) * 255).resize((16, 16), Image.BILINEAR),
            dtype=np.float64,
        ).ravel()
        / 255.0
    )
    half = np.asarray(Image.fromarray(rgb).resize((DETAIL_SIZE, DETAIL_SIZE), Image.BILINEAR))
    hgrey = rgb2gray(half)
    h8 = (hgrey * 255).astype(np.uint8)
    hfg = foreground(half)
    hmask = ndi.binary_erosion(hfg, iterations=2)
    if hmask.sum() < 20:
        hmask = hfg
    px = half[hfg].astype(np.float64) / 255.0
    hf = half.astype(np.float64)
    cstat = np.concatenate(
        [px.mean(0), px.std(0),
         [np.abs(np.diff(hf, axis=1)).mean() / 25.5, np.abs(np.diff(hf, axis=0)).mean() / 25.5]]
    )  # fmt: skip
    blocks = [
        _hog(grey, spec.size // 2),
        *[_hog(cgrey, c) for c in spec.hog_cells],
        _lbp(h8, hmask, 8, 1.0), _lbp(h8, hmask, 8, 2.0), _lbp(h8, hmask, 8, 3.0),
        _lbp(h8, hmask, 8, 1.0, "nri_uniform", 59),
        _gradient_histogram(hgrey, hmask),
        cstat,
        _lbp(g8, mask, 16, 2.0),
        mask16,
        _profile(mask),
        _spatial_hsv(small, mask),
        np.array([np.log(aspect), cmask.mean()]),
    ]  # fmt: skip
    return np.concatenate([_unit(b) for b in blocks]).astype(np.float32)


_DETAIL_LENGTHS: dict[tuple, int] = {}


def _detail_length(spec: FeatureSpec) -> int:
    """Length of :func:`detail_blocks` for ``spec`` (measured once on a drawn square)."""
    key = (spec.size, spec.hog_cells, spec.orientations)
    if key not in _DETAIL_LENGTHS:
        rgb = np.full((spec.size, spec.size, 3), 255, dtype=np.uint8)
        q = spec.size // 4
        rgb[q : 3 * q, q : 3 * q] = (200, 30, 30)
        from skimage.color import rgb2gray

        small = square(rgb, spec.size)
        _DETAIL_LENGTHS[key] = len(
            detail_blocks(rgb, small, rgb2gray(small), foreground(small), spec)
        )
    return _DETAIL_LENGTHS[key]


FEATURE_COLUMNS = ("item_id", "image", "checksum", "content")
FEATURE_OUTPUT_DDL = (
    "item_id string, image string, checksum string, vector array<float>, "
    "colours array<string>, width int, height int, error string"
)
"""Output of :func:`describe_frame` (Spark DDL)."""


def describe_frame(photos: pd.DataFrame, spec: FeatureSpec) -> pd.DataFrame:
    """:func:`describe` for a batch of photos (the body of the feature UDF).

    Args:
        photos: Columns ``item_id, image, checksum, content`` (the file's bytes).
        spec: Feature settings.

    Returns:
        One row per photo in the columns of :data:`FEATURE_OUTPUT_DDL`; a photo that does
        not decode has NULL features and the reason in ``error``.
    """
    out: dict[str, list] = {k: [] for k in ("vector", "colours", "width", "height", "error")}
    for data in photos["content"]:
        try:
            p = describe(bytes(data), spec)
        except ImageError as e:
            out["vector"].append(None)
            out["colours"].append(None)
            out["width"].append(None)
            out["height"].append(None)
            out["error"].append(str(e))
            continue
        out["vector"].append(p.vector)
        out["colours"].append(p.colours)
        out["width"].append(p.width)
        out["height"].append(p.height)
        out["error"].append(None)
    return pd.DataFrame(
        {
            "item_id": photos["item_id"].to_numpy(),
            "image": photos["image"].to_numpy(),
            "checksum": photos["checksum"].to_numpy(),
            **out,
        }
    ).astype({"width": "Int32", "height": "Int32"})
