"""The ``import_features`` job kind: a large import, run by a worker (see importing.layer_import)."""
from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model

from rest_framework import serializers

from apps.jobs.params import Flag, Id, JobParams
from apps.jobs.registry import JobContext, JobKind, register_kind
from backend.api.exceptions import InvalidInput

from ..models import Layer
from .importing import UPLOAD_NAME, ImportOptions, import_now, imports_dir


class ImportFeaturesParams(JobParams):
    """Started by POST /api/layers/{id}/import/ (a multipart file), never by hand."""

    reject_unknown = False
    layer = Id(help_text="The layer to import into.")
    upload = serializers.CharField(help_text="The stored upload (a name under DATA_DIR/imports).")
    filename = serializers.CharField(required=False, allow_null=True, allow_blank=True, default=None)
    class_field = serializers.CharField(required=False, allow_null=True, allow_blank=True, default=None,
                                        error_messages={"invalid": "must be an attribute name."})
    repair = Flag(lenient=True, default=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not Layer.objects.filter(pk=attrs["layer"], project_id=self.job.project_id).exists():
            raise InvalidInput("params.layer: must be the id of a layer of this project.")
        upload = attrs["upload"]
        # Only files this app stored under DATA_DIR/imports: never a path chosen by the caller.
        if not UPLOAD_NAME.match(upload) or not (imports_dir() / upload).is_file():
            raise InvalidInput("params.upload: start imports with POST /api/layers/{id}/import/ (multipart file).")
        return {"layer": attrs["layer"], "upload": upload, "filename": (attrs["filename"] or upload)[:255],
                "class_field": attrs["class_field"] or None, "repair": attrs["repair"]}


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
        name="import_features", handler=_run, params=ImportFeaturesParams, internal=True, on_abort=_abort, timeout_seconds=6 * 3600,
        description="Import a GeoJSON, GeoPackage or zipped Shapefile into a layer",
    ))
