"""Window-by-window reading of model inputs from a raster, optionally resampled to a cell size.

Nothing here reads a whole raster: :class:`GridReader` reads one window at a time (a block of chips
with its padding), zero-fills the part of the window outside the raster and returns a validity mask.
With a ``cell_size`` the raster is read through a GDAL warped VRT onto a north-up grid at that
resolution, so pixel coordinates map back to map space through :attr:`RasterGrid.transform`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import rasterio
from affine import Affine
from rasterio.crs import CRS
from rasterio.enums import Resampling
from rasterio.errors import RasterioError
from rasterio.io import DatasetReader
from rasterio.vrt import WarpedVRT
from rasterio.warp import transform_bounds, transform_geom
from rasterio.windows import Window

from backend.engine.errors import EngineInputError
from backend.engine.inference.tiling import PixelWindow

# Snap tolerance (pixels) so an extent edge that lies on a pixel edge up to float noise does not
# pull in an extra row or column.
_SNAP = 1e-6


@dataclass(frozen=True)
class RasterGrid:
    """The pixel grid inference runs on: the raster itself or the raster at ``cell_size``."""

    crs_wkt: str
    transform: Affine
    width: int
    height: int
    cell_size: float | None  # None: the native grid

    @property
    def crs(self) -> CRS:
        return CRS.from_wkt(self.crs_wkt)

    @property
    def window(self) -> PixelWindow:
        return PixelWindow(0, 0, self.width, self.height)


def open_raster(raster_path: Path | str) -> DatasetReader:
    """Open a raster, turning unreadable files into an input error."""
    try:
        return rasterio.open(raster_path)
    except RasterioError as exc:
        raise EngineInputError(f"cannot read raster {Path(raster_path).name}: {exc}") from exc


def check_bands(extract_bands: tuple[int, ...], band_count: int, raster_name: str) -> None:
    """ExtractBands (0-based) must name bands that the raster has."""
    if not extract_bands:
        raise EngineInputError("the model lists no bands to extract (ExtractBands is empty)")
    if any(b < 0 or b >= band_count for b in extract_bands):
        raise EngineInputError(
            f"band mismatch: the model reads bands {list(extract_bands)} (ExtractBands, 0-based, "
            f"{len(extract_bands)} band(s)) but raster {raster_name} has {band_count} band(s); "
            f"use a raster with the bands the model was trained on"
        )


def processing_grid(src: DatasetReader, cell_size: float | None = None) -> RasterGrid:
    """The raster's grid, or a north-up grid over the same bounds at ``cell_size`` (CRS units)."""
    if src.crs is None:
        raise EngineInputError(f"raster {Path(src.name).name} has no coordinate reference system")
    native = src.transform
    if cell_size is None or (
        native.b == 0 and native.d == 0
        and math.isclose(abs(native.a), cell_size, rel_tol=1e-9)
        and math.isclose(abs(native.e), cell_size, rel_tol=1e-9)
    ):
        return RasterGrid(src.crs.to_wkt(), native, src.width, src.height, None)
    if not cell_size > 0:
        raise EngineInputError(f"cell_size must be a positive size in raster units (got {cell_size})")
    left, bottom, right, top = src.bounds
    width = max(1, round((right - left) / cell_size))
    height = max(1, round((top - bottom) / cell_size))
    if width * height > 4 * 10**10:
        raise EngineInputError(
            f"cell_size {cell_size} would make a {width} x {height} grid; use a coarser cell size"
        )
    transform = Affine(cell_size, 0.0, left, 0.0, -cell_size, top)
    return RasterGrid(src.crs.to_wkt(), transform, width, height, cell_size)


def extent_window(grid: RasterGrid, geometry_4326: dict[str, Any], raster_name: str) -> PixelWindow:
    """Pixel window (clipped to the grid) of the bounding rectangle of a GeoJSON geometry.

    The extent is used as a rectangle in the raster CRS, as ArcGIS's processing extent is.
    """
    try:
        native = transform_geom("EPSG:4326", grid.crs, geometry_4326)
    except Exception as exc:  # GDAL/pyproj raise a variety of types for bad geometries
        raise EngineInputError(f"the processing extent is not a valid GeoJSON geometry: {exc}") from exc
    xs, ys = _coordinates(native)
    if not xs:
        raise EngineInputError("the processing extent has no coordinates")
    inv = ~grid.transform
    corners = [inv @ (x, y) for x in (min(xs), max(xs)) for y in (min(ys), max(ys))]
    cols = [c for c, _ in corners]
    rows = [r for _, r in corners]
    c0, r0 = math.floor(min(cols) + _SNAP), math.floor(min(rows) + _SNAP)
    c1, r1 = math.ceil(max(cols) - _SNAP), math.ceil(max(rows) - _SNAP)
    window = PixelWindow(c0, r0, max(1, c1 - c0), max(1, r1 - r0)).intersection(grid.window)
    if window.is_empty:
        w, s, e, n = transform_bounds(grid.crs, "EPSG:4326", *_grid_bounds(grid))
        raise EngineInputError(
            f"the processing extent does not overlap raster {raster_name} "
            f"(raster bounds in EPSG:4326: {w:.6f}, {s:.6f}, {e:.6f}, {n:.6f}); draw it over the image"
        )
    return window


def _grid_bounds(grid: RasterGrid) -> tuple[float, float, float, float]:
    t = grid.transform
    xs = [(t @ (c, r))[0] for c in (0, grid.width) for r in (0, grid.height)]
    ys = [(t @ (c, r))[1] for c in (0, grid.width) for r in (0, grid.height)]
    return min(xs), min(ys), max(xs), max(ys)


def _coordinates(geometry: dict[str, Any]) -> tuple[list[float], list[float]]:
    """All x and y values of a GeoJSON geometry (any type, nested collections included)."""
    xs: list[float] = []
    ys: list[float] = []

    def walk(coords: Any) -> None:
        if isinstance(coords, (list, tuple)) and coords and isinstance(coords[0], (int, float)):
            xs.append(float(coords[0]))
            ys.append(float(coords[1]))
        elif isinstance(coords, (list, tuple)):
            for c in coords:
                walk(c)

    if geometry.get("type") == "GeometryCollection":
        for g in geometry.get("geometries", []):
            gx, gy = _coordinates(g)
            xs.extend(gx)
            ys.extend(gy)
    else:
        walk(geometry.get("coordinates", []))
    return xs, ys


class GridReader:
    """Reads windows of the chosen bands on a :class:`RasterGrid`; use as a context manager.

    ``read(window)`` returns ``(data, valid)``: ``data`` is ``[bands, h, w]`` in the raster's dtype
    with NoData and outside pixels set to 0, ``valid`` is ``[h, w]`` bool. A pixel is valid when
    any of the chosen bands is valid there (GDAL's dataset-mask rule), so a single saturated band
    equal to the NoData value does not blank a pixel.
    """

    def __init__(self, raster_path: Path | str, grid: RasterGrid, bands: tuple[int, ...]) -> None:
        self._src = open_raster(raster_path)
        self._vrt: WarpedVRT | None = None
        try:
            check_bands(bands, self._src.count, Path(raster_path).name)
        except EngineInputError:
            self._src.close()
            raise
        self.grid = grid
        self.dtype = np.dtype(self._src.dtypes[bands[0]])
        self._indexes = [b + 1 for b in bands]
        if grid.cell_size is not None:
            self._vrt = WarpedVRT(
                self._src,
                crs=self._src.crs,
                transform=grid.transform,
                width=grid.width,
                height=grid.height,
                resampling=Resampling.bilinear,
            )

    @property
    def band_count(self) -> int:
        return len(self._indexes)

    def __enter__(self) -> GridReader:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._vrt is not None:
            self._vrt.close()
        self._src.close()

    def read(self, window: PixelWindow) -> tuple[np.ndarray, np.ndarray]:
        data = np.zeros((len(self._indexes), window.height, window.width), dtype=self.dtype)
        valid = np.zeros((window.height, window.width), dtype=bool)
        inside = window.intersection(self.grid.window)
        if inside.is_empty:
            return data, valid
        ds: Any = self._vrt if self._vrt is not None else self._src
        rio_window = Window(inside.col_off, inside.row_off, inside.width, inside.height)
        block = ds.read(self._indexes, window=rio_window)
        masks = ds.read_masks(self._indexes, window=rio_window)
        ok = masks.any(axis=0)
        block[:, ~ok] = 0
        r, c = inside.row_off - window.row_off, inside.col_off - window.col_off
        data[:, r : r + inside.height, c : c + inside.width] = block
        valid[r : r + inside.height, c : c + inside.width] = ok
        return data, valid
