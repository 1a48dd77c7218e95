"""COG ingest: any GeoTIFF -> Cloud Optimized GeoTIFF with overviews, plus band statistics."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import rasterio
from rasterio.enums import Resampling
from rio_cogeo.cogeo import cog_translate
from rio_cogeo.profiles import cog_profiles

from ..errors import Cancelled
from ..types import Progress, ShouldStop, never_stop, no_progress
from .inspect import RasterInfo, inspect_raster
from .safe_open import GDAL_SAFE_ENV, open_geotiff

# Statistics come from a decimated read (the COG's overviews) of at most this many pixels per
# side: memory is bounded whatever the raster size, and percentiles for a display stretch do not
# need every pixel.
STATS_MAX_SIDE = 1024


@dataclass(frozen=True)
class IngestResult:
    info: RasterInfo
    statistics: dict[str, dict[str, float]]


# The overview resamplings rio-cogeo accepts.
OverviewResampling = Literal["nearest", "bilinear", "cubic", "cubic_spline", "lanczos", "average", "mode", "gauss", "rms"]


def cog_ingest(
    src: Path, dst: Path, progress: Progress = no_progress, should_stop: ShouldStop = never_stop,
    overview_resampling: OverviewResampling = "average",
) -> IngestResult:
    """Convert ``src`` into a COG at ``dst`` (written to a temp name, then renamed).

    ``overview_resampling`` is "average" for imagery and "nearest"/"mode" for class maps.
    """
    info = inspect_raster(src)
    progress(1, 10, "Validated raster")
    if should_stop():
        raise Cancelled()
    tmp = dst.with_suffix(".partial.tif")
    profile: dict[str, Any] = dict(cog_profiles.get("deflate"))  # type: ignore[no-untyped-call]
    profile.update(blockxsize=512, blockysize=512, BIGTIFF="IF_SAFER")
    if info.dtype in ("float32", "float64"):
        profile["predictor"] = 3
    elif info.dtype != "uint8":
        profile["predictor"] = 2
    try:
        # The source is opened as a GeoTIFF only, as at upload: the worker never lets GDAL follow
        # a file or URL named inside an upload (see safe_open).
        with rasterio.Env(GDAL_NUM_THREADS="ALL_CPUS", GDAL_TIFF_INTERNAL_MASK=True, **GDAL_SAFE_ENV), \
                open_geotiff(src) as source:
            cog_translate(
                source, str(tmp), profile, overview_resampling=overview_resampling,
                overview_level=None, in_memory=False, quiet=True, use_cog_driver=False, forward_band_tags=True,
            )
        progress(8, 10, "Wrote Cloud Optimized GeoTIFF")
        if should_stop():
            raise Cancelled()
        statistics = band_statistics(tmp)
        os.replace(tmp, dst)
    finally:
        if tmp.exists():
            tmp.unlink()
    progress(10, 10, "Computed statistics")
    return IngestResult(info=info, statistics=statistics)


def band_statistics(path: Path) -> dict[str, dict[str, float]]:
    """Per band (1-based keys): min, max, mean, std, p2, p98 of the valid pixels."""
    stats: dict[str, dict[str, float]] = {}
    with rasterio.open(path) as ds:
        scale = max(ds.width, ds.height) / STATS_MAX_SIDE
        out_h = max(1, int(round(ds.height / scale))) if scale > 1 else ds.height
        out_w = max(1, int(round(ds.width / scale))) if scale > 1 else ds.width
        for band in range(1, ds.count + 1):
            data = ds.read(band, out_shape=(out_h, out_w), masked=True, resampling=Resampling.nearest)
            valid = data.compressed().astype("float64")
            valid = valid[np.isfinite(valid)]
            stats[str(band)] = _summary(valid)
    return stats


def _summary(values: np.ndarray) -> dict[str, Any]:
    if values.size == 0:
        return {"min": 0.0, "max": 0.0, "mean": 0.0, "std": 0.0, "p2": 0.0, "p98": 0.0}
    p2, p98 = np.percentile(values, [2, 98])
    return {
        "min": float(values.min()), "max": float(values.max()), "mean": float(values.mean()),
        "std": float(values.std()), "p2": float(p2), "p98": float(p98),
    }
