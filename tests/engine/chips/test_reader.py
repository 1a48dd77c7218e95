"""The export-folder reader on our exports and on ArcGIS-shaped folders built from real samples."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine
from PIL import Image

from backend.engine.chips import (
    BandStatistics, Box, ClassDef, band_stats_from_chips, read_boxes, read_chip, read_class_mask,
    read_instance_masks, read_tile_label, read_training_folder,
)
from backend.engine.errors import EngineInputError
from tests.engine.chips.helpers import (
    ESRI, SOAP, SOAP_CLASSES, box_feature, export, make_raster, pixel_boxes, soap_features,
)

TILE = {"tile_size_x": 256, "tile_size_y": 256, "stride_x": 128, "stride_y": 128}


@pytest.mark.parametrize("fmt", ["PASCAL_VOC_rectangles", "KITTI_rectangles", "COCO"])
def test_reads_boxes_of_our_exports(tmp_path: Path, fmt: str) -> None:
    summary = export(tmp_path / "out", fmt, rasters=[SOAP], labels=soap_features(),
                     classes=SOAP_CLASSES, **TILE)
    folder = read_training_folder(tmp_path / "out")
    assert folder.metadata_format == fmt
    assert folder.classes == SOAP_CLASSES
    assert (folder.chip_size, folder.band_count, folder.dtype) == ((256, 256), 3, "uint8")
    assert folder.is_8bit_rgb and folder.image_space_used == "MAP_SPACE"
    assert folder.min_cell_size is not None and folder.min_cell_size.epsg == 32611
    assert folder.band_stats is not None and len(folder.band_stats) == 3
    assert len(folder.samples) == summary.chip_count
    first = folder.samples[0]
    assert first.stem == "000000000" and first.image_path.name.startswith("000000000.")
    found = read_boxes(first, fmt)
    xmin, ymin, xmax, ymax = pixel_boxes("SOAP_061")[0]
    assert Box(1, xmin, ymin, xmax, ymax) in [
        Box(b.class_value, *(round(v) for v in (b.xmin, b.ymin, b.xmax, b.ymax)))
        for b in found]
    assert {b.class_value for b in found} == {1, 2}
    total = sum(len(read_boxes(s, fmt)) for s in folder.samples)
    assert total == summary.feature_count
    assert read_chip(first).shape == (3, 256, 256)


def test_reads_exports_of_earlier_rasterlab_versions(tmp_path: Path) -> None:
    """COCO as annotations.json with images/ in file_name, RCNN_Masks folders named by value."""
    import json
    import shutil

    common = dict(rasters=[SOAP], labels=soap_features(), classes=SOAP_CLASSES, **TILE)
    export(tmp_path / "coco", "COCO", **common)  # type: ignore[arg-type]
    document = json.loads((tmp_path / "coco" / "labels.json").read_text())
    for image in document["images"]:
        image["file_name"] = f"images/{image['file_name']}"
    (tmp_path / "coco" / "annotations.json").write_text(json.dumps(document))
    (tmp_path / "coco" / "labels.json").unlink()
    coco = read_training_folder(tmp_path / "coco")
    assert coco.metadata_format == "COCO" and len(coco.samples) == len(document["images"])
    export(tmp_path / "rcnn", "RCNN_Masks", **common)  # type: ignore[arg-type]
    for value, name in ((1, "Dead"), (2, "Alive")):
        shutil.move(tmp_path / "rcnn" / "labels" / name, tmp_path / "rcnn" / "labels" / str(value))
    assert set(read_training_folder(tmp_path / "rcnn").samples[0].instance_mask_paths) == {1, 2}


def test_reads_masks_of_our_exports(tmp_path: Path) -> None:
    common = dict(rasters=[SOAP], labels=soap_features(), classes=SOAP_CLASSES, **TILE)
    export(tmp_path / "cls", "Classified_Tiles", **common)  # type: ignore[arg-type]
    export(tmp_path / "rcnn", "RCNN_Masks", **common)  # type: ignore[arg-type]
    export(tmp_path / "coco", "COCO", **common)  # type: ignore[arg-type]
    classified = read_training_folder(tmp_path / "cls")
    mask = read_class_mask(classified.samples[0])
    assert mask.shape == (256, 256) and set(np.unique(mask)) == {0, 1, 2}
    rcnn = read_training_folder(tmp_path / "rcnn")
    sample = rcnn.samples[0]
    assert set(sample.instance_mask_paths) == {1, 2}
    masks, values = read_instance_masks(sample)
    assert masks.dtype == bool and masks.shape[1:] == (256, 256)
    assert len(values) == len(read_boxes(read_training_folder(tmp_path / "coco").samples[0],
                                         "COCO"))
    # Instances burnt from polygons cover the same pixels as the class mask.
    union = np.zeros((256, 256), dtype=np.int64)
    for m, v in zip(masks, values):
        union[m] = v
    assert (union > 0).sum() == pytest.approx((mask > 0).sum(), rel=0.02)
    coco = read_training_folder(tmp_path / "coco")
    coco_masks, coco_values = read_instance_masks(coco.samples[0])
    assert sorted(coco_values.tolist()) == sorted(values.tolist())
    assert coco_masks.sum() == pytest.approx(masks.sum(), rel=0.02)


def test_reads_labeled_tiles(tmp_path: Path) -> None:
    export(tmp_path / "out", "Labeled_Tiles", rasters=[SOAP], labels=soap_features(),
           classes=SOAP_CLASSES, tile_size_x=64, tile_size_y=64)
    folder = read_training_folder(tmp_path / "out")
    assert folder.metadata_format == "Labeled_Tiles" and len(folder.samples) == 37
    values = [read_tile_label(s) for s in folder.samples]
    assert values.count(1) == 28 and values.count(2) == 9


def test_reads_a_non_8bit_export(tmp_path: Path) -> None:
    data = (np.arange(2 * 96 * 96, dtype=np.float32).reshape(2, 96, 96) - 50.0)
    raster = make_raster(tmp_path / "f32.tif", data, SOAP)
    export(tmp_path / "out", "KITTI_rectangles", rasters=[raster],
           labels=[box_feature(raster, (10, 10, 30, 30))], classes=SOAP_CLASSES,
           tile_size_x=64, tile_size_y=64, stride_x=64, stride_y=64)
    folder = read_training_folder(tmp_path / "out")
    assert (folder.band_count, folder.dtype, folder.is_8bit_rgb) == (2, "float32", False)
    assert folder.band_stats is not None and folder.band_stats[0].minimum < 0
    chip = read_chip(folder.samples[0])
    assert chip.dtype == np.float32 and chip.shape == (2, 64, 64)


def _jpeg(path: Path, size: int) -> None:
    Image.fromarray(np.full((size, size, 3), 90, dtype=np.uint8)).save(path, format="JPEG")


def test_reads_an_arcgis_pascal_voc_folder(tmp_path: Path) -> None:
    root = tmp_path / "plam"
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    shutil.copy(ESRI / "export_PascalVOC_plam_esri_model_definition.emd",
                root / "esri_model_definition.emd")
    shutil.copy(ESRI / "export_PascalVOC_plam_esri_accumulated_stats.json",
                root / "esri_accumulated_stats.json")
    shutil.copy(ESRI / "export_PascalVOC_plam_map_first20lines.txt", root / "map.txt")
    shutil.copy(ESRI / "export_PascalVOC_plam_stats.txt", root / "stats.txt")
    for stem in ("000000000", "000000001", "000000002"):
        _jpeg(root / "images" / f"{stem}.jpg", 448)
        shutil.copy(ESRI / "export_PascalVOC_plam_images_000000000.jgw",
                    root / "images" / f"{stem}.jgw")
    for stem in ("000000000", "000000001"):  # 000000002 has no label: skipped
        shutil.copy(ESRI / "export_PascalVOC_plam_labels_000000000.xml",
                    root / "labels" / f"{stem}.xml")
    folder = read_training_folder(root)
    assert folder.metadata_format == "PASCAL_VOC_rectangles"
    assert folder.classes == (ClassDef(1, "Palm", (255, 0, 0)),)
    assert folder.chip_size == (448, 448)  # "e.g. 256" placeholders ignored: from the stats
    assert folder.band_stats is None and folder.is_8bit_rgb
    assert [s.stem for s in folder.samples] == ["000000000", "000000001"]
    assert read_boxes(folder.samples[0], folder.metadata_format) == [
        Box(1, 372.95, 341.68, 448.0, 416.94)]
    stats = band_stats_from_chips(folder.samples)
    assert stats[0] == BandStatistics(90.0, 90.0, 90.0, 0.0)


def test_reads_an_arcgis_classified_tiles_folder_with_12_digit_names(tmp_path: Path) -> None:
    root = tmp_path / "daremitsu"
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    shutil.copy(ESRI / "export_ClassifiedTiles_daremitsu_esri_model_definition.emd",
                root / "esri_model_definition.emd")
    shutil.copy(ESRI / "export_ClassifiedTiles_daremitsu_esri_accumulated_stats.json",
                root / "esri_accumulated_stats.json")
    lines = [f"images\\{i:012d}.tif  labels\\{i:012d}.tif \r\n" for i in (2, 3)]
    (root / "map.txt").write_text("".join(lines))
    profile = dict(driver="GTiff", width=40, height=40, crs="EPSG:3857",
                   transform=Affine(0.05, 0, 1000, 0, -0.05, 2000))
    for i in (2, 3, 10):
        with rasterio.open(root / "images" / f"{i:012d}.tif", "w", count=3, dtype="uint8",
                           **profile) as dst:
            dst.write(np.full((3, 40, 40), i, dtype=np.uint8))
    for i in (2, 3):
        mask = np.ones((1, 40, 40), dtype=np.uint8)
        mask[0, :10, :10] = 2
        with rasterio.open(root / "labels" / f"{i:012d}.tif", "w", count=1, dtype="uint8",
                           **profile) as dst:
            dst.write(mask)
        Path(root / "labels" / f"{i:012d}.tfw").write_text("0.05\n0\n0\n-0.05\n1000\n2000\n")
    folder = read_training_folder(root)
    assert folder.metadata_format == "Classified_Tiles"
    assert [(c.value, c.name) for c in folder.classes] == [(1, "1"), (2, "2")]
    assert all(0 <= v <= 255 for c in folder.classes for v in c.color)  # [-1,-1,-1] replaced
    assert folder.chip_size == (40, 40)  # stats say 400, the chips hold 40
    assert [s.stem for s in folder.samples] == ["000000000002", "000000000003"]
    assert folder.samples[0].label_path == root / "labels" / "000000000002.tif"
    mask = read_class_mask(folder.samples[0])
    assert mask[0, 0] == 2 and mask[20, 20] == 1
    assert read_chip(folder.samples[1])[0, 0, 0] == 3


def test_reads_rcnn_masks_in_class_name_folders(tmp_path: Path) -> None:
    root = tmp_path / "rcnn"
    (root / "images").mkdir(parents=True)
    (root / "labels" / "Building").mkdir(parents=True)
    stats = {"MetaDataMode": "RCNN_Masks", "NumBands": 3,
             "Classes": [{"ClassValue": 3, "ClassName": "Building"}]}
    (root / "esri_accumulated_stats.json").write_text(json.dumps(stats))
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(root / "images" / "000000000.png")
    mask = np.zeros((32, 32), np.uint8)
    mask[2:6, 2:6] = 1
    mask[10:20, 10:20] = 2
    Image.fromarray(mask).save(root / "labels" / "Building" / "000000000.png")
    folder = read_training_folder(root)
    assert folder.classes[0].value == 3 and folder.classes[0].name == "Building"
    masks, values = read_instance_masks(folder.samples[0])
    assert values.tolist() == [3, 3]
    assert masks.sum(axis=(1, 2)).tolist() == [16, 100]


def test_voc_names_may_be_class_names(tmp_path: Path) -> None:
    root = tmp_path / "named"
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    _jpeg(root / "images" / "a.jpg", 32)
    xml = (ESRI / "export_PascalVOC_plam_labels_000000000.xml").read_text()
    (root / "labels" / "a.xml").write_text(xml.replace("<name>1</name>", "<name>Palm</name>"))
    shutil.copy(ESRI / "export_PascalVOC_plam_esri_model_definition.emd",
                root / "esri_model_definition.emd")
    folder = read_training_folder(root)
    assert folder.metadata_format == "PASCAL_VOC_rectangles"  # guessed from labels/
    named = read_boxes(folder.samples[0], "PASCAL_VOC_rectangles", folder.classes)
    assert named[0].class_value == 1
    with pytest.raises(EngineInputError, match="Palm"):
        read_boxes(folder.samples[0], "PASCAL_VOC_rectangles")


def test_refuses_folders_that_are_not_exports(tmp_path: Path) -> None:
    with pytest.raises(EngineInputError, match="no images"):
        read_training_folder(tmp_path)
    (tmp_path / "images").mkdir()
    (tmp_path / "labels").mkdir()
    _jpeg(tmp_path / "images" / "000000000.jpg", 16)
    (tmp_path / "esri_accumulated_stats.json").write_text(
        json.dumps({"MetaDataMode": "PASCAL_VOC_rectangles"}))
    with pytest.raises(EngineInputError, match="no image in images/ has a label"):
        read_training_folder(tmp_path)
