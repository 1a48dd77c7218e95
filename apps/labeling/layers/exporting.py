"""Export a layer as GeoJSON (RFC 7946, EPSG:4326) or GeoPackage, written chunk by chunk to a
temporary file (memory does not grow with the layer) that GDAL/OGR, QGIS and ArcGIS Pro read."""
from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pyogrio.raw
import shapely

from backend.api.exceptions import InvalidInput
from backend.scratch import scratch_dir

from ..models import Layer
from .selectors import FeatureFilter, features_query
from .serialize import RESERVED, ROW_FIELDS, class_names, feature_texts, usernames

CHUNK = 5000
FORMATS = {"geojson": ("application/geo+json", ".geojson"), "gpkg": ("application/geopackage+sqlite3", ".gpkg")}
MAX_ATTRIBUTE_COLUMNS = 100


def export_filename(layer: Layer, fmt: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", layer.name).strip("_") or f"layer_{layer.pk}"
    return stem + FORMATS[fmt][1]


def _chunks(layer: Layer, flt: FeatureFilter) -> Iterator[list[dict[str, Any]]]:
    rows: list[dict[str, Any]] = []
    for row in features_query(layer, flt).values(*ROW_FIELDS).iterator(chunk_size=CHUNK):
        rows.append(row)
        if len(rows) >= CHUNK:
            yield rows
            rows = []
    if rows:
        yield rows


def layer_export(layer: Layer, fmt: str, flt: FeatureFilter) -> Path:
    """Write the export to a new temporary file and return its path (the caller deletes it)."""
    if fmt not in FORMATS:
        raise InvalidInput(f"format: must be one of {', '.join(FORMATS)}.")
    handle, name = tempfile.mkstemp(suffix=FORMATS[fmt][1], dir=scratch_dir())
    path = Path(name)
    try:
        if fmt == "geojson":
            with open(handle, "w", encoding="utf-8") as out:
                _write_geojson(out, layer, flt)
        else:
            import os

            os.close(handle)
            path.unlink()  # GDAL creates the GeoPackage itself
            _write_gpkg(path, layer, flt)
    except Exception:
        path.unlink(missing_ok=True)
        raise
    return path


def _write_geojson(out: Any, layer: Layer, flt: FeatureFilter) -> None:
    out.write('{"type":"FeatureCollection","name":' + json.dumps(layer.name) + ',"features":[')
    first = True
    for rows in _chunks(layer, flt):
        for text in feature_texts(rows, layer):
            out.write(text if first else "," + text)
            first = False
    out.write("]}")


def _attribute_keys(layer: Layer, flt: FeatureFilter) -> list[str]:
    keys: dict[str, None] = {}
    for attrs in features_query(layer, flt).values_list("attributes", flat=True).iterator(chunk_size=CHUNK):
        for key in attrs or {}:
            if key not in RESERVED and len(keys) < MAX_ATTRIBUTE_COLUMNS:
                keys[key] = None
    return list(keys)


def _write_gpkg(path: Path, layer: Layer, flt: FeatureFilter) -> None:
    names = class_names(layer)
    extra = _attribute_keys(layer, flt)
    fields = ["fid_source", "class_value", "class_name", "confidence", "raster", "version", "author", "editor",
              "created_at", "updated_at", "review_status", *extra]
    written = False
    for rows in _chunks(layer, flt):
        users = usernames([r["created_by_id"] for r in rows] + [r["updated_by_id"] for r in rows])
        geoms = shapely.to_wkb(shapely.from_geojson([r["geometry"] for r in rows]))

        def ints(key: str) -> tuple[np.ndarray, np.ndarray]:
            values = [r[key] for r in rows]
            return (np.array([v if v is not None else 0 for v in values], dtype=np.int64),
                    np.array([v is None for v in values]))

        def strings(values: list[Any]) -> np.ndarray:
            return np.array([None if v is None else str(v) for v in values], dtype=object)

        class_value, class_mask = ints("class_value")
        raster, raster_mask = ints("raster_id")
        columns = [
            (np.array([r["id"] for r in rows], dtype=np.int64), None),
            (class_value, class_mask),
            (strings([r["class_name"] or names.get(r["class_value"], "") for r in rows]), None),
            (np.array([np.nan if r["confidence"] is None else r["confidence"] for r in rows], dtype=np.float64), None),
            (raster, raster_mask),
            (np.array([r["version"] for r in rows], dtype=np.int64), None),
            (strings([users.get(r["created_by_id"]) for r in rows]), None),
            (strings([users.get(r["updated_by_id"]) for r in rows]), None),
            (strings([r["created_at"].isoformat() for r in rows]), None),
            (strings([r["updated_at"].isoformat() for r in rows]), None),
            (strings([r["review_status"] for r in rows]), None),
            *[(strings([(r["attributes"] or {}).get(k) for r in rows]), None) for k in extra],
        ]
        pyogrio.raw.write(
            str(path), np.asarray(geoms, dtype=object), [c for c, _ in columns], fields,
            field_mask=[m for _, m in columns], layer=layer.name or f"layer_{layer.pk}", driver="GPKG",
            geometry_type="Unknown", crs="EPSG:4326", append=written, nan_as_null=True,
        )
        written = True
    if not written:
        # An empty layer still exports as a valid, empty GeoPackage layer.
        pyogrio.raw.write(str(path), np.array([], dtype=object), [np.array([], dtype=np.int64)], ["fid_source"],
                          layer=layer.name or f"layer_{layer.pk}", driver="GPKG", geometry_type="Unknown",
                          crs="EPSG:4326")
