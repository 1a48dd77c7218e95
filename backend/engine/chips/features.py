"""Label features in a raster's CRS, and the part of each that falls in a chip."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

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


@dataclass(frozen=True)
class ChipLabel:
    """The part of one feature inside one chip."""

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
        geoms = self._geoms[hits]
        shapely.prepare(footprint)
        # Most labels lie wholly inside a chip: only the others need clipping (vectorised).
        inside = shapely.contains_properly(footprint, geoms)
        clipped = geoms.copy()
        if not inside.all():
            clipped[~inside] = shapely.intersection(geoms[~inside], footprint)
        areas = shapely.area(clipped)
        ratios = np.where(inside, 1.0, areas / self._areas[hits])
        keep = (areas > 0) & (ratios + 1e-9 >= min_ratio)
        if not keep.any():
            return []
        pixels = shapely.transform(clipped[keep], _to_pixels(spec))
        polygons = np.isin(shapely.get_type_id(pixels), (3, 6))
        bounds = shapely.bounds(pixels)
        labels = []
        for i, pix, area, ratio, is_polygon, box_ in zip(
            hits[keep], pixels, areas[keep], ratios[keep], polygons, bounds
        ):
            label = _label(self.features[i], pix, float(area), float(ratio), spec,
                           None if not is_polygon else box_)
            if label is not None:
                labels.append(label)
        return labels


def clip_to_chip(feature: MapFeature, spec: ChipSpec) -> ChipLabel | None:
    """One feature clipped to the chip, whatever its overlap (Labeled_Tiles)."""
    clipped = feature.geometry.intersection(spec.footprint())
    area = clipped.area
    if area <= 0:
        return None
    pixels = shapely.transform(clipped, _to_pixels(spec))
    return _label(feature, pixels, area, area / feature.area, spec)


def _to_pixels(spec: ChipSpec) -> Callable[[np.ndarray], np.ndarray]:
    inverse = ~spec.transform
    matrix = np.array([[inverse.a, inverse.d], [inverse.b, inverse.e]])
    offset = np.array([inverse.c, inverse.f])

    def apply(coords: np.ndarray) -> np.ndarray:
        return coords @ matrix + offset

    return apply


def _label(feature: MapFeature, pixels: BaseGeometry, map_area: float, ratio: float,
           spec: ChipSpec, bounds: np.ndarray | None = None) -> ChipLabel | None:
    if bounds is None:
        if shapely.get_type_id(pixels) not in (3, 6):  # clipping left lines/points too
            shape = polygonal(pixels, 0.0)
            if shape is None:
                return None
            pixels = shape
        bounds = np.asarray(pixels.bounds)
    xmin, ymin, xmax, ymax = (float(v) for v in bounds)
    if ratio < 1 - 1e-9 and min(xmax - xmin, ymax - ymin) < MIN_CUT_SIDE_PX:
        return None
    width, height = float(spec.width), float(spec.height)
    bbox = (
        min(max(xmin, 0.0), width), min(max(ymin, 0.0), height),
        min(max(xmax, 0.0), width), min(max(ymax, 0.0), height),
    )
    return ChipLabel(feature, pixels, map_area, bbox, min(ratio, 1.0))
