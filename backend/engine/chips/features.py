"""Label features in a raster's CRS, and the part of each that falls in a chip."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import shapely
from pyproj import CRS, Transformer
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry
from shapely.strtree import STRtree

from backend.engine.chips.grid import ChipSpec
from backend.engine.chips.params import LabelFeature

# Points and lines get this many output cells of radius when no buffer_radius is given.
DEFAULT_BUFFER_CELLS = 8.0
# A feature cut by the chip edge must keep at least this many pixels across in x and in y:
# thinner pieces are slivers (often reprojection noise) that would give degenerate boxes.
MIN_CUT_SIDE_PX = 1.0
WGS84 = CRS.from_epsg(4326)


@dataclass(frozen=True)
class MapFeature:
    """A label feature reprojected to the raster CRS and made polygonal."""

    index: int  # position in the input sequence (stable order for label files)
    feature_id: int | str
    class_value: int
    geometry: BaseGeometry
    area: float


class ChipLabel(NamedTuple):
    """The part of one feature inside one chip (a named tuple: many are made per chip)."""

    feature: MapFeature
    pixels: BaseGeometry  # clipped geometry in chip pixel coordinates (x = col, y = row)
    map_area: float  # clipped area in raster CRS units squared
    bbox: tuple[float, float, float, float]  # xmin, ymin, xmax, ymax in chip pixels
    inside_ratio: float  # fraction of the feature's area inside the chip


def to_crs(geometries: Sequence[BaseGeometry], crs_wkt: str) -> list[BaseGeometry]:
    """Reproject EPSG:4326 geometries (lon, lat) to ``crs_wkt`` in one vectorised call."""
    target = CRS.from_user_input(crs_wkt)
    array = np.asarray(geometries, dtype=object)
    if target.equals(WGS84):
        return list(array)
    transformer = Transformer.from_crs(WGS84, target, always_xy=True)

    def project(coords: np.ndarray) -> np.ndarray:
        x, y = transformer.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return list(shapely.transform(array, project))


def polygonal(geometry: BaseGeometry, radius: float) -> BaseGeometry | None:
    """Polygon(s) for a label: polygons are repaired, points and lines buffered by ``radius``."""
    if geometry.is_empty or not np.isfinite(shapely.get_coordinates(geometry)).all():
        return None
    # Only points and lines drawn as such are buffered; slivers left by repairing a polygon
    # are dropped rather than inflated.
    was_polygonal = isinstance(geometry, (Polygon, MultiPolygon))
    if not geometry.is_valid:
        geometry = shapely.make_valid(geometry)
    parts: list[Polygon] = []
    for part in getattr(geometry, "geoms", [geometry]):
        if isinstance(part, Polygon):
            parts.append(part)
        elif isinstance(part, MultiPolygon):
            parts.extend(part.geoms)
        elif not part.is_empty and not was_polygonal and radius > 0:  # points, lines
            buffered = part.buffer(radius, quad_segs=8)
            parts.extend(getattr(buffered, "geoms", [buffered]))
    parts = [p for p in parts if p.area > 0]
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else MultiPolygon(parts)


class FeatureIndex:
    """The features of one raster with a spatial index for chip queries."""

    def __init__(self, features: list[MapFeature]) -> None:
        self.features = features
        self._geoms = np.asarray([f.geometry for f in features], dtype=object)
        self._areas = np.asarray([f.area for f in features], dtype=np.float64)
        self._tree = STRtree(self._geoms)

    @classmethod
    def build(
        cls,
        features: Sequence[LabelFeature],
        crs_wkt: str,
        area: BaseGeometry,
        radius: float,
    ) -> FeatureIndex:
        """Features that touch ``area`` (the raster footprint, raster CRS)."""
        projected = to_crs([f.geometry for f in features], crs_wkt) if features else []
        kept: list[MapFeature] = []
        for index, (feature, geometry) in enumerate(zip(features, projected)):
            shape = polygonal(geometry, radius)
            if shape is None or not shape.intersects(area):
                continue
            kept.append(MapFeature(index, feature.feature_id, feature.class_value, shape,
                                   shape.area))
        return cls(kept)

    def __len__(self) -> int:
        return len(self.features)

    def in_chip(self, spec: ChipSpec, min_ratio: float) -> list[ChipLabel]:
        """Features with at least ``min_ratio`` of their area in the chip (any positive area
        when 0), clipped to it. Pieces cut by the chip edge thinner than MIN_CUT_SIDE_PX are
        dropped."""
        footprint = spec.footprint()
        hits = np.sort(self._tree.query(footprint, predicate="intersects"))
        if hits.size == 0:
            return []
        chosen = [self.features[i] for i in hits]
        return _clip(chosen, self._geoms[hits], self._areas[hits], spec, footprint, min_ratio)


def clip_to_chip(feature: MapFeature, spec: ChipSpec) -> ChipLabel | None:
    """One feature clipped to the chip, whatever its overlap (Labeled_Tiles)."""
    found = _clip([feature], np.asarray([feature.geometry], dtype=object),
                  np.asarray([feature.area]), spec, spec.footprint(), 0.0)
    return found[0] if found else None


def _clip(features: list[MapFeature], geoms: np.ndarray, areas: np.ndarray, spec: ChipSpec,
          footprint: Polygon, min_ratio: float) -> list[ChipLabel]:
    """Clip candidate features to the chip, vectorised (most chips hold tens of labels)."""
    transform = spec.transform
    if transform.b == 0 and transform.d == 0:
        # Upright chip: bounds tell what is wholly inside, and rectangle clipping is cheap.
        xmin, ymin, xmax, ymax = footprint.bounds
        bounds = shapely.bounds(geoms)
        inside = ((bounds[:, 0] >= xmin) & (bounds[:, 1] >= ymin)
                  & (bounds[:, 2] <= xmax) & (bounds[:, 3] <= ymax))
        clipped = geoms.copy()
        if not inside.all():
            clipped[~inside] = shapely.clip_by_rect(geoms[~inside], xmin, ymin, xmax, ymax)
    else:
        shapely.prepare(footprint)
        inside = shapely.contains_properly(footprint, geoms)
        clipped = geoms.copy()
        if not inside.all():
            clipped[~inside] = shapely.intersection(geoms[~inside], footprint)
    clipped_areas = shapely.area(clipped)
    ratios = np.where(inside, 1.0, np.minimum(clipped_areas / areas, 1.0))
    kept = np.flatnonzero((clipped_areas > 0) & (ratios + 1e-9 >= min_ratio))
    if kept.size == 0:
        return []
    pixels = shapely.transform(clipped[kept], _to_pixels(spec))
    for j in np.flatnonzero(~np.isin(shapely.get_type_id(pixels), (3, 6))):
        pixels[j] = polygonal(pixels[j], 0.0)  # clipping left lines/points: keep polygons
    boxes = shapely.bounds(pixels)  # NaN where nothing polygonal was left
    sides = np.minimum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
    cut = ratios[kept] < 1 - 1e-9
    good = np.isfinite(sides) & ~(cut & (sides < MIN_CUT_SIDE_PX))
    limits = np.array([spec.width, spec.height, spec.width, spec.height], dtype=np.float64)
    boxes = np.clip(boxes, 0.0, limits)
    return [
        ChipLabel(features[i], pixels[j], float(clipped_areas[i]),
                  tuple(boxes[j].tolist()), float(ratios[i]))
        for j, i in enumerate(kept) if good[j]
    ]


def _to_pixels(spec: ChipSpec) -> Callable[[np.ndarray], np.ndarray]:
    inverse = ~spec.transform
    matrix = np.array([[inverse.a, inverse.d], [inverse.b, inverse.e]])
    offset = np.array([inverse.c, inverse.f])

    def apply(coords: np.ndarray) -> np.ndarray:
        return np.asarray(coords @ matrix + offset)

    return apply
