"""Raster collections over HTTP (issue 17).

- ``GET/POST /api/collections/?project=`` ``{project, name, description?, rasters: [id, ...]}``
- ``GET/PATCH/DELETE /api/collections/{id}/`` (PATCH: ``name``, ``description``, ``rasters`` in order)

Answers carry ``rasters`` (ids in order) and ``items`` (each raster's name, acquisition date, bounds,
status), so a client can build a time slider without another request per raster.
"""
from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from backend.api.params import query_id

from ..collections import (
    collection_create, collection_delete, collection_get, collection_rasters, collection_update, collections_for,
)
from ..models import Collection
from ..selectors import project_get


class CollectionItemSerializer(serializers.Serializer):
    raster = serializers.IntegerField(source="pk")
    name = serializers.CharField()
    acquired = serializers.DateTimeField(allow_null=True)
    status = serializers.CharField()
    bounds = serializers.ListField(child=serializers.FloatField(), allow_null=True)
    crs = serializers.CharField()
    count = serializers.IntegerField(allow_null=True)
    dtype = serializers.CharField()


class CollectionSerializer(serializers.ModelSerializer):
    rasters = serializers.ListField(child=serializers.IntegerField(min_value=1), max_length=100,
                                    help_text="The collection's raster ids, in its order")
    items = serializers.SerializerMethodField()

    class Meta:
        model = Collection
        fields = ["id", "project", "name", "description", "rasters", "items", "created_at", "updated_at"]
        read_only_fields = ["id", "items", "created_at", "updated_at"]

    def to_representation(self, collection: Collection) -> dict[str, Any]:
        rasters = collection_rasters(collection)
        return {
            "id": collection.pk, "project": collection.project_id, "name": collection.name,
            "description": collection.description, "rasters": [r.pk for r in rasters],
            "items": CollectionItemSerializer(rasters, many=True).data,
            "created_at": collection.created_at.isoformat(), "updated_at": collection.updated_at.isoformat(),
        }

    def get_items(self, collection: Collection) -> list[dict[str, Any]]:  # for the schema only
        return []


class CollectionUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(required=False, max_length=200)
    description = serializers.CharField(required=False, allow_blank=True)
    rasters = serializers.ListField(child=serializers.IntegerField(min_value=1), required=False, max_length=100)


class CollectionViewSet(viewsets.GenericViewSet):
    serializer_class = CollectionSerializer

    def get_queryset(self):  # type: ignore[override]
        qs = collections_for(self.request.user)
        project = query_id(self.request.query_params, "project")
        return qs if project is None else qs.filter(project_id=project)

    @extend_schema(parameters=[OpenApiParameter("project", int)])
    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def create(self, request: Request) -> Response:
        data = self.get_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        project = project_get(request.user, values.pop("project").pk)
        collection = collection_create(user=request.user, project=project, **values)
        return Response(self.get_serializer(collection).data, status=status.HTTP_201_CREATED)

    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(self.get_serializer(collection_get(request.user, int(pk))).data)

    @extend_schema(request=CollectionUpdateSerializer, responses=CollectionSerializer)
    def partial_update(self, request: Request, pk: str) -> Response:
        data = CollectionUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        collection = collection_update(user=request.user, collection=collection_get(request.user, int(pk)),
                                       **data.validated_data)
        return Response(self.get_serializer(collection).data)

    def destroy(self, request: Request, pk: str) -> Response:
        collection_delete(user=request.user, collection=collection_get(request.user, int(pk)))
        return Response(status=status.HTTP_204_NO_CONTENT)
