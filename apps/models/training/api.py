"""/api/training/start/ (which start a model will get) and /api/weights/ (the weights cache)."""
from __future__ import annotations

import tempfile
from pathlib import Path

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions
from rest_framework.decorators import api_view, parser_classes, permission_classes
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from backend.api.exceptions import InvalidInput
from backend.api.params import query_id, query_int

from . import weights


@extend_schema(parameters=[OpenApiParameter("model_type", str, required=True), OpenApiParameter("backbone_model", str),
                           OpenApiParameter("pretrained_model", int), OpenApiParameter("bands", int)],
               responses=OpenApiTypes.OBJECT)
@api_view(["GET"])
def training_start(request: Request) -> Response:
    """GET ?model_type=FasterRCNN[&backbone_model=...][&pretrained_model=ID] -> the start."""
    model_type = request.query_params.get("model_type") or ""
    if not model_type:
        raise InvalidInput("model_type: is required (e.g. FasterRCNN).")
    package = query_id(request.query_params, "pretrained_model")
    bands = query_int(request.query_params, "bands", minimum=1, maximum=1000) or 3  # the chosen dataset's bands
    start = weights.start_for(model_type, request.query_params.get("backbone_model") or None, package, bands)
    # The Train panel offers "Add weights file" to those who may (POST /api/weights/ below).
    return Response({**start, "can_import_weights": bool(request.user.is_staff)})


class _StaffWrites(permissions.BasePermission):
    message = "Only an administrator can add weights files."

    def has_permission(self, request: Request, view: object) -> bool:
        user = request.user
        if request.method in permissions.SAFE_METHODS:
            return bool(user and user.is_authenticated)
        return bool(user and user.is_staff)


@extend_schema(request={"multipart/form-data": OpenApiTypes.OBJECT}, responses=OpenApiTypes.OBJECT)
@api_view(["GET", "POST"])
@permission_classes([_StaffWrites])
@parser_classes([MultiPartParser])
def weights_collection(request: Request) -> Response:
    """GET: every known checkpoint and whether this machine has it; POST file=<.pth>: import one."""
    if request.method == "GET":
        return Response(weights.weights_status())
    upload = request.FILES.get("file")
    if upload is None:
        raise InvalidInput("file: attach the weights file (.pth) as multipart field 'file'.")
    tmp_root = Path(settings.DATA_DIR) / "tmp"
    tmp_root.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=tmp_root, suffix=".pth") as tmp:
        for chunk in upload.chunks():
            tmp.write(chunk)
        tmp.flush()
        result = weights.import_weights(Path(tmp.name))
    return Response(result, status=201)
