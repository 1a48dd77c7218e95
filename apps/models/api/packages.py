"""/api/models/: model package items (upload, list, inspect, edit, download, delete).

Duplicate uploads: the same file already in the project answers 409 with the existing model's
`id` in the body (`{"detail": ..., "id": 12}`), so a client can open that one instead.
"""
from __future__ import annotations

import re
import zipfile
from pathlib import Path

from django.http import FileResponse, HttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action, api_view
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from apps.jobs.api.serializers import JobSerializer
from apps.jobs.services import job_start
from apps.labeling.selectors import project_get
from backend.api.exceptions import InvalidInput, NotFound
from backend.api.params import query_id
from backend.api.parsers import JSONParser
from backend.api.uploads import StreamedUploadMixin
from backend.engine.dlpk.archive import member_path

from ..packages import services
from ..packages.describe import arguments_json, stored_emd
from ..packages.permissions import writable_project_ids
from ..packages.selectors import model_get_visible, models_for
from ..packages.runtimes import runnable_now
from ..packages.serializers import (
    ExportOnnxRequestSerializer,
    ModelInfoSerializer,
    ModelPackageSerializer,
    ModelUpdateSerializer,
    ModelUploadSerializer,
)

MAX_IMAGE_BYTES = 32 * 1024 * 1024
_UNSAFE_FILENAME = re.compile(r'[\x00-\x1f\x7f"\\/:*?<>|]+')


def _flag(value: str | None, name: str) -> bool | None:
    if value is None or value == "":
        return None
    if value.lower() in ("1", "true", "yes"):
        return True
    if value.lower() in ("0", "false", "no"):
        return False
    raise InvalidInput(f"{name}: must be true or false.")


def download_name(title: str) -> str:
    """`<title>.dlpk`, without characters that file systems or headers refuse."""
    name = _UNSAFE_FILENAME.sub("_", title).strip(" ._") or "model"
    return f"{name[:150]}.dlpk"


class ModelPackageViewSet(StreamedUploadMixin, viewsets.GenericViewSet):
    upload_limit_setting = "MAX_MODEL_UPLOAD_MB"
    serializer_class = ModelPackageSerializer
    parser_classes = [JSONParser, MultiPartParser]

    def get_queryset(self):  # type: ignore[override]
        params = self.request.query_params
        return models_for(
            self.request.user,
            project=query_id(params, "project"),
            search=params.get("search", ""),
            model_type=params.get("model_type", ""),
            family=params.get("family", ""),
            shared=_flag(params.get("shared"), "shared"),
            runnable=_flag(params.get("runnable"), "runnable"),
        )

    def get_serializer_context(self) -> dict:
        return {**super().get_serializer_context(), "writable": writable_project_ids(self.request.user)}

    @extend_schema(parameters=[
        OpenApiParameter("project", int), OpenApiParameter("search", str), OpenApiParameter("model_type", str),
        OpenApiParameter("family", str), OpenApiParameter("shared", bool), OpenApiParameter("runnable", bool),
    ])
    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(self.get_serializer(model_get_visible(request.user, pk)).data)

    @extend_schema(request={"multipart/form-data": ModelUploadSerializer}, responses=ModelPackageSerializer)
    def create(self, request: Request) -> Response:
        data = ModelUploadSerializer(data=request.data)
        try:
            data.is_valid(raise_exception=True)
            upload = data.validated_data["file"]
            project = project_get(request.user, data.validated_data["project"])
            package = services.model_upload(
                user=request.user, project=project, uploaded_path=Path(upload.temporary_file_path()),
                file_name=Path(upload.name).name, title=data.validated_data.get("title", ""),
                description=data.validated_data.get("description"), shared=data.validated_data["shared"],
            )
        finally:
            for upload in request.FILES.values():
                Path(upload.temporary_file_path()).unlink(missing_ok=True)
                upload.close()
        return Response(self.get_serializer(package).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ModelUpdateSerializer, responses=ModelPackageSerializer)
    def partial_update(self, request: Request, pk: str) -> Response:
        package = model_get_visible(request.user, pk)
        data = ModelUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        package = services.model_update(user=request.user, package=package, **data.validated_data)
        return Response(self.get_serializer(package).data)

    def destroy(self, request: Request, pk: str) -> Response:
        services.model_delete(user=request.user, package=model_get_visible(request.user, pk))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(responses={(200, "application/octet-stream"): bytes})
    @action(detail=True, methods=["get"])
    def download(self, request: Request, pk: str) -> FileResponse:
        package = model_get_visible(request.user, pk)
        path = services.model_package_file(package)
        try:
            handle = open(path, "rb")  # noqa: SIM115 - FileResponse streams and closes it
        except FileNotFoundError:
            raise NotFound("The package file is missing on the server.") from None
        response = FileResponse(handle, as_attachment=True, filename=download_name(package.title),
                                content_type="application/octet-stream")
        response["X-Content-Type-Options"] = "nosniff"
        return response

    @extend_schema(responses=ModelInfoSerializer)
    @action(detail=True, methods=["get"])
    def info(self, request: Request, pk: str) -> Response:
        """The arguments inference takes, with defaults (the package's own defaults applied)."""
        package = model_get_visible(request.user, pk)
        runnable, reason = runnable_now(package)
        return Response({
            "id": package.pk,
            "family": package.family or None,
            "runnable": runnable,
            "runnable_reason": reason,
            "arguments": arguments_json(stored_emd(package.emd)),
        })


    @extend_schema(request=ExportOnnxRequestSerializer, responses={201: JobSerializer})
    @action(detail=True, methods=["post"], url_path="export-onnx")
    def export_onnx(self, request: Request, pk: str) -> Response:
        """Start an `export_onnx` job for this model (same as POST /api/jobs/ with that kind)."""
        package = model_get_visible(request.user, pk)
        data = ExportOnnxRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        params = {"in_model": package.pk, **({"out_name": data.validated_data["out_name"]}
                                             if data.validated_data.get("out_name") else {})}
        job = job_start(user=request.user, kind="export_onnx", project_id=package.project_id, params=params)
        return Response(JobSerializer(job).data, status=status.HTTP_201_CREATED)


def _read_member(package: Path, name: str) -> bytes:
    with zipfile.ZipFile(package) as archive:
        for member in archive.infolist():
            if member_path(member.filename) == name and not member.is_dir():
                if member.file_size > MAX_IMAGE_BYTES:
                    raise InvalidInput(f"{name} is larger than {MAX_IMAGE_BYTES // (1024 * 1024)} MB.")
                return archive.read(member)
    raise NotFound("No such image in this package.")


@extend_schema(responses={(200, "image/png"): bytes})
@api_view(["GET"])
def package_image(request: Request, pk: int, name: str) -> HttpResponse:
    """`GET /api/models/{id}/files/ModelCharacteristics/<name>.png`: an image of the package."""
    package = model_get_visible(request.user, pk)
    if name not in package.images:
        raise NotFound("No such image in this package (only ModelCharacteristics/*.png are served).")
    try:
        data = _read_member(services.model_package_file(package), name)
    except (OSError, zipfile.BadZipFile):
        raise NotFound("The package file is missing or damaged on the server.") from None
    response = HttpResponse(data, content_type="image/png")
    response["Cache-Control"] = "private, max-age=300"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'"
    return response
