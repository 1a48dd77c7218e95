"""Planning a tiled inference run: validate inputs once, then split it into parts for workers."""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from rasterio.io import DatasetReader

from backend.engine.dlpk.emd import Emd
from backend.engine.errors import EngineInputError
from backend.engine.inference.reading import (
    RasterGrid,
    check_bands,
    extent_window,
    open_raster,
    processing_grid,
)
from backend.engine.inference.tiling import PartSpec, PixelWindow, plan_parts, tile_spec

# Default part side in processing-grid pixels: big enough that per-part overhead (opening the
# raster, loading the model on a worker) is small, small enough to spread a scene over workers.
DEFAULT_PART_SIZE = 4096


@dataclass(frozen=True)
class InferencePlan:
    grid: RasterGrid
    window: PixelWindow  # processing window in grid pixels
    parts: list[PartSpec]


def resolve_tiles(chip_size: int, tile_size: int | None, padding: int | None) -> tuple[int, int]:
    """Chip size (``tile_size`` or the model's ImageHeight) and padding (default chip // 4)."""
    size = int(tile_size) if tile_size else int(chip_size)
    pad = size // 4 if padding is None else int(padding)
    tile_spec(size, pad)  # validates
    return size, pad


def input_scale_of(emd: Emd) -> float:
    """How much coarser than the exported chips the model saw the ground: training resized
    chips of `resized_from` pixels to ImageHeight, so inference reads the raster that much coarser
    (objects keep the size in pixels the model learned). 1.0 for every other package."""
    chip = emd.image_height or emd.image_width
    return emd.resized_from / chip if emd.resized_from and chip else 1.0


def native_cell_size(src: DatasetReader) -> float:
    """The raster's pixel size in CRS units (square root of the pixel area when rotated)."""
    t = src.transform
    return abs(t.a) if t.b == 0 and t.d == 0 and abs(t.a) == abs(t.e) else math.sqrt(abs(t.a * t.e - t.b * t.d))


def plan_inference(
    raster_path: Path | str,
    *,
    chip_size: int,
    padding: int,
    extract_bands: tuple[int, ...],
    processing_extent: dict[str, Any] | None = None,
    cell_size: float | None = None,
    part_size: int = DEFAULT_PART_SIZE,
    input_scale: float = 1.0,
) -> InferencePlan:
    """Check bands, extent and cell size against the raster and split the window into parts.

    ``processing_extent`` is a GeoJSON geometry in EPSG:4326 (its bounding rectangle is used);
    ``cell_size`` is in raster CRS units (None: the raster's own resolution, times
    ``input_scale`` when the model was trained on chips shrunk by that factor: see
    `input_scale_of`).
    """
    name = Path(raster_path).name
    with open_raster(raster_path) as src:
        check_bands(tuple(extract_bands), src.count, name)
        if cell_size is None and input_scale != 1.0:
            cell_size = native_cell_size(src) * input_scale
        grid = processing_grid(src, cell_size)
    window = grid.window if processing_extent is None else extent_window(grid, processing_extent, name)
    parts = plan_parts(
        window,
        chip_size,
        padding,
        part_size,
        grid_size=(grid.width, grid.height),
        cell_size=grid.cell_size,
    )
    return InferencePlan(grid, window, parts)


def part_grid(raster_path: Path | str, part: PartSpec) -> RasterGrid:
    """Rebuild the processing grid of a part on a worker and check it is the planned one."""
    with open_raster(raster_path) as src:
        grid = processing_grid(src, part.cell_size)
    if (grid.width, grid.height) != (part.grid_width, part.grid_height):
        raise EngineInputError(
            f"raster {Path(raster_path).name} is {grid.width} x {grid.height} pixels on the "
            f"processing grid but the job was planned for {part.grid_width} x {part.grid_height}; "
            f"run the job again"
        )
    return grid


def pick_fields(cls: type, arguments: Mapping[str, Any]) -> dict[str, Any]:
    """The entries of ``arguments`` that are fields of dataclass ``cls`` (others are ignored)."""
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in arguments.items() if k in names}
