"""Validate an uploaded raster and describe it (bands, dtype, CRS, bounds in EPSG:4326)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import rasterio
from rasterio.errors import RasterioError
from rasterio.warp import transform_bounds
from rasterio.windows import Window

from ..errors import EngineInputError

SUPPORTED_DTYPES = {"uint8", "uint16", "int16", "uint32", "int32", "float32", "float64"}


@dataclass(frozen=True)
class RasterInfo:
    width: int
    height: int
    count: int
    dtype: str
    crs: str
    bounds_4326: tuple[float, float, float, float]
    resolution: tuple[float, float]
    nodata: float | None


def inspect_raster(path: Path) -> RasterInfo:
    """Open ``path`` and check that it is a georeferenced raster we can ingest.

    Reads the first and the last block so that a truncated or corrupt file fails here, at upload,
    rather than later on the worker.
    """
    try:
        with rasterio.open(path) as ds:
            if ds.count == 0:
                raise EngineInputError("The raster has no bands.")
            if ds.crs is None:
                raise EngineInputError(
                    "The raster has no coordinate reference system (no georeference): "
                    "upload a GeoTIFF with a CRS and geotransform."
                )
            if ds.transform.is_identity:
                raise EngineInputError(
                    "The raster has no geotransform (pixel coordinates only): upload a georeferenced GeoTIFF."
                )
            dtype = ds.dtypes[0]
            if dtype not in SUPPORTED_DTYPES:
                raise EngineInputError(f"Unsupported pixel type {dtype}; use one of {sorted(SUPPORTED_DTYPES)}.")
            _read_probe_blocks(ds)
            west, south, east, north = transform_bounds(ds.crs, "EPSG:4326", *ds.bounds, densify_pts=21)
            return RasterInfo(
                width=ds.width, height=ds.height, count=ds.count, dtype=dtype,
                crs=ds.crs.to_string(), bounds_4326=(west, south, east, north),
                resolution=(abs(ds.res[0]), abs(ds.res[1])),
                nodata=None if ds.nodata is None else float(ds.nodata),
            )
    except EngineInputError:
        raise
    except RasterioError as exc:
        text = str(exc)
        if "not recognized as" in text or "not a supported file format" in text:
            raise EngineInputError("The file is not a raster GDAL can read; upload a GeoTIFF.") from exc
        if "bands" in text.lower():  # e.g. a dataset declaring no bands at all
            raise EngineInputError(f"The raster has no bands ({text}).") from exc
        raise EngineInputError(f"The raster is corrupt or truncated: {text}") from exc


def _read_probe_blocks(ds: rasterio.DatasetReader) -> None:
    block_h, block_w = ds.block_shapes[0]
    first = Window(0, 0, min(block_w, ds.width), min(block_h, ds.height))
    last_col = (ds.width - 1) // block_w * block_w
    last_row = (ds.height - 1) // block_h * block_h
    last = Window(last_col, last_row, ds.width - last_col, ds.height - last_row)
    for window in (first, last):
        ds.read(window=window)
