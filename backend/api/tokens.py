"""API tokens: obtain (throttled), rotate, revoke, and an optional lifetime.

One token per user (DRF's authtoken model, no other):

- ``POST /api/auth/token/ {username, password}`` -> ``{token, expires}``; wrong credentials are
  counted (backend.api.login_throttle) and too many answer 429.
- ``POST /api/auth/token/rotate/`` (authenticated) -> a new ``{token, expires}``; the old token stops
  working at once.
- ``DELETE /api/auth/token/`` (authenticated) -> 204; the token is gone (sign in again for a new one).

With ``RASTERLAB_TOKEN_TTL_HOURS`` set, a token older than that is refused (401 saying so) by the
API, the websockets and the tile views alike, and ``POST /api/auth/token/`` hands out a new one.
"""
from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.exceptions import Throttled
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from . import login_throttle
from .token_auth import token_expired, token_expiry


def _token_body(token: Token) -> dict[str, Any]:
    expiry = token_expiry(token)
    return {"token": token.key, "expires": expiry.isoformat() if expiry else None}


@transaction.atomic
def token_rotate(user: Any) -> Token:
    Token.objects.filter(user=user).delete()
    return Token.objects.create(user=user)


TOKEN_RESPONSE = inline_serializer("TokenResponse", {"token": serializers.CharField(),
                                                     "expires": serializers.DateTimeField(allow_null=True)})


class ObtainTokenView(APIView):
    """POST signs in with a password (no session, so no CSRF); DELETE revokes, authenticated as
    the rest of the API is."""

    def _signing_in(self) -> bool:
        request = getattr(self, "request", None)  # None while the OpenAPI schema is generated
        return request is not None and request.method == "POST"

    def get_authenticators(self) -> list:
        return [] if self._signing_in() else super().get_authenticators()

    def get_permissions(self) -> list:
        return [AllowAny()] if self._signing_in() else [IsAuthenticated()]

    @extend_schema(request=AuthTokenSerializer, responses={200: TOKEN_RESPONSE}, operation_id="auth_token_obtain")
    def post(self, request: Request) -> Response:
        username = str(request.data.get("username", ""))[:150] if hasattr(request.data, "get") else ""
        locked = login_throttle.lockout(request, username)
        if locked:
            raise Throttled(wait=locked.retry_after, detail=locked.detail)
        data = AuthTokenSerializer(data=request.data, context={"request": request})
        if not data.is_valid():
            login_throttle.record_failure(request, username)
            data.is_valid(raise_exception=True)
        user = data.validated_data["user"]
        login_throttle.record_success(request, username)
        token, _ = Token.objects.get_or_create(user=user)
        if token_expired(token):
            token = token_rotate(user)
        return Response(_token_body(token))

    @extend_schema(request=None, responses={204: None}, operation_id="auth_token_revoke")
    def delete(self, request: Request) -> Response:
        Token.objects.filter(user=request.user).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


class RotateTokenView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={200: TOKEN_RESPONSE}, operation_id="auth_token_rotate")
    def post(self, request: Request) -> Response:
        return Response(_token_body(token_rotate(request.user)))
