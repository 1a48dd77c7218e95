"""Each metadata format against hand-checked expectations on the real OSBS/SOAP samples."""
from __future__ import annotations

import json
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import numpy as np
import pytest
from pycocotools.coco import COCO

from backend.engine.chips.labelfiles import voc_xml
from tests.engine.chips.helpers import (
    ESRI, OSBS, SOAP, SOAP_CLASSES, box_feature, export, pixel_boxes, read_tif, soap_features,
)

# OSBS_029 is 400 x 400 px; 256 px tiles at stride 128 start at 0, 128, 256 on each axis.
TILE = {"tile_size_x": 256, "tile_size_y": 256, "stride_x": 128, "stride_y": 128}


def voc_objects(path: Path) -> list[tuple[str, tuple[float, ...]]]:
    root = ElementTree.parse(path).getroot()
    return [(o.findtext("name") or "",
             tuple(float(o.findtext(f"bndbox/{k}") or "nan")
                   for k in ("xmin", "ymin", "xmax", "ymax")))
            for o in root.iter("object")]


def test_voc_boxes_match_known_pixel_boxes(tmp_path: Path) -> None:
    summary = export(tmp_path / "out", "PASCAL_VOC_rectangles", **TILE)
    out = tmp_path / "out"
    assert summary.chip_count == 9
    boxes = pixel_boxes("OSBS_029")
    chip0 = voc_objects(out / "labels" / "000000000.xml")
    # Feature 0 (203, 67, 227, 90) lies wholly in the first chip at (0, 0).
    assert chip0[0][0] == "1"
    assert chip0[0][1] == pytest.approx(boxes[0], abs=0.02)
    # Feature 2 (166, 253, 225, 304) crosses the bottom edge of chip 0: clipped to 256.
    assert ("1", pytest.approx((166, 253, 225, 256), abs=0.02)) in chip0
    # Chip 4 starts at (128, 128): feature 1 (256, 99, 288, 140) is cut at its top (row 128).
    chip4 = voc_objects(out / "labels" / "000000004.xml")
    assert ("1", pytest.approx((128, 0, 160, 12), abs=0.02)) in chip4
    for _, (xmin, ymin, xmax, ymax) in chip0 + chip4:
        assert 0 <= xmin < xmax <= 256 and 0 <= ymin < ymax <= 256
    text = (out / "labels" / "000000000.xml").read_text()
    assert "<xmin>203.00</xmin>" in text and "<depth>3</depth>" in text
    assert "<filename>000000000.tif</filename>" in text


def test_voc_layout_reproduces_the_arcgis_sample() -> None:
    sample = (ESRI / "export_PascalVOC_plam_labels_000000000.xml").read_text()
    ours = voc_xml("000000000.jpg", 448, 448, 3, [("1", (372.95, 341.68, 448.0, 416.94))],
                   source="ArcGIS Pro 2.1")
    assert ours == sample


def test_root_files_follow_arcgis(tmp_path: Path) -> None:
    out = tmp_path / "out"
    summary = export(out, "PASCAL_VOC_rectangles", **TILE)
    lines = (out / "map.txt").read_text().splitlines()
    assert lines[0] == "images\\000000000.tif  labels\\000000000.xml "
    assert len(lines) == summary.chip_count
    stats = json.loads((out / "esri_accumulated_stats.json").read_text())
    assert stats["MetaDataMode"] == "PASCAL_VOC_rectangles"
    assert (stats["NumBands"], stats["TileSizeX"], stats["NumTiles"]) == (3, 256, 9)
    assert stats["Classes"] == [{"ClassValue": 1, "ClassName": "Tree"}]
    feature_stats = stats["FeatureStats"]
    assert feature_stats["NumFeaturesTotal"] == summary.feature_count
    assert feature_stats["NumFeaturesPerImage"]["Sum"] == summary.feature_count
    band = stats["BandStatsState"][0]
    assert band["StdDev"] == pytest.approx(np.sqrt(band["M2"] / band["Num"]))
    emd = json.loads((out / "esri_model_definition.emd").read_text())
    assert emd["Classes"] == [{"Value": 1, "Name": "Tree", "Color": [0, 200, 0]}]
    assert (emd["ImageHeight"], emd["ImageWidth"], emd["ImageSpaceUsed"]) == (256, 256,
                                                                              "MAP_SPACE")
    assert emd["MinCellSize"]["spatialReference"]["wkid"] == 32617
    assert emd["InputRastersProps"]["BandNames"] == ["red", "green", "blue"]
    assert len(emd["AllTilesStats"]) == 3 and emd["CropTileMode"] == "Fixed_Size"
    text = (out / "stats.txt").read_text().splitlines()
    assert text[0] == "images = 9 *3*256*256"
    assert text[5].startswith("Tree                          1          9")


def test_kitti_has_15_columns_and_the_boxes(tmp_path: Path) -> None:
    export(tmp_path / "out", "KITTI_rectangles", **TILE)
    rows = [line.split() for line in
            (tmp_path / "out" / "labels" / "000000000.txt").read_text().splitlines()]
    assert all(len(row) == 15 for row in rows)
    first = rows[0]
    assert first[0] == "1"
    assert [float(v) for v in first[4:8]] == pytest.approx([203, 67, 227, 90], abs=0.02)
    assert all(float(v) == 0 for v in first[8:])


def test_classified_tiles_masks_hold_class_values(tmp_path: Path) -> None:
    out = tmp_path / "out"
    summary = export(out, "Classified_Tiles", rasters=[SOAP], labels=soap_features(),
                     classes=SOAP_CLASSES, **TILE)
    mask, transform, _, _ = read_tif(out / "labels" / "000000000.tif")
    image, image_transform, _, _ = read_tif(out / "images" / "000000000.tif")
    assert mask.shape == (1, 256, 256) and mask.dtype == np.uint8
    assert transform == image_transform
    assert set(np.unique(mask)) == {0, 1, 2}
    boxes = pixel_boxes("SOAP_061")
    # Centres of a Dead (id 0) and an Alive (id 5) tree, and a spot with no label.
    for fid, value in ((0, 1), (5, 2)):
        xmin, ymin, xmax, ymax = boxes[fid]
        assert mask[0, int((ymin + ymax) / 2), int((xmin + xmax) / 2)] == value
    assert mask[0, 2, 2] == 0
    stats = json.loads((out / "esri_accumulated_stats.json").read_text())
    pixel_stats = stats["ClassPixelStats"]
    assert pixel_stats["NumImagesTotal"] == summary.chip_count
    assert sum(pixel_stats["NumPixelsPerClass"]) == sum(c.pixels for c in summary.class_stats)
    assert "pixels" in (out / "stats.txt").read_text()


def test_rcnn_masks_one_id_per_object_per_class_folder(tmp_path: Path) -> None:
    common = dict(rasters=[SOAP], labels=soap_features(), classes=SOAP_CLASSES, **TILE)
    export(tmp_path / "rcnn", "RCNN_Masks", **common)  # type: ignore[arg-type]
    export(tmp_path / "voc", "PASCAL_VOC_rectangles", **common)  # type: ignore[arg-type]
    objects = voc_objects(tmp_path / "voc" / "labels" / "000000000.xml")
    for value, name in ((1, "Dead"), (2, "Alive")):  # labels/<Name>/, where arcgis.learn looks
        mask, _, _, _ = read_tif(tmp_path / "rcnn" / "labels" / name / "000000000.tif")
        ids = set(np.unique(mask)) - {0}
        expected = sum(1 for name, _ in objects if name == str(value))
        assert ids == set(range(1, expected + 1))
    line = (tmp_path / "rcnn" / "map.txt").read_text().splitlines()[0]
    assert line.startswith("images\\000000000.tif  labels\\")


def test_labeled_tiles_centre_each_feature(tmp_path: Path) -> None:
    out = tmp_path / "out"
    summary = export(out, "Labeled_Tiles", tile_size_x=64, tile_size_y=64)
    assert summary.chip_count == 61
    # Feature 0 is 24 x 23 px; a 64 px chip centred on it puts it at (20, 20.5)-ish.
    objects = voc_objects(out / "labels" / "000000000.xml")
    assert len(objects) == 1 and objects[0][0] == "1"
    assert objects[0][1] == pytest.approx((20, 20, 44, 43), abs=0.02)
    image, transform, _, _ = read_tif(out / "images" / "000000000.tif")
    assert image.shape == (3, 64, 64)
    assert (transform.c, transform.f) == pytest.approx((404211.9 + 18.3, 3285142.9 - 4.7))


def test_labeled_tiles_blacken_and_bounding_box(tmp_path: Path) -> None:
    out = tmp_path / "black"
    export(out, "Labeled_Tiles", tile_size_x=64, tile_size_y=64, blacken_around_feature=True)
    image, _, _, _ = read_tif(out / "images" / "000000000.tif")
    assert (image[:, :18, :] == 0).all() and (image[:, :, 46:] == 0).all()
    assert image[:, 25:38, 25:38].any()
    emd = json.loads((out / "esri_model_definition.emd").read_text())
    assert emd["BlackenAroundFeature"] is True
    out = tmp_path / "bbox"
    export(out, "Labeled_Tiles", tile_size_x=64, tile_size_y=64, crop_mode="BOUNDING_BOX")
    image, transform, _, _ = read_tif(out / "images" / "000000000.tif")
    assert image.shape == (3, 64, 64)
    # The 24 x 23 px (2.4 x 2.3 m) box is stretched over the 64 x 64 chip.
    assert (transform.a, -transform.e) == pytest.approx((2.4 / 64, 2.3 / 64))
    assert voc_objects(out / "labels" / "000000000.xml")[0][1] == pytest.approx((0, 0, 64, 64))
    emd = json.loads((out / "esri_model_definition.emd").read_text())
    assert emd["CropTileMode"] == "Bounding_Box"


def test_coco_loads_in_pycocotools(tmp_path: Path) -> None:
    out = tmp_path / "out"
    summary = export(out, "COCO", rasters=[SOAP], labels=soap_features(),
                     classes=SOAP_CLASSES, **TILE)
    coco = COCO(str(out / "labels.json"))  # name and bare file names as arcgis.learn reads them
    assert not (out / "map.txt").exists()  # else arcgis.learn takes it for a Pro export
    assert len(coco.getImgIds()) == summary.chip_count
    assert len(coco.getAnnIds()) == summary.feature_count
    assert {c["id"]: c["name"] for c in coco.loadCats(coco.getCatIds())} == {1: "Dead",
                                                                            2: "Alive"}
    image = coco.loadImgs([0])[0]
    assert image["file_name"] == "000000000.tif"
    assert (out / "images" / image["file_name"]).is_file()
    annotations = coco.loadAnns(coco.getAnnIds(imgIds=[0]))
    boxes = pixel_boxes("SOAP_061")
    xmin, ymin, xmax, ymax = boxes[0]
    first = next(a for a in annotations if a["bbox"][0] == pytest.approx(xmin, abs=0.02)
                 and a["bbox"][1] == pytest.approx(ymin, abs=0.02))
    assert first["category_id"] == 1
    assert first["bbox"][2:] == pytest.approx([xmax - xmin, ymax - ymin], abs=0.03)
    assert first["area"] == pytest.approx((xmax - xmin) * (ymax - ymin), rel=0.01)
    mask = coco.annToMask(first)
    assert mask.shape == (256, 256)
    assert mask.sum() == pytest.approx(first["area"], rel=0.1)


def test_rcnn_masks_keep_objects_smaller_than_a_pixel(tmp_path: Path) -> None:
    tiny = box_feature(OSBS, (10.2, 10.2, 10.8, 10.8))  # covers no pixel centre
    export(tmp_path / "out", "RCNN_Masks", labels=[tiny], tile_size_x=64, tile_size_y=64,
           stride_x=64, stride_y=64)
    mask, _, _, _ = read_tif(tmp_path / "out" / "labels" / "Tree" / "000000000.tif")
    assert mask[0, 10, 10] == 1 and (mask > 0).sum() == 1
