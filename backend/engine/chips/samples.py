"""Value objects describing an export folder, as read back by the trainer."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from backend.engine.chips.metadata import CellSize
from backend.engine.chips.params import ClassDef


@dataclass(frozen=True)
class Box:
    """An axis-aligned box in chip pixels (x = column, y = row)."""

    class_value: int
    xmin: float
    ymin: float
    xmax: float
    ymax: float


@dataclass(frozen=True)
class BandStatistics:
    minimum: float
    maximum: float
    mean: float
    std: float


@dataclass(frozen=True)
class Sample:
    """One chip and its label file(s).

    ``label_path`` is the chip's label file (for COCO: the shared annotations.json; for
    RCNN_Masks: the first instance mask). ``instance_mask_paths`` maps class value to that
    class's instance mask (RCNN_Masks only).
    """

    stem: str
    image_path: Path
    label_path: Path | None
    instance_mask_paths: dict[int, Path] = field(default_factory=dict)


@dataclass(frozen=True)
class TrainingFolder:
    root: Path
    metadata_format: str
    classes: tuple[ClassDef, ...]
    chip_size: tuple[int, int]  # (height, width)
    band_count: int
    dtype: str
    band_stats: tuple[BandStatistics, ...] | None  # None when the folder records none
    is_8bit_rgb: bool
    image_space_used: str
    min_cell_size: CellSize | None
    max_cell_size: CellSize | None
    samples: tuple[Sample, ...]
