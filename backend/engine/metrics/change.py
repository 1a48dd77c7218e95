"""Change between dates (issue 17), Django-free: per-class areas of classified rasters, the from/to
change matrix of two of them, and detections matched across two dates by IoU.

Areas are in square metres: projected CRSs through their linear unit, geographic ones through the
cosine of each pixel row's latitude (a spherical approximation, within ~0.5% of the ellipsoid).
The change matrix reuses the pixel accuracy's reader: the "from" raster is read onto the "to"
raster's grid (nearest), so rasters of different CRSs and resolutions compare.
"""
from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import shapely
from numpy.typing import NDArray
from shapely.geometry import shape
from shapely.strtree import STRtree

from backend.engine.metrics.pixel_accuracy import pixel_accuracy

WINDOW = 1024
EARTH_M_PER_DEGREE = 111_319.49


@dataclass(frozen=True)
class ClassAreas:
    pixels: dict[int, int]  # class value -> pixel count (NoData left out)
    areas_m2: dict[int, float]


@dataclass(frozen=True)
class ChangeMatrix:
    class_values: tuple[int, ...]  # row (from) and column (to) order
    pixels: NDArray[np.int64]  # [from, to], on the "to" raster's grid
    areas_m2: NDArray[np.float64]


@dataclass(frozen=True)
class DetectionChange:
    persisted: list[tuple[Hashable, Hashable, float]]  # (before id, after id, IoU)
    disappeared: list[Hashable]  # before ids with no match after
    appeared: list[Hashable]  # after ids with no match before


def _row_areas(src: Any, row_off: int, height: int) -> NDArray[np.float64]:
    """Square metres of one pixel on each of ``height`` rows from ``row_off``."""
    t = src.transform
    pixel = abs(t.a * t.e - t.b * t.d)
    if src.crs is not None and src.crs.is_geographic:
        rows = np.arange(row_off, row_off + height) + 0.5
        lat = t.f + rows * t.e
        return np.asarray(pixel * EARTH_M_PER_DEGREE**2 * np.cos(np.radians(lat)), dtype=np.float64)
    factor = src.crs.linear_units_factor[1] if src.crs is not None else 1.0
    return np.full(height, pixel * factor * factor, dtype=np.float64)


def class_areas(path: Path | str, window: int = WINDOW) -> ClassAreas:
    """Pixels and square metres of each class of a classified raster (band 1), block by block."""
    pixels: dict[int, int] = {}
    areas: dict[int, float] = {}
    with rasterio.open(path) as src:
        for row in range(0, src.height, window):
            height = min(window, src.height - row)
            row_area = _row_areas(src, row, height)
            for col in range(0, src.width, window):
                win = rasterio.windows.Window(col, row, min(window, src.width - col), height)
                data = src.read(1, window=win, masked=True)
                valid = ~np.ma.getmaskarray(data)
                values = data.filled(0).astype(np.int64)
                for value in np.unique(values[valid]).tolist():
                    hit = valid & (values == value)
                    pixels[value] = pixels.get(value, 0) + int(hit.sum())
                    areas[value] = areas.get(value, 0.0) + float((hit.sum(axis=1) * row_area).sum())
    return ClassAreas(dict(sorted(pixels.items())), dict(sorted(areas.items())))


def change_matrix(before: Path | str, after: Path | str, class_values: Sequence[int] = ()) -> ChangeMatrix:
    """Pixels and square metres going from each class ``before`` to each class ``after``, where
    both have a class (on the ``after`` grid)."""
    result = pixel_accuracy(Path(after), reference=Path(before), class_values=class_values)
    with rasterio.open(after) as src:
        t = src.transform
        if src.crs is not None and src.crs.is_geographic:
            lat = (src.bounds.bottom + src.bounds.top) / 2
            pixel_m2 = abs(t.a * t.e) * EARTH_M_PER_DEGREE**2 * math.cos(math.radians(lat))
        else:
            factor = src.crs.linear_units_factor[1] if src.crs is not None else 1.0
            pixel_m2 = abs(t.a * t.e - t.b * t.d) * factor * factor
    pixels = np.asarray(result.confusion, dtype=np.int64)
    return ChangeMatrix(result.class_values, pixels, pixels.astype(np.float64) * pixel_m2)


def _iou(a: Any, b: Any) -> float:
    union = a.union(b).area
    return float(a.intersection(b).area / union) if union > 0 else 0.0


def match_detections(before: Sequence[tuple[Hashable, dict[str, Any]]],
                     after: Sequence[tuple[Hashable, dict[str, Any]]], min_iou: float = 0.3) -> DetectionChange:
    """Pair features of two dates one to one, best IoU first (greedy, as detection scoring does);
    pairs below ``min_iou`` do not match. Geometries are GeoJSON in one CRS (EPSG:4326 here: IoU is
    a ratio, so degrees do for the small objects of one scene)."""
    a_shapes = [shapely.make_valid(shape(g)) for _, g in before]
    b_shapes = [shapely.make_valid(shape(g)) for _, g in after]
    candidates: list[tuple[float, int, int]] = []
    if a_shapes and b_shapes:
        tree = STRtree(b_shapes)
        for i, geom in enumerate(a_shapes):
            for j in tree.query(geom).tolist():
                iou = _iou(geom, b_shapes[j])
                if iou >= min_iou:
                    candidates.append((iou, i, j))
    candidates.sort(key=lambda c: (-c[0], c[1], c[2]))
    used_a: set[int] = set()
    used_b: set[int] = set()
    persisted: list[tuple[Hashable, Hashable, float]] = []
    for iou, i, j in candidates:
        if i in used_a or j in used_b:
            continue
        used_a.add(i)
        used_b.add(j)
        persisted.append((before[i][0], after[j][0], round(iou, 4)))
    return DetectionChange(persisted, [before[i][0] for i in range(len(before)) if i not in used_a],
                           [after[j][0] for j in range(len(after)) if j not in used_b])


__all__ = ["ChangeMatrix", "ClassAreas", "DetectionChange", "change_matrix", "class_areas", "match_detections"]
