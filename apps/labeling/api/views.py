from __future__ import annotations

from pathlib import Path

from django.http import FileResponse
from django.utils.text import slugify

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from backend.api.exceptions import NotFound
from backend.api.params import query_id
from backend.api.uploads import StreamedUploadMixin

from .. import services
from ..permissions import require_role
from ..selectors import project_get, projects_for, raster_get, rasters_for
from ..storage import raster_cog_path, raster_source_path
from .serializers import (
    MemberSerializer, ProjectSerializer, RasterSerializer, RasterUpdateSerializer, RasterUploadSerializer,
)


class ProjectViewSet(viewsets.GenericViewSet):
    serializer_class = ProjectSerializer

    def get_queryset(self):  # type: ignore[override]
        return projects_for(self.request.user)

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def create(self, request: Request) -> Response:
        data = self.get_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        project = services.project_create(user=request.user, **data.validated_data)
        return Response(self.get_serializer(project).data, status=status.HTTP_201_CREATED)

    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(self.get_serializer(project_get(request.user, int(pk))).data)

    def partial_update(self, request: Request, pk: str) -> Response:
        project = project_get(request.user, int(pk))
        data = self.get_serializer(project, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        project = services.project_update(user=request.user, project=project, **data.validated_data)
        return Response(self.get_serializer(project).data)

    def destroy(self, request: Request, pk: str) -> Response:
        services.project_delete(user=request.user, project=project_get(request.user, int(pk)))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=MemberSerializer, responses=MemberSerializer(many=True))
    @action(detail=True, methods=["get", "post", "delete"])
    def members(self, request: Request, pk: str) -> Response:
        project = project_get(request.user, int(pk))
        if request.method == "GET":
            require_role(request.user, project.pk)
            memberships = project.memberships.select_related("user").order_by("user__username")
            return Response(MemberSerializer(memberships, many=True).data)
        data = MemberSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if request.method == "POST":
            membership = services.member_set(user=request.user, project=project,
                                             username=data.validated_data["username"],
                                             role=data.validated_data.get("role", "viewer"),
                                             invite=data.validated_data.get("invite", False))
            return Response(MemberSerializer(membership).data, status=status.HTTP_201_CREATED)
        services.member_remove(user=request.user, project=project, username=data.validated_data["username"])
        return Response(status=status.HTTP_204_NO_CONTENT)


class RasterViewSet(StreamedUploadMixin, viewsets.GenericViewSet):
    serializer_class = RasterSerializer
    parser_classes = [MultiPartParser, JSONParser]

    def get_queryset(self):  # type: ignore[override]
        qs = rasters_for(self.request.user)
        project = query_id(self.request.query_params, "project")
        return qs if project is None else qs.filter(project_id=project)

    @extend_schema(parameters=[OpenApiParameter("project", int)])
    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(self.get_serializer(raster_get(request.user, int(pk))).data)

    @extend_schema(request=RasterUpdateSerializer, responses=RasterSerializer)
    def partial_update(self, request: Request, pk: str) -> Response:
        """Rename a raster or set its acquisition date (``acquired``, ISO 8601; null clears it)."""
        data = RasterUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        raster = services.raster_update(user=request.user, raster=raster_get(request.user, int(pk)),
                                        **data.validated_data)
        return Response(self.get_serializer(raster).data)

    def destroy(self, request: Request, pk: str) -> Response:
        services.raster_delete(user=request.user, raster=raster_get(request.user, int(pk)))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @action(detail=True, methods=["get"])
    def download(self, request: Request, pk: str) -> FileResponse:
        """The raster as a GeoTIFF (the COG once ingested; classified rasters keep their colors)."""
        raster = raster_get(request.user, int(pk))
        path = raster_cog_path(raster.pk) if raster.status == raster.Status.READY else raster_source_path(raster.pk)
        if not path.exists():
            raise NotFound("The raster file is not available.")
        return FileResponse(open(path, "rb"), as_attachment=True, filename=f"{slugify(raster.name) or 'raster'}.tif",
                            content_type="image/tiff")

    @extend_schema(request={"multipart/form-data": RasterUploadSerializer}, responses=RasterSerializer)
    def create(self, request: Request) -> Response:
        data = RasterUploadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["file"]
        try:
            project = project_get(request.user, data.validated_data["project"])
            name = data.validated_data.get("name") or Path(upload.name).stem
            raster = services.raster_create_from_upload(
                user=request.user, project=project, uploaded_path=Path(upload.temporary_file_path()), name=name
            )
        finally:
            Path(upload.temporary_file_path()).unlink(missing_ok=True)
            upload.close()
        return Response(self.get_serializer(raster).data, status=status.HTTP_201_CREATED)
