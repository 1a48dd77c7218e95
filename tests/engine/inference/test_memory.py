"""Memory stays flat: reads are bounded by one block of chips whatever the raster size."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
import torch

from backend.engine.inference import reading
from backend.engine.inference.detect import DetectArgs, detect_objects_part
from backend.engine.inference.planning import plan_inference
from backend.engine.inference.tiling import PixelWindow

from .fakes import FakePredictor, transform_of

torch.set_num_threads(1)


def big_raster(path: Path, size: int) -> Path:
    """A tiled, compressed single-band raster written block by block (never whole in memory)."""
    profile = {
        "driver": "GTiff", "width": size, "height": size, "count": 1, "dtype": "uint8",
        "crs": "EPSG:32633", "transform": transform_of(), "tiled": True, "blockxsize": 512,
        "blockysize": 512, "compress": "deflate",
    }
    block = np.full((512, 512), 10, dtype=np.uint8)
    block[100:120, 100:120] = 200
    with rasterio.open(path, "w", **profile) as dst:
        for r in range(0, size, 512):
            for c in range(0, size, 512):
                h, w = min(512, size - r), min(512, size - c)
                dst.write(block[:h, :w], 1, window=rasterio.windows.Window(c, r, w, h))
    return path


@pytest.mark.parametrize("size", [1024, 6000])
def test_largest_read_does_not_depend_on_raster_size(tmp_path: Path, monkeypatch, size: int) -> None:
    path = big_raster(tmp_path / "big.tif", size)
    largest: list[int] = []
    original = reading.GridReader.read

    def spy(self: reading.GridReader, window: PixelWindow):  # type: ignore[no-untyped-def]
        largest.append(window.width * window.height)
        return original(self, window)

    monkeypatch.setattr(reading.GridReader, "read", spy)
    (part,) = plan_inference(path, chip_size=512, padding=0, extract_bands=(0,), part_size=10**6).parts
    predictor = FakePredictor(chip_size=512, extract_bands=(0,))
    result = detect_objects_part(path, part, predictor, DetectArgs(padding=0, batch_size=4), lambda f: None)
    assert result.count == (-(-size // 512)) ** 2  # one square per 512 block
    assert max(largest) <= (2 * 512) ** 2  # a 2 x 2 chip block, the batch of 4
