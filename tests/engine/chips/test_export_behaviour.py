"""Tiling, resampling, data types, clipping, numbering, cancelling and input checks."""
from __future__ import annotations

import json
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import numpy as np
import pytest
import rasterio
from shapely.geometry import Point, box

from backend.engine.chips import ExportParams, LabelFeature, RasterSource, export_training_data
from backend.engine.errors import Cancelled, EngineInputError
from tests.engine.chips.helpers import (
    OSBS, RGBN, SOAP, TREE, box_feature, export, make_raster, osbs_features, read_tif,
)


def boxes(path: Path) -> list[tuple[float, ...]]:
    root = ElementTree.parse(path).getroot()
    return [tuple(float(o.findtext(f"bndbox/{k}") or "nan")
                  for k in ("xmin", "ymin", "xmax", "ymax")) for o in root.iter("object")]


@pytest.mark.parametrize(
    ("tile", "stride", "expected"),
    [(256, 128, 9), (256, 256, 4), (200, 200, 4), (128, 64, 36), (400, 400, 1), (512, 256, 1)],
)
def test_stride_and_overlap_chip_counts(tmp_path: Path, tile: int, stride: int,
                                        expected: int) -> None:
    # 400 px per axis: origins every `stride` until the raster is covered (last one padded).
    summary = export(tmp_path / "out", "KITTI_rectangles", tile_size_x=tile, tile_size_y=tile,
                     stride_x=stride, stride_y=stride, output_nofeature_tiles=True)
    assert summary.chip_count == expected
    assert len(list((tmp_path / "out" / "images").glob("*.tif"))) == expected


def test_chips_without_labels_are_skipped_unless_asked(tmp_path: Path) -> None:
    label = box_feature(OSBS, (10, 10, 40, 40))
    summary = export(tmp_path / "a", "KITTI_rectangles", labels=[label], tile_size_x=200,
                     tile_size_y=200, stride_x=200, stride_y=200)
    assert summary.chip_count == 1
    summary = export(tmp_path / "b", "KITTI_rectangles", labels=[label], tile_size_x=200,
                     tile_size_y=200, stride_x=200, stride_y=200, output_nofeature_tiles=True)
    assert summary.chip_count == 4
    assert (tmp_path / "b" / "labels" / "000000003.txt").read_text() == ""


def test_chip_pixels_and_georeference_match_the_source(tmp_path: Path) -> None:
    export(tmp_path / "out", "PASCAL_VOC_rectangles", tile_size_x=256, tile_size_y=256,
           stride_x=128, stride_y=128, output_nofeature_tiles=True)
    with rasterio.open(OSBS) as src:
        source = src.read()
        origin = src.transform
    valid = ~(source == 255).all(axis=0)
    expected = np.where(valid, source, 0)  # nodata (255) becomes 0 in 8-bit chips
    chip, transform, crs, nodata = read_tif(tmp_path / "out" / "images" / "000000004.tif")
    assert np.array_equal(chip, expected[:, 128:384, 128:384])
    assert crs.to_epsg() == 32617 and nodata is None
    assert (transform.c, transform.f, transform.a) == pytest.approx(
        (origin.c + 12.8, origin.f - 12.8, 0.1))
    # The last chip runs past the raster: the outside is padded with 0.
    last, _, _, _ = read_tif(tmp_path / "out" / "images" / "000000008.tif")
    assert np.array_equal(last[:, :144, :144], expected[:, 256:, 256:])
    assert (last[:, 144:, :] == 0).all() and (last[:, :, 144:] == 0).all()


def test_cell_size_resamples_chips_and_labels(tmp_path: Path) -> None:
    summary = export(tmp_path / "out", "PASCAL_VOC_rectangles", cell_size=0.2, tile_size_x=128,
                     tile_size_y=128, stride_x=128, stride_y=128, output_nofeature_tiles=True)
    assert summary.chip_count == 4  # the raster is 200 x 200 cells of 0.2 m
    chip, transform, _, _ = read_tif(tmp_path / "out" / "images" / "000000000.tif")
    assert chip.shape == (3, 128, 128)
    assert (transform.a, transform.e) == pytest.approx((0.2, -0.2))
    assert (transform.c, transform.f) == pytest.approx((404211.9, 3285142.9))
    # Feature 0 is (203, 67, 227, 90) at 0.1 m: half that at 0.2 m.
    assert (101.5, 33.5, 113.5, 45.0) in [pytest.approx(b, abs=0.02)
                                          for b in boxes(tmp_path / "out/labels/000000000.xml")]
    emd = json.loads((tmp_path / "out" / "esri_model_definition.emd").read_text())
    assert emd["MinCellSize"]["x"] == pytest.approx(0.2)


def test_four_band_uint16_keeps_bands_dtype_and_nodata(tmp_path: Path) -> None:
    with rasterio.open(RGBN) as src:
        data = src.read().astype(np.uint16) * 257
    data[:, :50, :50] = 65535
    raster = make_raster(tmp_path / "rgbn16.tif", data, RGBN, nodata=65535)
    label = box_feature(raster, (60, 60, 100, 90))
    summary = export(tmp_path / "out", "PASCAL_VOC_rectangles", rasters=[raster],
                     labels=[label], tile_size_x=128, tile_size_y=128, stride_x=128,
                     stride_y=128)
    assert summary.chip_count == 1 and (summary.band_count, summary.dtype) == (4, "uint16")
    chip, _, _, nodata = read_tif(tmp_path / "out" / "images" / "000000000.tif")
    assert chip.dtype == np.uint16 and chip.shape == (4, 128, 128) and nodata == 65535
    assert np.array_equal(chip, data[:, :128, :128])
    stats = json.loads((tmp_path / "out" / "esri_accumulated_stats.json").read_text())
    assert stats["NumBands"] == 4
    valid = data[:, :128, :128][:, ~(data[:, :128, :128] == 65535).all(axis=0)]
    band = stats["BandStatsState"][3]
    assert band["Num"] == valid.shape[1]
    assert band["Mean"] == pytest.approx(valid[3].mean())
    assert band["StdDev"] == pytest.approx(valid[3].std())
    assert (band["Min"], band["Max"]) == (valid[3].min(), valid[3].max())


@pytest.mark.parametrize(("fmt", "raster_kind", "words"), [
    ("PNG", "uint16", ("PNG", "uint16", "TIFF")),
    ("JPEG", "uint16", ("JPEG", "uint16")),
    ("JPEG", "rgbn", ("JPEG", "4")),
])
def test_picture_formats_refuse_data_they_cannot_hold(tmp_path: Path, fmt: str,
                                                      raster_kind: str,
                                                      words: tuple[str, ...]) -> None:
    if raster_kind == "uint16":
        raster = make_raster(tmp_path / "u16.tif", np.ones((3, 64, 64), np.uint16), OSBS)
    else:
        raster = RGBN
    with pytest.raises(EngineInputError) as error:
        export(tmp_path / "out", "KITTI_rectangles", rasters=[raster],
               labels=[box_feature(raster, (5, 5, 20, 20))], image_chip_format=fmt)
    assert all(word in str(error.value) for word in words)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("fmt", "ext", "world"), [("PNG", "png", "pgw"), ("JPEG", "jpg", "jgw")])
def test_png_and_jpeg_chips_carry_world_file_and_srs(tmp_path: Path, fmt: str, ext: str,
                                                     world: str) -> None:
    export(tmp_path / "out", "PASCAL_VOC_rectangles", image_chip_format=fmt)
    image = tmp_path / "out" / "images" / f"000000000.{ext}"
    assert image.with_suffix(f".{world}").is_file()
    assert Path(f"{image}.aux.xml").is_file()
    with rasterio.open(image) as chip:
        assert chip.crs.to_epsg() == 32617
        assert (chip.transform.c, chip.transform.f, chip.transform.a) == pytest.approx(
            (404211.9, 3285142.9, 0.1))
        assert chip.count == 3 and chip.dtypes[0] == "uint8"
    assert "images\\000000000." + ext in (tmp_path / "out" / "map.txt").read_text()


def test_label_crossing_chip_edge_is_clipped(tmp_path: Path) -> None:
    label = box_feature(OSBS, (240, 100, 272, 130))
    export(tmp_path / "out", "PASCAL_VOC_rectangles", labels=[label], tile_size_x=256,
           tile_size_y=256, stride_x=256, stride_y=256)
    assert boxes(tmp_path / "out/labels/000000000.xml") == [pytest.approx((240, 100, 256, 130),
                                                                          abs=0.02)]
    assert boxes(tmp_path / "out/labels/000000001.xml") == [pytest.approx((0, 100, 16, 130),
                                                                          abs=0.02)]


def test_min_polygon_overlap_ratio_drops_small_parts(tmp_path: Path) -> None:
    # 40 % of the label lies in the first chip, 60 % in the second.
    label = box_feature(OSBS, (240, 100, 280, 130))
    summary = export(tmp_path / "half", "KITTI_rectangles", labels=[label], tile_size_x=256,
                     tile_size_y=256, stride_x=256, stride_y=256, min_polygon_overlap_ratio=0.5)
    assert summary.chip_count == 1
    line = (tmp_path / "half/labels/000000000.txt").read_text().split()
    assert [float(v) for v in line[4:8]] == pytest.approx([0, 100, 24, 130], abs=0.02)
    summary = export(tmp_path / "all", "KITTI_rectangles", labels=[label], tile_size_x=256,
                     tile_size_y=256, stride_x=256, stride_y=256)
    assert summary.chip_count == 2


def test_several_rasters_are_numbered_consecutively(tmp_path: Path) -> None:
    labels = [box_feature(OSBS, (10, 10, 50, 50), feature_id="o"),
              box_feature(SOAP, (10, 10, 50, 50), feature_id="s")]
    summary = export(tmp_path / "out", "PASCAL_VOC_rectangles", rasters=[OSBS, SOAP],
                     labels=labels, tile_size_x=200, tile_size_y=200, stride_x=200,
                     stride_y=200, output_nofeature_tiles=True, start_index=5)
    assert (summary.chip_count, summary.first_index, summary.next_index) == (8, 5, 13)
    names = sorted(p.name for p in (tmp_path / "out" / "images").iterdir())
    assert names == [f"{i:09d}.tif" for i in range(5, 13)]
    _, _, crs_first, _ = read_tif(tmp_path / "out" / "images" / "000000005.tif")
    _, _, crs_last, _ = read_tif(tmp_path / "out" / "images" / "000000009.tif")
    assert (crs_first.to_epsg(), crs_last.to_epsg()) == (32617, 32611)
    assert boxes(tmp_path / "out/labels/000000009.xml") == [pytest.approx((10, 10, 50, 50),
                                                                          abs=0.02)]
    lines = (tmp_path / "out" / "map.txt").read_text().splitlines()
    assert [line.split()[0] for line in lines] == [f"images\\{i:09d}.tif" for i in range(5, 13)]
    stats = json.loads((tmp_path / "out" / "esri_accumulated_stats.json").read_text())
    assert (stats["NumTiles"], stats["NextTileIndex"]) == (8, 13)


def test_rotation_adds_turned_copies_with_turned_labels(tmp_path: Path) -> None:
    label = box_feature(OSBS, (203, 67, 227, 90))
    summary = export(tmp_path / "out", "PASCAL_VOC_rectangles", labels=[label],
                     tile_size_x=256, tile_size_y=256, stride_x=256, stride_y=256,
                     rotation_angle=90)
    assert summary.chip_count == 4
    base, _, _, _ = read_tif(tmp_path / "out/images/000000000.tif")
    for k in (1, 2, 3):
        turned, _, _, _ = read_tif(tmp_path / f"out/images/{k:09d}.tif")
        assert np.array_equal(turned, np.rot90(base, k, axes=(1, 2)))
    # A quarter turn maps chip pixel (x, y) to (y, 256 - x).
    assert boxes(tmp_path / "out/labels/000000001.xml") == [pytest.approx((67, 29, 90, 53),
                                                                          abs=0.02)]


def test_processing_extent_limits_the_tiles(tmp_path: Path) -> None:
    corner = box_feature(OSBS, (0, 0, 150, 150)).geometry
    summary = export(tmp_path / "out", "KITTI_rectangles", processing_extent=corner,
                     tile_size_x=128, tile_size_y=128, stride_x=128, stride_y=128,
                     output_nofeature_tiles=True)
    assert summary.chip_count == 4  # columns/rows 0 and 128 touch the 150 px square
    far = box(0, 0, 1, 1)
    with pytest.raises(EngineInputError, match="no chips"):
        export(tmp_path / "none", "KITTI_rectangles", processing_extent=far)
    assert not (tmp_path / "none").exists()


def test_points_become_buffered_boxes(tmp_path: Path) -> None:
    centre = box_feature(OSBS, (100, 100, 100.001, 100.001)).geometry.centroid
    labels = [LabelFeature("p", Point(centre.x, centre.y), 1)]
    export(tmp_path / "out", "PASCAL_VOC_rectangles", labels=labels, tile_size_x=256,
           tile_size_y=256, stride_x=256, stride_y=256)
    # Default radius: 8 cells of 0.1 m.
    assert boxes(tmp_path / "out/labels/000000000.xml") == [pytest.approx((92, 92, 108, 108),
                                                                          abs=0.05)]
    export(tmp_path / "r", "PASCAL_VOC_rectangles", labels=labels, tile_size_x=256,
           tile_size_y=256, stride_x=256, stride_y=256, buffer_radius=0.5)
    assert boxes(tmp_path / "r/labels/000000000.xml") == [pytest.approx((95, 95, 105, 105),
                                                                        abs=0.05)]


def test_cancel_leaves_nothing_behind(tmp_path: Path) -> None:
    calls = []

    def should_stop() -> bool:
        calls.append(1)
        return len(calls) > 3

    out = tmp_path / "out"
    with pytest.raises(Cancelled):
        export_training_data([RasterSource(OSBS, 1)], osbs_features(), TREE,
                             ExportParams("RCNN_Masks", tile_size_x=128, tile_size_y=128,
                                          stride_x=64, stride_y=64), out,
                             should_stop=should_stop)
    assert not out.exists()


def test_progress_counts_every_candidate_chip(tmp_path: Path) -> None:
    seen: list[tuple[int, int]] = []
    export_training_data([RasterSource(OSBS, 1)], osbs_features(), TREE,
                         ExportParams("KITTI_rectangles"), tmp_path / "out",
                         progress=lambda done, total, message: seen.append((done, total)))
    assert seen[0] == (0, 9) and seen[-1] == (9, 9)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


@pytest.mark.parametrize(("field", "value"), [
    ("metadata_format", "YOLO"), ("tile_size_x", 0), ("stride_y", 1.5), ("cell_size", -1.0),
    ("min_polygon_overlap_ratio", 1.5), ("rotation_angle", 360.0), ("image_chip_format", "GIF"),
    ("start_index", -1), ("crop_mode", "CENTER"), ("buffer_radius", 0.0),
    ("processing_extent", Point(0, 0)), ("output_nofeature_tiles", "yes"),
])
def test_validate_names_the_bad_field(field: str, value: object) -> None:
    fields = {"metadata_format": "KITTI_rectangles", field: value}
    params = ExportParams(**fields)  # type: ignore[arg-type]
    with pytest.raises(EngineInputError, match=field):
        params.validate()


def test_bad_inputs_are_refused_before_writing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with pytest.raises(EngineInputError, match="class value 7"):
        export(out, "KITTI_rectangles", labels=[box_feature(OSBS, (1, 1, 9, 9), 7)])
    with pytest.raises(EngineInputError, match="between 1 and 65535"):
        export(out, "Classified_Tiles", classes=(TREE[0].__class__(0, "Zero", (0, 0, 0)),),
               labels=[box_feature(OSBS, (1, 1, 9, 9), 0)])
    with pytest.raises(EngineInputError, match="cannot open raster"):
        export(out, "KITTI_rectangles", rasters=[tmp_path / "missing.tif"])
    with pytest.raises(EngineInputError, match="export them separately"):
        export(out, "KITTI_rectangles", rasters=[OSBS, RGBN])
    assert not out.exists()
    out.mkdir()
    (out / "old.txt").write_text("x")
    with pytest.raises(EngineInputError, match="not empty"):
        export(out, "KITTI_rectangles")
    assert (out / "old.txt").exists()
