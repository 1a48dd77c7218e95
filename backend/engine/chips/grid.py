"""Where chips are cut: the pixel grid of a raster and the chip footprints laid over it.

A chip is described by an affine transform from chip pixels to the raster CRS plus its size, so
plain tiles, rotated copies and Labeled_Tiles crops share one code path for reading and labels.
"""
from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

from affine import Affine
from shapely import prepared
from shapely.geometry import Polygon
from shapely.geometry.base import BaseGeometry

# Chip transforms closer than this (in grid pixels) to whole-pixel offsets are read directly.
_ALIGN_EPS = 1e-6
# Geometry bounds closer than this to a pixel edge snap to it: labels reprojected from
# EPSG:4326 degrees stored with 8 decimals (about 1 mm) land a hair off the pixel edges.
_SNAP_PX = 0.02


@dataclass(frozen=True)
class Grid:
    """The pixel grid chips are cut from: the raster's own grid or its resampled version."""

    transform: Affine
    width: int
    height: int

    def footprint(self) -> Polygon:
        return footprint_of(self.transform, self.width, self.height)


@dataclass(frozen=True)
class ChipSpec:
    """One chip: ``transform`` maps chip pixel (col, row) to raster CRS coordinates."""

    transform: Affine
    width: int
    height: int
    angle: float = 0.0
    feature_index: int | None = None  # Labeled_Tiles: position of the feature it is centred on

    def footprint(self) -> Polygon:
        return footprint_of(self.transform, self.width, self.height)


def footprint_of(transform: Affine, width: int, height: int) -> Polygon:
    corners = [transform @ xy for xy in ((0, 0), (width, 0), (width, height), (0, height))]
    return Polygon(corners)


def axis_origins(start: int, stop: int, tile: int, stride: int) -> list[int]:
    """Chip origins covering [start, stop): the last chip may run past ``stop`` (padded)."""
    span = stop - start
    if span <= 0:
        return []
    count = 1 + max(0, math.ceil((span - tile) / stride))
    return [start + k * stride for k in range(count)]


def area_window(grid: Grid, extent: BaseGeometry | None) -> tuple[int, int, int, int] | None:
    """(col0, row0, col1, row1) of the grid covered by ``extent`` (raster CRS), or None."""
    if extent is None:
        return 0, 0, grid.width, grid.height
    inverse = ~grid.transform
    xs, ys = zip(*(inverse @ xy for xy in _corners(extent.bounds)))
    col0 = max(0, math.floor(min(xs) + _SNAP_PX))
    row0 = max(0, math.floor(min(ys) + _SNAP_PX))
    col1 = min(grid.width, math.ceil(max(xs) - _SNAP_PX))
    row1 = min(grid.height, math.ceil(max(ys) - _SNAP_PX))
    if col1 <= col0 or row1 <= row0:
        return None
    return col0, row0, col1, row1


def tile_specs(
    grid: Grid,
    tile_x: int,
    tile_y: int,
    stride_x: int,
    stride_y: int,
    extent: BaseGeometry | None,
) -> Iterator[ChipSpec]:
    """Row-major tiles over the grid (or the part of it inside ``extent``)."""
    window = area_window(grid, extent)
    if window is None:
        return
    col0, row0, col1, row1 = window
    inside = prepared.prep(extent) if extent is not None else None
    for row in axis_origins(row0, row1, tile_y, stride_y):
        for col in axis_origins(col0, col1, tile_x, stride_x):
            spec = ChipSpec(grid.transform @ Affine.translation(col, row), tile_x, tile_y)
            if inside is None or inside.intersects(spec.footprint()):
                yield spec


def tile_count(
    grid: Grid, tile_x: int, tile_y: int, stride_x: int, stride_y: int, extent: BaseGeometry | None
) -> int:
    """Upper bound of tile_specs' length (exact without an extent), for progress totals."""
    window = area_window(grid, extent)
    if window is None:
        return 0
    col0, row0, col1, row1 = window
    return len(axis_origins(row0, row1, tile_y, stride_y)) * len(
        axis_origins(col0, col1, tile_x, stride_x)
    )


def centred_spec(
    grid: Grid, geometry: BaseGeometry, tile_x: int, tile_y: int, fixed_size: bool, index: int
) -> ChipSpec:
    """Labeled_Tiles chip for one feature (geometry in the raster CRS).

    Fixed size: a tile_x x tile_y chip on whole grid pixels, centred on the feature's bounding
    box. Bounding box: the feature's bounding box (snapped outwards to grid pixels) resampled to
    tile_x x tile_y, so every chip has the model's input size.
    """
    inverse = ~grid.transform
    xs, ys = zip(*(inverse @ xy for xy in _corners(geometry.bounds)))
    if fixed_size:
        col = math.floor((min(xs) + max(xs)) / 2 - tile_x / 2 + 0.5)
        row = math.floor((min(ys) + max(ys)) / 2 - tile_y / 2 + 0.5)
        return ChipSpec(grid.transform @ Affine.translation(col, row), tile_x, tile_y,
                        feature_index=index)
    col0, row0 = math.floor(min(xs) + _SNAP_PX), math.floor(min(ys) + _SNAP_PX)
    col1 = max(col0 + 1, math.ceil(max(xs) - _SNAP_PX))
    row1 = max(row0 + 1, math.ceil(max(ys) - _SNAP_PX))
    scale = Affine.scale((col1 - col0) / tile_x, (row1 - row0) / tile_y)
    return ChipSpec(grid.transform @ Affine.translation(col0, row0) @ scale, tile_x, tile_y,
                    feature_index=index)


def rotated(spec: ChipSpec, angle: float) -> ChipSpec:
    """A copy of the chip turned by ``angle`` degrees about its centre (same size)."""
    if angle == 0:
        return spec
    cx, cy = spec.width / 2, spec.height / 2
    turn = Affine.translation(cx, cy) @ Affine.rotation(angle) @ Affine.translation(-cx, -cy)
    return ChipSpec(spec.transform @ turn, spec.width, spec.height, angle, spec.feature_index)


def aligned_offset(grid: Grid, spec: ChipSpec) -> tuple[int, int] | None:
    """(col, row) when the chip is an unrotated, unscaled window of the grid; else None."""
    rel = ~grid.transform @ spec.transform
    if not (
        abs(rel.a - 1) < _ALIGN_EPS and abs(rel.e - 1) < _ALIGN_EPS
        and abs(rel.b) < _ALIGN_EPS and abs(rel.d) < _ALIGN_EPS
    ):
        return None
    col, row = round(rel.c), round(rel.f)
    if abs(rel.c - col) > _ALIGN_EPS or abs(rel.f - row) > _ALIGN_EPS:
        return None
    return col, row


def covering_window(grid: Grid, spec: ChipSpec) -> tuple[int, int, int, int]:
    """(col, row, width, height) of grid pixels under the chip footprint, one pixel margin."""
    inverse = ~grid.transform
    xs, ys = zip(*(inverse @ xy for xy in spec.footprint().exterior.coords))
    col0, row0 = math.floor(min(xs)) - 1, math.floor(min(ys)) - 1
    col1, row1 = math.ceil(max(xs)) + 1, math.ceil(max(ys)) + 1
    return col0, row0, col1 - col0, row1 - row0


def _corners(bounds: tuple[float, float, float, float]) -> list[tuple[float, float]]:
    minx, miny, maxx, maxy = bounds
    return [(minx, miny), (maxx, miny), (maxx, maxy), (minx, maxy)]

