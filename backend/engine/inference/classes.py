"""Model output index -> class table (esri-dlpk.md §7) and classified-raster value rules."""
from __future__ import annotations

import colorsys
from collections.abc import Sequence

import numpy as np

from backend.engine.errors import EngineError
from backend.engine.inference.protocols import ClassInfo


def detector_class(classes: Sequence[ClassInfo], label: int) -> ClassInfo:
    """Class of a detector/segmenter output index: index k is ``Classes[k-1]`` (0 = background)."""
    if not 1 <= label <= len(classes):
        raise EngineError(f"the model returned class index {label} but lists {len(classes)} classes")
    return classes[label - 1]


def classifier_class(classes: Sequence[ClassInfo], index: int) -> ClassInfo:
    """Class of a FeatureClassifier output index: index k is ``Classes[k]`` (no background)."""
    if not 0 <= index < len(classes):
        raise EngineError(f"the model returned class index {index} but lists {len(classes)} classes")
    return classes[index]


def value_table(classes: Sequence[ClassInfo]) -> np.ndarray:
    """Lookup table: segmenter output index i -> pixel value ``([0] + values)[i]`` (int64)."""
    return np.array([0] + [int(c.value) for c in classes], dtype=np.int64)


def default_predict_background(classes: Sequence[ClassInfo]) -> bool:
    """ArcGIS default: background may win unless no class has Value 0 and there are >= 2 classes."""
    return any(int(c.value) == 0 for c in classes) or len(classes) < 2


def classified_dtype(classes: Sequence[ClassInfo]) -> np.dtype[np.unsignedinteger]:
    """uint8 when the class values and a NoData value fit, else uint16."""
    values = {int(c.value) for c in classes}
    if values and (min(values) < 0 or max(values) > 65534):
        raise EngineError(
            f"class values must be within 0..65534 for a classified raster (got {sorted(values)})"
        )
    fits8 = max(values | {0}) <= 255 and (0 not in values or len(values) < 256)
    return np.dtype(np.uint8) if fits8 else np.dtype(np.uint16)


def classified_nodata(classes: Sequence[ClassInfo], dtype: np.dtype[np.unsignedinteger]) -> int:
    """0 (ArcGIS's NoData/background value) unless a class uses 0; then the largest free value."""
    values = {int(c.value) for c in classes}
    if 0 not in values:
        return 0
    top = int(np.iinfo(dtype).max)
    for v in range(top, -1, -1):
        if v not in values:
            return v
    raise EngineError("no free value left for NoData in the classified raster")


def _fallback_color(value: int) -> tuple[int, int, int]:
    """A stable, well-spread colour for classes without one (golden-ratio hue steps)."""
    r, g, b = colorsys.hsv_to_rgb((value * 0.618033988749895) % 1.0, 0.65, 0.95)
    return round(r * 255), round(g * 255), round(b * 255)


def class_colormap(classes: Sequence[ClassInfo], nodata: int) -> dict[int, tuple[int, int, int, int]]:
    """GDAL colour table entries: class colours (fallbacks where missing), NoData transparent."""
    cmap: dict[int, tuple[int, int, int, int]] = {nodata: (0, 0, 0, 0)}
    for c in classes:
        color = c.color
        valid = color is not None and len(color) == 3 and all(0 <= int(v) <= 255 for v in color)
        r, g, b = (int(v) for v in color) if valid and color is not None else _fallback_color(int(c.value))
        if int(c.value) != nodata:
            cmap[int(c.value)] = (r, g, b, 255)
    return cmap
