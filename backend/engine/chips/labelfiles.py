"""Label files of each metadata format, written chip by chip.

Layouts (``<stem>`` is the chip's zero-padded index):
- PASCAL_VOC_rectangles: labels/<stem>.xml, ``object/name`` = class value, pixel boxes clipped
  to the chip with 2 decimals (like ArcGIS Pro).
- KITTI_rectangles: labels/<stem>.txt, 15 columns per object (3-D columns 0).
- Classified_Tiles: labels/<stem>.tif, one band of class values, 0 = no data.
- RCNN_Masks: labels/<class name>/<stem>.tif for every class, 0 = background, each object its
  own id 1..n. Folders are named by class *name*, where arcgis.learn's prepare_data looks for
  them (`instance_folder_names`: the value when a name cannot be a folder name).
- Labeled_Tiles: labels/<stem>.xml, VOC-like with one object: the class of the centre feature.
- COCO: labels.json at the root (written by ``finish``), one image entry per chip, file_name
  the bare chip name (images/ implied), as arcgis.learn's COCO_rectangles reads it; no map.txt.
  (arcgis.learn cannot tell multispectral COCO chips apart: pass imagery_type="ms" there.)
"""
from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import shapely
from affine import Affine
from rasterio.features import rasterize
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from backend.engine.chips.chipio import write_mask
from backend.engine.chips.features import ChipLabel
from backend.engine.chips.params import ClassDef

SOURCE_NAME = "Rasterlab"
COCO_FILE = "labels.json"  # the name (and bare file_name values) arcgis.learn reads
OLD_COCO_FILE = "annotations.json"  # written by earlier Rasterlab versions


@dataclass(frozen=True)
class ChipContext:
    stem: str
    image_name: str
    width: int
    height: int
    depth: int
    transform: Affine
    crs_wkt: str
    labels: Sequence[ChipLabel]


@dataclass(frozen=True)
class LabelResult:
    map_label: str  # second map.txt column, Windows-relative like ArcGIS writes it
    class_pixels: dict[int, int] | None = None


class LabelWriter(Protocol):
    def write(self, chip: ChipContext) -> LabelResult: ...

    def finish(self) -> None: ...


def voc_xml(filename: str, width: int, height: int, depth: int,
            objects: Sequence[tuple[str, tuple[float, float, float, float]]],
            source: str = SOURCE_NAME) -> str:
    """PASCAL VOC annotation laid out like ArcGIS Pro's (4-space indent, 2-decimal boxes)."""
    lines = [
        '<?xml version="1.0"?>', "<annotation>", f"    <filename>{filename}</filename>",
        "    <source>", f"        <annotation>{source}</annotation>", "    </source>",
        "    <size>", f"        <width>{width}</width>", f"        <height>{height}</height>",
        f"        <depth>{depth}</depth>", "    </size>",
    ]
    for name, (xmin, ymin, xmax, ymax) in objects:
        lines += [
            "    <object>", f"        <name>{name}</name>", "        <bndbox>",
            f"            <xmin>{xmin:.2f}</xmin>", f"            <ymin>{ymin:.2f}</ymin>",
            f"            <xmax>{xmax:.2f}</xmax>", f"            <ymax>{ymax:.2f}</ymax>",
            "        </bndbox>", "    </object>",
        ]
    lines.append("</annotation>")
    return "\n".join(lines) + "\n"


def kitti_text(labels: Sequence[ChipLabel]) -> str:
    """One KITTI line per object: class, truncated (share outside the chip), occluded, alpha,
    the 2-D box, then the 3-D dimensions/location/rotation as 0."""
    lines = []
    for label in labels:
        xmin, ymin, xmax, ymax = label.bbox
        truncated = 1.0 - label.inside_ratio
        lines.append(
            f"{label.feature.class_value} {truncated:.2f} 0 0.00 {xmin:.2f} {ymin:.2f} "
            f"{xmax:.2f} {ymax:.2f} 0.00 0.00 0.00 0.00 0.00 0.00 0.00"
        )
    return "".join(line + "\n" for line in lines)


def burn(shapes: Sequence[tuple[BaseGeometry, int]], height: int, width: int,
         all_touched: bool = False) -> np.ndarray:
    """Rasterize pixel-space shapes; larger shapes first so small ones stay visible on top."""
    dtype = np.uint8 if all(v <= 255 for _, v in shapes) else np.uint16
    if not shapes:
        return np.zeros((height, width), dtype=dtype)
    # rasterio warns about an identity transform (from any thread, where warnings cannot be
    # silenced safely), so shapes are moved by one pixel and the transform says so.
    ordered = [(shapely.transform(shape, _plus_one), value)
               for shape, value in sorted(shapes, key=lambda item: -item[0].area)]
    return np.asarray(rasterize(ordered, out_shape=(height, width), fill=0, dtype=dtype,
                                transform=_SHIFTED, all_touched=all_touched))


_SHIFTED = Affine.translation(1, 1)


def _plus_one(coords: np.ndarray) -> np.ndarray:
    return coords + 1.0


def feature_mask(label: ChipLabel, height: int, width: int) -> np.ndarray:
    """Boolean mask of the pixels whose centre lies in the label (blacken around feature)."""
    return burn([(label.pixels, 1)], height, width) > 0


class VocWriter:
    def __init__(self, out_dir: Path, one_object: bool = False) -> None:
        self.dir = out_dir / "labels"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.one_object = one_object

    def write(self, chip: ChipContext) -> LabelResult:
        objects = [(str(label.feature.class_value), label.bbox) for label in chip.labels]
        if self.one_object:
            objects = objects[:1]
        text = voc_xml(chip.image_name, chip.width, chip.height, chip.depth, objects)
        (self.dir / f"{chip.stem}.xml").write_text(text)
        return LabelResult(f"labels\\{chip.stem}.xml")

    def finish(self) -> None:
        return None


class KittiWriter:
    def __init__(self, out_dir: Path) -> None:
        self.dir = out_dir / "labels"
        self.dir.mkdir(parents=True, exist_ok=True)

    def write(self, chip: ChipContext) -> LabelResult:
        (self.dir / f"{chip.stem}.txt").write_text(kitti_text(chip.labels))
        return LabelResult(f"labels\\{chip.stem}.txt")

    def finish(self) -> None:
        return None


class ClassMaskWriter:
    def __init__(self, out_dir: Path, classes: Sequence[ClassDef]) -> None:
        self.dir = out_dir / "labels"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.values = [c.value for c in classes]

    def write(self, chip: ChipContext) -> LabelResult:
        shapes = [(label.pixels, label.feature.class_value) for label in chip.labels]
        mask = burn(shapes, chip.height, chip.width)
        if max(self.values) > 255:
            mask = mask.astype(np.uint16)
        write_mask(self.dir / f"{chip.stem}.tif", mask, chip.transform, chip.crs_wkt)
        found, counts = np.unique(mask, return_counts=True)
        pixels = {int(v): int(n) for v, n in zip(found, counts) if v != 0}
        return LabelResult(f"labels\\{chip.stem}.tif", pixels)

    def finish(self) -> None:
        return None


_UNSAFE_FOLDER_CHARS = frozenset('<>:"/\\|?*\x00')


def instance_folder_names(classes: Sequence[ClassDef]) -> dict[int, str]:
    """RCNN_Masks folder per class value: the class name, which is what arcgis.learn's
    prepare_data looks for (labels/<Name>/), or the value when the name cannot be a folder
    name on every system or two names would share a folder (case-insensitive file systems)."""
    names: dict[int, str] = {}
    taken: set[str] = set()
    for c in classes:
        name = c.name
        safe = (name.strip() == name and name not in ("", ".", "..") and not name.endswith(".")
                and not any(ch in _UNSAFE_FOLDER_CHARS or ord(ch) < 32 for ch in name))
        folder = name if safe and name.lower() not in taken else str(c.value)
        taken.add(folder.lower())
        names[c.value] = folder
    return names


class InstanceMaskWriter:
    def __init__(self, out_dir: Path, classes: Sequence[ClassDef]) -> None:
        folders = instance_folder_names(classes)
        self.dirs = {c.value: out_dir / "labels" / folders[c.value] for c in classes}
        self.folders = folders
        for folder in self.dirs.values():
            folder.mkdir(parents=True, exist_ok=True)

    def write(self, chip: ChipContext) -> LabelResult:
        first: int | None = None
        for value, folder in self.dirs.items():
            mine = [label for label in chip.labels if label.feature.class_value == value]
            shapes = [(label.pixels, i + 1) for i, label in enumerate(mine)]
            mask = burn(shapes, chip.height, chip.width)
            present = set(np.unique(mask).tolist())
            missing = [item for item in shapes if item[1] not in present]
            if missing:  # objects covering no pixel centre still get the pixels they touch
                extra = burn(missing, chip.height, chip.width, all_touched=True)
                np.copyto(mask, extra.astype(mask.dtype), where=(mask == 0) & (extra > 0))
            write_mask(folder / f"{chip.stem}.tif", mask, chip.transform, chip.crs_wkt)
            if first is None and mine:
                first = value
        column = self.folders[first if first is not None else next(iter(self.dirs))]
        return LabelResult(f"labels\\{column}\\{chip.stem}.tif")

    def finish(self) -> None:
        return None


class CocoWriter:
    """Collects COCO instances; categories are the classes with ``id`` = class value."""

    def __init__(self, out_dir: Path, classes: Sequence[ClassDef]) -> None:
        self.path = out_dir / COCO_FILE
        self.images: list[dict[str, Any]] = []
        self.annotations: list[dict[str, Any]] = []
        self.categories = [{"id": c.value, "name": c.name, "supercategory": "none"}
                           for c in classes]
        self._lock = threading.Lock()  # chips are written from several threads

    def write(self, chip: ChipContext) -> LabelResult:
        with self._lock:
            self._add(chip)
        return LabelResult(COCO_FILE)

    def _add(self, chip: ChipContext) -> None:
        image_id = int(chip.stem)
        self.images.append({"id": image_id, "file_name": chip.image_name,
                            "width": chip.width, "height": chip.height})
        for label in chip.labels:
            xmin, ymin, xmax, ymax = (round(v, 2) for v in label.bbox)
            self.annotations.append({
                "id": len(self.annotations) + 1,
                "image_id": image_id,
                "category_id": label.feature.class_value,
                "bbox": [xmin, ymin, round(xmax - xmin, 2), round(ymax - ymin, 2)],
                "segmentation": coco_polygons(label.pixels),
                "area": round(float(label.pixels.area), 2),
                "iscrowd": 0,
            })

    def finish(self) -> None:
        # Threads finish chips out of order: sort by image, then number the annotations.
        self.images.sort(key=lambda image: int(image["id"]))
        self.annotations.sort(key=lambda item: (int(item["image_id"]), int(item["id"])))
        for number, annotation in enumerate(self.annotations, start=1):
            annotation["id"] = number
        document = {
            "info": {"description": "Exported by Rasterlab", "version": "1.0"},
            "licenses": [],
            "images": self.images,
            "annotations": self.annotations,
            "categories": self.categories,
        }
        self.path.write_text(json.dumps(document))


def coco_polygons(geometry: BaseGeometry) -> list[list[float]]:
    """Outer rings as flat [x1, y1, x2, y2, ...] lists (COCO polygons cannot hold holes)."""
    polygons: list[Polygon] = []
    if isinstance(geometry, Polygon):
        polygons = [geometry]
    elif isinstance(geometry, MultiPolygon):
        polygons = list(geometry.geoms)
    rings = []
    for polygon in polygons:
        coords = list(polygon.exterior.coords)[:-1]
        if len(coords) >= 3:
            rings.append([round(v, 2) for xy in coords for v in xy])
    return rings


def make_writer(fmt: str, out_dir: Path, classes: Sequence[ClassDef]) -> LabelWriter:
    if fmt == "PASCAL_VOC_rectangles":
        return VocWriter(out_dir)
    if fmt == "Labeled_Tiles":
        return VocWriter(out_dir, one_object=True)
    if fmt == "KITTI_rectangles":
        return KittiWriter(out_dir)
    if fmt == "Classified_Tiles":
        return ClassMaskWriter(out_dir, classes)
    if fmt == "RCNN_Masks":
        return InstanceMaskWriter(out_dir, classes)
    return CocoWriter(out_dir, classes)
