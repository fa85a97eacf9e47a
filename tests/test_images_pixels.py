"""Pixel features of one photo (lakecart.images.pixels) on hand-made images whose expected
features are worked out by hand: a red square, striped T-shirt silhouettes, a flat patch,
broken and transparent files. No Spark."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from lakecart.images import pixels as P

WHITE = (255, 255, 255)


def _png(rgb: np.ndarray, mode: str | None = None) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb.astype(np.uint8), mode).save(buf, format="PNG")
    return buf.getvalue()


def _red_square() -> np.ndarray:
    """96 x 96 white canvas, a 40 x 40 pure red square at rows 20..59, columns 30..69."""
    rgb = np.full((96, 96, 3), 255, dtype=np.uint8)
    rgb[20:60, 30:70] = (255, 0, 0)
    return rgb


def _square_mask() -> np.ndarray:
    m = np.zeros((96, 96), dtype=bool)
    m[20:60, 30:70] = True
    return m


# ----------------------------------------------------------------------------- colour
def test_foreground_of_a_red_square_is_exactly_the_square():
    # border = white; a red pixel differs by (0 + 255 + 255) / 3 / 255 = 0.667 > 0.12
    rgb = _red_square()
    assert P.border_colour(rgb).tolist() == [255.0, 255.0, 255.0]
    mask = P.foreground(rgb)
    assert mask.dtype == bool
    assert (mask == _square_mask()).all()


def test_foreground_tolerance_and_all_background():
    rgb = np.full((20, 20, 3), 200, dtype=np.uint8)
    rgb[5:10, 5:10] = 200 + 30  # mean channel difference 30 / 255 = 0.118 < 0.12: background
    rgb[12:15, 12:15] = 200 + 31  # 31 / 255 = 0.1216 > 0.12: foreground
    mask = P.foreground(rgb)
    want = np.zeros((20, 20), dtype=bool)
    want[12:15, 12:15] = True
    assert (mask == want).all()
    # nothing differs from the border: the whole frame is the product (a texture)
    assert P.foreground(np.full((8, 8, 3), 90, dtype=np.uint8)).all()


def test_colour_histogram_of_a_red_square():
    # pure red: hue 0, saturation 1, value 1 -> hue bin 0, saturation bin min(int(1 * 3), 2)
    # = 2, value bin 2 -> index (0 * SAT_BINS + 2) * VAL_BINS + 2 = 8
    assert (P.HUE_BINS, P.SAT_BINS, P.VAL_BINS) == (12, 3, 3)
    hist = P.colour_histogram(_red_square(), _square_mask())
    assert hist.shape == (12 * 3 * 3 + 2,)
    want = np.zeros(110)
    want[8] = 1.0
    want[108] = 1600 / 9216  # 40 x 40 of 96 x 96
    want[109] = 1.0  # bounding box 40 wide / 40 high
    np.testing.assert_allclose(hist, want, atol=1e-12)


def test_colour_histogram_bins_and_aspect_of_a_two_colour_bar():
    # a 20 wide x 40 high bar: top half pure blue, bottom half dark grey (60, 60, 60)
    rgb = np.full((64, 64, 3), 255, dtype=np.uint8)
    rgb[10:30, 20:40] = (0, 0, 255)  # hue 240/360 = 0.667 -> bin 8; sat 1 -> 2; value 1 -> 2
    rgb[30:50, 20:40] = (60, 60, 60)  # hue 0, sat 0 -> bin 0; value 60/255 = 0.235 -> bin 0
    mask = P.foreground(rgb)
    hist = P.colour_histogram(rgb, mask)
    want = np.zeros(110)
    want[(8 * 3 + 2) * 3 + 2] = 0.5  # index 80
    want[0] = 0.5
    want[108] = 800 / 4096
    want[109] = 20 / 40
    np.testing.assert_allclose(hist, want, atol=1e-12)


def test_name_colours():
    rgb = _red_square()
    assert P.name_colours(rgb, _square_mask()) == ["red"]
    # 60% red, 35% black, 5% green: the green share is under min_share (0.1)
    rgb = np.full((40, 40, 3), 255, dtype=np.uint8)
    rgb[0:12, 0:40] = (255, 0, 0)  # 480 px
    rgb[12:19, 0:40] = (0, 0, 0)  # 280 px
    rgb[19:20, 0:40] = (0, 160, 0)  # 40 px
    mask = np.zeros((40, 40), dtype=bool)
    mask[0:20] = True  # 800 px: 0.6 / 0.35 / 0.05
    assert P.name_colours(rgb, mask) == ["red", "black"]
    assert P.name_colours(rgb, mask, k=1) == ["red"]
    assert P.name_colours(rgb, mask, min_share=0.01) == ["red", "black", "green"]


# ----------------------------------------------------------------------------- shape
def _t_shirt(stripes: str, size: int = 64) -> np.ndarray:
    """Grey (0-1) T silhouette on white: a bar (rows 10-21, columns 8-55) over a trunk
    (rows 22-57, columns 22-41), striped every 4 pixels in 0.2 / 0.8."""
    g = np.ones((size, size))
    shape = np.zeros((size, size), dtype=bool)
    shape[10:22, 8:56] = True
    shape[22:58, 22:42] = True
    r, c = np.mgrid[0:size, 0:size]
    band = (r // 4) % 2 if stripes == "horizontal" else (c // 4) % 2
    g[shape] = np.where(band[shape] == 1, 0.8, 0.2)
    return g


def _orientation_totals(v: np.ndarray, orientations: int) -> np.ndarray:
    # skimage's feature vector ends with the orientation axis (blocks x cells x orientations)
    return v.reshape(-1, orientations).sum(axis=0)


def test_hog_of_horizontal_stripes_peaks_at_90_degrees():
    # Horizontal stripes: intensity changes down the rows only, so the gradient is vertical,
    # arctan2(g_row, 0) = +-90 deg -> 90 deg (mod 180); 9 bins of 20 deg: bin 90 // 20 = 4.
    spec = P.FeatureSpec(size=64, hog_cells=(8, 16), orientations=9)
    v = P.hog_vector(_t_shirt("horizontal"), spec)
    assert len(v) == spec.dims()["shape"]
    totals = _orientation_totals(v, 9)
    assert int(np.argmax(totals)) == 4
    # vertical stripes: horizontal gradient, arctan2(0, +-g) = 0 or 180 = 0 (mod 180): bin 0
    totals = _orientation_totals(P.hog_vector(_t_shirt("vertical"), spec), 9)
    assert int(np.argmax(totals)) == 0


def test_hog_orientation_bins_scale_with_the_spec():
    # 6 orientations of 30 deg: 90 deg falls in bin 3
    spec = P.FeatureSpec(size=64, hog_cells=(16,), orientations=6)
    totals = _orientation_totals(P.hog_vector(_t_shirt("horizontal"), spec), 6)
    assert int(np.argmax(totals)) == 3


@pytest.mark.parametrize(
    ("size", "cells", "shape"),
    [
        # 64/8 = 8 cells -> 7 x 7 blocks of 2 x 2 cells x 9 = 1764; 64/16 = 4 -> 3 x 3 x 36 = 324
        (64, (8, 16), 1764 + 324),
        # 48/8 = 6 -> 5 x 5 x 36 = 900; 48/16 = 3 -> 2 x 2 x 36 = 144
        (48, (8, 16), 900 + 144),
        # one cell: a single 1 x 1 block of 9 orientations
        (16, (16,), 9),
    ],
)
def test_feature_spec_dims_match_the_vector(size, cells, shape):
    spec = P.FeatureSpec(size=size, hog_cells=cells)
    assert spec.dims() == {"shape": shape, "colour": 110, "texture": 10}
    assert spec.length() == shape + 120
    photo = P.describe(_png(_red_square()), spec)
    assert photo.vector.dtype == np.float32
    assert photo.vector.shape == (shape + 120,)
    # each block is L2-normalised
    hog, colour, texture = np.split(photo.vector.astype(np.float64), [shape, shape + 110])
    for block in (hog, colour, texture):
        assert np.linalg.norm(block) == pytest.approx(1.0, abs=1e-5)


def test_detail_blocks_length_by_hand():
    # size 64, cells 8 and 16: 2208 as above, plus the detail blocks:
    #   HOG at 32 px per cell (2 x 2 cells: one block of 4 x 9)          36
    #   HOG of the crop at 8 and 16 px per cell                          1764 + 324
    #   uniform LBP (8 points) at radii 1, 2, 3                          3 x 10
    #   non-rotation-invariant uniform LBP: P (P - 1) + 3 = 59 codes      59
    #   gradient-magnitude histogram                                     12
    #   colour mean, spread (3 + 3) and neighbour differences (2)        8
    #   uniform LBP (16 points, radius 2): 16 + 2 codes                  18
    #   16 x 16 silhouette, 24 row + 24 column profile                   256 + 48
    #   2 x 2 cells of an 8 x 2 x 2 hue / saturation / value histogram   128
    #   the crop's log aspect and cover                                  2
    detail = 36 + 1764 + 324 + 30 + 59 + 12 + 8 + 18 + 256 + 48 + 128 + 2
    assert detail == 2685
    spec = P.FeatureSpec(detail=True)
    assert spec.length() == 2208 + detail
    v = P.describe(_png(_red_square()), spec).vector
    assert v.shape == (2208 + detail,) and v.dtype == np.float32 and np.isfinite(v).all()
    # the first 2208 entries are the plain vector
    plain = P.describe(_png(_red_square()), P.FeatureSpec()).vector
    np.testing.assert_array_equal(v[:2208], plain)


def test_detail_blocks_with_a_cell_of_more_than_half_the_side():
    spec = P.FeatureSpec(size=96, hog_cells=(12, 64), detail=True)
    v = P.describe(_png(_red_square()), spec).vector
    assert len(v) == spec.length()


# ----------------------------------------------------------------------------- texture
def test_texture_of_a_flat_patch_is_the_flat_uniform_code():
    # Uniform LBP with P=8: a pixel whose 8 neighbours are all >= its value has the bit
    # pattern 11111111 (0 transitions: uniform) and code = number of ones = P = 8; codes run
    # 0..P for uniform patterns and P+1 = 9 for the rest, so the histogram has 10 bins.
    # A dark flat square on white: inside, every neighbour equals the centre; on its rim the
    # outside neighbours are white (brighter): every pixel of the square has code 8.
    grey = np.full((32, 32), 255, dtype=np.uint8)
    grey[8:24, 8:24] = 90
    mask = np.zeros((32, 32), dtype=bool)
    mask[8:24, 8:24] = True
    want = np.zeros(10)
    want[8] = 1.0
    np.testing.assert_allclose(P.texture_histogram(grey, mask), want)


def test_texture_of_a_bright_square_rim_is_not_flat():
    # a bright square on black: its rim pixels have darker neighbours outside (bits 0).
    # An edge pixel has a run of 5 ones (its side and the two diagonals along the edge
    # interpolate inside pixels only) -> code 5; a corner pixel has 2 sides and 1 diagonal
    # inside -> code 3 (the other diagonals mix in black); the 14 x 14 interior stays 8.
    grey = np.zeros((32, 32), dtype=np.uint8)
    grey[8:24, 8:24] = 200
    mask = np.zeros((32, 32), dtype=bool)
    mask[8:24, 8:24] = True
    hist = P.texture_histogram(grey, mask)
    assert hist[8] == pytest.approx(14 * 14 / 256)
    assert hist[5] == pytest.approx(4 * 14 / 256)  # the four edges without their corners
    assert hist[3] == pytest.approx(4 / 256)  # corners: a run of 3 ones (2 sides + diagonal)
    assert hist.sum() == pytest.approx(1.0)


# ----------------------------------------------------------------------------- decoding
def test_decode_rejects_html_and_truncated_png():
    with pytest.raises(P.ImageError):
        P.decode(b"<html><body>404</body></html>")
    png = _png(_red_square())
    with pytest.raises(P.ImageError):
        P.decode(png[: len(png) // 2])
    with pytest.raises(P.ImageError):
        P.decode(b"")
    with pytest.raises(P.ImageError, match="too small"):
        P.decode(_png(np.zeros((1, 1, 3))))


def _png_header(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit grey
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


def test_decode_rejects_a_decompression_bomb():
    # a 20000 x 20000 header (400 M pixels > 2 x Image.MAX_IMAGE_PIXELS): Pillow refuses it
    with pytest.raises(P.ImageError):
        P.decode(_png_header(20000, 20000))


def test_decode_flattens_transparency_on_white():
    rgba = np.zeros((10, 10, 4), dtype=np.uint8)  # transparent black on the left
    rgba[:, 5:] = (0, 0, 255, 255)  # opaque blue on the right
    rgba[0, 9] = (255, 0, 0, 128)  # half-transparent red over white: (255, ~127, ~127)
    rgb = P.decode(_png(rgba, "RGBA"))
    assert rgb.shape == (10, 10, 3) and rgb.dtype == np.uint8
    assert (rgb[:, :5] == WHITE).all()
    assert (rgb[1:, 5:] == (0, 0, 255)).all()
    assert rgb[0, 9, 0] == 255
    assert abs(int(rgb[0, 9, 1]) - 127) <= 1 and abs(int(rgb[0, 9, 2]) - 127) <= 1
    # a palette image with a transparent index is flattened the same way
    pal = Image.fromarray(rgba[..., :3]).convert("P")
    transparent = pal.getpixel((0, 0))
    pal.info["transparency"] = transparent
    buf = io.BytesIO()
    pal.save(buf, format="PNG", transparency=transparent)
    assert (P.decode(buf.getvalue())[:, :5] == WHITE).all()


def test_decode_grey_and_non_square():
    grey = np.full((12, 30), 77, dtype=np.uint8)
    rgb = P.decode(_png(grey, "L"))
    assert rgb.shape == (12, 30, 3) and (rgb == 77).all()


def test_square_pads_with_the_border_colour():
    rgb = np.full((4, 8, 3), 10, dtype=np.uint8)  # wide: padded above and below with 10s
    rgb[1:3, 3:5] = 200
    sq = P.square(rgb, 8)
    want = np.full((8, 8, 3), 10, dtype=np.uint8)
    want[3:5, 3:5] = 200  # 2 rows of padding on top
    assert (sq == want).all()


# ----------------------------------------------------------------------------- batches
def test_describe_frame_with_one_corrupt_photo():
    spec = P.FeatureSpec()  # size 64, cells 8 and 16: 1764 + 324 + 110 + 10 = 2208
    assert spec.length() == 2208
    ok = _png(_red_square())
    other = _t_shirt("horizontal")
    other_png = _png((np.stack([other] * 3, axis=2) * 255).round())
    bad = b"<html><head><title>404 Not Found</title></head></html>"
    frame = pd.DataFrame(
        {
            "item_id": ["a", "b", "c"],
            "image": ["file:/x/a.png", "file:/x/b.png", "file:/x/c.png"],
            "checksum": [P.checksum(d) for d in (ok, bad, other_png)],
            "content": [bytearray(ok), bytearray(bad), bytearray(other_png)],
        }
    )
    out = P.describe_frame(frame, spec)
    assert list(out.columns) == [
        "item_id", "image", "checksum", "vector", "colours", "width", "height", "error",
    ]  # fmt: skip
    assert out["item_id"].tolist() == ["a", "b", "c"]
    assert out["checksum"].tolist() == frame["checksum"].tolist()
    bad_row = out.iloc[1]
    assert bad_row["vector"] is None and bad_row["colours"] is None
    assert pd.isna(bad_row["width"]) and pd.isna(bad_row["height"])
    assert "not a readable image" in bad_row["error"]
    for i in (0, 2):
        row = out.iloc[i]
        assert row["error"] is None
        assert len(row["vector"]) == 2208
        assert (row["width"], row["height"]) == ((96, 96) if i == 0 else (64, 64))
    assert out.iloc[0]["colours"] == ["red"]
    assert str(out["width"].dtype) == "Int32"
    assert P.checksum(b"abc") == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )
