"""The ``import_features`` job kind: a large import, run by a worker (see importing.layer_import)."""
from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model

from apps.jobs.registry import JobContext, JobKind, ValidationContext, register_kind
from backend.api.exceptions import InvalidInput

from ..models import Layer
from .importing import UPLOAD_NAME, ImportOptions, import_now, imports_dir


def _validate(params: dict[str, Any], ctx: ValidationContext) -> dict[str, Any]:
    layer_id = params.get("layer")
    if not isinstance(layer_id, int) or not Layer.objects.filter(pk=layer_id, project_id=ctx.project_id).exists():
        raise InvalidInput("params.layer: must be the id of a layer of this project.")
    upload = params.get("upload")
    # Only files this app stored under DATA_DIR/imports: never a path chosen by the caller.
    if not isinstance(upload, str) or not UPLOAD_NAME.match(upload) or not (imports_dir() / upload).is_file():
        raise InvalidInput("params.upload: start imports with POST /api/layers/{id}/import/ (multipart file).")
    class_field = params.get("class_field")
    if class_field is not None and not isinstance(class_field, str):
        raise InvalidInput("params.class_field: must be an attribute name.")
    return {"layer": layer_id, "upload": upload, "filename": str(params.get("filename") or upload)[:255],
            "class_field": class_field or None, "repair": bool(params.get("repair", False))}


def _run(ctx: JobContext) -> dict[str, Any]:
    params = ctx.params
    path = imports_dir() / params["upload"]
    try:
        layer = Layer.objects.select_related("project").get(pk=params["layer"])
        user = get_user_model().objects.filter(pk=ctx.user_id).first() if ctx.user_id else None
        ctx.log(f"Importing {params['filename']} into layer {layer.name!r}")
        count = import_now(user=user, layer=layer, path=path, filename=params["filename"],
                           options=ImportOptions(params["class_field"], params["repair"]),
                           progress=ctx.progress, should_stop=ctx.should_stop)
        ctx.log(f"Imported {count} features")
        return {"layer": layer.pk, "count": count}
    finally:
        path.unlink(missing_ok=True)


def _abort(job: Any) -> None:
    if job.status == "queued":  # queued again (its worker stopped or died): the retry needs the upload
        return
    upload = (job.params or {}).get("upload")
    if isinstance(upload, str) and UPLOAD_NAME.match(upload):
        (imports_dir() / upload).unlink(missing_ok=True)


def register() -> None:
    register_kind(JobKind(
        name="import_features", handler=_run, validate=_validate, on_abort=_abort, timeout_seconds=6 * 3600,
        description="Import a GeoJSON, GeoPackage or zipped Shapefile into a layer",
    ))
