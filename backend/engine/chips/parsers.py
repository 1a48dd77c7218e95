"""Label parsers for the samples of an export folder (see reader.read_training_folder)."""
from __future__ import annotations

import json
import warnings
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from rasterio.errors import NotGeoreferencedWarning
from shapely.geometry import Polygon, box

from backend.engine.chips.labelfiles import burn
from backend.engine.chips.params import ClassDef
from backend.engine.chips.samples import Box, Sample
from backend.engine.errors import EngineInputError

BOX_FORMATS = ("PASCAL_VOC_rectangles", "KITTI_rectangles", "COCO", "Labeled_Tiles")


@dataclass(frozen=True)
class CocoIndex:
    by_name: dict[str, tuple[dict[str, Any], list[dict[str, Any]]]]  # image, annotations
    categories: dict[int, str]


def coco_index(path: Path) -> CocoIndex:
    """Parsed annotations.json keyed by image file name (cached while the file is unchanged)."""
    stat = path.stat()
    return _coco_index(str(path), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=4)
def _coco_index(path: str, mtime_ns: int, size: int) -> CocoIndex:  # noqa: ARG001 (cache key)
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
        images = {int(im["id"]): im for im in document.get("images", [])}
        categories = {int(c["id"]): str(c.get("name", c["id"]))
                      for c in document.get("categories", [])}
        by_id: dict[int, list[dict[str, Any]]] = {i: [] for i in images}
        for annotation in document.get("annotations", []):
            by_id.setdefault(int(annotation["image_id"]), []).append(annotation)
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise EngineInputError(f"{Path(path).name} is not a COCO instances file: {exc}") from exc
    by_name = {Path(str(im["file_name"])).name: (im, by_id[i]) for i, im in images.items()}
    return CocoIndex(by_name, categories)


def read_chip(sample: Sample) -> np.ndarray:
    """The chip as [bands, height, width] in its stored dtype."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(sample.image_path) as src:
            return np.asarray(src.read())


def read_boxes(sample: Sample, fmt: str, classes: Sequence[ClassDef] = ()) -> list[Box]:
    """Boxes of a VOC, KITTI, Labeled_Tiles or COCO sample, in chip pixels.

    Class fields holding a class value are used as they are; names are looked up in
    ``classes`` (ArcGIS writes values, other tools often names).
    """
    if fmt not in BOX_FORMATS:
        raise EngineInputError(f"read_boxes: {fmt} has no box labels")
    if sample.label_path is None:
        return []
    if fmt == "COCO":
        return _coco_boxes(sample, classes)
    if fmt == "KITTI_rectangles":
        return _kitti_boxes(sample.label_path, classes)
    return [box_ for _, box_ in _voc_objects(sample.label_path, classes)]


def read_tile_label(sample: Sample, classes: Sequence[ClassDef] = ()) -> int:
    """Class value of a Labeled_Tiles chip (its first object; the first of a comma list)."""
    if sample.label_path is None:
        raise EngineInputError(f"chip {sample.stem} has no label file")
    objects = _voc_objects(sample.label_path, classes, boxes_required=False)
    if not objects:
        raise EngineInputError(f"{sample.label_path.name} names no class")
    return objects[0][0]


def read_class_mask(sample: Sample) -> np.ndarray:
    """[height, width] class values (0 = no data) of a Classified_Tiles sample."""
    if sample.label_path is None:
        raise EngineInputError(f"chip {sample.stem} has no label raster")
    return _read_band(sample.label_path, 1)


def read_instance_masks(sample: Sample) -> tuple[np.ndarray, np.ndarray]:
    """(masks [N, H, W] bool, class values [N] int64) of an RCNN_Masks or COCO sample."""
    if sample.instance_mask_paths:
        masks: list[np.ndarray] = []
        values: list[int] = []
        for value, path in sorted(sample.instance_mask_paths.items()):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", NotGeoreferencedWarning)
                with rasterio.open(path) as src:
                    bands = src.read()
            for band in bands:  # several bands: each holds its own ids
                ids = np.unique(band)
                ids = ids[ids > 0]
                masks.extend(band == i for i in ids)
                values.extend([value] * len(ids))
        return _stack(masks, values, sample)
    if sample.label_path is not None and sample.label_path.suffix.lower() == ".json":
        return _coco_masks(sample)
    raise EngineInputError(f"chip {sample.stem} has no instance masks")


def _stack(masks: list[np.ndarray], values: list[int], sample: Sample
           ) -> tuple[np.ndarray, np.ndarray]:
    if masks:
        return np.stack(masks).astype(bool), np.asarray(values, dtype=np.int64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(sample.image_path) as src:
            shape = (0, src.height, src.width)
    return np.zeros(shape, dtype=bool), np.zeros(0, dtype=np.int64)


def _read_band(path: Path, band: int) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(path) as src:
            return np.asarray(src.read(band))


def _resolver(classes: Sequence[ClassDef], where: str) -> Callable[[str], int]:
    values = {c.value for c in classes}
    names = {c.name: c.value for c in classes}

    def resolve(text: str) -> int:
        text = text.strip()
        if text.lstrip("-").isdigit() and (not classes or int(text) in values):
            return int(text)
        if text in names:
            return names[text]
        raise EngineInputError(f"{where}: class {text!r} is neither a class value nor a name")

    return resolve


def _voc_objects(path: Path, classes: Sequence[ClassDef], boxes_required: bool = True
                 ) -> list[tuple[int, Box]]:
    try:
        root = ElementTree.parse(path).getroot()
    except ElementTree.ParseError as exc:
        raise EngineInputError(f"{path.name} is not valid XML: {exc}") from exc
    resolve = _resolver(classes, path.name)
    out = []
    for item in root.iter("object"):
        name = (item.findtext("name") or "").split(",")[0]
        value = resolve(name)
        bndbox = item.find("bndbox")
        if bndbox is None:
            if boxes_required:
                continue
            out.append((value, Box(value, 0.0, 0.0, 0.0, 0.0)))
            continue
        coords = [float(bndbox.findtext(k) or "nan") for k in ("xmin", "ymin", "xmax", "ymax")]
        out.append((value, Box(value, *coords)))
    return out


def _kitti_boxes(path: Path, classes: Sequence[ClassDef]) -> list[Box]:
    resolve = _resolver(classes, path.name)
    boxes = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) < 8:
            raise EngineInputError(f"{path.name} line {number}: KITTI needs at least 8 columns")
        boxes.append(Box(resolve(parts[0]), *(float(v) for v in parts[4:8])))
    return boxes


def _coco_entry(sample: Sample) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    assert sample.label_path is not None
    entry = coco_index(sample.label_path).by_name.get(sample.image_path.name)
    if entry is None:
        raise EngineInputError(f"{sample.image_path.name} is not in {sample.label_path.name}")
    return entry


def _coco_value(annotation: dict[str, Any], categories: dict[int, str],
                classes: Sequence[ClassDef]) -> int:
    category = int(annotation["category_id"])
    if not classes or category in {c.value for c in classes}:
        return category
    return _resolver(classes, "the COCO file")(categories.get(category, str(category)))


def _coco_boxes(sample: Sample, classes: Sequence[ClassDef]) -> list[Box]:
    assert sample.label_path is not None
    categories = coco_index(sample.label_path).categories
    _, annotations = _coco_entry(sample)
    boxes = []
    for annotation in annotations:
        x, y, w, h = (float(v) for v in annotation["bbox"])
        boxes.append(Box(_coco_value(annotation, categories, classes), x, y, x + w, y + h))
    return boxes


def _coco_masks(sample: Sample) -> tuple[np.ndarray, np.ndarray]:
    assert sample.label_path is not None
    categories = coco_index(sample.label_path).categories
    image, annotations = _coco_entry(sample)
    height, width = int(image["height"]), int(image["width"])
    masks, values = [], []
    for annotation in annotations:
        segmentation = annotation.get("segmentation")
        if isinstance(segmentation, dict):  # RLE
            from pycocotools import mask as coco_mask

            rle = segmentation
            if isinstance(rle.get("counts"), list):
                rle = coco_mask.frPyObjects(rle, height, width)
            mask = coco_mask.decode(rle).astype(bool)
        else:
            shapes = [Polygon(list(zip(ring[0::2], ring[1::2])))
                      for ring in segmentation or [] if len(ring) >= 6]
            if not shapes:
                x, y, w, h = (float(v) for v in annotation["bbox"])
                shapes = [box(x, y, x + w, y + h)]
            mask = burn([(s, 1) for s in shapes], height, width) > 0
        masks.append(mask)
        values.append(_coco_value(annotation, categories, ()))
    return _stack(masks, values, sample)
