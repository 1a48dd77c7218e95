"""Handlers of the inference job kinds (what a worker runs), and their clean-up."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
from django.contrib.auth import get_user_model

from apps.jobs.registry import JobContext
from apps.labeling.layers.services import NewFeature
from apps.labeling.models import Feature, Layer, Raster
from apps.labeling.storage import raster_cog_path
from apps.models.package_models import ModelPackage
from backend.engine.dlpk.emd import parse_emd
from backend.engine.errors import Cancelled
from backend.engine.inference.classify_objects import ClassifyObjectsArgs, classify_objects
from backend.engine.inference.classify_pixels import merge_classified_parts
from backend.engine.inference.nms import merge_detection_parts, non_max_suppression

from .inputs import raster_ids
from .outputs import DetectionSource, acquired_attribute, class_table, classified_raster, create_result_layer, \
    detections_layer, remove_outputs, safe_geometry
from .parts import merge_progress, predictor_for, run_tiled

FEATURE_CHUNK = 2000


def _user(ctx: JobContext) -> Any:
    return get_user_model().objects.filter(pk=ctx.user_id).first() if ctx.user_id else None


def _classes(model_id: int) -> list[dict[str, Any]]:
    return class_table(parse_emd(ModelPackage.objects.get(pk=model_id).emd).classes)


def _scaled_share(progress: Callable[[int, int, str], None], index: int, count: int
                  ) -> Callable[[int, int, str], None]:
    """Progress of the ``index``-th of ``count`` merges, as a share of the merge's progress."""
    def report(done: int, total: int, message: str) -> None:
        frac = done / total if total else 1.0
        progress(round((index + frac) / count * 1000), 1000, message)

    return report


def detect_objects_job(ctx: JobContext) -> dict[str, Any]:
    """Detections of every raster in one layer; NMS runs within each raster (two dates of one
    place are two observations, not duplicates), and each feature carries its raster and date."""
    p = ctx.params
    run = run_tiled(ctx, "detect_objects", "objects found")
    groups = run.by_raster()
    sources: list[DetectionSource] = []
    features_in = 0
    for index, (raster_id, files) in enumerate(groups.items()):
        merged = ctx.work_dir / f"detections-{raster_id}.ndjson"
        result = merge_detection_parts(files, p["run_nms"], p["max_overlap_ratio"], p["class_agnostic"], merged,
                                       _scaled_share(merge_progress(ctx.progress), index, len(groups)),
                                       ctx.should_stop)
        features_in += result.features_in
        sources.append(DetectionSource(merged, raster_id))
        if ctx.should_stop():
            raise Cancelled()
    layer, count = detections_layer(project_id=ctx.project_id, user=_user(ctx), name=p["out_name"],
                                    job_id=ctx.job_id, sources=sources, classes=_classes(p["in_model"]))
    ctx.set_metrics({"found": count, "chips": run.chips, "before_nms": features_in, **run.metrics()})
    ctx.log(f"{run.chips} chips, {features_in} detections, {count} kept ({len(groups)} raster(s))")
    return {"layer": layer.pk, "count": count}


def classify_pixels_job(ctx: JobContext) -> dict[str, Any]:
    """One classified raster per input raster, all with the job as source (its result lists them)."""
    p = ctx.params
    run = run_tiled(ctx, "classify_pixels", "pixels classified")
    predictor = predictor_for(p["in_model"], p.get("processor_type", "CPU"))
    groups = run.by_raster()
    cogs: list[tuple[int, Path]] = []
    for index, (raster_id, files) in enumerate(groups.items()):
        cog = ctx.work_dir / f"classified-{raster_id}.tif"
        merge_classified_parts(files, cog, tuple(predictor.classes),
                               _scaled_share(merge_progress(ctx.progress), index, len(groups)))
        cogs.append((raster_id, cog))
        if ctx.should_stop():
            raise Cancelled()
    sources = {r.pk: r for r in Raster.objects.filter(pk__in=[r for r, _ in cogs])}
    outputs = []
    for raster_id, cog in cogs:
        source = sources[raster_id]
        name = p["out_name"] if len(cogs) == 1 else f"{p['out_name']} - {source.name}"
        outputs.append(classified_raster(project_id=ctx.project_id, user=_user(ctx), name=name, job_id=ctx.job_id,
                                         cog=cog, classes=_classes(p["in_model"]), acquired=source.acquired))
    ctx.set_metrics({"chips": run.chips, "pixels": run.count, **run.metrics()})
    return {"raster": outputs[0].pk, "rasters": [r.pk for r in outputs], "sources": [r for r, _ in cogs]}


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
    under the user's arguments: a model sees objects cropped the way it learnt them; a
    MultiLabeled_Tiles package gives every class above the threshold."""
    parsed = parse_emd(emd)
    crop = {"crop_size_fixed": parsed.crop_size_fixed, "blacken_around_feature": parsed.blacken_around_feature}
    package = {k: v for k, v in crop.items() if v is not None}
    return ClassifyObjectsArgs.from_arguments(
        {**package, **arguments, "multi_label": parsed.meta_data_mode == "MultiLabeled_Tiles"})


def classify_objects_job(ctx: JobContext) -> dict[str, Any]:
    """Classify every feature first (results to a file), then write the layer in one transaction:
    the model never runs while the database is write-locked (SQLite locks the whole file).

    Over several rasters, each feature is classified on each raster it lies on (one output feature
    per raster, carrying its raster and date): how the class of one object changes over time."""
    import json

    p = ctx.params
    predictor = predictor_for(p["in_model"], p.get("processor_type", "CPU"))
    source = Layer.objects.get(pk=p["in_layer"])
    rasters = raster_ids(p)
    total = max(source.feature_count, 1) * len(rasters)
    found_path = ctx.work_dir / "classified.ndjson"

    def inputs() -> Iterator[tuple[int, dict[str, Any]]]:
        for feature in _layer_features(source.pk):
            yield feature.pk, json.loads(feature.geometry)

    args = classify_objects_args(ModelPackage.objects.get(pk=p["in_model"]).emd, p["arguments"])
    done = 0
    with found_path.open("w") as out:
        for raster_id in rasters:
            for found in classify_objects(raster_cog_path(raster_id), inputs(), predictor, args,
                                          should_stop=ctx.should_stop):
                out.write(json.dumps([raster_id, int(found.feature_id), found.class_value,  # type: ignore[call-overload]
                                      found.class_name, found.confidence]) + "\n")
                done += 1
                if done % 50 == 0:
                    ctx.progress(done, total, f"{done} of {total} features classified")
            if ctx.should_stop():
                raise Cancelled()
    with found_path.open() as lines:
        results: dict[int, dict[int, list[Any]]] = {}
        for row in map(json.loads, lines):
            results.setdefault(row[0], {})[row[1]] = row[2:]
    dates = acquired_attribute(rasters)

    def outputs() -> Iterator[NewFeature]:
        for raster_id in rasters:
            found = results.get(raster_id, {})
            for feature in _layer_features(source.pk):
                if feature.pk not in found:
                    continue
                class_value, class_name, confidence = found[feature.pk]
                copy = _copy(feature, class_value=class_value, class_name=class_name, confidence=confidence,
                             raster_id=raster_id,
                             attributes={**dict(feature.attributes or {}), **dates.get(raster_id, {})})
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
