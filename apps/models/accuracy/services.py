"""The compute_accuracy job: read both sides, score them with the engine, keep the report in
job.result and which detection was a true or false positive (and which ground truth was missed) in
a file beside it, so the map can colour them without bloating every job list."""
from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from django.conf import settings

from apps.jobs.registry import JobContext
from apps.labeling.models import Feature, Layer, Project, Raster
from apps.labeling.storage import raster_cog_path
from backend.engine.errors import Cancelled
from backend.engine.metrics.accuracy import ClassAccuracy, DetectionAccuracy, Objects, detection_accuracy
from backend.engine.metrics.pixel_accuracy import PixelAccuracy, pixel_accuracy

CHUNK = 5000


def outcomes_path(job_id: int) -> Path:
    return Path(settings.DATA_DIR) / "accuracy" / f"{job_id}.json"


def _features(layer_id: int, only_accepted: bool, with_scores: bool) -> Objects:
    qs = Feature.objects.filter(layer_id=layer_id)
    if only_accepted:
        qs = qs.filter(review_status="accepted")
    ids, texts, classes, scores = [], [], [], []
    for pk, text, cls, conf in qs.order_by("pk").values_list("pk", "geometry", "class_value", "confidence") \
            .iterator(chunk_size=CHUNK):
        ids.append(pk)
        texts.append(text)
        classes.append(cls)
        scores.append(conf)
    geometries = shapely.from_geojson(np.asarray(texts, dtype=object)) if texts else []
    return Objects.build(ids, list(geometries), classes, scores if with_scores else None)


def _class_names(*tables: list[dict[str, Any]]) -> dict[int, str]:
    names: dict[int, str] = {-1: "(no class)"}
    for table in reversed(tables):  # the first table wins
        names.update({int(c["value"]): str(c.get("name") or c["value"]) for c in table or []
                      if isinstance(c, dict) and "value" in c})
    return names


def _row(score: ClassAccuracy, names: dict[int, str]) -> dict[str, Any]:
    row = {k: v for k, v in asdict(score).items() if not k.startswith("curve_")}
    row["class_name"] = "All classes" if score.class_value is None else names.get(score.class_value, str(score.class_value))
    if score.curve_recall:
        row["curve"] = {"recall": list(score.curve_recall), "precision": list(score.curve_precision)}
    return row


def _detections(ctx: JobContext) -> tuple[dict[str, Any], dict[str, Any]]:
    p = ctx.params
    det_layer, truth_layer = Layer.objects.get(pk=p["in_detected_features"]), Layer.objects.get(pk=p["in_ground_truth_features"])
    ctx.progress(0, 3, "reading features")
    detections = _features(det_layer.pk, False, True)
    truth = _features(truth_layer.pk, p.get("only_accepted", False), False)
    if ctx.should_stop():
        raise Cancelled()
    ctx.progress(1, 3, f"matching {len(detections)} detections with {len(truth)} ground-truth features")
    area = shapely.from_geojson(json.dumps(p["processing_extent"])) if p.get("processing_extent") else None
    scored: DetectionAccuracy = detection_accuracy(detections, truth, min_iou=p["min_iou"], area=area)
    names = _class_names(list(Project.objects.get(pk=ctx.project_id).classes or []), list(truth_layer.classes or []),
                         list(det_layer.classes or []))
    det_ids, truth_ids = scored.detection_ids, scored.truth_ids  # what was inside the scored area
    outcomes = {
        "detections_layer": det_layer.pk, "ground_truth_layer": truth_layer.pk, "min_iou": p["min_iou"],
        "true_positives": det_ids[scored.true_positive].tolist(), "false_positives": det_ids[~scored.true_positive].tolist(),
        "matched": truth_ids[scored.matched].tolist(), "missed": truth_ids[~scored.matched].tolist(),
    }
    report = {
        "mode": "detections", "min_iou": p["min_iou"], "overall": _row(scored.overall, names),
        "classes": [_row(c, names) for c in scored.per_class], "notes": list(scored.notes),
        "outcomes": {k: len(outcomes[k]) for k in ("true_positives", "false_positives", "missed")},
    }
    return report, outcomes


def _pixels(ctx: JobContext) -> dict[str, Any]:
    p = ctx.params
    result = Raster.objects.get(pk=p["in_classified_raster"])
    truth = reference = None
    tables = [list(result.classes or [])]
    if p.get("in_ground_truth_features"):
        layer = Layer.objects.get(pk=p["in_ground_truth_features"])
        qs = Feature.objects.filter(layer=layer).exclude(class_value=None)
        if p.get("only_accepted"):
            qs = qs.filter(review_status="accepted")
        truth = [(json.loads(g), int(v)) for g, v in qs.order_by("pk").values_list("geometry", "class_value")]
        tables += [list(layer.classes or []), list(Project.objects.get(pk=ctx.project_id).classes or [])]
    else:
        ref = Raster.objects.get(pk=p["in_reference_raster"])
        reference = raster_cog_path(ref.pk)
        tables.append(list(ref.classes or []))
    values = sorted(_class_names(*tables))[1:]  # declared classes (not the "no class" entry)
    scored: PixelAccuracy = pixel_accuracy(raster_cog_path(result.pk), truth=truth, reference=reference,
                                           extent=p.get("processing_extent"), class_values=values,
                                           progress=ctx.progress, should_stop=ctx.should_stop)
    names = _class_names(*tables)
    classes = []
    for c in scored.per_class:
        row = asdict(c)
        row["class_name"] = names.get(c.class_value, str(c.class_value))
        classes.append(row)
    return {
        "mode": "pixels", "pixels": scored.pixels, "overall_accuracy": scored.overall_accuracy, "kappa": scored.kappa,
        "mean_iou": scored.mean_iou, "class_values": list(scored.class_values),
        "class_names": [names.get(v, str(v)) for v in scored.class_values],
        "confusion": scored.confusion.tolist(), "classes": classes, "notes": list(scored.notes),
    }


def compute_accuracy_job(ctx: JobContext) -> dict[str, Any]:
    p = ctx.params
    keep = {k: p.get(k) for k in ("in_detected_features", "in_classified_raster", "in_ground_truth_features",
                                  "in_reference_raster", "model", "raster", "names") if p.get(k) is not None}
    if p["mode"] == "detections":
        report, outcomes = _detections(ctx)
        path = outcomes_path(ctx.job_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".part")
        partial.write_text(json.dumps(outcomes))
        os.replace(partial, path)
        o = report["overall"]
        ctx.log(f"TP {o['true_positives']}, FP {o['false_positives']}, FN {o['false_negatives']}")
    else:
        report = _pixels(ctx)
        ctx.log(f"{report['pixels']} pixels, overall accuracy {report['overall_accuracy']}")
    for note in report["notes"]:
        ctx.log(note)
    ctx.set_metrics(headline(report))
    return {**keep, **report}


def headline(result: dict[str, Any]) -> dict[str, Any]:
    """The few numbers a list shows for a run."""
    if result.get("mode") == "detections":
        o = result.get("overall") or {}
        return {k: o.get(k) for k in ("precision", "recall", "f1", "ap", "ap50_95")}
    if result.get("mode") == "pixels":
        return {k: result.get(k) for k in ("overall_accuracy", "kappa", "mean_iou")}
    return {}


def abort_job(job: Any) -> None:
    outcomes_path(job.pk).unlink(missing_ok=True)
    outcomes_path(job.pk).with_suffix(".part").unlink(missing_ok=True)


__all__ = ["abort_job", "compute_accuracy_job", "headline", "outcomes_path"]
