"""The ``images`` job end to end on a tiny canonical landing: ~90 products over three
two-level categories whose photos are drawn by lakecart.generate_images, a corrupt and two
missing photos, products without a category or a title; then reruns on unchanged and
changed photos."""

from __future__ import annotations

import argparse
import csv
import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pyspark.sql import functions as F

from lakecart import names as N
from lakecart.generate_images import DRAWS, product_image
from lakecart.images.pixels import FeatureSpec
from lakecart.images.specs import IMAGE_FEATURES, PRODUCT_IMAGE_TAGS, VISUALLY_SIMILAR
from lakecart.runlog import tracked_run
from lakecart.schemas import MODEL_METRICS, QUARANTINE, SILVER
from lakecart.tables import Lakehouse
from tests.helpers import run_cli

LOOKS = {  # the generator's look -> the category path the catalogue gives it
    "Home & Kitchen": "Home > Mugs",
    "Garden": "Home > Plants",
    "Sports & Outdoors": "Sports > Balls",
}
NOUNS = {"Home & Kitchen": "mug", "Garden": "plant", "Sports & Outdoors": "ball"}
PER_LOOK = 24  # categorised products per look
UNCATEGORISED = 4  # per look: no category and no title (the photo alone)
TOP_K = 5
CORRUPT, MISSING, NO_FOLDER = "P900", "P901", "P902"
CHANGED, GONE, BROKEN = "P002", "P003", "P030"  # cached, then redrawn / deleted / truncated
MOVED = "P010"  # cached, then named at another path (a copy of the same bytes)


def _landing(land: Path) -> dict[str, str]:
    """Write products.csv and images/ under ``land``; returns item id -> true look."""
    rng = np.random.default_rng(21)
    (land / "images").mkdir(parents=True)
    rows, looks = [], {}
    n = 0
    for look, path in LOOKS.items():
        for k in range(PER_LOOK + UNCATEGORISED):
            n += 1
            item = f"P{n:03d}"
            looks[item] = look
            (land / "images" / f"{item}.png").write_bytes(product_image(look, rng.random(DRAWS)))
            categorised = k < PER_LOOK
            title = f"{NOUNS[look]} no {k}" if categorised and k % 6 != 5 else ""
            rows.append([item, title, path if categorised else "", "9.5", f"images/{item}.png"])
    (land / "images" / f"{CORRUPT}.png").write_bytes(b"<html><body>404 Not Found</body></html>")
    rows.append([CORRUPT, "mug no x", "Home > Mugs", "3", f"images/{CORRUPT}.png"])
    rows.append([MISSING, "ball no x", "Sports > Balls", "3", f"images/{MISSING}.png"])
    rows.append([NO_FOLDER, "plant no x", "Home > Plants", "3", f"old/{NO_FOLDER}.png"])
    rows.append(["P903", "a product without a photo", "Home > Mugs", "3", ""])
    with open(land / "products.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["item_id", "title", "category", "price", "image"])
        w.writerows(rows)
    return looks


def _run(spark, cfg, lh):
    from lakecart.jobs import images

    with tracked_run(lh, "images", {"test": True}) as ctx:
        result = images.run(spark, cfg, lh, ctx, argparse.Namespace())
    return result, ctx.run_id


def _features(lh) -> pd.DataFrame:
    return (
        lh.read(IMAGE_FEATURES)
        .select(N.ITEM_ID, N.CHECKSUM, N.COMPUTED_AT)
        .toPandas()
        .set_index(N.ITEM_ID)
    )


def _tags(lh) -> pd.DataFrame:
    return lh.read(PRODUCT_IMAGE_TAGS).toPandas().set_index(N.ITEM_ID)


@pytest.fixture(scope="module")
def images_lake(spark, base_config, tmp_path_factory):
    base = tmp_path_factory.mktemp("images")
    land, root = base / "landing", base / "lake"
    looks = _landing(land)
    code, err = run_cli(
        "ingest", ["--source", "canonical", "--path", str(land), "--lakehouse", str(root)]
    )
    assert code == 0, err
    cfg = dataclasses.replace(
        base_config,
        lakehouse=dataclasses.replace(base_config.lakehouse, root=str(root)),
        images=dataclasses.replace(
            base_config.images,
            levels=2,
            min_class_items=3,
            min_train_items=6,
            max_iter=30,
            top_k=TOP_K,
            size=48,
            hog_cells=[8, 16],
            refit=False,  # saves a second fit per level (the winner again on all rows)
            reg_params=[0.01],  # one candidate: the grid is not what this file tests
        ),
    )
    lh = Lakehouse(spark, cfg.lakehouse)
    result, run_id = _run(spark, cfg, lh)
    return {
        "cfg": cfg, "lh": lh, "land": land, "looks": looks, "result": result,
        "run_id": run_id, "features": _features(lh), "tags": _tags(lh),
        "neighbours": lh.read(VISUALLY_SIMILAR).toPandas(),
    }  # fmt: skip


def _readable(looks: dict[str, str]) -> set[str]:
    return set(looks)  # every drawn photo (the corrupt and missing ones are not in looks)


def test_missing_and_corrupt_photos_are_quarantined(images_lake):
    lh, result = images_lake["lh"], images_lake["result"]
    assert "skipped" not in result, result
    assert result["photos"] == {
        "computed": len(images_lake["looks"]),
        "unreadable": 1,
        "not_found": 2,
        "rejected": 3,
    }
    q = (
        lh.read(QUARANTINE)
        .filter(F.col("_source") == "images")
        .select(N.ENTITY, N.REASON, N.DETAIL, F.col(N.RAW)[N.ITEM_ID].alias("item"), N.RAW)
        .toPandas()
        .set_index("item")
    )
    assert sorted(q.index) == [CORRUPT, MISSING, NO_FOLDER]
    assert (q[N.ENTITY] == N.PRODUCTS).all()
    assert q.loc[CORRUPT, N.REASON] == N.R_UNREADABLE_IMAGE == "unreadable_image"
    assert "not a readable image" in q.loc[CORRUPT, N.DETAIL]
    assert q.loc[MISSING, N.REASON] == q.loc[NO_FOLDER, N.REASON] == "image_not_found"
    land = images_lake["land"].resolve()
    assert dict(q.loc[MISSING, N.RAW])[N.IMAGE] == f"file:{land}/images/{MISSING}.png"
    assert dict(q.loc[NO_FOLDER, N.RAW])[N.IMAGE] == f"file:{land}/old/{NO_FOLDER}.png"
    # the product without any image is not a rejected photo; ingest kept every product
    assert lh.read(SILVER[N.PRODUCTS]).count() == len(images_lake["looks"]) + 4


def test_features_cache_one_row_per_readable_photo(images_lake):
    lh, looks = images_lake["lh"], images_lake["looks"]
    f = lh.read(IMAGE_FEATURES).toPandas().set_index(N.ITEM_ID)
    assert set(f.index) == _readable(looks)
    spec = FeatureSpec(size=48, hog_cells=(8, 16), detail=images_lake["cfg"].images.detail)
    # 48/8 = 6 cells: 5 x 5 blocks x 36 = 900; 48/16 = 3: 2 x 2 x 36 = 144; + 110 + 10
    assert sum(spec.dims().values()) == 1164
    # detail blocks: HOG at 24 px per cell 36, crop HOG 900 + 144, and the 561 entries of
    # the size-independent blocks (see test_images_pixels.test_detail_blocks_length_by_hand)
    assert spec.length() == (1164 + 36 + 1044 + 561 if spec.detail else 1164)
    assert f[N.VECTOR].map(len).eq(spec.length()).all()
    assert f["feature_spec"].nunique() == 1
    assert ((f[N.WIDTH] == 64) & (f[N.HEIGHT] == 64)).all()
    assert f[N.CHECKSUM].str.fullmatch(r"[0-9a-f]{64}").all()


def test_tags_one_row_per_readable_photo(images_lake):
    tags, looks = images_lake["tags"], images_lake["looks"]
    assert sorted(tags.index) == sorted(_readable(looks))
    assert set(tags[N.CATEGORY]) <= set(LOOKS.values())
    for conf in tags[N.LEVEL_CONFIDENCES]:
        assert len(conf) == 2
        assert all(0.0 <= c <= 1.0 for c in conf)
    assert tags[N.COLOURS].map(len).ge(1).all()
    # given categories as landed; none for the uncategorised products
    uncategorised = [i for i, g in tags[N.GIVEN_CATEGORY].items() if g is None]
    assert len(uncategorised) == 3 * UNCATEGORISED
    assert set(tags[N.GIVEN_CATEGORY].dropna()) == set(LOOKS.values())
    assert not tags.loc[uncategorised, N.CATEGORY_DISAGREES].any()
    assert set(tags[N.CATEGORY_SOURCE]) <= {"image", "image+title"}
    assert (tags.loc[uncategorised, N.CATEGORY_SOURCE] == "image").all()  # no title


def test_uncategorised_photos_are_recognised(images_lake):
    tags, looks = images_lake["tags"], images_lake["looks"]
    unc = tags[tags[N.GIVEN_CATEGORY].isna()]
    hits = sum(unc.loc[i, N.CATEGORY] == LOOKS[looks[i]] for i in unc.index)
    # chance with three balanced paths: 1/3
    assert hits / len(unc) >= 0.75, unc[[N.CATEGORY]].assign(look=[looks[i] for i in unc.index])
    # the top level is right even more often (Home holds two of the three looks)
    top = sum(
        unc.loc[i, N.CATEGORY].split(" > ")[0] == LOOKS[looks[i]].split(" > ")[0] for i in unc.index
    )
    assert top >= hits


def test_visually_similar(images_lake):
    nb, looks = images_lake["neighbours"], images_lake["looks"]
    assert set(nb[N.ITEM_ID]) == _readable(looks)
    assert set(nb[N.SIMILAR_ITEM_ID]) <= _readable(looks)
    for item, g in nb.groupby(N.ITEM_ID):
        g = g.sort_values(N.RANK)
        assert g[N.RANK].tolist() == list(range(1, TOP_K + 1)), item
        assert item not in set(g[N.SIMILAR_ITEM_ID])
        assert g[N.SIMILAR_ITEM_ID].is_unique
        s = g[N.SCORE].to_numpy()
        assert (s >= -1 - 1e-6).all() and (s <= 1 + 1e-6).all()
        assert (np.diff(s) <= 1e-9).all(), (item, s)
    # neighbours mostly share the look (pixels + predicted probabilities)
    same = np.mean(
        [looks[a] == looks[b] for a, b in zip(nb[N.ITEM_ID], nb[N.SIMILAR_ITEM_ID], strict=True)]
    )
    assert same >= 0.6, same


def test_metrics_per_level_beside_the_majority_class(images_lake):
    lh, run_id, result = images_lake["lh"], images_lake["run_id"], images_lake["result"]
    m = lh.read(MODEL_METRICS).filter(F.col(N.RUN_ID) == run_id).toPandas()
    acc = m[m[N.METRIC] == "accuracy"].set_index(N.MODEL)
    assert {"images_level1", "images_level2"} <= set(acc.index)
    for level in (1, 2):
        row = acc.loc[f"images_level{level}"]
        assert row[N.BASELINE] == N.B_MAJORITY == "majority_class"
        assert 0.0 <= row[N.VALUE] <= 1.0 and 0.0 <= row[N.BASELINE_VALUE] <= 1.0
        assert row[N.DATASET].endswith(f"level={level}")
        assert row[N.VALUE] == pytest.approx(result["levels"][level]["accuracy"], abs=1e-4)
    f1 = m[m[N.METRIC] == "macro_f1"]
    assert set(f1[N.MODEL]) >= {"images_level1", "images_level2"}
    assert (f1[N.BASELINE] == "majority_class").all()
    assert (m[m[N.METRIC] == "published"].shape[0]) == 2
    assert result["levels"][2]["classes"] == 3 and result["levels"][1]["classes"] == 2
    prec = m[(m[N.MODEL] == "images_neighbours") & (m[N.METRIC] == "precision")]
    assert len(prec) == 1 and prec[N.K].iloc[0] == TOP_K
    assert prec[N.BASELINE].iloc[0] == "same_category_chance"


def test_image_search_finds_the_catalogue_photo_itself(images_lake, spark):
    from lakecart.images.search import similar_items

    lh, land = images_lake["lh"], images_lake["land"]
    ids = sorted(images_lake["looks"])[:3]
    photos = spark.createDataFrame(
        [(i, (land / "images" / f"{i}.png").read_bytes()) for i in ids] + [("junk", b"<html>")],
        "query_id string, content binary",
    )
    got = similar_items(spark, lh, photos, k=3).toPandas()
    top = got[got[N.RANK] == 1].set_index("query_id")
    assert sorted(top.index) == ids  # the undecodable query gets no rows
    assert (top[N.SIMILAR_ITEM_ID] == top.index).all()
    assert np.allclose(top[N.SCORE], 1.0, atol=1e-4)
    assert (got.groupby("query_id").size() == 3).all()


@pytest.fixture(scope="module")
def second_run(images_lake, spark):
    lh, cfg = images_lake["lh"], images_lake["cfg"]
    result, run_id = _run(spark, cfg, lh)
    return {
        "result": result, "run_id": run_id, "features": _features(lh), "tags": _tags(lh),
        "neighbours": lh.read(VISUALLY_SIMILAR).toPandas(),
    }  # fmt: skip


def test_rerun_recomputes_nothing_and_republishes_the_same(images_lake, second_run):
    result = second_run["result"]
    assert result["photos"]["computed"] == 0
    assert result["photos"]["unreadable"] == 1 and result["photos"]["not_found"] == 2
    before, after = images_lake["features"], second_run["features"]
    pd.testing.assert_frame_equal(before.sort_index(), after.sort_index())  # computed_at too
    t1, t2 = images_lake["tags"], second_run["tags"]
    assert sorted(t1.index) == sorted(t2.index)
    pd.testing.assert_series_equal(
        t1[N.CATEGORY].sort_index(), t2[N.CATEGORY].sort_index(), check_names=False
    )
    n1, n2 = images_lake["neighbours"], second_run["neighbours"]
    assert len(n1) == len(n2) == len(t1) * TOP_K
    # quarantine replaced, not appended to
    q = images_lake["lh"].read(QUARANTINE).filter(F.col("_source") == "images")
    assert q.count() == 3
    assert {r[0] for r in q.select(N.RUN_ID).distinct().collect()} == {second_run["run_id"]}


@pytest.fixture(scope="module")
def third_run(images_lake, second_run, spark):
    """After the photos were cached: one redrawn, one deleted, one truncated, and one
    product's image path changed to a copy of its file (silver.products updated in place,
    as a re-ingest of a moved landing folder would)."""
    lh, cfg, land = images_lake["lh"], images_lake["cfg"], images_lake["land"]
    images = land / "images"
    old = (images / f"{CHANGED}.png").read_bytes()
    new = product_image("Home & Kitchen", np.random.default_rng(99).random(DRAWS))
    assert new != old
    (images / f"{CHANGED}.png").write_bytes(new)
    (images / f"{GONE}.png").unlink()
    (images / f"{BROKEN}.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    (images / "moved").mkdir()
    (images / "moved" / f"{MOVED}.png").write_bytes((images / f"{MOVED}.png").read_bytes())
    moved = f"file:{(images / 'moved' / f'{MOVED}.png').resolve()}"
    lh.delta(SILVER[N.PRODUCTS]).update(F.col(N.ITEM_ID) == MOVED, {N.IMAGE: F.lit(moved)})
    result, run_id = _run(spark, cfg, lh)
    return {"result": result, "run_id": run_id, "features": _features(lh), "tags": _tags(lh)}


def test_a_changed_photo_is_the_only_one_recomputed(second_run, third_run):
    result = third_run["result"]
    assert result["photos"]["computed"] == 1  # the broken photo is not computed, but rejected
    before, after = second_run["features"], third_run["features"]
    # the cache keeps the entries of the gone and broken photos (keyed by item)
    assert sorted(after.index) == sorted(before.index)
    changed = [i for i in after.index if after.at[i, N.COMPUTED_AT] != before.at[i, N.COMPUTED_AT]]
    assert changed == [CHANGED]
    assert after.at[CHANGED, N.CHECKSUM] != before.at[CHANGED, N.CHECKSUM]
    others = [i for i in after.index if i != CHANGED]
    assert (after.loc[others, N.CHECKSUM] == before.loc[others, N.CHECKSUM]).all()
    assert CHANGED in set(third_run["tags"].index)
    assert result["photos"]["not_found"] == 3 and result["photos"]["unreadable"] == 2


def test_photos_gone_after_caching_are_quarantined(images_lake, third_run):
    q = (
        images_lake["lh"]
        .read(QUARANTINE)
        .filter(F.col("_source") == "images")
        .select(F.col(N.RAW)[N.ITEM_ID].alias("item"), N.REASON, N.RUN_ID)
        .toPandas()
        .set_index("item")
    )
    assert sorted(q.index) == sorted([CORRUPT, MISSING, NO_FOLDER, GONE, BROKEN])
    assert q.at[GONE, N.REASON] == "image_not_found"
    assert q.at[BROKEN, N.REASON] == "unreadable_image"
    assert set(q[N.RUN_ID]) == {third_run["run_id"]}


def test_a_photo_gone_after_caching_is_no_longer_tagged(third_run):
    tags = third_run["tags"]
    assert GONE not in tags.index and BROKEN not in tags.index


def test_a_moved_photo_with_the_same_bytes_is_still_tagged(third_run):
    assert MOVED in set(third_run["tags"].index)
