"""Layers and features over HTTP (contract: docs ARCHITECTURE "layers", "features").

- ``GET/POST /api/layers/?project=``, ``GET/PATCH/DELETE /api/layers/{id}/``
- ``GET/POST /api/layers/{id}/features/`` (GET filters: bbox, class_value, min_confidence, since, limit;
  every answer has a top-level ``seq``; with ``since`` also ``deleted: [ids]``)
- ``GET/PATCH/DELETE /api/layers/{id}/features/{fid}/`` (PATCH/DELETE need ``If-Match: <version>``
  or ``properties.version``: 428 without, 409 with the current feature when stale)
- ``GET /api/layers/{id}/tiles/{z}/{x}/{y}.mvt``, ``POST /api/layers/{id}/import/``,
  ``GET /api/layers/{id}/export/?format=geojson|gpkg``
- ``PUT /api/projects/{id}/classes/`` ``{classes, remap?: {old: new}}``: change the class schema and
  move the features of remapped values in one go.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from django.core.cache import cache
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseNotModified, JsonResponse
from django.urls import path, re_path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter
from rest_framework.views import APIView

from backend.api.exceptions import DomainError, InvalidInput
from backend.api.params import query_id
from backend.api.uploads import StreamedUploadMixin

from ..classes import validate_classes
from ..layers import services
from ..layers.exporting import FORMATS, export_filename, layer_export
from ..layers.importing import ImportOptions, layer_import
from ..layers.mvt import render_mvt, tile_exists
from ..layers.schema import project_classes_update
from ..layers.selectors import (
    FeatureFilter, class_counts, deleted_since, feature_get, features_query, layer_get, layers_for,
)
from ..layers.serialize import ROW_FIELDS, collection_text, feature_dict
from ..layers.summary import layer_summary
from ..models import Layer
from ..selectors import project_get
from .serializers import ProjectSerializer
from .tiles import _authenticated_user

GEOJSON = "application/geo+json"


class LayerSerializer(serializers.ModelSerializer):
    source_job = serializers.IntegerField(source="source_job_id", read_only=True)

    class Meta:
        model = Layer
        fields = ["id", "project", "name", "kind", "source_job", "feature_count", "seq", "classes", "created_at",
                  "updated_at"]
        read_only_fields = fields


class LayerCreateSerializer(serializers.Serializer):
    project = serializers.IntegerField()
    name = serializers.CharField(max_length=200)
    kind = serializers.ChoiceField(choices=Layer.Kind.choices, default=Layer.Kind.LABELS)
    classes = serializers.JSONField(required=False)


class LayerViewSet(viewsets.GenericViewSet):
    serializer_class = LayerSerializer

    def get_queryset(self):  # type: ignore[override]
        qs = layers_for(self.request.user)
        project = query_id(self.request.query_params, "project")
        if project is not None:
            qs = qs.filter(project_id=project)
        return qs.order_by("project_id", "id")

    @extend_schema(parameters=[OpenApiParameter("project", int)])
    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(request=LayerCreateSerializer, responses={201: LayerSerializer})
    def create(self, request: Request) -> Response:
        data = LayerCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        project = project_get(request.user, data.validated_data["project"])
        classes = data.validated_data.get("classes")
        layer = services.layer_create(user=request.user, project=project, name=data.validated_data["name"],
                                      kind=data.validated_data["kind"],
                                      classes=validate_classes(classes) if classes else None)
        return Response(self.get_serializer(layer).data, status=status.HTTP_201_CREATED)

    def retrieve(self, request: Request, pk: str) -> Response:
        layer = layer_get(request.user, int(pk))
        return Response({**self.get_serializer(layer).data, "class_counts": class_counts(layer),
                         **layer_summary(layer)})

    def partial_update(self, request: Request, pk: str) -> Response:
        layer = layer_get(request.user, int(pk))
        name = request.data.get("name")
        if name is not None and not isinstance(name, str):
            raise InvalidInput("name: must be a string.")
        layer = services.layer_update(user=request.user, layer=layer, name=name)
        return Response(self.get_serializer(layer).data)

    def destroy(self, request: Request, pk: str) -> Response:
        services.layer_delete(user=request.user, layer=layer_get(request.user, int(pk)))
        return Response(status=status.HTTP_204_NO_CONTENT)


def _feature_response(feature: Any, layer: Layer, code: int = status.HTTP_200_OK) -> Response:
    body = getattr(feature, "api_dict", None) or feature_dict(feature, layer)
    response = Response(body, status=code)
    response["ETag"] = f'"{feature.version}"'
    return response


def _body(request: Request) -> dict[str, Any]:
    if not isinstance(request.data, dict):
        raise InvalidInput('body: must be a GeoJSON Feature {"geometry": ..., "properties": {...}}.')
    return request.data


FILTER_PARAMS = [
    OpenApiParameter("bbox", str, description="west,south,east,north (EPSG:4326)"),
    OpenApiParameter("class_value", str, description="a class value, or several comma separated"),
    OpenApiParameter("min_confidence", float, description="0..1; features without confidence are kept"),
    OpenApiParameter("review_status", str, description="accepted, rejected or unreviewed (comma separated)"),
    OpenApiParameter("since", int, description="a seq: only features changed after it, plus deleted ids"),
    OpenApiParameter("raster", str, description="features of this raster id (or several, comma separated)"),
    OpenApiParameter("acquired", str, description="features of rasters acquired on this day (YYYY-MM-DD, UTC)"),
    OpenApiParameter("limit", int),
]


class FeatureCollectionView(APIView):
    @extend_schema(parameters=FILTER_PARAMS, responses=OpenApiTypes.OBJECT, operation_id="layers_features_list")
    def get(self, request: Request, layer_id: int) -> HttpResponse:
        # The layer (and its seq) is read before the features: a change committed in between is in
        # the answer and comes again after `seq`, never missed.
        layer = layer_get(request.user, layer_id)
        seq = layer.seq
        flt = FeatureFilter.parse(request.query_params)
        qs = features_query(layer, flt)
        rows = list(qs.values(*ROW_FIELDS)[: flt.limit + 1] if flt.limit else qs.values(*ROW_FIELDS))
        members: dict[str, Any] = {"layer": layer.pk, "seq": seq}
        if flt.limit and len(rows) > flt.limit:
            rows = rows[: flt.limit]
            members["truncated"] = True
        if flt.since is not None:
            members["deleted"] = deleted_since(layer, flt.since)
        return HttpResponse(collection_text(rows, layer, members), content_type=GEOJSON)

    @extend_schema(request=OpenApiTypes.OBJECT, responses={201: OpenApiTypes.OBJECT})
    def post(self, request: Request, layer_id: int) -> Response:
        layer = layer_get(request.user, layer_id)
        body = _body(request)
        if body.get("type") not in (None, "Feature"):
            raise InvalidInput('type: POST one GeoJSON Feature (type "Feature").')
        feature = services.feature_create(user=request.user, layer=layer, geometry=body.get("geometry"),
                                          properties=body.get("properties"))
        response = _feature_response(feature, layer, status.HTTP_201_CREATED)
        response["Location"] = f"/api/layers/{layer.pk}/features/{feature.pk}/"
        return response


class FeatureView(APIView):
    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, layer_id: int, feature_id: int) -> Response:
        layer = layer_get(request.user, layer_id)
        return _feature_response(feature_get(layer, feature_id), layer)

    @extend_schema(request=OpenApiTypes.OBJECT, responses=OpenApiTypes.OBJECT)
    def patch(self, request: Request, layer_id: int, feature_id: int) -> Response:
        layer = layer_get(request.user, layer_id)
        body = _body(request)
        props = body.get("properties")
        version = services.parse_version(request.headers.get("If-Match"), props if isinstance(props, dict) else None)
        feature = services.feature_update(user=request.user, layer=layer, feature_id=feature_id, version=version,
                                          geometry=body.get("geometry"), properties=props)
        return _feature_response(feature, layer)

    @extend_schema(parameters=[OpenApiParameter("version", int, description="or send If-Match: <version>")],
                   responses={204: None})
    def delete(self, request: Request, layer_id: int, feature_id: int) -> Response:
        layer = layer_get(request.user, layer_id)
        props = request.data.get("properties") if isinstance(request.data, dict) else None
        if props is None and request.query_params.get("version"):
            props = {"version": int(request.query_params["version"]) if request.query_params["version"].isdigit()
                     else request.query_params["version"]}
        version = services.parse_version(request.headers.get("If-Match"), props if isinstance(props, dict) else None)
        services.feature_delete(user=request.user, layer=layer, feature_id=feature_id, version=version)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ImportSerializer(serializers.Serializer):
    file = serializers.FileField()
    class_field = serializers.CharField(required=False, allow_blank=True)
    repair = serializers.BooleanField(required=False, default=False)


class ImportView(StreamedUploadMixin, APIView):
    parser_classes = [MultiPartParser]

    @extend_schema(request={"multipart/form-data": ImportSerializer}, responses={201: OpenApiTypes.OBJECT,
                                                                                  202: OpenApiTypes.OBJECT})
    def post(self, request: Request, layer_id: int) -> Response:
        layer = layer_get(request.user, layer_id)
        data = ImportSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["file"]
        try:
            outcome = layer_import(
                user=request.user, layer=layer, upload_path=Path(upload.temporary_file_path()), filename=upload.name,
                options=ImportOptions(data.validated_data.get("class_field") or None, data.validated_data["repair"]),
            )
        finally:
            Path(upload.temporary_file_path()).unlink(missing_ok=True)
            upload.close()
        if outcome.job_id is not None:
            return Response({"job": outcome.job_id, "layer": layer.pk}, status=status.HTTP_202_ACCEPTED)
        return Response({"count": outcome.count, "layer": layer.pk}, status=status.HTTP_201_CREATED)


class _FormatIsOurs(DefaultContentNegotiation):
    """``?format=geojson|gpkg`` names the export format, not a DRF renderer: answer JSON errors."""

    def select_renderer(self, request: Request, renderers: Any, format_suffix: str | None = None) -> Any:
        return super().select_renderer(request, renderers, format_suffix="json")


class ExportView(APIView):
    content_negotiation_class = _FormatIsOurs

    @extend_schema(parameters=[OpenApiParameter("format", str, enum=list(FORMATS)), *FILTER_PARAMS[:3]],
                   responses={(200, "application/octet-stream"): OpenApiTypes.BINARY})
    def get(self, request: Request, layer_id: int) -> FileResponse:
        layer = layer_get(request.user, layer_id)
        fmt = request.query_params.get("format", "geojson")
        out = layer_export(layer, fmt, FeatureFilter.parse(request.query_params))
        handle = out.open("rb")
        out.unlink()  # the open handle keeps the data until the response is sent
        return FileResponse(handle, as_attachment=True, filename=export_filename(layer, fmt),
                            content_type=FORMATS[fmt][0])


class ClassesSerializer(serializers.Serializer):
    classes = serializers.JSONField()
    remap = serializers.JSONField(required=False)


class ProjectClassesView(APIView):
    @extend_schema(request=ClassesSerializer, responses=ProjectSerializer)
    def put(self, request: Request, project_id: int) -> Response:
        project = project_get(request.user, project_id)
        data = ClassesSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        project = project_classes_update(user=request.user, project=project, classes=data.validated_data["classes"],
                                         remap=data.validated_data.get("remap"))
        return Response(ProjectSerializer(project, context={"request": request}).data)


# vector tiles: a plain Django view (no DRF negotiation; session or token). Under ASGI each request
# gets its own thread for sync code (asgiref ThreadSensitiveContext), so tiles render in parallel.
TILE_CACHE_SECONDS = 600


def layer_tile(request: HttpRequest, layer_id: str, z: str, x: str, y: str) -> HttpResponse:
    return _tile(request, int(layer_id), int(z), int(x), int(y))


def _tile(request: HttpRequest, layer_id: int, z: int, x: int, y: int) -> HttpResponse:
    user = _authenticated_user(request)
    if user is None:
        return JsonResponse({"detail": "Authentication credentials were not provided."}, status=401)
    try:
        layer = layer_get(user, layer_id)
        flt = FeatureFilter.parse(request.GET)
    except DomainError as exc:
        return JsonResponse({"detail": exc.detail}, status=exc.status_code)
    if not tile_exists(z, x, y):
        return JsonResponse({"detail": "No such tile."}, status=404)
    # seq changes with every edit of the layer: it versions the tile.
    key = (f"mvt:{layer.pk}:{layer.created_at.timestamp()}:{layer.seq}:{z}/{x}/{y}:{flt.class_values}:"
           f"{flt.min_confidence}:{flt.rasters}:{flt.acquired}")
    etag = '"' + hashlib.sha1(key.encode()).hexdigest() + '"'
    if request.headers.get("If-None-Match") == etag:
        return HttpResponseNotModified(headers={"ETag": etag})
    content = cache.get(key)
    if content is None:
        content = render_mvt(layer, z, x, y, flt)
        cache.set(key, content, TILE_CACHE_SECONDS)
    response = HttpResponse(content, content_type="application/vnd.mapbox-vector-tile")
    response["ETag"] = etag
    response["Cache-Control"] = "private, no-cache"  # revalidate: layers change all the time
    return response


router = SimpleRouter()
router.register("layers", LayerViewSet, basename="layer")

urlpatterns = [
    path("layers/<id:layer_id>/features/", FeatureCollectionView.as_view(), name="layer-features"),
    path("layers/<id:layer_id>/features/<id:feature_id>/", FeatureView.as_view(), name="layer-feature"),
    re_path(r"^layers/(?P<layer_id>[^/]+)/tiles/(?P<z>\d+)/(?P<x>\d+)/(?P<y>\d+)\.mvt$", layer_tile,
            name="layer-tile"),
    path("layers/<id:layer_id>/import/", ImportView.as_view(), name="layer-import"),
    path("layers/<id:layer_id>/export/", ExportView.as_view(), name="layer-export"),
    path("projects/<id:project_id>/classes/", ProjectClassesView.as_view(), name="project-classes"),
    *router.urls,
]
