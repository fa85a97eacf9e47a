"""The synthetic shop's product photos: a pure, deterministic drawing whose shape and colour
follow the category, a few catalogue errors, missing and corrupt files, and the files a tiny
landing folder gets from the executors."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from lakecart import generate as G
from lakecart import generate_images as GI
from lakecart import names as N
from tests.helpers import read

TINY = dict(scale=1, start_date="2023-03-06", days=30, customers=200, items=80)


def _draws(seed: int, n: int, offset: int = 0) -> np.ndarray:
    idx = np.arange(offset, offset + n, dtype=np.int64)
    return np.stack([G.hash_uniform(seed, f"test.{k}", idx) for k in range(GI.DRAWS)], axis=1)


def _decode(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as im:
        im.load()
        return np.asarray(im.convert("RGB"))


# ---------------------------------------------------------------- the pure function
@pytest.mark.parametrize("category", range(len(G.CATEGORIES)))
def test_each_category_decodes_and_varies(category):
    u = _draws(1, 2)
    one = GI.product_image(category, u[0], size=48)
    assert one == GI.product_image(G.CAT_NAMES[category], u[0], size=48)  # byte-identical
    with Image.open(io.BytesIO(one)) as im:
        assert im.format == "PNG" and im.size == (48, 48)
    a, b = _decode(one), _decode(GI.product_image(category, u[1], size=48))
    assert a.shape == (48, 48, 3) and not np.array_equal(a, b)
    # a light background at the corners, something darker in the middle
    corners = a[[0, 0, -1, -1], [0, -1, 0, -1]].astype(int)
    assert (corners >= 215).all()
    assert (np.abs(a.astype(int) - corners.mean(0)).mean(axis=2) > 30).mean() > 0.03
    assert GI.product_image(category, u[0]) != one  # default size is another picture
    assert _decode(GI.product_image(category, u[0])).shape == (GI.IMAGE_SIZE, GI.IMAGE_SIZE, 3)


def test_bad_arguments():
    u = _draws(1, 1)[0]
    with pytest.raises(ValueError, match="category"):
        GI.product_image("Cars", u)
    with pytest.raises(ValueError, match="category"):
        GI.product_image(len(G.CATEGORIES), u)
    with pytest.raises(ValueError, match="uniforms"):
        GI.product_image(0, u[:3])


def _features(data: bytes) -> np.ndarray:
    """Independent of the images stage: the foreground (pixels unlike the border colour)
    cropped to its bounding box as an 8x8 mask, and the foreground's mean colour."""
    rgb = _decode(data).astype(float) / 255
    border = np.median(np.concatenate([rgb[0], rgb[-1], rgb[:, 0], rgb[:, -1]]), axis=0)
    fg = np.abs(rgb - border).mean(axis=2) > 0.12
    rows, cols = np.nonzero(fg)
    box = (cols.min(), rows.min(), cols.max() + 1, rows.max() + 1)
    mask = Image.fromarray((fg * 255).astype(np.uint8)).crop(box).resize((8, 8), Image.BILINEAR)
    return np.concatenate([np.asarray(mask, dtype=float).ravel() / 255, 2 * rgb[fg].mean(axis=0)])


def test_photos_carry_category_structure():
    per = 40
    x, y = [], []
    for c in range(len(G.CATEGORIES)):
        for u in _draws(11, per, offset=1000 * c):
            x.append(_features(GI.product_image(c, u)))
            y.append(c)
    x, y = np.array(x), np.array(y)
    train = np.arange(len(y)) % 2 == 0
    centroids = np.stack([x[train & (y == c)].mean(axis=0) for c in range(len(G.CATEGORIES))])
    dist = ((x[~train][:, None, :] - centroids[None]) ** 2).sum(axis=2)
    accuracy = (dist.argmin(axis=1) == y[~train]).mean()
    print(f"nearest-centroid accuracy on held-out photos: {accuracy:.3f}")
    assert accuracy > 0.6  # chance: 0.1


# ---------------------------------------------------------------- catalogue errors
def test_mismatched_missing_and_corrupt_shares():
    world = G.World(seed=5, customers=10, items=5000)
    i = np.arange(world.n_items)
    status = GI.image_status(world, i)
    assert abs((status == GI.MISSING).mean() - GI.MISSING_SHARE) < 0.01
    assert abs((status == GI.MISMATCH).mean() - GI.MISMATCH_SHARE) < 0.008
    assert 1 <= (status == GI.CORRUPT).sum() <= 25
    look, cat = GI.look_category(world, i), world.item_cat(i)
    assert ((look != cat) == (status == GI.MISMATCH)).all()
    paths = GI.image_paths(world, i)
    assert (pd.isnull(paths) == (status == GI.MISSING)).all()
    ids = world.item_ids(i)
    has = status != GI.MISSING
    assert (paths[has] == np.array([f"images/{x}.png" for x in ids[has]])).all()
    # corrupt files: Pillow cannot read them
    bad = i[status == GI.CORRUPT]
    files = dict(GI.item_images(world, bad))
    assert len(files) == len(bad)
    for data in files.values():
        with pytest.raises((OSError, SyntaxError, ValueError)):
            _decode(data)
    # every scale-1 shop has at least one corrupt file
    for seed in range(4):
        w = G.World(seed=seed, customers=10)
        assert (GI.image_status(w, np.arange(w.n_items)) == GI.CORRUPT).sum() >= 1


def test_same_seed_same_item_photos():
    a = dict(GI.item_images(G.World(seed=3, **TINY), np.arange(12)))
    b = dict(GI.item_images(G.World(seed=3, **TINY), np.arange(12)))
    c = dict(GI.item_images(G.World(seed=4, **TINY), np.arange(12)))
    assert a == b and a != c


def test_image_folder(tmp_path):
    assert GI.image_folder(str(tmp_path) + "/") == str(tmp_path / "images")
    assert GI.image_folder(tmp_path.as_uri()) == str(tmp_path / "images")
    assert GI.image_folder("dbfs:/landing/x") == "/dbfs/landing/x/images"
    assert GI.image_folder("/Volumes/main/lc/landing") == "/Volumes/main/lc/landing/images"
    with pytest.raises(ValueError, match="local or dbfs"):
        GI.image_folder("s3a://bucket/landing")


# ---------------------------------------------------------------- written by the executors
def test_tiny_landing_has_one_file_per_photo(spark, tmp_path):
    """What generate_landing does for products and photos (test_generate checks the whole
    landing folder); the landing folder given as a file: URI."""
    out = tmp_path / "landing"
    (out / "images").mkdir(parents=True)
    (out / "images" / "stale.png").write_bytes(b"old")  # from an earlier run: removed
    world = G.World(seed=9, **TINY)
    products_df = G.landing_frames(spark, world)[N.PRODUCTS]
    G.write_entity(products_df, f"{out.as_uri()}/{N.PRODUCTS}", "csv", 1, N.PRODUCTS)
    written = GI.write_images(spark, world, out.as_uri())
    products = read(out, N.PRODUCTS)
    assert list(products.columns)[-2:] == [N.PRICE, N.IMAGE]
    named = products.loc[products[N.IMAGE] != "", N.IMAGE]
    assert 0 < len(named) <= len(products) == TINY["items"]
    assert named.str.fullmatch(r"images/I\d{5}\.png").all()  # relative to the landing folder
    assert set(named) == {f"images/{p.name}" for p in (out / "images").iterdir()}
    assert written == len(named)
    status = GI.image_status(world, world.item_index(products[N.ITEM_ID].tolist()))
    readable = 0
    for rel, st in zip(products[N.IMAGE], status, strict=True):
        if not rel:
            assert st == GI.MISSING
            continue
        data = (out / rel).read_bytes()
        if st == GI.CORRUPT:
            continue
        assert _decode(data).shape == (GI.IMAGE_SIZE, GI.IMAGE_SIZE, 3)
        readable += 1
    assert readable > 0.9 * len(products)
    assert not list((out / "images").glob(".*"))  # no temporary files left
