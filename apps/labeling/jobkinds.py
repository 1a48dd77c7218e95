"""Job kinds run by the labeling app (registered with apps.jobs in AppConfig.ready)."""
from __future__ import annotations

from typing import Any

from apps.jobs.registry import JobContext, JobKind, ValidationContext, register_kind
from backend.api.exceptions import InvalidInput

from .models import Raster


def _validate_ingest(params: dict[str, Any], ctx: ValidationContext) -> dict[str, Any]:
    raster_id = params.get("raster")
    if not isinstance(raster_id, int) or not Raster.objects.filter(pk=raster_id, project_id=ctx.project_id).exists():
        raise InvalidInput("params.raster: must be the id of a raster of this project.")
    return {"raster": raster_id}


def _run_ingest(ctx: JobContext) -> dict[str, Any]:
    from .ingest import raster_ingest

    return raster_ingest(ctx)


def _abort_ingest(job: Any) -> None:
    from .ingest import raster_ingest_aborted

    raster_ingest_aborted(job)


def register() -> None:
    register_kind(JobKind(
        name="ingest_raster", handler=_run_ingest, validate=_validate_ingest, on_abort=_abort_ingest,
        retryable=True, timeout_seconds=6 * 3600,
        description="Convert an uploaded raster to a Cloud Optimized GeoTIFF and compute statistics",
    ))
