"""Handlers of the inference job kinds (what a worker runs), and their clean-up."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
from django.contrib.auth import get_user_model

from apps.jobs.registry import JobContext
from apps.labeling.layers.services import NewFeature
from apps.labeling.models import Feature, Layer
from apps.labeling.storage import raster_cog_path
from apps.models.package_models import ModelPackage
from backend.engine.dlpk.emd import parse_emd
from backend.engine.errors import Cancelled
from backend.engine.inference.classify_objects import ClassifyObjectsArgs, classify_objects
from backend.engine.inference.classify_pixels import merge_classified_parts
from backend.engine.inference.nms import merge_detection_parts, non_max_suppression

from .outputs import class_table, classified_raster, create_result_layer, detections_layer, remove_outputs, \
    safe_geometry
from .parts import merge_progress, predictor_for, run_tiled

FEATURE_CHUNK = 2000


def _user(ctx: JobContext) -> Any:
    return get_user_model().objects.filter(pk=ctx.user_id).first() if ctx.user_id else None


def _classes(model_id: int) -> list[dict[str, Any]]:
    return class_table(parse_emd(ModelPackage.objects.get(pk=model_id).emd).classes)


def detect_objects_job(ctx: JobContext) -> dict[str, Any]:
    p = ctx.params
    run = run_tiled(ctx, "detect_objects", "objects found")
    merged = ctx.work_dir / "detections.ndjson"
    result = merge_detection_parts(run.files, p["run_nms"], p["max_overlap_ratio"], p["class_agnostic"], merged,
                                   merge_progress(ctx.progress), ctx.should_stop)
    if ctx.should_stop():
        raise Cancelled()
    layer, count = detections_layer(project_id=ctx.project_id, user=_user(ctx), name=p["out_name"],
                                    job_id=ctx.job_id, merged=merged, classes=_classes(p["in_model"]),
                                    raster_id=p["in_raster"])
    ctx.set_metrics({"found": count, "chips": run.chips, "before_nms": result.features_in})
    ctx.log(f"{run.chips} chips, {result.features_in} detections, {count} kept")
    return {"layer": layer.pk, "count": count}


def classify_pixels_job(ctx: JobContext) -> dict[str, Any]:
    p = ctx.params
    run = run_tiled(ctx, "classify_pixels", "pixels classified")
    cog = ctx.work_dir / "classified.tif"
    predictor = predictor_for(p["in_model"], p.get("processor_type", "CPU"))
    merge_classified_parts(run.files, cog, tuple(predictor.classes), merge_progress(ctx.progress))
    if ctx.should_stop():
        raise Cancelled()
    raster = classified_raster(project_id=ctx.project_id, user=_user(ctx), name=p["out_name"], job_id=ctx.job_id,
                               cog=cog, classes=_classes(p["in_model"]))
    ctx.set_metrics({"chips": run.chips, "pixels": run.count})
    return {"raster": raster.pk}


def _layer_features(layer_id: int) -> Iterator[Feature]:
    """The layer's features in id order, a chunk at a time (never the whole layer in memory)."""
    last = 0
    while True:
        chunk = list(Feature.objects.filter(layer_id=layer_id, pk__gt=last).order_by("pk")[:FEATURE_CHUNK])
        if not chunk:
            return
        yield from chunk
        last = chunk[-1].pk


def _copy(feature: Feature, **changes: Any) -> NewFeature | None:
    geometry = safe_geometry(feature.geometry)
    if geometry is None:
        return None
    values = {"class_value": feature.class_value, "class_name": feature.class_name, "confidence": feature.confidence,
              "raster_id": feature.raster_id, "attributes": dict(feature.attributes or {})}
    values.update(changes)
    return NewFeature(geometry=geometry, **values)


def classify_objects_args(emd: Any, arguments: dict[str, Any]) -> ClassifyObjectsArgs:
    """The package's CropSizeFixed / BlackenAroundFeature (how its chips were cut for training)
    under the user's arguments: a model sees objects cropped the way it learnt them."""
    parsed = parse_emd(emd)
    crop = {"crop_size_fixed": parsed.crop_size_fixed, "blacken_around_feature": parsed.blacken_around_feature}
    return ClassifyObjectsArgs.from_arguments({**{k: v for k, v in crop.items() if v is not None}, **arguments})


def classify_objects_job(ctx: JobContext) -> dict[str, Any]:
    """Classify every feature first (results to a file), then write the layer in one transaction:
    the model never runs while the database is write-locked (SQLite locks the whole file)."""
    import json

    p = ctx.params
    predictor = predictor_for(p["in_model"], p.get("processor_type", "CPU"))
    source = Layer.objects.get(pk=p["in_layer"])
    total = max(source.feature_count, 1)
    found_path = ctx.work_dir / "classified.ndjson"

    def inputs() -> Iterator[tuple[int, dict[str, Any]]]:
        for feature in _layer_features(source.pk):
            yield feature.pk, json.loads(feature.geometry)

    args = classify_objects_args(ModelPackage.objects.get(pk=p["in_model"]).emd, p["arguments"])
    with found_path.open("w") as out:
        for done, found in enumerate(classify_objects(raster_cog_path(p["in_raster"]), inputs(), predictor, args,
                                                      should_stop=ctx.should_stop), start=1):
            out.write(json.dumps([int(found.feature_id), found.class_value, found.class_name,  # type: ignore[call-overload]
                                  found.confidence]) + "\n")
            if done % 50 == 0:
                ctx.progress(done, total, f"{done} of {total} features classified")
    if ctx.should_stop():
        raise Cancelled()
    with found_path.open() as lines:
        results = {row[0]: row[1:] for row in map(json.loads, lines)}

    def outputs() -> Iterator[NewFeature]:
        for feature in _layer_features(source.pk):
            if feature.pk not in results:
                continue
            class_value, class_name, confidence = results[feature.pk]
            copy = _copy(feature, class_value=class_value, class_name=class_name, confidence=confidence,
                         raster_id=p["in_raster"])
            if copy is not None:
                yield copy

    layer, count = create_result_layer(project_id=ctx.project_id, user=_user(ctx), name=p["out_name"],
                                       job_id=ctx.job_id, classes=_classes(p["in_model"]), features=outputs(),
                                       kind=Layer.Kind.CLASSIFIED, reason="classify_objects")
    return {"layer": layer.pk, "count": count}


def nms_job(ctx: JobContext) -> dict[str, Any]:
    """NMS over a layer: only boxes/scores/classes (bbox columns, EPSG:4326) are held in memory."""
    p = ctx.params
    source = Layer.objects.get(pk=p["in_layer"])
    rows = Feature.objects.filter(layer_id=source.pk).order_by("pk").values_list(
        "pk", "minx", "miny", "maxx", "maxy", "confidence", "class_value")
    ids, boxes, scores, classes = [], [], [], []
    for pk, x0, y0, x1, y1, conf, cls in rows.iterator(chunk_size=FEATURE_CHUNK):
        ids.append(pk)
        boxes.append((x0, y0, x1, y1))
        scores.append(1.0 if conf is None else conf)
        classes.append(-1 if cls is None else cls)
    ctx.progress(1, 3, f"{len(ids)} features read")
    if ids:
        # Boxes in degrees are tiny: shift to the origin so float32 keeps their precision.
        arr = np.asarray(boxes, dtype=np.float64)
        arr -= np.array([arr[:, 0].min(), arr[:, 1].min()] * 2)
        keep = non_max_suppression(arr.astype(np.float32) * 1e5, np.asarray(scores, np.float32),
                                   np.asarray(classes, np.int64), p["max_overlap_ratio"], p["class_agnostic"])
        kept = {ids[i] for i in keep.tolist()}
    else:
        kept = set()
    del boxes, scores, classes
    if ctx.should_stop():
        raise Cancelled()
    ctx.progress(2, 3, f"{len(kept)} of {len(ids)} kept")

    def outputs() -> Iterator[NewFeature]:
        for feature in _layer_features(source.pk):
            if feature.pk in kept:
                copy = _copy(feature)
                if copy is not None:
                    yield copy

    layer, count = create_result_layer(project_id=ctx.project_id, user=_user(ctx), name=p["out_name"],
                                       job_id=ctx.job_id, classes=list(source.classes or []), features=outputs(),
                                       kind=source.kind, reason="nms")
    return {"layer": layer.pk, "count": count, "removed": len(ids) - count}


def abort_job(job: Any) -> None:
    remove_outputs(job.pk)


__all__ = ["abort_job", "classify_objects_job", "classify_pixels_job", "detect_objects_job", "nms_job"]
