"""Accuracy of a classified raster against ground-truth polygons or a reference raster, Django-free.

Read window by window on the classified raster's grid: polygons (EPSG:4326 GeoJSON, found for each
window through an STRtree) are burnt into the window, a reference raster is resampled onto the grid
(nearest) through a WarpedVRT. Only pixels that have a reference class and a prediction count
(NoData on either side is left out); without an extent, that is where the ground truth is.
The confusion matrix has one row per reference class and one column per predicted class; user's
accuracy is a column's share of correct pixels (precision), producer's a row's (recall).
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import shapely
from numpy.typing import NDArray
from rasterio.enums import Resampling
from rasterio.errors import WindowError
from rasterio.features import rasterize
from rasterio.vrt import WarpedVRT
from rasterio.warp import transform_bounds, transform_geom
from rasterio.windows import Window, from_bounds
from rasterio.windows import bounds as window_bounds
from shapely.geometry import shape
from shapely.strtree import STRtree

from backend.engine.errors import Cancelled, EngineInputError
from backend.engine.metrics.confusion import scores_from_confusion
from backend.engine.types import Progress, ShouldStop, never_stop, no_progress

WINDOW = 1024
NONE = -1  # no reference / no prediction in the burnt or read window


@dataclass(frozen=True)
class PixelClassAccuracy:
    class_value: int
    reference_pixels: int  # row total
    predicted_pixels: int  # column total
    users_accuracy: float | None  # correct / predicted as the class (precision)
    producers_accuracy: float | None  # correct / reference pixels of the class (recall)
    f1: float | None
    iou: float | None


@dataclass(frozen=True)
class PixelAccuracy:
    class_values: tuple[int, ...]  # row / column order of the matrix
    confusion: NDArray[np.int64]  # [reference, predicted]
    per_class: tuple[PixelClassAccuracy, ...]
    pixels: int
    overall_accuracy: float | None
    kappa: float | None
    mean_iou: float | None
    notes: tuple[str, ...] = field(default=())


def kappa(confusion: NDArray[np.int64]) -> float | None:
    """Cohen's kappa: agreement beyond what the row and column totals give by chance."""
    cm = np.asarray(confusion, dtype=np.float64)
    total = cm.sum()
    if total <= 0:
        return None
    observed = np.trace(cm) / total
    expected = float((cm.sum(0) * cm.sum(1)).sum()) / total**2
    return 1.0 if expected == 1 else float((observed - expected) / (1 - expected))


def accuracy_from_confusion(confusion: NDArray[np.int64], class_values: Sequence[int],
                            notes: Sequence[str] = ()) -> PixelAccuracy:
    """Every figure of the report from a [reference, predicted] matrix (scores via confusion.py)."""
    scores = scores_from_confusion(confusion)
    predicted = np.asarray(confusion).sum(0)
    per_class = tuple(
        PixelClassAccuracy(int(value), int(s.support), int(predicted[i]), s.precision, s.recall, s.f1, s.iou)
        for i, (value, s) in enumerate(zip(class_values, scores.per_class)))
    return PixelAccuracy(tuple(int(v) for v in class_values), scores.confusion, per_class, int(np.sum(confusion)),
                         scores.accuracy, kappa(confusion), scores.mean_iou, tuple(notes))


def _overlap(a: Window | None, b: Window) -> Window | None:
    """The common part of two windows, None when they do not meet (rasterio raises)."""
    if a is None:
        return None
    try:
        common: Window = a.intersection(b)
    except WindowError:
        return None
    return common if common.width > 0 and common.height > 0 else None


def _windows(full: Window, area: Window | None, size: int) -> Iterator[Window]:
    inner = _overlap(area.round_offsets().round_lengths() if area is not None else None, full)
    if inner is None:
        return
    for row in range(int(inner.row_off), int(inner.row_off + inner.height), size):
        for col in range(int(inner.col_off), int(inner.col_off + inner.width), size):
            w = Window(col, row, min(size, inner.col_off + inner.width - col), min(size, inner.row_off + inner.height - row))
            yield w


def _window_of(src: Any, bounds: Sequence[float]) -> Window:
    w, s, e, n = bounds
    window: Window = from_bounds(w, s, e, n, transform=src.transform)
    pad = 1  # a polygon edge half a pixel outside still burns the pixel it covers the centre of
    return Window(window.col_off - pad, window.row_off - pad, window.width + 2 * pad, window.height + 2 * pad)


def _to_crs(geometries: Sequence[dict[str, Any]], crs: Any) -> list[Any]:
    return [shape(transform_geom("EPSG:4326", crs, g)) for g in geometries]


def pixel_accuracy(
    classified: Path,
    *,
    truth: Sequence[tuple[dict[str, Any], int]] | None = None,
    reference: Path | None = None,
    extent: dict[str, Any] | None = None,
    class_values: Sequence[int] = (),
    window: int = WINDOW,
    progress: Progress = no_progress,
    should_stop: ShouldStop = never_stop,
) -> PixelAccuracy:
    """Confusion matrix and scores of ``classified`` (band 1) against ``truth`` polygons
    [(GeoJSON in EPSG:4326, class value)] or a ``reference`` raster, within ``extent`` (GeoJSON in
    EPSG:4326) if given. ``class_values`` are listed even when no pixel has them."""
    if (truth is None) == (reference is None):
        raise EngineInputError("give ground-truth polygons or a reference raster, not both or neither")
    counts: Counter[tuple[int, int]] = Counter()
    with rasterio.open(classified) as src:
        full = Window(0, 0, src.width, src.height)
        mask_shape = _to_crs([extent], src.crs)[0] if extent is not None else None
        tree: STRtree | None = None
        shapes: list[Any] = []
        values: NDArray[np.int64] = np.zeros(0, dtype=np.int64)
        ref_src = None
        if truth is not None:
            shapes = _to_crs([g for g, _ in truth], src.crs)
            values = np.asarray([v for _, v in truth], dtype=np.int64)
            if not shapes:
                raise EngineInputError("the ground truth has no polygons")
            tree = STRtree(shapes)
            area = _window_of(src, shapely.total_bounds(np.asarray(shapes, dtype=object)).tolist())
        else:
            assert reference is not None
            ref_src = rasterio.open(reference)
            area = _window_of(src, transform_bounds(ref_src.crs, src.crs, *ref_src.bounds))
        scored: Window | None = area
        if mask_shape is not None:
            scored = _overlap(area, _window_of(src, mask_shape.bounds))
        try:
            vrt = (WarpedVRT(ref_src, crs=src.crs, transform=src.transform, width=src.width, height=src.height,
                             resampling=Resampling.nearest) if ref_src is not None else None)
            windows = list(_windows(full, scored, window))
            for done, win in enumerate(windows, start=1):
                if should_stop():
                    raise Cancelled()
                transform = src.window_transform(win)
                out_shape = (int(win.height), int(win.width))
                predicted = src.read(1, window=win, masked=True)
                pred = np.where(np.ma.getmaskarray(predicted), NONE, predicted.filled(0).astype(np.int64))
                if tree is not None:
                    near = np.sort(tree.query(shapely.box(*window_bounds(win, src.transform))))
                    if not len(near):
                        continue
                    ref = rasterize(((shapes[i], int(values[i])) for i in near), out_shape=out_shape,
                                    transform=transform, fill=NONE, dtype="int32").astype(np.int64)
                else:
                    assert vrt is not None
                    read = vrt.read(1, window=win, masked=True)
                    ref = np.where(np.ma.getmaskarray(read), NONE, read.filled(0).astype(np.int64))
                keep = (ref >= 0) & (pred >= 0)
                if mask_shape is not None:
                    keep &= rasterize([(mask_shape, 1)], out_shape=out_shape, transform=transform, fill=0,
                                      dtype="uint8").astype(bool)
                if keep.any():
                    pairs, n = np.unique(np.stack([ref[keep], pred[keep]]), axis=1, return_counts=True)
                    counts.update({(int(a), int(b)): int(c) for (a, b), c in zip(pairs.T.tolist(), n.tolist())})
                progress(done, len(windows), f"{done} of {len(windows)} windows scored")
        finally:
            if ref_src is not None:
                ref_src.close()
    seen = sorted({*class_values, *(a for a, _ in counts), *(b for _, b in counts)})
    index = {v: i for i, v in enumerate(seen)}
    matrix = np.zeros((len(seen), len(seen)), dtype=np.int64)
    for (a, b), count in counts.items():
        matrix[index[a], index[b]] = count
    notes = [] if counts else ["No pixel has both a reference class and a prediction in the scored area."]
    return accuracy_from_confusion(matrix, seen, notes)


__all__ = ["PixelAccuracy", "PixelClassAccuracy", "accuracy_from_confusion", "kappa", "pixel_accuracy"]
