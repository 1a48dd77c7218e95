"""XYZ tiles (Web Mercator) rendered with rio-tiler, exactly as rio-tiler renders them."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import morecantile
from rio_tiler.errors import TileOutsideBounds
from rio_tiler.io import Reader

from ..errors import EngineInputError

FORMATS = {"png": "PNG", "jpg": "JPEG", "jpeg": "JPEG", "webp": "WEBP"}
MEDIA_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}
WEB_MERCATOR = morecantile.tms.get("WebMercatorQuad")


class TileNotFound(Exception):
    """The tile lies outside the raster's footprint."""


@dataclass(frozen=True)
class TileRequest:
    bands: tuple[int, ...]                         # 1-based; one or three
    rescale: tuple[tuple[float, float], ...]       # one range, or one per band
    fmt: str = "png"
    tilesize: int = 256
    colormap: dict[int, tuple[int, int, int, int]] | None = None  # classified rasters


def parse_bands(value: str | None, count: int) -> tuple[int, ...]:
    if not value:
        return (1, 2, 3) if count >= 3 else (1,)
    try:
        bands = tuple(int(b) for b in value.split(","))
    except ValueError as exc:
        raise EngineInputError("bands: give 1-based band numbers separated by commas, e.g. bands=3,2,1.") from exc
    if len(bands) not in (1, 3):
        raise EngineInputError("bands: give one band (grey) or three bands (RGB).")
    for band in bands:
        if not 1 <= band <= count:
            raise EngineInputError(f"bands: band {band} does not exist; the raster has bands 1..{count}.")
    return bands


def parse_rescale(values: Sequence[str], bands: tuple[int, ...], statistics: dict[str, Any]) -> tuple[tuple[float, float], ...]:
    """``rescale=min,max`` once (all bands) or once per band; default: the 2-98 % stretch."""
    if not values:
        return tuple((float(statistics[str(b)]["p2"]), float(statistics[str(b)]["p98"])) for b in bands)
    ranges: list[tuple[float, float]] = []
    for value in values:
        try:
            low, high = (float(v) for v in value.split(","))
        except ValueError as exc:
            raise EngineInputError("rescale: give min,max numbers, e.g. rescale=0,255.") from exc
        ranges.append((low, high))
    if len(ranges) not in (1, len(bands)):
        raise EngineInputError(f"rescale: give one range or one per band ({len(bands)}).")
    return tuple(ranges)


def render_tile(cog_path: Path, z: int, x: int, y: int, request: TileRequest) -> tuple[bytes, str]:
    """Return (image bytes, media type); raises TileNotFound outside the raster."""
    img_format = FORMATS.get(request.fmt.lower())
    if img_format is None:
        raise EngineInputError(f"format: {request.fmt!r} is not one of png, jpg, webp.")
    with Reader(str(cog_path), tms=WEB_MERCATOR) as src:
        try:
            image = src.tile(x, y, z, indexes=request.bands, tilesize=request.tilesize)
        except TileOutsideBounds as exc:
            raise TileNotFound(str(exc)) from exc
    if request.colormap is None:
        image.rescale(in_range=request.rescale)
        content = image.render(img_format=img_format)
    else:
        content = image.render(img_format=img_format, colormap=request.colormap)
    return content, MEDIA_TYPES[img_format]


def tile_exists(z: int, x: int, y: int) -> bool:
    return 0 <= z <= 30 and 0 <= x < 2**z and 0 <= y < 2**z


def zoom_range(cog_path: Path) -> tuple[int, int]:
    with Reader(str(cog_path), tms=WEB_MERCATOR) as src:
        return int(src.minzoom), int(src.maxzoom)
