"""Classify Pixels: exact output across chip borders, class values, NoData, parts, COG output."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
import torch

from backend.engine.errors import Cancelled, EngineInputError
from backend.engine.inference.classify_pixels import (
    ClassifyPixelsArgs,
    classify_pixels_part,
    merge_classified_parts,
)
from backend.engine.inference.planning import plan_inference
from backend.engine.inference.run import classify_pixels

from .fakes import ORIGIN_X, ORIGIN_Y, FakeClass, FakePredictor, write_raster

torch.set_num_threads(1)
ARGS = ClassifyPixelsArgs(padding=16, batch_size=4)
ARGS_ONE = ClassifyPixelsArgs(padding=16, batch_size=1)


def segmenter(*classes: FakeClass, chip: int = 64) -> FakePredictor:
    return FakePredictor(family="pixel_classification", chip_size=chip, classes=classes)


def pattern(height: int, width: int, seed: int = 0) -> np.ndarray:
    """Random bright blobs (2..20 px) so class borders cross many chip borders."""
    rng = np.random.default_rng(seed)
    img = np.full((3, height, width), 30, dtype=np.uint8)
    for _ in range(height * width // 150):
        r, c = rng.integers(0, height), rng.integers(0, width)
        h, w = rng.integers(2, 20, 2)
        img[0, r : r + h, c : c + w] = 220
    return img


def test_output_equals_thresholded_input_across_chip_borders(tmp_path: Path) -> None:
    img = pattern(203, 171)  # not a multiple of the 32 px stride
    path = write_raster(tmp_path / "in.tif", img)
    out = tmp_path / "classified.tif"
    classify_pixels(path, segmenter(FakeClass(7, "Water", (0, 0, 255))), ARGS, out, part_size=64)
    expected = np.where(img[0] > 128, 7, 0)  # class index 1 -> Value 7; background -> 0 (NoData)
    with rasterio.open(out) as src:
        got = src.read(1)
        assert src.dtypes[0] == "uint8" and src.nodata == 0
        assert src.transform.c == ORIGIN_X and src.transform.f == ORIGIN_Y
        assert src.colormap(1)[7] == (0, 0, 255, 255)
        assert src.tags()["CLASSES"].startswith('[{"value": 7')
    np.testing.assert_array_equal(got, expected)


def test_is_a_valid_cog_with_overviews(tmp_path: Path) -> None:
    img = pattern(1100, 700)
    path = write_raster(tmp_path / "in.tif", img)
    out = tmp_path / "classified.tif"
    classify_pixels(path, segmenter(FakeClass(1, "Bright"), chip=128), ClassifyPixelsArgs(padding=32, batch_size=16), out)
    from rio_cogeo.cogeo import cog_validate

    valid, errors, _ = cog_validate(str(out), quiet=True)
    assert valid, errors
    with rasterio.open(out) as src:
        assert src.overviews(1)
        np.testing.assert_array_equal(src.read(1), np.where(img[0] > 128, 1, 0))


def test_predict_background_false_never_outputs_background(tmp_path: Path) -> None:
    img = pattern(100, 100, seed=3)
    path = write_raster(tmp_path / "in.tif", img)
    classes = (FakeClass(1, "Bright"), FakeClass(2, "Dark"))
    out = tmp_path / "c.tif"
    # two classes, no Value 0: the ArcGIS default is predict_background = False
    classify_pixels(path, segmenter(*classes), ARGS, out)
    with rasterio.open(out) as src:
        np.testing.assert_array_equal(src.read(1), np.where(img[0] > 128, 1, 2))
    classify_pixels(path, segmenter(*classes), ClassifyPixelsArgs(padding=16, predict_background=True), out)
    with rasterio.open(out) as src:
        np.testing.assert_array_equal(src.read(1), np.where(img[0] > 128, 1, 0))


def test_nodata_input_gives_nodata_and_large_values_use_uint16(tmp_path: Path) -> None:
    img = pattern(90, 120, seed=5)
    img[:, 10:30, 40:100] = 0  # NoData block crossing chip borders
    path = write_raster(tmp_path / "in.tif", img, nodata=0)
    out = tmp_path / "c.tif"
    classify_pixels(path, segmenter(FakeClass(300, "Roof"), FakeClass(0, "Ground")), ARGS, out)
    with rasterio.open(out) as src:
        got = src.read(1)
        assert src.dtypes[0] == "uint16" and src.nodata == 65535  # 0 is a class here
    expected = np.where(img[0] > 128, 300, 0)
    expected[10:30, 40:100] = 65535
    np.testing.assert_array_equal(got, expected)


def test_extent_and_cell_size(tmp_path: Path) -> None:
    img = np.full((3, 120, 160), 30, dtype=np.uint8)
    img[0, :, 80:] = 220  # right half bright
    path = write_raster(tmp_path / "in.tif", img)
    from .test_reading import extent_4326

    extent = extent_4326(ORIGIN_X + 40, ORIGIN_Y - 100, ORIGIN_X + 120, ORIGIN_Y - 20)
    out = tmp_path / "c.tif"
    classify_pixels(path, segmenter(FakeClass(5, "B"), chip=32), ClassifyPixelsArgs(padding=8), out,
                    processing_extent=extent, cell_size=2.0)
    with rasterio.open(out) as src:
        assert src.res == (2.0, 2.0)
        assert (src.bounds.left, src.bounds.top) == (ORIGIN_X + 40, ORIGIN_Y - 20)
        assert (src.width, src.height) == (40, 40)
        got = src.read(1)
    np.testing.assert_array_equal(got[:, :20], 0)
    np.testing.assert_array_equal(got[:, 20:], 5)


def test_parts_merge_equals_one_run_and_cancel_leaves_nothing(tmp_path: Path) -> None:
    img = pattern(150, 130, seed=9)
    path = write_raster(tmp_path / "in.tif", img)
    predictor = segmenter(FakeClass(1, "Bright"))
    plan = plan_inference(path, chip_size=64, padding=16, extract_bands=(0, 1, 2), part_size=64)
    parts = []
    for part in plan.parts:
        parts.append(tmp_path / f"p{part.index}.tif")
        classify_pixels_part(path, part, predictor, ARGS, parts[-1])
    merged = tmp_path / "merged.tif"
    merge_classified_parts(parts, merged, predictor.classes)
    one = tmp_path / "one.tif"
    classify_pixels(path, predictor, ARGS, one)
    with rasterio.open(merged) as a, rasterio.open(one) as b:
        assert a.transform == b.transform
        np.testing.assert_array_equal(a.read(1), b.read(1))
    calls = iter(range(100))
    cancelled = tmp_path / "cancel.tif"
    with pytest.raises(Cancelled):
        classify_pixels_part(path, plan.parts[0], predictor, ARGS_ONE, cancelled, should_stop=lambda: next(calls) >= 1)
    assert not cancelled.exists() and not list(tmp_path.glob("*.partial"))


def test_detector_is_rejected(tmp_path: Path) -> None:
    path = write_raster(tmp_path / "in.tif", pattern(64, 64))
    (part,) = plan_inference(path, chip_size=64, padding=16, extract_bands=(0, 1, 2)).parts
    with pytest.raises(EngineInputError, match="Classify Pixels needs"):
        classify_pixels_part(path, part, FakePredictor(), ARGS, tmp_path / "x.tif")
