"""Fake predictors implementing the nets.predictor protocol, and synthetic GeoTIFF helpers.

The fakes "see" bright pixels: band 0 > 128 is object/class 1. They run on raw values, so tests can
predict exactly what any chip yields.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import rasterio
import torch
from affine import Affine
from rasterio.features import rasterize, shapes
from shapely.geometry import shape

ORIGIN_X, ORIGIN_Y = 500_000.0, 4_000_000.0
CRS = "EPSG:32633"
BRIGHT = 200


@dataclass(frozen=True)
class FakeClass:
    value: int
    name: str
    color: tuple[int, int, int] | None = None


@dataclass(frozen=True)
class FakeDetections:
    boxes: np.ndarray
    scores: np.ndarray
    labels: np.ndarray
    masks: np.ndarray | None


@dataclass
class FakePredictor:
    family: str = "object_detection"
    chip_size: int = 64
    extract_bands: tuple[int, ...] = (0, 1, 2)
    classes: tuple[FakeClass, ...] = (FakeClass(1, "Tree", (0, 200, 0)),)
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    score: float = 0.9
    batches: list[int] = field(default_factory=list)
    raise_oom: bool = False

    def prepare(self, chips: np.ndarray) -> torch.Tensor:
        assert chips.ndim == 4 and chips.shape[1] == len(self.extract_bands)
        assert chips.shape[2:] == (self.chip_size, self.chip_size)
        return torch.from_numpy(chips.astype(np.float32))

    def _oom(self) -> None:
        self.batches.append(0)
        if self.raise_oom:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    def detect(self, batch: torch.Tensor, threshold: float, nms_overlap: float) -> list[FakeDetections]:
        self._oom()
        self.batches[-1] = len(batch)
        out = []
        for chip in batch.numpy():
            bright = (chip[0] > 128).astype(np.uint8)
            boxes, masks, labels = [], [], []
            for geom, value in shapes(bright, mask=bright.astype(bool), connectivity=4):
                if not value:
                    continue
                poly = shape(geom)
                x0, y0, x1, y1 = poly.bounds
                boxes.append([x0, y0, x1, y1])
                masks.append(rasterize([poly], out_shape=bright.shape).astype(bool))
                # class 2 where band 1 is bright too (two-class tests)
                r, c = int(y0), int(x0)
                labels.append(2 if len(self.classes) > 1 and chip[1, r, c] > 128 else 1)
            n = len(boxes)
            out.append(
                FakeDetections(
                    boxes=np.array(boxes, dtype=np.float32).reshape(n, 4),
                    scores=np.full(n, self.score, dtype=np.float32),
                    labels=np.array(labels, dtype=np.int64),
                    masks=np.array(masks, dtype=bool).reshape(n, *bright.shape)
                    if self.family == "instance_detection"
                    else None,
                )
            )
        return out

    def segment(self, batch: torch.Tensor) -> np.ndarray:
        self._oom()
        self.batches[-1] = len(batch)
        x = batch.numpy()
        fg = (x[:, 0] > 128).astype(np.float32)
        probs = [1.0 - fg * 0.8 - 0.1, fg * 0.8]  # background 0.9 / 0.1 vs class 1 0.0.. 0.8
        for k in range(2, len(self.classes) + 1):
            probs.append(np.full_like(fg, 0.05 * k))
        return np.stack(probs, axis=1).astype(np.float32)

    def classify(self, batch: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        self._oom()
        self.batches[-1] = len(batch)
        x = batch.numpy()
        bright = (x[:, 0] > 128).mean(axis=(1, 2)) > 0.25
        return bright.astype(np.int64), np.where(bright, 0.8, 0.6)


def write_raster(
    path: Path,
    data: np.ndarray,
    *,
    res: float = 1.0,
    nodata: float | None = None,
    tiled: bool = False,
    compress: str | None = None,
) -> Path:
    bands, h, w = data.shape
    profile = {
        "driver": "GTiff", "width": w, "height": h, "count": bands, "dtype": data.dtype.name,
        "crs": CRS, "transform": transform_of(res), "nodata": nodata,
    }
    if tiled:
        profile.update(tiled=True, blockxsize=256, blockysize=256)
    if compress:
        profile["compress"] = compress
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)
    return path


def transform_of(res: float = 1.0) -> Affine:
    return Affine(res, 0.0, ORIGIN_X, 0.0, -res, ORIGIN_Y)


def squares_image(height: int, width: int, squares: list[tuple[int, int, int, int]], bands: int = 3) -> np.ndarray:
    """uint8 image, dark (10) with bright (BRIGHT) squares given as (row0, col0, row1, col1)."""
    img = np.full((bands, height, width), 10, dtype=np.uint8)
    for r0, c0, r1, c1 in squares:
        img[0, r0:r1, c0:c1] = BRIGHT
    return img
