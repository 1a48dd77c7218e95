"""The signed-in user's own account: ``POST /api/auth/password/ {old_password, new_password}``
changes the password (Django's validators apply; the session stays signed in, other sessions end).
"""
from __future__ import annotations

from django.contrib.auth import password_validation, update_session_auth_hash
from django.core.exceptions import ValidationError
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import Throttled
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from . import login_throttle
from .exceptions import InvalidInput


class PasswordChangeView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=inline_serializer("PasswordChange", {"old_password": serializers.CharField(),
                                                                "new_password": serializers.CharField()}),
                   responses={204: None}, operation_id="auth_password_change")
    def post(self, request: Request) -> Response:
        old = request.data.get("old_password") if hasattr(request.data, "get") else None
        new = request.data.get("new_password") if hasattr(request.data, "get") else None
        if not isinstance(old, str) or not isinstance(new, str) or not new:
            raise InvalidInput("Send old_password and new_password.")
        user = request.user
        # Guessing old_password is guessing the password: the same lockout as sign-in.
        locked = login_throttle.lockout(request, user.get_username())
        if locked:
            raise Throttled(wait=locked.retry_after, detail=locked.detail)
        if not user.check_password(old):
            login_throttle.record_failure(request, user.get_username())
            raise InvalidInput("old_password: this is not your current password.")
        login_throttle.record_success(request, user.get_username())
        try:
            password_validation.validate_password(new, user)
        except ValidationError as exc:
            raise InvalidInput("new_password: " + " ".join(exc.messages)) from None
        user.set_password(new)
        user.save(update_fields=["password"])
        if hasattr(request, "session"):
            update_session_auth_hash(request._request, user)
        return Response(status=status.HTTP_204_NO_CONTENT)
