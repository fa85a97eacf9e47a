"""Small generated product photos for the synthetic shop (:mod:`lakecart.generate`).

Every item of the default shop gets a square PNG, ``<landing>/images/<item_id>.png``,
whose **shape and colour follow the item's category**, so that the ``images`` stage has
something true to learn:

=================== ============================================ ===========================
category            silhouette (variants)                        palette
=================== ============================================ ===========================
Apparel             T-shirt (short or long sleeves), trousers    navy, red, grey, olive ...
Shoes               trainer or boot in profile, sole, laces      brown, black, tan, red ...
Electronics         monitor on a stand, phone, laptop            black, graphite, silver
Home & Kitchen      mug with a handle, cooking pot with a lid    cream, teal, red, steel ...
Beauty              bottle with cap and label, lipstick          pink, purple, gold, cream
Sports & Outdoors   ball with seams, dumbbell                    orange, yellow, green ...
Toys & Games        star, stacked toy blocks                     bright primaries
Books               upright book with spine, stack of books      maroon, navy, green ...
Garden              potted plant, single leaf                    greens, terracotta pot
Jewellery           ring with a gem, necklace with a pendant     gold, silver, rose gold
=================== ============================================ ===========================

Each photo varies by item: variant, position, scale, aspect, a rotation of a few degrees,
its colour (drawn from the category palette, plus noise), a stripe or dot pattern on some
items, the background tint and a soft shadow. Palettes overlap on purpose (red apparel,
shoes and toys; navy apparel and books; gold beauty and jewellery; green garden, sports
and toys), and phones look a little like books, so that categories are separable but not
trivially.

Everything is drawn from :meth:`lakecart.generate.World.hu` per item index, so the same
seed gives byte-identical files. The catalogue is a little messy on purpose, by hash:

* :data:`MISMATCH_SHARE` of the items have a photo of another category's look (a
  catalogue error: the item's category stays what the rest of the shop says);
* :data:`MISSING_SHARE` have no photo (empty ``image`` in ``products``);
* :data:`CORRUPT_SHARE` (and always at least one item) have a corrupt file: a truncated
  PNG or a text page saved as ``.png``, for ingest and the images stage to quarantine.

:func:`product_image` is the pure drawing function; :func:`write_images` writes the files
from the executors (``mapInPandas`` over item blocks, plain file I/O, each file written
under a hidden temporary name and renamed, so a killed run never leaves half a file).
"""

from __future__ import annotations

import io
import math
import os
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlparse

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from PIL import Image
    from pyspark.sql import SparkSession

    from lakecart.generate import World

IMAGE_SIZE = 64
"""Side of a photo in pixels (the size the images stage reads HOG at)."""
IMAGE_DIR = "images"
"""Folder of the photos inside the landing folder."""
MISSING_SHARE = 0.03
"""Share of items without a photo (``image`` empty)."""
CORRUPT_SHARE = 0.002
"""Share of items whose photo file is corrupt (at least one item in every shop)."""
MISMATCH_SHARE = 0.02
"""Share of items whose photo shows another category's look (a catalogue error)."""
IMAGES_VERSION = 1
"""Version of the photos, a parameter of the generate job's landing marker: bump it when the
drawing changes, so that landing folders written before are generated again."""
DRAWS = 18
"""Uniforms :func:`product_image` reads per item (see the ``_U_*`` indices)."""
SUPERSAMPLE = 4  # drawn at 4x and reduced: smooth edges without any antialiasing code

PHOTO, MISMATCH, MISSING, CORRUPT = 0, 1, 2, 3
"""Photo status codes of :func:`image_status`."""

# meaning of the uniforms passed to product_image
_U_VARIANT, _U_MAIN, _U_ACCENT, _U_R, _U_G, _U_B, _U_BRIGHT = 0, 1, 2, 3, 4, 5, 6
_U_SCALE, _U_ASPECT, _U_ROT, _U_DX, _U_DY = 7, 8, 9, 10, 11
_U_PATTERN, _U_PERIOD, _U_BACK, _U_P1, _U_P2, _U_FLIP = 12, 13, 14, 15, 16, 17

RGB = tuple[int, int, int]
Point = tuple[float, float]

PALETTES: dict[str, tuple[RGB, ...]] = {
    "Apparel": ((30, 45, 100), (190, 40, 45), (128, 128, 135), (105, 120, 60), (35, 35, 38), (150, 180, 220)),
    "Shoes": ((120, 75, 40), (30, 30, 32), (190, 150, 100), (190, 40, 45), (50, 90, 190)),
    "Electronics": ((25, 25, 28), (70, 72, 78), (170, 172, 178), (45, 50, 60)),
    "Home & Kitchen": ((235, 220, 190), (30, 130, 130), (180, 50, 40), (150, 150, 155), (230, 190, 60)),
    "Beauty": ((235, 150, 180), (140, 70, 160), (210, 170, 70), (200, 90, 110), (240, 205, 200)),
    "Sports & Outdoors": ((235, 120, 30), (215, 225, 60), (40, 150, 60), (40, 80, 200), (230, 230, 230)),
    "Toys & Games": ((215, 40, 40), (240, 210, 40), (40, 90, 210), (50, 170, 70), (240, 130, 30)),
    "Books": ((110, 25, 35), (25, 35, 90), (30, 80, 50), (110, 70, 40), (200, 160, 50), (20, 120, 120)),
    "Garden": ((50, 140, 60), (90, 160, 60), (110, 120, 50), (35, 110, 70)),
    "Jewellery": ((215, 175, 60), (185, 185, 195), (215, 150, 130), (200, 160, 40)),
}  # fmt: skip
"""Main colours of each category (one is picked per item, then jittered)."""
ACCENTS: dict[str, tuple[RGB, ...]] = {
    "Apparel": ((240, 240, 240), (230, 200, 60), (30, 30, 30), (200, 60, 60)),
    "Shoes": ((240, 240, 240), (30, 30, 30), (200, 60, 50)),
    "Electronics": ((20, 45, 90), (15, 15, 20), (40, 70, 120)),
    "Home & Kitchen": ((40, 40, 40), (240, 240, 235), (200, 60, 50), (60, 110, 190)),
    "Beauty": ((215, 175, 60), (30, 30, 30), (190, 190, 200)),
    "Sports & Outdoors": ((30, 30, 30), (245, 245, 245), (200, 40, 40)),
    "Toys & Games": ((240, 210, 40), (40, 90, 210), (215, 40, 40), (250, 250, 250)),
    "Books": ((235, 225, 200), (215, 175, 60), (245, 245, 240)),
    "Garden": ((185, 95, 55), (120, 120, 120), (150, 90, 50)),
    "Jewellery": ((200, 30, 50), (40, 80, 200), (30, 150, 80), (230, 235, 245)),
}  # fmt: skip
"""Second colours of each category (labels, soles, screens, gems, pots, patterns)."""


# ---------------------------------------------------------------- drawing primitives
@dataclass(frozen=True)
class _Op:
    """One filled shape in the item's own unit frame (x right, y down, about [-1, 1]).

    ``kind`` is ``poly`` (``pts``), ``line`` (``pts`` and ``width``) or ``hole`` (a polygon
    cut out of what is drawn before it). ``body`` shapes get the item's pattern.
    """

    kind: str
    pts: tuple[Point, ...]
    colour: RGB
    body: bool = False
    width: float = 0.0
    outline: bool = True


def _ellipse(
    cx: float, cy: float, rx: float, ry: float, angle: float = 0.0, n: int = 40
) -> tuple[Point, ...]:
    """Polygon of an ellipse rotated by ``angle`` radians."""
    ca, sa = math.cos(angle), math.sin(angle)
    out = []
    for k in range(n):
        t = 2 * math.pi * k / n
        x, y = rx * math.cos(t), ry * math.sin(t)
        out.append((cx + x * ca - y * sa, cy + x * sa + y * ca))
    return tuple(out)


def _rect(x0: float, y0: float, x1: float, y1: float, r: float = 0.0) -> tuple[Point, ...]:
    """Polygon of a rectangle with corners rounded by ``r``."""
    if r <= 0:
        return ((x0, y0), (x1, y0), (x1, y1), (x0, y1))
    r = min(r, (x1 - x0) / 2, (y1 - y0) / 2)
    out: list[Point] = []
    for cx, cy, start in (
        (x1 - r, y0 + r, -90),
        (x1 - r, y1 - r, 0),
        (x0 + r, y1 - r, 90),
        (x0 + r, y0 + r, 180),
    ):
        for k in range(7):
            t = math.radians(start + 15 * k)
            out.append((cx + r * math.cos(t), cy + r * math.sin(t)))
    return tuple(out)


def _star(
    cx: float, cy: float, r_out: float, r_in: float, points: int = 5, turn: float = 0.0
) -> tuple[Point, ...]:
    """Polygon of a star."""
    out = []
    for k in range(2 * points):
        r = r_out if k % 2 == 0 else r_in
        t = -math.pi / 2 + turn + math.pi * k / points
        out.append((cx + r * math.cos(t), cy + r * math.sin(t)))
    return tuple(out)


def _arc(cx: float, cy: float, r: float, a0: float, a1: float, n: int = 16) -> tuple[Point, ...]:
    """Points along a circular arc (degrees, clockwise in image coordinates)."""
    return tuple(
        (cx + r * math.cos(math.radians(a0 + (a1 - a0) * k / (n - 1))),
         cy + r * math.sin(math.radians(a0 + (a1 - a0) * k / (n - 1))))
        for k in range(n)
    )  # fmt: skip


def _shade(c: RGB, f: float) -> RGB:
    """Darker (``f`` < 1) or lighter (``f`` > 1, towards white) version of a colour."""
    if f <= 1:
        return (int(c[0] * f), int(c[1] * f), int(c[2] * f))
    w = min(1.0, f - 1)
    return tuple(int(v + (255 - v) * w) for v in c)  # type: ignore[return-value]


def _pick(options: Sequence[RGB], u: float) -> RGB:
    return options[min(int(u * len(options)), len(options) - 1)]


# ---------------------------------------------------------------- silhouettes
def _apparel(u: Sequence[float], main: RGB, accent: RGB) -> list[_Op]:
    if u[_U_VARIANT] < 0.75:  # T-shirt, sleeves from short to long
        w = 0.42 + 0.1 * u[_U_P1]
        t = u[_U_P2]
        top, bot = (0.7 + 0.2 * t, -0.5 + 0.9 * t), (0.45 + 0.15 * t, -0.3 + 0.95 * t)
        right = [
            (0.16, -0.85),
            (0.42, -0.82),
            (top[0] + 0.15, top[1]),
            (bot[0] + 0.2, bot[1] + 0.05),
            (w, -0.4),
            (w, 0.9),
        ]
        left = [(-x, y) for x, y in reversed(right)]
        ops = [_Op("poly", tuple([(0.0, -0.66)] + right + left), main, body=True)]
        ops.append(
            _Op(
                "line", ((-0.16, -0.85), (0.0, -0.66), (0.16, -0.85)), _shade(main, 0.6), width=0.07
            )
        )
        return ops
    # trousers
    pts = (
        (-0.46, -0.9),
        (0.46, -0.9),
        (0.52, 0.95),
        (0.14, 0.95),
        (0.0, -0.25),
        (-0.14, 0.95),
        (-0.52, 0.95),
    )
    return [
        _Op("poly", pts, main, body=True),
        _Op("poly", _rect(-0.46, -0.9, 0.46, -0.76), _shade(main, 0.6)),
        _Op("line", ((0.0, -0.76), (0.0, -0.3)), _shade(main, 0.7), width=0.03),
    ]  # fmt: skip


def _shoes(u: Sequence[float], main: RGB, accent: RGB) -> list[_Op]:
    sole = accent
    if u[_U_VARIANT] < 0.7:  # trainer
        pts = ((-0.9, 0.45), (-0.93, 0.0), (-0.82, -0.3), (-0.5, -0.28), (-0.25, -0.12), (0.1, -0.02),
               (0.5, 0.08), (0.82, 0.2), (0.95, 0.36), (0.93, 0.45))  # fmt: skip
        laces = [
            ((-0.2 + 0.17 * k, -0.12 + 0.04 * k), (-0.1 + 0.17 * k, 0.02 + 0.04 * k))
            for k in range(3)
        ]
    else:  # boot
        pts = ((-0.9, 0.45), (-0.9, -0.85), (-0.35, -0.85), (-0.32, -0.15), (0.1, -0.05), (0.55, 0.08),
               (0.85, 0.2), (0.95, 0.36), (0.93, 0.45))  # fmt: skip
        laces = [((-0.4, -0.7 + 0.2 * k), (-0.25, -0.65 + 0.2 * k)) for k in range(4)]
    ops = [
        _Op("poly", pts, main, body=True),
        _Op("poly", ((-0.93, 0.4), (0.95, 0.4), (0.9, 0.58), (-0.9, 0.58)), sole),
    ]
    ops += [_Op("line", lace, _shade(main, 1.6), width=0.05, outline=False) for lace in laces]
    return ops


def _electronics(u: Sequence[float], main: RGB, accent: RGB) -> list[_Op]:
    screen, glare = accent, _shade(accent, 1.35)
    v = u[_U_VARIANT]
    if v < 0.55:  # monitor on a stand
        h = 0.35 + 0.15 * u[_U_P1]
        return [
            _Op("poly", _rect(-0.1, h, 0.1, 0.72), _shade(main, 0.8)),
            _Op("poly", _rect(-0.45, 0.68, 0.45, 0.8, 0.04), _shade(main, 0.8)),
            _Op("poly", _rect(-0.95, -0.75, 0.95, h, 0.04), main, body=True),
            _Op("poly", _rect(-0.87, -0.67, 0.87, h - 0.08), screen),
            _Op(
                "poly",
                ((-0.5, -0.67), (-0.2, -0.67), (-0.55, h - 0.08), (-0.85, h - 0.08)),
                glare,
                outline=False,
            ),
        ]
    if v < 0.8:  # phone
        return [
            _Op("poly", _rect(-0.45, -0.92, 0.45, 0.92, 0.14), main, body=True),
            _Op("poly", _rect(-0.38, -0.78, 0.38, 0.74), screen),
            _Op(
                "poly",
                ((0.0, -0.78), (0.25, -0.78), (-0.1, 0.74), (-0.35, 0.74)),
                glare,
                outline=False,
            ),
            _Op("poly", _ellipse(0.0, 0.83, 0.05, 0.05, n=12), _shade(main, 1.4)),
        ]
    # laptop
    return [
        _Op("poly", _rect(-0.75, -0.7, 0.75, 0.3, 0.03), main, body=True),
        _Op("poly", _rect(-0.68, -0.63, 0.68, 0.24), screen),
        _Op("poly", ((-0.75, 0.3), (0.75, 0.3), (0.98, 0.55), (-0.98, 0.55)), _shade(main, 1.2)),
        _Op("poly", ((-0.55, 0.36), (0.55, 0.36), (0.65, 0.46), (-0.65, 0.46)), _shade(main, 0.7)),
    ]


def _home(u: Sequence[float], main: RGB, accent: RGB) -> list[_Op]:
    if u[_U_VARIANT] < 0.55:  # mug
        r = 0.28 + 0.08 * u[_U_P1]
        return [
            _Op("poly", _ellipse(0.42, 0.1, r, r + 0.04), main),
            _Op("hole", _ellipse(0.42, 0.1, r - 0.12, r - 0.08), main),
            _Op("poly", _rect(-0.6, -0.6, 0.4, 0.78, 0.12), main, body=True),
            _Op("poly", _ellipse(-0.1, -0.6, 0.5, 0.06), _shade(main, 0.55)),
        ]
    # cooking pot with a lid
    return [
        _Op("poly", _rect(-0.95, -0.12, -0.6, 0.02, 0.03), accent),
        _Op("poly", _rect(0.6, -0.12, 0.95, 0.02, 0.03), accent),
        _Op("poly", _rect(-0.72, -0.25, 0.72, 0.7, 0.15), main, body=True),
        _Op("poly", _ellipse(0.0, -0.28, 0.8, 0.13), _shade(main, 0.85)),
        _Op("poly", _rect(-0.12, -0.5, 0.12, -0.36, 0.04), accent),
    ]


def _beauty(u: Sequence[float], main: RGB, accent: RGB) -> list[_Op]:
    if u[_U_VARIANT] < 0.6:  # bottle with cap and label
        w = 0.28 + 0.12 * u[_U_P1]
        neck = 0.09 + 0.04 * u[_U_P2]
        return [
            _Op(
                "poly",
                ((-w, -0.2), (-neck, -0.45), (neck, -0.45), (w, -0.2), (w, 0.9), (-w, 0.9)),
                main,
                body=True,
            ),
            _Op("poly", _rect(-neck - 0.05, -0.92, neck + 0.05, -0.45, 0.03), accent),
            _Op("poly", _rect(-w + 0.07, 0.1, w - 0.07, 0.55), _shade(main, 1.55)),
        ]
    # lipstick
    return [
        _Op("poly", _rect(-0.26, 0.05, 0.26, 0.92, 0.04), accent),
        _Op("poly", _rect(-0.2, -0.12, 0.2, 0.08), _shade(accent, 0.8)),
        _Op(
            "poly", ((-0.16, -0.12), (0.16, -0.12), (0.16, -0.55), (-0.16, -0.82)), main, body=True
        ),
    ]


def _sports(u: Sequence[float], main: RGB, accent: RGB) -> list[_Op]:
    v = u[_U_VARIANT]
    if v < 0.7:  # ball with seams
        ops = [_Op("poly", _ellipse(0.0, 0.0, 0.85, 0.85), main, body=True)]
        seam = _shade(main, 0.45) if sum(main) > 300 else (30, 30, 30)
        if v < 0.3:  # basketball
            ops += [
                _Op("line", ((0.0, -0.85), (0.0, 0.85)), seam, width=0.05, outline=False),
                _Op("line", ((-0.85, 0.0), (0.85, 0.0)), seam, width=0.05, outline=False),
                _Op("line", _arc(-1.1, 0.0, 0.8, -55, 55), seam, width=0.05, outline=False),
                _Op("line", _arc(1.1, 0.0, 0.8, 125, 235), seam, width=0.05, outline=False),
            ]
        elif v < 0.5:  # football: a pentagon and its spokes
            pent = _star(0.0, 0.0, 0.3, 0.3, points=5)[::2]
            ops.append(_Op("poly", pent, (30, 30, 30)))
            for x, y in pent:
                ops.append(
                    _Op("line", ((x, y), (x * 2.7, y * 2.7)), seam, width=0.04, outline=False)
                )
        else:  # tennis ball
            ops += [
                _Op(
                    "line",
                    _arc(-1.0, 0.0, 0.75, -60, 60),
                    (245, 245, 245),
                    width=0.07,
                    outline=False,
                ),
                _Op(
                    "line",
                    _arc(1.0, 0.0, 0.75, 120, 240),
                    (245, 245, 245),
                    width=0.07,
                    outline=False,
                ),
            ]
        return ops
    # dumbbell
    return [
        _Op("poly", _rect(-0.6, -0.07, 0.6, 0.07), (150, 150, 155)),
        _Op("poly", _rect(-0.85, -0.5, -0.5, 0.5, 0.06), main, body=True),
        _Op("poly", _rect(0.5, -0.5, 0.85, 0.5, 0.06), main, body=True),
    ]


def _toys(u: Sequence[float], main: RGB, accent: RGB) -> list[_Op]:
    if u[_U_VARIANT] < 0.45:  # star
        inner = 0.38 + 0.1 * u[_U_P1]
        return [
            _Op("poly", _star(0.0, 0.05, 0.95, inner), main, body=True),
            _Op("poly", _ellipse(0.0, 0.05, 0.15, 0.15, n=16), accent),
        ]
    # stacked blocks with a sign on each
    ops = []
    cols = (main, accent, _pick(PALETTES["Toys & Games"], u[_U_P2]))
    boxes = ((-0.92, 0.05, -0.02, 0.95), (0.02, 0.05, 0.92, 0.95), (-0.45, -0.88, 0.45, 0.02))
    for k, (x0, y0, x1, y1) in enumerate(boxes):
        ops.append(_Op("poly", _rect(x0, y0, x1, y1, 0.04), cols[k], body=k == 0))
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        sign = cols[(k + 1) % 3]
        if (k + int(u[_U_P1] * 3)) % 2:
            ops.append(_Op("poly", _ellipse(cx, cy, 0.2, 0.2, n=16), sign))
        else:
            ops.append(_Op("poly", _star(cx, cy, 0.26, 0.12), sign))
    return ops


def _books(u: Sequence[float], main: RGB, accent: RGB) -> list[_Op]:
    pages = (240, 232, 210)
    if u[_U_VARIANT] < 0.75:  # upright book
        w = 0.5 + 0.12 * u[_U_P1]
        return [
            _Op("poly", _rect(-w + 0.05, -0.82, w + 0.07, 0.9), pages),
            _Op("poly", _rect(-w, -0.88, w, 0.85), main, body=True),
            _Op("poly", _rect(-w, -0.88, -w + 0.14, 0.85), _shade(main, 0.6)),
            _Op("poly", _rect(-w + 0.28, -0.6, w - 0.12, -0.3), accent, outline=False),
            _Op("line", ((-w + 0.28, 0.55), (w - 0.2, 0.55)), accent, width=0.05, outline=False),
        ]
    # a stack of books lying flat
    ops = []
    cols = (main, _pick(PALETTES["Books"], u[_U_P2]), _shade(main, 1.3))
    y = 0.9
    for k in range(3):
        h = 0.42 + 0.12 * ((u[_U_P1] * (k + 3)) % 1)
        x0 = -0.85 + 0.1 * ((u[_U_P2] * (k + 5)) % 1)
        ops.append(_Op("poly", _rect(x0, y - h, x0 + 1.6, y), pages))
        ops.append(_Op("poly", _rect(x0, y - h, x0 + 1.55, y - 0.05), cols[k], body=k == 0))
        ops.append(
            _Op("poly", _rect(x0 + 0.2, y - h + 0.1, x0 + 0.3, y - 0.15), accent, outline=False)
        )
        y -= h
    return ops


def _garden(u: Sequence[float], main: RGB, accent: RGB) -> list[_Op]:
    if u[_U_VARIANT] < 0.7:  # potted plant
        ops = []
        leaves = 4 + int(u[_U_P1] * 3)
        for k in range(leaves):
            a = math.radians(-90 + (k - (leaves - 1) / 2) * (150 / leaves))
            length = 0.42 + 0.2 * ((u[_U_P2] * (k + 2)) % 1)
            cx, cy = 0.0 + length * math.cos(a), 0.1 + length * math.sin(a)
            shade = _shade(main, 0.8 + 0.4 * (k % 2))
            ops.append(_Op("poly", _ellipse(cx, cy, length, 0.13, angle=a), shade, body=k == 0))
        ops.append(_Op("poly", ((-0.42, 0.3), (0.42, 0.3), (0.32, 0.95), (-0.32, 0.95)), accent))
        ops.append(_Op("poly", _rect(-0.5, 0.2, 0.5, 0.36), _shade(accent, 0.85)))
        return ops
    # one big leaf with a stem and a vein
    a = math.radians(-60 - 20 * u[_U_P1])
    return [
        _Op("line", ((0.0, 0.0), (0.45, 0.9)), _shade(main, 0.7), width=0.08),
        _Op("poly", _ellipse(-0.05, -0.1, 0.9, 0.4, angle=a), main, body=True),
        _Op("line", ((0.3 * math.cos(a) * -2.6, 0.3 * math.sin(a) * -2.6 - 0.1), (0.3 * math.cos(a) * 2.6, 0.3 * math.sin(a) * 2.6 - 0.1)),
            _shade(main, 1.4), width=0.04, outline=False),
    ]  # fmt: skip


def _jewellery(u: Sequence[float], main: RGB, accent: RGB) -> list[_Op]:
    gem = accent
    if u[_U_VARIANT] < 0.55:  # ring with a gem
        r = 0.55 + 0.1 * u[_U_P1]
        band = 0.09 + 0.06 * u[_U_P2]
        return [
            _Op("poly", _ellipse(0.0, 0.25, r, r), main, body=True),
            _Op("hole", _ellipse(0.0, 0.25, r - band, r - band), main),
            _Op("poly", ((0.0, -0.62), (0.26, -0.38), (0.0, -0.14), (-0.26, -0.38)), gem),
        ]
    # necklace: a chain of beads and a pendant
    ops = []
    r = 0.7 + 0.15 * u[_U_P1]
    beads = 22
    for k in range(beads):
        t = math.radians(-90 + 360 * k / beads)
        ops.append(
            _Op(
                "poly",
                _ellipse(r * math.cos(t), -0.1 + r * math.sin(t), 0.06, 0.06, n=10),
                main,
                outline=False,
            )
        )
    ops.append(_Op("poly", _ellipse(0.0, r + 0.05, 0.15, 0.2, n=24), gem, body=True))
    return ops


SHAPES = {
    "Apparel": _apparel,
    "Shoes": _shoes,
    "Electronics": _electronics,
    "Home & Kitchen": _home,
    "Beauty": _beauty,
    "Sports & Outdoors": _sports,
    "Toys & Games": _toys,
    "Books": _books,
    "Garden": _garden,
    "Jewellery": _jewellery,
}
"""The silhouette drawer of each category (unit frame, before the item's transform)."""


# ---------------------------------------------------------------- the pure function
def _category_name(category: int | str) -> str:
    from lakecart.generate import CAT_NAMES

    if isinstance(category, str):
        if category not in SHAPES:
            raise ValueError(f"unknown category {category!r}; one of {', '.join(CAT_NAMES)}")
        return category
    if not 0 <= int(category) < len(CAT_NAMES):
        raise ValueError(f"category index must be in 0..{len(CAT_NAMES) - 1}, got {category}")
    return CAT_NAMES[int(category)]


def render(category: int | str, u: Sequence[float], size: int = IMAGE_SIZE) -> Image.Image:
    """Draw one product photo as a Pillow RGB image (see :func:`product_image`)."""
    from PIL import Image, ImageChops, ImageDraw

    name = _category_name(category)
    if len(u) < DRAWS:
        raise ValueError(f"need {DRAWS} uniforms, got {len(u)}")
    if size < 16:
        raise ValueError(f"size must be >= 16, got {size}")
    u = [float(x) for x in u]
    big = size * SUPERSAMPLE
    # colours: a palette colour, brightness and per-channel noise
    bright = 0.85 + 0.3 * u[_U_BRIGHT]
    base = _pick(PALETTES[name], u[_U_MAIN])
    main = tuple(
        int(np.clip(c * bright + 44 * (u[k] - 0.5), 0, 245))
        for c, k in zip(base, (_U_R, _U_G, _U_B), strict=True)
    )
    accent = _pick(ACCENTS[name], u[_U_ACCENT])
    ops = SHAPES[name](u, main, accent)  # type: ignore[arg-type]
    # background: light, slightly tinted, a little darker towards the bottom
    grey = 238 + int(17 * u[_U_BACK])
    tint = int(6 * (u[_U_PERIOD] - 0.5))
    top = (grey, grey, min(255, grey + tint))
    fall = int(10 * u[_U_P2])
    column = np.linspace(0, fall, big)[:, None, None]
    bg = np.clip(np.array(top, dtype=float)[None, None, :] - column, 0, 255)
    img = Image.fromarray(np.broadcast_to(bg, (big, big, 3)).astype(np.uint8), "RGB")
    # the item's transform: scale, aspect, rotation, mirror and position
    s = (0.62 + 0.3 * u[_U_SCALE]) * big / 2
    ax = 0.85 + 0.3 * u[_U_ASPECT]
    ay = 2.0 - ax
    rot = math.radians(16 * (u[_U_ROT] - 0.5))
    flip = -1.0 if u[_U_FLIP] < 0.5 and name in ("Shoes", "Garden", "Beauty") else 1.0
    cx = big / 2 + (u[_U_DX] - 0.5) * 0.16 * big
    cy = big / 2 + (u[_U_DY] - 0.5) * 0.16 * big
    ca, sa = math.cos(rot), math.sin(rot)

    def tr(pts: Sequence[Point]) -> list[Point]:
        out = []
        for x, y in pts:
            x, y = x * ax * flip, y * ay
            out.append((cx + s * (x * ca - y * sa), cy + s * (x * sa + y * ca)))
        return out

    if u[_U_BACK] > 0.4:  # soft shadow under the item
        d = ImageDraw.Draw(img)
        g = grey - 14
        d.polygon(tr(_ellipse(0.0, 0.97, 0.8, 0.08)), fill=(g, g, g))
    layer = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    mask = Image.new("L", (big, big), 0)
    dl, dm = ImageDraw.Draw(layer), ImageDraw.Draw(mask)
    edge = max(1, SUPERSAMPLE)
    for op in ops:
        pts = tr(op.pts)
        if op.kind == "hole":
            dl.polygon(pts, fill=(0, 0, 0, 0), outline=(*_shade(op.colour, 0.6), 255), width=edge)
            dm.polygon(pts, fill=0)
        elif op.kind == "line":
            w = max(1, int(op.width * s))
            dl.line(pts, fill=(*op.colour, 255), width=w, joint="curve")
        else:
            outline = (*_shade(op.colour, 0.6), 255) if op.outline else None
            dl.polygon(pts, fill=(*op.colour, 255), outline=outline, width=edge)
            if op.body:
                dm.polygon(pts, fill=255)
    # a pattern on the body of some items: stripes or dots, in the accent colour
    p = u[_U_PATTERN]
    if p < 0.3 and name not in ("Electronics", "Jewellery"):
        pattern = Image.new("L", (big, big), 0)
        dp = ImageDraw.Draw(pattern)
        period = 0.18 + 0.14 * u[_U_PERIOD]
        k = -1.2
        while k < 1.2:
            if p < 0.2:  # stripes across the item
                dp.polygon(
                    tr(((-1.2, k), (1.2, k), (1.2, k + period / 2), (-1.2, k + period / 2))),
                    fill=255,
                )
            else:  # dots
                for j in range(-6, 7):
                    dp.polygon(tr(_ellipse(j * period, k, period / 4, period / 4, n=10)), fill=255)
            k += period
        cut = ImageChops.multiply(mask, pattern)
        colour = accent if accent != main else _shade(main, 1.5)
        layer.paste((*colour, 255), mask=cut)
    img.paste(layer, mask=layer.getchannel("A"))
    return img.reduce(SUPERSAMPLE)


def product_image(category: int | str, u: Sequence[float], size: int = IMAGE_SIZE) -> bytes:
    """One product photo as PNG bytes: the category's silhouette and palette, varied by ``u``.

    A pure function: the same arguments always give the same bytes.

    Args:
        category: Category index into :data:`lakecart.generate.CATEGORIES` or its name.
        u: At least :data:`DRAWS` uniforms in [0, 1) that vary the item (variant, colour,
            scale, aspect, rotation, position, pattern, background); e.g. one row of
            :func:`image_draws`.
        size: Side of the square photo in pixels (at least 16).

    Returns:
        The PNG file's bytes (RGB, ``size`` x ``size``, light background).

    Raises:
        ValueError: on an unknown category, too few uniforms or a too small size.
    """
    buf = io.BytesIO()
    render(category, u, size).save(buf, format="PNG")
    return buf.getvalue()


def corrupt_image(u_kind: float, u_cut: float, png: bytes) -> bytes:
    """The bytes of a corrupt photo file: a PNG cut short (two thirds of the items) or a
    text page saved under the ``.png`` name (an error page instead of the picture)."""
    if u_kind < 2 / 3:
        return png[: int(len(png) * (0.3 + 0.4 * u_cut))]
    return b"<html><head><title>404 Not Found</title></head><body>image not found</body></html>\n"


# ---------------------------------------------------------------- per item (pure functions of the index)
def image_status(world: World, i: np.ndarray) -> np.ndarray:
    """Photo status of items ``i``: :data:`PHOTO`, :data:`MISMATCH`, :data:`MISSING` or
    :data:`CORRUPT` (by hash; one item of every shop is always corrupt)."""
    i = np.asarray(i, dtype=np.int64)
    u = world.hu("image.status", i)
    edges = np.cumsum([MISSING_SHARE, CORRUPT_SHARE, MISMATCH_SHARE])
    status = np.select(
        [u < edges[0], u < edges[1], u < edges[2]], [MISSING, CORRUPT, MISMATCH], PHOTO
    )
    forced = int(world.hu("image.corrupt_pick", np.zeros(1, dtype=np.int64))[0] * world.n_items)
    return np.where(i == forced, CORRUPT, status).astype(np.int64)


def look_category(world: World, i: np.ndarray) -> np.ndarray:
    """The category whose look the photo of items ``i`` has: the item's own, or another one
    for :data:`MISMATCH` items."""
    i = np.asarray(i, dtype=np.int64)
    cat = world.item_cat(i)
    k = len(PALETTES)
    other = (cat + 1 + np.floor(world.hu("image.other", i) * (k - 1)).astype(np.int64)) % k
    return np.where(image_status(world, i) == MISMATCH, other, cat)


def image_draws(world: World, i: np.ndarray) -> np.ndarray:
    """The :data:`DRAWS` uniforms of items ``i`` (shape ``(len(i), DRAWS)``)."""
    i = np.asarray(i, dtype=np.int64)
    return np.stack([world.hu(f"image.{k}", i) for k in range(DRAWS)], axis=1)


def image_paths(world: World, i: np.ndarray) -> np.ndarray:
    """``products.image`` of items ``i``: ``images/<item_id>.png`` relative to the landing
    folder, or None for items without a photo."""
    ids = world.item_ids(i)
    has = image_status(world, i) != MISSING
    return np.array(
        [f"{IMAGE_DIR}/{x}.png" if h else None for x, h in zip(ids, has, strict=True)], dtype=object
    )


def item_images(world: World, i: np.ndarray, size: int = IMAGE_SIZE) -> Iterator[tuple[str, bytes]]:
    """``(item_id, file bytes)`` of every item of ``i`` that has a photo file (corrupt ones
    included)."""
    i = np.asarray(i, dtype=np.int64)
    ids = world.item_ids(i)
    status = image_status(world, i)
    look = look_category(world, i)
    draws = image_draws(world, i)
    ku, cu = world.hu("image.corrupt_kind", i), world.hu("image.corrupt_cut", i)
    for k in range(len(i)):
        if status[k] == MISSING:
            continue
        data = product_image(int(look[k]), draws[k], size)
        if status[k] == CORRUPT:
            data = corrupt_image(float(ku[k]), float(cu[k]), data)
        yield str(ids[k]), data


# ---------------------------------------------------------------- files
def image_folder(out_dir: str) -> str:
    """The local file-system folder the photos of landing folder ``out_dir`` go to.

    A plain path or a ``file:`` URI is used as is; ``dbfs:/x`` becomes the ``/dbfs/x``
    FUSE path (Unity Catalog ``/Volumes/...`` paths are plain paths).

    Raises:
        ValueError: for any other scheme (``s3a://``, ``abfss://``...).
    """
    root = out_dir.rstrip("/")
    parsed = urlparse(root)
    scheme = parsed.scheme.lower()
    if scheme in ("", "file") or (len(scheme) == 1 and os.name == "nt"):
        path = unquote(parsed.path) if scheme == "file" else root
        path = os.path.abspath(path)
    elif scheme == "dbfs":
        path = "/dbfs/" + unquote(parsed.path).lstrip("/")
    else:
        raise ValueError(
            f"product photos need a local or dbfs:/ landing folder (written with file I/O), got {out_dir!r}"
        )
    return os.path.join(path, IMAGE_DIR)


def _write_atomic(folder: str, name: str, data: bytes) -> None:
    """Write ``folder/name`` under a hidden temporary name first, then rename it."""
    final = os.path.join(folder, name)
    tmp = os.path.join(folder, f".{name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, final)


def write_block_images(world: World, block: int, folder: str, size: int = IMAGE_SIZE) -> int:
    """Write the photo files of one item block to ``folder``; return how many."""
    from lakecart.generate import item_block

    os.makedirs(folder, exist_ok=True)
    n = 0
    for item_id, data in item_images(world, item_block(world, block), size):
        _write_atomic(folder, f"{item_id}.png", data)
        n += 1
    return n


def write_images(spark: SparkSession, world: World, out_dir: str, size: int = IMAGE_SIZE) -> int:
    """Write every item's photo to ``<out_dir>/images/`` from the executors; return the count.

    The folder is emptied first (like an entity folder written in overwrite mode); each
    item block is drawn and written by one ``mapInPandas`` task with plain file I/O, so
    ``out_dir`` must be local to every executor (a local path on a local master or a shared
    mount, ``file:``, ``dbfs:/`` or ``/Volumes``).

    Raises:
        ValueError: when ``out_dir`` is on another file system (see :func:`image_folder`).
    """
    from pyspark.sql import functions as F

    from lakecart.session import local_python_workers

    folder = image_folder(out_dir)
    local_python_workers(spark)
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder, exist_ok=True)

    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            for block in batch["id"].tolist():
                n = write_block_images(world, int(block), folder, size)
                yield pd.DataFrame({"block": [int(block)], "written": [n]})

    blocks = world.item_blocks
    ids = spark.range(0, blocks, 1, min(blocks, world.partitions))
    written = ids.mapInPandas(run, "block BIGINT, written BIGINT").agg(F.sum("written")).first()
    return int(written[0] or 0) if written else 0
