"""/api/accuracy/{job}/report.csv|report.json|outcomes/ and /api/models/{id}/accuracy/ (runs)."""
from __future__ import annotations

import json

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from ..packages.selectors import model_get_visible
from .report import accuracy_job, model_runs, outcomes, report_csv


def _attachment(body: str, content_type: str, name: str) -> HttpResponse:
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@extend_schema(operation_id="accuracy_report_csv", responses={(200, "text/csv"): OpenApiTypes.STR})
@api_view(["GET"])
def accuracy_report_csv(request: Request, pk: int) -> HttpResponse:
    job = accuracy_job(request.user, pk)
    return _attachment(report_csv(job.result), "text/csv; charset=utf-8", f"accuracy-{job.pk}.csv")


@extend_schema(operation_id="accuracy_report_json", responses=OpenApiTypes.OBJECT)
@api_view(["GET"])
def accuracy_report_json(request: Request, pk: int) -> HttpResponse:
    job = accuracy_job(request.user, pk)
    body = {"job": job.pk, "project": job.project_id, "params": job.params, "created_at": job.created_at.isoformat(),
            "finished_at": job.finished_at.isoformat() if job.finished_at else None, "result": job.result}
    return _attachment(json.dumps(body, indent=1), "application/json", f"accuracy-{job.pk}.json")


@extend_schema(responses=OpenApiTypes.OBJECT)
@api_view(["GET"])
def accuracy_outcomes(request: Request, pk: int) -> Response:
    """Ids of true and false positives, matched and missed ground truth (detections only)."""
    return Response(outcomes(accuracy_job(request.user, pk)))


@extend_schema(responses=OpenApiTypes.OBJECT)
@api_view(["GET"])
def model_accuracy_runs(request: Request, pk: int) -> Response:
    package = model_get_visible(request.user, pk)
    return Response({"model": package.pk, "results": model_runs(request.user, package.pk)})
