"""Feature geometry: GeoJSON in EPSG:4326 in, checked with shapely; bbox and canonical text out."""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from backend.api.exceptions import InvalidInput

# Training samples are areas or points; lines cannot be turned into chips or masks.
ALLOWED_TYPES = ("Point", "MultiPoint", "Polygon", "MultiPolygon")
_REASON_AT = re.compile(r"^(?P<what>[^\[]+)\[(?P<x>[-0-9.eE+]+) (?P<y>[-0-9.eE+]+)\]$")


@dataclass(frozen=True)
class CleanGeometry:
    geom_type: str
    text: str  # compact GeoJSON, 2D
    minx: float
    miny: float
    maxx: float
    maxy: float

    @property
    def span(self) -> float:
        return max(self.maxx - self.minx, self.maxy - self.miny)


def clean_geometry(value: Any, *, where: str = "geometry") -> CleanGeometry:
    """Validate a GeoJSON geometry (a dict or its JSON text) in EPSG:4326; raise InvalidInput
    saying what is wrong (type, emptiness, coordinate range, self-intersection...)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except (ValueError, RecursionError) as exc:  # RecursionError: nested too deeply
            raise InvalidInput(f"{where}: not valid JSON ({exc}).") from exc
    if not isinstance(value, dict):
        raise InvalidInput(f"{where}: must be a GeoJSON geometry object such as "
                           '{"type": "Polygon", "coordinates": [[[lon, lat], ...]]}.')
    gtype = value.get("type")
    if gtype not in ALLOWED_TYPES:
        raise InvalidInput(f"{where}: type {gtype!r} is not supported; use one of {', '.join(ALLOWED_TYPES)}.")
    if "coordinates" not in value:
        raise InvalidInput(f"{where}: has no coordinates.")
    try:
        geom = shape(value)
    except Exception as exc:  # noqa: BLE001 - shapely raises several types for malformed input
        raise InvalidInput(f"{where}: malformed {gtype} coordinates ({exc}).") from exc
    return check_shape(geom, where=where)


def check_shape(geom: BaseGeometry, *, where: str = "geometry") -> CleanGeometry:
    """The checks of clean_geometry on a shapely geometry already in EPSG:4326."""
    if geom.geom_type not in ALLOWED_TYPES:
        raise InvalidInput(f"{where}: type {geom.geom_type} is not supported; use one of {', '.join(ALLOWED_TYPES)}.")
    if geom.is_empty:
        raise InvalidInput(f"{where}: is empty; draw at least one point or a ring of 3 distinct points.")
    if geom.has_z:
        geom = shapely.force_2d(geom)
    coords = shapely.get_coordinates(geom)
    if not all(math.isfinite(float(v)) for v in coords.flat):
        raise InvalidInput(f"{where}: has coordinates that are not finite numbers.")
    minx, miny, maxx, maxy = (float(v) for v in geom.bounds)
    if minx < -180 or maxx > 180 or miny < -90 or maxy > 90:
        bad = next((x, y) for x, y in coords if not (-180 <= x <= 180 and -90 <= y <= 90))
        raise InvalidInput(
            f"{where}: coordinate ({bad[0]:g}, {bad[1]:g}) is outside EPSG:4326 (longitude -180..180, "
            "latitude -90..90); send longitude, latitude in degrees, or import the file to reproject it."
        )
    if not geom.is_valid:
        raise InvalidInput(f"{where}: is not valid: {_describe_invalid(geom)}.")
    if geom.geom_type in ("Polygon", "MultiPolygon") and geom.area <= 0:
        raise InvalidInput(f"{where}: the polygon has no area.")
    return CleanGeometry(geom.geom_type, shapely.to_geojson(geom), minx, miny, maxx, maxy)


def _describe_invalid(geom: BaseGeometry) -> str:
    reason = shapely.is_valid_reason(geom)
    match = _REASON_AT.match(reason)
    if not match:
        return reason
    what = match["what"].strip().lower()
    hint = {
        "self-intersection": "the outline crosses itself; move the vertices so that edges do not cross",
        "ring self-intersection": "the outline touches itself; move the vertices apart",
        "too few points in geometry component": "a ring needs at least 3 distinct points",
        "hole lies outside shell": "a hole lies outside its polygon",
        "nested shells": "one part lies inside another",
        "interior is disconnected": "holes split the polygon in pieces",
    }.get(what, "")
    at = f"at lon {float(match['x']):.7g}, lat {float(match['y']):.7g}"
    return f"{match['what'].strip()} {at}" + (f" ({hint})" if hint else "")
