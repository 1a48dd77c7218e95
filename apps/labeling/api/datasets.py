"""/api/datasets/: exported training datasets (list, detail with sample previews, zip, delete).

Datasets are made by the ``export_training_data`` job (POST /api/jobs/); a failed or cancelled
export leaves none. ``download/`` streams the folder as a zip built on the fly.
"""
from __future__ import annotations

import re
from typing import Any, Iterator

from asgiref.sync import sync_to_async
from django.http import HttpResponse, StreamingHttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action, api_view
from rest_framework.request import Request
from rest_framework.response import Response

from backend.api.params import query_id

from ..datasets import services
from ..datasets.archive import zip_stream
from ..datasets.preview import preview_png
from ..datasets.selectors import dataset_get, datasets_for
from ..models import Dataset
from ..permissions import project_role

_UNSAFE_FILENAME = re.compile(r'[\x00-\x1f\x7f"\\/:*?<>|]+')
_END = object()


class DatasetSerializer(serializers.ModelSerializer):
    project = serializers.IntegerField(source="project_id", read_only=True)
    job = serializers.IntegerField(source="job_id", read_only=True)
    tile_size = serializers.SerializerMethodField()
    created_by = serializers.SerializerMethodField()
    can_delete = serializers.SerializerMethodField()

    class Meta:
        model = Dataset
        fields = ["id", "project", "name", "status", "job", "metadata_format", "image_chip_format", "chip_count",
                  "feature_count", "tile_size", "band_count", "dtype", "classes", "class_stats", "warnings",
                  "size_bytes", "params", "created_by", "created_at", "updated_at", "can_delete"]
        read_only_fields = fields

    def get_tile_size(self, dataset: Dataset) -> list[int]:
        return [dataset.tile_size_x, dataset.tile_size_y]

    def get_created_by(self, dataset: Dataset) -> str | None:
        return dataset.created_by.get_username() if dataset.created_by else None

    def get_can_delete(self, dataset: Dataset) -> bool:
        request = self.context.get("request")
        role = project_role(request.user, dataset.project_id) if request else None
        return bool(role and role.can_write)


def download_name(name: str) -> str:
    return (_UNSAFE_FILENAME.sub("_", name).strip(" ._") or "dataset")[:150]


class ZipStreamResponse(StreamingHttpResponse):
    """Streams a sync generator under WSGI and ASGI alike (Django's ASGI path would first
    collect a sync iterator into a list, i.e. the whole zip in memory)."""

    async def __aiter__(self) -> Any:  # type: ignore[override]
        iterator: Iterator[bytes] = iter(self.streaming_content)  # type: ignore[arg-type]
        step = sync_to_async(next, thread_sensitive=False)
        while (part := await step(iterator, _END)) is not _END:
            yield part


class DatasetViewSet(viewsets.GenericViewSet):
    serializer_class = DatasetSerializer

    def get_queryset(self):  # type: ignore[override]
        return datasets_for(self.request.user, project=query_id(self.request.query_params, "project"))

    @extend_schema(parameters=[OpenApiParameter("project", int)])
    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request: Request, pk: str) -> Response:
        dataset = dataset_get(request.user, pk)
        return Response({**self.get_serializer(dataset).data, "samples": services.dataset_samples(dataset)})

    def destroy(self, request: Request, pk: str) -> Response:
        services.dataset_delete(user=request.user, dataset=dataset_get(request.user, pk))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(responses={(200, "application/zip"): bytes})
    @action(detail=True, methods=["get"])
    def download(self, request: Request, pk: str) -> StreamingHttpResponse:
        dataset = dataset_get(request.user, pk)
        folder = services.ready_folder(dataset)
        name = download_name(dataset.name)
        response = ZipStreamResponse(zip_stream(folder, prefix=name), content_type="application/zip")
        response["Content-Disposition"] = f'attachment; filename="{name}.zip"'
        response["X-Content-Type-Options"] = "nosniff"
        return response


@extend_schema(responses={(200, "image/png"): bytes})
@api_view(["GET"])
def dataset_preview(request: Request, pk: int, n: int) -> HttpResponse:
    """Sample chip ``n`` (see ``samples`` in the detail) with its labels drawn."""
    dataset = dataset_get(request.user, pk)
    response = HttpResponse(preview_png(dataset, n), content_type="image/png")
    response["Cache-Control"] = "private, max-age=3600"
    return response
