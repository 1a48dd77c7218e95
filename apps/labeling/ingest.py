"""The ingest_raster job: source GeoTIFF -> COG + statistics; the raster becomes ready or failed."""
from __future__ import annotations

from typing import Any

from apps.jobs.registry import JobContext
from backend.engine.raster.ingest import cog_ingest

from .models import Raster
from .storage import raster_cog_path, raster_source_path


def raster_ingest(ctx: JobContext) -> dict[str, Any]:
    raster = Raster.objects.get(pk=ctx.params["raster"])
    ctx.log(f"Ingesting {raster.name} ({raster.width}x{raster.height}, {raster.count} x {raster.dtype}, {raster.crs})")
    resampling = "nearest" if raster.kind == Raster.Kind.CLASSIFIED else "average"
    result = cog_ingest(raster_source_path(raster.pk), raster_cog_path(raster.pk), ctx.progress, ctx.should_stop,
                        overview_resampling=resampling)
    Raster.objects.filter(pk=raster.pk).update(status=Raster.Status.READY, error="", statistics=result.statistics)
    return {"raster": raster.pk}


def raster_ingest_aborted(job: Any) -> None:
    """Failed, cancelled or crashed ingest: the raster shows why, and no half-written COG stays."""
    raster_id = job.params.get("raster")
    cog = raster_cog_path(raster_id)
    cog.unlink(missing_ok=True)
    cog.with_suffix(".partial.tif").unlink(missing_ok=True)
    if job.status == "queued":  # re-queued after a worker died: it will run again
        return
    error = job.error or ("Ingest was cancelled." if job.status == "cancelled" else "Ingest failed.")
    Raster.objects.filter(pk=raster_id).update(status=Raster.Status.FAILED, error=error)
