"""Shared data and helpers for the chips tests (real samples from tests/data)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from affine import Affine
from pyproj import Transformer
import shapely
from shapely.geometry import Polygon, shape

from backend.engine.chips import (
    ClassDef, ExportParams, ExportSummary, LabelFeature, RasterSource, export_training_data,
)

DATA = Path(__file__).resolve().parents[2] / "data"
ESRI = DATA / "esri"
OSBS = DATA / "OSBS_029.tif"
SOAP = DATA / "SOAP_061.tif"
RGBN = DATA / "rgbn.tif"
TREE = (ClassDef(1, "Tree", (0, 200, 0)),)
SOAP_CLASSES = (ClassDef(1, "Dead", (200, 0, 0)), ClassDef(2, "Alive", (0, 200, 0)))
SOAP_VALUES = {"Dead": 1, "Alive": 2}


def geojson(name: str) -> list[dict[str, Any]]:
    return list(json.loads((DATA / name).read_text())["features"])


def features(name: str, values: dict[str, int]) -> list[LabelFeature]:
    """The EPSG:4326 labels of a sample, class from the ``label`` property."""
    return [LabelFeature(item["id"], shape(item["geometry"]), values[item["properties"]["label"]])
            for item in geojson(f"{name}.4326.geojson")]


def pixel_boxes(name: str) -> dict[int, tuple[float, float, float, float]]:
    """Feature id -> (xmin, ymin, xmax, ymax) in raster pixels, as recorded in the sample."""
    out = {}
    for item in geojson(f"{name}.4326.geojson"):
        p = item["properties"]
        out[item["id"]] = (p["xmin"], p["ymin"], p["xmax"], p["ymax"])
    return out


def osbs_features() -> list[LabelFeature]:
    return features("OSBS_029", {"Tree": 1})


def soap_features() -> list[LabelFeature]:
    return features("SOAP_061", SOAP_VALUES)


def box_feature(raster: Path, box: tuple[float, float, float, float], class_value: int = 1,
                feature_id: int | str = "made") -> LabelFeature:
    """A label drawn as a pixel box on ``raster``, handed over in EPSG:4326 like the app does."""
    with rasterio.open(raster) as src:
        transform, crs = src.transform, src.crs
    xmin, ymin, xmax, ymax = box
    ring = [transform @ xy for xy in ((xmin, ymin), (xmax, ymin), (xmax, ymax), (xmin, ymax))]
    to_wgs84 = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)

    def project(coords: np.ndarray) -> np.ndarray:
        return np.column_stack(to_wgs84.transform(coords[:, 0], coords[:, 1]))

    return LabelFeature(feature_id, shapely.transform(Polygon(ring), project), class_value)


def export(
    out: Path,
    fmt: str,
    rasters: list[Path] | None = None,
    labels: list[LabelFeature] | None = None,
    classes: tuple[ClassDef, ...] = TREE,
    **params: Any,
) -> ExportSummary:
    sources = [RasterSource(p, i) for i, p in enumerate(rasters or [OSBS], start=1)]
    return export_training_data(sources, osbs_features() if labels is None else labels, classes,
                                ExportParams(fmt, **params), out)  # type: ignore[arg-type]


def read_tif(path: Path) -> tuple[np.ndarray, Affine, Any, float | None]:
    with rasterio.open(path) as src:
        return src.read(), src.transform, src.crs, src.nodata


def make_raster(path: Path, data: np.ndarray, like: Path, nodata: float | None = None) -> Path:
    """A GeoTIFF with ``data`` on the grid/CRS of ``like`` (same origin and cell size)."""
    with rasterio.open(like) as src:
        transform, crs = src.transform, src.crs
    with rasterio.open(path, "w", driver="GTiff", width=data.shape[2], height=data.shape[1],
                       count=data.shape[0], dtype=data.dtype, crs=crs, transform=transform,
                       nodata=nodata, tiled=True, blockxsize=128, blockysize=128) as dst:
        dst.write(data)
    return path
