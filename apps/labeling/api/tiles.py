"""Raster tiles and TileJSON.

The tile view is an async Django view that renders in a thread pool, so that many tiles render
at once; per-process caching of who may read which raster keeps most tiles off the database.
"""
from __future__ import annotations

import hashlib
import time
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, HttpResponseNotModified, JsonResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.api.exceptions import DomainError
from backend.api.token_auth import ExpiringTokenAuthentication
from backend.engine.errors import EngineInputError
from backend.engine.raster.tiles import (
    TileNotFound, TileRequest, parse_bands, parse_rescale, render_tile, tile_exists, zoom_range,
)

from ..models import Raster
from ..selectors import raster_get
from ..storage import raster_cog_path


# Tiles come in bursts of dozens per map move: who may read which raster is remembered for a few
# seconds per process instead of costing two DB queries per tile. A revoked membership or a
# deleted raster stops being served after at most ACCESS_TTL seconds.
#
# The cache is keyed on the credential that authenticates the request, in the order Django and
# DRF use them: the session cookie when there is one (AuthenticationMiddleware takes the user from
# it), else the token. An entry is only written for the credential that actually authenticated,
# and remembers that user: a bogus token next to a valid session, or alone, never hits an entry.
ACCESS_TTL = 5.0
_access_cache: dict[tuple[str, int], tuple[float, int, Any]] = {}


def _authenticated_user(request: HttpRequest) -> Any:
    if request.user.is_authenticated:
        return request.user
    try:
        found = ExpiringTokenAuthentication().authenticate(Request(request))
    except AuthenticationFailed:
        return None
    return found[0] if found else None


def _credential_key(request: HttpRequest) -> str | None:
    """The cache key of the credential this request authenticates with (hashed: no secret is kept)."""
    session_key = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
    if session_key:
        return "session:" + hashlib.sha256(session_key.encode()).hexdigest()
    header = request.headers.get("Authorization", "")
    if header.startswith("Token "):
        return "token:" + hashlib.sha256(header.encode()).hexdigest()
    return None


def _authenticated_by(request: HttpRequest, user: Any, key: str) -> bool:
    """Whether ``user`` came from the credential ``key`` names (not from the other one)."""
    from_session = request.user.is_authenticated and request.user.pk == user.pk
    return from_session if key.startswith("session:") else not request.user.is_authenticated


def _raster_for_request(request: HttpRequest, raster_id: int) -> Raster | JsonResponse:
    key = _credential_key(request)
    now = time.monotonic()
    if key is not None:
        hit = _access_cache.get((key, raster_id))
        if hit and now - hit[0] < ACCESS_TTL:
            return hit[2]
    user = _authenticated_user(request)
    if user is None:
        return JsonResponse({"detail": "Authentication credentials were not provided."}, status=401)
    try:
        raster = raster_get(user, raster_id)
    except DomainError as exc:
        return JsonResponse({"detail": exc.detail}, status=exc.status_code)
    if key is not None and raster.status == Raster.Status.READY and _authenticated_by(request, user, key):
        if len(_access_cache) > 10_000:
            _access_cache.clear()
        _access_cache[(key, raster_id)] = (now, user.pk, raster)
    return raster


def _colormap(raster: Raster) -> dict[int, tuple[int, int, int, int]] | None:
    if raster.kind != Raster.Kind.CLASSIFIED:
        return None
    cmap = {0: (0, 0, 0, 0)}
    for cls in raster.classes:
        cmap[int(cls["value"])] = (*[int(c) for c in cls["color"]], 255)
    return cmap


def _render(request: HttpRequest, raster_id: int, z: int, x: int, y: int, fmt: str) -> HttpResponse:
    raster = _raster_for_request(request, raster_id)
    if isinstance(raster, JsonResponse):
        return raster
    if raster.status != Raster.Status.READY:
        return JsonResponse({"detail": f"The raster is {raster.status}; tiles are served once it is ready."}, status=404)
    if not tile_exists(z, x, y):
        return JsonResponse({"detail": "No such tile."}, status=404)
    try:
        bands = parse_bands(request.GET.get("bands"), raster.count or 1)
        colormap = _colormap(raster)
        rescale = parse_rescale(request.GET.getlist("rescale"), bands, raster.statistics) if colormap is None else ()
    except EngineInputError as exc:
        return JsonResponse({"detail": str(exc)}, status=400)
    cog = raster_cog_path(raster.pk)
    etag = '"' + hashlib.sha1(
        f"{raster.pk}:{raster.updated_at.timestamp()}:{cog.stat().st_mtime_ns}:{z}/{x}/{y}.{fmt}:{bands}:{rescale}".encode()
    ).hexdigest() + '"'
    if request.headers.get("If-None-Match") == etag:
        return HttpResponseNotModified(headers={"ETag": etag})
    try:
        content, media_type = render_tile(cog, z, x, y, TileRequest(bands=bands, rescale=rescale, fmt=fmt,
                                                                    colormap=colormap))
    except TileNotFound:
        return JsonResponse({"detail": "The tile is outside the raster."}, status=404)
    except EngineInputError as exc:
        return JsonResponse({"detail": str(exc)}, status=400)
    response = HttpResponse(content, content_type=media_type)
    response["ETag"] = etag
    # private: tiles are only for members; the ETag lets the browser revalidate cheaply.
    response["Cache-Control"] = "private, max-age=3600"
    return response


def _render_and_release(request: HttpRequest, raster_id: int, z: int, x: int, y: int, fmt: str) -> HttpResponse:
    try:
        return _render(request, raster_id, z, x, y, fmt)
    finally:
        # Pool threads outlive requests: never leave a DB connection open in them.
        connection.close()


async def raster_tile(request: HttpRequest, raster_id: str, z: str, x: str, y: str, fmt: str) -> HttpResponse:
    return await sync_to_async(_render_and_release, thread_sensitive=False)(
        request, int(raster_id), int(z), int(x), int(y), fmt)


class TileJSONView(APIView):
    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, raster_id: int) -> Response:
        raster = raster_get(request.user, raster_id)
        if raster.status != Raster.Status.READY:
            raise DomainError(f"The raster is {raster.status}; TileJSON is available once it is ready.")
        minzoom, maxzoom = zoom_range(raster_cog_path(raster.pk))
        query = request.META.get("QUERY_STRING", "")
        # build_absolute_uri would percent-encode the {z}/{x}/{y} template braces.
        url = request.build_absolute_uri("/") + f"api/rasters/{raster.pk}/tiles/{{z}}/{{x}}/{{y}}.png"
        west, south, east, north = raster.bounds
        return Response({
            "tilejson": "3.0.0",
            "name": raster.name,
            "tiles": [url + (f"?{query}" if query else "")],
            "minzoom": minzoom,
            "maxzoom": maxzoom,
            "bounds": [west, south, east, north],
            "center": [(west + east) / 2, (south + north) / 2, minzoom],
        })
