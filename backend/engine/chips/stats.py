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

    Each chip's moments are merged with Chan's parallel formula, so memory stays constant and
    several exports can be pooled the same way.
    """

    def __init__(self, count: int) -> None:
        self.num = np.zeros(count, dtype=np.int64)
        self.m1 = np.zeros(count, dtype=np.float64)
        self.m2 = np.zeros(count, dtype=np.float64)
        self.minimum = np.full(count, np.inf)
        self.maximum = np.full(count, -np.inf)

    def add(self, data: np.ndarray, valid: np.ndarray) -> None:
        """Add one chip's valid pixels (data [bands, h, w], valid [h, w])."""
        values = data[:, valid] if not valid.all() else data.reshape(data.shape[0], -1)
        n = values.shape[1]
        if n == 0:
            return
        if np.issubdtype(values.dtype, np.floating):
            finite = np.isfinite(values).all(axis=0)
            values = values[:, finite]
            n = values.shape[1]
            if n == 0:
                return
        chip = values.astype(np.float64)
        mean = chip.mean(axis=1)
        m2 = np.square(chip - mean[:, None]).sum(axis=1)
        self.minimum = np.minimum(self.minimum, chip.min(axis=1))
        self.maximum = np.maximum(self.maximum, chip.max(axis=1))
        total = self.num + n
        delta = mean - self.m1
        self.m2 += m2 + delta * delta * self.num * n / total
        self.m1 += delta * n / total
        self.num = total

    def std(self) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.num > 0, np.sqrt(self.m2 / np.maximum(self.num, 1)), 0.0)

    def _band(self, i: int) -> tuple[float, float]:
        if self.num[i] == 0:
            return 0.0, 0.0
        return float(self.minimum[i]), float(self.maximum[i])

    def state_json(self, names: Sequence[str]) -> list[dict[str, Any]]:
        """``BandStatsState`` of esri_accumulated_stats.json."""
        std = self.std()
        out = []
        for i, name in enumerate(names):
            low, high = self._band(i)
            out.append({"BandName": name, "Min": low, "Max": high, "Mean": float(self.m1[i]),
                        "StdDev": float(std[i]), "M1": float(self.m1[i]),
                        "M2": float(self.m2[i]), "Num": int(self.num[i])})
        return out

    def all_tiles_json(self, names: Sequence[str]) -> list[dict[str, Any]]:
        """``AllTilesStats`` of esri_model_definition.emd."""
        std = self.std()
        out = []
        for i, name in enumerate(names):
            low, high = self._band(i)
            out.append({"BandName": name, "Min": low, "Max": high, "Mean": float(self.m1[i]),
                        "StdDev": float(std[i])})
        return out


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
