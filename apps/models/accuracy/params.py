"""compute_accuracy params, declared once (``ComputeAccuracyParams``): the fields give types and
defaults; ``validate`` checks the inputs against each other (400 naming the field to fix, before
anything is queued).

The cleaned params also record where the result came from (the model and the image it ran on,
traced through the result's source jobs) and the names of the inputs at the time, so a model's
page can list its runs even after a layer is deleted or renamed.
"""
from __future__ import annotations

import json
from typing import Any

from django.db.models import Max, Min
from shapely.geometry import shape

from apps.jobs.models import Job
from apps.jobs.params import Flag, Geometry, Id, JobParams, Number
from apps.jobs.registry import ValidationContext
from apps.labeling.layers.geometry import clean_geometry
from apps.labeling.models import Feature, Layer, Raster
from backend.api.exceptions import InvalidInput

AREAL = ("Polygon", "MultiPolygon")
MAX_HOPS = 5  # result -> NMS -> ... -> the inference job that ran the model


def _layer(params: dict[str, Any], name: str, ctx: ValidationContext) -> Layer:
    pk = params.get(name)
    layer = Layer.objects.filter(pk=pk, project_id=ctx.project_id).first()
    if layer is None:
        raise InvalidInput(f"params.{name}: no layer {pk} in this project; both layers must belong to the "
                           "project the job runs in.")
    kinds = set(Feature.objects.filter(layer=layer).values_list("geom_type", flat=True).distinct())
    if kinds - set(AREAL):
        raise InvalidInput(f"params.{name}: layer {layer.name!r} holds {', '.join(sorted(kinds - set(AREAL)))} "
                           "features; accuracy compares areas (IoU), so it needs polygons or rectangles.")
    return layer


def _raster(params: dict[str, Any], name: str, ctx: ValidationContext) -> Raster:
    pk = params.get(name)
    raster = Raster.objects.filter(pk=pk, project_id=ctx.project_id).first()
    if raster is None:
        raise InvalidInput(f"params.{name}: no raster {pk} in this project.")
    if raster.status != Raster.Status.READY:
        raise InvalidInput(f"params.{name}: raster {raster.name!r} is {raster.status}, not ready.")
    if raster.count != 1:
        raise InvalidInput(f"params.{name}: raster {raster.name!r} has {raster.count} bands; a classified raster "
                           "has one band of class values.")
    return raster


def _extent(params: dict[str, Any]) -> dict[str, Any] | None:
    extent = params.get("processing_extent")
    if extent in (None, {}, ""):
        return None
    clean = clean_geometry(extent, where="params.processing_extent")
    if clean.geom_type not in AREAL:
        raise InvalidInput("params.processing_extent: must be a Polygon or MultiPolygon.")
    geometry: dict[str, Any] = json.loads(clean.text)
    return geometry


def _values(layer: Layer, only_accepted: bool) -> set[int]:
    qs = Feature.objects.filter(layer=layer)
    if only_accepted:
        qs = qs.filter(review_status="accepted")
    return {-1 if v is None else v for v in qs.values_list("class_value", flat=True).distinct()}


def _check_classes(result: set[int], truth: set[int], result_name: str, truth_name: str, field: str) -> None:
    if result and truth and not result & truth:
        def listed(values: set[int]) -> str:
            return "[" + ", ".join("no class" if v == -1 else str(v) for v in sorted(values)) + "]"

        raise InvalidInput(
            f"params.{field}: no class of {result_name!r} {listed(result)} occurs in {truth_name!r} "
            f"{listed(truth)}; the result and the ground truth must use the same class values "
            "(a model trained on this project's classes, or labels of the model's classes).")


def _layer_bounds(layer: Layer) -> tuple[float, float, float, float] | None:
    b = Feature.objects.filter(layer=layer).aggregate(w=Min("minx"), s=Min("miny"), e=Max("maxx"), n=Max("maxy"))
    return None if b["w"] is None else (b["w"], b["s"], b["e"], b["n"])


def _meet(a: tuple[float, ...] | list[float] | None, b: tuple[float, ...] | list[float] | None) -> bool:
    """Two [w, s, e, n] boxes overlap (unknown bounds: assume they do)."""
    if a is None or b is None:
        return True
    return a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]


def _check_overlaps(cleaned: dict[str, Any], truth: tuple[float, ...] | list[float] | None, truth_name: str,
                    field: str, result: list[float] | None = None, result_name: str = "") -> None:
    if not _meet(truth, result):
        raise InvalidInput(f"params.{field}: {truth_name!r} lies outside {result_name!r}; nothing to compare.")
    extent = cleaned.get("processing_extent")
    if extent is not None and not _meet(truth, shape(extent).bounds):
        raise InvalidInput(f"params.processing_extent: holds none of {truth_name!r}; draw it over the ground truth.")


def source_of(*, layer: Layer | None = None, raster: Raster | None = None) -> tuple[int | None, int | None]:
    """(model, image raster) that produced a result, following its source jobs (NMS -> detect)."""
    job_id = layer.source_job_id if layer is not None else raster.source_job_id if raster is not None else None
    for _ in range(MAX_HOPS):
        job = Job.objects.filter(pk=job_id).first() if job_id else None
        if job is None:
            return None, None
        if job.params.get("in_model"):
            return job.params.get("in_model"), job.params.get("in_raster")
        upstream = Layer.objects.filter(pk=job.params.get("in_layer")).first() if job.params.get("in_layer") else None
        job_id = upstream.source_job_id if upstream is not None else None
    return None, None


class ComputeAccuracyParams(JobParams):
    """Compute Accuracy For Object Detection / Pixel Classification: a result (a detections layer or a
    classified raster) scored against ground truth (labels, or a reference raster)."""

    reject_unknown = False
    in_detected_features = Id(default=None, help_text="A detections layer to score (or in_classified_raster).")
    in_classified_raster = Id(default=None, help_text="A classified raster to score (or in_detected_features).")
    in_ground_truth_features = Id(default=None, help_text="The ground-truth layer (labels).")
    in_reference_raster = Id(default=None, help_text="A classified reference raster (pixels mode, instead of "
                                                     "in_ground_truth_features).")
    processing_extent = Geometry(help_text="Score only inside this GeoJSON Polygon (EPSG:4326).")
    min_iou = Number(min_value=0.0, max_value=1.0, above=True, default=0.5,
                     help_text="Detections: a match needs at least this IoU with a ground-truth feature.")
    only_accepted = Flag(lenient=True, default=False, help_text="Only ground truth a reviewer accepted.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        return _cleaned(attrs, self.job)


def _cleaned(params: dict[str, Any], ctx: ValidationContext) -> dict[str, Any]:
    det, classified = params.get("in_detected_features"), params.get("in_classified_raster")
    if (det is None) == (classified is None):
        raise InvalidInput("params.in_detected_features: give a result to score: a detections layer "
                           "(in_detected_features) or a classified raster (in_classified_raster), one of them.")
    only_accepted = params["only_accepted"]
    extent = _extent(params)
    cleaned: dict[str, Any] = {"processing_extent": extent, "only_accepted": only_accepted}
    truth_layer = None
    truth_values: set[int] = set()
    if params.get("in_ground_truth_features") is not None:
        truth_layer = _layer(params, "in_ground_truth_features", ctx)
        truth_values = _values(truth_layer, only_accepted)
        if not truth_values:
            raise InvalidInput(f"params.in_ground_truth_features: layer {truth_layer.name!r} has no "
                               f"{'accepted ' if only_accepted else ''}features to compare with.")
        cleaned["in_ground_truth_features"] = truth_layer.pk
    if det is not None:
        layer = _layer(params, "in_detected_features", ctx)
        if truth_layer is None:
            raise InvalidInput("params.in_ground_truth_features: the ground-truth layer (labels) to score the "
                               "detections against is required.")
        if truth_layer.pk == layer.pk:
            raise InvalidInput("params.in_ground_truth_features: is the detections layer itself; pick the labels.")
        _check_classes(_values(layer, False), truth_values, layer.name, truth_layer.name, "in_ground_truth_features")
        _check_overlaps(cleaned, _layer_bounds(truth_layer), truth_layer.name, "in_ground_truth_features")
        model, raster = source_of(layer=layer)
        cleaned.update(mode="detections", in_detected_features=layer.pk, min_iou=params["min_iou"])
        names = {"result": layer.name, "ground_truth": truth_layer.name}
    else:
        result = _raster(params, "in_classified_raster", ctx)
        values = {int(c["value"]) for c in result.classes or [] if isinstance(c, dict) and "value" in c}
        if truth_layer is not None:
            if params.get("in_reference_raster") is not None:
                raise InvalidInput("params.in_reference_raster: give ground-truth polygons or a reference raster, "
                                   "not both.")
            _check_classes(values, truth_values, result.name, truth_layer.name, "in_ground_truth_features")
            _check_overlaps(cleaned, _layer_bounds(truth_layer), truth_layer.name, "in_ground_truth_features",
                            result.bounds, result.name)
            names = {"result": result.name, "ground_truth": truth_layer.name}
        else:
            if params.get("in_reference_raster") is None:
                raise InvalidInput("params.in_ground_truth_features: give ground-truth polygons "
                                   "(in_ground_truth_features) or a reference raster (in_reference_raster).")
            reference = _raster(params, "in_reference_raster", ctx)
            if reference.pk == result.pk:
                raise InvalidInput("params.in_reference_raster: is the classified raster itself.")
            ref_values = {int(c["value"]) for c in reference.classes or [] if isinstance(c, dict) and "value" in c}
            _check_classes(values, ref_values, result.name, reference.name, "in_reference_raster")
            _check_overlaps(cleaned, reference.bounds, reference.name, "in_reference_raster", result.bounds, result.name)
            cleaned["in_reference_raster"] = reference.pk
            names = {"result": result.name, "ground_truth": reference.name}
        model, raster = source_of(raster=result)
        cleaned.update(mode="pixels", in_classified_raster=result.pk)
    image = Raster.objects.filter(pk=raster).first() if raster else None
    names["raster"] = image.name if image is not None else ""
    cleaned.update(model=model, raster=raster, names=names)
    return cleaned
