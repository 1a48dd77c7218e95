"""Value objects held by an Emd (classes, cell sizes, normalization statistics)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Rgb = tuple[int, int, int]
ClassKeyStyle = Literal["Value", "ClassValue"]
"""`Value/Name/Color` (model emds) or `ClassValue/ClassName` (export statistics)."""


@dataclass(frozen=True)
class EmdClass:
    """One row of `Classes`. `color` is None when absent or given as [-1, -1, -1] (unknown)."""

    value: int
    name: str
    color: Rgb | None = None
    extras: dict[str, Any] = field(default_factory=dict)
    """Keys of the class object other than value, name and color, kept for writing back."""


@dataclass(frozen=True)
class CellSize:
    """`MinCellSize` / `MaxCellSize`: a cell size in the units of the spatial reference."""

    x: float
    y: float
    wkid: int | None = None
    latest_wkid: int | None = None


@dataclass(frozen=True)
class NormalizationStats:
    """`NormalizationStats`: one value per raster band (indexed with ExtractBands at inference).

    Each list is None when the emd leaves it out; `extras` keeps any other key.
    """

    band_min_values: tuple[float, ...] | None = None
    band_max_values: tuple[float, ...] | None = None
    band_mean_values: tuple[float, ...] | None = None
    band_std_values: tuple[float, ...] | None = None
    scaled_min_values: tuple[float, ...] | None = None
    scaled_max_values: tuple[float, ...] | None = None
    scaled_mean_values: tuple[float, ...] | None = None
    scaled_std_values: tuple[float, ...] | None = None
    extras: dict[str, Any] = field(default_factory=dict)


NORMALIZATION_STAT_KEYS: tuple[str, ...] = (
    "band_min_values",
    "band_max_values",
    "band_mean_values",
    "band_std_values",
    "scaled_min_values",
    "scaled_max_values",
    "scaled_mean_values",
    "scaled_std_values",
)
