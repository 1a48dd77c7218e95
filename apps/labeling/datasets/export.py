"""The export_training_data job: a layer's features + rasters -> DATA_DIR/datasets/<id>/."""
from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict
from typing import Any, Iterator

from shapely.geometry import shape

from apps.jobs.registry import JobContext
from backend.engine.chips import LabelFeature, RasterSource, export_training_data
from backend.engine.errors import EngineInputError

from ..models import Dataset, Feature, Layer, Project, Raster
from ..storage import raster_cog_path
from .params import class_defs, engine_params, layer_classes
from .storage import dataset_dir, dataset_partial_dir, folder_size, remove_dataset_files


def _features(layer_id: int, known: set[int], log: Any, only_accepted: bool = False) -> list[LabelFeature]:
    """The layer's classed features (EPSG:4326); unclassed or unknown-class ones are skipped, and
    with ``only_accepted`` all but those a reviewer accepted."""
    out: list[LabelFeature] = []
    skipped = 0
    qs = Feature.objects.filter(layer_id=layer_id)
    if only_accepted:
        qs = qs.filter(review_status="accepted")
    rows: Iterator[tuple[int, str, int | None]] = (
        qs.order_by("pk")
        .values_list("pk", "geometry", "class_value").iterator(chunk_size=2000)
    )
    for pk, text, class_value in rows:
        if class_value is None or class_value not in known:
            skipped += 1
            continue
        out.append(LabelFeature(feature_id=pk, geometry=shape(json.loads(text)), class_value=class_value))
    if skipped:
        log(f"{skipped} feature(s) without a class of the schema were left out.")
    return out


def run_export(ctx: JobContext) -> dict[str, Any]:
    params = ctx.params
    project = Project.objects.get(pk=ctx.project_id)
    layer = Layer.objects.filter(pk=params["in_layer"], project_id=ctx.project_id).first()
    if layer is None:
        raise EngineInputError("in_layer: the layer was deleted before the export ran.")
    dataset, _ = Dataset.objects.get_or_create(job_id=ctx.job_id, defaults={
        "project": project, "name": params["out_name"], "params": params,
        "metadata_format": params["metadata_format"],
        "image_chip_format": params.get("image_chip_format", "TIFF"), "created_by_id": ctx.user_id,
    })
    remove_dataset_files(dataset.pk)  # a retried attempt starts clean

    rasters = list(Raster.objects.filter(pk__in=params["in_rasters"], project_id=ctx.project_id))
    by_id = {r.pk: r for r in rasters}
    sources = []
    for raster_id in params["in_rasters"]:  # the order asked for: chips are numbered across rasters
        raster = by_id.get(raster_id)
        if raster is None or raster.status != Raster.Status.READY or not raster_cog_path(raster_id).exists():
            raise EngineInputError(f"in_rasters: raster {raster_id} is gone or not ready any more.")
        sources.append(RasterSource(path=raster_cog_path(raster_id), raster_id=raster_id))

    classes = class_defs(layer_classes(layer, project))
    features = _features(layer.pk, {c.value for c in classes}, ctx.log, bool(params.get("only_accepted")))
    ctx.log(f"Exporting {len(features)} features of {layer.name!r} from {len(sources)} raster(s) "
            f"as {params['metadata_format']}")
    out = ctx.work_dir / "export"
    summary = export_training_data(sources, features, classes, engine_params(params), out,
                                   progress=ctx.progress, should_stop=ctx.should_stop)
    for warning in summary.warnings:
        ctx.log(warning)

    # Move in two steps so that datasets/<id>/ never holds half a folder.
    partial, final = dataset_partial_dir(dataset.pk), dataset_dir(dataset.pk)
    partial.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(out), partial)
    os.replace(partial, final)
    Dataset.objects.filter(pk=dataset.pk).update(
        status=Dataset.Status.READY, chip_count=summary.chip_count, feature_count=summary.feature_count,
        tile_size_x=summary.tile_size[1], tile_size_y=summary.tile_size[0], band_count=summary.band_count,
        dtype=summary.dtype, metadata_format=summary.metadata_format,
        classes=[{"value": c.value, "name": c.name, "color": list(c.color)} for c in classes],
        class_stats=[asdict(s) for s in summary.class_stats], warnings=list(summary.warnings),
        size_bytes=folder_size(final),
    )
    ctx.log(f"{summary.chip_count} chips written")
    return {"dataset": dataset.pk, "chip_count": summary.chip_count}


def export_aborted(job: Any) -> None:
    """Failed, cancelled or crashed export: nothing of it stays (row and files)."""
    if job.status == "queued":  # re-queued after a worker died: it runs again and starts clean
        return
    for dataset_id in Dataset.objects.filter(job_id=job.pk).values_list("pk", flat=True):
        remove_dataset_files(dataset_id)
    Dataset.objects.filter(job_id=job.pk).delete()
