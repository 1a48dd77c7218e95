"""How raw chip values become model inputs (esri-dlpk.md §6).

8-bit RGB imagery uses ImageNet statistics: `unit` = x/255, `normalized` = (x/255 - mean)/std.
Anything else (more or fewer bands, other data types) uses per-band statistics from the
training export: `unit` = (x - min)/(max - min), `normalized` = (unit - scaled_mean)/scaled_std.
Detectors take `unit` inputs and normalise inside with `detector_mean_std()`; the other
families take `normalized` inputs.

This is the one definition of a chip's pixels for training (training.data) and inference
(TorchPredictor.prepare): NoData pixels are raw 0 in both (the inference reader zero-fills
them; training chips keep the raster's NoData value, which the dataset sets to 0), and `unit`
values are clipped to 0..1, so values outside the training statistics (NoData 65535 or -9999,
a saturated sensor) cannot become extreme inputs.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from backend.engine.nets.build import IMAGENET_MEAN, IMAGENET_STD, default_image_stats


@dataclass(frozen=True)
class InputScaling:
    """Per model-input band statistics; `band_min` is None for 8-bit RGB (ImageNet)."""

    band_min: tuple[float, ...] | None = None
    band_max: tuple[float, ...] | None = None
    band_mean: tuple[float, ...] | None = None
    band_std: tuple[float, ...] | None = None
    scaled_mean: tuple[float, ...] | None = None
    scaled_std: tuple[float, ...] | None = None
    bands: int = 3

    @property
    def imagenet(self) -> bool:
        return self.band_min is None

    def detector_mean_std(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """Mean/std of `unit` inputs, used inside torchvision detectors."""
        if self.imagenet or self.scaled_mean is None or self.scaled_std is None:
            return default_image_stats(self.bands)
        return self.scaled_mean, self.scaled_std

    def _column(self, values: Sequence[float], like: torch.Tensor) -> torch.Tensor:
        return torch.tensor(values, dtype=like.dtype, device=like.device).view(1, -1, 1, 1)

    def unit(self, x: torch.Tensor) -> torch.Tensor:
        """[B,bands,H,W] raw values -> float 0..1 (roughly)."""
        x = x.float()
        if self.imagenet or self.band_max is None or self.band_min is None:
            return x / 255.0
        lo = self._column(self.band_min, x)
        span = self._column([max(hi - lo_, 1e-6) for lo_, hi in zip(self.band_min, self.band_max)], x)
        return ((x - lo) / span).clamp_(0.0, 1.0)

    def normalized(self, x: torch.Tensor) -> torch.Tensor:
        """[B,bands,H,W] raw values -> zero-mean, unit-std float inputs."""
        mean, std = self.detector_mean_std()
        unit = self.unit(x)
        return (unit - self._column(mean, unit)) / self._column(std, unit)

    def normalization_stats(self) -> dict[str, list[float]] | None:
        """The emd `NormalizationStats` object (None for ImageNet / 8-bit RGB)."""
        if self.imagenet:
            return None
        assert self.band_min is not None and self.band_max is not None
        assert self.scaled_mean is not None and self.scaled_std is not None
        return {
            "band_min_values": list(self.band_min),
            "band_max_values": list(self.band_max),
            "band_mean_values": list(self.band_mean or ()),
            "band_std_values": list(self.band_std or ()),
            "scaled_min_values": [0.0] * self.bands,
            "scaled_max_values": [1.0] * self.bands,
            "scaled_mean_values": list(self.scaled_mean),
            "scaled_std_values": list(self.scaled_std),
        }


IMAGENET = InputScaling()


def scaling_from_band_stats(
    mins: Sequence[float],
    maxs: Sequence[float],
    means: Sequence[float],
    stds: Sequence[float],
    is_8bit_rgb: bool,
) -> InputScaling:
    """Scaling for training data with these per-band statistics.

    scaled_mean is the band mean on the 0..1 min-max scale (as arcgis.learn derives it);
    scaled_std is the band std on that scale, std/(max-min).
    """
    if is_8bit_rgb:
        return IMAGENET
    spans = [max(float(hi) - float(lo), 1e-6) for lo, hi in zip(mins, maxs)]
    return InputScaling(
        band_min=tuple(float(v) for v in mins),
        band_max=tuple(float(v) for v in maxs),
        band_mean=tuple(float(v) for v in means),
        band_std=tuple(float(v) for v in stds),
        scaled_mean=tuple((float(m) - float(lo)) / s for m, lo, s in zip(means, mins, spans)),
        scaled_std=tuple(max(float(sd) / s, 1e-6) for sd, s in zip(stds, spans)),
        bands=len(spans),
    )


def _pick(values: Sequence[float] | None, index: Sequence[int]) -> tuple[float, ...] | None:
    if values is None:
        return None
    if max(index, default=-1) >= len(values):
        return None
    return tuple(float(values[i]) for i in index)


def scaling_from_emd(emd: Any) -> InputScaling:
    """Scaling for a package: its NormalizationStats indexed with ExtractBands, else ImageNet.

    Band names in ExtractBands (allowed by ArcGIS) are taken in order: band i -> stats[i].
    """
    bands = tuple(emd.extract_bands or (0, 1, 2))
    count = len(bands)
    index = [b if isinstance(b, int) else i for i, b in enumerate(bands)]
    stats = emd.normalization_stats
    if stats is None or stats.band_min_values is None or stats.band_max_values is None:
        if count == 3:
            return IMAGENET
        return InputScaling(bands=count)
    lo = _pick(stats.band_min_values, index)
    hi = _pick(stats.band_max_values, index)
    if lo is None or hi is None:
        return InputScaling(bands=count)
    mean = _pick(stats.band_mean_values, index)
    std = _pick(stats.band_std_values, index)
    scaled_mean = _pick(stats.scaled_mean_values, index)
    scaled_std = _pick(stats.scaled_std_values, index)
    if scaled_mean is None or scaled_std is None:
        if mean is None or std is None:
            scaled_mean, scaled_std = default_image_stats(count)
        else:
            derived = scaling_from_band_stats(lo, hi, mean, std, False)
            scaled_mean, scaled_std = derived.scaled_mean, derived.scaled_std
    return InputScaling(lo, hi, mean, std, scaled_mean, scaled_std, count)


__all__ = [
    "IMAGENET",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "InputScaling",
    "scaling_from_band_stats",
    "scaling_from_emd",
]
