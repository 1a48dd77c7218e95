"""Tiling math: every pixel of the processing window is owned by exactly one chip centre."""
from __future__ import annotations

import json

import numpy as np
import pytest

from backend.engine.errors import EngineInputError
from backend.engine.inference.tiling import (
    PartSpec,
    PixelWindow,
    chip_at,
    iter_chips,
    plan_parts,
    tile_spec,
)

CASES = [
    # window, chip, padding
    (PixelWindow(0, 0, 400, 400), 64, 16),
    (PixelWindow(0, 0, 101, 37), 32, 8),  # odd sizes, not multiples of the stride
    (PixelWindow(13, 7, 55, 91), 25, 6),  # odd chip size, offset extent
    (PixelWindow(0, 0, 1, 1), 16, 4),  # one pixel
    (PixelWindow(5, 5, 64, 64), 64, 0),  # no padding: chips do not overlap
    (PixelWindow(0, 0, 50, 50), 9, 4),  # inner size 1
]


@pytest.mark.parametrize(("window", "chip", "pad"), CASES)
def test_every_pixel_lies_in_exactly_one_chip_centre(window: PixelWindow, chip: int, pad: int) -> None:
    tiles = tile_spec(chip, pad)
    cover = np.zeros((window.row_end + chip, window.col_end + chip), dtype=np.int32)
    for spec in iter_chips(window, tiles):
        c = spec.centre
        assert c.width > 0 and c.height > 0
        cover[c.row_off : c.row_end, c.col_off : c.col_end] += 1
        # the centre sits p pixels inside the chip; the chip is C x C
        assert spec.window.width == spec.window.height == chip
        assert spec.window.col_off == window.col_off + spec.col * tiles.inner - pad
        assert spec.window.row_off == window.row_off + spec.row * tiles.inner - pad
        assert spec.window.intersection(c) == c
    inside = cover[window.row_off : window.row_end, window.col_off : window.col_end]
    assert (inside == 1).all()
    assert cover.sum() == window.width * window.height  # nothing owned outside the window


def test_edge_chips_overhang_the_raster_by_the_padding() -> None:
    tiles = tile_spec(64, 16)
    first = chip_at(PixelWindow(0, 0, 100, 100), tiles, 0, 0)
    assert first.window == PixelWindow(-16, -16, 64, 64)
    assert first.centre == PixelWindow(0, 0, 32, 32)
    last = chip_at(PixelWindow(0, 0, 100, 100), tiles, 3, 3)
    assert last.centre == PixelWindow(96, 96, 4, 4)  # clipped to the window
    assert last.window.col_end == 96 + 32 + 16


@pytest.mark.parametrize(("window", "chip", "pad"), CASES)
@pytest.mark.parametrize("part_size", [1, 40, 100, 10_000])
def test_parts_own_each_chip_exactly_once(window: PixelWindow, chip: int, pad: int, part_size: int) -> None:
    parts = plan_parts(window, chip, pad, part_size)
    seen: dict[tuple[int, int], int] = {}
    cover = np.zeros((window.row_end, window.col_end), dtype=np.int32)
    for part in parts:
        for spec in part.chips():
            seen[(spec.row, spec.col)] = seen.get((spec.row, spec.col), 0) + 1
        inner = part.inner_window
        cover[inner.row_off : inner.row_end, inner.col_off : inner.col_end] += 1
        # the read window is the inner window grown by the padding (before clipping to the window)
        assert part.read_window.col_off == inner.col_off - pad
        assert part.read_window.row_off == inner.row_off - pad
    rows, cols = -(-window.height // (chip - 2 * pad)), -(-window.width // (chip - 2 * pad))
    assert sorted(seen) == [(r, c) for r in range(rows) for c in range(cols)]
    assert set(seen.values()) == {1}
    assert (cover[window.row_off :, window.col_off :] == 1).all()
    assert [p.index for p in parts] == list(range(len(parts)))


def test_part_size_rounds_down_to_whole_chips() -> None:
    parts = plan_parts(PixelWindow(0, 0, 1000, 500), 128, 32, 300)  # inner 64 -> 4 chips per part
    assert parts[0].chip_rows == (0, 4) and parts[0].chip_cols == (0, 4)
    assert parts[0].inner_window == PixelWindow(0, 0, 256, 256)
    assert len(parts) == 2 * 4  # 8 chip rows x 16 chip cols


def test_part_spec_round_trips_through_json() -> None:
    part = plan_parts(PixelWindow(3, 4, 300, 200), 64, 16, 64, grid_size=(500, 400), cell_size=0.5)[5]
    again = PartSpec.from_dict(json.loads(json.dumps(part.to_dict())))
    assert again == part
    assert (again.grid_width, again.grid_height, again.cell_size) == (500, 400, 0.5)


@pytest.mark.parametrize(("chip", "pad", "fix"), [(64, 32, "at most 31"), (0, 0, "positive"), (64, -1, "0 or more")])
def test_bad_tile_geometry_says_what_to_fix(chip: int, pad: int, fix: str) -> None:
    with pytest.raises(EngineInputError, match=fix):
        tile_spec(chip, pad)


def test_empty_window_is_rejected() -> None:
    with pytest.raises(EngineInputError, match="empty"):
        plan_parts(PixelWindow(0, 0, 0, 10), 64, 16, 1000)
