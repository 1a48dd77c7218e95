"""/api/change/{job}/areas/, /api/change/{job}/matrix/, /api/change/{job}/detections/ (issue 17)."""
from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from backend.api.exceptions import InvalidInput
from backend.api.params import query_id

from .services import change_job, class_areas_by_date, class_change_matrix, detection_change

FROM_TO = [OpenApiParameter("from", int, description="a raster of the job (default: the earliest date)"),
           OpenApiParameter("to", int, description="a raster of the job (default: the latest date)")]


def _fraction(request: Request, name: str, default: float | None) -> float | None:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 1:
        raise InvalidInput(f"{name}: must be a number from 0 to 1, not {str(raw)[:40]!r}.")
    return value


@extend_schema(operation_id="change_areas", responses=OpenApiTypes.OBJECT)
@api_view(["GET"])
def change_areas(request: Request, pk: int) -> Response:
    """Per-class area (m²) per date of a classify_pixels job's classified rasters."""
    return Response(class_areas_by_date(change_job(request.user, pk, "classify_pixels")))


@extend_schema(operation_id="change_matrix", parameters=FROM_TO, responses=OpenApiTypes.OBJECT)
@api_view(["GET"])
def change_matrix_view(request: Request, pk: int) -> Response:
    """From/to class change matrix (pixels and m²) between two of a classify_pixels job's rasters."""
    job = change_job(request.user, pk, "classify_pixels")
    return Response(class_change_matrix(job, query_id(request.query_params, "from"),
                                        query_id(request.query_params, "to")))


@extend_schema(operation_id="change_detections", responses=OpenApiTypes.OBJECT, parameters=[
    *FROM_TO, OpenApiParameter("min_iou", float, description="0..1, default 0.3"),
    OpenApiParameter("min_confidence", float, description="0..1; detections below are left out")])
@api_view(["GET"])
def change_detections(request: Request, pk: int) -> Response:
    """A detect_objects job's detections of two rasters matched by IoU: appeared/disappeared/persisted."""
    job = change_job(request.user, pk, "detect_objects")
    return Response(detection_change(job, query_id(request.query_params, "from"), query_id(request.query_params, "to"),
                                     _fraction(request, "min_iou", 0.3) or 0.0,
                                     _fraction(request, "min_confidence", None)))
