"""Reads of change between the dates of one inference job's results (issue 17).

- a classify_pixels job: each classified raster's per-class area (cached by raster), and the from/to
  change matrix of two of them;
- a detect_objects job: its features of two rasters matched by IoU (appeared/disappeared/persisted).

The rasters compared are the job's own inputs/outputs, so a user who may see the job may see them.
"""
from __future__ import annotations

import json
from typing import Any

from django.core.cache import cache

from apps.jobs.models import Job, JobStatus
from apps.jobs.selectors import job_get_visible
from apps.labeling.models import Feature, Layer, Raster
from apps.labeling.storage import raster_cog_path
from backend.api.exceptions import Conflict, InvalidInput, NotFound
from backend.engine.metrics.change import change_matrix, class_areas, match_detections

AREA_CACHE_SECONDS = 7 * 24 * 3600
MAX_MATCHED = 200_000  # features of one date a request may compare


def change_job(user: Any, job_id: int, kind: str) -> Job:
    job = job_get_visible(user, job_id)
    if job.kind != kind:
        raise NotFound(f"Job {job_id} is a {job.kind} job; this change view needs a {kind} job.")
    if job.status != JobStatus.SUCCEEDED:
        raise Conflict(f"Job {job_id} is {job.status}; its change can be computed once it has succeeded.")
    return job


def _iso(value: Any) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def _date_order(rasters: list[Raster]) -> list[Raster]:
    """By acquisition date (undated last, in the job's order)."""
    return sorted(rasters, key=lambda r: (r.acquired is None, r.acquired or 0, rasters.index(r)))


def _classified(job: Job) -> list[Raster]:
    ids = list(job.result.get("rasters") or [job.result["raster"]])
    found = {r.pk: r for r in Raster.objects.filter(pk__in=ids, source_job_id=job.pk)}
    return [found[i] for i in ids if i in found]


def _areas(raster: Raster) -> dict[str, Any]:
    key = f"change-areas:{raster.pk}:{raster.file_size}"
    cached = cache.get(key)
    if cached is None:
        areas = class_areas(raster_cog_path(raster.pk))
        cached = {"pixels": {str(k): v for k, v in areas.pixels.items()},
                  "areas": {str(k): round(v, 3) for k, v in areas.areas_m2.items()}}
        cache.set(key, cached, AREA_CACHE_SECONDS)
    return dict(cached)


def class_areas_by_date(job: Job) -> dict[str, Any]:
    """Per-class area (m²) of each classified raster of a classify_pixels job, in date order."""
    outputs = _classified(job)
    sources = dict(zip(job.result.get("rasters") or [], job.result.get("sources") or []))
    classes = outputs[0].classes if outputs else []
    dates = [{"raster": r.pk, "source": sources.get(r.pk), "name": r.name, "acquired": _iso(r.acquired), **_areas(r)}
             for r in _date_order(outputs)]
    return {"job": job.pk, "unit": "m2", "classes": classes, "dates": dates}


def _pick(outputs: list[Raster], value: int | None, field: str, default: Raster) -> Raster:
    if value is None:
        return default
    for raster in outputs:
        if raster.pk == value:
            return raster
    raise InvalidInput(f"{field}: raster {value} is not one of this job's rasters "
                       f"({', '.join(str(r.pk) for r in outputs)}).")


def _from_to(job: Job, rasters: list[Raster], before: int | None, after: int | None) -> tuple[Raster, Raster]:
    """Two of the job's rasters (date order; default: the first and the last date)."""
    if len(rasters) < 2:
        raise Conflict(f"Job {job.pk} has one raster; a change needs two dates.")
    a = _pick(rasters, before, "from", rasters[0])
    b = _pick(rasters, after, "to", rasters[-1])
    if a.pk == b.pk:
        raise InvalidInput("to: pick a raster other than from.")
    return a, b


def _side(raster: Raster) -> dict[str, Any]:
    return {"raster": raster.pk, "name": raster.name, "acquired": _iso(raster.acquired)}


def class_change_matrix(job: Job, before: int | None, after: int | None) -> dict[str, Any]:
    """From/to matrix of two classified rasters of the job (default: the first and last date)."""
    a, b = _from_to(job, _date_order(_classified(job)), before, after)
    values = [int(c["value"]) for c in (b.classes or [])]
    matrix = change_matrix(raster_cog_path(a.pk), raster_cog_path(b.pk), values)
    return {
        "job": job.pk, "unit": "m2", "classes": b.classes,
        "from": _side(a), "to": _side(b),
        "class_values": list(matrix.class_values), "pixels": matrix.pixels.tolist(),
        "areas": [[round(v, 3) for v in row] for row in matrix.areas_m2.tolist()],
    }


def _features(layer: Layer, raster_id: int) -> list[Feature]:
    qs = Feature.objects.filter(layer=layer, raster_id=raster_id).order_by("pk")
    if qs.count() > MAX_MATCHED:
        raise InvalidInput(f"from/to: raster {raster_id} has over {MAX_MATCHED} detections; raise min_confidence.")
    return list(qs)


def detection_change(job: Job, before: int | None, after: int | None, min_iou: float,
                     min_confidence: float | None) -> dict[str, Any]:
    """The job's detections of two rasters matched one to one by IoU: a GeoJSON FeatureCollection
    whose features carry ``change`` (appeared / disappeared / persisted), and the counts."""
    layer = Layer.objects.filter(pk=job.result.get("layer"), source_job_id=job.pk).first()
    if layer is None:
        raise NotFound(f"The detections layer of job {job.pk} was deleted.")
    inputs = _date_order(list(Raster.objects.filter(pk__in=job.params.get("in_rasters") or [job.params["in_raster"]])))
    a, b = _from_to(job, inputs, before, after)
    keep = [f for f in _features(layer, a.pk) + _features(layer, b.pk)
            if min_confidence is None or f.confidence is None or f.confidence >= min_confidence]
    by_id = {f.pk: f for f in keep}
    geometry = {f.pk: json.loads(f.geometry) for f in keep}
    found = match_detections([(f.pk, geometry[f.pk]) for f in keep if f.raster_id == a.pk],
                             [(f.pk, geometry[f.pk]) for f in keep if f.raster_id == b.pk], min_iou)

    def item(fid: Any, change: str, **extra: Any) -> dict[str, Any]:
        f = by_id[fid]
        props = {"change": change, "raster": f.raster_id, "acquired": (f.attributes or {}).get("acquired"),
                 "class_value": f.class_value, "class_name": f.class_name, "confidence": f.confidence, **extra}
        return {"type": "Feature", "id": fid, "geometry": geometry[fid], "properties": props}

    features = ([item(after_id, "persisted", matched=before_id, iou=iou) for before_id, after_id, iou in found.persisted]
                + [item(fid, "disappeared") for fid in found.disappeared]
                + [item(fid, "appeared") for fid in found.appeared])
    return {
        "type": "FeatureCollection", "job": job.pk, "layer": layer.pk, "min_iou": min_iou,
        "from": _side(a), "to": _side(b),
        "counts": {"persisted": len(found.persisted), "disappeared": len(found.disappeared),
                   "appeared": len(found.appeared)},
        "features": features,
    }
