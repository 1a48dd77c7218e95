"""Detected features: value object, pixel -> map -> EPSG:4326 conversion, streamed part files.

Part and merged files are newline-delimited GeoJSON: one ``Feature`` per line whose ``geometry`` is
in EPSG:4326 (RFC 7946, what the API stores) with two foreign members in the raster CRS,
``geometry_native`` and ``bbox_native`` ([xmin, ymin, xmax, ymax], used by cross-tile NMS).
``properties`` are ``class_value``, ``class_name`` and ``confidence``. Confidence is stored 0..1;
ArcGIS shows the same number as 0..100. ``properties`` and ``bbox_native`` are written before the
geometries so that the merge step reads them without parsing geometries.
"""
from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry.base import BaseGeometry

from backend.engine.inference.reading import RasterGrid


@dataclass(frozen=True)
class DetectedFeature:
    """One detected object in map coordinates; geometries are kept as GeoJSON text.

    Text, because that is what both the part files and the database want (GEOS reads GeoJSON);
    ``geometry`` / ``geometry_4326`` parse it on demand.
    """

    geometry_json: str  # GeoJSON geometry in the raster CRS
    geometry_4326_json: str  # GeoJSON geometry in EPSG:4326 (exterior rings counter-clockwise)
    bbox: tuple[float, float, float, float]  # raster CRS xmin, ymin, xmax, ymax
    class_value: int
    class_name: str
    confidence: float  # 0..1

    @property
    def geometry(self) -> dict[str, Any]:
        return _parse(self.geometry_json)

    @property
    def geometry_4326(self) -> dict[str, Any]:
        return _parse(self.geometry_4326_json)

    def to_json_line(self) -> str:
        """One NDJSON line; the members NMS needs come before the geometries (see read_nms_fields)."""
        x0, y0, x1, y1 = self.bbox
        return (
            f'{{"type":"Feature","properties":{{"class_value":{self.class_value:d},'
            f'"class_name":{_json_string(self.class_name)},"confidence":{self.confidence!r}}},'
            f'"bbox_native":[{x0!r},{y0!r},{x1!r},{y1!r}]'
            f'{_GEOMETRY_KEY}{self.geometry_4326_json},"geometry_native":{self.geometry_json}}}'
        )


_GEOMETRY_KEY = ',"geometry":'


@functools.lru_cache(maxsize=1024)
def _json_string(text: str) -> str:
    return json.dumps(text)


def read_nms_fields(line: str) -> tuple[list[float], float, int]:
    """(bbox_native, confidence, class_value) of a line, without parsing its geometries.

    Lines we write put ``properties`` and ``bbox_native`` first; ``,"geometry":`` cannot occur
    inside a JSON string (its quote would be escaped), so the prefix before it is a complete
    object once closed. Lines in any other member order are parsed whole.
    """
    cut = line.find(_GEOMETRY_KEY)
    try:
        head = json.loads(line[:cut] + "}") if cut > 0 else json.loads(line)
        props = head["properties"]
        return head["bbox_native"], props["confidence"], props["class_value"]
    except (ValueError, KeyError):
        feat = json.loads(line)
        props = feat["properties"]
        return feat["bbox_native"], props["confidence"], props["class_value"]


def _parse(text: str) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(text)
    return value


FeatureSink = Callable[[DetectedFeature], None]


class MapProjector:
    """Converts geometries from processing-grid pixels to the raster CRS and EPSG:4326.

    Works on arrays of geometries at once (one pyproj call per batch of chips), because
    per-feature conversion dominated the run time on scenes with many objects.
    """

    def __init__(self, grid: RasterGrid) -> None:
        t = grid.transform
        self._linear = np.array([[t.a, t.d], [t.b, t.e]], dtype=np.float64)
        self._offset = np.array([t.c, t.f], dtype=np.float64)
        self._to_4326 = Transformer.from_crs(grid.crs_wkt, "EPSG:4326", always_xy=True)

    def features(
        self,
        pixel_geometries: Sequence[BaseGeometry],
        class_values: Sequence[int],
        class_names: Sequence[str],
        confidences: Sequence[float],
    ) -> list[DetectedFeature]:
        if not len(pixel_geometries):
            return []
        geoms = np.empty(len(pixel_geometries), dtype=object)
        geoms[:] = list(pixel_geometries)
        native = shapely.orient_polygons(shapely.transform(geoms, self._map), exterior_cw=False)
        lonlat = shapely.orient_polygons(shapely.transform(native, self._lonlat), exterior_cw=False)
        bounds = shapely.bounds(native)
        native_json = shapely.to_geojson(native)
        lonlat_json = shapely.to_geojson(lonlat)
        # a model can return NaN scores or boxes: such values are not JSON, drop or zero them
        ok = np.isfinite(bounds).all(axis=1) & np.isfinite(shapely.bounds(lonlat)).all(axis=1)
        scores = np.nan_to_num(np.asarray(confidences, dtype=np.float64), nan=0.0, posinf=1.0, neginf=0.0)
        return [
            DetectedFeature(
                geometry_json=str(native_json[i]),
                geometry_4326_json=str(lonlat_json[i]),
                bbox=(float(bounds[i, 0]), float(bounds[i, 1]), float(bounds[i, 2]), float(bounds[i, 3])),
                class_value=int(class_values[i]),
                class_name=str(class_names[i]),
                confidence=float(scores[i]),
            )
            for i in np.flatnonzero(ok).tolist()
        ]

    def _map(self, xy: np.ndarray) -> np.ndarray:
        result: np.ndarray = xy @ self._linear + self._offset
        return result

    def _lonlat(self, xy: np.ndarray) -> np.ndarray:
        lon, lat = self._to_4326.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([lon, lat])


class FeatureFileWriter:
    """Streams features to an NDJSON file; it appears under its name only after ``commit()``.

    Until then it is written to ``<name>.partial``; ``discard()`` (or leaving the ``with`` block on an
    exception) removes it, so a cancelled or failed part leaves no file behind.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._tmp = self.path.with_name(self.path.name + ".partial")
        self._fh = self._tmp.open("w", encoding="utf-8")
        self.count = 0

    def __call__(self, feature: DetectedFeature) -> None:
        self.write_line(feature.to_json_line())

    def write_line(self, line: str) -> None:
        self._fh.write(line.rstrip("\n") + "\n")
        self.count += 1

    def commit(self) -> Path:
        self._fh.close()
        os.replace(self._tmp, self.path)
        return self.path

    def discard(self) -> None:
        self._fh.close()
        self._tmp.unlink(missing_ok=True)

    def __enter__(self) -> FeatureFileWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is not None:
            self.discard()
        elif not self._fh.closed:
            self.commit()


def iter_feature_lines(path: Path | str) -> Iterator[str]:
    """Non-empty lines of a part or merged file, without their newline."""
    with Path(path).open(encoding="utf-8") as fh:
        for line in fh:
            line = line.rstrip("\n")
            if line:
                yield line


def read_features(path: Path | str) -> Iterator[dict[str, Any]]:
    """GeoJSON Feature dicts of a part or merged file, one at a time."""
    for line in iter_feature_lines(path):
        feature: dict[str, Any] = json.loads(line)
        yield feature
