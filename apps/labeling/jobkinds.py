"""Job kinds run by the labeling app (registered with apps.jobs in AppConfig.ready)."""
from __future__ import annotations

from typing import Any

from apps.jobs.params import Id, JobParams
from apps.jobs.registry import JobContext, JobKind, register_kind
from backend.api.exceptions import InvalidInput

from .models import Raster


class IngestRasterParams(JobParams):
    """Started by POST /api/rasters/ (the upload), never by hand."""

    raster = Id(help_text="The uploaded raster to convert.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not Raster.objects.filter(pk=attrs["raster"], project_id=self.job.project_id).exists():
            raise InvalidInput("params.raster: must be the id of a raster of this project.")
        return attrs


def _run_ingest(ctx: JobContext) -> dict[str, Any]:
    from .ingest import raster_ingest

    return raster_ingest(ctx)


def _abort_ingest(job: Any) -> None:
    from .ingest import raster_ingest_aborted

    raster_ingest_aborted(job)


def register() -> None:
    register_kind(JobKind(
        name="ingest_raster", handler=_run_ingest, params=IngestRasterParams, on_abort=_abort_ingest,
        retryable=True, timeout_seconds=6 * 3600, internal=True,
        description="Convert an uploaded raster to a Cloud Optimized GeoTIFF and compute statistics",
    ))
