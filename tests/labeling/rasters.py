"""Helpers to make small real-ish rasters for tests."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import rasterio
from rasterio.transform import from_origin


def write_raster(path: Path, *, count: int = 4, dtype: str = "uint16", crs: str | None = "EPSG:32618",
                 width: int = 300, height: int = 200, nodata: float | None = 0, georef: bool = True) -> Path:
    rng = np.random.default_rng(7)
    high = 4000 if dtype != "uint8" else 250
    data = rng.integers(1, high, size=(count, height, width)).astype(dtype)
    if nodata is not None:
        data[:, :20, :20] = nodata
    profile = {"driver": "GTiff", "width": width, "height": height, "count": count, "dtype": dtype,
               "nodata": nodata, "tiled": True, "blockxsize": 256, "blockysize": 256}
    if georef:
        profile.update(crs=crs, transform=from_origin(500000, 4500000, 2.0, 2.0))
    with rasterio.open(path, "w", **profile) as ds:
        ds.write(data)
    return path
