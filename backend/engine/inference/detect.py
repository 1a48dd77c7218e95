"""Detect Objects on one part: chips through the model, ArcGIS chip-merge rules, streamed output.

Rules applied to each chip's detections (esri-dlpk.md §5.4-5.5), in processing-grid pixels:

* A box or instance whose centre lies outside the processing window is dropped (it belongs to
  no part of this job).
* Boxes (object detectors): a box whose centre lies in the chip's padding band keeps a demoted
  score ``threshold + 0.01 * score`` so that it survives the threshold but loses cross-tile NMS to
  the same object seen in the centre of the neighbouring chip. ArcGIS effectively tests only the
  row axis (an operator-precedence slip); we test both axes.
* ``exclude_pad_detections`` drops boxes within 2 px of an edge of their chip (likely truncated).
  A chip side lying on or beyond the raster edge is exempt: no other chip can see that object
  whole, so dropping it would lose it.
* Instances (Mask R-CNN): an instance is kept only by the chip whose centre region holds the
  centroid of its mask, so each object comes from exactly one chip and no NMS is needed between
  chips. ``exclude_pad_detections`` and demotion do not apply. Masks are polygonised (rings with
  holes, pixel edges), or the model's box is returned with ``return_bboxes``.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from affine import Affine
from rasterio import features as rio_features
from shapely.geometry import MultiPolygon, Polygon, box, shape
from shapely.geometry.base import BaseGeometry

from backend.engine.errors import Cancelled, EngineError, EngineInputError
from backend.engine.inference.batching import (
    PartResult,
    gpu_memory_guard,
    iter_chip_batches,
    to_model_input,
)
from backend.engine.inference.classes import detector_class
from backend.engine.inference.features import (
    DetectedFeature,
    FeatureFileWriter,
    FeatureSink,
    MapProjector,
)
from backend.engine.inference.planning import part_grid, pick_fields
from backend.engine.inference.protocols import (
    INSTANCE_DETECTION,
    OBJECT_DETECTION,
    DetectionsLike,
    PredictorLike,
)
from backend.engine.inference.reading import GridReader, RasterGrid
from backend.engine.inference.tiling import ChipSpec, PartSpec, PixelWindow
from backend.engine.inference.tta import MERGE_POLICIES, detect_with_tta
from backend.engine.types import Progress, ShouldStop, never_stop, no_progress

EDGE_TOLERANCE_PX = 2.0
DEMOTION_FACTOR = 0.01


@dataclass(frozen=True)
class DetectArgs:
    """Model arguments of Detect Objects (§4.1/4.2); padding/tile_size are fixed in the plan."""

    padding: int | None = None
    batch_size: int = 4
    threshold: float = 0.5
    nms_overlap: float = 0.1
    exclude_pad_detections: bool = True
    return_bboxes: bool = False
    tile_size: int | None = None
    test_time_augmentation: bool = False  # the chip and its flips, merged (inference.tta)
    merge_policy: str = "mean"  # how the flips' scores of one object merge: mean, max, min

    @classmethod
    def from_arguments(cls, arguments: Mapping[str, Any]) -> DetectArgs:
        """From coerced model arguments (``dlpk.arguments.coerce_arguments``); others ignored."""
        return cls(**pick_fields(cls, arguments))

    def validate(self) -> None:
        if self.batch_size < 1:
            raise EngineInputError(f"batch_size must be 1 or more (got {self.batch_size})")
        if not 0.0 <= self.threshold <= 1.0:
            raise EngineInputError(f"threshold must be between 0 and 1 (got {self.threshold})")
        if not 0.0 <= self.nms_overlap <= 1.0:
            raise EngineInputError(f"nms_overlap must be between 0 and 1 (got {self.nms_overlap})")
        if str(self.merge_policy).lower() not in MERGE_POLICIES:
            raise EngineInputError(f"merge_policy must be one of {', '.join(MERGE_POLICIES)} (got {self.merge_policy!r})")


@dataclass(frozen=True)
class _ChipContext:
    chip: ChipSpec
    part: PartSpec
    threshold: float
    exclude_pad: bool
    return_bboxes: bool


def _check_part(predictor: PredictorLike, part: PartSpec, args: DetectArgs) -> None:
    args.validate()
    if predictor.family not in (OBJECT_DETECTION, INSTANCE_DETECTION):
        raise EngineInputError(
            f"this model is a {predictor.family.replace('_', ' ')} model; "
            f"Detect Objects needs an object or instance detection model"
        )
    want = args.tile_size or predictor.chip_size
    if part.tiles.chip_size != want:
        raise EngineError(f"part planned with chip size {part.tiles.chip_size}, model runs {want}")


def detect_objects_part(
    raster_path: Path | str,
    part: PartSpec,
    predictor: PredictorLike,
    args: DetectArgs,
    sink: FeatureSink | Path | str,
    progress: Progress = no_progress,
    should_stop: ShouldStop = never_stop,
) -> PartResult:
    """Run the detector over the chips of ``part`` and stream features to ``sink``.

    ``sink`` is a callable taking :class:`DetectedFeature`, or a path: the part file is then written
    as NDJSON (see ``features``) and exists only once the part completed; on cancel or error it is
    removed. Raises Cancelled when ``should_stop()`` turns true between batches.
    """
    _check_part(predictor, part, args)
    grid = part_grid(raster_path, part)
    writer: FeatureFileWriter | None = None
    if isinstance(sink, (str, Path)):
        writer = FeatureFileWriter(sink)
        emit: FeatureSink = writer
    else:
        emit = sink
    try:
        result = _run(raster_path, part, predictor, args, grid, emit, progress, should_stop)
    except BaseException:
        if writer is not None:
            writer.discard()
        raise
    if writer is not None:
        writer.commit()
    return result


def _run(
    raster_path: Path | str,
    part: PartSpec,
    predictor: PredictorLike,
    args: DetectArgs,
    grid: RasterGrid,
    emit: FeatureSink,
    progress: Progress,
    should_stop: ShouldStop,
) -> PartResult:
    projector = MapProjector(grid)
    total = part.chip_count
    count = chips_run = skipped = 0
    progress(0, total, f"part {part.index}: detecting objects")
    with GridReader(raster_path, grid, tuple(predictor.extract_bands)) as reader:
        for batch in iter_chip_batches(reader, part, args.batch_size):
            if should_stop():
                raise Cancelled(f"detect objects cancelled in part {part.index}")
            skipped += len(batch.skipped)
            if batch.chips:
                with gpu_memory_guard(args.batch_size):
                    tensor = to_model_input(predictor, batch.data)
                    if args.test_time_augmentation:
                        detections: Sequence[DetectionsLike] = detect_with_tta(
                            predictor, tensor, args.threshold, args.nms_overlap, args.merge_policy)
                    else:
                        detections = predictor.detect(tensor, args.threshold, args.nms_overlap)
                if len(detections) != len(batch.chips):
                    raise EngineError(
                        f"the model returned {len(detections)} results for {len(batch.chips)} chips"
                    )
                chips_run += len(batch.chips)
                for feature in _batch_features(part, args, predictor, projector, batch.chips, detections):
                    emit(feature)
                    count += 1
            progress(batch.done, total, f"part {part.index}: {count} objects")
    if should_stop():
        raise Cancelled(f"detect objects cancelled in part {part.index}")
    progress(total, total, f"part {part.index}: {count} objects")
    return PartResult(count=count, chips=chips_run, skipped=skipped)


def _batch_features(
    part: PartSpec,
    args: DetectArgs,
    predictor: PredictorLike,
    projector: MapProjector,
    chips: list[ChipSpec],
    detections: Sequence[DetectionsLike],
) -> list[DetectedFeature]:
    """Features of one batch after the chip-merge rules, converted to map space together."""
    geoms: list[BaseGeometry] = []
    labels: list[int] = []
    scores: list[float] = []
    for chip, det in zip(chips, detections):
        ctx = _ChipContext(chip, part, args.threshold, args.exclude_pad_detections, args.return_bboxes)
        g, lab, sc = chip_detections(ctx, det, predictor.family)
        geoms.extend(g)
        labels.extend(lab)
        scores.extend(sc)
    classes = [detector_class(predictor.classes, k) for k in labels]
    return projector.features(geoms, [c.value for c in classes], [c.name for c in classes], scores)


def chip_detections(
    ctx: _ChipContext, det: DetectionsLike, family: str
) -> tuple[list[BaseGeometry], list[int], list[float]]:
    """Apply the chip-merge rules: (geometries in grid pixels, model labels, scores) kept."""
    boxes = np.asarray(det.boxes, dtype=np.float64).reshape(-1, 4)
    scores = np.asarray(det.scores, dtype=np.float64).reshape(-1)
    labels = np.asarray(det.labels).reshape(-1).astype(np.int64)
    ox, oy = ctx.chip.window.col_off, ctx.chip.window.row_off
    if family == INSTANCE_DETECTION:
        geoms: list[BaseGeometry] = []
        kept_labels: list[int] = []
        kept_scores: list[float] = []
        masks = det.masks
        for i in range(len(boxes)):
            mask = None if masks is None else np.asarray(masks[i], dtype=bool)
            geom = _instance(ctx, boxes[i], mask)
            if geom is not None:
                geoms.append(geom)
                kept_labels.append(int(labels[i]))
                kept_scores.append(float(scores[i]))
        return geoms, kept_labels, kept_scores
    b = boxes + np.array([ox, oy, ox, oy], dtype=np.float64)
    cx, cy = (b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2
    keep = _inside(ctx.part.window, cx, cy)
    if ctx.exclude_pad:
        keep &= ~_touches_inner_edge(ctx, boxes)
    in_centre = _inside(ctx.chip.centre, cx, cy)
    demoted = np.where(in_centre, scores, ctx.threshold + DEMOTION_FACTOR * scores)
    # clip to the raster: the zero-filled overhang of edge chips is not imagery
    b = np.clip(b[keep], 0, [ctx.part.grid_width, ctx.part.grid_height] * 2)
    geoms = list(shapely.box(b[:, 0], b[:, 1], b[:, 2], b[:, 3]))
    return geoms, labels[keep].tolist(), demoted[keep].tolist()


def _inside(window: PixelWindow, cx: np.ndarray, cy: np.ndarray) -> np.ndarray:
    """Half-open point-in-window test, vectorised (see PixelWindow.contains_point)."""
    result: np.ndarray = (
        (cx >= window.col_off) & (cx < window.col_end) & (cy >= window.row_off) & (cy < window.row_end)
    )
    return result


def _touches_inner_edge(ctx: _ChipContext, boxes: np.ndarray) -> np.ndarray:
    """Boxes (chip pixels) reaching into the outer EDGE_TOLERANCE_PX pixels of a chip side that
    is not on or beyond the raster edge (an edge at 0 or 1 touches the first two columns)."""
    w = ctx.chip.window
    c = float(w.width)
    tol = EDGE_TOLERANCE_PX
    x0, y0, x1, y1 = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
    result: np.ndarray = (
        ((x0 < tol) & (w.col_off > 0))
        | ((y0 < tol) & (w.row_off > 0))
        | ((x1 > c - tol) & (w.col_end < ctx.part.grid_width))
        | ((y1 > c - tol) & (w.row_end < ctx.part.grid_height))
    )
    return result


def _instance(ctx: _ChipContext, b: np.ndarray, mask: np.ndarray | None) -> BaseGeometry | None:
    """Geometry of an instance owned by this chip (mask centroid rule), else None."""
    ox, oy = ctx.chip.window.col_off, ctx.chip.window.row_off
    x0, y0, x1, y1 = (float(v) for v in b)
    rows: np.ndarray = np.empty(0, dtype=np.intp)
    cols: np.ndarray = rows
    if mask is not None:
        rows, cols = np.nonzero(mask)
    if len(rows):
        cx, cy = ox + float(cols.mean()) + 0.5, oy + float(rows.mean()) + 0.5
    else:
        cx, cy = ox + (x0 + x1) / 2, oy + (y0 + y1) / 2
    if not ctx.chip.centre.contains_point(cx, cy):
        return None
    if ctx.return_bboxes or mask is None or not len(rows):
        geom: BaseGeometry = box(ox + x0, oy + y0, ox + x1, oy + y1)
    else:
        geom = polygonize_mask(mask, ox, oy, rows, cols)
    grid = ctx.part.grid_window
    if ctx.chip.window.intersection(grid) != ctx.chip.window:  # chip overhangs the raster
        geom = geom.intersection(box(0, 0, grid.width, grid.height))
        if geom.is_empty:
            return None
    return geom


def polygonize_mask(
    mask: np.ndarray, ox: int, oy: int, rows: np.ndarray | None = None, cols: np.ndarray | None = None
) -> BaseGeometry:
    """Polygon(s) of a boolean mask, shifted by ``(ox, oy)`` pixels; pixel-edge rings with holes."""
    if rows is None or cols is None:
        rows, cols = np.nonzero(mask)
    r0, r1 = int(rows.min()), int(rows.max()) + 1
    c0, c1 = int(cols.min()), int(cols.max()) + 1
    crop = np.ascontiguousarray(mask[r0:r1, c0:c1]).astype(np.uint8)
    shift = Affine.translation(ox + c0, oy + r0)
    polys: list[Polygon] = []
    for geom, value in rio_features.shapes(crop, mask=crop.astype(bool), connectivity=8, transform=shift):
        if value:
            poly = shape(geom)
            if isinstance(poly, Polygon) and poly.area > 0:
                polys.append(poly)
    if len(polys) == 1:
        return polys[0]
    return MultiPolygon(polys)
