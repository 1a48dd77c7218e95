"""Inputs and outputs of the Export Training Data engine (value objects only)."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, get_args

from shapely.geometry.base import BaseGeometry

from backend.engine.errors import EngineInputError

MetadataFormat = Literal[
    "PASCAL_VOC_rectangles",
    "KITTI_rectangles",
    "RCNN_Masks",
    "Classified_Tiles",
    "Labeled_Tiles",
    "COCO",
]
ChipFormat = Literal["TIFF", "PNG", "JPEG"]
CropMode = Literal["FIXED_SIZE", "BOUNDING_BOX"]

METADATA_FORMATS: tuple[str, ...] = get_args(MetadataFormat)
CHIP_FORMATS: tuple[str, ...] = get_args(ChipFormat)
CROP_MODES: tuple[str, ...] = get_args(CropMode)
# Formats whose labels are rasters: class value 0 means "no data" there.
MASK_FORMATS: tuple[str, ...] = ("RCNN_Masks", "Classified_Tiles")
MAX_TILE_SIZE = 8192


@dataclass(frozen=True)
class RasterSource:
    """A GeoTIFF/COG to cut chips from (any band count, dtype, CRS; may have nodata)."""

    path: Path
    raster_id: int | str


@dataclass(frozen=True)
class LabelFeature:
    """One training sample. ``geometry`` is in EPSG:4326 (lon, lat)."""

    feature_id: int | str
    geometry: BaseGeometry
    class_value: int


@dataclass(frozen=True)
class ClassDef:
    value: int
    name: str
    color: tuple[int, int, int]


@dataclass(frozen=True)
class ExportParams:
    """Parameters named after the ArcGIS Export Training Data For Deep Learning tool.

    ``cell_size`` and ``buffer_radius`` are in the units of each raster's CRS. ``buffer_radius``
    None gives points (and lines) a radius of 8 output cells. ``rotation_angle`` > 0 adds
    rotated copies of every chip at each multiple of the angle below 360 degrees.
    ``crop_mode`` and ``blacken_around_feature`` apply to Labeled_Tiles only.
    """

    metadata_format: MetadataFormat
    tile_size_x: int = 256
    tile_size_y: int = 256
    stride_x: int = 128
    stride_y: int = 128
    cell_size: float | None = None
    output_nofeature_tiles: bool = False
    min_polygon_overlap_ratio: float = 0.0
    rotation_angle: float = 0.0
    image_chip_format: ChipFormat = "TIFF"
    start_index: int = 0
    processing_extent: BaseGeometry | None = None
    crop_mode: CropMode = "FIXED_SIZE"
    blacken_around_feature: bool = False
    buffer_radius: float | None = None

    def validate(self) -> None:
        """Raise EngineInputError naming the first bad field."""
        if self.metadata_format not in METADATA_FORMATS:
            _bad("metadata_format", f"must be one of {', '.join(METADATA_FORMATS)}")
        for name in ("tile_size_x", "tile_size_y", "stride_x", "stride_y"):
            value = getattr(self, name)
            if not _is_int(value) or not 1 <= value <= MAX_TILE_SIZE:
                _bad(name, f"must be a whole number of pixels from 1 to {MAX_TILE_SIZE}")
        if self.cell_size is not None and not _positive(self.cell_size):
            _bad("cell_size", "must be a positive number (raster CRS units) or empty")
        ratio = self.min_polygon_overlap_ratio
        if not _finite(ratio) or not 0.0 <= ratio <= 1.0:
            _bad("min_polygon_overlap_ratio", "must be between 0 and 1")
        if not _finite(self.rotation_angle) or not 0.0 <= self.rotation_angle < 360.0:
            _bad("rotation_angle", "must be at least 0 and below 360 degrees")
        if 0.0 < self.rotation_angle < 1.0:
            _bad("rotation_angle", "must be 0 (no rotated copies) or at least 1 degree")
        if self.image_chip_format not in CHIP_FORMATS:
            _bad("image_chip_format", f"must be one of {', '.join(CHIP_FORMATS)}")
        if not _is_int(self.start_index) or self.start_index < 0:
            _bad("start_index", "must be a whole number >= 0")
        if self.crop_mode not in CROP_MODES:
            _bad("crop_mode", f"must be one of {', '.join(CROP_MODES)}")
        if not isinstance(self.output_nofeature_tiles, bool):
            _bad("output_nofeature_tiles", "must be true or false")
        if not isinstance(self.blacken_around_feature, bool):
            _bad("blacken_around_feature", "must be true or false")
        if self.buffer_radius is not None and not _positive(self.buffer_radius):
            _bad("buffer_radius", "must be a positive distance (raster CRS units) or empty")
        extent = self.processing_extent
        if extent is not None:
            if not isinstance(extent, BaseGeometry) or extent.is_empty or extent.area <= 0:
                _bad("processing_extent", "must be a non-empty polygon in EPSG:4326")

    def rotation_angles(self) -> tuple[float, ...]:
        """0 plus every multiple of rotation_angle below 360."""
        if self.rotation_angle <= 0:
            return (0.0,)
        count = math.ceil(360.0 / self.rotation_angle - 1e-9)
        return tuple(k * self.rotation_angle for k in range(count))


@dataclass(frozen=True)
class ClassStats:
    """Per-class counts over the exported chips (a feature cut by 3 chips counts 3 times)."""

    value: int
    name: str
    images: int
    features: int
    pixels: int = 0


@dataclass(frozen=True)
class ExportSummary:
    chip_count: int
    class_stats: tuple[ClassStats, ...]
    out_dir: Path
    metadata_format: str
    band_count: int
    dtype: str
    tile_size: tuple[int, int]  # (height, width)
    first_index: int
    next_index: int
    feature_count: int = 0
    warnings: tuple[str, ...] = field(default_factory=tuple)


def validate_classes(classes: tuple[ClassDef, ...], metadata_format: str) -> None:
    if not classes:
        raise EngineInputError("classes: give at least one class (value, name, color)")
    seen: set[int] = set()
    for cls in classes:
        if not _is_int(cls.value):
            raise EngineInputError(f"classes: value {cls.value!r} must be a whole number")
        if cls.value in seen:
            raise EngineInputError(f"classes: value {cls.value} is used by two classes")
        seen.add(cls.value)
        low = 1 if metadata_format in MASK_FORMATS else 0
        if not low <= cls.value <= 65535:
            raise EngineInputError(
                f"classes: value {cls.value} of '{cls.name}' must be between {low} and 65535"
                + (" (0 means no data in mask labels)" if low else "")
            )


def _bad(name: str, why: str) -> None:
    raise EngineInputError(f"{name}: {why}")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _finite(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _positive(value: object) -> bool:
    return _finite(value) and float(value) > 0  # type: ignore[arg-type]
