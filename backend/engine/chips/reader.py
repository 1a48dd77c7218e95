"""Read an export folder (ours or ArcGIS Pro's) for training.

Accepts what ArcGIS writes across versions: emd model fields holding "e.g." placeholder strings,
9- or 12-digit chip names, classes as Value/Name (emd) or ClassValue/ClassName (stats). Like
arcgis.learn, samples come from the files in images/ with labels found by stem (map.txt is only
a hint), and images without a label file are skipped.
"""
from __future__ import annotations

import json
import math
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from rasterio.errors import NotGeoreferencedWarning

from backend.engine.chips.labelfiles import COCO_FILE, OLD_COCO_FILE
from backend.engine.chips.metadata import ACCUMULATED_FILE, EMD_FILE, MAP_FILE, CellSize
from backend.engine.chips.params import ClassDef
from backend.engine.chips.parsers import (
    coco_index, read_boxes, read_chip, read_class_mask, read_instance_masks, read_tile_label,
)
from backend.engine.chips.samples import BandStatistics, Box, Sample, TrainingFolder
from backend.engine.chips.stats import BandStats
from backend.engine.errors import EngineInputError

__all__ = [
    "Box", "Sample", "TrainingFolder", "BandStatistics", "read_training_folder", "read_boxes",
    "read_class_mask", "read_instance_masks", "read_tile_label", "read_chip",
    "band_stats_from_chips",
]

IMAGE_SUFFIXES = (".tif", ".tiff", ".png", ".jpg", ".jpeg", ".mrf")
LABEL_SUFFIXES = (".xml", ".txt") + IMAGE_SUFFIXES
RGB_NAMES = {"red", "green", "blue", "r", "g", "b", ""}
# Distinct colors for classes whose color is unknown ([-1, -1, -1] in ArcGIS emds).
PALETTE = ((230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200), (245, 130, 48),
           (145, 30, 180), (70, 240, 240), (240, 50, 230), (210, 245, 60), (250, 190, 212))


def read_training_folder(path: Path) -> TrainingFolder:
    """Describe an export folder; raises EngineInputError when it is not one."""
    root = Path(path)
    images_dir = root / "images"
    if not images_dir.is_dir():
        raise EngineInputError(f"{root.name} is not a training data folder: it has no images/")
    emd = _json(root / EMD_FILE)
    stats = _json(root / ACCUMULATED_FILE)
    fmt = _text(stats.get("MetaDataMode")) or _text(emd.get("MetaDataMode")) or _guess(root)
    classes = _classes(emd.get("Classes") or stats.get("Classes") or [])
    images = sorted((p for p in images_dir.iterdir() if _is_image(p)), key=_order)
    samples = tuple(_samples(root, fmt, images, classes))
    if not samples:
        raise EngineInputError(f"{root.name}: no image in images/ has a label file")
    if not classes and fmt == "COCO":
        classes = _coco_classes(coco_file(root))
    if not classes:
        raise EngineInputError(f"{root.name}: no classes in {EMD_FILE} or {ACCUMULATED_FILE}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(samples[0].image_path) as first:
            band_count, dtype, shape = first.count, first.dtypes[0], (first.height, first.width)
    # Like arcgis.learn: the recorded tile size, but never more than a real chip holds.
    height = min(_int(emd.get("ImageHeight")) or _int(stats.get("TileSizeY")) or shape[0],
                 shape[0])
    width = min(_int(emd.get("ImageWidth")) or _int(stats.get("TileSizeX")) or shape[1],
                shape[1])
    band_stats = _band_stats(emd.get("AllTilesStats")) or _band_stats(stats.get("BandStatsState"))
    props = emd.get("InputRastersProps") or stats.get("InputRastersProps") or {}
    names = [str(n).lower() for n in props.get("BandNames", [])] if isinstance(props, dict) else []
    return TrainingFolder(
        root=root, metadata_format=fmt, classes=classes, chip_size=(height, width),
        band_count=band_count, dtype=str(dtype), band_stats=band_stats,
        is_8bit_rgb=_is_8bit_rgb(band_count, str(dtype), names, band_stats),
        image_space_used=_text(emd.get("ImageSpaceUsed")) or "MAP_SPACE",
        min_cell_size=_cell(emd.get("MinCellSize") or stats.get("MinCellSize")),
        max_cell_size=_cell(emd.get("MaxCellSize") or stats.get("MaxCellSize")),
        samples=samples,
    )


def band_stats_from_chips(samples: Sequence[Sample], limit: int | None = None
                          ) -> tuple[BandStatistics, ...]:
    """Band statistics computed from the chips, for folders that record none."""
    chosen = list(samples)[:limit] if limit else list(samples)
    if not chosen:
        return ()
    pooled: BandStats | None = None
    for sample in chosen:
        data = read_chip(sample)
        pooled = pooled or BandStats(data.shape[0])
        pooled.add(data, np.ones(data.shape[1:], dtype=bool))
    assert pooled is not None
    return tuple(BandStatistics(low, high, mean, std)
                 for low, high, mean, std, *_rest in pooled.table())


def _samples(root: Path, fmt: str, images: list[Path], classes: tuple[ClassDef, ...]
             ) -> Iterable[Sample]:
    labels_dir = root / "labels"
    if fmt == "COCO":
        annotations = coco_file(root)
        listed = coco_index(annotations).by_name if annotations.is_file() else {}
        for image in images:
            if image.name in listed:
                yield Sample(image.stem, image, annotations)
        return
    if fmt == "RCNN_Masks":
        folders = _class_folders(labels_dir, classes)
        for image in images:
            masks = {value: found for value, files in folders
                     if (found := files.get(image.stem)) is not None}
            if masks:
                yield Sample(image.stem, image, masks[min(masks)], dict(sorted(masks.items())))
        return
    if fmt == "Export_Tiles":
        for image in images:
            yield Sample(image.stem, image, None)
        return
    preferred = _map_label_suffix(root)
    labels = _files_by_stem(labels_dir, preferred)
    for image in images:
        label = labels.get(image.stem)
        if label is not None:
            yield Sample(image.stem, image, label)


def coco_file(root: Path) -> Path:
    """A COCO folder's instances file: labels.json, or annotations.json (older exports)."""
    old = root / OLD_COCO_FILE
    return old if old.is_file() and not (root / COCO_FILE).is_file() else root / COCO_FILE


def _files_by_stem(folder: Path, preferred: str | None) -> dict[str, Path]:
    found: dict[str, Path] = {}
    if not folder.is_dir():
        return found
    rank = {s: i for i, s in enumerate(((preferred,) if preferred else ()) + LABEL_SUFFIXES)}
    for path in folder.iterdir():
        suffix = path.suffix.lower()
        if not path.is_file() or suffix not in rank:
            continue
        current = found.get(path.stem)
        if current is None or rank[suffix] < rank[current.suffix.lower()]:
            found[path.stem] = path
    return found


def _class_folders(labels_dir: Path, classes: tuple[ClassDef, ...]
                   ) -> list[tuple[int, dict[str, Path]]]:
    """RCNN_Masks: (class value, stem -> mask) per labels/ sub-folder named by value or name."""
    by_value = {str(c.value): c.value for c in classes}
    by_name = {c.name: c.value for c in classes}
    out: list[tuple[int, dict[str, Path]]] = []
    if not labels_dir.is_dir():
        return out
    for folder in sorted(p for p in labels_dir.iterdir() if p.is_dir()):
        value = by_name.get(folder.name, by_value.get(folder.name))  # names: ArcGIS's layout
        if value is None and folder.name.lstrip("-").isdigit():
            value = int(folder.name)
        if value is None:
            continue
        files = {p.stem: p for p in folder.iterdir() if _is_image(p)}
        out.append((value, files))
    return out


def _map_label_suffix(root: Path) -> str | None:
    """Label extension of the first two-column map.txt line (ArcGIS's hint)."""
    path = root / MAP_FILE
    if not path.is_file():
        return None
    with path.open(encoding="utf-8", errors="replace") as lines:
        for line in lines:
            parts = line.split()
            if len(parts) >= 2:
                return Path(parts[1].replace("\\", "/")).suffix.lower() or None
    return None


def _guess(root: Path) -> str:
    if coco_file(root).is_file():
        return "COCO"
    labels = root / "labels"
    if not labels.is_dir():
        return "Export_Tiles"
    entries = list(labels.iterdir())
    if any(p.is_dir() for p in entries):
        return "RCNN_Masks"
    suffixes = {p.suffix.lower() for p in entries}
    if ".xml" in suffixes:
        return "PASCAL_VOC_rectangles"
    if ".txt" in suffixes:
        return "KITTI_rectangles"
    if suffixes & set(IMAGE_SUFFIXES):
        return "Classified_Tiles"
    raise EngineInputError(f"{root.name}: cannot tell the metadata format of labels/")


def _classes(items: Any) -> tuple[ClassDef, ...]:
    out: list[ClassDef] = []
    for i, item in enumerate(items if isinstance(items, list) else []):
        if not isinstance(item, dict):
            continue
        value = _int(item.get("Value", item.get("ClassValue")), allow_zero=True)
        if value is None:
            continue
        name = item.get("Name", item.get("ClassName"))
        color = item.get("Color")
        rgb = PALETTE[i % len(PALETTE)]
        if (isinstance(color, list) and len(color) >= 3
                and all(isinstance(c, int) and 0 <= c <= 255 for c in color[:3])):
            rgb = (int(color[0]), int(color[1]), int(color[2]))
        out.append(ClassDef(value, str(name) if name is not None else str(value), rgb))
    return tuple(out)


def _coco_classes(path: Path) -> tuple[ClassDef, ...]:
    if not path.is_file():
        return ()
    categories = coco_index(path).categories
    return tuple(ClassDef(cid, name, PALETTE[i % len(PALETTE)])
                 for i, (cid, name) in enumerate(sorted(categories.items())))


def _band_stats(items: Any) -> tuple[BandStatistics, ...] | None:
    if not isinstance(items, list) or not items:
        return None
    out = []
    for item in items:
        if not isinstance(item, dict):
            return None
        try:
            low, high = float(item["Min"]), float(item["Max"])
            mean = float(item["Mean"] if "Mean" in item else item["M1"])
            if "StdDev" in item:
                std = float(item["StdDev"])
            else:
                std = math.sqrt(float(item["M2"]) / max(float(item["Num"]), 1.0))
        except (KeyError, TypeError, ValueError):
            return None
        out.append(BandStatistics(low, high, mean, std))
    return tuple(out)


def _is_8bit_rgb(band_count: int, dtype: str, names: list[str],
                 stats: tuple[BandStatistics, ...] | None) -> bool:
    if dtype != "uint8":
        return False
    if band_count != 3 and not (band_count == 4 and names[3:4] == ["alpha"]):
        return False
    if names and not set(names[:3]) <= RGB_NAMES:
        return False
    return not stats or all(s.minimum >= 0 and s.maximum <= 255 for s in stats)


def _cell(value: Any) -> CellSize | None:
    if not isinstance(value, dict):
        return None
    try:
        x, y = float(value["x"]), float(value["y"])
    except (KeyError, TypeError, ValueError):
        return None
    reference = value.get("spatialReference") or {}
    epsg = _int(reference.get("latestWkid") or reference.get("wkid")) if isinstance(
        reference, dict) else None
    wkt = str(reference.get("wkt", "")) if isinstance(reference, dict) else ""
    return CellSize(x, y, epsg, wkt)


def _json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise EngineInputError(f"{path.name} is not valid JSON: {exc}") from exc
    return data if isinstance(data, dict) else {}


def _int(value: Any, allow_zero: bool = False) -> int | None:
    """An int from an int or numeric string; None for placeholders like "e.g. 256"."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value.strip())
    if not isinstance(value, int):
        return None
    return value if value > 0 or (allow_zero and value == 0) else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value and not value.startswith("e.g.") else None


def _is_image(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES


def _order(path: Path) -> tuple[int, str]:
    return (int(path.stem), path.stem) if path.stem.isdigit() else (-1, path.stem)
