"""Mapbox Vector Tiles of a layer (Web Mercator XYZ), for drawing large layers at small zooms.

One MVT layer named ``features`` with properties ``class_value`` and ``confidence`` (when set) and
the feature id as MVT id. Features smaller than a screen pixel at the tile's zoom become one point
per pixel and class (their geometry is not even parsed), so a tile over 100k small features stays
small and quick; larger ones are clipped to the tile (with a buffer) and simplified to the tile's
resolution.
"""
from __future__ import annotations

import math
from typing import Any

import mapbox_vector_tile
import numpy as np
import shapely

from ..models import Layer
from .selectors import FeatureFilter, features_query

EARTH_RADIUS = 6378137.0
ORIGIN = math.pi * EARTH_RADIUS
EXTENT = 4096
BUFFER = 64  # tile units around the tile kept for clipping (no seams at tile edges)
TILE_PIXELS = 256
LAYER_NAME = "features"
MAX_ZOOM = 24


def tile_exists(z: int, x: int, y: int) -> bool:
    return 0 <= z <= MAX_ZOOM and 0 <= x < 2**z and 0 <= y < 2**z


def tile_bounds_3857(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    size = 2 * ORIGIN / 2**z
    minx = -ORIGIN + x * size
    maxy = ORIGIN - y * size
    return minx, maxy - size, minx + size, maxy


def _lon(x: float) -> float:
    return math.degrees(x / EARTH_RADIUS)


def _lat(y: float) -> float:
    return math.degrees(2 * math.atan(math.exp(y / EARTH_RADIUS)) - math.pi / 2)


def _to_3857(xy: np.ndarray) -> np.ndarray:
    lon = np.radians(xy[:, 0])
    lat = np.radians(np.clip(xy[:, 1], -85.0511287798, 85.0511287798))
    return np.column_stack([EARTH_RADIUS * lon, EARTH_RADIUS * np.log(np.tan(np.pi / 4 + lat / 2))])


def render_mvt(layer: Layer, z: int, x: int, y: int, flt: FeatureFilter) -> bytes:
    minx, miny, maxx, maxy = tile_bounds_3857(z, x, y)
    size = maxx - minx
    scale = EXTENT / size

    def to_tile(xy: np.ndarray) -> np.ndarray:
        # Web Mercator -> tile units (0..EXTENT, y up; the encoder flips y).
        return np.column_stack([(xy[:, 0] - minx) * scale, (xy[:, 1] - miny) * scale])

    pad = size * BUFFER / EXTENT
    bbox_4326 = (_lon(minx - pad), _lat(max(miny - pad, -ORIGIN)), _lon(maxx + pad), _lat(min(maxy + pad, ORIGIN)))
    query = features_query(layer, FeatureFilter(bbox=bbox_4326, class_values=flt.class_values,
                                                min_confidence=flt.min_confidence, rasters=flt.rasters,
                                                acquired=flt.acquired))
    rows = list(query.values_list("id", "class_value", "confidence", "minx", "miny", "maxx", "maxy", "geometry"))
    if not rows:
        return mapbox_vector_tile.encode([{"name": LAYER_NAME, "features": []}])
    pixel = size / TILE_PIXELS
    features: list[dict[str, Any]] = []
    seen_pixels: set[tuple[Any, int, int]] = set()
    large: list[tuple[Any, ...]] = []
    corners = _to_3857(np.array([[r[3], r[4]] for r in rows] + [[r[5], r[6]] for r in rows], dtype=float))
    lows, highs = corners[: len(rows)], corners[len(rows):]
    for row, low, high in zip(rows, lows, highs):
        if high[0] - low[0] < pixel and high[1] - low[1] < pixel:
            cx, cy = (low[0] + high[0]) / 2, (low[1] + high[1]) / 2
            key = (row[1], int((cx - minx) // pixel), int((maxy - cy) // pixel))
            if key in seen_pixels:
                continue
            seen_pixels.add(key)
            features.append(_feature(row, shapely.Point((cx - minx) * scale, (cy - miny) * scale)))
        else:
            large.append(row)
    if large:
        geoms = shapely.transform(shapely.from_geojson([r[7] for r in large]), _to_3857)
        geoms = shapely.clip_by_rect(geoms, minx - pad, miny - pad, maxx + pad, maxy + pad)
        geoms = shapely.transform(shapely.simplify(geoms, size / EXTENT, preserve_topology=True), to_tile)
        for row, geom in zip(large, geoms):
            if geom is not None and geom.geom_type == "GeometryCollection":
                # Clipping can leave slivers of lower dimension next to the polygon: keep the areas.
                parts = [g for g in geom.geoms if g.geom_type in ("Polygon", "MultiPolygon")]
                geom = shapely.union_all(parts) if parts else None
            if geom is not None and not geom.is_empty:
                features.append(_feature(row, geom))
    return mapbox_vector_tile.encode([{"name": LAYER_NAME, "features": features}], default_options={"extents": EXTENT})


def _feature(row: tuple[Any, ...], geom: Any) -> dict[str, Any]:
    props: dict[str, Any] = {}
    if row[1] is not None:
        props["class_value"] = row[1]
    if row[2] is not None:
        props["confidence"] = round(float(row[2]), 4)
    return {"geometry": geom, "properties": props, "id": row[0]}
