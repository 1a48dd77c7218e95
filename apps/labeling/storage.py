"""Where the labeling app keeps files under RASTERLAB_DATA_DIR."""
from __future__ import annotations

from pathlib import Path

from django.conf import settings


def raster_dir(raster_id: int) -> Path:
    return Path(settings.DATA_DIR) / "rasters" / str(raster_id)


def raster_source_path(raster_id: int) -> Path:
    return raster_dir(raster_id) / "source.tif"


def raster_cog_path(raster_id: int) -> Path:
    return raster_dir(raster_id) / "cog.tif"

