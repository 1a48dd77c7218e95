"""Single-process drivers: plan, run every part in turn, merge. For one worker, tests and benches.

Distributed jobs call the same pieces themselves: ``plan_inference`` once, ``detect_objects_part``
or ``classify_pixels_part`` per part on any worker, then ``merge_detection_parts`` or
``merge_classified_parts``.
"""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from backend.engine.inference.batching import PartResult
from backend.engine.inference.classify_pixels import (
    ClassifyPixelsArgs,
    classify_pixels_part,
    merge_classified_parts,
)
from backend.engine.inference.detect import DetectArgs, detect_objects_part
from backend.engine.inference.nms import MergeResult, merge_detection_parts
from backend.engine.inference.planning import DEFAULT_PART_SIZE, plan_inference, resolve_tiles
from backend.engine.inference.protocols import PredictorLike
from backend.engine.types import Progress, ShouldStop, never_stop, no_progress


def _part_progress(progress: Progress, index: int, count: int) -> Progress:
    """Scale one part's progress into the whole run (each part weighs the same)."""

    def report(done: int, total: int, message: str) -> None:
        frac = done / total if total else 1.0
        progress(round((index + frac) * 1000), count * 1000, message)

    return report


def detect_objects(
    raster_path: Path | str,
    predictor: PredictorLike,
    args: DetectArgs,
    out_path: Path | str,
    *,
    processing_extent: dict[str, Any] | None = None,
    cell_size: float | None = None,
    run_nms: bool = False,
    max_overlap_ratio: float = 0.0,
    class_agnostic: bool = False,
    part_size: int = DEFAULT_PART_SIZE,
    progress: Progress = no_progress,
    should_stop: ShouldStop = never_stop,
) -> MergeResult:
    """Detect objects over the raster (or extent) into one NDJSON file at ``out_path``."""
    args.validate()
    chip, pad = resolve_tiles(predictor.chip_size, args.tile_size, args.padding)
    plan = plan_inference(
        raster_path, chip_size=chip, padding=pad, extract_bands=tuple(predictor.extract_bands),
        processing_extent=processing_extent, cell_size=cell_size, part_size=part_size,
    )
    out = Path(out_path)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".parts-") as tmp:
        files: list[Path] = []
        for part in plan.parts:
            path = Path(tmp) / f"part-{part.index:05d}.ndjson"
            detect_objects_part(
                raster_path, part, predictor, args, path,
                _part_progress(progress, part.index, len(plan.parts)), should_stop,
            )
            files.append(path)
        return merge_detection_parts(
            files, run_nms, max_overlap_ratio, class_agnostic, out, should_stop=should_stop
        )


def classify_pixels(
    raster_path: Path | str,
    predictor: PredictorLike,
    args: ClassifyPixelsArgs,
    out_cog_path: Path | str,
    *,
    processing_extent: dict[str, Any] | None = None,
    cell_size: float | None = None,
    part_size: int = DEFAULT_PART_SIZE,
    progress: Progress = no_progress,
    should_stop: ShouldStop = never_stop,
) -> list[PartResult]:
    """Classify the raster (or extent) into a colour-mapped COG at ``out_cog_path``."""
    chip, pad = resolve_tiles(predictor.chip_size, args.tile_size, args.padding)
    plan = plan_inference(
        raster_path, chip_size=chip, padding=pad, extract_bands=tuple(predictor.extract_bands),
        processing_extent=processing_extent, cell_size=cell_size, part_size=part_size,
    )
    out = Path(out_cog_path)
    results: list[PartResult] = []
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".parts-") as tmp:
        files: list[Path] = []
        for part in plan.parts:
            path = Path(tmp) / f"part-{part.index:05d}.tif"
            results.append(
                classify_pixels_part(
                    raster_path, part, predictor, args, path,
                    _part_progress(progress, part.index, len(plan.parts)), should_stop,
                )
            )
            files.append(path)
        merge_classified_parts(files, out, tuple(predictor.classes))
    return results
