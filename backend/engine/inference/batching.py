"""Feeding a part's chips to the model: block reads, batches, device transfer, GPU-memory errors.

A part is read in blocks of ``k x k`` chips (``k = isqrt(batch_size)``, the block ArcGIS asks for),
so overlapping chips are cut from one read instead of being read again, and memory stays bounded by
one block plus one batch whatever the raster size. Chips are then regrouped into batches of exactly
``batch_size`` (ArcGIS rounds batch_size down to a perfect square; we do not need to).
"""
from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import torch

from backend.engine.errors import EngineInputError
from backend.engine.inference.protocols import PredictorLike
from backend.engine.inference.reading import GridReader
from backend.engine.inference.tiling import ChipSpec, PartSpec, PixelWindow, chip_at

# Cap on the side of one block read (pixels), whatever the batch size.
MAX_BLOCK_PIXELS = 4096


@dataclass(frozen=True)
class PartResult:
    """What one part did: ``count`` features (detect) or classified pixels (classify pixels)."""

    count: int
    chips: int  # chips run through the model
    skipped: int = 0  # chips with no valid pixel in their centre region (not run)


@dataclass
class ChipBatch:
    """Chips ready for the model; ``skipped`` are chips with no valid pixel in their centre."""

    chips: list[ChipSpec]
    data: np.ndarray  # [B, bands, C, C] raw values, NoData and outside = 0
    valid: np.ndarray  # [B, C, C] bool
    skipped: list[ChipSpec] = field(default_factory=list)
    done: int = 0  # chips of the part consumed so far (batched or skipped)


def _blocks(part: PartSpec, k: int) -> Iterator[tuple[range, range]]:
    r0, r1 = part.chip_rows
    c0, c1 = part.chip_cols
    for br in range(r0, r1, k):
        for bc in range(c0, c1, k):
            yield range(br, min(r1, br + k)), range(bc, min(c1, bc + k))


def _centre_has_data(chip: ChipSpec, valid: np.ndarray) -> bool:
    r = chip.centre.row_off - chip.window.row_off
    c = chip.centre.col_off - chip.window.col_off
    return bool(valid[r : r + chip.centre.height, c : c + chip.centre.width].any())


def iter_chip_batches(reader: GridReader, part: PartSpec, batch_size: int) -> Iterator[ChipBatch]:
    """Batches of the part's chips in block order; the last batch may be short or empty.

    A final batch with no chips is yielded when chips were skipped after the last full batch, so
    callers see every skipped chip.
    """
    if batch_size < 1:
        raise EngineInputError(f"batch_size must be 1 or more (got {batch_size})")
    tiles = part.tiles
    k = max(1, min(math.isqrt(batch_size), MAX_BLOCK_PIXELS // tiles.chip_size or 1))
    bands = reader.band_count
    c = tiles.chip_size
    chips: list[ChipSpec] = []
    data = np.zeros((batch_size, bands, c, c), dtype=reader.dtype)
    valid = np.zeros((batch_size, c, c), dtype=bool)
    skipped: list[ChipSpec] = []
    done = 0
    for rows, cols in _blocks(part, k):
        first = chip_at(part.window, tiles, rows[0], cols[0]).window
        last = chip_at(part.window, tiles, rows[-1], cols[-1]).window
        block_window = PixelWindow(
            first.col_off, first.row_off, last.col_end - first.col_off, last.row_end - first.row_off
        )
        block, block_valid = reader.read(block_window)
        for r in rows:
            for col in cols:
                chip = chip_at(part.window, tiles, r, col)
                y = chip.window.row_off - block_window.row_off
                x = chip.window.col_off - block_window.col_off
                chip_valid = block_valid[y : y + c, x : x + c]
                done += 1
                if not _centre_has_data(chip, chip_valid):
                    skipped.append(chip)
                    continue
                i = len(chips)
                data[i] = block[:, y : y + c, x : x + c]
                valid[i] = chip_valid
                chips.append(chip)
                if len(chips) == batch_size:
                    yield ChipBatch(chips, data.copy(), valid.copy(), skipped, done)
                    chips, skipped = [], []
    if chips or skipped:
        n = len(chips)
        yield ChipBatch(chips, data[:n].copy(), valid[:n].copy(), skipped, done)


def oom_message(batch_size: int) -> str:
    return f"out of GPU memory: lower batch_size (now {batch_size})"


@contextmanager
def gpu_memory_guard(batch_size: int) -> Iterator[None]:
    """Turn CUDA out-of-memory into an input error telling the user to lower batch_size."""
    try:
        yield
    except torch.cuda.OutOfMemoryError as exc:
        _release_cuda_cache()
        raise EngineInputError(oom_message(batch_size)) from exc
    except RuntimeError as exc:
        if "out of memory" not in str(exc).lower():
            raise
        _release_cuda_cache()
        raise EngineInputError(oom_message(batch_size)) from exc


def _release_cuda_cache() -> None:
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def to_model_input(predictor: PredictorLike, data: np.ndarray) -> torch.Tensor:
    """Normalise a batch with the predictor and make sure it sits on the predictor's device."""
    return predictor.prepare(data).to(predictor.device, non_blocking=True)
