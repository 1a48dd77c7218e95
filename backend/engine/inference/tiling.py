"""ArcGIS-style tiling of a processing window into padded model chips, and into parts.

Pure integer arithmetic, no I/O. Definitions (esri-dlpk.md §5): ``C`` is the model chip size
(ImageHeight, or the ``tile_size`` argument), ``p`` the padding, ``s = C - 2p`` the inner size and
stride. Chip ``(i, j)`` of a processing window starts ``p`` pixels before its centre region
``[row_off + i*s, row_off + (i+1)*s) x [col_off + j*s, col_off + (j+1)*s)``, so neighbouring chips
overlap by ``2p`` and every pixel of the window lies in the centre region of exactly one chip.
Chips that run past the raster edge are zero-filled and masked by the reader.

All windows are in the pixel space of the processing grid (the raster, or the raster resampled to a
cell size); rows and columns may be negative or past the grid for chips that overhang its edge.
"""
from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from backend.engine.errors import EngineInputError


@dataclass(frozen=True)
class PixelWindow:
    """A rectangle of pixels: columns ``[col_off, col_off+width)``, rows ``[row_off, row_off+height)``."""

    col_off: int
    row_off: int
    width: int
    height: int

    @property
    def col_end(self) -> int:
        return self.col_off + self.width

    @property
    def row_end(self) -> int:
        return self.row_off + self.height

    @property
    def is_empty(self) -> bool:
        return self.width <= 0 or self.height <= 0

    def intersection(self, other: PixelWindow) -> PixelWindow:
        """The common part (width/height 0 when they do not overlap)."""
        c0, r0 = max(self.col_off, other.col_off), max(self.row_off, other.row_off)
        c1, r1 = min(self.col_end, other.col_end), min(self.row_end, other.row_end)
        return PixelWindow(c0, r0, max(0, c1 - c0), max(0, r1 - r0))

    def contains_point(self, col: float, row: float) -> bool:
        """Half-open test, so a point on a shared edge belongs to exactly one window."""
        return self.col_off <= col < self.col_end and self.row_off <= row < self.row_end

    def to_list(self) -> list[int]:
        return [self.col_off, self.row_off, self.width, self.height]


@dataclass(frozen=True)
class TileSpec:
    """Chip size and padding; ``inner`` is the centre size and stride ``C - 2p``."""

    chip_size: int
    padding: int

    @property
    def inner(self) -> int:
        return self.chip_size - 2 * self.padding


def tile_spec(chip_size: int, padding: int) -> TileSpec:
    """Validated tile geometry; the padding must leave a centre of at least one pixel."""
    if chip_size < 1:
        raise EngineInputError(f"tile_size must be a positive number of pixels (got {chip_size})")
    if padding < 0:
        raise EngineInputError(f"padding must be 0 or more pixels (got {padding})")
    if chip_size - 2 * padding < 1:
        raise EngineInputError(
            f"padding {padding} is too large for tile size {chip_size}: "
            f"use at most {(chip_size - 1) // 2} (a quarter of the tile, {chip_size // 4}, is usual)"
        )
    return TileSpec(chip_size, padding)


@dataclass(frozen=True)
class ChipSpec:
    """One model chip: its grid index, full padded window and the centre region it owns."""

    row: int
    col: int
    window: PixelWindow  # C x C, may overhang the raster
    centre: PixelWindow  # centre region clipped to the processing window (what the chip owns)


def chip_grid_shape(window: PixelWindow, tiles: TileSpec) -> tuple[int, int]:
    """Number of chip rows and columns needed so the chip centres cover ``window``."""
    s = tiles.inner
    return math.ceil(window.height / s), math.ceil(window.width / s)


def chip_at(window: PixelWindow, tiles: TileSpec, row: int, col: int) -> ChipSpec:
    """Chip ``(row, col)`` of the grid laid over the processing ``window``."""
    s, p, c = tiles.inner, tiles.padding, tiles.chip_size
    r0 = window.row_off + row * s
    c0 = window.col_off + col * s
    centre = PixelWindow(c0, r0, s, s).intersection(window)
    return ChipSpec(row, col, PixelWindow(c0 - p, r0 - p, c, c), centre)


def iter_chips(window: PixelWindow, tiles: TileSpec) -> Iterator[ChipSpec]:
    """All chips of the window in row-major order."""
    rows, cols = chip_grid_shape(window, tiles)
    for r in range(rows):
        for c in range(cols):
            yield chip_at(window, tiles, r, c)


@dataclass(frozen=True)
class PartSpec:
    """A block of whole chip rows x chip columns that one worker processes.

    Parts of one plan own disjoint sets of chip centres that together cover the processing window.
    The spec is plain data (``to_dict``/``from_dict`` round-trip through JSON job parameters).
    """

    index: int
    window: PixelWindow  # processing window of the whole job, in grid pixels
    tiles: TileSpec
    chip_rows: tuple[int, int]  # [start, stop) of chip rows of the whole job grid
    chip_cols: tuple[int, int]
    grid_width: int  # size of the processing grid (raster edges matter to the edge rules)
    grid_height: int
    cell_size: float | None = None  # None: native raster grid; else the resampled grid

    @property
    def chip_count(self) -> int:
        return (self.chip_rows[1] - self.chip_rows[0]) * (self.chip_cols[1] - self.chip_cols[0])

    @property
    def inner_window(self) -> PixelWindow:
        """Pixels whose owner chip is in this part (the part's output area)."""
        first = chip_at(self.window, self.tiles, self.chip_rows[0], self.chip_cols[0]).centre
        last = chip_at(self.window, self.tiles, self.chip_rows[1] - 1, self.chip_cols[1] - 1).centre
        return PixelWindow(
            first.col_off, first.row_off, last.col_end - first.col_off, last.row_end - first.row_off
        )

    @property
    def read_window(self) -> PixelWindow:
        """Union of the part's padded chips (what must be read; may overhang the raster)."""
        first = chip_at(self.window, self.tiles, self.chip_rows[0], self.chip_cols[0]).window
        last = chip_at(self.window, self.tiles, self.chip_rows[1] - 1, self.chip_cols[1] - 1).window
        return PixelWindow(
            first.col_off, first.row_off, last.col_end - first.col_off, last.row_end - first.row_off
        )

    @property
    def grid_window(self) -> PixelWindow:
        return PixelWindow(0, 0, self.grid_width, self.grid_height)

    def chips(self) -> Iterator[ChipSpec]:
        for r in range(*self.chip_rows):
            for c in range(*self.chip_cols):
                yield chip_at(self.window, self.tiles, r, c)

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "window": self.window.to_list(),
            "chip_size": self.tiles.chip_size,
            "padding": self.tiles.padding,
            "chip_rows": list(self.chip_rows),
            "chip_cols": list(self.chip_cols),
            "grid_width": self.grid_width,
            "grid_height": self.grid_height,
            "cell_size": self.cell_size,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PartSpec:
        rows, cols = data["chip_rows"], data["chip_cols"]
        cell = data.get("cell_size")
        return cls(
            index=int(data["index"]),
            window=PixelWindow(*(int(v) for v in data["window"])),
            tiles=tile_spec(int(data["chip_size"]), int(data["padding"])),
            chip_rows=(int(rows[0]), int(rows[1])),
            chip_cols=(int(cols[0]), int(cols[1])),
            grid_width=int(data["grid_width"]),
            grid_height=int(data["grid_height"]),
            cell_size=None if cell is None else float(cell),
        )


def plan_parts(
    window: PixelWindow,
    chip_size: int,
    padding: int,
    part_size: int,
    *,
    grid_size: tuple[int, int] | None = None,
    cell_size: float | None = None,
) -> list[PartSpec]:
    """Split the chips of ``window`` into parts of about ``part_size`` x ``part_size`` pixels.

    ``part_size`` is in processing-grid pixels and is rounded down to whole chips (at least one).
    ``grid_size`` is ``(width, height)`` of the processing grid; when omitted the window is taken to
    reach the grid's right and bottom edges. Parts are numbered row-major from 0.
    """
    tiles = tile_spec(chip_size, padding)
    if window.is_empty:
        raise EngineInputError("the processing extent is empty: draw an area of at least one pixel")
    if part_size < 1:
        raise EngineInputError(f"part_size must be a positive number of pixels (got {part_size})")
    gw, gh = grid_size if grid_size is not None else (window.col_end, window.row_end)
    per_part = max(1, part_size // tiles.inner)
    rows, cols = chip_grid_shape(window, tiles)
    parts: list[PartSpec] = []
    for r0 in range(0, rows, per_part):
        for c0 in range(0, cols, per_part):
            parts.append(
                PartSpec(
                    index=len(parts),
                    window=window,
                    tiles=tiles,
                    chip_rows=(r0, min(rows, r0 + per_part)),
                    chip_cols=(c0, min(cols, c0 + per_part)),
                    grid_width=gw,
                    grid_height=gh,
                    cell_size=cell_size,
                )
            )
    return parts
