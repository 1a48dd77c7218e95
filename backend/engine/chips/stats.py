"""Running statistics over exported chips: band moments and per-class label counts."""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from backend.engine.chips.features import ChipLabel
from backend.engine.chips.params import ClassDef, ClassStats


@dataclass
class Running:
    """Min/Max/Mean/Sum/Count of a series, as the ArcGIS stats files write them."""

    minimum: float = math.inf
    maximum: float = -math.inf
    total: float = 0.0
    count: int = 0

    def add(self, value: float) -> None:
        self.minimum = min(self.minimum, value)
        self.maximum = max(self.maximum, value)
        self.total += value
        self.count += 1

    @property
    def mean(self) -> float:
        return self.total / self.count if self.count else 0.0

    def to_json(self, integer: bool = False) -> dict[str, Any]:
        empty = self.count == 0
        cast = int if integer else float
        return {
            "Min": cast(0 if empty else self.minimum),
            "Max": cast(0 if empty else self.maximum),
            "Mean": self.mean,
            "Sum": cast(self.total),
            "Count": self.count,
        }


# Small integer types: squares fit the next wider type, so sums stay exact and cheap.
_SQUARE_TYPES = {np.dtype(np.uint8): np.uint16, np.dtype(np.int8): np.int16,
                 np.dtype(np.uint16): np.uint32, np.dtype(np.int16): np.int32}


@dataclass(frozen=True)
class ChipMoments:
    """One chip's per-band statistics, computed anywhere and merged in chip order."""

    count: int
    lows: list[float]
    highs: list[float]
    sums: list[int] | None = None  # exact integer sums (8/16-bit data)
    squares: list[int] | None = None
    means: list[float] | None = None  # other data: mean and M2 of the chip
    m2s: list[float] | None = None


def chip_moments(data: np.ndarray, valid: np.ndarray) -> ChipMoments | None:
    """Statistics of the valid pixels of one chip; None when it has none."""
    values = _pixels(data, valid, bool(valid.all()))
    if values.dtype.kind == "f":
        values = np.compress(np.isfinite(values).all(axis=0), values, axis=1)
    count = int(values.shape[1])
    if count == 0:
        return None
    lows, highs = values.min(axis=1).tolist(), values.max(axis=1).tolist()
    square = _SQUARE_TYPES.get(data.dtype)
    if square is None:
        chip = values.astype(np.float64)
        mean = chip.mean(axis=1)
        m2 = np.square(chip - mean[:, None]).sum(axis=1)
        return ChipMoments(count, lows, highs, means=mean.tolist(), m2s=m2.tolist())
    wide = values.astype(square)
    np.multiply(wide, wide, out=wide)
    sums = [int(v) for v in values.sum(axis=1, dtype=np.int64).tolist()]
    squares = [int(v) for v in wide.sum(axis=1, dtype=np.uint64).tolist()]
    return ChipMoments(count, lows, highs, sums=sums, squares=squares)


class BandStats:
    """Per-band min, max and pooled moments (M1 = mean, M2 = sum of squared deviations).

    8- and 16-bit integers keep exact integer sums of values and squares; other types merge
    each chip's moments with Chan's parallel formula. Memory stays constant either way, and
    several exports can be pooled the same way.
    """

    def __init__(self, count: int) -> None:
        self.count = count
        self._num = [0] * count
        self._sum = [0] * count  # exact sums (integer data)
        self._squares = [0] * count
        self._m1 = [0.0] * count  # running moments (other data)
        self._m2 = [0.0] * count
        self._min = [math.inf] * count
        self._max = [-math.inf] * count
        self._exact = True

    def add(self, data: np.ndarray, valid: np.ndarray) -> None:
        """Add one chip's valid pixels (data [bands, h, w], valid [h, w])."""
        self.merge(chip_moments(data, valid))

    def merge(self, chip: ChipMoments | None) -> None:
        if chip is None:
            return
        n = chip.count
        for band in range(self.count):
            if chip.sums is not None and chip.squares is not None:
                self._sum[band] += chip.sums[band]
                self._squares[band] += chip.squares[band]
            elif chip.means is not None and chip.m2s is not None:
                self._exact = False
                num = self._num[band]
                total = num + n
                delta = chip.means[band] - self._m1[band]
                self._m2[band] += chip.m2s[band] + delta * delta * num * n / total
                self._m1[band] += delta * n / total
            self._num[band] += n
            self._min[band] = min(self._min[band], chip.lows[band])
            self._max[band] = max(self._max[band], chip.highs[band])

    def moments(self) -> list[tuple[int, float, float, float, float]]:
        """(num, min, max, mean, M2) per band; min/max are 0 for bands without pixels."""
        out = []
        for band in range(self.count):
            num = self._num[band]
            if num == 0:
                out.append((0, 0.0, 0.0, 0.0, 0.0))
                continue
            if self._exact:
                total = self._sum[band]
                mean = total / num
                m2 = (num * self._squares[band] - total * total) / num  # exact numerator
            else:
                mean, m2 = self._m1[band], self._m2[band]
            out.append((num, self._min[band], self._max[band], mean, m2))
        return out

    def table(self) -> list[tuple[float, float, float, float, float, float, int]]:
        """(min, max, mean, std, M1, M2, num) per band; std = sqrt(M2 / num)."""
        return [(low, high, mean, math.sqrt(m2 / num) if num else 0.0, mean, m2, num)
                for num, low, high, mean, m2 in self.moments()]

    def state_json(self, names: Sequence[str]) -> list[dict[str, Any]]:
        """``BandStatsState`` of esri_accumulated_stats.json."""
        return [{"BandName": name, "Min": low, "Max": high, "Mean": mean, "StdDev": std,
                 "M1": m1, "M2": m2, "Num": num}
                for name, (low, high, mean, std, m1, m2, num) in zip(names, self.table())]

    def all_tiles_json(self, names: Sequence[str]) -> list[dict[str, Any]]:
        """``AllTilesStats`` of esri_model_definition.emd."""
        return [{"BandName": name, "Min": low, "Max": high, "Mean": mean, "StdDev": std}
                for name, (low, high, mean, std, *_rest) in zip(names, self.table())]


def _pixels(data: np.ndarray, valid: np.ndarray, whole: bool) -> np.ndarray:
    """[bands, n] C-contiguous valid pixels. (``data[:, valid]`` would come out with strides
    (1, bands), which makes every per-band reduction hundreds of times slower.)"""
    flat = data.reshape(data.shape[0], -1)
    return np.ascontiguousarray(flat) if whole else np.compress(valid.ravel(), flat, axis=1)


@dataclass
class _ClassCounts:
    images: int = 0
    features: int = 0
    pixels: int = 0
    area: Running = field(default_factory=Running)
    pixels_per_image: Running = field(default_factory=Running)


class LabelStats:
    """FeatureStats / ClassPixelStats of esri_accumulated_stats.json, and stats.txt rows."""

    def __init__(self, classes: Sequence[ClassDef]) -> None:
        self.classes = list(classes)
        self._counts = {c.value: _ClassCounts() for c in classes}
        self.images = 0
        self.features = 0
        self.features_per_image = Running()
        self.classes_per_image = Running()

    def add(self, labels: Sequence[ChipLabel], class_pixels: dict[int, int] | None) -> None:
        self.images += 1
        self.features += len(labels)
        self.features_per_image.add(len(labels))
        seen: set[int] = set()
        for label in labels:
            counts = self._counts[label.feature.class_value]
            counts.features += 1
            counts.area.add(label.map_area)
            seen.add(label.feature.class_value)
        if class_pixels is not None:
            seen = {value for value, n in class_pixels.items() if n > 0}
            for value, counts in self._counts.items():
                n = class_pixels.get(value, 0)
                counts.pixels += n
                counts.pixels_per_image.add(n)
        for value in seen:
            self._counts[value].images += 1
        self.classes_per_image.add(len(seen))

    def class_stats(self) -> tuple[ClassStats, ...]:
        return tuple(
            ClassStats(c.value, c.name, self._counts[c.value].images,
                       self._counts[c.value].features, self._counts[c.value].pixels)
            for c in self.classes
        )

    def feature_json(self) -> dict[str, Any]:
        counts = [self._counts[c.value] for c in self.classes]
        return {
            "NumClasses": len(self.classes),
            "NumImagesTotal": self.images,
            "NumFeaturesTotal": self.features,
            "NumImagesPerClass": [c.images for c in counts],
            "NumFeaturesPerClass": [c.features for c in counts],
            "NumFeaturesPerImage": self.features_per_image.to_json(integer=True),
            "FeatureAreaPerClass": [c.area.to_json() for c in counts],
        }

    def pixel_json(self) -> dict[str, Any]:
        counts = [self._counts[c.value] for c in self.classes]
        return {
            "NumClasses": len(self.classes),
            "NumImagesTotal": self.images,
            "NumImagesPerClass": [c.images for c in counts],
            "NumPixelsPerClass": [c.pixels for c in counts],
            "NumClassesPerImage": self.classes_per_image.to_json(integer=True),
            "PixelsPerClass": [c.pixels_per_image.to_json(integer=True) for c in counts],
        }

    def text_rows(self, pixels: bool) -> list[tuple[str, int, int, int, float, float, float]]:
        """(name, value, images, features or pixels, min, mean, max size) per class."""
        rows = []
        for c in self.classes:
            counts = self._counts[c.value]
            series = counts.pixels_per_image if pixels else counts.area
            amount = counts.pixels if pixels else counts.features
            low = series.minimum if series.count else 0.0
            high = series.maximum if series.count else 0.0
            rows.append((c.name, c.value, counts.images, amount, low, series.mean, high))
        return rows
