"""Result layers and classified rasters of inference jobs, written all or nothing.

Features stream from the merged NDJSON file into the layer in batches (features_bulk_create); the
layer and its features commit in one transaction, so a failed or cancelled job leaves no layer.
"""
from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import shapely
from django.db import transaction
from shapely.geometry import shape

from apps.labeling.layers.geometry import check_shape, clean_geometry
from apps.labeling.layers.services import NewFeature, features_bulk_create, layer_create
from apps.labeling.models import Layer, Project, Raster
from apps.labeling.storage import raster_cog_path, raster_dir
from backend.api.exceptions import InvalidInput
from backend.engine.inference.features import read_features
from backend.engine.raster.ingest import band_statistics
from backend.engine.raster.inspect import inspect_raster

logger = logging.getLogger(__name__)


def class_table(classes: Iterable[Any]) -> list[dict[str, Any]]:
    """[{value, name, color}] from the package's classes (EmdClass-like objects)."""
    return [{"value": int(c.value), "name": str(c.name), "color": [int(v) for v in (c.color or (128, 128, 128))][:3]}
            for c in classes]


def safe_geometry(geometry: dict[str, Any]) -> Any:
    """A CleanGeometry, repairing what polygonised masks can produce; None when unusable."""
    try:
        return clean_geometry(geometry)
    except InvalidInput:
        try:
            return check_shape(shapely.make_valid(shape(geometry)).buffer(0))
        except Exception:  # noqa: BLE001 - a degenerate detection is skipped, not fatal
            return None


@dataclass(frozen=True)
class DetectionSource:
    """A merged detections file and the raster it was found on."""

    path: Path
    raster_id: int


def acquired_attribute(raster_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """{raster id: {"acquired": ISO date}}: the date each result feature carries, so a layer over
    several dates filters and compares without a lookup per feature (undated rasters: no entry)."""
    rows = Raster.objects.filter(pk__in=list(raster_ids), acquired__isnull=False).values_list("pk", "acquired")
    return {pk: {"acquired": when.isoformat().replace("+00:00", "Z")} for pk, when in rows}


def _detections(sources: list[DetectionSource]) -> Iterator[NewFeature]:
    dates = acquired_attribute(s.raster_id for s in sources)
    for source in sources:
        for feature in read_features(source.path):
            geometry = safe_geometry(feature["geometry"])
            if geometry is None:
                continue
            props = feature.get("properties") or {}
            yield NewFeature(geometry=geometry, class_value=props.get("class_value"),
                             class_name=str(props.get("class_name") or ""), confidence=props.get("confidence"),
                             raster_id=source.raster_id, attributes=dict(dates.get(source.raster_id, {})))


def create_result_layer(*, project_id: int, user: Any, name: str, job_id: int, classes: list[dict[str, Any]],
                        features: Iterable[NewFeature], kind: str = Layer.Kind.DETECTIONS,
                        reason: str = "detections") -> tuple[Layer, int]:
    """A new layer with ``features`` (streamed), committed together."""
    project = Project.objects.get(pk=project_id)
    with transaction.atomic():
        layer = layer_create(user=user, project=project, name=name, kind=kind, classes=classes,
                             source_job_id=job_id, check_access=False)
        count = features_bulk_create(layer=layer, features=features, user=user, reason=reason)
    layer.refresh_from_db()
    return layer, count


def detections_layer(*, project_id: int, user: Any, name: str, job_id: int, sources: list[DetectionSource],
                     classes: list[dict[str, Any]]) -> tuple[Layer, int]:
    return create_result_layer(project_id=project_id, user=user, name=name, job_id=job_id, classes=classes,
                               features=_detections(sources))


def classified_raster(*, project_id: int, user: Any, name: str, job_id: int, cog: Path,
                      classes: list[dict[str, Any]], acquired: Any = None) -> Raster:
    """Register the merged COG as a ready classified raster (moved to the raster's storage)."""
    info = inspect_raster(cog)
    statistics = band_statistics(cog)
    raster = Raster.objects.create(
        project_id=project_id, name=name, kind=Raster.Kind.CLASSIFIED, status=Raster.Status.PROCESSING,
        crs=info.crs, width=info.width, height=info.height, count=info.count, dtype=info.dtype, nodata=info.nodata,
        resolution_x=info.resolution[0], resolution_y=info.resolution[1], west=info.bounds_4326[0],
        south=info.bounds_4326[1], east=info.bounds_4326[2], north=info.bounds_4326[3], classes=classes,
        source_job_id=job_id, created_by=user if getattr(user, "pk", None) else None,
        file_size=cog.stat().st_size, statistics=statistics, acquired=acquired,
    )
    try:
        target = raster_cog_path(raster.pk)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(cog), target) if not _same_fs(cog, target) else os.replace(cog, target)
    except Exception:
        raster.delete()
        shutil.rmtree(raster_dir(raster.pk), ignore_errors=True)
        raise
    Raster.objects.filter(pk=raster.pk).update(status=Raster.Status.READY)
    raster.status = Raster.Status.READY
    return raster


def _same_fs(a: Path, b: Path) -> bool:
    try:
        return os.stat(a).st_dev == os.stat(b.parent).st_dev
    except OSError:
        return False


def remove_outputs(job_id: int) -> None:
    """on_abort: whatever a failed/cancelled job may have created (normally nothing)."""
    Layer.objects.filter(source_job_id=job_id).delete()
    for raster in Raster.objects.filter(source_job_id=job_id):
        pk = raster.pk
        raster.delete()
        shutil.rmtree(raster_dir(pk), ignore_errors=True)


def feature_geometry(feature: Any) -> dict[str, Any]:
    import json

    geometry: dict[str, Any] = json.loads(feature.geometry)
    return geometry


__all__ = ["DetectionSource", "acquired_attribute", "class_table", "classified_raster", "create_result_layer", "detections_layer", "feature_geometry",
           "remove_outputs", "safe_geometry"]
