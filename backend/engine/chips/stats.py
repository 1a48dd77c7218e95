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


class BandStats:
    """Per-band min, max and pooled moments (M1 = mean, M2 = sum of squared deviations).

    8- and 16-bit integer data are counted in per-band histograms (exact and cheap per chip);
    other types merge each chip's moments with Chan's parallel formula. Memory stays constant
    either way, and several exports can be pooled the same way.
    """

    def __init__(self, count: int) -> None:
        self.count = count
        self._num = np.zeros(count, dtype=np.int64)
        self._m1 = np.zeros(count, dtype=np.float64)
        self._m2 = np.zeros(count, dtype=np.float64)
        self._min = np.full(count, np.inf)
        self._max = np.full(count, -np.inf)
        self._hist: np.ndarray | None = None
        self._offset = 0

    def add(self, data: np.ndarray, valid: np.ndarray) -> None:
        """Add one chip's valid pixels (data [bands, h, w], valid [h, w])."""
        if data.dtype.kind in "ui" and data.dtype.itemsize <= 2:
            self._add_histogram(data, valid)
            return
        values = data.reshape(data.shape[0], -1) if valid.all() else data[:, valid]
        if values.dtype.kind == "f":
            values = values[:, np.isfinite(values).all(axis=0)]
        if values.shape[1] == 0:
            return
        self._merge(values.shape[1], values.min(axis=1).astype(np.float64),
                    values.max(axis=1).astype(np.float64), values.astype(np.float64))

    def _add_histogram(self, data: np.ndarray, valid: np.ndarray) -> None:
        if self._hist is None:
            self._offset = -int(np.iinfo(data.dtype).min)
            bins = int(np.iinfo(data.dtype).max) + self._offset + 1
            self._hist = np.zeros((self.count, bins), dtype=np.int64)
        whole = valid.all()
        for band in range(self.count):
            values = data[band].ravel() if whole else data[band][valid]
            if self._offset:
                values = values.astype(np.int64) + self._offset
            self._hist[band] += np.bincount(values, minlength=self._hist.shape[1])

    def _merge(self, n: int, low: np.ndarray, high: np.ndarray, chip: np.ndarray) -> None:
        mean = chip.mean(axis=1)
        m2 = np.square(chip - mean[:, None]).sum(axis=1)
        self._min = np.minimum(self._min, low)
        self._max = np.maximum(self._max, high)
        total = self._num + n
        delta = mean - self._m1
        self._m2 += m2 + delta * delta * self._num * n / total
        self._m1 += delta * n / total
        self._num = total

    def moments(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(num, min, max, mean, M2) per band; min/max are 0 for bands without pixels."""
        if self._hist is None:
            num, m1, m2 = self._num, self._m1, self._m2
            low = np.where(num > 0, self._min, 0.0)
            high = np.where(num > 0, self._max, 0.0)
            return num.copy(), low, high, m1.copy(), m2.copy()
        values = np.arange(self._hist.shape[1], dtype=np.float64) - self._offset
        num = self._hist.sum(axis=1)
        safe = np.maximum(num, 1)
        mean = (self._hist * values).sum(axis=1) / safe
        m2 = (self._hist * np.square(values[None, :] - mean[:, None])).sum(axis=1)
        low, high = np.zeros(self.count), np.zeros(self.count)
        for band in range(self.count):
            present = np.flatnonzero(self._hist[band])
            if present.size:
                low[band], high[band] = values[present[0]], values[present[-1]]
        return num, low, high, mean, m2

    def table(self) -> list[tuple[float, float, float, float, float, float, int]]:
        """(min, max, mean, std, M1, M2, num) per band; std = sqrt(M2 / num)."""
        num, low, high, mean, m2 = self.moments()
        std = np.sqrt(m2 / np.maximum(num, 1))
        return [(float(low[i]), float(high[i]), float(mean[i]), float(std[i]), float(mean[i]),
                 float(m2[i]), int(num[i])) for i in range(self.count)]

    def state_json(self, names: Sequence[str]) -> list[dict[str, Any]]:
        """``BandStatsState`` of esri_accumulated_stats.json."""
        return [{"BandName": name, "Min": low, "Max": high, "Mean": mean, "StdDev": std,
                 "M1": m1, "M2": m2, "Num": num}
                for name, (low, high, mean, std, m1, m2, num) in zip(names, self.table())]

    def all_tiles_json(self, names: Sequence[str]) -> list[dict[str, Any]]:
        """``AllTilesStats`` of esri_model_definition.emd."""
        return [{"BandName": name, "Min": low, "Max": high, "Mean": mean, "StdDev": std}
                for name, (low, high, mean, std, *_rest) in zip(names, self.table())]


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
