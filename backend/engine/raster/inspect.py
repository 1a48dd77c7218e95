"""Validate an uploaded raster and describe it (bands, dtype, CRS, bounds in EPSG:4326)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
from rasterio.errors import RasterioError
from rasterio.warp import transform_bounds
from rasterio.windows import Window

from ..errors import EngineInputError
from .safe_open import open_geotiff

SUPPORTED_DTYPES = {"uint8", "uint16", "int16", "uint32", "int32", "float32", "float64"}
_GiB = 1024**3


@dataclass(frozen=True)
class RasterLimits:
    """Bounds on what one upload may make the server do.

    A GeoTIFF header can declare any size: a 442 KB sparse file claiming 60000 x 60000 pixels
    would keep a worker busy for a very long time writing zeros. So the pixel count is bounded, and
    so is the expansion (pixel bytes / file bytes) once the pixels pass ``expansion_floor`` bytes:
    real imagery compresses tens of times at most, a sparse or constant file thousands of times.
    """

    max_pixels: int = 4_000_000_000
    max_bands: int = 1000
    max_expansion: float = 200.0
    expansion_floor: int = 1 * _GiB
    max_block_bytes: int = 256 * 1024 * 1024




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


def inspect_raster(path: Path, limits: RasterLimits | None = None) -> RasterInfo:
    """Open ``path`` (a GeoTIFF only: see safe_open) and check that it is a georeferenced raster we
    can ingest, within ``limits`` when given (uploads; rasters the app wrote itself need none).

    Reads the first and the last block so that a truncated or corrupt file fails here, at upload,
    rather than later on the worker.
    """
    try:
        with open_geotiff(path) as ds:
            if limits is not None:
                _check_size(ds, path.stat().st_size, limits)
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


def _check_size(ds: rasterio.DatasetReader, file_size: int, limits: RasterLimits) -> None:
    pixels = ds.width * ds.height
    if pixels > limits.max_pixels:
        raise EngineInputError(
            f"file: the raster is {ds.width} x {ds.height} pixels, more than the limit of {limits.max_pixels:,} "
            "(RASTERLAB_MAX_RASTER_PIXELS); split it into tiles and upload those."
        )
    if ds.count > limits.max_bands:
        raise EngineInputError(f"file: the raster has {ds.count} bands, more than the limit of {limits.max_bands}.")
    itemsize = max(np.dtype(dtype).itemsize for dtype in ds.dtypes) if ds.count else 1
    pixel_bytes = pixels * max(ds.count, 1) * itemsize
    if pixel_bytes > limits.expansion_floor and pixel_bytes > limits.max_expansion * max(file_size, 1):
        raise EngineInputError(
            f"file: the raster declares {ds.width} x {ds.height} x {ds.count} pixels ({pixel_bytes / _GiB:.1f} GiB) "
            f"in a {file_size / 1024**2:.1f} MB file, an expansion of more than {limits.max_expansion:g} times; "
            "refusing a sparse or bomb-like GeoTIFF. Upload the imagery itself, or crop it to where it has data."
        )
    block_h, block_w = ds.block_shapes[0] if ds.count else (1, 1)
    if block_h * block_w * itemsize > limits.max_block_bytes:
        raise EngineInputError(
            f"file: the raster stores {block_w} x {block_h} pixels per block, too large to read safely; "
            "re-save it as a tiled GeoTIFF (e.g. gdal_translate -co TILED=YES)."
        )


def _read_probe_blocks(ds: rasterio.DatasetReader) -> None:
    block_h, block_w = ds.block_shapes[0]
    first = Window(0, 0, min(block_w, ds.width), min(block_h, ds.height))
    last_col = (ds.width - 1) // block_w * block_w
    last_row = (ds.height - 1) // block_h * block_h
    last = Window(last_col, last_row, ds.width - last_col, ds.height - last_row)
    bands = sorted({1, ds.count})  # not every band: a file may declare hundreds
    for window in (first, last):
        ds.read(bands, window=window)
