"""Detected features: value object, pixel -> map -> EPSG:4326 conversion, streamed part files.

Part and merged files are newline-delimited GeoJSON: one ``Feature`` per line whose ``geometry`` is
in EPSG:4326 (RFC 7946, what the API stores) with two foreign members in the raster CRS,
``geometry_native`` and ``bbox_native`` ([xmin, ymin, xmax, ymax], used by cross-tile NMS).
``properties`` are ``class_value``, ``class_name`` and ``confidence``. Confidence is stored 0..1;
ArcGIS shows the same number as 0..100.
"""
from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import shapely
from pyproj import Transformer
from shapely.affinity import affine_transform
from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry

from backend.engine.inference.reading import RasterGrid


@dataclass(frozen=True)
class DetectedFeature:
    """One detected object in map coordinates."""

    geometry: dict[str, Any]  # GeoJSON geometry in the raster CRS
    geometry_4326: dict[str, Any]  # GeoJSON geometry in EPSG:4326
    bbox: tuple[float, float, float, float]  # raster CRS xmin, ymin, xmax, ymax
    class_value: int
    class_name: str
    confidence: float  # 0..1

    def to_json_line(self) -> str:
        return json.dumps(
            {
                "type": "Feature",
                "geometry": self.geometry_4326,
                "properties": {
                    "class_value": self.class_value,
                    "class_name": self.class_name,
                    "confidence": self.confidence,
                },
                "geometry_native": self.geometry,
                "bbox_native": list(self.bbox),
            },
            separators=(",", ":"),
        )


FeatureSink = Callable[[DetectedFeature], None]


class MapProjector:
    """Converts geometries from processing-grid pixels to the raster CRS and EPSG:4326."""

    def __init__(self, grid: RasterGrid) -> None:
        t = grid.transform
        self._matrix = [t.a, t.b, t.d, t.e, t.c, t.f]
        self._to_4326 = Transformer.from_crs(grid.crs_wkt, "EPSG:4326", always_xy=True)

    def feature(
        self, pixel_geometry: BaseGeometry, class_value: int, class_name: str, confidence: float
    ) -> DetectedFeature:
        native = affine_transform(pixel_geometry, self._matrix)
        lonlat = shapely.transform(native, self._lonlat)
        xmin, ymin, xmax, ymax = native.bounds
        return DetectedFeature(
            geometry=_geojson(native),
            geometry_4326=_geojson(lonlat),
            bbox=(float(xmin), float(ymin), float(xmax), float(ymax)),
            class_value=int(class_value),
            class_name=str(class_name),
            confidence=float(confidence),
        )

    def _lonlat(self, xy: np.ndarray) -> np.ndarray:
        lon, lat = self._to_4326.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([lon, lat])


def _geojson(geom: BaseGeometry) -> dict[str, Any]:
    """GeoJSON dict with plain lists (json-serialisable, comparable in tests)."""
    result: dict[str, Any] = json.loads(json.dumps(mapping(geom)))
    return result


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
