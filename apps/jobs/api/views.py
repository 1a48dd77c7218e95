from __future__ import annotations

from django.core.cache import cache
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from backend.api.params import query_id

from ..selectors import job_get_visible, jobs_visible_to
from ..services import job_cancel, job_start, jobs_reap_stale
from .schema import job_request_schema
from .serializers import JobCreateSerializer, JobSerializer


def _reap_now_and_then() -> None:
    """Reads also reap dead workers' jobs (at most every 2 s), so a crash shows even with no
    worker left alive to notice it."""
    if cache.add("rasterlab:jobs:reap-lock", 1, timeout=2):
        jobs_reap_stale()


class JobViewSet(viewsets.GenericViewSet):
    serializer_class = JobSerializer

    def get_queryset(self):  # type: ignore[override]
        qs = jobs_visible_to(self.request.user)
        params = self.request.query_params
        project = query_id(params, "project")
        if project is not None:
            qs = qs.filter(project_id=project)
        if params.get("status"):
            qs = qs.filter(status__in=params["status"].split(","))
        if params.get("kind"):
            qs = qs.filter(kind__in=params["kind"].split(","))
        if params.get("parent") is None:
            qs = qs.filter(parent__isnull=True)
        return qs

    @extend_schema(parameters=[
        OpenApiParameter("project", int), OpenApiParameter("status", str, description="comma separated"),
        OpenApiParameter("kind", str, description="comma separated"),
        OpenApiParameter("parent", str, description="present: list parts of jobs too (default: top-level jobs)"),
    ])
    def list(self, request: Request) -> Response:
        _reap_now_and_then()
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(JobSerializer(page, many=True).data)

    def retrieve(self, request: Request, pk: str) -> Response:
        _reap_now_and_then()
        return Response(JobSerializer(job_get_visible(request.user, int(pk))).data)

    @extend_schema(request=job_request_schema(), responses={201: JobSerializer})
    def create(self, request: Request) -> Response:
        data = JobCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        job = job_start(user=request.user, kind=data.validated_data["kind"],
                        project_id=data.validated_data["project"], params=data.validated_data["params"])
        return Response(JobSerializer(job).data, status=status.HTTP_201_CREATED)

    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str) -> Response:
        job = job_cancel(job=job_get_visible(request.user, int(pk)), user=request.user)
        return Response(JobSerializer(job).data)
